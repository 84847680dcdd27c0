"""A box whose wall clock is years behind (a Pi without a real-time clock, before NTP)
takes commands from a correctly-clocked remote through a real mosquitto."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.cloud.freshness import Freshness
from tests.integration.cloud_kit import Rig, command, issued, rig
from tests.support.mqtt_probe import Probe

THREE_YEARS = 3 * 365 * 86_400.0


@pytest.fixture
def stale_box(tmp_path: Path) -> Iterator[Rig]:
    fresh = Freshness(
        30.0, 2.0, wall=lambda: time.time() - THREE_YEARS, synced=lambda: False
    )  # real monotonic clock; the sync flag is absent, as before NTP
    yield from rig(tmp_path, freshness=fresh)


def ack_of(probe: Probe, r: Rig, command_id: str, n: int = 1) -> list[dict]:
    def found() -> list[dict]:
        mine = [x.json for x in probe.on(r.topics.ack) if x.json.get("commandId") == command_id]
        return mine if len(mine) >= n else []

    return probe.wait_for(found, f"{n} ack(s) for {command_id}")


def test_a_box_years_behind_applies_a_remote_command_once(stale_box: Rig) -> None:
    r = stale_box
    assert r.link.desk.freshness._wall() < time.time() - THREE_YEARS + 60
    probe = r.console(r.topics.ack)
    owner = {"userId": "owner", "role": "admin"}
    vol = command(command="SET_VOLUME", value=23, actor=owner)
    probe.publish(r.topics.cmd, vol)
    ack = ack_of(probe, r, vol["commandId"])[0]
    assert ack["ok"], ack
    assert r.box.runtime.state.venue.player_settings.master_volume == 23

    add = command(
        path="/api/queue/add",
        body={"videoId": "late-1", "title": "Late One", "position": "end"},
        actor=owner,
    )
    probe.publish(r.topics.cmd, add)
    probe.publish(r.topics.cmd, add)  # a repeat: answered, not applied again
    answers = ack_of(probe, r, add["commandId"], n=2)
    assert all(a["ok"] for a in answers) and answers[0]["result"] == answers[1]["result"]
    venue = r.box.runtime.state.venue
    items = [*([venue.now_playing] if venue.now_playing else []), *venue.active_queue]
    assert len([i for i in items if i.video_id == "late-1"]) == 1

    held = command(command="SET_VOLUME", value=80, actor=owner)
    held["issuedAt"] = issued(90)  # sat somewhere for 90 s before reaching the broker
    probe.publish(r.topics.cmd, held)
    refused = ack_of(probe, r, held["commandId"])[0]
    assert not refused["ok"] and refused["error"]["code"] == "expired", refused
    assert r.box.runtime.state.venue.player_settings.master_volume == 23
    probe.close()
