"""The fleet console (`djamms console` without `--venue`): every venue on a real mosquitto,
seen through the topics real boxes publish (their own `MqttLink`), commanded through their
`cmd`/`cmd/ack`, over real HTTP and websocket clients."""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import requests

from appliance.cloud.settings import Topics
from appliance.core import messages as m
from tests.integration.fleet_kit import FLEET_PIN, NAMES, STAFF, Fleet, Staff, fleet_rig, serving
from tests.support.mosquitto import free_port
from tests.support.mqtt_probe import Probe
from tests.support.wsclient import LiveClient

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[Fleet]:
    yield from fleet_rig(tmp_path)


def test_the_fleet_lists_every_venue_with_what_it_plays(fleet: Fleet) -> None:
    a, b = fleet.venues
    a.play("fa1", "Harbour Lights")
    b.play("fb1", "Spin Class Anthem")
    assert b.box.runtime.submit(m.UiCommand(command="SET_VOLUME", value=61, actor=STAFF)).ok
    fleet.wait("now playing and volume", lambda c: (
        (c[a.venue_id]["now_playing"] or {}).get("title") == "Harbour Lights"
        and (c[b.venue_id]["now_playing"] or {}).get("title") == "Spin Class Anthem"
        and c[b.venue_id]["master_volume"] == 61))  # fmt: skip

    assert requests.get(fleet.url + "/api/fleet", timeout=20).status_code == 401
    staff = Staff(fleet.url)
    venues = {
        v["venue_id"]: v for v in staff.get(fleet.url + "/api/fleet", timeout=20).json()["venues"]
    }
    assert set(venues) == {a.venue_id, b.venue_id}
    first, second = venues[a.venue_id], venues[b.venue_id]
    assert (first["venue_name"], second["venue_name"]) == NAMES
    assert first["online"] is True and first["alerts"] == []
    assert first["master_volume"] == a.volume
    assert second["master_volume"] == 61
    assert first["now_playing"]["title"] == "Harbour Lights"
    assert first["now_playing"]["play_id"] == a.box.runtime.state.venue.now_playing.play_id
    assert first["last_seen"].endswith("Z")
    for key in ("venue_id", "venue_name", "online", "last_seen", "now_playing", "master_volume",
                "alerts"):  # fmt: skip
        assert key in first

    page = staff.get(fleet.url + "/fleet", timeout=20)
    assert page.status_code == 200 and "fleet.js" in page.text
    assert "/fleet/ws" in requests.get(fleet.url + "/static/fleet.js", timeout=20).text


def test_a_bulk_volume_reaches_every_chosen_venue(fleet: Fleet) -> None:
    a, b = fleet.venues
    staff = Staff(fleet.url)
    r = staff.command({"venueIds": [a.venue_id, b.venue_id], "command": "SET_VOLUME", "value": 37})
    assert r.status_code == 200, r.text
    assert r.json() == {"results": [{"venue_id": a.venue_id, "ok": True},
                                    {"venue_id": b.venue_id, "ok": True}]}  # fmt: skip
    assert a.volume == 37 and b.volume == 37  # acked: durable at the venue
    fleet.wait("volume 37 at both", lambda c: all(v["master_volume"] == 37 for v in c.values()))

    r = staff.command({"venueIds": [a.venue_id], "command": "SET_VOLUME", "value": 500})
    result = r.json()["results"][0]
    assert r.status_code == 200 and result["ok"] is False and result["error"] == "out_of_range"
    assert a.volume == 37

    a.play("fa2", "Sea Shanty")
    fleet.wait("a track at a", lambda c: c[a.venue_id]["now_playing"] is not None)
    r = staff.command({"venueIds": [a.venue_id, b.venue_id], "command": "EMERGENCY_STOP"})
    assert all(x["ok"] for x in r.json()["results"]), r.text
    cards = fleet.wait("emergency alerts", lambda c: all(
        "emergency_stop" in v["alerts"] for v in c.values()))  # fmt: skip
    assert cards[a.venue_id]["transport"] == "emergency"


