"""The cloud link's pure parts: broker URLs, roles, the command table both ways, the
outbox, the retained pieces and their rebuild, the command desk, Home Assistant."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from appliance.cloud.desk import CommandDesk, ha_message, option_name
from appliance.cloud.discovery import discovery_messages
from appliance.cloud.freshness import Freshness
from appliance.cloud.outbox import Outbox
from appliance.cloud.settings import LinkSettings, Topics, cap_role, parse_broker
from appliance.cloud.wire import PIECES, apply_piece, piece_payload
from appliance.commands import CommandError, Context, build_message, command_for
from appliance.config import ConfigError
from appliance.core import messages as m
from appliance.core.engine import step
from appliance.core.model import PlaylistTrack, State, TrackInfo
from appliance.runtime import Reply

STAFF = m.Actor(user_id="s1", role="admin", source="mqtt")
NOW = 1_800_000_000.0


def venue_state() -> State:
    state = step(State(), m.SetupVenue(owner_user_id="owner1", venue_name="Bar"), NOW).state
    for i in range(3):
        track = TrackInfo(f"v{i}", f"Title {i}", f"Artist {i}", 200)
        state = step(state, m.AddToQueue(track=track, actor=STAFF), NOW + i).state
    tracks = [{"video_id": "p1", "title": "P One"}]
    msg = m.ManagePlaylist(action="create", params={"name": "Late", "tracks": tracks}, actor=STAFF)
    return step(state, msg, NOW + 10).state


def test_broker_urls() -> None:
    b = parse_broker("mqtts://venue%201:p%40ss@broker.example:9883")
    assert (b.host, b.port, b.tls, b.username, b.password) == (
        "broker.example", 9883, True, "venue 1", "p@ss")  # fmt: skip
    assert parse_broker("mqtt://h").port == 1883
    assert parse_broker("mqtts://h").port == 8883
    for bad in ("http://h", "mqtt://", "mqtt://h:notaport"):
        with pytest.raises(ConfigError):
            parse_broker(bad)


def test_remote_roles_are_capped() -> None:
    assert cap_role("admin", "moderator") == "moderator"
    assert cap_role("user", "admin") == "user"
    assert cap_role("root", "moderator") == "moderator"
    assert cap_role(None, "admin") == "admin"


def test_topics_are_the_architecture_ones() -> None:
    t = Topics("v1")
    assert [t.status, t.now_playing, t.queue, t.settings, t.events, t.cmd, t.ack] == [
        "djamms/v1/venues/v1/status",
        "djamms/v1/venues/v1/state/now_playing",
        "djamms/v1/venues/v1/state/queue",
        "djamms/v1/venues/v1/state/settings",
        "djamms/v1/venues/v1/events",
        "djamms/v1/venues/v1/cmd",
        "djamms/v1/venues/v1/cmd/ack",
    ]


MESSAGES: list[m.Message] = [
    m.UiCommand(command="SET_VOLUME", value=40, actor=STAFF),
    m.UiCommand(command="PLAY_NEXT", play_id="p9", actor=STAFF, expected_rev=3),
    m.UpdateSetting(setting="crossfade_time", value=5, actor=STAFF),
    m.AddToQueue(track=TrackInfo("zz", "T", "A", 100, "th"), position="next", actor=STAFF),
    # a URL staff add without metadata: blank fields travel as "" and mean "not given"
    m.AddToQueue(track=TrackInfo("https://example.org/v.mp4", "", "", 0, ""), actor=STAFF),
    m.RemoveFromQueue(queue_item_id="q3", actor=STAFF),
    m.MoveQueueItem(queue_item_id="q2", to_index=0, actor=STAFF, expected_play_id="p1"),
    m.ClearQueue(actor=STAFF),
    m.Vote(video_id="v1", vote_type="like", actor=STAFF),
    m.ManagePlaylist(action="load", params={"playlistId": "p5"}, actor=STAFF),
    m.UpdateSchedule(schedule_data={"rules": []}, actor=STAFF),
    m.UpdatePreferences(user_id="s1", preferences={"theme": "light"}, actor=STAFF),
]


@pytest.mark.parametrize("msg", MESSAGES, ids=lambda x: type(x).__name__)
def test_command_for_and_build_message_round_trip(msg: m.Message) -> None:
    route = command_for(msg)
    assert route is not None
    path, body = route
    body = json.loads(json.dumps(body))  # what travels is JSON
    rebuilt = build_message(path, body, STAFF, Context(State()), command_id=msg.command_id)
    assert rebuilt == msg


def test_facts_and_logins_are_not_commands() -> None:
    assert command_for(m.UserLoggedIn(user_id="x")) is None
    assert command_for(m.TrackEnded(play_id="p")) is None


@pytest.mark.parametrize(
    ("path", "body", "actor_role", "code"),
    [
        ("/api/nope", {}, "admin", "unknown_path"),
        ("/api/ui/command", {"command": "PLAY"}, "user", "forbidden"),
        ("/api/ui/command", {"command": "FLY"}, "admin", "unknown_command"),
        ("/api/queue/add", {}, "admin", "missing_field"),
        ("/api/queue/add", {"videoId": "x", "position": "top"}, "admin", "invalid_field"),
        ("/api/queue/add", {"videoId": "unknown"}, "user", "unknown_track"),
        ("/api/queue/move", {"queueItemId": "q", "toIndex": -1}, "admin", "out_of_range"),
        ("/api/ui/command", {"command": "PLAY", "venueId": "other"}, "admin", "unknown_venue"),
        ("/api/schedule/update", {"scheduleData": []}, "admin", "invalid_field"),
        ("/api/ui/command", {"command": "PLAY", "expectedRev": "x"}, "admin", "invalid_field"),
    ],
)
def test_bad_commands_are_refused(path: str, body: Any, actor_role: str, code: str) -> None:
    actor = m.Actor(user_id="u", role=actor_role, source="mqtt")
    with pytest.raises(CommandError) as err:
        build_message(path, body, actor, Context(venue_state()))
    assert err.value.code == code
    assert 400 <= err.value.status < 500


def test_outbox_persists_in_order_and_is_bounded(tmp_path: Path) -> None:
    path = tmp_path / "outbox.jsonl"
    box = Outbox(path, max_items=5)
    box.push("t/a", b"1", persist=False)
    assert not path.exists()  # the link is up: nothing written
    box.push("t/a", b"2", persist=True)
    for i in range(3, 9):
        box.push("t/b", str(i).encode(), persist=True)
    assert box.dropped == 3 and len(box) == 5
    again = Outbox(path, max_items=5)
    assert [p for _, p in again.peek(10)] == [b"4", b"5", b"6", b"7", b"8"]
    again.pop(2)
    assert [p for _, p in again.peek(10)] == [b"6", b"7", b"8"]
    again.pop(3)
    assert len(again) == 0 and not path.exists()


def test_outbox_file_stays_bounded_in_a_long_outage(tmp_path: Path) -> None:
    path = tmp_path / "outbox.jsonl"
    box = Outbox(path, max_items=10)
    for i in range(100):
        box.push("t", str(i).encode(), persist=True)
    assert len(path.read_text().splitlines()) <= 20
    assert [p for _, p in Outbox(path, max_items=10).peek(20)] == [
        str(i).encode() for i in range(90, 100)
    ]


def test_outbox_skips_a_torn_line(tmp_path: Path) -> None:
    path = tmp_path / "outbox.jsonl"
    path.write_text('{"t": "a", "p": "1"}\n{"t": "a", "p"')
    assert [p for _, p in Outbox(path).peek(5)] == [b"1"]


def test_retained_pieces_rebuild_the_venue() -> None:
    state = venue_state()
    rebuilt = State()
    for piece in PIECES:
        wire = json.loads(json.dumps(piece_payload(piece, state, 50), default=str))
        rebuilt = apply_piece(rebuilt, piece, wire)
    v, r = state.venue, rebuilt.venue
    assert r is not None and v is not None
    assert r.venue_id == v.venue_id and r.venue_name == "Bar"
    assert r.active_queue == v.active_queue and r.priority_queue == v.priority_queue
    assert r.player_settings == v.player_settings and r.transport == v.transport
    assert replace(r.now_playing, likers=(), skip_voters=()) == replace(
        v.now_playing, likers=(), skip_voters=()
    )
    assert [p.name for p in rebuilt.playlists.values()] == ["Late"]
    assert rebuilt.rev == state.rev
    with pytest.raises(ValueError):
        apply_piece(rebuilt, "queue", {"rev": "x", "payload": {}})


class FakeRuntime:
    """The runtime's port as the desk uses it: records what was submitted."""

    def __init__(self, state: State) -> None:
        self.state = state
        self.submitted: list[m.Message] = []

    def submit(self, msg: m.Message, timeout: float = 10.0) -> Reply:
        self.submitted.append(msg)
        return Reply(True, 7, result={"ok": 1})


