"""The MQTT broker under the whole box: killed and restarted, and stalled (SIGSTOP:
connections open, nothing answered). The box keeps serving its console all along; once
the broker is back the retained state holds what changed meanwhile, the status is
`online` again, and a remote command is answered."""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from appliance.cloud.settings import Topics
from tests.faults.boxproc import ApiClient, BoxProcess
from tests.support.mosquitto import Mosquitto
from tests.support.mqtt_probe import Probe

PASSWORD = "venue-secret"


def volume_in(payload: Any) -> int | None:
    if isinstance(payload, dict):
        if "master_volume" in payload:
            return int(payload["master_volume"])
        for value in payload.values():
            if (found := volume_in(value)) is not None:
                return found
    return None


@pytest.fixture
def linked(tmp_path: Path) -> Iterator[tuple[BoxProcess, Mosquitto, Topics]]:
    box = BoxProcess(tmp_path / "box")
    box.start()  # first start makes the venue; its id is the broker user
    venue_id = box.state()["venue"]["venue_id"]
    box.stop()
    broker = Mosquitto(tmp_path, users={venue_id: PASSWORD})
    broker.start()
    box.args = ("--broker", broker.url(venue_id))
    try:
        box.start()
        yield box, broker, Topics(venue_id)
    finally:
        box.stop()
        if broker.proc is not None and broker.proc.poll() is None:
            os.kill(broker.proc.pid, signal.SIGCONT)
        broker.stop()


def watch(broker: Mosquitto, topics: Topics) -> Probe:
    probe = Probe(broker.port, *broker.console).wait_connected(30)
    probe.subscribe(topics.status, topics.settings, topics.ack)
    return probe


def online(probe: Probe, topics: Topics, since: float) -> None:
    probe.wait_for(
        lambda: [x for x in probe.on(topics.status) if x.payload == b"online" and x.at > since],
        "online",
        timeout=60,
    )


def settles_at(probe: Probe, topics: Topics, volume: int) -> None:
    probe.wait_for(
        lambda: [x for x in probe.on(topics.settings) if volume_in(x.json) == volume],
        f"retained settings with volume {volume}",
        timeout=60,
    )


def remote_command(probe: Probe, topics: Topics, value: int) -> None:
    cid = uuid.uuid4().hex
    issued = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    probe.publish(
        topics.cmd,
        {"commandId": cid, "issuedAt": issued, "command": "SET_VOLUME", "value": value,
         "actor": {"userId": "owner", "role": "admin"}},
    )  # fmt: skip
    acks = probe.wait_for(
        lambda: [x for x in probe.on(topics.ack) if x.json.get("commandId") == cid],
        "the ack",
        timeout=60,
    )
    assert acks[0].json["ok"], acks[0].json


def test_broker_killed_and_restarted(linked: tuple[BoxProcess, Mosquitto, Topics]) -> None:
    box, broker, topics = linked
    probe = watch(broker, topics)
    online(probe, topics, 0)
    probe.close()
    staff = ApiClient.staff(box.url)
    assert broker.proc is not None
    broker.proc.kill()  # no goodbye: the broker's host lost power
    broker.proc.wait(10)
    broker.proc = None
    status, body = staff.post("/api/ui/command", {"command": "SET_VOLUME", "value": 31})
    assert status == 200, body  # the console does not wait for the cloud
    back = time.monotonic()
    broker.start()
    probe = watch(broker, topics)
    try:
        online(probe, topics, back - 1)
        settles_at(probe, topics, 31)
        remote_command(probe, topics, 32)
        assert box.state()["venue"]["player_settings"]["master_volume"] == 32
    finally:
        probe.close()
    assert box.alive() and "Traceback" not in box.tail(10**7), box.tail()


def test_broker_stalled_then_resumed(linked: tuple[BoxProcess, Mosquitto, Topics]) -> None:
    box, broker, topics = linked
    probe = watch(broker, topics)
    online(probe, topics, 0)
    staff = ApiClient.staff(box.url)
    assert broker.proc is not None
    os.kill(broker.proc.pid, signal.SIGSTOP)
    try:
        for value in (41, 42, 43):  # each answered while the broker says nothing
            status, body = staff.post(
                "/api/ui/command", {"command": "SET_VOLUME", "value": value}, timeout=15
            )
            assert status == 200, body
        assert box.state(timeout=15)["venue"]["player_settings"]["master_volume"] == 43
    finally:
        os.kill(broker.proc.pid, signal.SIGCONT)
    try:
        settles_at(probe, topics, 43)
        remote_command(probe, topics, 44)
    finally:
        probe.close()
    assert box.alive() and "Traceback" not in box.tail(10**7), box.tail()
