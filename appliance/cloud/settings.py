"""The cloud link's settings: the broker URL (`config.broker`) and the `[cloud]` table, and
the topic names (ARCHITECTURE.md: `djamms/v1/venues/{venue_id}/...`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from appliance.cloud.freshness import Freshness
from appliance.config import Config, ConfigError

ROLE_ORDER = ("user", "moderator", "admin")


@dataclass(frozen=True)
class BrokerAddress:
    host: str
    port: int
    tls: bool
    username: str = ""
    password: str = ""


def parse_broker(url: str) -> BrokerAddress:
    """`mqtt[s]://user:password@host:port` (port defaults: 1883, 8883 with TLS)."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        raise ConfigError("broker must look like mqtt[s]://user:password@host:port")
    tls = parts.scheme == "mqtts"
    try:
        port = parts.port or (8883 if tls else 1883)
    except ValueError:
        raise ConfigError("broker port must be a number from 1 to 65535") from None
    return BrokerAddress(
        host=parts.hostname,
        port=port,
        tls=tls,
        username=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
    )


@dataclass(frozen=True)
class Topics:
    venue_id: str

    @property
    def base(self) -> str:
        return f"djamms/v1/venues/{self.venue_id}"

    @property
    def status(self) -> str:
        return f"{self.base}/status"

    @property
    def now_playing(self) -> str:
        return f"{self.base}/state/now_playing"

    @property
    def queue(self) -> str:
        return f"{self.base}/state/queue"

    @property
    def settings(self) -> str:
        return f"{self.base}/state/settings"

    @property
    def events(self) -> str:
        return f"{self.base}/events"

    @property
    def cmd(self) -> str:
        return f"{self.base}/cmd"

    @property
    def ack(self) -> str:
        return f"{self.base}/cmd/ack"

    def ha_command(self, entity: str) -> str:
        """Home Assistant's plain command topics (HA cannot sign a `cmd` with an id)."""
        return f"{self.base}/ha/{entity}/set"

    @property
    def ha_panel(self) -> str:
        return f"{self.base}/ha/panel"

    def playlist(self, playlist_id: str) -> str:
        return f"{self.base}/state/playlists/{playlist_id}"

    def state_topic(self, piece: str) -> str:
        return f"{self.base}/state/{piece}"


def _num(table: Mapping[str, Any], key: str, default: float, lo: float, hi: float) -> float:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
        raise ConfigError(f"[cloud] {key} must be a number from {lo} to {hi}")
    return float(value)


@dataclass(frozen=True)
class LinkSettings:
    broker: BrokerAddress
    client_id: str = ""  # default: djamms-<venue_id>
    keepalive: int = 30
    session_expiry: int = 86_400  # seconds the broker keeps our session (queued commands)
    coalesce_interval: float = 0.25  # at most 4 retained publishes per state topic per second
    queue_window: int = 50
    outbox_max: int = 10_000
    max_command_age: float = 30.0
    max_clock_skew: float = 2.0  # a command stamped this far ahead is still taken as "now"
    sender_window: float = 900.0  # how long a sender's quickest trip is remembered
    remote_role: str = "admin"  # the highest role a remote console may act with
    ca_file: str = ""  # TLS: the CA bundle; empty = the system's
    reconnect_min: float = 1.0
    reconnect_max: float = 60.0
    homeassistant: bool = True
    discovery_prefix: str = "homeassistant"

    @classmethod
    def from_config(cls, config: Config) -> LinkSettings | None:
        if not config.broker:
            return None
        t = config.section("cloud")
        role = t.get("remote_role", "admin")
        if role not in ROLE_ORDER:
            raise ConfigError(f"[cloud] remote_role must be one of {', '.join(ROLE_ORDER)}")
        prefix = t.get("discovery_prefix", "homeassistant")
        if not isinstance(prefix, str) or not prefix or "#" in prefix or "+" in prefix:
            raise ConfigError("[cloud] discovery_prefix must be a topic prefix")
        return cls(
            broker=parse_broker(config.broker),
            client_id=str(t.get("client_id", "")),
            keepalive=int(_num(t, "keepalive", 30, 5, 3600)),
            session_expiry=int(_num(t, "session_expiry", 86_400, 0, 30 * 86_400)),
            coalesce_interval=_num(t, "coalesce_interval", 0.25, 0.0, 10.0),
            queue_window=int(_num(t, "queue_window", 50, 1, 1000)),
            outbox_max=int(_num(t, "outbox_max", 10_000, 10, 1_000_000)),
            max_command_age=_num(t, "max_command_age", 30.0, 1.0, 3600.0),
            sender_window=_num(t, "sender_window", 900.0, 60.0, 86_400.0),
            remote_role=role,
            ca_file=str(t.get("ca_file", "")),
            reconnect_min=_num(t, "reconnect_min", 1.0, 0.1, 60.0),
            reconnect_max=_num(t, "reconnect_max", 60.0, 0.1, 3600.0),
            homeassistant=bool(t.get("homeassistant", True)),
            discovery_prefix=prefix,
        )

    def freshness(self) -> Freshness:
        """The command freshness rules with the real clocks and timesyncd's sync flag."""
        return Freshness(self.max_command_age, self.max_clock_skew, window=self.sender_window)


def cap_role(asked: Any, ceiling: str) -> str:
    """The role a remote command acts with: what the console says, never above `ceiling`."""
    role = asked if asked in ROLE_ORDER else ceiling
    return ROLE_ORDER[min(ROLE_ORDER.index(role), ROLE_ORDER.index(ceiling))]
