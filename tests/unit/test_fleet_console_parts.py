"""The fleet console's small parts: where a venue's console keeps its files, and the
fleet's own staff (a login port that sends nothing anywhere)."""

from __future__ import annotations

import pytest

from appliance.config import ConfigError
from appliance.core import messages as m
from appliance.fleet_console import FleetConsole, FleetStaff, folder_name
from appliance.pins import verify_pin


@pytest.mark.parametrize("venue_id", ["venue-1", "a1b2c3", "The_Anchor.2"])
def test_plain_venue_ids_name_their_folder(venue_id: str) -> None:
    assert folder_name(venue_id) == venue_id


@pytest.mark.parametrize("venue_id", ["..", ".hidden", "a b", "caf\u00e9", "x" * 101])
def test_other_venue_ids_get_a_digest(venue_id: str) -> None:
    name = folder_name(venue_id)
    assert name.startswith("venue-") and len(name) == 30
    assert name == folder_name(venue_id) and name != folder_name(venue_id + "!")


def test_the_fleet_staff_log_in_and_nothing_else() -> None:
    staff = FleetStaff("24680")
    (user,) = staff.state.users.values()
    assert user.role == "admin" and verify_pin("24680", user.pin_hash)
    actor = m.Actor(user_id=user.user_id, role="admin", source="web")
    assert staff.submit(m.UserLoggedIn(user_id=user.user_id, actor=actor)).ok
    refused = staff.submit_async(m.UiCommand(command="PAUSE", actor=actor)).result()
    assert not refused.ok and refused.status == 403


@pytest.mark.parametrize("pin", ["12", "abcd", "1234567890123"])
def test_the_fleet_pin_must_be_4_to_12_digits(pin: str) -> None:
    with pytest.raises(ConfigError):
        FleetConsole("mqtt://console:pw@127.0.0.1:1883", pin)
