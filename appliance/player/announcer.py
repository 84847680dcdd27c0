"""`Announcer`: a gallery clip played over the music on a third mpv deck, the music ducked.

On `Announce` the mixer's decks ramp down by `duck_db` over `DUCK_RAMP`, the clip plays at
the venue's loudness target (its loudness measured once, like a track's), and when it ends
the music ramps back and the core hears `AnnouncementFinished`. A new announcement replaces
one still playing; the emergency stop silences the clip with the music. Runs under the
mixer's lock, on the mixer's threads; the clip deck is made on the first announcement.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from appliance.core import messages as m
from appliance.core.loudness import Loudness, db_to_amplitude, track_gain_db
from appliance.player.deck_port import Deck
from appliance.player.slot import Ramp
from appliance.player.standin import PLAYER

if TYPE_CHECKING:
    from appliance.player.mixer import Mixer

log = logging.getLogger(__name__)

DUCK_RAMP = 0.3  # s: down before the clip starts, back up after it ends

ClipFiles = Callable[[str], Path | None]  # content id -> the clip's file
ClipLoudness = Callable[[str, Path], Loudness | None]  # measured now if need be


class Announcer:
    def __init__(
        self, mixer: Mixer, clips: ClipFiles, loudness: ClipLoudness | None = None
    ) -> None:
        self.mixer = mixer
        self.clips = clips
        self.loudness = loudness
        self.deck: Deck | None = None
        self.content_id = ""
        self.duck = 1.0  # the music's gain factor now
        self.ramp: Ramp | None = None
        self.start_at: float | None = None  # the clip starts when the music is down
        self._token = 0  # the latest announcement (or stop); older starts are dropped
        self._pending = ""  # being measured, not started yet

    @property
    def playing(self) -> bool:
        return bool(self.content_id)

    def announce(self, content_id: str, duck_db: float) -> None:
        """Measure the clip off the mixer's lock (a few hundred ms the first time), then
        start it, unless another announcement or a stop came first."""
        if self.content_id:
            self._finish("replaced")
        if self._pending:
            self._post(self._pending, "replaced")
            self._pending = ""
        path = self.clips(content_id)
        if path is None:
            self._post(content_id, "missing")
            return
        self._token += 1
        token = self._token
        self._pending = content_id

        def measure_then_start() -> None:
            key = f"content:{content_id}"
            measured = self.loudness(key, path) if self.loudness else None
            with self.mixer.lock:
                if token == self._token:
                    self._pending = ""
                    self._start(content_id, path, measured, duck_db)
            self.mixer.wake()

        threading.Thread(target=measure_then_start, name="announce", daemon=True).start()

    def _start(
        self, content_id: str, path: Path, measured: Loudness | None, duck_db: float
    ) -> None:
        if not self.mixer.slots:  # the player stopped meanwhile
            return
        deck = self._deck()
        settings = self.mixer.settings
        gain = track_gain_db(
            measured, settings.loudness_target, enabled=settings.loudness_normalization
        )
        deck.set_level(gain=1.0, master=settings.master_volume, trim=db_to_amplitude(gain))
        deck.load(path, 0.0, paused=True, video=False)
        self.content_id = content_id
        now = self.mixer.clock()
        self.ramp = Ramp(now, DUCK_RAMP, self.duck, db_to_amplitude(-abs(duck_db)))
        self.start_at = now + DUCK_RAMP

    def tick(self, now: float) -> float:
        """Ramps and the scheduled start; the next wake-up wanted."""
        timeout = 0.1
        if self.ramp is not None:
            self.duck, done = self.ramp.gain(now)
            self.mixer.apply_duck()
            timeout = 0.01
            if done:
                self.ramp = None
        if self.start_at is not None and now >= self.start_at and self.deck is not None:
            self.start_at = None
            self.deck.play()
        elif self.content_id and self.start_at is None and self.deck is not None:
            if self.deck.eof:  # decks keep a finished file open: the end is eof-reached
                self._finish("eof")
            else:
                timeout = min(timeout, 0.05)
        return timeout

    def on_event(self, kind: str, data: dict[str, Any]) -> None:
        if not self.content_id:
            return
        if kind == "end" and data.get("reason") in ("eof", "error"):
            self._finish(str(data["reason"]))
        elif kind == "dead":
            self.deck = None
            self._finish("error")

    def silence(self) -> None:
        """The emergency stop: the clip stops at once, the music (also stopped) un-ducked."""
        self._token += 1
        if self._pending:  # stopped before it started: the consoles still hear it ended
            self._post(self._pending, "stopped")
            self._pending = ""
        if self.deck is not None:
            self.deck.pause()
        if self.content_id:
            self._finish("stopped", ramp=False)

    def apply_settings(self) -> None:
        if self.deck is not None:
            self.deck.set_level(master=self.mixer.settings.master_volume)
            self.deck.set_mute(self.mixer.settings.is_muted)

    def close(self) -> Deck | None:
        deck, self.deck = self.deck, None
        return deck

    def _deck(self) -> Deck:
        if self.deck is None:
            self.deck = self.mixer.new_deck("announce")
        return self.deck

    def _finish(self, reason: str, ramp: bool = True) -> None:
        content_id, self.content_id = self.content_id, ""
        self.start_at = None
        if self.deck is not None:
            self.deck.stop()
        if ramp:
            self.ramp = Ramp(self.mixer.clock(), DUCK_RAMP, self.duck, 1.0)
        else:
            self.ramp, self.duck = None, 1.0
            self.mixer.apply_duck()
        self._post(content_id, reason)

    def _post(self, content_id: str, reason: str) -> None:
        self.mixer.post(m.AnnouncementFinished(content_id=content_id, reason=reason, actor=PLAYER))
