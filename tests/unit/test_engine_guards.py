"""Concurrency guards (expectedRev / expectedPlayId -> 409), durable changes always
emit an event (clients detect rev gaps), volatile changes stay volatile, playlists."""

from __future__ import annotations

import pytest

from appliance.core import messages as m
from appliance.core import ui_commands
from appliance.core.engine import HANDLERS, step
from appliance.core.handling import Step, merge_tables, rule, table
from tests.unit.engine_kit import ADMIN, MOD, PLAYER, Driver, patron, playing_venue, track, vids


def test_stale_expected_rev_is_a_conflict_carrying_the_current_rev() -> None:
    d = playing_venue(3)
    stale = d.state.rev - 1
    err = d.reject(m.UiCommand(command="PAUSE", expected_rev=stale, actor=ADMIN), "stale_rev", 409)
    assert err.extra["rev"] == d.state.rev
    d.ui("PAUSE", expected_rev=d.state.rev)
    assert d.venue.transport == "paused"


def test_stale_expected_play_id_is_a_conflict() -> None:
    d = playing_venue(3)
    old = d.play_id
    d.end()
    err = d.reject(
        m.UiCommand(command="SEEK", value=5, expected_play_id=old, actor=ADMIN),
        "stale_play_id",
        409,
    )
    assert err.extra["play_id"] == d.play_id
    d.ui("SEEK", 5, expected_play_id=d.play_id)


def test_unknown_message_type_is_refused() -> None:
    class Strange(m.Message):
        pass

    d = playing_venue(2)
    d.reject(Strange(), "unknown_message", 400)


def _broad_script(d: Driver) -> list[m.Message]:
    pid = d.playlist([20, 21, 22])
    return [
        m.PlayerReady(player_id="mpv"),
        m.PlayerReady(player_id="screen"),
        m.ActivatePlayer(player_id="screen", actor=ADMIN),
        m.TrackStarted(play_id=d.play_id, actor=PLAYER),
        m.PlayerStatus(play_id=d.play_id, state="paused", position=3, actor=PLAYER),
        m.PlayerStatus(play_id=d.play_id, state="paused", position=9, actor=PLAYER),
        m.Heartbeat(player_id="screen", position=4),
        m.UiCommand(command="PLAY_PAUSE", actor=ADMIN),
        m.UiCommand(command="SHUFFLE_TOGGLE", actor=ADMIN),
        m.UiCommand(command="REPEAT_TOGGLE", actor=ADMIN),
        m.UiCommand(command="SET_VOLUME", value=10, actor=ADMIN),
        m.UiCommand(command="MUTE_TOGGLE", actor=ADMIN),
        m.AddToQueue(track=track(30), actor=patron(1)),
        m.AddToQueue(track=track(31), position="next", actor=MOD),
        m.AddToQueue(track=track(32), actor=ADMIN),
        m.Vote(video_id="v0", actor=patron(1)),
        m.TrackResolved(track=track(32, title="Resolved")),
        m.TrackUnplayable(video_id="v2"),
        m.MoveQueueItem(queue_item_id=d.venue.active_queue[0].id, to_index=2, actor=MOD),
        m.ManagePlaylist(action="star", params={"playlistId": pid}, actor=MOD),
        m.ManagePlaylist(action="load", params={"playlistId": pid}, actor=MOD),
        m.ClearQueue(actor=MOD),
        m.UpdateSchedule(
            schedule_data={
                "rules": [
                    {
                        "id": "r1",
                        "days": ["fri"],
                        "start": "18:00",
                        "end": "22:00",
                        "action": "volume",
                        "volume": 40,
                    }
                ]
            },
            actor=MOD,
        ),
        m.UpdatePreferences(user_id="owner", preferences={"theme": "light"}, actor=ADMIN),
        m.UserLoggedIn(user_id="owner", actor=ADMIN),
        m.SystemNotice(status="backup_in_progress"),
        m.Tick(heartbeat_timeout=15),
        m.UiCommand(command="PLAY_NEXT", actor=ADMIN),
        m.UiCommand(command="PLAY_PREVIOUS", actor=ADMIN),
        m.UiCommand(command="EMERGENCY_STOP", actor=ADMIN),
        m.UiCommand(command="RESUME", actor=ADMIN),
        m.UiCommand(command="FADE_OUT_STOP", actor=ADMIN),
        m.LibraryScanned(tracks=(track(40),)),
        m.Boot(),
    ]


