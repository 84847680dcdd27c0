"""A real mosquitto for tests: its own config, password file and ACL in a temp dir, on a
free 127.0.0.1 port. Stop and start it again on the same port (persistence on, so
persistent sessions and retained messages survive, as on a real broker).

    broker = Mosquitto(tmp_path, users={"venue-a": "pw"}, console=("console", "cpw"))
    broker.start(); ...; broker.stop()
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHIPPED_ACL = REPO / "provisioning" / "broker" / "acl"  # tests run the ACL we ship


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_listening(proc: subprocess.Popen[bytes], port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode() if proc.stderr else ""
            raise RuntimeError(f"mosquitto exited: {err}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)  # nothing to wait on but the port opening
    raise RuntimeError(f"mosquitto did not listen on {port}")


def run_as_me() -> str:
    """mosquitto started as root switches to its own user, losing our temp files."""
    return f"user {pwd.getpwuid(os.getuid()).pw_name}\n"


class Mosquitto:
    def __init__(
        self,
        workdir: Path,
        users: Mapping[str, str] | None = None,
        console: tuple[str, str] = ("console", "console-secret"),  # the shipped ACL's user
        port: int | None = None,
    ) -> None:
        self.dir = Path(workdir) / "mosquitto"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.console = console
        self.users: dict[str, str] = {console[0]: console[1], **(users or {})}
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = self.dir / "mosquitto.log"
        self._write_files()

    @property
    def url_host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def url(self, user: str, password: str | None = None) -> str:
        pw = self.users[user] if password is None else password
        return f"mqtt://{user}:{pw}@127.0.0.1:{self.port}"

    def _write_files(self) -> None:
        passwd = self.dir / "passwd"
        passwd.write_text("")
        for user, pw in self.users.items():
            subprocess.run(
                ["mosquitto_passwd", "-b", str(passwd), user, pw], check=True, capture_output=True
            )
        shutil.copyfile(SHIPPED_ACL, self.dir / "acl")
        (self.dir / "data").mkdir(exist_ok=True)
        (self.dir / "mosquitto.conf").write_text(
            f"{run_as_me()}"
            f"listener {self.port} 127.0.0.1\n"
            "allow_anonymous false\n"
            f"password_file {passwd}\n"
            f"acl_file {self.dir / 'acl'}\n"
            "persistence true\n"
            f"persistence_location {self.dir / 'data'}/\n"
            "autosave_interval 1\n"
            f"log_dest file {self.log_path}\n"
            "log_type all\n"
            "max_queued_messages 10000\n"
            "set_tcp_nodelay true\n"
        )

    def add_user(self, user: str, password: str) -> None:
        """Add credentials; a running broker reloads them (SIGHUP)."""
        self.users[user] = password
        subprocess.run(
            ["mosquitto_passwd", "-b", str(self.dir / "passwd"), user, password],
            check=True,
            capture_output=True,
        )
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(1)  # SIGHUP: reread password and ACL files
            deadline = time.monotonic() + 10
            while not self.accepts(user, password) and time.monotonic() < deadline:
                time.sleep(0.05)  # the reload has no completion signal; try logging in

    def accepts(self, user: str, password: str, timeout: float = 5.0) -> bool:
        """Whether the broker lets `user` in with `password` (a real MQTT login)."""
        import threading

        import paho.mqtt.client as mqtt

        answered = threading.Event()
        result: list[bool] = []
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        client.username_pw_set(user, password)

        def on_connect(c: mqtt.Client, u: object, f: object, rc: object, p: object) -> None:
            result.append(not getattr(rc, "is_failure", False))
            answered.set()

        client.on_connect = on_connect
        try:
            client.connect("127.0.0.1", self.port, keepalive=10)
        except OSError:
            return False
        client.loop_start()
        try:
            return answered.wait(timeout) and result[0]
        finally:
            client.disconnect()
            client.loop_stop()

    def start(self, timeout: float = 10.0) -> None:
        if shutil.which("mosquitto") is None:
            raise RuntimeError("mosquitto is not installed (make test installs it)")
        self.proc = subprocess.Popen(
            ["mosquitto", "-c", str(self.dir / "mosquitto.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            wait_listening(self.proc, self.port, timeout)
        except RuntimeError as exc:
            self.stop()
            raise RuntimeError(f"{exc}\n{self.log_tail()}") from None

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if self.proc.stderr:
            self.proc.stderr.close()
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text().splitlines()[-lines:])
        except OSError:
            return ""


@contextmanager
def running_mosquitto(workdir: Path, **kwargs: object) -> Iterator[Mosquitto]:
    broker = Mosquitto(workdir, **kwargs)  # type: ignore[arg-type]
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()
