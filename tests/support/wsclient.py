"""A real websocket client that records every frame on its own thread, for sync tests
and benches: `wait_for(predicate, timeout)` blocks on arrivals, never on sleeps."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import websocket


class LiveClient:
    def __init__(self, url: str, cookie: str = "", origin: str | None = None) -> None:
        self.url = url.replace("http://", "ws://") + "/ws"
        self.cookie = cookie
        self.origin = origin
        self.frames: list[dict[str, Any]] = []
        self.arrivals: list[float] = []
        self._cond = threading.Condition()
        self._ws: websocket.WebSocket | None = None
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None

    def connect(self, timeout: float = 30.0, read: bool = True, **sockopt: Any) -> LiveClient:
        kw: dict[str, Any] = {"cookie": self.cookie, "timeout": timeout}
        if self.origin:
            kw["origin"] = self.origin
        if sockopt:
            kw["sockopt"] = sockopt["sockopt"]
        self._ws = websocket.create_connection(self.url, **kw)
        self._ws.settimeout(None)
        if read:
            self.start_reading()
        return self

    def start_reading(self) -> None:
        self._thread = threading.Thread(target=self._read, args=(self._ws,), daemon=True)
        self._thread.start()

    def _read(self, ws: websocket.WebSocket) -> None:
        try:
            while True:
                text = ws.recv()
                if not text:
                    break
                frame = json.loads(text)
                with self._cond:
                    self.frames.append(frame)
                    self.arrivals.append(time.perf_counter())
                    self._cond.notify_all()
        except Exception as exc:  # closed by us or by the server: record and stop
            self.error = exc
        with self._cond:
            self._cond.notify_all()

    def send(self, data: dict[str, Any]) -> None:
        assert self._ws is not None
        self._ws.send(json.dumps(data))

    def wait_for(self, pred: Callable[[list[dict[str, Any]]], bool], timeout: float = 30.0) -> bool:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not pred(self.frames):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True

    def last_snapshot_index(self) -> int:
        return max(i for i, f in enumerate(self.frames) if f["type"] == "SNAPSHOT")

    def close(self) -> None:
        """Closing handshake; the reader thread sees the server's answer and ends."""
        if self._ws is not None:
            try:
                self._ws.send_close()
            except Exception:
                pass
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._ws is not None:
            self._ws.shutdown()

    def drop(self) -> None:
        """Cut the connection without a closing handshake, as a phone losing Wi-Fi does."""
        sock = self._ws.sock if self._ws is not None else None
        if sock is not None:
            sock.shutdown(2)
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._ws is not None:
            self._ws.shutdown()


def replay(frames: list[dict[str, Any]]) -> tuple[int, dict[str, Any] | None]:
    """What a window holds after these frames, by the client library's rules: the last
    SNAPSHOT, then every event after it applied in order. Returns (rev, venue)."""
    start = max((i for i, f in enumerate(frames) if f["type"] == "SNAPSHOT"), default=-1)
    if start < 0:
        return -1, None
    rev = frames[start]["rev"]
    venue = json.loads(json.dumps(frames[start]["payload"]["venue"]))
    for f in frames[start + 1 :]:
        p = f.get("payload") or {}
        t = f["type"]
        if t in ("ACK", "AUTH_SUCCESS", "PONG", "ERROR", "SEARCH_RESULTS_UPDATE"):
            continue
        if t == "NOW_PLAYING_UPDATE":
            venue.update(
                now_playing=p["now_playing"],
                transport=p["transport"],
                player_connected=p["player_connected"],
            )
        elif t == "QUEUE_UPDATE":
            venue.update(
                active_queue=p["active_queue"],
                priority_queue=p["priority_queue"],
                active_queue_total=p["active_total"],
            )
        elif t == "PLAYER_SETTINGS_UPDATE":
            venue.update(
                player_settings=p["player_settings"],
                request_rules=p["request_rules"],
                venue_name=p["venue_name"],
            )
        rev = max(rev, f["rev"])
    return rev, venue


def comparable(venue: dict[str, Any] | None) -> dict[str, Any]:
    """The fields every window must agree on (the position is volatile by design)."""
    assert venue is not None
    np = dict(venue["now_playing"] or {})
    np.pop("position", None)
    return {
        "now_playing": np,
        "transport": venue["transport"],
        "active_queue": venue["active_queue"],
        "priority_queue": venue["priority_queue"],
        "player_settings": venue["player_settings"],
    }
