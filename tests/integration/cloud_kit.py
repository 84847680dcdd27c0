"""Shared parts for the cloud tests: a box, a real mosquitto with that venue's
credentials, the link between them and recording clients."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from appliance.bootstrap import Box, build
from appliance.cloud.freshness import Freshness
from appliance.cloud.link import MqttLink
from appliance.cloud.settings import LinkSettings, Topics, parse_broker
from appliance.config import Config
from tests.support.mosquitto import Mosquitto
from tests.support.mqtt_probe import Probe

VENUE_PASSWORD = "venue-secret"


def make_box(data_dir: Path) -> Box:
    box = build(Config(data_dir=data_dir, admin_pin="1234", demo_media=False), adapters=[])
    box.start()
    return box


def link_settings(broker: Mosquitto, user: str, **changes: Any) -> LinkSettings:
    base = LinkSettings(
        broker=parse_broker(broker.url(user)),
        reconnect_min=0.1,
        reconnect_max=0.5,
        keepalive=5,
    )
    return replace(base, **changes)


def issued(seconds_ago: float = 0.0) -> str:
    when = datetime.now(UTC) - timedelta(seconds=seconds_ago)
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def command(**fields: Any) -> dict[str, Any]:
    return {"commandId": uuid.uuid4().hex, "issuedAt": issued(), **fields}


@dataclass
class Rig:
    box: Box
    broker: Mosquitto
    link: MqttLink
    topics: Topics

    @property
    def venue_id(self) -> str:
        return self.topics.venue_id

    def console(self, *topics: str, persistent: bool = False, client_id: str = "") -> Probe:
        user, pw = self.broker.console
        probe = Probe(self.broker.port, user, pw, persistent=persistent, client_id=client_id)
        probe.wait_connected()
        if topics:
            probe.subscribe(*topics)
        return probe


def synced_freshness(settings: LinkSettings) -> Freshness:
    """The freshness rules of a box whose clock is synced (the test machine's is)."""
    return Freshness(
        settings.max_command_age,
        settings.max_clock_skew,
        window=settings.sender_window,
        synced=lambda: True,
    )


def rig(tmp_path: Path, freshness: Freshness | None = None, **settings: Any) -> Iterator[Rig]:
    box = make_box(tmp_path / "box")
    venue_id = box.runtime.state.venue.venue_id
    broker = Mosquitto(tmp_path, users={venue_id: VENUE_PASSWORD})
    broker.start()
    ls = link_settings(broker, venue_id, **settings)
    link = MqttLink(box.runtime, ls, tmp_path / "box", freshness=freshness or synced_freshness(ls))
    r = Rig(box, broker, link, Topics(venue_id))
    try:
        link.start()
        assert link.wait_connected(30), broker.log_tail()
        yield r
    finally:
        r.link.stop()  # the test may have replaced it
        box.stop()
        broker.stop()
