"""Is a remote command fresh? Judged without trusting the box's wall clock.

A Pi has no real-time clock: until NTP syncs, its wall clock may be hours or years off,
so "issuedAt vs. now" would refuse every command. Two rules instead:

- Always, on the sender's own timeline: per sender, `offset = monotonic receive time -
  issuedAt` is the sender's clock difference plus the trip's delay. The smallest offset
  seen recently is the base (the quickest trip); a command whose offset exceeds the base
  by more than `max_age` was held back or replayed late: `expired`. Bases are per sender,
  so one sender's wrong clock cannot lock out another; a base lives one to two `window`s,
  so a sender whose clock steps back is refused only until its base ages out.
- Only when the box clock is known synced (`synced()`): the wall-clock age and
  `from_future` rules as well, which also judge a sender's first command.

Replay of the same `commandId` is the runtime's job (it applies a repeat once).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from appliance.commands import CommandError

# systemd-timesyncd creates it once the clock is synchronised; the unit's ProtectClock
# forbids adjtimex(), so this file is what we can see.
SYNC_FLAG = Path("/run/systemd/timesync/synchronized")


def timesyncd_synced() -> bool:
    return SYNC_FLAG.exists()


@dataclass
class _Base:
    """The smallest offset in the current and the previous window (a cheap sliding min)."""

    started: float  # monotonic start of the current window
    current: float | None = None
    previous: float | None = None

    def roll(self, now: float, window: float) -> None:
        elapsed = now - self.started
        if elapsed >= window:
            self.previous = self.current if elapsed < 2 * window else None
            self.current = None
            self.started = now

    def value(self) -> float | None:
        known = [x for x in (self.current, self.previous) if x is not None]
        return min(known) if known else None

    def add(self, offset: float) -> None:
        self.current = offset if self.current is None else min(self.current, offset)


class Freshness:
    def __init__(
        self,
        max_age: float,
        max_skew: float,
        *,
        window: float = 900.0,
        max_senders: int = 256,
        wall: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        synced: Callable[[], bool] = timesyncd_synced,
    ) -> None:
        self.max_age = max_age
        self.max_skew = max_skew
        self.window = window
        self.max_senders = max_senders
        self._wall = wall
        self._monotonic = monotonic
        self._synced = synced
        self._bases: OrderedDict[str, _Base] = OrderedDict()

    def check(self, sender: str, issued_at: float) -> None:
        """Raise CommandError (`expired` or `from_future`) unless the command is fresh."""
        now = self._monotonic()
        if self._synced():
            self._check_wall_clock(issued_at)
        offset = now - issued_at
        base = self._bases.get(sender)
        if base is not None:
            base.roll(now, self.window)
            lowest = base.value()
            if lowest is not None and offset - lowest > self.max_age:
                late = offset - lowest
                raise CommandError(
                    "expired",
                    f"The command arrived {late:.0f} s later than this sender's commands "
                    f"take; commands held back more than {self.max_age:.0f} s are not applied.",
                    410,
                )
        self._record(sender, now, offset)

    def _check_wall_clock(self, issued_at: float) -> None:
        age = self._wall() - issued_at
        if age > self.max_age:
            raise CommandError(
                "expired",
                f"The command was issued {age:.0f} s ago; commands older than "
                f"{self.max_age:.0f} s are not applied.",
                410,
            )
        if age < -self.max_skew:
            raise CommandError(
                "from_future", f"The command is stamped {-age:.0f} s in the future.", 400
            )

    def _record(self, sender: str, now: float, offset: float) -> None:
        base = self._bases.get(sender)
        if base is None:
            base = self._bases[sender] = _Base(started=now)
        self._bases.move_to_end(sender)
        base.add(offset)
        while len(self._bases) > self.max_senders:  # bounded: forget the longest-quiet
            self._bases.popitem(last=False)
