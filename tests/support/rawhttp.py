"""HTTP requests on raw sockets, for the races a library hides: a request held at its last
byte, many released together, from chosen loopback source addresses (127.0.0.2, ...)."""

from __future__ import annotations

import json
import select
import socket
import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Held:
    """A request sent but for its last byte."""

    sock: socket.socket
    rest: bytes
    answer: bytes = b""
    done: bool = field(default=False)

    def release(self) -> None:
        self.sock.sendall(self.rest)

    def read(self, timeout: float = 30.0) -> tuple[int, dict[str, Any]]:
        """The status and JSON body: up to Content-Length, or until the server closes."""
        self.sock.settimeout(timeout)
        chunks = [self.answer]
        while not complete(b"".join(chunks)):
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        self.sock.close()
        self.done = True
        return parse(b"".join(chunks))


def complete(raw: bytes) -> bool:
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value)
    return False


def parse(raw: bytes) -> tuple[int, dict[str, Any]]:
    """Status 0 when the server closed without an answer."""
    if not raw:
        return 0, {}
    head, _, body = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    try:
        return status, json.loads(body or b"{}")
    except ValueError:
        return status, {}


def request_bytes(
    port: int, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> bytes:
    lines = [
        f"{method} {path} HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "Connection: close",
        f"Content-Length: {len(body)}",
    ]
    if body:
        lines.append("Content-Type: application/json")
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def connect(port: int, source: str = "127.0.0.1") -> socket.socket:
    sock = socket.socket()
    sock.bind((source, 0))
    sock.connect(("127.0.0.1", port))
    return sock


def hold(port: int, path: str, data: Any, source: str = "127.0.0.1", **headers: str) -> Held:
    """Send a JSON POST but for its last byte."""
    raw = request_bytes(port, "POST", path, json.dumps(data).encode(), headers)
    sock = connect(port, source)
    sock.sendall(raw[:-1])
    return Held(sock, raw[-1:])


def answered_early(held: list[Held], want: int, timeout: float = 30.0) -> list[Held]:
    """Wait (on the sockets, not a clock) until `want` held requests were answered before
    their last byte was sent, or the timeout; the ones answered."""
    deadline = time.monotonic() + timeout
    ready: list[Held] = []
    waiting = {h.sock: h for h in held}
    while len(ready) < want and waiting:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        readable, _, _ = select.select(list(waiting), [], [], left)
        for sock in readable:
            ready.append(waiting.pop(sock))
    return ready


def post(
    port: int, path: str, data: Any, source: str = "127.0.0.1", **headers: str
) -> tuple[int, dict[str, Any]]:
    h = hold(port, path, data, source, **headers)
    h.release()
    return h.read()
