"""The console as one of the box's adapters: the app, its sync hub, the server, mDNS."""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable
from functools import partial

from appliance.config import Config
from appliance.runtime_port import RuntimePort
from appliance.services import Services
from web import create_app, staff_reserve
from web.auth import staff_environ
from web.netinfo import MdnsAnnouncer
from web.server import ConsoleServer

log = logging.getLogger(__name__)
THREAD_HEADROOM = 50  # connections beyond the window cap, for plain requests and refusals
# connections one address may hold: a staff tablet's windows and requests, far from all;
# test boxes, whose every simulated phone shares 127.0.0.1, raise it (`[web] per_address`)
PER_ADDRESS = 64


class WebConsole:
    """The console over `runtime`, reading the other parts from `services` as it serves.
    `first_pin()` is the first-start PIN the box made at its start (empty when the config
    gave one). Its session store (`.console.sessions`) is for the maintenance job."""

    def __init__(
        self,
        config: Config,
        runtime: RuntimePort,
        services: Services,
        first_pin: Callable[[], str],
    ) -> None:
        self.config = config
        self.runtime = runtime
        self.first_pin = first_pin
        self.app = create_app(runtime, config, services)
        self.console = self.app.extensions["djamms"]
        self.server: ConsoleServer | None = None
        self.mdns: MdnsAnnouncer | None = None

    @property
    def port(self) -> int:
        return self.server.bound_port if self.server else self.config.port

    def start(self) -> None:
        cfg = self.config
        self.console.first_pin = self._first_pin()
        self.console.hub.start()
        web = cfg.section("web")
        self.server = ConsoleServer(
            cfg.host,
            cfg.port,
            self.app,
            cfg.max_connections + THREAD_HEADROOM,
            per_address=int(web.get("per_address", PER_ADDRESS)),
            reserve=max(THREAD_HEADROOM, staff_reserve(cfg)),
            admits_reserved=partial(staff_environ, self.console),
        )
        self.server.start()
        # announcing a box that only listens on loopback would send phones nowhere
        if web.get("mdns", True) and not _loopback(cfg.host):
            self.mdns = MdnsAnnouncer(self.server.bound_port)
            self.mdns.start()
        log.info("console on http://%s:%s", cfg.host, self.server.bound_port)

    def _first_pin(self) -> str:
        """The first-start PIN, shown on the box's own screen until staff log in."""
        state = self.runtime.state
        pin_file = self.config.data_dir / "first-boot-pin"
        self.console.first_pin_file = pin_file
        if any(u.last_login_at for u in state.users.values() if u.role != "user"):
            pin_file.unlink(missing_ok=True)  # staff are in; the PIN must not linger
            return ""
        if first_pin := self.first_pin():
            return first_pin
        try:
            return pin_file.read_text().strip()
        except OSError:
            return ""

    def stop(self) -> None:
        if self.mdns is not None:
            self.mdns.stop()
            self.mdns = None
        self.console.hub.stop()
        if self.server is not None:
            self.server.stop()
            self.server = None
        self.console.sessions.close()


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host.strip().lower() == "localhost"


def build_console(
    config: Config,
    runtime: RuntimePort,
    services: Services,
    first_pin: Callable[[], str],
) -> WebConsole | None:
    """The console adapter (see `WebConsole`); `[web] enabled = false` turns it off."""
    if not config.section("web").get("enabled", True):
        return None
    return WebConsole(config, runtime, services, first_pin)
