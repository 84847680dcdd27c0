"""What every route of the console can reach: `current_app.extensions["djamms"]`."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import current_app

from appliance.config import Config
from appliance.core.messages import Actor
from appliance.runtime import Reply
from appliance.runtime_port import RuntimePort
from appliance.services import Services
from web.hub import SyncHub
from web.lockout import DeviceTokens, GuestLimiter, LoginLimiter
from web.sessions import SessionStore

PlaylistAction = Callable[[Mapping[str, Any], Actor], Reply]


@dataclass
class Console:
    runtime: RuntimePort
    config: Config
    services: Services
    sessions: SessionStore
    hub: SyncHub
    logins: LoginLimiter = field(default_factory=LoginLimiter)
    guests: GuestLimiter = field(default_factory=GuestLimiter)
    devices: DeviceTokens = field(default_factory=lambda: DeviceTokens(None))
    first_pin: str = ""
    first_pin_file: Path | None = None  # removed once staff are in
    # extra `POST /api/playlist/manage` actions that need I/O (import, export), by name
    playlist_actions: dict[str, PlaylistAction] = field(default_factory=dict)
    waiting: StreamCounter = field(default_factory=lambda: StreamCounter())


class StreamCounter:
    """Open long-poll answers, held against the connection cap."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.value = 0

    def enter(self, cap: int) -> bool:
        with self._lock:
            if self.value >= cap:
                return False
            self.value += 1
            return True

    def leave(self) -> None:
        with self._lock:
            self.value -= 1


def console() -> Console:
    return current_app.extensions["djamms"]
