"""Past one broker: two real mosquitto processes bridged with the shipped template
(`provisioning/broker/bridge.conf.template`), a real box on each, and one fleet console
on the first that sees, commands and loses (last will) venues on both."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from string import Template

import pytest

from appliance.cloud.link import MqttLink
from appliance.fleet_console import FleetConsole
from tests.integration.cloud_kit import VENUE_PASSWORD, link_settings, synced_freshness
from tests.integration.fleet_kit import FLEET_PIN, Fleet, Staff, Venue, start_venue
from tests.support.mosquitto import Mosquitto

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "provisioning" / "broker" / "bridge.conf.template"
BRIDGE_PASSWORD = "bridge-secret"


def bridge_conf(remote: Mosquitto, name: str) -> str:
    return Template(TEMPLATE.read_text()).substitute(
        name=name, remote_host="127.0.0.1", remote_port=remote.port, remote_user="bridge",
        remote_password=BRIDGE_PASSWORD, tls="",
    )  # fmt: skip


@pytest.fixture
def bridged(tmp_path: Path) -> Iterator[Fleet]:
    """Venue 0 on broker A (with the console), venue 1 on broker B, B bridged to A."""
    boxes = [start_venue(tmp_path / f"box{i}", n) for i, n in enumerate(("Quay Bar", "Hill Gym"))]
    ids = [b.runtime.state.venue.venue_id for b in boxes]
    home = Mosquitto(tmp_path / "a", users={ids[0]: VENUE_PASSWORD, "bridge": BRIDGE_PASSWORD})
    away = Mosquitto(tmp_path / "b", users={ids[1]: VENUE_PASSWORD})
    conf = away.dir / "mosquitto.conf"
    conf.write_text(conf.read_text() + "\n" + bridge_conf(home, "djamms-bridge-b"))
    console = FleetConsole(home.url("console"), FLEET_PIN, data_dir=tmp_path / "fleet",
                           command_timeout=5.0)  # fmt: skip
    venues: list[Venue] = []
    home.start()
    away.start()
    try:
        for box, vid, broker in zip(boxes, ids, (home, away), strict=True):
            ls = link_settings(broker, vid)
            link = MqttLink(box.runtime, ls, box.config.data_dir, freshness=synced_freshness(ls))
            link.start()
            assert link.wait_connected(30), broker.log_tail()
            venues.append(Venue(box, link))
        console.start(ready_timeout=30)
        fleet = Fleet(console, home, venues)
        fleet.wait("both venues online across the bridge",
                   lambda c: all(c.get(v, {}).get("online") for v in ids), timeout=30)  # fmt: skip
        yield fleet
    finally:
        console.stop()
        for v in venues:
            v.link.stop()
        for box in boxes:
            box.stop()
        away.stop()
        home.stop()


def test_the_template_renders_a_bridge_of_venue_topics_only(tmp_path: Path) -> None:
    text = bridge_conf(Mosquitto(tmp_path), "b1")
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert "connection b1" in lines and "topic djamms/v1/venues/# both 1" in lines
    assert [line for line in lines if line.startswith("topic ")] == [
        "topic djamms/v1/venues/# both 1"
    ]
    assert "$" not in text  # every placeholder filled


def test_a_console_on_one_broker_sees_and_commands_venues_on_both(bridged: Fleet) -> None:
    here, there = bridged.venues
    cards = bridged.wait("both venues' names", lambda c: (
        c[there.venue_id]["venue_name"] == "Hill Gym"
        and c[here.venue_id]["venue_name"] == "Quay Bar"))  # fmt: skip
    assert cards[there.venue_id]["online"] is True and cards[here.venue_id]["online"] is True

    there.play("br1", "Over The Bridge")
    bridged.wait("b's track through the bridge", lambda c: (
        (c[there.venue_id]["now_playing"] or {}).get("title") == "Over The Bridge"))  # fmt: skip

    staff = Staff(bridged.url)
    r = staff.command({"venueIds": [here.venue_id, there.venue_id], "command": "SET_VOLUME",
                       "value": 44})  # fmt: skip
    assert r.json() == {"results": [{"venue_id": here.venue_id, "ok": True},
                                    {"venue_id": there.venue_id, "ok": True}]}  # fmt: skip
    assert here.volume == 44 and there.volume == 44
    bridged.wait("volume 44 at both", lambda c: all(
        c[v.venue_id]["master_volume"] == 44 for v in bridged.venues))  # fmt: skip


def test_a_box_lost_on_the_far_broker_shows_offline_here(bridged: Fleet) -> None:
    here, there = bridged.venues
    client = there.link.client
    assert client is not None
    sock = client.socket()
    client.loop_stop()  # gone without a DISCONNECT: broker B sends its will, the bridge carries it
    assert isinstance(sock, socket.socket)
    sock.shutdown(socket.SHUT_RDWR)
    sock.close()
    cards = bridged.wait("b offline", lambda c: c[there.venue_id]["online"] is False)
    assert cards[there.venue_id]["alerts"] == ["offline"]
    assert cards[here.venue_id]["online"] is True
    staff = Staff(bridged.url)
    r = staff.command({"venueIds": [there.venue_id], "command": "PAUSE"})
    assert r.json()["results"] == [{"venue_id": there.venue_id, "ok": False, "error": "offline"}]
    client.loop_start()
    bridged.wait("b back", lambda c: c[there.venue_id]["online"] is True)
