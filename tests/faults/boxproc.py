"""The whole appliance as a process (`python -m appliance run`), and clients that drive
it the way phones and staff windows do: HTTP sessions (cookie + CSRF header) and
websockets. Used by the fault, fuzz and soak tests.

    box = BoxProcess(tmp_path / "box").start()       # standin player, free 127.0.0.1 port
    staff = ApiClient.staff(box.url)
    status, body = staff.post("/api/ui/command", {"command": "PLAY"})
    box.kill9(); box.start()                          # same data dir, same port
    box.stop()
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import requests
import websocket
from requests.adapters import HTTPAdapter

REPO = Path(__file__).resolve().parents[2]
STAFF_PIN = "4321"
CONFIG = """
demo_media = false
[web]
mdns = false
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class BoxProcess:
    """One box on one data dir; `start()` again after `kill9()` restarts it in place."""

    def __init__(
        self,
        root: Path,
        *,
        player: str = "standin",
        config: str = CONFIG,
        env: dict[str, str] | None = None,
        args: tuple[str, ...] = (),
        data_dir: Path | None = None,
    ) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.data_dir = data_dir or self.root / "data"
        self.port = free_port()
        self.player = player
        self.env = env or {}
        self.args = args
        self.config_path = self.root / "box.toml"
        self.config_path.write_text(config)
        self.log_path = self.root / "box.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def command(self) -> list[str]:
        return [
            sys.executable, "-m", "appliance", "run",
            "--config", str(self.config_path),
            "--player", self.player,
            "--data-dir", str(self.data_dir),
            "--media-dir", str(self.root / "media"),
            "--port", str(self.port),
            "--host", "127.0.0.1",
            "--admin-pin", STAFF_PIN,
            *self.args,
        ]  # fmt: skip

    def start(self, timeout: float = 90.0) -> BoxProcess:
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **self.env}
        with open(self.log_path, "ab") as log:
            log.write(f"\n--- start {self.starts} ---\n".encode())
            self.proc = subprocess.Popen(
                self.command(), cwd=REPO, stdout=log, stderr=subprocess.STDOUT, env=env
            )
        self.starts += 1
        try:
            self.wait_serving(timeout)
        except Exception:
            self.kill9()
            raise
        return self

    def wait_serving(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"box exited with {self.proc.returncode}: {self.tail()}")
            try:
                if requests.get(self.url + "/api/state", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.05)  # nothing to wait on but the socket
        raise TimeoutError(f"box did not serve within {timeout} s: {self.tail()}")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill9(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self, timeout: float = 30.0) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return self.proc.returncode

    def tail(self, n: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def state(self, timeout: float = 10.0) -> dict[str, Any]:
        resp = requests.get(self.url + "/api/state", timeout=timeout)
        resp.raise_for_status()
        return resp.json()


class _SourceAdapter(HTTPAdapter):
    """Connections from one loopback address (127.0.0.x), so many 'phones' are told apart
    by the box's per-address limits, as on a venue's Wi-Fi."""

    def __init__(self, source_ip: str) -> None:
        self.source_ip = source_ip
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["source_address"] = (self.source_ip, 0)
        super().init_poolmanager(*args, **kwargs)


class ApiClient:
    """A logged-in console session: cookie, CSRF header, optional source address."""

    def __init__(self, url: str, source_ip: str = "") -> None:
        self.url = url
        self.http = requests.Session()
        if source_ip:
            self.http.mount("http://", _SourceAdapter(source_ip))
        self.csrf = ""
        self.user_id = ""
        self.role = ""

    @classmethod
    def staff(cls, url: str, source_ip: str = "", pin: str = STAFF_PIN) -> ApiClient:
        client = cls(url, source_ip)
        client._login("/api/auth/login", {"pin": pin})
        return client

    @classmethod
    def guest(cls, url: str, name: str = "guest", source_ip: str = "") -> ApiClient:
        client = cls(url, source_ip)
        client._login("/api/auth/guest", {"name": name})
        return client

    def _login(self, path: str, body: dict[str, Any]) -> None:
        resp = self.http.post(self.url + path, json=body, timeout=30)
        resp.raise_for_status()
        data = resp.json()
        self.csrf, self.user_id, self.role = data["csrfToken"], data["userId"], data["role"]

    @property
    def cookie(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.http.cookies.items())

    def post(self, path: str, body: Any, timeout: float = 30.0) -> tuple[int, Any]:
        resp = self.http.post(
            self.url + path, json=body, headers={"X-CSRF-Token": self.csrf}, timeout=timeout
        )
        return resp.status_code, _json_or_text(resp)

    def get(self, path: str, timeout: float = 30.0, **params: Any) -> tuple[int, Any]:
        resp = self.http.get(self.url + path, params=params, timeout=timeout)
        return resp.status_code, _json_or_text(resp)

    def websocket(self, timeout: float = 30.0) -> LiveSocket:
        return LiveSocket(self.url, self.cookie, timeout)

    def close(self) -> None:
        self.http.close()


def _json_or_text(resp: requests.Response) -> Any:
    try:
        return resp.json()
    except ValueError:
        return resp.text


class LiveSocket:
    """A console window's websocket: SNAPSHOT first, then frames; COMMANDs get ACKs."""

    def __init__(self, url: str, cookie: str = "", timeout: float = 30.0) -> None:
        ws_url = "ws" + url.removeprefix("http") + "/ws"
        headers = [f"Cookie: {cookie}"] if cookie else []
        self.ws = websocket.create_connection(ws_url, timeout=timeout, header=headers)
        self.snapshot = self.next_of("SNAPSHOT", timeout)

    def send(self, message: dict[str, Any]) -> None:
        self.ws.send(json.dumps(message))

    def recv(self, timeout: float) -> dict[str, Any]:
        self.ws.settimeout(timeout)
        return json.loads(self.ws.recv())

    def next_of(self, kind: str, timeout: float, **match: Any) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no {kind} within {timeout} s")
            frame = self.recv(left)
            if frame.get("type") == kind and all(frame.get(k) == v for k, v in match.items()):
                return frame

    def command(self, path: str, body: dict[str, Any], timeout: float = 30.0) -> dict[str, Any]:
        cid = uuid.uuid4().hex
        self.send({"type": "COMMAND", "commandId": cid, "path": path, "body": body})
        return self.next_of("ACK", timeout, commandId=cid)

    def close(self) -> None:
        try:
            self.ws.close()
        except (OSError, websocket.WebSocketException):
            pass
