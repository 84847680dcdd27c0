"""`Mixer`: two decks (`MpvDeck`s), executing the engine's effects and reporting what
happens.

The next track is preloaded paused on the idle deck. When the live track has
`crossfade_time + LEAD` seconds left the mixer reports `TrackEnded`; the engine answers
with `PlayTrack`, and the incoming deck starts exactly `crossfade_time` before the live
one ends, with an equal-power ramp (sin in, cos out). `crossfade_time = 0` starts it at
the live track's last sample (gapless). A skip crossfades over at most `SKIP_FADE`
(crossfade.py).

Stops: `FadeOutStop` ramps every deck to silence (cos curve, strictly decreasing) and
unloads; `EmergencyStop` pauses both decks at once (the audio stream is corked, so the
buffer is dropped, not played out) and holds until the engine restarts playback.

The effect sink never waits for a download: a track that is not local yet is fetched
by the media source and started when it arrives, or reported `PlayerError`.
A deck whose core dies, or whose clock stops while it should be playing, is rebuilt and
the track reloaded at its last position. `Heartbeat` every `heartbeat_every` seconds.

The decks come from `deck_factory` (`MpvDeck`; a test passes `FakeDeck`s) and the time
from `clock` (`time.monotonic`). `start()` runs the loop on its own thread, which calls
`step()`; `start(thread=False)` leaves `step()` to the caller (a test driving the clock).
The state the transport functions (`stops`, `ticks`, `recovery`) work on is `decks`.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from appliance.core import messages as m
from appliance.core.loudness import Loudness
from appliance.core.model import PlayerSettings, QueueItem, State
from appliance.core.outputs import (
    Announce,
    ApplySettings,
    Effect,
    EmergencyStop,
    FadeOutStop,
    Pause,
    PlayTrack,
    Prefetch,
    Resume,
    Seek,
    StopPlayback,
)
from appliance.player import recovery, stops, ticks
from appliance.player.announcer import Announcer, ClipFiles, ClipLoudness
from appliance.player.crossfade import VOLUME_LATENCY, Crossfader
from appliance.player.deck import DeckOutput, MpvDeck
from appliance.player.deck_port import Deck, DeckFactory
from appliance.player.decks import Decks
from appliance.player.slot import MediaSource, Slot
from appliance.player.standin import PLAYER
from appliance.player.tuning import normalisation_amplitude, retune

log = logging.getLogger(__name__)

STOP_BUDGET = 2.0  # s: the longest the player may take to stop (systemd waits for the box)


class Mixer:
    def __init__(
        self,
        post: Callable[[m.Message], None],
        source: MediaSource,
        output: DeckOutput,
        *,
        player_id: str = "mpv",
        heartbeat_every: float = 5.0,
        status_every: float = 1.0,
        stall_timeout: float = 8.0,
        volume_latency: float = VOLUME_LATENCY,
        deck_factory: DeckFactory = MpvDeck,
        loudness: Callable[[str], Loudness | None] | None = None,
        clips: ClipFiles | None = None,
        clip_loudness: ClipLoudness | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.post = post
        self.source = source
        self.output = output
        self.player_id = player_id
        self.heartbeat_every = heartbeat_every
        self.status_every = status_every
        self.stall_timeout = stall_timeout
        self.volume_latency = volume_latency
        self._deck_factory = deck_factory
        self.clock = clock
        self._loudness = loudness  # None: no library to measure tracks, so no normalisation
        self.settings = PlayerSettings()
        self.decks = Decks()
        self.upcoming: tuple[QueueItem, ...] = ()
        self.pending: PlayTrack | None = None
        self.rebuilds = 0
        self._lock = threading.RLock()
        self._wake = threading.Event()
        self._deck_events: queue.SimpleQueue[tuple[Deck, str, dict[str, Any]]] = queue.SimpleQueue()
        self._running = False
        self._thread: threading.Thread | None = None
        self.status = ticks.StatusReport(post, clock, status_every)
        self.heartbeat = ticks.Heartbeat(player_id, heartbeat_every)
        self.af = ""
        self.overlay = ""  # the TV's overlay (ASS events), drawn on every deck
        self.logo: Path | None = None  # the TV's logo (raw BGRA), likewise
        self._early: list[Effect] = []
        self.left_behind: list[str] = []  # decks whose core did not close at stop()
        self.announcer = Announcer(self, clips or (lambda _cid: None), clip_loudness)
        self.crossfader = Crossfader(
            self.decks,
            post,
            clock,
            video=output.video != "null",
            volume_latency=volume_latency,
            normalisation=self.normalisation,
            duck=lambda: self.announcer.duck,
        )

    # -- the state the transport functions work on -----------------------------------------

    @property
    def slots(self) -> list[Slot]:
        return self.decks.slots

    @property
    def live(self) -> Slot | None:
        return self.decks.live

    @live.setter
    def live(self, slot: Slot | None) -> None:
        self.decks.live = slot

    @property
    def transport(self) -> str:
        return self.decks.transport

    @transport.setter
    def transport(self, value: str) -> None:
        self.decks.transport = value

    # -- lifecycle -------------------------------------------------------------------------

    def start(self, *, thread: bool = True) -> None:
        """Make the two decks and play what came early; `thread=False`: no loop thread,
        the caller calls `step()` (a test on a fake clock)."""
        with self._lock:
            self.decks.slots = [Slot(self.new_deck("A")), Slot(self.new_deck("B"))]
            early, self._early = self._early, []
            for effect in early:
                self._apply(effect)
        if thread:
            self._running = True
            self._thread = threading.Thread(target=self._loop, name="mixer", daemon=True)
            self._thread.start()
        self.post(m.PlayerReady(player_id=self.player_id, kind="mpv", actor=PLAYER))

    def stop(self, budget: float = STOP_BUDGET) -> None:
        """Stop the loop and close the decks within `budget` seconds, whatever the outputs
        do: a core stuck opening its audio device blocks every call into it (and
        `terminate()` waits for that core), so a deck that does not close in time is left
        to the process's exit instead of holding it up."""
        deadline = time.monotonic() + budget
        self._running = False
        self._wake.set()
        if self._thread is not None:
            # the loop is only this slow when it is stuck in a call into a stuck core
            self._thread.join(timeout=min(1.0, budget / 3))
            self._thread = None
        locked = self._lock.acquire(timeout=max(0.0, deadline - time.monotonic() - budget / 3))
        try:
            slots = self.decks.take()
        finally:
            if locked:
                self._lock.release()
        clip = self.announcer.close()
        decks = [s.deck for s in slots] + ([clip] if clip is not None else [])
        self.left_behind = stops.close_decks(decks, deadline)

    def new_deck(self, name: str) -> Deck:
        deck = self._deck_factory(name, self.output, self._on_deck_event)
        deck.set_level(gain=0.0, master=self.settings.master_volume)
        deck.set_mute(self.settings.is_muted)
        if self.af:
            deck.set_property("af", self.af)
        if self.overlay:
            deck.show_overlay(self.overlay)
        if self.logo is not None:
            deck.show_logo(self.logo)
        return deck

    def show_logo(self, raw: Path | None) -> None:
        with self._lock:
            self.logo = raw
            for slot in self.slots:
                slot.deck.show_logo(raw)

    def show_overlay(self, ass_events: str) -> None:
        """The TV's overlay on both decks, so it stays up through a crossfade."""
        with self._lock:
            self.overlay = ass_events
            for slot in self.slots:
                slot.deck.show_overlay(ass_events)

    def _on_deck_event(self, deck: Deck, kind: str, data: dict[str, Any]) -> None:
        # mpv's event thread: hand over and return; the loop acts on it.
        self._deck_events.put((deck, kind, data))
        self._wake.set()

    # -- effects (the runtime's sink thread) ------------------------------------------------

    def __call__(self, effects: tuple[Effect, ...], state: State) -> None:
        if any(isinstance(e, EmergencyStop) for e in effects):
            # Silence before waiting for the lock (a tick may hold it): libmpv calls are
            # thread-safe, and a pause is heard at once.
            for slot in list(self.slots):
                slot.deck.pause()
            if self.announcer.deck is not None:
                self.announcer.deck.pause()
        with self._lock:
            if not self.slots:  # the runtime starts before the adapters: hold until start()
                self._early.extend(effects)
                return
            for effect in effects:
                self._apply(effect)
        self._wake.set()

    def _apply(self, effect: Effect) -> None:
        if isinstance(effect, EmergencyStop):
            stops.halt(self.decks, self.status.now, "emergency")
            self.pending = None
            self.announcer.silence()
        elif isinstance(effect, Announce):
            self.announcer.announce(effect.content_id, effect.duck_db)
        elif isinstance(effect, PlayTrack):
            self._play_track(effect)
        elif isinstance(effect, Prefetch):
            self.upcoming = effect.items
        elif isinstance(effect, Pause):
            stops.pause(self.decks, self.status.now)
        elif isinstance(effect, Resume):
            stops.resume(self.decks, self.status.now)
        elif isinstance(effect, Seek):
            stops.seek(self.decks, effect.position)
        elif isinstance(effect, FadeOutStop):
            stops.fade_out(self.decks, self.status.now, effect.seconds, self.clock())
            self.pending = None
        elif isinstance(effect, StopPlayback):
            stops.stop_playback(self.decks, self.clock())
            self.pending = None
        elif isinstance(effect, ApplySettings):
            self.apply_settings(effect.settings)

    def _play_track(self, effect: PlayTrack) -> None:
        self.pending = None
        self.transport = "paused" if effect.paused else "playing"
        path = self.source.locate(effect.item.video_id)
        if path is None:
            self.pending = effect
            self.post(m.PlayerStatus(play_id=effect.play_id, state="buffering", actor=PLAYER))
            self.source.fetch(
                effect.item.video_id, lambda p, err: self._fetched(effect.play_id, p, err)
            )
            return
        self._start(effect, path)

    def _fetched(self, play_id: str, path: Path | None, error: str) -> None:
        with self._lock:
            effect = self.pending
            if effect is None or effect.play_id != play_id:
                return
            self.pending = None
            if path is None:
                self.post(
                    m.PlayerError(
                        play_id=play_id, error_code="unplayable", detail=error, actor=PLAYER
                    )
                )
                return
            self._start(effect, path)
        self._wake.set()

    def _start(self, effect: PlayTrack, path: Path) -> None:
        self.crossfader.start(effect, path, float(self.settings.crossfade_time))

    def normalisation(self, video_id: str) -> float:
        """The track's loudness normalisation as a linear amplitude (1.0: none); fixed for
        a play when it starts, so a measurement finishing mid-track does not move it."""
        if self._loudness is None or not video_id:
            return 1.0
        return normalisation_amplitude(self._loudness(video_id), self.settings)

    @property
    def lock(self) -> threading.RLock:
        return self._lock

    def wake(self) -> None:
        self._wake.set()

    def apply_duck(self) -> None:
        """The music's level under an announcement (or back from one)."""
        for slot in self.slots:
            slot.deck.set_level(trim=slot.trim * self.announcer.duck)

    def apply_settings(self, settings: PlayerSettings) -> None:
        old, self.settings = self.settings, settings
        loudness = (settings.loudness_normalization, settings.loudness_target)
        renormalise = loudness != (old.loudness_normalization, old.loudness_target)
        self.af = retune(
            self.slots,
            settings,
            af_before=self.af,
            window=self.output.video != "null",
            duck=self.announcer.duck,
            # otherwise a play keeps the level it started at
            trim_for=(lambda slot: self.normalisation(slot.video_id)) if renormalise else None,
        )
        self.announcer.apply_settings()

    # -- the loop: ramps, scheduled starts, end detection, reports, recovery ----------------

    def _loop(self) -> None:
        timeout = 0.1
        while self._running:
            self._wake.wait(timeout)
            self._wake.clear()
            if not self._running:
                return
            try:
                timeout = self.step()
            except Exception:  # a bad moment must not stop the music for good
                log.exception("mixer tick failed")
                timeout = 0.1

    def step(self) -> float:
        """One turn of the loop at `clock()`: the decks' events, recovery, ramps and
        scheduled starts, the reports and the heartbeat, the preload, the announcer.
        Returns how soon (seconds) the next turn is wanted."""
        with self._lock:
            self._drain_deck_events()
            now = self.clock()
            recovery.check_decks(self.decks, now, self.stall_timeout, self._rebuild)
            timeout = ticks.tick(
                self.decks,
                now,
                crossfade_time=float(self.settings.crossfade_time),
                post=self.post,
                begin=self.crossfader.begin,
                report=self.status.report,
            )
            self.heartbeat.beat(self.decks, now, self.post)
            recovery.preload_next(
                self.decks, self.upcoming, self.source.locate, video=self.output.video == "null"
            )
            return min(timeout, self.announcer.tick(now))

    def _rebuild(self, slot: Slot, why: str) -> None:
        self.rebuilds += 1
        reapply = self.output.video != "null" or bool(self.af)
        recovery.rebuild(
            self.decks,
            slot,
            why,
            new_deck=self.new_deck,
            post=self.post,
            reapply=(lambda: self.apply_settings(self.settings)) if reapply else None,
        )

    def _drain_deck_events(self) -> None:
        while True:
            try:
                deck, kind, data = self._deck_events.get_nowait()
            except queue.Empty:
                return
            if deck is self.announcer.deck:
                self.announcer.on_event(kind, data)
                continue
            slot = self.decks.slot_of(deck)
            if slot is not None:
                recovery.on_deck_event(
                    self.decks,
                    slot,
                    kind,
                    data,
                    post=self.post,
                    discard=self.source.discard,
                    switched=self.crossfader.switched,
                )
