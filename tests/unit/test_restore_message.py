"""RestoreState is journaled like any message: it must round-trip and replay exactly."""

from __future__ import annotations

from appliance.core import messages as m
from appliance.core.codec import message_from_data, message_to_data
from appliance.core.engine import step
from appliance.core.model import State
from appliance.core.outputs import Rejected

ADMIN = m.Actor(user_id="owner", role="admin")


def venue_state() -> State:
    state = step(State(), m.SetupVenue(owner_user_id="owner", venue_name="Backup"), 1000.0).state
    params = {"name": "L", "tracks": [{"video_id": "dQw4w9WgXcQ", "title": "t"}]}
    return step(state, m.ManagePlaylist(actor=ADMIN, action="create", params=params), 1001.0).state


def test_round_trip_and_replay() -> None:
    backup = venue_state()
    msg = m.RestoreState(actor=ADMIN, state=backup)
    again = message_from_data(message_to_data(msg))
    assert again == msg
    current = step(State(), m.SetupVenue(owner_user_id="x", venue_name="Now"), 5.0).state
    current = step(current, m.RecordLog(event_type="a"), 6.0).state
    out = step(current, again, 2000.0)
    assert out.state.venue.venue_name == "Backup" and out.state.playlists == backup.playlists
    assert out.state.seq >= max(current.seq, backup.seq)
    types = {e.type for e in out.events}
    assert {"QUEUE_UPDATE", "CONTENT_GALLERY_UPDATE", "SYSTEM_STATUS"} <= types


def test_only_admin_and_only_a_venue() -> None:
    current = step(State(), m.SetupVenue(owner_user_id="x"), 5.0).state
    for msg in (
        m.RestoreState(actor=m.Actor(role="moderator"), state=venue_state()),
        m.RestoreState(actor=ADMIN, state=State()),
    ):
        try:
            step(current, msg, 10.0)
        except Rejected as exc:
            assert exc.status in (400, 403)
        else:
            raise AssertionError("restore should have been refused")
