"""The Wi-Fi keyfile first boot and the setup page write, and the hotspot's nmcli command,
checked by NetworkManager's own nmcli in offline mode (no daemon needed)."""

from __future__ import annotations

import subprocess

import pytest

from appliance.bootconfig import Wifi
from appliance.firstboot import nm_wifi_connection
from appliance.setup_hotspot import hotspot_commands

AWKWARD = [
    ("Crown Staff", "correct horse"),
    (" leading space", "p;a#s\\s w"),
    ("semi;colon", " pass with lead"),
    ("back\\slash", "12345678"),
    ("hash#tag = x", "trailing space "),
    ("Zoë's Bar", "unicode-free-psk"),
    ("123", "a" * 63),
]


def _nm(*args: str, stdin: str = "") -> str:
    done = subprocess.run(["nmcli", "--offline", *args], input=stdin, capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def _field(keyfile: str, section: str, key: str) -> str:
    current = ""
    for line in keyfile.splitlines():
        if line.startswith("["):
            current = line.strip("[]")
        elif current == section and line.startswith(f"{key}="):
            return line[len(key) + 1 :]
    raise AssertionError(f"{section}.{key} missing from\n{keyfile}")


@pytest.mark.parametrize(("ssid", "psk"), AWKWARD)
def test_keyfile_is_what_networkmanager_writes_for_the_same_network(ssid, psk):
    ours = nm_wifi_connection(Wifi(ssid, psk, "GB"))
    theirs = _nm("connection", "add", "type", "wifi", "con-name", "djamms-wifi", "ssid", ssid,
                 "wifi-sec.key-mgmt", "wpa-psk", "wifi-sec.psk", psk)  # fmt: skip
    assert _field(ours, "wifi", "ssid") == _field(theirs, "wifi", "ssid")
    assert _field(ours, "wifi-security", "psk") == _field(theirs, "wifi-security", "psk")
    # NetworkManager reads ours back (and writes the same network again).
    again = _nm("connection", "modify", "connection.autoconnect-priority", "10", stdin=ours)
    assert _field(again, "wifi", "ssid") == _field(ours, "wifi", "ssid")
    assert _field(again, "wifi-security", "psk") == _field(ours, "wifi-security", "psk")
    assert _field(again, "connection", "autoconnect-retries") == "0"


def test_open_network_has_no_security_section():
    ours = nm_wifi_connection(Wifi("Cafe Free", "", "DE"))
    assert "[wifi-security]" not in _nm("connection", "modify", "connection.id", "x", stdin=ours)


def test_hotspot_command_is_accepted_by_networkmanager():
    add, _up = hotspot_commands("12345678")
    assert add[:3] == ["nmcli", "connection", "add"]
    out = _nm(*add[1:])
    assert _field(out, "wifi", "mode") == "ap"
    assert _field(out, "ipv4", "method") == "shared"
    assert _field(out, "ipv4", "address1") == "10.42.0.1/24"
    assert _field(out, "wifi-security", "psk") == "12345678"
    assert _field(out, "connection", "autoconnect") == "false"
