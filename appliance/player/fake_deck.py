"""`FakeDeck`: a deterministic in-memory `Deck` on a `FakeClock` the test drives, so the
mixer's crossfades, stops and recovery are tested without mpv (in the manner of
gpiozero's mock pin factory and mopidy's dummy audio).

A deck's position moves only when the clock is advanced and the deck is playing (loaded,
unpaused, alive, not stalled, not at its end). It reports through the same callback an
`MpvDeck` uses, with the same kinds: "loaded" on a load, "end" ({"reason": "aborted"})
when a loaded file is replaced or stopped, "end" ({"reason": "error"}) for a file it
cannot play (no duration known), "end" ({"reason": "eof"}) then "switched" when it moves
on to a queued file, and "dead" when its core dies. Like an mpv deck with `keep-open`, a
file that ends without a queued one stays loaded with `eof` set.

`die()` and `stall()` break a deck on purpose; every call is kept in `calls` and every
crossfade level in `levels`, each with the clock's time.

    clock = FakeClock()
    decks = FakeDeckFactory(clock, {Path("/m/a.mp4"): 180.0})
    mixer = Mixer(post, source, DeckOutput(video="null"), deck_factory=decks, clock=clock)
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from appliance.player.deck_port import DeckListener

if TYPE_CHECKING:
    from appliance.player.deck import DeckOutput
    from appliance.player.deck_port import DeckFactory


class FakeClock:
    """Monotonic seconds that move only by `advance`; the decks it made move with it."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self._decks: list[FakeDeck] = []
        self._order = itertools.count()

    def __call__(self) -> float:
        return self.now

    def order(self) -> int:
        """A number for each call on any of its decks, in the order they happen."""
        return next(self._order)

    def watch(self, deck: FakeDeck) -> None:
        self._decks.append(deck)

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a monotonic clock does not go back")
        self.now += seconds
        for deck in list(self._decks):
            deck.advance(seconds)


@dataclass(frozen=True)
class Call:
    at: float  # the clock's time
    order: int  # across all the clock's decks
    name: str  # the Deck method
    args: tuple[Any, ...] = ()


