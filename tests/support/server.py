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
from dataclasses import dataclass, replace
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
    fields: dict[str, Any] = {
        "data_dir": data_dir,
        "media_dir": data_dir / "media",
        "host": "127.0.0.1",
        "port": port,
        "player": "standin",
        "admin_pin": STAFF_PIN,
        "demo_media": False,
        "sections": sections,
    }
    fields.update(changes)
    return Config(**fields)


def start_box(
    data_dir: Path, port: int = 0, services: dict[str, Any] | None = None, **changes: Any
) -> RunningBox:
    """The box and its console in this process (with `services` registered, e.g. a fake
    library); stop it with `.stop()`."""
    from appliance.wiring import wire_console, wire_player

    def register_services(box: Box) -> None:
        box.services = replace(box.services, **(services or {}))

    adapters = [register_services, wire_player, wire_console]
    box = build(box_config(data_dir, port, **changes), adapters=adapters)
    box.start()
    running = RunningBox(box, "", 0)
    port = running.console.port
    running.url = f"http://127.0.0.1:{port}"
    running.port = port
    wait_until_serving(running.url)
    return running


@contextmanager
def running_box(data_dir: Path, **changes: Any) -> Iterator[RunningBox]:
    running = start_box(data_dir, **changes)  # services=... passes through
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


def place_media(media_dir: Path, tracks: list[dict[str, Any]]) -> None:
    """Files named in the library's convention `[id, Artist, Title].mp4`, so the box's
    library knows these tracks without the network (the stand-in player plays nothing)."""
    media_dir.mkdir(parents=True, exist_ok=True)
    seed = media_dir / ".seed.mp4"  # one real 10-minute clip (1 fps, black, silent)
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "color=c=black:s=64x36:d=600:r=1",
            "-f",
            "lavfi",
            "-i",
            "anullsrc=r=8000:cl=mono",
            "-t",
            "600",
            "-shortest",
            "-c:v",
            "mpeg4",
            "-c:a",
            "aac",
            "-b:a",
            "8k",
            str(seed),
        ],
        check=True,
        timeout=60,
    )
    for t in tracks:
        artist = t.get("artist", "").replace(" ", "_")
        title = t.get("title", "").replace(" ", "_")
        target = media_dir / f"[{t['video_id']}, {artist}, {title}].mp4"
        if not target.exists():
            os.link(seed, target)


def start_box_process(
    data_dir: Path, port: int | None = None, *args: str, media: list[dict[str, Any]] = ()
) -> BoxProcess:
    """`python -m appliance run` on 127.0.0.1:<port> with `media` in its library folder;
    stop it with `.stop()`."""
    data_dir.mkdir(parents=True, exist_ok=True)
    if media:
        place_media(data_dir / "media", list(media))
    port = port or free_port()
    cfg = data_dir.parent / f"{data_dir.name}-box.toml"
    # the benches' hundreds of windows all come from 127.0.0.1: lift the per-address cap
    cfg.write_text("[web]\nmdns = false\nper_address = 100000\n")
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
        if media:
            wait_for_library(url, list(media)[-1]["video_id"])
    except Exception:
        proc.kill()
        proc.wait(5)
        raise
    return BoxProcess(proc, url, port, data_dir, log_path)


def wait_for_library(url: str, video_id: str, timeout: float = 60.0) -> None:
    """Until the box's library has scanned its folder (search finds `video_id`)."""
    s = requests.Session()
    s.post(url + "/api/auth/guest", json={"name": "probe"}, timeout=10)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = s.get(url + "/api/search", params={"q": video_id}, timeout=10).json()
        if any(t.get("video_id") == video_id for t in found.get("results", [])):
            return
        time.sleep(0.2)  # the scan reports nothing we could wait on
    raise TimeoutError(f"the library never listed {video_id}")
