"""What the remote console and the fleet console share: a staff PIN that is checked up
front, and a web app served by `ConsoleServer` at the address in their `Config`."""

from __future__ import annotations

from typing import Any

from appliance.config import Config, ConfigError


class ServedConsole:
    def __init__(self, pin: str, config: Config) -> None:
        if not pin.isdigit() or not 4 <= len(pin) <= 12:
            raise ConfigError("the console PIN must be 4-12 digits")
        self.config = config
        self.server: Any = None
        self.app: Any = None

    @property
    def port(self) -> int:
        return self.server.bound_port if self.server else self.config.port

    @property
    def url(self) -> str:
        return f"http://{self.config.host}:{self.port}"

    def _serve(self, app: Any) -> None:
        from web.server import ConsoleServer  # the web side loads only when served

        self.app = app
        self.server = ConsoleServer(self.config.host, self.config.port, app,
                                    self.config.max_connections + 50)  # fmt: skip
        self.server.start()

    def _stop_serving(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None