def test_bad_fleet_commands_change_nothing(fleet: Fleet) -> None:
    a, b = fleet.venues
    revs = [v.box.runtime.state.rev for v in fleet.venues]
    volumes = [a.volume, b.volume]
    staff = Staff(fleet.url)

    r = staff.command({"venueIds": ["no-such-venue"], "command": "SET_VOLUME", "value": 5})
    assert r.status_code == 200
    assert r.json() == {"results": [{"venue_id": "no-such-venue", "ok": False,
                                     "error": "unknown_venue"}]}  # fmt: skip
    for body, code in (
        ({"venueIds": [], "command": "SET_VOLUME", "value": 5}, "invalid_field"),
        ({"venueIds": [a.venue_id] * 501, "command": "SET_VOLUME", "value": 5}, "too_many_venues"),
        ({"venueIds": [a.venue_id, b.venue_id], "command": "DANCE", "value": 5}, "unknown_command"),
        ({"venueIds": a.venue_id, "command": "SET_VOLUME", "value": 5}, "invalid_field"),
        ({"venueIds": [7], "command": "SET_VOLUME", "value": 5}, "invalid_field"),
    ):
        r = staff.command(body)
        assert r.status_code == 400, (body, r.text)
        assert r.json()["error"]["code"] == code
    r = staff.command(None, raw=b'{"venueIds": ["' + b"x" * 70_000 + b'"]}')
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"
    r = staff.command(None, raw=b"{not json")
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_json"

    body = {"venueIds": [a.venue_id], "command": "SET_VOLUME", "value": 5}
    anonymous = requests.post(fleet.url + "/api/fleet/command", json=body, timeout=20)
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "unauthorized"
    no_token = staff.post(fleet.url + "/api/fleet/command", json=body, timeout=20)
    assert no_token.status_code == 403
    wrong_pin = requests.post(fleet.url + "/api/auth/login", json={"pin": "1234"}, timeout=20)
    assert wrong_pin.status_code == 401  # a box's PIN is not the fleet's

    assert [v.box.runtime.state.rev for v in fleet.venues] == revs
    assert [a.volume, b.volume] == volumes


def test_a_venue_that_does_not_answer_times_out(fleet: Fleet) -> None:
    ghost = Topics("ghost-venue")
    probe = Probe(fleet.broker.port, *fleet.broker.console).wait_connected()
    try:
        probe.publish(ghost.status, "online", retain=True)
        fleet.wait("the ghost online", lambda c: c.get("ghost-venue", {}).get("online") is True)
        a = fleet.venues[0]
        staff = Staff(fleet.url)
        r = staff.command({"venueIds": ["ghost-venue", a.venue_id], "command": "SET_VOLUME",
                           "value": 12})  # fmt: skip
        assert r.json()["results"] == [
            {"venue_id": "ghost-venue", "ok": False, "error": "timeout"},
            {"venue_id": a.venue_id, "ok": True},
        ]
        assert a.volume == 12
    finally:
        probe.publish(ghost.status, b"", retain=True)
        probe.close()


def test_a_killed_box_shows_offline_with_when_it_was_last_seen(fleet: Fleet) -> None:
    a, b = fleet.venues
    before = time.time()
    client = a.link.client
    assert client is not None
    sock = client.socket()
    client.loop_stop()  # no clean DISCONNECT and no reconnect: the box is gone
    assert isinstance(sock, socket.socket)
    sock.shutdown(socket.SHUT_RDWR)
    sock.close()
    cards = fleet.wait("a offline (its last will)", lambda c: c[a.venue_id]["online"] is False)
    card = cards[a.venue_id]
    assert card["alerts"] == ["offline"]
    assert card["last_seen"] is not None and card["since"] is not None
    seen = datetime.fromisoformat(card["last_seen"].replace("Z", "+00:00")).timestamp()
    assert before - 2 <= seen <= time.time() + 2
    assert cards[b.venue_id]["online"] is True

    staff = Staff(fleet.url)
    r = staff.command({"venueIds": [a.venue_id, b.venue_id], "command": "PAUSE"})
    assert r.json()["results"][0] == {"venue_id": a.venue_id, "ok": False, "error": "offline"}
    assert r.json()["results"][1]["ok"] is True

    client.loop_start()  # the box is back: it reconnects and says so
    cards = fleet.wait("a online again", lambda c: c[a.venue_id]["online"] is True)
    assert cards[a.venue_id]["alerts"] == []


