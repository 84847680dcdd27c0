"""`Mixer`: two `MpvDeck`s, executing the engine's effects and reporting what happens.

The next track is preloaded paused on the idle deck. When the live track has
`crossfade_time + LEAD` seconds left the mixer reports `TrackEnded`; the engine answers
with `PlayTrack`, and the incoming deck starts exactly `crossfade_time` before the live
one ends, with an equal-power ramp (sin in, cos out). `crossfade_time = 0` starts it at
the live track's last sample (gapless). A skip crossfades over at most `SKIP_FADE`.

Stops: `FadeOutStop` ramps every deck to silence (cos curve, strictly decreasing) and
unloads; `EmergencyStop` pauses both decks at once (the audio stream is corked, so the
buffer is dropped, not played out) and holds until the engine restarts playback.

The effect sink never waits for a download: a track that is not local yet is fetched
by the media source and started when it arrives, or reported `PlayerError`.
A deck whose core dies, or whose clock stops while it should be playing, is rebuilt and
the track reloaded at its last position. `Heartbeat` every `heartbeat_every` seconds.
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
from appliance.core.loudness import Loudness, db_to_amplitude, track_gain_db
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
from appliance.player import stops, ticks
from appliance.player.announcer import Announcer, ClipFiles, ClipLoudness
from appliance.player.deck import DeckOutput, MpvDeck
from appliance.player.recovery import on_deck_event
from appliance.player.slot import CUT_FADE, MediaSource, Ramp, Slot
from appliance.player.standin import PLAYER
from appliance.player.tuning import audio_filters, display_properties, window_properties

log = logging.getLogger(__name__)

SKIP_FADE = 1.0  # s: the longest crossfade a skip gets
GAPLESS_LEAD = 0.015  # s: start the next deck this much early to hide the unpause latency
GAPLESS_MIN_LEFT = 0.15  # s: less than this left and the next file is started on the other deck
# s: a volume change is heard this much later (the output's buffer), an unpause at once;
# a crossfade therefore starts this much early so its ramps fit before the last sample.
VOLUME_LATENCY = 0.1
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
        deck_factory: Callable[[str, DeckOutput, Any], MpvDeck] = MpvDeck,
        loudness: Callable[[str], Loudness | None] | None = None,
        clips: ClipFiles | None = None,
        clip_loudness: ClipLoudness | None = None,
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
        self._loudness = loudness  # None: no library to measure tracks, so no normalisation
        self.settings = PlayerSettings()
        self.transport = "stopped"
        self.slots: list[Slot] = []
        self.live: Slot | None = None
        self.upcoming: tuple[QueueItem, ...] = ()
        self.pending: PlayTrack | None = None
        self.rebuilds = 0
        self._lock = threading.RLock()
        self._wake = threading.Event()
        self._deck_events: queue.SimpleQueue[tuple[MpvDeck, str, dict[str, Any]]] = (
            queue.SimpleQueue()
        )
        self._running = False
        self._thread: threading.Thread | None = None
        self._last_status = 0.0
        self._last_state = ""
        self.last_heartbeat = 0.0
        self.af = ""
        self.overlay = ""  # the TV's overlay (ASS events), drawn on every deck
        self.logo: Path | None = None  # the TV's logo (raw BGRA), likewise
        self._early: list[Effect] = []
        self.left_behind: list[str] = []  # decks whose core did not close at stop()
        self.announcer = Announcer(self, clips or (lambda _cid: None), clip_loudness)

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        with self._lock:
            self.slots = [Slot(self.new_deck("A")), Slot(self.new_deck("B"))]
            early, self._early = self._early, []
            for effect in early:
                self._apply(effect)
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
            slots, self.slots = self.slots, []
        finally:
            if locked:
                self._lock.release()
        clip = self.announcer.close()
        decks = [s.deck for s in slots] + ([clip] if clip is not None else [])
        self.left_behind = stops.close_decks(decks, deadline)

    def new_deck(self, name: str) -> MpvDeck:
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

    def _on_deck_event(self, deck: MpvDeck, kind: str, data: dict[str, Any]) -> None:
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
            stops.halt(self, "emergency")
            self.announcer.silence()
        elif isinstance(effect, Announce):
            self.announcer.announce(effect.content_id, effect.duck_db)
        elif isinstance(effect, PlayTrack):
            self._play_track(effect)
        elif isinstance(effect, Prefetch):
            self.upcoming = effect.items
        elif isinstance(effect, Pause):
            stops.pause(self)
        elif isinstance(effect, Resume):
            stops.resume(self)
        elif isinstance(effect, Seek):
            stops.seek(self, effect.position)
        elif isinstance(effect, FadeOutStop):
            stops.fade_out(self, effect.seconds)
        elif isinstance(effect, StopPlayback):
            stops.stop_playback(self)
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

    def _target_for(self, effect: PlayTrack, path: Path) -> Slot:
        free = [s for s in self.slots if s is not self.live]
        for slot in free:
            if (
                not slot.play_id
                and slot.deck.path == path
                and effect.start_at == 0
                and slot.deck.loaded
            ):
                return slot
        slot = free[0] if self.live is not None else self.slots[0]
        if self.live is None and len(free) > 1 and free[0].play_id and not free[1].play_id:
            slot = free[1]
        if slot.play_id:  # an outgoing deck still fading: cut it
            slot.deck.stop()
            slot.clear()
        slot.deck.load(path, effect.start_at, paused=True, video=self.output.video == "null")
        return slot

    def _start(self, effect: PlayTrack, path: Path) -> None:
        live = self.live
        if live is not None and live.play_id == effect.play_id:  # reload the same track
            live.deck.stop()
            live.clear()
            self.live = live = None
        if self._gapless(effect, path):
            return
        target = self._target_for(effect, path)
        target.play_id, target.video_id = effect.play_id, effect.item.video_id
        target.started = target.end_reported = False
        target.position = effect.start_at
        target.trim = self.normalisation(target.video_id)
        target.deck.set_level(gain=0.0, trim=target.trim * self.announcer.duck)
        outgoing = live if live is not None and live is not target else None
        self.live = target
        playing = outgoing is not None and not outgoing.deck.paused and outgoing.deck.loaded
        cf = float(self.settings.crossfade_time)
        if effect.paused:
            if outgoing is not None:
                outgoing.deck.stop()
                outgoing.clear()
            target.deck.set_level(gain=1.0)
            return
        if not playing or effect.transition == "cut" or outgoing is None:
            if outgoing is not None:
                self.fade_slot(outgoing, CUT_FADE)
            self.begin(target, 0.0)
        elif effect.transition == "skip":
            fade = min(cf, SKIP_FADE)
            self.fade_slot(outgoing, fade if fade > 0 else CUT_FADE)
            self.begin(target, fade)
        else:
            left = outgoing.deck.remaining() or 0.0
            target.fade = min(cf, left)
            target.begin_when_left = target.fade + self.volume_latency if cf > 0 else GAPLESS_LEAD
            if left <= target.begin_when_left:
                self.begin(target, target.fade)

    def _gapless(self, effect: PlayTrack, path: Path) -> bool:
        """crossfade_time = 0: the live deck's mpv plays on into the next file (gapless
        audio, sample-exact), rather than a second deck started on a timer."""
        live = self.live
        if (
            effect.transition != "crossfade"
            or self.settings.crossfade_time > 0
            or effect.paused
            or effect.start_at > 0
            or live is None
            or not live.play_id
            or live.deck.paused
            or live.deck.queued is not None
            or (live.deck.remaining() or 0.0) < GAPLESS_MIN_LEFT
        ):
            return False
        live.deck.queue_next(path)
        live.next_play_id, live.next_video_id = effect.play_id, effect.item.video_id
        return True

    def switched(self, slot: Slot) -> None:
        """The deck moved on to its queued file: that is now the live track."""
        if not slot.next_play_id:
            return
        slot.play_id, slot.video_id = slot.next_play_id, slot.next_video_id
        slot.next_play_id = slot.next_video_id = ""
        slot.started, slot.end_reported, slot.position = True, False, 0.0
        slot.trim = self.normalisation(slot.video_id)
        slot.deck.set_level(trim=slot.trim * self.announcer.duck)
        slot.deck.drop_finished()
        self.post(m.TrackStarted(play_id=slot.play_id, actor=PLAYER))

    def begin(self, slot: Slot, fade: float) -> None:
        """Unpause `slot` (ramping in over `fade`) and ramp out whatever else plays."""
        slot.begin_when_left = None
        for other in self.slots:
            if other is not slot and other.play_id and not other.deck.paused:
                left = other.deck.remaining()
                self.fade_slot(other, min(fade, left) if left is not None else fade)
        now = time.monotonic()
        if fade > 0:
            slot.deck.set_level(gain=0.0)
            slot.ramp = Ramp(now, fade, 0.0, 1.0)
        else:
            slot.deck.set_level(gain=1.0)
        if self.output.video != "null":
            slot.deck.show_video()
        slot.deck.play()
        slot.started = True
        self.post(m.TrackStarted(play_id=slot.play_id, actor=PLAYER))

    def fade_slot(self, slot: Slot, seconds: float) -> None:
        slot.ramp = Ramp(time.monotonic(), max(0.0, seconds), slot.deck.gain, 0.0)
        slot.stop_after_ramp = True
        slot.end_reported = True

    def normalisation(self, video_id: str) -> float:
        """The track's loudness normalisation as a linear amplitude (1.0: none); fixed for
        a play when it starts, so a measurement finishing mid-track does not move it."""
        if self._loudness is None or not video_id:
            return 1.0
        measured = self._loudness(video_id)
        settings = self.settings
        gain = track_gain_db(
            measured, settings.loudness_target, enabled=settings.loudness_normalization
        )
        return db_to_amplitude(gain)

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
        old = self.settings
        renormalise = (old.loudness_normalization, old.loudness_target) != (
            settings.loudness_normalization,
            settings.loudness_target,
        )
        self.settings = settings
        af = audio_filters(settings)
        video = display_properties(settings)
        if self.output.video != "null":
            video.update(window_properties(settings))
        for slot in self.slots:
            deck = slot.deck
            if renormalise:  # otherwise a play keeps the level it started at
                slot.trim = self.normalisation(slot.video_id)
            deck.set_level(master=settings.master_volume, trim=slot.trim * self.announcer.duck)
            deck.set_mute(settings.is_muted)
            if af != self.af:
                deck.set_property("af", af)
            for name, value in video.items():
                deck.set_property(name, value)
        self.af = af
        self.announcer.apply_settings()

    # -- the loop: ramps, scheduled starts, end detection, reports, recovery ----------------

    def _loop(self) -> None:
        timeout = 0.1
        while self._running:
            self._wake.wait(timeout)
            self._wake.clear()
            if not self._running:
                return
            with self._lock:
                try:
                    self._drain_deck_events()
                    now = time.monotonic()
                    timeout = min(ticks.tick(self, now), self.announcer.tick(now))
                except Exception:  # a bad moment must not stop the music for good
                    log.exception("mixer tick failed")
                    timeout = 0.1

    def _slot_of(self, deck: MpvDeck) -> Slot | None:
        return next((s for s in self.slots if s.deck is deck), None)

    def _drain_deck_events(self) -> None:
        while True:
            try:
                deck, kind, data = self._deck_events.get_nowait()
            except queue.Empty:
                return
            if deck is self.announcer.deck:
                self.announcer.on_event(kind, data)
                continue
            slot = self._slot_of(deck)
            if slot is not None:
                on_deck_event(self, slot, kind, data)

    def report_status(self, slot: Slot, state: str, force: bool = False) -> None:
        now = time.monotonic()
        position = slot.deck.position() if slot.deck.loaded else slot.position
        slot.position = position
        if not force and state == self._last_state and now - self._last_status < self.status_every:
            return
        self._last_state, self._last_status = state, now
        self.post(
            m.PlayerStatus(
                play_id=slot.play_id,
                state=state,
                position=round(position, 3),
                duration=float(slot.deck.duration or 0.0),
                actor=PLAYER,
            )
        )