def stamp(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat().replace("+00:00", "Z")


def test_desk_freshness_window_and_actor() -> None:
    runtime = FakeRuntime(venue_state())
    settings = LinkSettings(broker=parse_broker("mqtt://h"), remote_role="moderator")
    # a box whose clock is synced: the wall-clock rules apply too
    fresh = Freshness(30.0, 2.0, wall=lambda: NOW, monotonic=lambda: 50.0, synced=lambda: True)
    desk = CommandDesk(runtime, settings, fresh)

    def send(**fields: Any) -> dict[str, Any]:
        return desk.handle(json.dumps({"commandId": "c1", "command": "PLAY", **fields}).encode())

    assert send(issuedAt=stamp(NOW - 29))["ok"]
    assert send(issuedAt=stamp(NOW - 31))["error"]["code"] == "expired"
    assert send(issuedAt=stamp(NOW + 1))["ok"]  # within the allowed clock skew
    assert send(issuedAt=stamp(NOW + 10))["error"]["code"] == "from_future"
    assert send(issuedAt=stamp(NOW), actor={"userId": "a", "role": "admin"})["ok"]
    actors = [x.actor for x in runtime.submitted]
    assert {a.role for a in actors} == {"moderator"}  # capped by [cloud] remote_role
    assert actors[-1].user_id == "remote:a" and actors[-1].source == "mqtt"
    assert {x.command_id for x in runtime.submitted} == {"mqtt:c1"}
    too_big = desk.handle(b"{" + b" " * 70_000 + b"}")
    assert too_big["error"]["code"] == "too_large"


def test_home_assistant_commands_and_discovery() -> None:
    state = venue_state()
    settings = LinkSettings(broker=parse_broker("mqtt://h"))
    vol = ha_message("volume", "55.4", state, settings)
    assert isinstance(vol, m.UiCommand) and vol.value == 55
    assert ha_message("playing", "OFF", state, settings).command == "PAUSE"
    skip = ha_message("skip", "PRESS", state, settings)
    assert skip.play_id == state.venue.now_playing.play_id
    pl = next(iter(state.playlists.values()))
    load = ha_message("playlist", option_name(pl), state, settings)
    assert isinstance(load, m.ManagePlaylist) and load.params["playlistId"] == pl.playlist_id
    for entity, text in (("volume", "loud"), ("playing", "MAYBE"), ("playlist", "x"), ("x", "")):
        with pytest.raises(CommandError):
            ha_message(entity, text, state, settings)

    t = Topics(state.venue.venue_id)
    configs = dict(discovery_messages(state, t))
    vid = state.venue.venue_id
    select = configs[f"homeassistant/select/{vid}/playlist/config"]
    assert select["options"] == [option_name(pl)]
    for topic, cfg in configs.items():
        assert topic.startswith("homeassistant/") and topic.endswith("/config")
        if "device_automation" not in topic:
            assert cfg["availability_topic"] == t.status
            assert cfg["unique_id"].startswith(f"djamms_{vid}_")
    triggers = [c for k, c in configs.items() if "device_automation" in k]
    assert {c["subtype"] for c in triggers} >= {"play_pause", "play_next", "emergency_stop"}


def test_playlist_track_shape_is_what_the_rebuild_expects() -> None:
    # the settings piece carries summaries without tracks; the rebuild keeps the counts
    state = venue_state()
    pl = next(iter(state.playlists.values()))
    assert pl.tracks and isinstance(pl.tracks[0], PlaylistTrack)
    wire = json.loads(json.dumps(piece_payload("settings", state, 50), default=str))
    rebuilt = apply_piece(State(), "settings", wire)
    assert next(iter(rebuilt.playlists.values())).track_count == pl.track_count
