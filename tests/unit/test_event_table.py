"""The one event table: every type once, and the adapters' lists derived from it."""

from __future__ import annotations

from typing import get_args

from appliance.cloud import wire
from appliance.core import events
from appliance.core.events import EVENTS, EventType, render_event
from appliance.core.model import frozen_map
from appliance.core.outputs import Event
from tests.unit.engine_kit import playing_venue


def test_every_event_type_has_one_row_and_every_row_a_type() -> None:
    assert sorted(EVENTS) == sorted(get_args(EventType))


def test_the_pieces_an_event_makes_stale_are_pieces_the_cloud_publishes() -> None:
    named = {p for kind in EVENTS.values() for p in kind.pieces}
    assert named == set(wire.PIECES)
    for piece, event_type in wire.PIECE_TYPES.items():
        assert piece in EVENTS[event_type].pieces and EVENTS[event_type].from_pieces


def test_log_lines_are_the_staff_only_events() -> None:
    assert events.STAFF_ONLY == {"LOG_ENTRY"}


def test_state_rendered_events_come_from_the_state_and_payload_events_keep_theirs() -> None:
    d = playing_venue(3)
    queue = render_event(Event("QUEUE_UPDATE"), d.state)
    assert [i["video_id"] for i in queue["active_queue"]] == [
        i.video_id for i in d.venue.active_queue
    ]
    status = render_event(Event("SYSTEM_STATUS", frozen_map({"status": "x"})), d.state)
    assert status == {"status": "x"}
    pl_id = next(iter(d.state.playlists))
    changed = Event("PLAYLIST_CONTENT_UPDATE", frozen_map({"playlist_id": pl_id, "action": "a"}))
    rendered = render_event(changed, d.state)
    assert rendered["playlist"]["playlist_id"] == pl_id and rendered["action"] == "a"


def test_the_cloud_drops_unknown_and_piece_borne_event_types() -> None:
    assert wire.event_from_envelope({"type": "SYSTEM_STATUS", "payload": {"status": "s"}})
    assert wire.event_from_envelope({"type": "QUEUE_UPDATE", "payload": {}}) is None
    assert wire.event_from_envelope({"type": "NOT_AN_EVENT", "payload": {}}) is None
