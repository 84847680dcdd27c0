"""Start the box with its console on a free 127.0.0.1 port: in this process (tests reach
the runtime directly) or as a `python -m appliance run` subprocess (the real server, as
`make run` starts it). Both use the stand-in player, no mDNS and a known staff PIN."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from appliance.bootstrap import Box, build
from appliance.config import Config

REPO = Path(__file__).resolve().parents[2]
STAFF_PIN = "4321"
WEB_SECTION = {"mdns": False, "memory_sessions": False}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_serving(url: str, timeout: float = 30.0, proc: Any = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"box exited with {proc.returncode}")
        try:
            if requests.get(url + "/api/state", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)  # nothing to wait on but the socket
    raise TimeoutError(f"console at {url} did not come up")


@dataclass
class RunningBox:
    box: Box
    url: str
    port: int

    @property
    def runtime(self) -> Any:
        return self.box.runtime

    @property
    def console(self) -> Any:
        from web.adapter import WebConsole

        return next(a for a in self.box.adapters if isinstance(a, WebConsole))

    def stop(self) -> None:
        self.box.stop()


def box_config(data_dir: Path, port: int = 0, **changes: Any) -> Config:
    sections = {"web": dict(WEB_SECTION, **changes.pop("web", {}))}
    return Config(
        data_dir=data_dir,
        media_dir=data_dir / "media",
        host="127.0.0.1",
        port=port,
        player="standin",
        admin_pin=STAFF_PIN,
        demo_media=False,
        sections=sections,
        **changes,
    )


def start_box(data_dir: Path, port: int = 0, **changes: Any) -> RunningBox:
    """The box and its console in this process; stop it with `.stop()`."""
    from appliance.player.factory import build_player
    from web.adapter import build_console

    box = build(box_config(data_dir, port, **changes), adapters=[build_player, build_console])
    box.start()
    running = RunningBox(box, "", 0)
    port = running.console.port
    running.url = f"http://127.0.0.1:{port}"
    running.port = port
    wait_until_serving(running.url)
    return running


@contextmanager
def running_box(data_dir: Path, **changes: Any) -> Iterator[RunningBox]:
    running = start_box(data_dir, **changes)
    try:
        yield running
    finally:
        running.stop()


@dataclass
class BoxProcess:
    proc: subprocess.Popen[bytes]
    url: str
    port: int
    data_dir: Path
    log_path: Path

    def stop(self, timeout: float = 20.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.proc.returncode


def start_box_process(data_dir: Path, port: int | None = None, *args: str) -> BoxProcess:
    """`python -m appliance run` on 127.0.0.1:<port>; stop it with `.stop()`."""
    data_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    cfg = data_dir.parent / f"{data_dir.name}-box.toml"
    cfg.write_text("[web]\nmdns = false\n")
    log_path = data_dir.parent / f"{data_dir.name}-box.log"
    cmd = [
        sys.executable,
        "-m",
        "appliance",
        "run",
        "--config",
        str(cfg),
        "--data-dir",
        str(data_dir),
        "--media-dir",
        str(data_dir / "media"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--player",
        "standin",
        "--admin-pin",
        STAFF_PIN,
        *args,
    ]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(url, 60.0, proc)
    except Exception:
        proc.kill()
        proc.wait(5)
        raise
    return BoxProcess(proc, url, port, data_dir, log_path)
