"""Work done at idle, after the answers are out: drawing the next shuffle ahead.

The runtime hands this each answer as it is given; its own thread waits until no answer
has come for `quiet` seconds, and until the state is the one the last answer gave (a
change applied but not yet answered, its journal write pending, is left alone), then draws
the shuffle a toggle would need from that state (see `core/permutation.py`).
It reads the state only (a frozen value) and keeps no lock of the runtime's: a command that
arrives meanwhile is not held up by a lock, only shares the interpreter for the draw's
couple of milliseconds, and only when the queue's length changed since the last one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from appliance.core import queue
from appliance.core.model import State

log = logging.getLogger(__name__)
QUIET = 0.05  # s without a command before idle work starts


class Ahead:
    def __init__(self, state: Callable[[], State], quiet: float = QUIET) -> None:
        self._state = state
        self._quiet = quiet
        self._wake = threading.Event()
        self._stopped = False
        self._answered = -1  # the rev of the latest answer
        self._thread: threading.Thread | None = None

    def answered(self, answer: Future[Any]) -> None:
        """A change was answered (a Future's done-callback, on the answering thread)."""
        if answer.exception() is None:
            self._answered = max(self._answered, answer.result().rev)
            venue = self._state().venue
            if venue is not None and queue.ahead_pending(venue):  # else no wake-up at all
                self._wake.set()

    def start(self) -> None:
        self._stopped = False
        self._thread = threading.Thread(target=self._loop, name="runtime-ahead", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopped = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _loop(self) -> None:
        while True:
            self._wake.wait()
            while self._wake.is_set() and not self._stopped:  # wait for a quiet spell
                self._wake.clear()
                self._wake.wait(self._quiet)
            if self._stopped:
                return
            state = self._state()
            if state.rev != self._answered or state.venue is None:
                continue  # a change not answered yet: its answer wakes this again
            try:
                queue.draw_ahead(state.venue)
            except Exception:  # idle work must never take the box down
                log.exception("drawing the next shuffle ahead failed")
