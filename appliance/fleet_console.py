"""`djamms console` without `--venue`: the fleet console. Every venue on the broker at a
glance (`appliance.cloud.fleet.FleetWatcher`), served by the fleet's own app
(`web.fleet.create_fleet_app`) behind its own staff PIN; a venue's full remote console
(`appliance.remote_console.RemoteConsole`) is started on first use, on its own port, and
shares the fleet's sessions, so staff who are in the fleet are in every venue's console.

A composition, like `appliance.remote_console`: it joins the cloud side and the web
console, so it lives beside the composition root, not in either.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from concurrent.futures import Future
from dataclasses import replace
from pathlib import Path
from typing import Any

from appliance.cloud.fleet import COMMAND_TIMEOUT, FleetWatcher
from appliance.cloud.remote import console_staff
from appliance.cloud.settings import LinkSettings, parse_broker
from appliance.config import Config
from appliance.core import messages as m
from appliance.core.model import State, frozen_map
from appliance.remote_console import RemoteConsole
from appliance.runtime import Reply
from appliance.served_console import ServedConsole
from appliance.subscription import Subscription

log = logging.getLogger(__name__)

MAX_VENUE_CONSOLES = 50  # each holds a broker connection and a server socket
SAFE_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}")


def folder_name(venue_id: str) -> str:
    """A folder for a venue's console: its id when that is a plain name, else a digest
    (an id is whatever a topic level holds, `..` included)."""
    if SAFE_NAME.fullmatch(venue_id):
        return venue_id
    return "venue-" + hashlib.sha256(venue_id.encode()).hexdigest()[:24]


class FleetStaff:
    """The runtime's port for the fleet app's login: the fleet's own staff, nothing else.
    Logins are recorded nowhere; every other message is refused."""

    def __init__(self, pin: str) -> None:
        self._state = State(users=frozen_map(console_staff(pin, "fleet")))

    @property
    def state(self) -> State:
        return self._state

    def submit(self, msg: m.Message, timeout: float = 10.0) -> Reply:
        if isinstance(msg, m.UserLoggedIn | m.SystemNotice):
            return Reply(True, 0)
        error = {"code": "not_here", "message": "The fleet console keeps no venue state."}
        return Reply(False, 0, error=error, status=403)

    def submit_async(self, msg: m.Message) -> Future[Reply]:
        fut: Future[Reply] = Future()
        fut.set_result(self.submit(msg))
        return fut

    def subscribe(self, maxsize: int = 256, name: str = "") -> Subscription:
        return Subscription(self, maxsize, name)

    def _unsubscribe(self, sub: Subscription) -> None:
        return None


class FleetConsole(ServedConsole):
    def __init__(
        self,
        broker_url: str,
        pin: str,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        data_dir: Path = Path("./var/fleet"),
        ca_file: str = "",
        command_timeout: float = COMMAND_TIMEOUT,
        web: dict[str, Any] | None = None,
    ) -> None:
        self.web = {"mdns": False, **(web or {})}
        super().__init__(pin, Config(data_dir=data_dir, host=host, port=port,
                                     sections={"web": self.web}))  # fmt: skip
        self.broker_url = broker_url
        self.pin = pin
        self.ca_file = ca_file
        settings = replace(LinkSettings(broker=parse_broker(broker_url)), ca_file=ca_file)
        self.fleet = FleetWatcher(settings, command_timeout=command_timeout)
        self.staff = FleetStaff(pin)
        self.venue_consoles: dict[str, RemoteConsole] = {}
        self._consoles_lock = threading.Lock()

    def start(self, ready_timeout: float = 30.0) -> None:
        from web.fleet import create_fleet_app

        self.config.data_dir.mkdir(parents=True, exist_ok=True)
        self.fleet.start()
        if not self.fleet.wait_connected(ready_timeout):
            log.warning("fleet: not connected to the broker yet; serving anyway")
        self._serve(create_fleet_app(self.fleet, self.staff, self.config, self.open_console))

    def open_console(self, venue_id: str) -> int | None:
        """The port of `venue_id`'s full remote console, started on first use."""
        with self._consoles_lock:
            running = self.venue_consoles.get(venue_id)
            if running is not None:
                return running.port
            if len(self.venue_consoles) >= MAX_VENUE_CONSOLES:
                log.warning(
                    "fleet: %d venue consoles open; not opening another", MAX_VENUE_CONSOLES
                )
                return None
            console = RemoteConsole(
                self.broker_url,
                venue_id,
                self.pin,
                host=self.config.host,
                port=0,
                data_dir=self.config.data_dir / "venues" / folder_name(venue_id),
                ca_file=self.ca_file,
                web={**self.web, "memory_sessions": True},  # the fleet's sessions serve
                sessions=self.app.extensions["djamms"].sessions,
            )
            try:
                console.start(ready_timeout=5.0)
            except OSError:
                log.exception("fleet: the console for venue %s did not start", venue_id)
                console.stop()
                return None
            self.venue_consoles[venue_id] = console
            return console.port

    def stop(self) -> None:
        with self._consoles_lock:
            consoles, self.venue_consoles = list(self.venue_consoles.values()), {}
        for console in consoles:
            console.stop()
        self._stop_serving()
        self.fleet.stop()
