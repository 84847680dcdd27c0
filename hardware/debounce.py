"""Leading-edge debounce for a gpiozero button.

The first edge acts at once (an emergency stop must not wait for the contact to settle);
edges within `seconds` after an accepted edge are contact bounce and are ignored. If the
contact ends up somewhere else than the last accepted edge says (a tap shorter than the
window), a re-check at the window's end catches up, so no press or release is lost.
Done here rather than in gpiozero because its mock pins do not debounce at all and lgpio's
debounce delays the first edge by the whole window.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol


class Pressable(Protocol):
    """The part of gpiozero's Button used here."""

    when_pressed: Callable[[], None] | None
    when_released: Callable[[], None] | None

    @property
    def is_pressed(self) -> bool: ...


class DebouncedButton:
    def __init__(
        self,
        device: Pressable,
        seconds: float,
        *,
        on_press: Callable[[], None] | None = None,
        on_release: Callable[[], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.device = device
        self.seconds = seconds
        self.on_press = on_press
        self.on_release = on_release
        self._clock = clock
        self._lock = threading.Lock()
        self.pressed = False
        self._last = -float("inf")
        self._recheck: threading.Timer | None = None
        self._closed = False
        self.accepted = 0  # edges that acted
        self.ignored = 0  # edges dropped as bounce
        device.when_pressed = lambda: self._edge(True)
        device.when_released = lambda: self._edge(False)

    def _edge(self, pressed: bool) -> None:
        with self._lock:
            now = self._clock()
            if pressed == self.pressed:
                return
            if now - self._last < self.seconds:
                self.ignored += 1
                self._schedule_recheck(self.seconds - (now - self._last))
                return
            self.pressed = pressed
            self._last = now
            self.accepted += 1
        self._fire(pressed)

    def _schedule_recheck(self, delay: float) -> None:
        if self._recheck is not None:
            return
        timer = threading.Timer(max(delay, 0.001), self._settle)
        timer.daemon = True
        self._recheck = timer
        timer.start()

    def _settle(self) -> None:
        with self._lock:
            self._recheck = None
            if self._closed:
                return
            actual = bool(self.device.is_pressed)
            if actual == self.pressed:
                return
            self.pressed = actual
            self._last = self._clock()
            self.accepted += 1
        self._fire(actual)

    def _fire(self, pressed: bool) -> None:
        handler = self.on_press if pressed else self.on_release
        if handler is not None:
            handler()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            timer, self._recheck = self._recheck, None
        if timer is not None:
            timer.cancel()
        self.device.when_pressed = None
        self.device.when_released = None
