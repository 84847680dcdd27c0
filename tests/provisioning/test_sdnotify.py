"""The real app tells a (test) service manager it is ready and feeds the watchdog."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from appliance.sdnotify import Notifier, watchdog_interval

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def notify_socket(tmp_path: Path):
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    yield path, sock
    sock.close()


def _recv_until(sock: socket.socket, wanted, deadline: float) -> list[str]:
    """Collect datagrams until `wanted(messages)` holds or the deadline passes."""
    got: list[str] = []
    while time.monotonic() < deadline and not wanted(got):
        sock.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            got.append(sock.recv(4096).decode())
        except TimeoutError:
            break
    return got


def test_app_sends_ready_then_periodic_watchdog_then_stopping(tmp_path, notify_socket):
    path, sock = notify_socket
    env = {
        **os.environ,
        "NOTIFY_SOCKET": str(path),
        "WATCHDOG_USEC": "400000",  # feed every 0.2 s
        "DJAMMS_DEMO_MEDIA": "false",  # making demo videos is not what is tested here
    }
    env.pop("WATCHDOG_PID", None)
    port = _free_port()
    cmd = [
        sys.executable,
        "-m",
        "appliance",
        "run",
        "--player",
        "standin",
        "--data-dir",
        str(tmp_path / "data"),
        "--media-dir",
        str(tmp_path / "media"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--admin-pin",
        "4321",
    ]
    log = open(tmp_path / "app.log", "w")  # closed in finally
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stderr=log)
    try:
        msgs = _recv_until(
            sock, lambda g: sum("WATCHDOG=1" in x for x in g) >= 4, time.monotonic() + 60
        )
        assert msgs, "no notification at all"
        assert msgs[0].splitlines()[0] == "READY=1"
        status = [ln for ln in msgs[0].splitlines() if ln.startswith("STATUS=")]
        assert status and status[0].endswith(f"console on port {port}")
        assert sum(x.splitlines()[0] == "WATCHDOG=1" for x in msgs) >= 4
        proc.send_signal(signal.SIGTERM)
        rest = _recv_until(sock, lambda g: any("STOPPING=1" in x for x in g), time.monotonic() + 60)
        assert any(x.startswith("STOPPING=1") for x in rest)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()


def test_no_notify_socket_means_no_adapter(tmp_path):
    from appliance.bootstrap import build
    from appliance.config import Config
    from appliance.wiring import wire_sdnotify

    box = build(Config(data_dir=tmp_path), adapters=[])
    assert wire_sdnotify(box, environ={}) is None
    assert wire_sdnotify(box, environ={"NOTIFY_SOCKET": str(tmp_path / "s")}) is not None


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, None),
        ({"WATCHDOG_USEC": "0"}, None),
        ({"WATCHDOG_USEC": "junk"}, None),
        ({"WATCHDOG_USEC": "30000000"}, 15.0),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}, None),  # someone else's
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())}, 15.0),
    ],
)
def test_watchdog_interval_is_half_the_period_for_this_process(env, expected):
    assert watchdog_interval(env) == expected


def test_abstract_notify_socket_address(tmp_path):
    name = f"@djamms-test-{os.getpid()}"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind("\0" + name[1:])
    try:
        n = Notifier(name)
        assert n.send("STATUS=hello", "READY=1")
        server.settimeout(10)
        assert server.recv(100) == b"STATUS=hello\nREADY=1"
        n.close()
    finally:
        server.close()


def test_send_to_a_missing_socket_is_reported_not_raised(tmp_path):
    n = Notifier(str(tmp_path / "gone.sock"))
    assert n.send("WATCHDOG=1") is False
    n.close()
