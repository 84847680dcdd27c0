"""What a runtime subscriber receives: `Published` changes, or a `Resync` when it fell
behind its bounded queue. The owner (a runtime, or the remote console's venue) offers
items and is told when the subscription closes."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from appliance.core.model import State
from appliance.core.outputs import Effect, Event


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


T = TypeVar("T")

_held = threading.local()


@contextmanager
def wakes_after() -> Iterator[None]:
    """Within it, what this thread hands to subscribers and effect sinks is queued at once
    (in order, as ever) but their threads are woken only on leaving: a sender writes its
    answer first, not while the hub and the sinks it just woke take the GIL and the
    window's socket from it."""
    if getattr(_held, "conds", None) is not None:  # nested: the outer one wakes them
        yield
        return
    conds: list[threading.Condition] = []
    _held.conds = conds
    try:
        yield
    finally:
        _held.conds = None
        for cond in conds:
            with cond:
                cond.notify()


def _wake(cond: threading.Condition) -> None:
    """Notify `cond` (held by the caller) now, or on leaving this thread's `wakes_after`."""
    conds: list[threading.Condition] | None = getattr(_held, "conds", None)
    if conds is None:
        cond.notify()
    elif cond not in conds:
        conds.append(cond)


class Inbox(Generic[T]):
    """An unbounded FIFO for one consumer thread whose wake-up `wakes_after` can hold."""

    def __init__(self) -> None:
        self._items: deque[T] = deque()
        self._cond = threading.Condition()

    def put(self, item: T) -> None:
        with self._cond:
            self._items.append(item)
            _wake(self._cond)

    def get(self) -> T:
        with self._cond:
            while not self._items:
                self._cond.wait()
            return self._items.popleft()


class Only:
    """An effect sink fed only the effects of `kinds`: an outcome with none of them does
    not wake its thread (the library's sink woke for every volume change, for nothing)."""

    def __init__(self, kinds: tuple[type[Effect], ...], fn: Any) -> None:
        self.kinds, self.fn = kinds, fn

    def __call__(self, effects: tuple[Effect, ...], state: State) -> None:
        self.fn(effects, state)


def effects_for(sink: Any, effects: tuple[Effect, ...]) -> tuple[Effect, ...]:
    """What of `effects` the sink `fn` is fed (all of them, unless it is an `Only`)."""
    if isinstance(sink, Only):
        return tuple(e for e in effects if isinstance(e, sink.kinds))
    return effects


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
            _wake(self._cond)

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
