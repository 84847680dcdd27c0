"""The panel's buttons as core commands.

- EMERGENCY STOP acts on the press edge: `EMERGENCY_STOP` (the core latches it).
- PLAY/PAUSE acts on release (`PLAY_PAUSE`) unless it was held: a `resume_hold` hold sends
  `RESUME` when the box is stopped, paused or emergency-stopped.
- SKIP acts on release (`PLAY_NEXT` naming the current `play_id`; a second press within
  `double_press_window` names the same track, so a double press skips once); a `skip_hold`
  hold sends `FADE_OUT_STOP`.
- VOLUME UP/DOWN and the encoder go to `VolumeControl`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from appliance.core import messages as m
from appliance.runtime import Reply
from appliance.runtime_port import RuntimePort
from hardware.debounce import DebouncedButton
from hardware.pinmap import PanelConfig

log = logging.getLogger("djamms.panel")

PANEL = m.Actor(user_id="panel", role="admin", source="panel")
RESUMABLE = frozenset({"emergency", "stopped", "paused"})


ReplyObserver = Callable[[str, Reply], None]


class TransportButtons:
    def __init__(
        self,
        runtime: RuntimePort,
        cfg: PanelConfig,
        *,
        clock: Callable[[], float] = time.monotonic,
        on_reply: ReplyObserver | None = None,
    ) -> None:
        self._runtime = runtime
        self._cfg = cfg
        self._clock = clock
        self._on_reply = on_reply
        self._held: dict[str, bool] = {}
        self._last_skip = (-float("inf"), "")  # (clock time, play_id it named)
        self._lock = threading.Lock()

    # -- handlers wired to DebouncedButton / gpiozero's when_held --------------------------

    def emergency_pressed(self) -> None:
        self.send("EMERGENCY_STOP")

    def pressed(self, role: str) -> None:
        self._held[role] = False

    def play_pause_released(self) -> None:
        if not self._held.get("play_pause"):
            self.send("PLAY_PAUSE")

    def play_pause_held(self, button: DebouncedButton) -> None:
        if not button.pressed or self._held.get("play_pause"):
            return
        self._held["play_pause"] = True
        venue = self._runtime.state.venue
        if venue is not None and venue.transport in RESUMABLE:
            self.send("RESUME")

    def skip_released(self) -> None:
        if self._held.get("skip"):
            return
        venue = self._runtime.state.venue
        np = venue.now_playing if venue else None
        current = np.play_id if np else ""
        with self._lock:
            now = self._clock()
            last_at, last_id = self._last_skip
            play_id = last_id if now - last_at < self._cfg.double_press_window else current
            self._last_skip = (now, play_id)
        self.send("PLAY_NEXT", play_id=play_id)

    def skip_held(self, button: DebouncedButton) -> None:
        if not button.pressed or self._held.get("skip"):
            return
        self._held["skip"] = True
        self.send("FADE_OUT_STOP")

    # -- sending ---------------------------------------------------------------------------

    def send(self, command: str, **fields: Any) -> Future[Reply]:
        """Submit without blocking the GPIO thread; the reply is logged when it comes."""
        msg = m.UiCommand(command=command, actor=PANEL, **fields)
        fut = self._runtime.submit_async(msg)
        fut.add_done_callback(lambda f: self._replied(command, f))
        return fut

    def _replied(self, command: str, fut: Future[Reply]) -> None:
        reply = fut.result()
        if not reply.ok and reply.error:
            log.info("panel: %s refused: %s", command, reply.error.get("message", ""))
        if self._on_reply is not None:
            self._on_reply(command, reply)
