"""The remote console (`djamms console`): the web console served from the cloud side,
backed by the venue's retained topics and `cmd`. Real box with its LAN console, real
mosquitto, real HTTP sessions and real websocket clients on both consoles."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from appliance.cloud.link import MqttLink
from appliance.remote_console import RemoteConsole
from tests.integration.cloud_kit import VENUE_PASSWORD, link_settings
from tests.support.mosquitto import Mosquitto, free_port
from tests.support.server import STAFF_PIN, RunningBox, start_box, wait_until_serving
from tests.support.wsclient import LiveClient, comparable, replay

REMOTE_PIN = "97531"
REPO = Path(__file__).resolve().parents[2]
TRACKS = [
    {"video_id": f"cv{i}", "title": f"Song {i}", "artist": f"Band {i}", "duration": 180 + i}
    for i in range(6)
]


class Session(requests.Session):
    def __init__(self, url: str, pin: str) -> None:
        super().__init__()
        self.url = url
        r = self.post(url + "/api/auth/login", json={"pin": pin}, timeout=20)
        assert r.status_code == 200, r.text
        self.csrf = r.json()["csrfToken"]
        self.role = r.json()["role"]

    def cmd(self, path: str, body: dict[str, Any]) -> requests.Response:
        return self.post(self.url + path, json=body, headers={"X-CSRF-Token": self.csrf},
                         timeout=30)  # fmt: skip

    @property
    def cookie(self) -> str:
        return "djamms_session=" + self.cookies.get("djamms_session", "")


@dataclass
class Pair:
    lan: RunningBox
    remote: RemoteConsole
    broker: Mosquitto
    link: MqttLink


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[Pair]:
    lan = start_box(tmp_path / "box")
    venue_id = lan.runtime.state.venue.venue_id
    broker = Mosquitto(tmp_path, users={venue_id: VENUE_PASSWORD})
    broker.start()
    link = MqttLink(lan.runtime, link_settings(broker, venue_id), tmp_path / "box")
    remote = RemoteConsole(broker.url("console"), venue_id, REMOTE_PIN,
                           data_dir=tmp_path / "console")  # fmt: skip
    try:
        link.start()
        assert link.wait_connected(30)
        remote.start(ready_timeout=30)
        yield Pair(lan, remote, broker, link)
    finally:
        remote.stop()
        link.stop()
        lan.stop()
        broker.stop()


def views(clients: list[LiveClient]) -> list[dict[str, Any]]:
    return [comparable(replay(c.frames)[1]) for c in clients]


def test_the_remote_console_has_its_own_staff_login(pair: Pair) -> None:
    wrong = requests.post(pair.remote.url + "/api/auth/login", json={"pin": STAFF_PIN}, timeout=20)
    assert wrong.status_code == 401
    assert wrong.json()["error"]["code"] == "wrong_pin"
    assert Session(pair.remote.url, REMOTE_PIN).role == "admin"
    lan_wrong = requests.post(
        pair.lan.url + "/api/auth/login", json={"pin": REMOTE_PIN}, timeout=20
    )
    assert lan_wrong.status_code == 401


def test_remote_state_matches_the_venue(pair: Pair) -> None:
    lan = Session(pair.lan.url, STAFF_PIN)
    assert lan.cmd("/api/ui/command", {"command": "SET_VOLUME", "value": 44}).status_code == 200
    remote = Session(pair.remote.url, REMOTE_PIN)
    client = LiveClient(pair.remote.url, remote.cookie).connect()
    try:
        assert client.wait_for(
            lambda fs: (replay(fs)[1] or {}).get("player_settings", {}).get("master_volume") == 44
        )
        r = remote.cmd("/api/ui/command", {"command": "SET_VOLUME", "value": 200})
        assert r.status_code == 400 and r.json()["error"]["code"] == "out_of_range"
        venue_id = pair.lan.runtime.state.venue.venue_id
        state = requests.get(pair.remote.url + "/api/state", timeout=20).json()
        assert state["venue"]["venue_id"] == venue_id
    finally:
        client.close()


def test_lan_and_remote_windows_converge_after_commands_from_both(pair: Pair) -> None:
    lan = Session(pair.lan.url, STAFF_PIN)
    remote = Session(pair.remote.url, REMOTE_PIN)
    r = lan.cmd("/api/playlist/manage", {"action": "create", "name": "Night", "tracks": TRACKS})
    assert r.status_code == 200, r.text
    playlist_id = r.json()["result"]["playlist"]["playlist_id"]
    clients = [
        LiveClient(pair.lan.url, lan.cookie).connect(),
        LiveClient(pair.lan.url, lan.cookie).connect(),
        LiveClient(pair.remote.url, remote.cookie).connect(),
        LiveClient(pair.remote.url, remote.cookie).connect(),
    ]
    try:
        steps = [
            (remote, "/api/playlist/manage", {"action": "load", "playlistId": playlist_id}),
            (lan, "/api/ui/command", {"command": "SET_VOLUME", "value": 31}),
            (remote, "/api/ui/command", {"command": "SET_VOLUME", "value": 62}),
            (remote, "/api/queue/add", {"videoId": "cv3", "position": "next"}),
            (lan, "/api/ui/command", {"command": "REPEAT_TOGGLE"}),
            (remote, "/api/ui/command", {"command": "PLAY_NEXT"}),
            (lan, "/api/queue/add", {"videoId": "cv1", "position": "end"}),
            (remote, "/api/ui/command", {"command": "MUTE_TOGGLE"}),
        ]
        for who, path, body in steps:
            resp = who.cmd(path, body)
            assert resp.status_code == 200, (path, body, resp.text)
        truth = comparable(lan.get(pair.lan.url + "/api/state", timeout=20).json()["venue"])
        for c in clients:
            assert c.wait_for(lambda fs: comparable(replay(fs)[1]) == truth, timeout=30), (
                views(clients), truth)  # fmt: skip
        assert truth["player_settings"]["master_volume"] == 62
        assert truth["player_settings"]["is_muted"] is True
        remote_state = remote.get(pair.remote.url + "/api/state", timeout=20).json()
        assert comparable(remote_state["venue"]) == truth

        # a playlist edited on the LAN shows its tracks on the remote console
        more = {"action": "add_tracks", "playlistId": playlist_id,
                "tracks": [{"video_id": "cv9", "title": "Song 9"}]}  # fmt: skip
        assert lan.cmd("/api/playlist/manage", more).status_code == 200
        url = f"{pair.remote.url}/api/playlist?playlistId={playlist_id}"

        def remote_tracks() -> list[str]:
            r = remote.get(url, timeout=20)
            return [t["video_id"] for t in r.json().get("playlist", r.json()).get("tracks", [])]

        want = [t["video_id"] for t in TRACKS] + ["cv9"]
        assert clients[2].wait_for(lambda _fs: remote_tracks() == want, timeout=30), (
            remote_tracks())  # fmt: skip
    finally:
        for c in clients:
            c.close()


def test_djamms_console_command_serves_the_console(pair: Pair, tmp_path: Path) -> None:
    port = free_port()
    venue_id = pair.lan.runtime.state.venue.venue_id
    args = [sys.executable, "-m", "appliance", "console", "--broker", pair.broker.url("console"),
            "--venue", venue_id, "--port", str(port), "--pin", REMOTE_PIN,
            "--data-dir", str(tmp_path / "cli-console")]  # fmt: skip
    proc = subprocess.Popen(args, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_serving(url, 60, proc)
        remote = Session(url, REMOTE_PIN)
        r = remote.cmd("/api/ui/command", {"command": "SET_VOLUME", "value": 17})
        assert r.status_code == 200, r.text
        assert pair.lan.runtime.state.venue.player_settings.master_volume == 17
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        if proc.stderr:
            proc.stderr.close()
