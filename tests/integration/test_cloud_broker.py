"""What the broker guarantees around the link: ACL isolation between venues, wrong
passwords refused, the last will when the box's process dies, and an outage in the middle
of activity (outbox replayed in order, nothing applied twice, the LAN side never waits)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.cloud.link import MqttLink
from appliance.cloud.settings import Topics
from appliance.core import messages as m
from tests.integration.cloud_kit import VENUE_PASSWORD, Rig, command, link_settings, make_box, rig
from tests.support.mosquitto import Mosquitto, free_port
from tests.support.mqtt_probe import Probe

REPO = Path(__file__).resolve().parents[2]
STAFF = m.Actor(user_id="lan-staff", role="admin", source="web")


@pytest.fixture
def cloud(tmp_path: Path) -> Iterator[Rig]:
    yield from rig(tmp_path)


def test_acl_keeps_venues_apart_and_wrong_passwords_out(tmp_path: Path) -> None:
    broker = Mosquitto(tmp_path, users={"venue-a": "pw-a", "venue-b": "pw-b"})
    broker.start()
    a_topics, b_topics = Topics("venue-a"), Topics("venue-b")
    probes: list[Probe] = []
    try:
        b = Probe(broker.port, "venue-b", "pw-b").wait_connected()
        probes.append(b)
        b.publish(b_topics.settings, {"rev": 1, "payload": {}}, retain=True)
        watcher = Probe(broker.port, *broker.console).wait_connected()
        probes.append(watcher)
        watcher.subscribe(b_topics.cmd)

        a = Probe(broker.port, "venue-a", "pw-a").wait_connected()
        probes.append(a)
        a.publish(b_topics.cmd, {"commandId": "intruder", "command": "PLAY"})
        a.subscribe(f"{b_topics.base}/#")
        a.publish(a_topics.cmd, {"commandId": "own"})  # its own topics work
        # the console's own command to B is the marker: anything A slipped in came first
        watcher.publish(b_topics.cmd, {"commandId": "marker"})
        watcher.wait_for(lambda: watcher.on(b_topics.cmd), "the marker")
        ids = [x.json["commandId"] for x in watcher.on(b_topics.cmd)]
        assert ids == ["marker"]
        # B's retained state reaches B's credentials and the console, never A's
        b.subscribe(b_topics.settings)
        b.latest(b_topics.settings)
        assert a.on(b_topics.settings) == []

        wrong = Probe(broker.port, "venue-a", "not-the-password")
        probes.append(wrong)
        assert wrong.answered.wait(20)
        assert wrong.refused is not None and not wrong.connected.is_set()
    finally:
        for p in probes:
            p.close()
        broker.stop()


def test_the_last_will_says_offline_when_the_box_is_killed(tmp_path: Path) -> None:
    data = tmp_path / "box"
    box = make_box(data)  # first start: the venue (and its id) exist before provisioning
    venue_id = box.runtime.state.venue.venue_id
    box.stop()
    broker = Mosquitto(tmp_path, users={venue_id: VENUE_PASSWORD})
    broker.start()
    topics = Topics(venue_id)
    watcher = Probe(broker.port, *broker.console).wait_connected()
    watcher.subscribe(topics.status)
    cfg = tmp_path / "box.toml"
    cfg.write_text("[web]\nmdns = false\n")
    args = [sys.executable, "-m", "appliance", "run", "--player", "standin", "--config", str(cfg),
            "--data-dir", str(data), "--host", "127.0.0.1", "--port", str(free_port()),
            "--broker", broker.url(venue_id)]  # fmt: skip
    proc = subprocess.Popen(args, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        watcher.wait_for(
            lambda: [x for x in watcher.on(topics.status) if x.payload == b"online"],
            "online",
            timeout=60,
        )
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=20)
        last = watcher.wait_for(
            lambda: [x for x in watcher.on(topics.status) if x.payload == b"offline"],
            "offline (the last will)",
            timeout=60,
        )
        assert last
        late = Probe(broker.port, *broker.console).wait_connected()
        late.subscribe(topics.status)
        got = late.latest(topics.status)
        assert got.retain and got.payload == b"offline"
        late.close()
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=20)
        if proc.stderr:
            proc.stderr.close()
        watcher.close()
        broker.stop()


def test_an_outage_replays_the_outbox_in_order_and_applies_nothing_twice(
    cloud: Rig, tmp_path: Path
) -> None:
    r = cloud
    runtime = r.box.runtime
    assert r.link.wait_connected(20)
    watcher = r.console(persistent=True, client_id="watcher")
    watcher.subscribe(r.topics.events, r.topics.ack)
    # a remote command, answered before the outage
    cmd = command(command="SET_VOLUME", value=5, actor={"userId": "owner", "role": "admin"})
    watcher.publish(r.topics.cmd, cmd)
    watcher.wait_for(lambda: watcher.on(r.topics.ack), "the first ack")

    r.broker.stop()
    watcher.wait_for(lambda: not watcher.connected.is_set(), "the watcher to notice")
    slowest = 0.0
    revs = []
    for volume in range(10, 40):  # the LAN side keeps working, at full speed
        t0 = time.monotonic()
        reply = runtime.submit(m.UiCommand(command="SET_VOLUME", value=volume, actor=STAFF))
        slowest = max(slowest, time.monotonic() - t0)
        assert reply.ok
        revs.append(reply.rev)
    assert slowest < 5.0  # durable-write time only; the link is never waited on
    assert len(r.link.outbox) >= 30
    assert (tmp_path / "box" / "cloud-outbox.jsonl").exists()

    r.broker.start()
    watcher.wait_connected()
    watcher.publish(r.topics.cmd, cmd)  # the same command again, after the outage

    def replayed() -> list[int]:
        got = [x.json for x in watcher.on(r.topics.events)]
        vols = [
            e["payload"]["player_settings"]["master_volume"]
            for e in got
            if e["type"] == "PLAYER_SETTINGS_UPDATE" and e["rev"] in revs
        ]
        return vols if len(vols) >= len(revs) else []

    volumes = watcher.wait_for(replayed, "the outbox replayed", timeout=60)
    assert volumes == list(range(10, 40))  # in order, each once
    acks = watcher.wait_for(
        lambda: [
            x.json for x in watcher.on(r.topics.ack) if x.json["commandId"] == cmd["commandId"]
        ][1:],
        "the second ack",
    )
    assert acks[0]["ok"]
    applied = [
        e for e in runtime.state.activity_log
        if e.event_type == "ui_command" and e.event_data.get("value") == 5
    ]  # fmt: skip
    assert len(applied) == 1
    assert runtime.state.venue.player_settings.master_volume == 39
    r.link.wait_connected(20)
    watcher.wait_for(lambda: len(r.link.outbox) == 0, "outbox empty")
    assert not (tmp_path / "box" / "cloud-outbox.jsonl").exists()
    watcher.close()


def test_the_outbox_survives_a_restart_of_the_box(tmp_path: Path) -> None:
    box = make_box(tmp_path / "box")
    venue_id = box.runtime.state.venue.venue_id
    broker = Mosquitto(tmp_path, users={venue_id: VENUE_PASSWORD})  # not started: outage
    settings = link_settings(broker, venue_id)
    link = MqttLink(box.runtime, settings, tmp_path / "box")
    link.start()
    revs = []
    for volume in (21, 22, 23):
        revs.append(box.runtime.submit(m.UiCommand(command="SET_VOLUME", value=volume,
                                                    actor=STAFF)).rev)  # fmt: skip
    deadline = time.monotonic() + 20
    while len(link.outbox) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)  # the publisher thread takes them from its subscription
    link.stop()
    box.stop()

    broker.start()
    watcher = Probe(broker.port, *broker.console).wait_connected()
    watcher.subscribe(Topics(venue_id).events)
    box = make_box(tmp_path / "box")
    link = MqttLink(box.runtime, settings, tmp_path / "box")
    link.start()
    try:

        def volumes() -> list[int]:
            got = [
                x.json["payload"]["player_settings"]["master_volume"]
                for x in watcher.on(Topics(venue_id).events)
                if x.json["type"] == "PLAYER_SETTINGS_UPDATE" and x.json["rev"] in revs
            ]
            return got if len(got) >= 3 else []

        got = watcher.wait_for(volumes, "events from before the restart")
        assert got == [21, 22, 23]
    finally:
        watcher.close()
        link.stop()
        box.stop()
        broker.stop()


def test_commands_sent_while_the_box_is_away_arrive_when_it_is_back(cloud: Rig) -> None:
    """The box's session outlives its connection (clean start off, session expiry set):
    the broker keeps a command sent meanwhile and delivers it on reconnect."""
    r = cloud
    assert r.link.wait_connected(20)
    r.link.stop()
    watcher = r.console(r.topics.ack)
    cmd = command(command="SET_VOLUME", value=66, actor={"userId": "owner", "role": "admin"})
    watcher.publish(r.topics.cmd, cmd)  # nobody is connected to take it now
    assert r.box.runtime.state.venue.player_settings.master_volume != 66
    r.link = MqttLink(r.box.runtime, r.link.settings, tmp_dir(r))
    r.link.start()
    ack = watcher.wait_for(
        lambda: [
            x.json for x in watcher.on(r.topics.ack) if x.json["commandId"] == cmd["commandId"]
        ],
        "the ack of the queued command",
    )[0]
    assert ack["ok"], ack
    assert r.box.runtime.state.venue.player_settings.master_volume == 66
    watcher.close()


def tmp_dir(r: Rig) -> Path:
    return r.box.config.data_dir
