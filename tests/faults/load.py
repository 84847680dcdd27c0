"""A venue's worth of clients hammering a box: staff over HTTP and websockets, patrons
over HTTP, one staff volume knob. Every acknowledged command is recorded with the rev
the box answered, so a restarted box can be held to it."""

from __future__ import annotations

import itertools
import random
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

import requests
import websocket

from tests.faults.boxproc import ApiClient, LiveSocket

NETWORK_ERRORS = (requests.RequestException, websocket.WebSocketException, OSError, TimeoutError)


@dataclass(frozen=True)
class Ack:
    client: ApiClient
    path: str
    body: dict[str, Any]
    rev: int
    result: Any


@dataclass
class Ledger:
    """What the box acknowledged, and what was in flight when it died."""

    acks: list[Ack] = field(default_factory=list)
    volume_acked: int | None = None
    volume_in_flight: set[int] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)  # 5xx or malformed answers
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, ack: Ack) -> None:
        with self.lock:
            self.acks.append(ack)

    def refuse(self, what: str) -> None:
        with self.lock:
            self.errors.append(what)


_names = itertools.count()


def staff_action(rng: random.Random, video_ids: list[str]) -> tuple[str, dict[str, Any]]:
    roll = rng.random()
    if roll < 0.45:
        body = {"videoId": rng.choice(video_ids), "position": rng.choice(["end", "next"])}
        return "/api/queue/add", body
    if roll < 0.65:
        name = f"pl-{uuid.uuid4().hex[:8]}-{next(_names)}"
        tracks = [{"video_id": v} for v in rng.sample(video_ids, 2)]
        return "/api/playlist/manage", {"action": "create", "name": name, "tracks": tracks}
    if roll < 0.8:
        return "/api/track/vote", {"videoId": rng.choice(video_ids), "voteType": "like"}
    if roll < 0.9:
        return "/api/ui/command", {"command": "PLAY_NEXT"}
    return "/api/ui/command", {"command": "SHUFFLE_TOGGLE"}


def patron_action(rng: random.Random, video_ids: list[str]) -> tuple[str, dict[str, Any]]:
    if rng.random() < 0.6:
        return "/api/queue/add", {"videoId": rng.choice(video_ids)}
    return "/api/track/vote", {"videoId": rng.choice(video_ids), "voteType": "like"}


class LoadWorker(threading.Thread):
    """One client sending commands back to back until `stop` is set or the box dies."""

    def __init__(
        self,
        client: ApiClient,
        ledger: Ledger,
        stop: threading.Event,
        rng: random.Random,
        video_ids: list[str],
        *,
        via_ws: bool = False,
        patron: bool = False,
    ) -> None:
        super().__init__(daemon=True, name=f"load-{client.user_id[:6]}")
        self.client, self.ledger, self.halt = client, ledger, stop
        self.rng, self.video_ids = rng, video_ids
        self.via_ws, self.patron = via_ws, patron
        self.sent = 0

    def run(self) -> None:
        sock: LiveSocket | None = None
        try:
            if self.via_ws:
                sock = self.client.websocket(timeout=20)
            while not self.halt.is_set():
                pick = patron_action if self.patron else staff_action
                path, body = pick(self.rng, self.video_ids)
                body = {**body, "commandId": uuid.uuid4().hex}
                self.sent += 1
                status, answer = self._send(sock, path, body)
                self._record(path, body, status, answer)
        except NETWORK_ERRORS:
            return  # the box went away: whatever was in flight is unacknowledged
        finally:
            if sock is not None:
                sock.close()

    def _send(self, sock: LiveSocket | None, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        if sock is None:
            return self.client.post(path, body, timeout=20)
        cid = body.pop("commandId")
        sock.send({"type": "COMMAND", "commandId": cid, "path": path, "body": body})
        ack = sock.next_of("ACK", 20, commandId=cid)
        body["commandId"] = cid
        return int(ack.get("status", 0)), ack

    def _record(self, path: str, body: dict[str, Any], status: int, answer: Any) -> None:
        if status >= 500 or not isinstance(answer, dict):
            self.ledger.refuse(f"{path} {body} -> {status} {answer!r}"[:300])
            return
        if status == 200 and answer.get("ok"):
            self.ledger.add(Ack(self.client, path, body, int(answer["rev"]), answer.get("result")))


class VolumeWorker(threading.Thread):
    """The one staff member turning the volume: the box must end at the last value it
    acknowledged, or at the one in flight when it died."""

    def __init__(self, client: ApiClient, ledger: Ledger, stop: threading.Event) -> None:
        super().__init__(daemon=True, name="load-volume")
        self.client, self.ledger, self.halt = client, ledger, stop
        self.rng = random.Random()

    def run(self) -> None:
        try:
            while not self.halt.is_set():
                value = self.rng.randrange(0, 101)
                self.ledger.volume_in_flight = {value}
                body = {"command": "SET_VOLUME", "value": value}
                status, answer = self.client.post("/api/ui/command", body, timeout=20)
                if status == 200:
                    self.ledger.volume_acked = value
                    self.ledger.volume_in_flight = set()
                elif status >= 500:
                    self.ledger.refuse(f"SET_VOLUME -> {status} {answer!r}"[:300])
        except NETWORK_ERRORS:
            return
