"""`djamms console`: the venue's web console, served away from the venue, over MQTT.

The same app as the LAN console (`web.create_app`), backed by a `RemoteVenue` instead of
the box's runtime, with its own staff login (its own PIN). Windows on it and on the LAN
console converge: both render the venue's state, one from the runtime, one from the
retained topics the venue publishes.

A composition, like `appliance.bootstrap`: it joins two adapters (the cloud side's
`RemoteVenue` and the web console), so it lives beside the composition root, not in either.
"""

from __future__ import annotations

import argparse
import logging
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from appliance.cloud.remote import RemoteVenue, console_staff
from appliance.cloud.settings import LinkSettings, parse_broker
from appliance.config import Config, ConfigError, load_config
from appliance.served_console import ServedConsole
from appliance.stop_signal import StopSignal

log = logging.getLogger(__name__)


class RemoteConsole(ServedConsole):
    def __init__(
        self,
        broker_url: str,
        venue_id: str,
        pin: str,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        data_dir: Path = Path("./var/console"),
        ca_file: str = "",
        web: dict[str, Any] | None = None,
        sessions: Any = None,
    ) -> None:
        web_section = {"mdns": False, **(web or {})}
        config = Config(data_dir=data_dir, host=host, port=port, sections={"web": web_section})
        super().__init__(pin, config)
        if not venue_id:
            raise ConfigError("a venue id is required")
        settings = replace(LinkSettings(broker=parse_broker(broker_url)), ca_file=ca_file)
        self.venue = RemoteVenue(settings, venue_id, console_staff(pin))
        self.sessions = sessions  # a fleet console's own, so its staff are in here too

    def start(self, ready_timeout: float = 30.0) -> None:
        from web import create_app

        self.config.data_dir.mkdir(parents=True, exist_ok=True)
        self.venue.start()
        if not self.venue.wait_ready(ready_timeout):
            log.warning("console: no retained state from venue %s yet; serving anyway",
                        self.venue.topics.venue_id)  # fmt: skip
        app = create_app(self.venue, self.config)
        if self.sessions is not None:
            app.extensions["djamms"].sessions = self.sessions
        app.extensions["djamms"].hub.start()
        self._serve(app)

    def stop(self) -> None:
        if self.app is not None:
            self.app.extensions["djamms"].hub.stop()
        self._stop_serving()
        self.venue.stop()


def add_console_parser(sub: Any) -> None:
    p = sub.add_parser(
        "console", help="serve a venue's console remotely, over MQTT (without --venue: the fleet)"
    )
    p.add_argument("--broker", help="mqtt[s]://console-user:password@host:port")
    p.add_argument("--venue", help="the venue id (its broker username); none: every venue")
    p.add_argument("--host", default=None)
    p.add_argument("--port", type=int, default=None)
    p.add_argument("--pin", help="this console's staff PIN (or DJAMMS_CONSOLE_PIN)")
    p.add_argument("--data-dir", help="where the console keeps its sessions")
    p.add_argument("--ca-file", help="TLS CA bundle for an mqtts:// broker")
    p.add_argument("--config", help="TOML file with a [console] table of the same keys")


def cmd_console(args: argparse.Namespace) -> int:
    cfg = load_config(args.config) if args.config else None
    table = dict(cfg.section("console")) if cfg else {}

    def pick(name: str, default: Any = None) -> Any:
        value = getattr(args, name)
        return value if value is not None else table.get(name, default)

    broker = pick("broker", "")
    if not broker:
        raise ConfigError("--broker is required")
    venue_id = str(pick("venue", "") or "")
    pin = str(pick("pin", os.environ.get("DJAMMS_CONSOLE_PIN", "")))
    host, port = str(pick("host", "127.0.0.1")), int(pick("port", 8090))
    ca_file = str(pick("ca_file", ""))
    console: Any
    if venue_id:
        console = RemoteConsole(broker, venue_id, pin, host=host, port=port, ca_file=ca_file,
                                data_dir=Path(pick("data_dir", "./var/console")))  # fmt: skip
        what = f"remote console for venue {venue_id}"
    else:
        from appliance.fleet_console import FleetConsole  # it builds on this module

        console = FleetConsole(broker, pin, host=host, port=port, ca_file=ca_file,
                               data_dir=Path(pick("data_dir", "./var/fleet")))  # fmt: skip
        what = "fleet console"
    logging.basicConfig(level="INFO", format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    stop = StopSignal()
    console.start()
    log.info("%s on %s", what, console.url)
    stop.wait()
    console.stop()
    return 0