def test_every_durable_change_emits_an_event_and_volatile_ones_emit_none() -> None:
    d = playing_venue(4)
    durable_kinds = set()
    for msg in _broad_script(d):
        before = d.state
        out = step(before, msg, d.now + 1)
        d.do(msg)
        if out.state is before:
            continue
        if out.durable:
            durable_kinds.add(type(msg).__name__)
            assert out.events, f"{type(msg).__name__} changed durable state silently"
        else:
            assert type(msg) in (m.Heartbeat, m.PlayerStatus, m.PositionCheckpoint), msg
    assert len(durable_kinds) >= 15


# --- playlists ---------------------------------------------------------------------------------


def _pl(d: Driver, pid: str):  # type: ignore[no-untyped-def]
    return d.state.playlists[pid]


def test_playlist_actions() -> None:
    d = playing_venue(2)
    pid = d.playlist([1, 2, 3])
    assert _pl(d, pid).track_count == 3 and _pl(d, pid).total_duration == 600

    def act(action: str, **params: object) -> None:
        d.do(m.ManagePlaylist(action=action, params={"playlistId": pid, **params}, actor=MOD))

    act("update", name="Evening", is_public=True)
    act("add_tracks", tracks=[{"videoId": "v4", "duration": 10}])
    act("remove_track", index=0)
    act("reorder", fromIndex=2, toIndex=0)
    assert [t.video_id for t in _pl(d, pid).tracks] == ["v4", "v2", "v3"]
    assert [t.order for t in _pl(d, pid).tracks] == [0, 1, 2]
    act("star")
    assert _pl(d, pid).is_starred and _pl(d, pid).starred_by == ("mod1",)
    act("unstar")
    assert not _pl(d, pid).is_starred
    act("set_default")
    assert d.venue.default_playlist_id == pid and _pl(d, pid).is_default
    act("delete")
    assert pid not in d.state.playlists and d.venue.default_playlist_id == ""


@pytest.mark.parametrize(
    ("action", "params", "code", "status"),
    [
        ("explode", {}, "unknown_action", 400),
        ("load", {"playlistId": "nope"}, "not_found", 404),
        ("create", {"name": ""}, "invalid_value", 400),
        ("create", {"name": "x", "tracks": [{"title": "no id"}]}, "invalid_tracks", 400),
        ("create", {"name": "x", "tracks": "v1"}, "invalid_tracks", 400),
    ],
)
def test_bad_playlist_actions(action: str, params: dict, code: str, status: int) -> None:
    d = playing_venue(2)
    d.reject(m.ManagePlaylist(action=action, params=params, actor=MOD), code, status)


def test_patrons_cannot_manage_playlists() -> None:
    d = playing_venue(2)
    d.reject(m.ManagePlaylist(action="create", params={"name": "x"}, actor=patron(1)), "forbidden")


def test_library_scan_seeds_a_default_playlist_once() -> None:
    d = Driver().setup()
    d.do(m.LibraryScanned(tracks=(track(1), track(2))))
    assert d.venue.default_playlist_id and d.venue.now_playing is not None
    assert vids(d.venue.active_queue) == ["v2"]
    again = d.do(m.LibraryScanned(tracks=(track(3),)))
    assert again.durable is False and len(d.state.playlists) == 1


class _SilentChange(m.Message):
    """A handler written without an event: the engine still announces the new rev."""


def _silent_change(s: Step, msg: _SilentChange) -> None:
    s.set_venue(venue_name="Quietly renamed")


def test_a_durable_change_without_events_still_emits_one() -> None:
    d = playing_venue(2)
    handlers = merge_tables(HANDLERS, table(rule(_SilentChange, _silent_change)))
    out = step(d.state, _SilentChange(), d.now, handlers)
    assert out.durable and out.state.venue is not None
    assert out.state.venue.venue_name == "Quietly renamed"
    assert [e.type for e in out.events] == ["SYSTEM_STATUS"]
    assert out.events[0].payload["status"] == "state_changed"


def test_a_message_type_filed_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="_SilentChange has two handlers"):
        merge_tables(
            table(rule(_SilentChange, _silent_change)), table(rule(_SilentChange, _silent_change))
        )
    with pytest.raises(ValueError, match="UiCommand has two handlers"):
        merge_tables(HANDLERS, ui_commands.HANDLERS)


def test_every_message_the_box_sends_has_a_handler() -> None:
    def subclasses(t: type[m.Message]) -> set[type[m.Message]]:
        found = set(t.__subclasses__())
        return found.union(*(subclasses(c) for c in found)) if found else found

    ours = {c for c in subclasses(m.Message) if c.__module__ == m.__name__}
    assert ours and ours <= set(HANDLERS)
