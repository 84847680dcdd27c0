"""Volume from the panel: encoder detents and held buttons become `SET_VOLUME`, relative
to the box's current `master_volume`.

Input callbacks only add to a pending delta (they run on gpiozero's threads and must not
block on the store); one worker thread folds whatever arrived into a single `SET_VOLUME`
and waits for it, so the next step starts from the applied value and a fast turn costs a
few messages, not one per detent.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from appliance.core import messages as m
from appliance.runtime_port import RuntimePort
from hardware.commands import PANEL, ReplyObserver
from hardware.pinmap import PanelConfig


class VolumeControl:
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
        self._cond = threading.Condition()
        self._pending = 0
        self._held = 0  # +1 / -1 while a volume button is held
        self._next_repeat = 0.0  # time.monotonic() of the next auto-repeat
        self._last_detent = (-float("inf"), 0)  # (clock time, direction)
        self._streak = 0
        self._stopping = False
        self._thread: threading.Thread | None = None

    # -- inputs (gpiozero threads) ---------------------------------------------------------

    def detent(self, direction: int) -> None:
        """One encoder step; quick successive steps the same way count for more."""
        with self._cond:
            now = self._clock()
            last_at, last_dir = self._last_detent
            if direction == last_dir and now - last_at <= self._cfg.volume_accel_window:
                self._streak += 1
            else:
                self._streak = 0
            self._last_detent = (now, direction)
            multiplier = min(self._cfg.volume_accel_max, 1 + self._streak)
            self._pending += direction * self._cfg.volume_step * multiplier
            self._cond.notify()

    def button(self, direction: int, pressed: bool) -> None:
        """A volume button went down (one step now, repeats while held) or up."""
        with self._cond:
            if pressed:
                self._held = direction
                self._next_repeat = time.monotonic() + self._cfg.repeat_delay
                self._pending += direction * self._cfg.volume_step
            elif self._held == direction:
                self._held = 0
            self._cond.notify()

    # -- the worker ------------------------------------------------------------------------

    def start(self) -> None:
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="panel-volume", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify()
        if self._thread is not None:
            self._thread.join(timeout=15)
            self._thread = None

    def _next_delta(self) -> int | None:
        with self._cond:
            while not self._stopping and self._pending == 0:
                timeout = None
                if self._held:
                    timeout = self._next_repeat - time.monotonic()
                    if timeout <= 0:
                        self._pending += self._held * self._cfg.volume_step
                        self._next_repeat = time.monotonic() + self._cfg.repeat_every
                        break
                self._cond.wait(timeout)
            if self._stopping:
                return None
            delta, self._pending = self._pending, 0
            return delta

    def _run(self) -> None:
        while (delta := self._next_delta()) is not None:
            self._apply(delta)

    def _apply(self, delta: int) -> None:
        venue = self._runtime.state.venue
        if venue is None:
            return
        current = venue.player_settings.master_volume
        target = max(0, min(100, current + delta))
        if target == current:
            return
        msg = m.UiCommand(command="SET_VOLUME", value=target, actor=PANEL)
        try:
            reply = self._runtime.submit(msg, timeout=10.0)
        except TimeoutError:
            return
        if self._on_reply is not None:
            self._on_reply("SET_VOLUME", reply)