def test_the_websocket_pushes_venue_changes_to_staff_only(fleet: Fleet) -> None:
    a, _ = fleet.venues
    with pytest.raises(Exception, match="401"):
        LiveClient(fleet.url + "/fleet").connect(timeout=10)
    staff = Staff(fleet.url)
    client = LiveClient(fleet.url + "/fleet", staff.cookie).connect()
    try:
        assert client.wait_for(lambda fs: bool(fs) and fs[0]["type"] == "FLEET_SNAPSHOT")
        assert {v["venue_id"] for v in client.frames[0]["venues"]} == {
            v.venue_id for v in fleet.venues
        }
        assert a.box.runtime.submit(m.UiCommand(command="SET_VOLUME", value=23, actor=STAFF)).ok
        assert client.wait_for(lambda fs: any(
            f["type"] == "VENUE_UPDATE" and f["venue"]["venue_id"] == a.venue_id
            and f["venue"]["master_volume"] == 23 for f in fs))  # fmt: skip
    finally:
        client.close()


def test_a_retained_message_naming_another_venue_is_ignored(
    fleet: Fleet, caplog: pytest.LogCaptureFixture
) -> None:
    a, b = fleet.venues
    topics = Topics(a.venue_id)
    payload = {"venue_id": b.venue_id, "venue_name": "Hijacked",
               "player_settings": {"master_volume": 99}}  # fmt: skip
    forged = {"type": "PLAYER_SETTINGS_UPDATE", "rev": 10**6, "payload": payload}
    probe = Probe(fleet.broker.port, *fleet.broker.console).wait_connected()
    caplog.set_level(logging.WARNING, logger="appliance.cloud.fleet")
    try:
        probe.publish(topics.settings, forged, retain=True)
        deadline = time.monotonic() + 20
        while fleet.console.fleet.spoofed < 1 and time.monotonic() < deadline:
            time.sleep(0.02)  # a refusal changes nothing, so there is no event to wait on
        assert fleet.console.fleet.spoofed == 1
        card = fleet.console.fleet.venue(a.venue_id)
        assert card is not None
        assert card["venue_name"] == NAMES[0] and card["master_volume"] == a.volume
        assert "names another venue" in caplog.text
    finally:
        probe.publish(topics.settings, b"", retain=True)
        probe.close()


def test_each_card_opens_that_venues_full_console(fleet: Fleet) -> None:
    a, _ = fleet.venues
    anonymous = requests.get(fleet.url + f"/venue/{a.venue_id}/", timeout=20,
                             allow_redirects=False)  # fmt: skip
    assert anonymous.status_code == 302 and anonymous.headers["Location"].endswith("/fleet")
    staff = Staff(fleet.url)
    assert staff.get(fleet.url + "/venue/nobody/", timeout=20).status_code == 404
    r = staff.get(fleet.url + f"/venue/{a.venue_id}/", timeout=30, allow_redirects=False)
    assert r.status_code == 302
    target = r.headers["Location"]
    assert target.startswith("http://127.0.0.1:") and target.endswith("/staff")
    venue_url = target.removesuffix("/staff")
    assert venue_url != fleet.url
    page = staff.get(target, timeout=20)
    assert page.status_code == 200 and NAMES[0] in page.text
    state = staff.get(venue_url + "/api/state", timeout=20).json()
    assert state["venue"]["venue_id"] == a.venue_id
    # the fleet's login holds there too: a staff command through the venue's own console
    r = staff.post(venue_url + "/api/ui/command", json={"command": "SET_VOLUME", "value": 19},
                   headers={"X-CSRF-Token": staff.csrf}, timeout=30)  # fmt: skip
    assert r.status_code == 200, r.text
    assert a.volume == 19
    again = staff.get(fleet.url + f"/venue/{a.venue_id}/", timeout=20, allow_redirects=False)
    assert again.headers["Location"] == target  # started once


def test_the_cli_serves_the_fleet_without_a_venue(fleet: Fleet, tmp_path: Path) -> None:
    port = free_port()
    args = [sys.executable, "-m", "appliance", "console", "--broker", fleet.broker.url("console"),
            "--pin", FLEET_PIN, "--host", "127.0.0.1", "--port", str(port),
            "--data-dir", str(tmp_path / "cli-fleet")]  # fmt: skip
    proc = subprocess.Popen(args, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while not serving(url + "/fleet") and time.monotonic() < deadline:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            time.sleep(0.1)  # nothing to wait on but the socket opening
        staff = Staff(url)
        ids = {v.venue_id for v in fleet.venues}
        deadline = time.monotonic() + 20
        seen: set[str] = set()
        while seen != ids and time.monotonic() < deadline:
            seen = {
                v["venue_id"] for v in staff.get(url + "/api/fleet", timeout=20).json()["venues"]
            }
            time.sleep(0.05)  # another process: no event of ours to wait on
        assert seen == ids
    finally:
        proc.terminate()
        proc.wait(timeout=20)
