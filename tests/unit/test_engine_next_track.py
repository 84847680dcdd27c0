"""Next-track policy, repeat modes, never silent, one advance per play_id."""

from __future__ import annotations

import pytest

from appliance.core import messages as m
from appliance.core.outputs import PlayTrack, Prefetch, StopPlayback
from tests.unit.engine_kit import (
    ADMIN,
    MOD,
    PLAYER,
    Driver,
    now_vid,
    patron,
    playing_venue,
    track,
    vids,
)


def test_priority_first_oldest_first_then_active() -> None:
    d = playing_venue(4)  # v0 playing, v1..v3 active
    d.request(track(10), patron(1))
    d.request(track(11), patron(2))
    d.request(track(12), patron(1))
    order = []
    for _ in range(5):
        d.end()
        order.append(now_vid(d))
    assert order == ["v10", "v11", "v12", "v1", "v2"]


def test_staff_play_next_jumps_ahead_of_requests() -> None:
    d = playing_venue(3)
    d.request(track(10), patron(1))
    d.do(m.AddToQueue(track=track(20), position="next", actor=MOD))
    assert vids(d.venue.priority_queue) == ["v20", "v10"]
    d.end()
    assert now_vid(d) == "v20"


def test_staff_add_end_goes_to_active_queue_end() -> None:
    d = playing_venue(3)
    out = d.do(m.AddToQueue(track=track(20), position="end", actor=ADMIN))
    assert out.reply["queue"] == "active"
    assert vids(d.venue.active_queue) == ["v1", "v2", "v20"]
    assert d.venue.priority_queue == ()


def test_every_start_has_a_fresh_play_id_and_a_play_effect() -> None:
    d = playing_venue(3)
    seen = {d.play_id}
    for _ in range(6):
        out = d.end()
        plays = [e for e in out.effects if isinstance(e, PlayTrack)]
        assert len(plays) == 1 and plays[0].play_id == d.play_id
        assert plays[0].transition == "crossfade"
        assert d.play_id not in seen
        seen.add(d.play_id)


def test_prefetch_lists_the_next_tracks_in_play_order() -> None:
    d = playing_venue(6)
    out = d.request(track(10), patron(1))
    prefetch = [e for e in out.effects if isinstance(e, Prefetch)][-1]
    assert [i.video_id for i in prefetch.items] == ["v10", "v1", "v2"]


@pytest.mark.parametrize(
    ("mode", "after_two_ends", "active_after"),
    [
        ("all", "v2", ["v3", "v0", "v1"]),  # finished tracks go back to the end
        ("none", "v2", ["v3"]),  # finished tracks are consumed
        ("one", "v0", ["v1", "v2", "v3"]),  # the current track repeats
    ],
)
def test_repeat_modes(mode: str, after_two_ends: str, active_after: list[str]) -> None:
    d = playing_venue(4)  # v0 playing, v1..v3 queued
    d.setting("repeat_mode", mode)
    d.end()
    d.end()
    assert now_vid(d) == after_two_ends
    assert vids(d.venue.active_queue) == active_after


def test_repeat_one_plays_the_track_again_under_a_new_play_id_until_skipped() -> None:
    d = playing_venue(3)
    d.setting("repeat_mode", "one")
    first = d.play_id
    d.end()
    assert now_vid(d) == "v0" and d.play_id != first
    d.ui("PLAY_NEXT")
    assert now_vid(d) == "v1"
    assert vids(d.venue.active_queue) == ["v2", "v0"]  # skipped track stays in the rotation


def test_repeat_all_loops_the_rotation_forever() -> None:
    d = playing_venue(3)
    played = []
    for _ in range(9):
        played.append(now_vid(d))
        d.end()
    assert played == ["v0", "v1", "v2"] * 3
    assert sorted(vids(d.venue.active_queue)) == ["v1", "v2"]


def test_priority_items_play_once_even_under_repeat_all() -> None:
    d = playing_venue(3)
    d.request(track(10), patron(1))
    d.end()
    assert now_vid(d) == "v10"
    d.end()
    assert "v10" not in vids(d.venue.active_queue) + vids(d.venue.priority_queue)
    assert d.venue.history[-1].item.video_id == "v10"
    assert d.venue.history[-1].source == "priority"


