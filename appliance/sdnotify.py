"""A small sd_notify: tells systemd the box is ready, feeds its watchdog, says why it stops.

Speaks the datagram protocol over $NOTIFY_SOCKET (a path, or an abstract socket written
with a leading "@"), so the service needs no extra library. Without NOTIFY_SOCKET (a
developer's `make run`) the adapter is a no-op.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Mapping

from appliance.core.model import State

log = logging.getLogger(__name__)


class Notifier:
    """Sends `KEY=value` datagrams to the service manager's notify socket."""

    def __init__(self, address: str) -> None:
        self.address = "\0" + address[1:] if address.startswith("@") else address
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        self._lock = threading.Lock()

    def send(self, *fields: str) -> bool:
        data = "\n".join(fields).encode()
        try:
            with self._lock:
                self._sock.sendto(data, self.address)
        except OSError as exc:  # systemd gone or socket full: never take the box down
            log.warning("sd_notify %s failed: %s", fields, exc)
            return False
        return True

    def close(self) -> None:
        self._sock.close()


def watchdog_interval(environ: Mapping[str, str]) -> float | None:
    """Half of WATCHDOG_USEC in seconds, as sd_watchdog_enabled() advises; None when the
    watchdog is off or meant for another process (WATCHDOG_PID)."""
    usec = environ.get("WATCHDOG_USEC", "")
    pid = environ.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    if pid and pid != str(os.getpid()):
        return None
    return int(usec) / 2_000_000


class SystemdNotifyAdapter:
    """READY=1 once the box has started, WATCHDOG=1 every half period while the runtime is
    alive, STOPPING=1 at shutdown. Adapters start in order, so this one comes last."""

    def __init__(
        self,
        notifier: Notifier,
        interval: float | None,
        alive: Callable[[], bool],
        status: Callable[[], str],
    ) -> None:
        self.notifier = notifier
        self.interval = interval
        self._alive = alive
        self._status = status
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.notifier.send("READY=1", f"STATUS={self._status()}")
        if self.interval:
            self._thread = threading.Thread(target=self._feed, name="sd-watchdog", daemon=True)
            self._thread.start()

    def _feed(self) -> None:
        assert self.interval is not None
        shown = ""
        while not self._stop.wait(self.interval):
            # A wedged single writer must let systemd restart us: stop feeding then.
            if not self._alive():
                log.error("runtime not alive; no longer feeding the watchdog")
                continue
            status = self._status()
            if status != shown:  # `systemctl status djamms` shows what is playing
                self.notifier.send("WATCHDOG=1", f"STATUS={status}")
                shown = status
            else:
                self.notifier.send("WATCHDOG=1")

    def stop(self) -> None:
        self.notifier.send("STOPPING=1", "STATUS=stopping")
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.notifier.close()


def build_sdnotify(
    alive: Callable[[], bool],
    status: Callable[[], str],
    environ: Mapping[str, str] | None = None,
) -> SystemdNotifyAdapter | None:
    """None without NOTIFY_SOCKET. `alive()`: the runtime still runs (else the watchdog
    starves); `status()`: the line `systemctl status` shows (see `status_line`)."""
    env = os.environ if environ is None else environ
    address = env.get("NOTIFY_SOCKET", "")
    if not address:
        return None
    return SystemdNotifyAdapter(Notifier(address), watchdog_interval(env), alive, status)


def status_line(state: State, port: int) -> str:
    venue = state.venue
    playing = venue.now_playing if venue is not None else None
    if playing is None:
        return f"idle; console on port {port}"
    title = " - ".join(x for x in (playing.artist, playing.title) if x) or playing.video_id
    return f"{playing.state}: {title}; console on port {port}"
