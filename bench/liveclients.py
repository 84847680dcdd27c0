"""Many live clients on one asyncio loop (one thread, so the clients' own locking does not
blur the figures): raw websocket and SSE readers that timestamp each frame on arrival."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import struct
import time
from collections.abc import Callable
from typing import Any

Frame = dict[str, Any]
_HEAD = re.compile(rb'^\{"type":"([A-Z_]+)","rev":(\d+)')


def head_of(payload: bytes) -> Frame:
    """Type and rev from a frame's first bytes: the server always writes them first, and
    parsing 20 KB of JSON per frame per client would measure this process, not the box."""
    m = _HEAD.match(payload[:80])
    if m is None:
        return json.loads(payload)
    return {"type": m.group(1).decode(), "rev": int(m.group(2))}


class Reader:
    def __init__(self, on_frame: Callable[[Reader, Frame, float], None]) -> None:
        self.on_frame = on_frame
        self.writer: asyncio.StreamWriter | None = None
        self.task: asyncio.Task | None = None
        self.snapshots = 0

    def on_text(self, payload: bytes, at: float) -> None:
        self.on_frame(self, head_of(payload), at)

    def send_text(self, text: str) -> None:
        assert self.writer is not None
        self.writer.write(masked(0x1, text.encode()))

    def drop(self) -> None:
        if self.writer is not None:
            self.writer.transport.abort()
        if self.task is not None:
            self.task.cancel()


async def _headers(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    if b" 101 " not in head.split(b"\r\n")[0] and b" 200 " not in head.split(b"\r\n")[0]:
        raise ConnectionError(head.split(b"\r\n")[0].decode())
    return head


async def open_ws(
    host: str, port: int, client: Reader, cookie: str = "", path: str = "/ws"
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    key = base64.b64encode(os.urandom(16)).decode()
    extra = f"Cookie: {cookie}\r\n" if cookie else ""
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        f"{extra}\r\n".encode()
    )
    await _headers(reader)
    client.writer = writer
    client.task = asyncio.ensure_future(_ws_loop(reader, writer, client))


def masked(opcode: int, payload: bytes) -> bytes:
    """A client's frame (clients must mask what they send)."""
    mask = os.urandom(4)
    n = len(payload)
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    if n < 126:
        head = bytes([0x80 | opcode, 0x80 | n])
    elif n < 65536:
        head = bytes([0x80 | opcode, 0xFE]) + struct.pack("!H", n)
    else:
        head = bytes([0x80 | opcode, 0xFF]) + struct.pack("!Q", n)
    return head + mask + body


async def _ws_loop(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, c: Reader) -> None:
    try:
        while True:
            b1, b2 = await reader.readexactly(2)
            length = b2 & 0x7F
            if length == 126:
                (length,) = struct.unpack("!H", await reader.readexactly(2))
            elif length == 127:
                (length,) = struct.unpack("!Q", await reader.readexactly(8))
            payload = await reader.readexactly(length)
            at = time.perf_counter()
            opcode = b1 & 0x0F
            if opcode == 0x1:
                c.on_text(payload, at)
            elif opcode == 0x9:  # ping: answer, or the server drops us
                writer.write(masked(0xA, payload))
            elif opcode == 0x8:
                return
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
        return


async def open_sse(host: str, port: int, client: Reader) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(f"GET /api/events HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
    await _headers(reader)
    client.writer = writer
    client.task = asyncio.ensure_future(_sse_loop(reader, client))


async def _sse_loop(reader: asyncio.StreamReader, c: Reader) -> None:
    # the body is chunked: chunk-size lines and blank lines are skipped, data lines parsed
    try:
        while True:
            line = await reader.readline()
            if not line:
                return
            if line.startswith(b"data: "):
                c.on_frame(c, head_of(line[6:]), time.perf_counter())
    except (ConnectionError, asyncio.CancelledError):
        return


def queue_churn(staff: Any) -> Any:
    """A sender for the churn benches: even rounds add a track, odd ones remove the oldest
    added, so the queue's length stays put while every window sees a change."""
    added: list[str] = []

    def send(i: int) -> tuple[dict, float]:
        if i % 2 == 0:
            body, t0 = staff.post("/api/queue/add", {"videoId": f"churn{i}", "title": f"C{i}"})
            added.append(body["result"]["item"]["id"])
            return body, t0
        return staff.post("/api/queue/remove", {"queueItemId": added.pop(0)})

    return send
