"""PIN attempts: per-address rate limit with a lockout, plus a venue-wide ceiling so many
addresses cannot share the guessing. While locked out even the right PIN is refused."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

WINDOW = 600.0  # seconds over which failures count
PER_ADDRESS = 5  # failures before an address is locked out
LOCKOUT = 300.0  # seconds
GLOBAL_LIMIT = 50  # failures in WINDOW from everyone before logins pause
GLOBAL_LOCKOUT = 60.0


class LoginLimiter:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._failures: dict[str, deque[float]] = {}
        self._locked_until: dict[str, float] = {}
        self._all: deque[float] = deque()
        self._global_until = 0.0

    def retry_after(self, address: str) -> float:
        """Seconds this address must wait before trying again (0: may try now)."""
        now = self._clock()
        with self._lock:
            wait = max(self._locked_until.get(address, 0.0), self._global_until) - now
        return max(0.0, wait)

    def failed(self, address: str) -> None:
        now = self._clock()
        with self._lock:
            recent = self._failures.setdefault(address, deque())
            recent.append(now)
            while recent and now - recent[0] > WINDOW:
                recent.popleft()
            if len(recent) >= PER_ADDRESS:
                self._locked_until[address] = now + LOCKOUT
                recent.clear()
            self._all.append(now)
            while self._all and now - self._all[0] > WINDOW:
                self._all.popleft()
            if len(self._all) >= GLOBAL_LIMIT:
                self._global_until = now + GLOBAL_LOCKOUT
                self._all.clear()
            if len(self._failures) > 10_000:  # forget the quiet ones
                self._failures = {k: v for k, v in self._failures.items() if v}

    def succeeded(self, address: str) -> None:
        with self._lock:
            self._failures.pop(address, None)


class GuestLimiter:
    """Guest sessions per address, so one phone cannot flood the users table."""

    def __init__(self, limit: int = 30, window: float = 600.0, clock=time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._lock = threading.Lock()
        self._seen: dict[str, deque[float]] = {}

    def allow(self, address: str) -> bool:
        now = self._clock()
        with self._lock:
            recent = self._seen.setdefault(address, deque())
            while recent and now - recent[0] > self.window:
                recent.popleft()
            if len(recent) >= self.limit:
                return False
            recent.append(now)
            return True
