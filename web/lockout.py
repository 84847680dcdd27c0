"""PIN attempts: counted when they arrive (before the body is read and before scrypt),
per address with an escalating lockout, plus a venue-wide ceiling so many addresses
cannot share the guessing. While locked out even the right PIN is refused.

A device that logged staff in before holds a device token (a cookie); its attempts are
counted against the token alone, so strangers filling the venue-wide ceiling never lock
staff out. A token that guesses wrong `PER_DEVICE` times is forgotten, so a copied token
buys no more than a few guesses.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

WINDOW = 600.0  # seconds over which an address's attempts count
PER_ADDRESS = 5  # unsuccessful attempts before an address is locked out
LOCKOUT = 300.0  # seconds, doubled for each lockout in a row
MAX_LOCKOUT = 24 * 3600.0
GLOBAL_WINDOW = 1800.0
GLOBAL_LIMIT = 20  # strangers' failures in GLOBAL_WINDOW before strangers pause
GLOBAL_LOCKOUT = 1800.0
PER_DEVICE = 5
DEVICE_COOKIE = "djamms_device"
DEVICE_TTL = 365 * 24 * 3600
MAX_DEVICES = 200
MAX_ADDRESSES = 10_000


class LoginLimiter:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._attempts: dict[str, deque[float]] = {}
        self._locked_until: dict[str, float] = {}
        self._strikes: dict[str, int] = {}  # lockouts in a row, for the escalation
        self._all: deque[float] = deque()
        self._global_until = 0.0
        self._device_misses: dict[str, int] = {}

    def admit(self, address: str, device: str = "") -> float:
        """Count one attempt now; 0 when it may go ahead, else the seconds to wait.
        `device` is a known device token's hash ("" for strangers)."""
        now = self._clock()
        with self._lock:
            if device and self._device_misses.get(device, 0) < PER_DEVICE:
                self._device_misses[device] = self._device_misses.get(device, 0) + 1
                return 0.0
            wait = max(self._locked_until.get(address, 0.0), self._global_until) - now
            if wait > 0:
                return wait
            recent = self._attempts.setdefault(address, deque())
            while recent and now - recent[0] > WINDOW:
                recent.popleft()
            recent.append(now)
            if len(recent) >= PER_ADDRESS:  # this is the last one before the lockout
                strikes = self._strikes.get(address, 0)
                self._locked_until[address] = now + min(LOCKOUT * 2**strikes, MAX_LOCKOUT)
                self._strikes[address] = strikes + 1
                recent.clear()
            self._all.append(now)
            while self._all and now - self._all[0] > GLOBAL_WINDOW:
                self._all.popleft()
            if len(self._all) >= GLOBAL_LIMIT:
                self._global_until = now + GLOBAL_LOCKOUT
                self._all.clear()
            if len(self._attempts) > MAX_ADDRESSES:  # forget the quiet ones
                self._attempts = {k: v for k, v in self._attempts.items() if v}
                self._locked_until = {k: t for k, t in self._locked_until.items() if t > now}
            return 0.0

    def exhausted(self, device: str) -> bool:
        with self._lock:
            return self._device_misses.get(device, 0) >= PER_DEVICE

    def succeeded(self, address: str, device: str = "") -> None:
        """The attempt was right: it does not count against anyone."""
        with self._lock:
            if device:
                self._device_misses.pop(device, None)
                return
            recent = self._attempts.get(address)
            if recent:
                recent.pop()
            if self._all:
                self._all.pop()
            self._strikes.pop(address, None)
            self._locked_until.pop(address, None)  # a right 5th try locks no one out


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class DeviceTokens:
    """Tokens of devices that logged staff in, kept hashed in a small file under the data
    dir so a tablet stays trusted across restarts."""

    def __init__(self, path: Path | None, clock: Callable[[], float] = time.time) -> None:
        self._path = path
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens: dict[str, float] = {}  # hash -> expiry
        if path is not None and path.exists():
            try:
                rows = json.loads(path.read_text())
                now = clock()
                self._tokens = {str(k): float(v) for k, v in rows.items() if float(v) > now}
            except (OSError, ValueError, TypeError, AttributeError):
                log.warning("device tokens unreadable; staff devices log in as strangers")

    def known(self, token: str | None) -> str:
        """The token's hash when it belongs to a trusted device, else ""."""
        if not token or len(token) > 100:
            return ""
        h = _hash(token)
        expiry = self._tokens.get(h)
        return h if expiry is not None and expiry > self._clock() else ""

    def issue(self) -> str:
        token = secrets.token_urlsafe(32)
        with self._lock:
            if len(self._tokens) >= MAX_DEVICES:  # the one closest to expiry goes
                del self._tokens[min(self._tokens, key=self._tokens.__getitem__)]
            self._tokens[_hash(token)] = self._clock() + DEVICE_TTL
            self._save()
        return token

    def forget(self, token_hash: str) -> None:
        with self._lock:
            if self._tokens.pop(token_hash, None) is not None:
                self._save()

    def _save(self) -> None:
        if self._path is None:
            return
        tmp = self._path.with_suffix(".tmp")
        try:
            with open(tmp, "w") as f:
                json.dump(self._tokens, f)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self._path)
        except OSError:
            log.exception("could not save device tokens")


class GuestLimiter:
    """Guest sessions per address, so one phone cannot flood the users table."""

    def __init__(
        self, limit: int = 30, window: float = 600.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
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
            if len(self._seen) > MAX_ADDRESSES:
                self._seen = {k: v for k, v in self._seen.items() if v}
            return True
