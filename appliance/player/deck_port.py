"""`Deck`: what the mixer, its slots, stops, ticks, recovery and the announcer use of a
deck. `MpvDeck` is the real one (libmpv); `FakeDeck` (fake_deck.py) is an in-memory one
on a clock the test drives, so the mixer's logic is tested without mpv.

A deck reports through one `DeckListener`, `on_event(deck, kind, data)`, with kind
"end" ({"reason", "error"}), "loaded" ({}), "switched" ({}: moved on to the queued file)
or "dead" ({}). A `DeckFactory` makes a deck from its name, its output and that listener.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from appliance.player.deck import DeckOutput


class Deck(Protocol):
    name: str
    path: Path | None  # the file loaded; cleared when it fails
    queued: Path | None  # appended to this deck's playlist, plays next (gapless)
    duration: float | None
    gain: float  # the crossfade's linear amplitude, 0..1
    paused: bool
    eof: bool  # a finished file stays open: the end is this flag
    buffering: bool
    last_progress: float  # when the position last moved (the mixer's clock)

    @property
    def alive(self) -> bool: ...

    @property
    def loaded(self) -> bool: ...

    def position(self) -> float: ...

    def remaining(self) -> float | None: ...

    def load(
        self, path: Path, start: float = 0.0, paused: bool = True, video: bool = True
    ) -> None: ...

    def queue_next(self, path: Path) -> None: ...

    def drop_finished(self) -> None: ...

    def show_overlay(self, ass_events: str) -> None: ...

    def show_logo(self, raw: Path | None) -> None: ...

    def show_video(self) -> None: ...

    def play(self) -> None: ...

    def pause(self) -> None: ...

    def seek(self, position: float) -> None: ...

    def stop(self) -> None: ...

    def set_level(
        self, gain: float | None = None, master: float | None = None, trim: float | None = None
    ) -> None: ...

    def set_mute(self, muted: bool) -> None: ...

    def set_property(self, name: str, value: Any) -> None: ...

    def terminate(self) -> None: ...


DeckListener = Callable[[Deck, str, dict[str, Any]], None]
DeckFactory = Callable[[str, "DeckOutput", DeckListener], Deck]
