"""The composition root: `build(config, ...)` wires the runtime, the store and every
adapter. Real parts by default (`default_adapters()`: each part's wiring, in
`appliance/wiring.py`); tests pass their own list. Nothing starts until `Box.start()`."""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from appliance.config import Config
from appliance.core import messages as m
from appliance.pins import generate_pin, hash_pin
from appliance.runtime import Runtime, Store
from appliance.services import Services
from appliance.store import FileStore

log = logging.getLogger(__name__)


class Adapter(Protocol):
    def start(self) -> None: ...
    def stop(self) -> None: ...


AdapterFactory = Callable[["Box"], "Adapter | None"]


@dataclass
class Box:
    config: Config
    runtime: Runtime
    adapters: list[Adapter] = field(default_factory=list)
    # what the parts offer each other, filled by the wiring in build() as it runs
    services: Services = field(default_factory=Services)
    first_pin: str = ""  # shown on the screen page until staff change it

    def start(self) -> None:
        self.runtime.start()
        self._ensure_venue()
        for adapter in self.adapters:
            adapter.start()

    def stop(self) -> None:
        for adapter in reversed(self.adapters):
            try:
                adapter.stop()
            except Exception:  # keep stopping the rest
                log.exception("stopping %s failed", type(adapter).__name__)
        self.runtime.stop()

    def _ensure_venue(self) -> None:
        """First start: the owner (admin) and the venue, as the seed's setup handler does."""
        if self.runtime.state.venue is not None:
            return
        pin = self.config.admin_pin
        if not pin:
            pin = generate_pin()
            self.first_pin = pin
            pin_file = self.config.data_dir / "first-boot-pin"
            # created 0600, never readable by others even for an instant
            fd = os.open(pin_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(pin + "\n")
            # never the PIN itself: moderators download app.log
            log.warning("first start: a staff PIN was made; it is shown on the screen page")
        reply = self.runtime.submit(
            m.SetupVenue(
                owner_user_id=self.config.venue_id or uuid.uuid4().hex,
                venue_name=self.config.venue_name,
                pin_hash=hash_pin(pin),
            )
        )
        if not reply.ok:
            raise RuntimeError(f"venue setup failed: {reply.error}")


def default_adapters() -> list[AdapterFactory]:
    """The adapters a real box runs, in start order. Each part's wiring may return None
    when its part is not configured (no broker, no GPIO)."""
    from appliance import wiring

    # sd_notify last: READY=1 goes out once everything before it has started.
    return [
        wiring.wire_library,
        wiring.wire_display,  # before the player: its surface is the TV's bottom window
        wiring.wire_player,
        wiring.wire_panel,
        wiring.wire_content,
        wiring.wire_importer,
        wiring.wire_backups,
        wiring.wire_scheduler,
        wiring.wire_console,
        wiring.wire_cloud_link,
        wiring.wire_appwrite_mirror,
        wiring.wire_sdnotify,
    ]


def build(
    config: Config,
    *,
    store: Store | None = None,
    clock: Callable[[], float] = time.time,
    adapters: list[AdapterFactory] | None = None,
) -> Box:
    config.data_dir.mkdir(parents=True, exist_ok=True)
    runtime = Runtime(store if store is not None else FileStore(config.data_dir), clock)
    box = Box(config=config, runtime=runtime)
    for factory in default_adapters() if adapters is None else adapters:
        adapter = factory(box)
        if adapter is not None:
            box.adapters.append(adapter)
    return box
