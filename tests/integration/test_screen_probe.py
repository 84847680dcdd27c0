"""The screen probe against a real compositor (cage, headless) and against a socket that
speaks bad Wayland; what the display service's ExecStartPost runs before the jukebox."""

from __future__ import annotations

import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from appliance.display.screen_probe import globals_of, has_screen, main, wait_for_screen
from tests.support.compositor import headless_tv


def test_a_running_compositor_lists_its_output(tmp_path: Path) -> None:
    with headless_tv(tmp_path) as tv:
        path = tv.runtime_dir / tv.socket
        names = globals_of(path)
        assert {"wl_compositor", "wl_output", "xdg_wm_base"} <= set(names), names
        assert has_screen(path)
        assert wait_for_screen(path, 5)


def _wire_string(text: str) -> bytes:
    raw = text.encode() + b"\0"
    return struct.pack("<I", len(raw)) + raw + b"\0" * (-len(raw) % 4)


def _message(obj: int, opcode: int, body: bytes) -> bytes:
    return struct.pack("<II", obj, ((8 + len(body)) << 16) | opcode) + body


def registry_answer(interfaces: list[str]) -> bytes:
    out = b"".join(
        _message(2, 0, struct.pack("<I", n + 1) + _wire_string(name) + struct.pack("<I", 1))
        for n, name in enumerate(interfaces)
    )
    return out + _message(3, 0, struct.pack("<I", 0))  # the sync's callback: done


@contextmanager
def fake_compositor(answer: Callable[[int], bytes]) -> Iterator[Path]:
    """A unix socket that reads the probe's two requests and sends `answer(n)` to the
    n-th client (a bounded accept loop, ended by closing the socket)."""
    path = Path(tempfile.mkdtemp(prefix="djamms-wl-")) / "wayland-9"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(4)

    def serve() -> None:
        for n in range(1000):
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                got = b""
                while len(got) < 24:
                    chunk = conn.recv(24 - len(got))
                    if not chunk:
                        break
                    got += chunk
                assert got[:4] == struct.pack("<I", 1)  # wl_display.get_registry
                conn.sendall(answer(n))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield path
    finally:
        server.close()
        thread.join(5)


def test_a_compositor_without_an_output_is_no_screen_until_one_appears() -> None:
    started = time.monotonic()

    def answer(n: int) -> bytes:
        later = time.monotonic() - started > 0.5
        return registry_answer(["wl_compositor", "wl_shm"] + (["wl_output"] if later else []))

    with fake_compositor(answer) as path:
        assert globals_of(path) == ["wl_compositor", "wl_shm"]
        assert not has_screen(path)
        assert wait_for_screen(path, 10, poll=0.05)
        assert time.monotonic() - started >= 0.5


@pytest.mark.parametrize(
    "reply",
    [
        struct.pack("<II", 2, (4 << 16) | 0),  # a message shorter than its own header
        _message(1, 0, struct.pack("<II", 1, 3) + _wire_string("invalid object")),
        b"",  # hangs up
        _message(2, 0, b"\0" * 60000) * 20,  # a flood that never says done
    ],
    ids=["short-size", "display-error", "hang-up", "flood"],
)
def test_bad_answers_are_no_screen(reply: bytes) -> None:
    with fake_compositor(lambda n: reply) as path:
        with pytest.raises(OSError):
            globals_of(path, timeout=5)
        assert not has_screen(path)


def test_no_socket_waits_its_time_and_exits_zero(tmp_path: Path) -> None:
    missing = tmp_path / "wayland-0"
    started = time.monotonic()
    assert not wait_for_screen(missing, 0.3, poll=0.05)
    assert time.monotonic() - started >= 0.3
    assert main([]) == 2
    # what djamms-screen.service runs: the box goes on without a screen
    done = subprocess.run(
        [sys.executable, "-m", "appliance", "wait-for-screen", str(missing), "0.2"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0 and "no screen" in done.stderr, done.stderr
