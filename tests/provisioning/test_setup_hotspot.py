"""Setup hotspot: the decisions, the nmcli commands, and the captive page over real HTTP."""

from __future__ import annotations

import json
import stat
import subprocess
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from pathlib import Path

import pytest

from appliance import setup_hotspot as hs
from appliance.firstboot import COUNTRY_FILE, WIFI_FILE

OFFLINE = "wifi:disconnected\nethernet:unavailable\nloopback:connected (externally)\n"
SCAN = "Crown Staff:72\nNeighbour\\:5G:40\n:30\nCrown Staff:55\n<b>evil</b>:20\n"


class FakeNetwork:
    """Stands in for nmcli: records commands, answers from a script, fails on request."""

    def __init__(self, devices: str = OFFLINE, fail_on: str = "") -> None:
        self.devices = devices
        self.fail_on = fail_on
        self.commands: list[list[str]] = []

    def __call__(self, cmd: Sequence[str]) -> str:
        self.commands.append(list(cmd))
        if self.fail_on and self.fail_on in cmd:
            raise subprocess.CalledProcessError(4, cmd, stderr="Error: activation failed")
        if cmd[-1] == "device":
            return self.devices
        if "list" in cmd:
            return SCAN
        return ""


@pytest.mark.parametrize(
    ("table", "online"),
    [
        (OFFLINE, False),
        ("ethernet:connected\nwifi:disconnected\n", True),
        ("wifi:connected\n", True),
        ("wifi:connecting (getting IP configuration)\n", False),
        ("", False),
    ],
)
def test_is_online(table, online):
    assert hs.is_online(table) is online


def test_scan_strongest_first_once_each_with_nmcli_escapes():
    assert hs.parse_scan(SCAN) == ["Crown Staff", "Neighbour:5G", "<b>evil</b>"]


def test_hotspot_is_wpa2_shared_on_the_known_address():
    add, up = hs.hotspot_commands("12345678")
    assert add[:3] == ["nmcli", "connection", "add"]
    pairs = dict(zip(add[3::2], add[4::2], strict=False))
    assert pairs["mode"] == "ap" and pairs["ipv4.method"] == "shared"
    assert pairs["ipv4.addresses"] == "10.42.0.1/24" and pairs["wifi-sec.psk"] == "12345678"
    assert up == ["nmcli", "connection", "up", hs.HOTSPOT_CON]


def test_online_box_opens_no_hotspot(tmp_path):
    net = FakeNetwork(devices="ethernet:connected\n")
    assert hs.run_setup(tmp_path, net, grace=0, port=0) == 0
    assert all("add" not in c for c in net.commands)
    assert not (tmp_path / hs.HOTSPOT_FILE).exists()


def _post(url: str, fields: dict[str, str]) -> tuple[int, str]:
    data = urllib.parse.urlencode(fields).encode()
    try:
        with urllib.request.urlopen(url, data=data, timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def _run_in_thread(root: Path, net: FakeNetwork):
    ready: dict[str, object] = {}
    opened = threading.Event()

    def on_portal(portal, port):
        ready.update(portal=portal, url=f"http://127.0.0.1:{port}")
        opened.set()

    result: list[int] = []
    t = threading.Thread(
        target=lambda: result.append(
            hs.run_setup(
                root, net, grace=0, host="127.0.0.1", port=0, country="GB", on_portal=on_portal
            )  # fmt: skip
        ),
        daemon=True,
    )
    t.start()
    assert opened.wait(30), "portal never opened"
    return t, result, ready, opened


def test_offline_box_opens_hotspot_and_joins_the_submitted_network(tmp_path):
    net = FakeNetwork()
    t, result, ready, _ = _run_in_thread(tmp_path, net)
    try:
        shown = json.loads((tmp_path / hs.HOTSPOT_FILE).read_text())
        assert shown["ssid"] == "DJAMMS-Setup" and len(shown["password"]) == 8
        assert ["nmcli", "connection", "up", hs.HOTSPOT_CON] in net.commands
        add = next(c for c in net.commands if "add" in c)
        assert shown["password"] in add  # the TV shows the password the hotspot uses

        with urllib.request.urlopen(ready["url"] + "/generate_204", timeout=30) as r:
            page = r.read().decode()
        assert r.status == 200 and "<option>Crown Staff</option>" in page
        assert "<b>evil</b>" not in page and "&lt;b&gt;evil&lt;/b&gt;" in page
        assert 'value="GB"' in page

        status, body = _post(
            ready["url"] + "/connect", {"ssid": "Crown Staff", "psk": "short", "country": "GB"}
        )
        assert status == 400 and "8-63" in body
        assert not (tmp_path / WIFI_FILE).exists()

        status, body = _post(
            ready["url"] + "/connect",
            {"ssid": "Crown Staff", "psk": "correct horse", "country": "gb"},
        )
        assert status == 200 and "Joining Crown Staff" in body
        t.join(30)
        assert result == [0]
    finally:
        ready["portal"].stop()
    keyfile = tmp_path / WIFI_FILE
    assert stat.S_IMODE(keyfile.stat().st_mode) == 0o600
    assert "ssid=Crown Staff\n" in keyfile.read_text()
    assert "psk=correct horse\n" in keyfile.read_text()
    assert "regdom=GB" in (tmp_path / COUNTRY_FILE).read_text()
    assert net.commands[-1] == ["nmcli", "--wait", "45", "connection", "up", hs.WIFI_CON]
    assert not (tmp_path / hs.HOTSPOT_FILE).exists()


def test_failed_join_reopens_the_hotspot_with_the_reason(tmp_path):
    net = FakeNetwork(fail_on="--wait")
    t, result, ready, opened = _run_in_thread(tmp_path, net)
    first = ready["portal"]
    opened.clear()
    status, _ = _post(
        ready["url"] + "/connect",
        {"ssid": "", "ssid_typed": "Hidden Bar", "psk": "wrongpass1", "country": "GB"},
    )
    assert status == 200
    assert opened.wait(30), "hotspot not reopened"
    try:
        assert ready["portal"] is not first
        with urllib.request.urlopen(ready["url"] + "/", timeout=30) as r:
            assert "Could not join Hidden Bar" in r.read().decode()
        shown = json.loads((tmp_path / hs.HOTSPOT_FILE).read_text())
        assert "Could not join Hidden Bar" in shown["message"]
        assert t.is_alive() and result == []
        net.fail_on = ""  # the right password this time: the setup ends
        status, _ = _post(
            ready["url"] + "/connect",
            {"ssid_typed": "Hidden Bar", "psk": "rightpass1", "country": "GB"},
        )
        assert status == 200
        t.join(30)
        assert result == [0]
    finally:
        ready["portal"].stop()
