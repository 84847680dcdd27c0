"""`Crossfader`: how a track starts on the decks.

The next track is preloaded paused on the idle deck. The incoming deck starts exactly
`crossfade_time` before the live one ends (plus the output's volume latency, so the
ramps fit before the last sample), with an equal-power ramp (sin in, cos out).
`crossfade_time = 0` plays on into the next file on the live deck (gapless). A skip
crossfades over at most `SKIP_FADE`; a cut is a `CUT_FADE`.

It works on the mixer's `Decks` with what it is handed: `post`, the `clock`, whether the
output shows video, the volume latency, the track's loudness `normalisation(video_id)`
and the announcer's `duck()` factor.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from appliance.core import messages as m
from appliance.core.outputs import PlayTrack
from appliance.player.decks import Decks
from appliance.player.slot import CUT_FADE, Ramp, Slot
from appliance.player.standin import PLAYER

SKIP_FADE = 1.0  # s: the longest crossfade a skip gets
GAPLESS_LEAD = 0.015  # s: start the next deck this much early to hide the unpause latency
GAPLESS_MIN_LEFT = 0.15  # s: less than this left and the next file is started on the other deck
# s: a volume change is heard this much later (the output's buffer), an unpause at once;
# a crossfade therefore starts this much early so its ramps fit before the last sample.
VOLUME_LATENCY = 0.1


@dataclass
class Crossfader:
    decks: Decks
    post: Callable[[m.Message], None]
    clock: Callable[[], float]
    video: bool  # the output shows pictures: a deck's video is shown when it starts
    volume_latency: float
    normalisation: Callable[[str], float]
    duck: Callable[[], float]

    def start(self, effect: PlayTrack, path: Path, crossfade_time: float) -> None:
        decks = self.decks
        live = decks.live
        if live is not None and live.play_id == effect.play_id:  # reload the same track
            live.deck.stop()
            live.clear()
            decks.live = live = None
        if self.gapless(effect, path, crossfade_time):
            return
        target = self.target_for(effect, path)
        target.play_id, target.video_id = effect.play_id, effect.item.video_id
        target.started = target.end_reported = False
        target.position = effect.start_at
        target.trim = self.normalisation(target.video_id)
        target.deck.set_level(gain=0.0, trim=target.trim * self.duck())
        outgoing = decks.swap(target)
        playing = outgoing is not None and not outgoing.deck.paused and outgoing.deck.loaded
        cf = float(crossfade_time)
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

    def target_for(self, effect: PlayTrack, path: Path) -> Slot:
        """The slot the track starts on: the idle deck (the preloaded one if it holds the
        file), loaded paused at `start_at`."""
        free = self.decks.idle()
        for slot in free:
            if (
                not slot.play_id
                and slot.deck.path == path
                and effect.start_at == 0
                and slot.deck.loaded
            ):
                return slot
        live = self.decks.live
        slot = free[0] if live is not None else self.decks.slots[0]
        if live is None and len(free) > 1 and free[0].play_id and not free[1].play_id:
            slot = free[1]
        if slot.play_id:  # an outgoing deck still fading: cut it
            slot.deck.stop()
            slot.clear()
        slot.deck.load(path, effect.start_at, paused=True, video=not self.video)
        return slot

    def gapless(self, effect: PlayTrack, path: Path, crossfade_time: float) -> bool:
        """crossfade_time = 0: the live deck's mpv plays on into the next file (gapless
        audio, sample-exact), rather than a second deck started on a timer."""
        live = self.decks.live
        if (
            effect.transition != "crossfade"
            or crossfade_time > 0
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
        slot.deck.set_level(trim=slot.trim * self.duck())
        slot.deck.drop_finished()
        self.post(m.TrackStarted(play_id=slot.play_id, actor=PLAYER))

    def begin(self, slot: Slot, fade: float) -> None:
        """Unpause `slot` (ramping in over `fade`) and ramp out whatever else plays."""
        slot.begin_when_left = None
        for other in self.decks.others(slot):
            if other.play_id and not other.deck.paused:
                left = other.deck.remaining()
                self.fade_slot(other, min(fade, left) if left is not None else fade)
        now = self.clock()
        if fade > 0:
            slot.deck.set_level(gain=0.0)
            slot.ramp = Ramp(now, fade, 0.0, 1.0)
        else:
            slot.deck.set_level(gain=1.0)
        if self.video:
            slot.deck.show_video()
        slot.deck.play()
        slot.started = True
        self.post(m.TrackStarted(play_id=slot.play_id, actor=PLAYER))

    def fade_slot(self, slot: Slot, seconds: float) -> None:
        slot.fade_away(self.clock(), seconds)
