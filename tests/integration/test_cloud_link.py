"""The MQTT link against a real mosquitto (own config, password file, ACL, free port)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from appliance.core import messages as m
from tests.integration.cloud_kit import Rig, command, issued, rig
from tests.support.mqtt_probe import Probe


@dataclass(frozen=True)
class AGO:
    seconds: float


STAFF = m.Actor(user_id="lan-staff", role="admin", source="web")


@pytest.fixture
def cloud(tmp_path: Path) -> Iterator[Rig]:
    yield from rig(tmp_path)


def acks(probe: Probe, r: Rig, command_id: str | None, n: int = 1) -> list[dict]:
    def found() -> list[dict]:
        got = [x.json for x in probe.on(r.topics.ack)]
        mine = [a for a in got if a.get("commandId") == command_id]
        return mine if len(mine) >= n else []

    return probe.wait_for(found, f"{n} ack(s) for {command_id}")


def test_retained_state_and_status_reach_a_late_subscriber(cloud: Rig) -> None:
    reply = cloud.box.runtime.submit(m.UiCommand(command="SET_VOLUME", value=33, actor=STAFF))
    assert reply.ok
    first = cloud.console(cloud.topics.settings)
    first.wait_for(
        lambda: any(
            x.json["payload"]["player_settings"]["master_volume"] == 33
            for x in first.on(cloud.topics.settings)
        ),
        "volume 33 published",
    )
    first.close()

    late = cloud.console(f"{cloud.topics.base}/status", f"{cloud.topics.base}/state/#")
    settings = late.latest(cloud.topics.settings)
    assert settings.retain
    env = settings.json
    assert env["type"] == "PLAYER_SETTINGS_UPDATE"
    assert env["payload"]["player_settings"]["master_volume"] == 33
    assert env["rev"] == cloud.box.runtime.state.rev
    assert late.latest(cloud.topics.status).payload == b"online"
    np = late.latest(cloud.topics.now_playing).json
    assert np["type"] == "NOW_PLAYING_UPDATE" and "transport" in np["payload"]
    q = late.latest(cloud.topics.queue).json
    assert q["type"] == "QUEUE_UPDATE" and "active_queue" in q["payload"]
    late.close()


def test_events_carry_the_websocket_envelopes(cloud: Rig) -> None:
    probe = cloud.console(cloud.topics.events)
    reply = cloud.box.runtime.submit(m.UiCommand(command="SET_VOLUME", value=41, actor=STAFF))
    got = probe.wait_for(
        lambda: [x.json for x in probe.on(cloud.topics.events) if x.json["rev"] == reply.rev],
        "events of the change",
    )
    types = {e["type"] for e in got}
    assert "PLAYER_SETTINGS_UPDATE" in types
    settings = next(e for e in got if e["type"] == "PLAYER_SETTINGS_UPDATE")
    assert settings["payload"]["player_settings"]["master_volume"] == 41
    assert set(settings) == {"type", "rev", "payload"}
    probe.close()


def test_a_command_sent_twice_is_applied_once(cloud: Rig) -> None:
    probe = cloud.console(cloud.topics.ack)
    cmd = command(
        path="/api/queue/add",
        body={"videoId": "remote-1", "title": "Remote One", "position": "end"},
        actor={"userId": "owner", "role": "admin"},
    )
    probe.publish(cloud.topics.cmd, cmd)
    probe.publish(cloud.topics.cmd, cmd)
    answers = acks(probe, cloud, cmd["commandId"], n=2)
    assert all(a["ok"] for a in answers)
    assert answers[0]["result"] == answers[1]["result"]
    venue = cloud.box.runtime.state.venue
    playing = [venue.now_playing] if venue.now_playing else []
    added = [i for i in (*playing, *venue.active_queue) if i.video_id == "remote-1"]
    assert len(added) == 1  # idle venue: it started playing at once
    logs = [e for e in cloud.box.runtime.state.activity_log if e.event_type == "track_added"]
    assert len(logs) == 1
    assert logs[0].user_id == "remote:owner"
    probe.close()


def test_ui_command_form_and_roles(cloud: Rig) -> None:
    probe = cloud.console(cloud.topics.ack)
    cmd = command(command="SET_VOLUME", value=12, actor={"userId": "mod", "role": "moderator"})
    probe.publish(cloud.topics.cmd, cmd)
    assert acks(probe, cloud, cmd["commandId"])[0]["ok"]
    assert cloud.box.runtime.state.venue.player_settings.master_volume == 12
    patron = command(command="SET_VOLUME", value=90, actor={"userId": "p", "role": "user"})
    probe.publish(cloud.topics.cmd, patron)
    ack = acks(probe, cloud, patron["commandId"])[0]
    assert not ack["ok"] and ack["error"]["code"] == "forbidden" and ack["status"] == 403
    assert cloud.box.runtime.state.venue.player_settings.master_volume == 12
    probe.close()


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"commandId": "old-1", "issuedAt": AGO(120), "command": "PLAY"}, "expired"),
        ({"commandId": "future-1", "issuedAt": AGO(-120), "command": "PLAY"}, "from_future"),
        (
            {"commandId": "noz-1", "issuedAt": "2026-01-01T00:00:00", "command": "PLAY"},
            "invalid_issued_at",
        ),
        ({"issuedAt": AGO(0), "command": "PLAY"}, "invalid_command_id"),
        (
            {"commandId": "cmd-x", "issuedAt": AGO(0), "command": "SELF_DESTRUCT"},
            "unknown_command",
        ),
        (
            {"commandId": "path-x", "issuedAt": AGO(0), "path": "/api/nope", "body": {}},
            "unknown_path",
        ),
        (
            {"commandId": "body-x", "issuedAt": AGO(0), "path": "/api/queue/add", "body": {}},
            "missing_field",
        ),
        (
            {"commandId": "vol-x", "issuedAt": AGO(0), "command": "SET_VOLUME", "value": 400},
            "out_of_range",
        ),
        ({"commandId": "none-x", "issuedAt": AGO(0)}, "missing_field"),
    ],
)
def test_expired_and_malformed_commands_are_refused_with_the_reason(
    cloud: Rig, payload: dict, code: str
) -> None:
    probe = cloud.console(cloud.topics.ack)
    rev = cloud.box.runtime.state.rev
    # stamped now, not at collection: a long run must not age the fresh ones
    payload = {k: issued(v.seconds) if isinstance(v, AGO) else v for k, v in payload.items()}
    probe.publish(cloud.topics.cmd, payload)
    ack = acks(probe, cloud, payload.get("commandId"))[0]
    assert ack["ok"] is False
    assert ack["error"]["code"] == code, ack
    assert ack["error"]["message"]
    assert 400 <= ack["status"] < 500
    assert cloud.box.runtime.state.rev == rev
    probe.close()


def test_not_json_is_refused(cloud: Rig) -> None:
    probe = cloud.console(cloud.topics.ack)
    probe.publish(cloud.topics.cmd, b"{not json")
    ack = acks(probe, cloud, None)[0]
    assert ack["error"]["code"] == "invalid_json"
    probe.close()


def test_link_status_is_posted_to_the_core(cloud: Rig) -> None:
    assert cloud.link.wait_connected(20)
    sub = cloud.box.runtime.subscribe(maxsize=256, name="test")
    cloud.broker.stop()
    statuses: list[str] = []
    while statuses[-2:] != ["cloud_link_down", "cloud_link_up"]:
        item = sub.get(timeout=30)
        assert item is not None, f"no link status change; saw {statuses}"
        for ev in getattr(item, "events", ()):
            if ev.type == "SYSTEM_STATUS":
                statuses.append(ev.payload["status"])
                if ev.payload["status"] == "cloud_link_down":
                    cloud.broker.start()
    assert statuses.count("cloud_link_down") == 1
    sub.close()


def test_home_assistant_discovery_and_commands(cloud: Rig) -> None:
    probe = cloud.console("homeassistant/#")
    prefix = f"homeassistant/number/{cloud.venue_id}/volume/config"
    volume = probe.latest(prefix).json
    assert volume["availability_topic"] == cloud.topics.status
    assert volume["command_topic"] == cloud.topics.ha_command("volume")
    kinds = {"number", "button", "switch", "select", "sensor", "device_automation"}
    probe.wait_for(lambda: kinds <= {x.topic.split("/")[1] for x in probe.messages}, "kinds")
    count = len(probe.on(prefix))
    probe.publish("homeassistant/status", "online")
    probe.wait_for(lambda: len(probe.on(prefix)) > count, "discovery re-published")

    probe.publish(cloud.topics.ha_command("volume"), "27")
    sub_probe = cloud.console(cloud.topics.settings)
    sub_probe.wait_for(
        lambda: any(
            x.json["payload"]["player_settings"]["master_volume"] == 27
            for x in sub_probe.on(cloud.topics.settings)
        ),
        "volume 27 from Home Assistant",
    )
    probe.close()
    sub_probe.close()


def test_a_panel_press_is_a_home_assistant_device_trigger(cloud: Rig) -> None:
    probe = cloud.console(cloud.topics.ha_panel)
    panel = m.Actor(user_id="panel", role="admin", source="panel")
    cloud.box.runtime.submit(m.UiCommand(command="EMERGENCY_STOP", actor=panel))
    got = probe.latest(cloud.topics.ha_panel)
    assert got.payload == b"emergency_stop"
    probe.close()


def test_ack_payload_is_json_with_the_seed_fields(cloud: Rig) -> None:
    probe = cloud.console(cloud.topics.ack)
    cmd = command(command="MUTE_TOGGLE")
    probe.publish(cloud.topics.cmd, json.dumps(cmd))
    ack = acks(probe, cloud, cmd["commandId"])[0]
    assert {"commandId", "ok", "result"} <= set(ack)
    assert ack["rev"] == cloud.box.runtime.state.rev
    probe.close()
