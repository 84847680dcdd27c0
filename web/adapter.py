"""The console as one of the box's adapters: the app, its sync hub, the server, mDNS."""

from __future__ import annotations

import ipaddress
import logging
from functools import partial
from typing import TYPE_CHECKING

from web import create_app, staff_reserve
from web.auth import staff_environ
from web.netinfo import MdnsAnnouncer
from web.server import ConsoleServer

if TYPE_CHECKING:
    from appliance.bootstrap import Box

log = logging.getLogger(__name__)
THREAD_HEADROOM = 50  # connections beyond the window cap, for plain requests and refusals
# connections one address may hold: a staff tablet's windows and requests, far from all;
# test boxes, whose every simulated phone shares 127.0.0.1, raise it (`[web] per_address`)
PER_ADDRESS = 64


class WebConsole:
    def __init__(self, box: Box) -> None:
        self.box = box
        self.app = create_app(box.runtime, box.config, box.services)
        self.console = self.app.extensions["djamms"]
        box.services.sessions = self.console.sessions  # the maintenance job expires them
        self.server: ConsoleServer | None = None
        self.mdns: MdnsAnnouncer | None = None

    @property
    def port(self) -> int:
        return self.server.bound_port if self.server else self.box.config.port

    def start(self) -> None:
        cfg = self.box.config
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
        state = self.box.runtime.state
        pin_file = self.box.config.data_dir / "first-boot-pin"
        self.console.first_pin_file = pin_file
        if any(u.last_login_at for u in state.users.values() if u.role != "user"):
            pin_file.unlink(missing_ok=True)  # staff are in; the PIN must not linger
            return ""
        if self.box.first_pin:
            return self.box.first_pin
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


def build_console(box: Box) -> WebConsole | None:
    """Factory for `bootstrap.default_adapters()`; `[web] enabled = false` turns it off."""
    if not box.config.section("web").get("enabled", True):
        return None
    console = WebConsole(box)
    return console
