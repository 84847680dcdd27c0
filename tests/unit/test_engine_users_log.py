"""Users (first start, roles, preferences) and the activity log (every applied
command, who/what/when/session/ip/user agent, bounded retention)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from appliance.core import messages as m
from appliance.core.model import State
from tests.unit.engine_kit import ADMIN, MOD, Driver, patron, playing_venue, track


def test_first_start_creates_the_owner_admin_and_the_venue_named_after_them() -> None:
    d = Driver()
    out = d.do(m.SetupVenue(owner_user_id="u-123", venue_name="Anchor", pin_hash="scrypt$x$y"))
    owner = d.state.users["u-123"]
    assert owner.role == "admin" and owner.venue_id == "u-123" and owner.pin_hash
    assert d.venue.venue_id == "u-123" and d.venue.owner_id == "u-123"
    assert d.venue.venue_name == "Anchor" and d.venue.created_at
    assert out.reply == {"venueId": "u-123", "ownerId": "u-123"}
    assert d.state.activity_log[-1].event_type == "venue_created"


def test_setup_twice_is_refused() -> None:
    d = Driver().setup()
    d.reject(m.SetupVenue(owner_user_id="other"), "already_set_up", 409)


def test_commands_before_setup_are_refused_clearly() -> None:
    d = Driver()
    d.reject(m.AddToQueue(track=track(1), actor=ADMIN), "not_set_up", 409)


def test_register_users_and_roles() -> None:
    d = Driver().setup()
    d.do(m.RegisterUser(user_id="g1", username=" Ann ", actor=patron(1)))
    assert d.state.users["g1"].role == "user" and d.state.users["g1"].username == "Ann"
    d.reject(m.RegisterUser(user_id="x", role="admin", actor=MOD), "forbidden", 403)
    d.reject(m.RegisterUser(user_id="x", role="king", actor=ADMIN), "invalid_role", 400)
    d.do(m.RegisterUser(user_id="m2", role="moderator", actor=ADMIN))
    assert d.state.users["m2"].role == "moderator"


def test_login_stamps_the_user() -> None:
    d = Driver().setup()
    d.do(m.UserLoggedIn(user_id="owner", actor=ADMIN))
    assert d.state.users["owner"].last_login_at
    d.reject(m.UserLoggedIn(user_id="ghost"), "not_found", 404)


def test_preferences_update() -> None:
    d = Driver().setup()
    out = d.do(
        m.UpdatePreferences(
            user_id="owner", preferences={"theme": "light", "default_volume": 40}, actor=ADMIN
        )
    )
    prefs = d.state.users["owner"].preferences
    assert prefs.theme == "light" and prefs.default_volume == 40 and prefs.language == "en"
    assert out.reply["preferences"] == prefs


@pytest.mark.parametrize(
    ("prefs", "actor", "code", "status"),
    [
        ({"theme": 3}, ADMIN, "invalid_value", 400),
        ({"default_volume": 101}, ADMIN, "out_of_range", 400),
        ({"shoe_size": 9}, ADMIN, "unknown_preference", 400),
        ({}, ADMIN, "invalid_value", 400),
        ({"theme": "light"}, patron(1), "forbidden", 403),
    ],
)
def test_bad_preferences(prefs: dict, actor: m.Actor, code: str, status: int) -> None:
    d = Driver().setup()
    d.reject(m.UpdatePreferences(user_id="owner", preferences=prefs, actor=actor), code, status)


# --- activity log ----------------------------------------------------------------------------

COMMANDS = [
    (m.UiCommand(command="PAUSE", actor=MOD), "ui_command"),
    (m.AddToQueue(track=track(9), actor=patron(3)), "track_added"),
    (m.ClearQueue(actor=MOD), "queue_cleared"),
    (m.UpdateSetting(setting="master_volume", value=3, actor=MOD), "setting_updated"),
    (m.Vote(video_id="v0", actor=patron(3)), "track_voted"),
    (m.UpdateSchedule(schedule_data={"rules": []}, actor=MOD), "schedule_updated"),
    (m.ManagePlaylist(action="create", params={"name": "x"}, actor=MOD), "playlist_create"),
    (m.RecordLog(event_type="backup_done", event_data={"bytes": 1}, actor=MOD), "backup_done"),
    (m.RegisterUser(user_id="g3", actor=patron(3)), "user_registered"),
]


@pytest.mark.parametrize(("msg", "event_type"), COMMANDS)
def test_every_applied_command_appends_a_log_entry(msg: m.Message, event_type: str) -> None:
    d = playing_venue(3)
    out = d.do(msg)
    entry = d.state.activity_log[-1]
    actor = msg.actor
    assert entry.event_type == event_type
    assert entry.user_id == actor.user_id and entry.session_id == actor.session_id
    assert entry.ip_address == actor.ip_address and entry.user_agent == actor.user_agent
    assert entry.venue_id == "owner" and entry.timestamp.startswith("2023-11-14T")
    assert any(e.type == "LOG_ENTRY" and e.payload["entry"] == entry for e in out.events)


def test_log_retention_is_bounded_keeping_the_newest() -> None:
    d = Driver(State(log_retention=5)).setup()
    for i in range(12):
        d.do(m.RecordLog(event_type=f"e{i}", actor=ADMIN))
    log = d.state.activity_log
    assert len(log) == 5
    assert [e.event_type for e in log] == [f"e{i}" for i in range(7, 12)]


def test_log_ids_are_unique_and_deterministic() -> None:
    a, b = playing_venue(3), playing_venue(3)
    assert [e.log_id for e in a.state.activity_log] == [e.log_id for e in b.state.activity_log]
    assert len({e.log_id for e in a.state.activity_log}) == len(a.state.activity_log)
    assert replace(a.state) == b.state
