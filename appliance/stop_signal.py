"""The main thread's wait for SIGTERM (systemd's stop) or SIGINT (Ctrl-C)."""

from __future__ import annotations

import signal
import threading

WAKE_EVERY = 1.0  # s


class StopSignal:
    """Installs the handlers when made; `wait()` returns once either signal came.

    Python runs a signal's handler on the main thread, and only when that thread runs
    bytecode again. A signal the kernel hands to another thread (any of the box's threads
    may take it) leaves a main thread blocked in `Event.wait()` asleep for good: measured,
    one stop in eight hung until systemd's SIGKILL. So the wait wakes every second."""

    def __init__(self) -> None:
        self._came = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self._came.set())

    def wait(self) -> None:
        while not self._came.wait(WAKE_EVERY):
            pass
