"""Bytes on the wire, made once per frame and shared by every window: a websocket text
frame (server frames are unmasked, so the same bytes suit every connection) and an SSE
event. Uncompressed: permessage-deflate lets a sender leave any message uncompressed, and
compressing the same payload once per window is what would cost the CPU."""

from __future__ import annotations

import struct

WS_PING = b"\x89\x00"
SSE_KEEPALIVE = b": keepalive\n\n"
SSE_HEAD = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
    b"X-Accel-Buffering: no\r\nConnection: close\r\n\r\nretry: 2000\n\n"
)


def ws_text(text: str) -> bytes:
    data = text.encode()
    n = len(data)
    if n < 126:
        head = bytes((0x81, n))
    elif n < 65536:
        head = b"\x81\x7e" + struct.pack("!H", n)
    else:
        head = b"\x81\x7f" + struct.pack("!Q", n)
    return head + data


def sse_event(text: str, rev: int | None) -> bytes:
    head = f"id: {rev}\n" if rev is not None else ""
    return f"{head}data: {text}\n\n".encode()


def encode(kind: str, text: str, rev: int | None) -> bytes:
    return ws_text(text) if kind == "ws" else sse_event(text, rev)
