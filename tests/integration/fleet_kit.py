"""Shared parts for the fleet tests: two real boxes publishing through their own
`MqttLink`, a real mosquitto, a `FleetConsole` on it, and a staff HTTP session."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from appliance.bootstrap import Box, build
from appliance.cloud.link import MqttLink
from appliance.commands import Context, build_message
from appliance.config import Config
from appliance.core import messages as m
from appliance.fleet_console import FleetConsole
from tests.integration.cloud_kit import VENUE_PASSWORD, link_settings, synced_freshness
from tests.support.mosquitto import Mosquitto

FLEET_PIN = "24680"
STAFF = m.Actor(user_id="lan-staff", role="admin", source="web")
NAMES = ("The Anchor", "Blue Gym")


class Staff(requests.Session):
    def __init__(self, url: str, pin: str = FLEET_PIN) -> None:
        super().__init__()
        self.url = url
        r = self.post(url + "/api/auth/login", json={"pin": pin}, timeout=20)
        assert r.status_code == 200, r.text
        self.csrf = r.json()["csrfToken"]

    def command(self, body: Any, raw: bytes | None = None) -> requests.Response:
        headers = {"X-CSRF-Token": self.csrf, "Content-Type": "application/json"}
        data = raw if raw is not None else json.dumps(body).encode()
        return self.post(self.url + "/api/fleet/command", data=data, headers=headers, timeout=30)

    @property
    def cookie(self) -> str:
        return "djamms_session=" + self.cookies.get("djamms_session", "")


def serving(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


@dataclass
class Venue:
    box: Box
    link: MqttLink

    @property
    def venue_id(self) -> str:
        return self.box.runtime.state.venue.venue_id

    @property
    def volume(self) -> int:
        return self.box.runtime.state.venue.player_settings.master_volume

    def play(self, video_id: str, title: str) -> None:
        body = {"videoId": video_id, "title": title, "artist": "Band", "position": "end"}
        msg = build_message("/api/queue/add", body, STAFF, Context(self.box.runtime.state))
        assert self.box.runtime.submit(msg).ok


@dataclass
class Fleet:
    console: FleetConsole
    broker: Mosquitto
    venues: list[Venue]

    @property
    def url(self) -> str:
        return self.console.url

    def wait(self, what: str, pred: Callable[[dict[str, dict[str, Any]]], bool],
             timeout: float = 20.0) -> dict[str, dict[str, Any]]:  # fmt: skip
        """Wait on the fleet's change feed (an event per changed venue) until `pred`
        holds over the cards by venue id."""
        feed = self.console.fleet.watch()
        deadline = time.monotonic() + timeout
        try:
            while True:
                cards = {v["venue_id"]: v for v in self.console.fleet.venues()}
                if pred(cards):
                    return cards
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"fleet never showed: {what}; it shows {cards}")
                feed.get(left)
        finally:
            feed.close()


def start_venue(data_dir: Path, name: str) -> Box:
    cfg = Config(data_dir=data_dir, admin_pin="1234", demo_media=False, venue_name=name)
    box = build(cfg, adapters=[])
    box.start()
    return box


def fleet_rig(tmp_path: Path) -> Iterator[Fleet]:
    """Two boxes (`NAMES`) with their own cloud links, a real mosquitto and a fleet
    console on it, both venues online in the fleet."""
    boxes = [start_venue(tmp_path / f"box{i}", name) for i, name in enumerate(NAMES)]
    ids = [b.runtime.state.venue.venue_id for b in boxes]
    broker = Mosquitto(tmp_path, users={vid: VENUE_PASSWORD for vid in ids})
    broker.start()
    venues: list[Venue] = []
    console = FleetConsole(broker.url("console"), FLEET_PIN, data_dir=tmp_path / "fleet",
                           command_timeout=2.0)  # fmt: skip
    try:
        for box, vid in zip(boxes, ids, strict=True):
            ls = link_settings(broker, vid)
            link = MqttLink(box.runtime, ls, box.config.data_dir, freshness=synced_freshness(ls))
            link.start()
            assert link.wait_connected(30), broker.log_tail()
            venues.append(Venue(box, link))
        console.start(ready_timeout=30)
        f = Fleet(console, broker, venues)
        f.wait("both venues online", lambda c: all(c.get(v, {}).get("online") for v in ids))
        yield f
    finally:
        console.stop()
        for v in venues:
            v.link.stop()
        for box in boxes:
            box.stop()
        broker.stop()
