"""The mixer's clock, run every 10-100 ms on its loop thread with its lock held: volume
ramps, scheduled starts (a crossfade begins `crossfade_time` before the live track ends),
the early `TrackEnded`, position reports and the heartbeat."""

from __future__ import annotations

from typing import TYPE_CHECKING

from appliance.core import messages as m
from appliance.player.recovery import check_decks, preload_next
from appliance.player.standin import PLAYER

if TYPE_CHECKING:
    from appliance.player.mixer import Mixer
    from appliance.player.slot import Slot

LEAD = 0.6  # s: how early TrackEnded is reported, so the next PlayTrack is here in time


def tick(mixer: Mixer, now: float) -> float:
    check_decks(mixer, now)
    timeout = 0.1
    for slot in mixer.slots:
        if slot.begin_when_left is not None:
            timeout = min(timeout, scheduled_start(mixer, slot))
        if slot.ramp is not None:
            gain, done = slot.ramp.gain(now)
            slot.deck.set_level(gain=gain)
            timeout = 0.01
            if done:
                slot.ramp = None
                if slot.stop_after_ramp:
                    slot.deck.stop()
                    slot.clear()
    live = mixer.live
    if live is not None and live.play_id and live.started:
        check_end(mixer, live)
        mixer.report_status(live, live_state(mixer, live))
    if now - mixer.last_heartbeat >= mixer.heartbeat_every:
        mixer.last_heartbeat = now
        mixer.post(
            m.Heartbeat(
                player_id=mixer.player_id,
                position=live.position if live else 0.0,
                play_id=live.play_id if live else "",
                actor=PLAYER,
            )
        )
    preload_next(mixer)
    return timeout


def scheduled_start(mixer: Mixer, slot: Slot) -> float:
    outgoing = next((s for s in mixer.slots if s is not slot and s.play_id), None)
    left = outgoing.deck.remaining() if outgoing is not None else None
    wanted = slot.begin_when_left or 0.0
    if left is None or left <= wanted + 0.002 or outgoing.deck.eof:
        mixer.begin(slot, slot.fade)
        return 0.01
    return max(0.001, min(0.01, (left - wanted) / 2))


def check_end(mixer: Mixer, live: Slot) -> None:
    if live.end_reported or mixer.transport != "playing" or live.deck.paused:
        return
    if any(s is not live and s.play_id for s in mixer.slots):
        return  # the previous track is still fading out: its deck is not free yet
    left = live.deck.remaining()
    cf = float(mixer.settings.crossfade_time)
    if live.deck.eof or (left is not None and left <= cf + LEAD):
        live.end_reported = True
        mixer.post(m.TrackEnded(play_id=live.play_id, reason="eof", actor=PLAYER))


def live_state(mixer: Mixer, live: Slot) -> str:
    if mixer.transport == "paused" or live.deck.paused:
        return "paused"
    return "buffering" if live.deck.buffering else "playing"
