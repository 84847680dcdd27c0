"""Whether the compositor has a screen yet: a wl_output among its Wayland globals.

cage opens its socket before its output is up (under QEMU, and on a Pi whose HDMI is slow
to train, seconds before). A client that connects in between finds no output: mpv then
gives up on its window ("No outputs found") and plays that track with no picture. The
display service waits here, after the socket, before the jukebox starts.

It speaks the two requests it needs of the Wayland wire protocol itself (a registry and a
sync), so it runs in a fraction of a second with nothing but the standard library.

    djamms wait-for-screen SOCKET SECONDS

waits at most SECONDS and exits 0 either way (the box plays sound without a screen); it
says on stderr when no output came.
"""

from __future__ import annotations

import socket
import struct
import sys
import time
from pathlib import Path

_DISPLAY, _REGISTRY, _CALLBACK = 1, 2, 3
_GET_REGISTRY, _SYNC = 1, 0  # wl_display requests
_GLOBAL, _DONE, _ERROR = 0, 0, 0  # wl_registry.global, wl_callback.done, wl_display.error
_MAX_REPLY = 1 << 20  # a compositor lists some dozens of globals; more is not a compositor


def _request(obj: int, opcode: int, new_id: int) -> bytes:
    return struct.pack("<III", obj, (12 << 16) | opcode, new_id)


def _string(body: bytes, at: int) -> tuple[str, int]:
    (length,) = struct.unpack_from("<I", body, at)
    text = body[at + 4 : at + 4 + max(length - 1, 0)].decode(errors="replace")
    return text, at + 4 + ((length + 3) & ~3)


def globals_of(path: Path, timeout: float = 2.0) -> list[str]:
    """The interface names the compositor at `path` advertises; OSError if it cannot be
    asked (no socket, no answer within `timeout`, a protocol error)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(str(path))
        sock.sendall(
            _request(_DISPLAY, _GET_REGISTRY, _REGISTRY) + _request(_DISPLAY, _SYNC, _CALLBACK)
        )
        names: list[str] = []
        buf, received = b"", 0
        while True:
            while len(buf) >= 8:
                obj, word = struct.unpack_from("<II", buf)
                size, opcode = word >> 16, word & 0xFFFF
                if size < 8:
                    raise OSError(f"bad Wayland message size {size}")
                if len(buf) < size:
                    break
                body, buf = buf[8:size], buf[size:]
                if obj == _REGISTRY and opcode == _GLOBAL:
                    names.append(_string(body, 4)[0])
                elif obj == _CALLBACK and opcode == _DONE:
                    return names  # every global was sent before the sync's answer
                elif obj == _DISPLAY and opcode == _ERROR:
                    raise OSError(f"Wayland error: {_string(body, 8)[0]}")
            chunk = sock.recv(65536)
            if not chunk:
                raise OSError("the compositor closed the connection")
            buf, received = buf + chunk, received + len(chunk)
            if received > _MAX_REPLY:
                raise OSError("the compositor's answer is too long")


def has_screen(path: Path) -> bool:
    try:
        return "wl_output" in globals_of(path)
    except OSError:
        return False


def wait_for_screen(path: Path, seconds: float, poll: float = 0.2) -> bool:
    """True once the compositor at `path` has an output; False after `seconds`."""
    deadline = time.monotonic() + seconds
    while not has_screen(path):
        if time.monotonic() >= deadline:
            return False
        time.sleep(poll)  # the compositor has no event for "output added" we could await
    return True


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: djamms wait-for-screen SOCKET SECONDS", file=sys.stderr)
        return 2
    path, seconds = Path(argv[0]), float(argv[1])
    if not wait_for_screen(path, seconds):
        print(f"no screen on {path} after {seconds:g} s: the TV stays dark", file=sys.stderr)
    return 0
