"""Driving Debian's Mopidy as its web clients do, for `bench_vs_mopidy.py`: a throwaway
config (HTTP on a free 127.0.0.1 port, no other frontends, fakesink, file/m3u off, streams
not probed), a controlling JSON-RPC window, and windows that hold what Mopidy's events
announce. Plus a blocking websocket for timing single round trips on either server."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.bench_web import Fleet
from bench.liveclients import Frame, Reader, masked, open_ws
from tests.support.server import free_port

HOST = "127.0.0.1"


class BlockingWs:
    """One websocket for timing single round trips (a thread, no event loop between)."""

    def __init__(self, port: int, path: str, cookie: str = "") -> None:
        self.sock = socket.create_connection((HOST, port), timeout=30)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        extra = f"Cookie: {cookie}\r\n" if cookie else ""
        self.sock.sendall(
            f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            f"Sec-WebSocket-Version: 13\r\n{extra}\r\n".encode()
        )
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            self.buf += self.sock.recv(65536)
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        assert b" 101 " in head.split(b"\r\n")[0], head

    def _need(self, n: int) -> bytes:
        while len(self.buf) < n:
            chunk = self.sock.recv(262144)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv(self) -> bytes:
        while True:
            b1, b2 = self._need(2)
            n = b2 & 0x7F
            if n == 126:
                n = int.from_bytes(self._need(2), "big")
            elif n == 127:
                n = int.from_bytes(self._need(8), "big")
            payload = self._need(n)
            if b1 & 0x0F == 0x9:
                self.sock.sendall(masked(0xA, payload))
            elif b1 & 0x0F == 0x1:
                return payload

    def call(self, text: str, answered: Callable[[bytes], bool]) -> bytes:
        self.sock.sendall(masked(0x1, text.encode()))
        while True:
            payload = self.recv()
            if answered(payload):
                return payload

    def close(self) -> None:
        self.sock.close()


_ID = re.compile(rb'"id": ?(\d+)')


class MopidyWindow(Reader):
    """A Mopidy web client: events as they come; on `tracklist_changed` it refetches the
    tracklist, and holds change k once the answer to a refetch sent after the k-th event
    arrives. Frames handed on carry a count as their `rev`, so the same by-rev matching
    as DJAMMS's windows applies."""

    next_id = 1_000_000

    def __init__(self, on_frame: Callable[[Reader, Frame, float], None]) -> None:
        super().__init__(on_frame)
        self.volume_events = 0
        self.queue_events = 0
        self.pending: dict[int, int] = {}

    def on_text(self, payload: bytes, at: float) -> None:
        if not _answer(payload):
            event = json.loads(payload)
            if event["event"] == "volume_changed":
                self.volume_events += 1
                self.on_frame(self, {"type": "VOLUME", "rev": self.volume_events}, at)
            elif event["event"] == "tracklist_changed":
                self.queue_events += 1
                MopidyWindow.next_id += 1
                self.pending[MopidyWindow.next_id] = self.queue_events
                self.send_text(json.dumps({"jsonrpc": "2.0", "id": MopidyWindow.next_id,
                                           "method": "core.tracklist.get_tl_tracks"}))  # fmt: skip
            return
        found = _ID.search(payload)
        if found and (held := self.pending.pop(int(found.group(1)), None)) is not None:
            self.on_frame(self, {"type": "QUEUE_UPDATE", "rev": held}, at)


class MopidyFleet(Fleet):
    async def connect(self, port: int) -> None:
        self.readers = [MopidyWindow(self.on_frame) for _ in range(self.n)]
        for i in range(0, self.n, 50):
            await asyncio.gather(
                *(open_ws(HOST, port, r, path="/mopidy/ws") for r in self.readers[i : i + 50])
            )
        await asyncio.sleep(0.5)  # Mopidy registers a socket just after its handshake


class Rpc:
    """The controlling window: a JSON-RPC call and its answer (events skipped)."""

    def __init__(self, port: int) -> None:
        self.ws = BlockingWs(port, "/mopidy/ws")
        self.n = 0

    def __call__(self, method: str, **params: Any) -> Any:
        self.n += 1
        text = json.dumps({"jsonrpc": "2.0", "id": self.n, "method": method, "params": params})
        want = self.n
        answer = self.ws.call(text, lambda p: _answer(p) and _is(p, want))
        return json.loads(answer).get("result")


def _answer(payload: bytes) -> bool:
    """A JSON-RPC answer, not an event (Mopidy's key order varies)."""
    return b'"jsonrpc"' in payload[:40]


def _is(payload: bytes, want: int) -> bool:
    found = _ID.search(payload)
    return found is not None and int(found.group(1)) == want


@contextmanager
def mopidy_process() -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    tmp = Path(tempfile.mkdtemp(prefix="bench-mopidy-"))
    port = free_port()
    conf = tmp / "mopidy.conf"
    conf.write_text(
        f"[core]\ndata_dir = {tmp}/data\ncache_dir = {tmp}/cache\nconfig_dir = {tmp}/conf\n"
        "[logging]\nverbosity = -1\n"
        "[audio]\noutput = fakesink\nmixer = software\nmixer_volume = 5\n"
        "[file]\nenabled = false\n[m3u]\nenabled = false\n"
        "[stream]\nenabled = true\nmetadata_blacklist = *\n"
        f"[http]\nenabled = true\nhostname = {HOST}\nport = {port}\nzeroconf =\n"
        "csrf_protection = false\n"
    )
    proc = subprocess.Popen(["mopidy", "--config", str(conf)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection((HOST, port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("mopidy did not start") from None
                time.sleep(0.1)
        yield proc, port
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        shutil.rmtree(tmp, ignore_errors=True)