class FakeDeck:
    """A `Deck` in memory. `durations` gives each playable file's length (s); a file not
    in it plays for `default_duration`, or fails to open if that is None."""

    def __init__(
        self,
        name: str,
        output: DeckOutput | None,
        on_event: DeckListener,
        *,
        clock: FakeClock,
        durations: Mapping[Path, float] | None = None,
        default_duration: float | None = None,
    ) -> None:
        self.name = name
        self.output = output
        self._on_event = on_event
        self.clock = clock
        self.durations: Mapping[Path, float] = durations if durations is not None else {}
        self.default_duration = default_duration
        self.path: Path | None = None
        self.queued: Path | None = None
        self.duration: float | None = None
        self.gain = 0.0
        self.master = 100.0
        self.trim = 1.0
        self.muted = False
        self.paused = True
        self.eof = False
        self.buffering = False
        self.idle = True
        self.video_shown = False
        self.stalled = False
        self.terminated = False
        self.last_progress = clock()
        self.properties: dict[str, Any] = {}
        self.calls: list[Call] = []
        self.levels: list[tuple[float, float]] = []  # (time, gain) at every gain change
        self._alive = True
        self._position = 0.0
        clock.watch(self)

    # -- what the test does ----------------------------------------------------------------

    def die(self) -> None:
        """The core dies: no more playing, `alive` false, "dead" reported."""
        self._alive = False
        self._emit("dead")

    def stall(self, stalled: bool = True) -> None:
        """The clock of a playing deck stops (a stuck decoder or output), or moves again."""
        self.stalled = stalled

    def advance(self, seconds: float) -> None:
        """The clock moved on `seconds` (called by `FakeClock.advance`)."""
        if not self.playing or self.duration is None:
            return
        self._position += seconds
        self.last_progress = self.clock()
        if self._position < self.duration:
            return
        overflow = self._position - self.duration
        if self.queued is None:  # keep-open: the finished file stays loaded
            self._position, self.eof = self.duration, True
            return
        self._emit("end", reason="eof", error="")
        self.path, self.queued = self.queued, None
        self.duration = self._length(self.path)
        self._position = min(overflow, self.duration or 0.0)
        self.eof = False
        self._emit("switched")

    @property
    def playing(self) -> bool:
        return (
            self._alive
            and self.loaded
            and not self.paused
            and not self.stalled
            and not self.eof
            and not self.buffering
        )

    def called(self, name: str) -> list[Call]:
        return [c for c in self.calls if c.name == name]

    # -- the Deck --------------------------------------------------------------------------

    @property
    def alive(self) -> bool:
        return self._alive

    @property
    def loaded(self) -> bool:
        return self.path is not None and not self.idle

    def position(self) -> float:
        return self._position

    def remaining(self) -> float | None:
        if not self.duration:
            return None
        return max(0.0, self.duration - self._position)

    def load(self, path: Path, start: float = 0.0, paused: bool = True, video: bool = True) -> None:
        self._record("load", path, start, paused, video)
        if self.loaded:
            self._emit("end", reason="aborted", error="")
        self.path, self.queued = path, None
        self.paused, self.eof, self.video_shown = paused, False, video
        self.duration = self._length(path)
        if self.duration is None:
            self.idle = True
            self._emit("end", reason="error", error="unrecognized file format")
            return
        self.idle = False
        self._position = min(max(0.0, start), self.duration)
        self.last_progress = self.clock()
        self._emit("loaded")

    def queue_next(self, path: Path) -> None:
        self._record("queue_next", path)
        self.queued = path

    def drop_finished(self) -> None:
        self._record("drop_finished")

    def show_overlay(self, ass_events: str) -> None:
        self._record("show_overlay", ass_events)

    def show_logo(self, raw: Path | None) -> None:
        self._record("show_logo", raw)

    def show_video(self) -> None:
        self._record("show_video")
        self.video_shown = True

    def play(self) -> None:
        self._record("play")
        self.paused = False
        self.last_progress = self.clock()

    def pause(self) -> None:
        self._record("pause")
        self.paused = True

    def seek(self, position: float) -> None:
        self._record("seek", position)
        self.eof = False
        self._position = min(max(0.0, position), self.duration or 0.0)
        self.last_progress = self.clock()

    def stop(self) -> None:
        self._record("stop")
        was_loaded = self.loaded
        self.paused, self.idle = True, True
        self.path = self.queued = None
        if was_loaded:
            self._emit("end", reason="aborted", error="")

    def set_level(
        self, gain: float | None = None, master: float | None = None, trim: float | None = None
    ) -> None:
        self._record("set_level", gain, master, trim)
        self._refuse_when_dead()
        if gain is not None:
            self.gain = min(1.0, max(0.0, gain))
            self.levels.append((self.clock(), self.gain))
        if master is not None:
            self.master = min(100.0, max(0.0, master))
        if trim is not None:
            self.trim = max(0.0, trim)

    @property
    def volume(self) -> float:
        """What an mpv deck would set its volume to (the same formula)."""
        return self.master * (self.gain * self.trim) ** (1.0 / 3.0)

    def set_mute(self, muted: bool) -> None:
        self._record("set_mute", muted)
        self._refuse_when_dead()
        self.muted = muted

    def set_property(self, name: str, value: Any) -> None:
        self._record("set_property", name, value)
        self._refuse_when_dead()
        self.properties[name] = value

    def terminate(self) -> None:
        self._record("terminate")
        was_alive, self._alive, self.terminated = self._alive, False, True
        if was_alive:
            self._emit("dead")

    # -- inside ----------------------------------------------------------------------------

    def _refuse_when_dead(self) -> None:
        if not self._alive:  # as python-mpv's ShutdownError from a core that has shut down
            raise RuntimeError(f"deck {self.name}: its core has shut down")

    def _length(self, path: Path) -> float | None:
        return self.durations.get(path, self.default_duration)

    def _record(self, name: str, *args: Any) -> None:
        self.calls.append(Call(self.clock(), self.clock.order(), name, args))

    def _emit(self, kind: str, **data: Any) -> None:
        self._on_event(self, kind, data)


class FakeDeckFactory:
    """A `DeckFactory` making `FakeDeck`s on one clock; `made` keeps every deck made, in
    order (a rebuilt deck is a new one with the old one's name)."""

    def __init__(
        self,
        clock: FakeClock,
        durations: Mapping[Path, float] | None = None,
        default_duration: float | None = None,
    ) -> None:
        self.clock = clock
        self.durations = dict(durations or {})
        self.default_duration = default_duration
        self.made: list[FakeDeck] = []

    def __call__(self, name: str, output: DeckOutput, on_event: DeckListener) -> FakeDeck:
        deck = FakeDeck(
            name,
            output,
            on_event,
            clock=self.clock,
            durations=self.durations,
            default_duration=self.default_duration,
        )
        self.made.append(deck)
        return deck

    def named(self, name: str) -> FakeDeck:
        """The newest deck of that name (after a rebuild, the new one)."""
        return next(d for d in reversed(self.made) if d.name == name)


if TYPE_CHECKING:  # mypy proves the fakes are what the mixer takes
    _factory: DeckFactory = FakeDeckFactory(FakeClock())