def test_never_silent_default_playlist_refills_when_both_queues_empty() -> None:
    d = Driver().setup()
    pid = d.playlist([1, 2])
    d.do(m.ManagePlaylist(action="set_default", params={"playlistId": pid}, actor=ADMIN))
    d.setting("repeat_mode", "none")
    d.do(m.AddToQueue(track=track(9), actor=ADMIN))  # idle -> starts v9 at once
    assert now_vid(d) == "v9"
    out = d.end()  # nothing left: the default playlist refills
    assert now_vid(d) == "v1"
    assert vids(d.venue.active_queue) == ["v2"]
    assert any(e.event_type == "queue_refilled" for e in d.state.activity_log)
    assert not [e for e in out.effects if isinstance(e, StopPlayback)]


def test_without_default_playlist_the_box_goes_quiet_and_says_so() -> None:
    d = Driver().setup()
    d.setting("repeat_mode", "none")
    d.do(m.AddToQueue(track=track(9), actor=ADMIN))
    out = d.end()
    assert d.venue.now_playing is None
    assert [e for e in out.effects if isinstance(e, StopPlayback)]
    # the next add starts playing at once: transport intent is still "playing"
    d.do(m.AddToQueue(track=track(8), actor=ADMIN))
    assert now_vid(d) == "v8"


def test_unplayable_items_are_passed_over_but_kept() -> None:
    d = playing_venue(4)
    d.do(m.TrackUnplayable(video_id="v1", reason="403"))
    d.end()
    assert now_vid(d) == "v2"
    assert "v1" in vids(d.venue.active_queue)
    d.do(m.TrackResolved(track=track(1)))
    assert not any(i.unplayable for i in d.venue.active_queue)


# --- one advance per play_id ------------------------------------------------------------


def test_track_ended_twice_advances_once() -> None:
    d = playing_venue(4)
    pid = d.play_id
    first = d.do(m.TrackEnded(play_id=pid, actor=PLAYER))
    rev = d.state.rev
    second = d.do(m.TrackEnded(play_id=pid, actor=PLAYER))
    assert first.reply == {"advanced": True}
    assert second.reply == {"advanced": False}
    assert second.durable is False and second.events == () and second.effects == ()
    assert d.state.rev == rev and now_vid(d) == "v1"


@pytest.mark.parametrize(
    "stale",
    [
        lambda pid: m.TrackEnded(play_id=pid, actor=PLAYER),
        lambda pid: m.PlayerError(play_id=pid, error_code="decode", actor=PLAYER),
        lambda pid: m.UiCommand(command="PLAY_NEXT", play_id=pid, actor=ADMIN),
        lambda pid: m.UiCommand(command="PLAY_NEXT", value=pid, actor=MOD),
        lambda pid: m.UiCommand(command="PLAY_NEXT", play_id=pid, actor=PLAYER),
    ],
)
def test_stale_play_id_is_a_no_op(stale) -> None:  # type: ignore[no-untyped-def]
    d = playing_venue(4)
    old = d.play_id
    d.end()
    before = d.state
    out = d.do(stale(old))
    assert d.state is before, "a stale end/error/skip must change nothing"
    assert out.durable is False and out.events == () and out.effects == ()


def test_two_windows_skipping_the_same_track_skip_one() -> None:
    d = playing_venue(5)
    pid = d.play_id
    a = d.ui("PLAY_NEXT", play_id=pid, actor=ADMIN)
    b = d.ui("PLAY_NEXT", play_id=pid, actor=MOD)
    assert a.reply["skipped"] is True and b.reply["skipped"] is False
    assert now_vid(d) == "v1"
    skips = [e for e in d.state.activity_log if e.event_data.get("command") == "PLAY_NEXT"]
    assert len(skips) == 1


def test_player_error_logs_and_advances_with_a_cut() -> None:
    d = playing_venue(3)
    out = d.do(m.PlayerError(play_id=d.play_id, error_code="403", detail="forbidden"))
    assert now_vid(d) == "v1"
    assert [e for e in out.effects if isinstance(e, PlayTrack)][0].transition == "cut"
    entry = [e for e in d.state.activity_log if e.event_type == "player_error"][-1]
    assert entry.event_data["error_code"] == "403" and entry.event_data["video_id"] == "v0"


def test_end_of_nothing_is_ignored() -> None:
    d = Driver().setup()
    out = d.do(m.TrackEnded(play_id="p999"))
    assert out.reply == {"advanced": False} and out.durable is False
