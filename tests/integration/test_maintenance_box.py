"""The maintenance jobs on the box `bootstrap.build()` makes, with its real parts: the
console's session store, the MQTT link to a real mosquitto, the scheduler that runs them.
Each job must reach the part it looks after (fakes cannot show that wiring)."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

import pytest
import requests

from appliance.bootstrap import Box, build
from appliance.cloud.link import MqttLink
from appliance.config import Config
from appliance.maintenance import Maintenance
from appliance.runtime import Subscription
from appliance.scheduler import Scheduler
from tests.support.mosquitto import Mosquitto
from web.adapter import WebConsole
from web.sessions import GUEST_TTL

T = TypeVar("T")
VENUE = "maint-venue"
PASSWORD = "venue-secret"


class Clock:
    """The box's clock: real time until a test moves it on."""

    def __init__(self) -> None:
        self.ahead = 0.0

    def __call__(self) -> float:
        return time.time() + self.ahead


def box_config(data_dir: Path, broker: str = "") -> Config:
    return Config(
        data_dir=data_dir,
        media_dir=data_dir / "media",
        host="127.0.0.1",
        port=0,
        player="standin",
        admin_pin="1234",
        demo_media=False,
        venue_id=VENUE,
        broker=broker,
        sections={
            "web": {"mdns": False},
            "cloud": {"reconnect_min": 0.1, "reconnect_max": 0.5, "keepalive": 5},
        },
    )


def part(box: Box, kind: type[T]) -> T:
    return next(a for a in box.adapters if isinstance(a, kind))


def maintenance(box: Box) -> Maintenance:
    """The scheduler's maintenance, driven by the test: the scheduler's own thread is
    stopped first (joined), so no tick of its own runs beside the test's."""
    scheduler = part(box, Scheduler)
    scheduler.stop()
    assert scheduler.maintenance is not None
    return scheduler.maintenance


def statuses(sub: Subscription, want: str, timeout: float = 30.0) -> list[str]:
    """SYSTEM_STATUS statuses published until `want` arrives (or the timeout)."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while want not in seen and time.monotonic() < deadline:
        pub = sub.get(timeout=max(0.0, deadline - time.monotonic()))
        if pub is not None:
            seen += [e.payload["status"] for e in pub.events if e.type == "SYSTEM_STATUS"]
    return seen


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    b = Mosquitto(tmp_path, users={VENUE: PASSWORD})
    b.start()
    try:
        yield b
    finally:
        b.stop()


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_the_stale_session_job_expires_a_real_console_session(tmp_path: Path, clock: Clock) -> None:
    box = build(box_config(tmp_path / "data"), clock=clock)
    box.start()
    try:
        console = part(box, WebConsole)
        url = f"http://127.0.0.1:{console.port}"
        guest = requests.post(url + "/api/auth/guest", json={"name": "Ana"}, timeout=10)
        assert guest.status_code == 200, guest.text
        sid = guest.cookies["djamms_session"]
        store = console.console.sessions
        assert store.get(sid) is not None
        sessions_file = tmp_path / "data" / "console-sessions.json"

        clock.ahead = GUEST_TTL + 60  # a week on: the guest's session is stale
        maint = maintenance(box)
        assert "stale_sessions" in maint.run(clock())
        # gone from the store and from the file it is kept in across restarts
        assert store.get(sid) is None
        assert store.alive(hashlib.sha256(sid.encode()).hexdigest()) is False
        assert json.loads(sessions_file.read_text()) == []
    finally:
        box.stop()


def test_the_cloud_link_job_watches_the_real_link(
    tmp_path: Path, clock: Clock, broker: Mosquitto
) -> None:
    box = build(box_config(tmp_path / "data", broker.url(VENUE)), clock=clock)
    sub = box.runtime.subscribe(name="test")
    box.start()
    try:
        link = part(box, MqttLink)
        assert link.wait_connected(30), broker.log_tail()
        maint = maintenance(box)
        maint.check_cloud(clock())
        assert maint.cloud_up is True  # the job sees the box's own link
        broker.stop()
        assert "cloud_link_down" in statuses(sub, "cloud_link_down")  # the link's own word
        maint.check_cloud(clock())
        assert maint.cloud_up is False
    finally:
        sub.close()
        box.stop()


def test_without_a_broker_the_cloud_link_job_says_there_is_none(
    tmp_path: Path, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="appliance.maintenance")
    box = build(box_config(tmp_path / "data"), clock=clock)
    assert not any(isinstance(a, MqttLink) for a in box.adapters)
    maint = maintenance(box)
    maint.check_cloud(clock())
    maint.check_cloud(clock() + 60)
    assert maint.cloud_up is None
    said = [r.getMessage() for r in caplog.records if "cloud link" in r.getMessage()]
    assert said == ["cloud_link: this box has no cloud link; nothing to watch"]
