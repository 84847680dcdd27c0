"""What the mixer keeps per deck (`Slot`), its equal-power `Ramp`, and the `MediaSource`
port through which it finds local files."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from appliance.player.deck_port import Deck

CUT_FADE = 0.03  # s: a cut is a very short fade, so it does not click


class MediaSource(Protocol):
    """Where the mixer gets local files (the library adapter's resolver and cache)."""

    def locate(self, video_id: str) -> Path | None: ...

    def fetch(self, video_id: str, done: Callable[[Path | None, str], None]) -> None: ...

    def discard(self, video_id: str, reason: str) -> None: ...


@dataclass
class Ramp:
    start: float
    seconds: float
    from_gain: float
    to_gain: float

    def gain(self, now: float) -> tuple[float, bool]:
        """Equal-power: rising as sin, falling as cos of the elapsed quarter turn."""
        x = 1.0 if self.seconds <= 0 else min(1.0, max(0.0, (now - self.start) / self.seconds))
        if self.to_gain >= self.from_gain:
            g = self.from_gain + (self.to_gain - self.from_gain) * math.sin(x * math.pi / 2)
        else:
            g = self.to_gain + (self.from_gain - self.to_gain) * math.cos(x * math.pi / 2)
        return g, x >= 1.0


@dataclass
class Slot:
    deck: Deck
    play_id: str = ""
    video_id: str = ""
    started: bool = False
    end_reported: bool = False
    begin_when_left: float | None = None  # start when the live deck has this much left
    fade: float = 0.0
    ramp: Ramp | None = None
    stop_after_ramp: bool = False
    position: float = 0.0
    failed_preload: str = ""
    next_play_id: str = ""  # queued on this deck's own playlist (gapless)
    next_video_id: str = ""
    trim: float = 1.0  # this play's loudness normalisation (linear), set when it starts

    def fade_away(self, now: float, seconds: float) -> None:
        """Ramp to silence from `now` over `seconds`, then stop (an outgoing deck)."""
        self.ramp = Ramp(now, max(0.0, seconds), self.deck.gain, 0.0)
        self.stop_after_ramp = True
        self.end_reported = True

    def clear(self) -> None:
        self.play_id = self.video_id = self.next_play_id = self.next_video_id = ""
        self.started = self.end_reported = self.stop_after_ramp = False
        self.begin_when_left = None
        self.ramp = None
