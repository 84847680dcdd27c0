"""What a runtime subscriber receives: `Published` changes, or a `Resync` when it fell
behind its bounded queue. The owner (a runtime, or the remote console's venue) offers
items and is told when the subscription closes."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

from appliance.core.model import State
from appliance.core.outputs import Event


@dataclass(frozen=True)
class Published:
    """One applied change: its events, the rev and the state they describe."""

    rev: int
    events: tuple[Event, ...]
    state: State


@dataclass(frozen=True)
class Resync:
    """Sent instead of a backlog to a subscriber that fell behind."""

    rev: int
    state: State


class Subscription:
    def __init__(self, runtime: Any, maxsize: int, name: str) -> None:
        self._runtime = runtime
        self._items: deque[Published | Resync] = deque()
        self._cond = threading.Condition()
        self.maxsize = maxsize
        self.name = name
        self.closed = False
        self.overflows = 0

    def _offer(self, item: Published) -> None:
        with self._cond:
            if len(self._items) >= self.maxsize:
                self._items.clear()
                self._items.append(Resync(item.rev, item.state))
                self.overflows += 1
            else:
                self._items.append(item)
            self._cond.notify()

    def get(self, timeout: float | None = None) -> Published | Resync | None:
        """The next item, or None on timeout or once closed."""
        with self._cond:
            if not self._items and not self.closed:
                self._cond.wait(timeout)
            return self._items.popleft() if self._items else None

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()
        self._runtime._unsubscribe(self)
