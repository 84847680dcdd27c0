"""The mixer's clock, run every 10-100 ms on its loop thread with its lock held: volume
ramps, scheduled starts (a crossfade begins `crossfade_time` before the live track ends),
the early `TrackEnded`, position reports and the heartbeat.

`tick` takes the `Decks`, the time, the crossfade setting and the mixer's three actions
it needs: `post` a message, `begin(slot, fade)` a scheduled start, `report(slot, state)`
the live deck's status (throttled by the mixer).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from appliance.core import messages as m
from appliance.player.decks import Decks
from appliance.player.slot import Slot
from appliance.player.standin import PLAYER

LEAD = 0.6  # s: how early TrackEnded is reported, so the next PlayTrack is here in time

Post = Callable[[m.Message], None]
Begin = Callable[[Slot, float], None]
Report = Callable[[Slot, str], None]


def tick(
    decks: Decks,
    now: float,
    *,
    crossfade_time: float,
    post: Post,
    begin: Begin,
    report: Report,
) -> float:
    """Ramps, scheduled starts, the end and the status of the live track; the next
    wake-up wanted (seconds)."""
    timeout = 0.1
    for slot in decks.slots:
        if slot.begin_when_left is not None:
            timeout = min(timeout, scheduled_start(decks, slot, begin))
        if slot.ramp is not None:
            gain, done = slot.ramp.gain(now)
            slot.deck.set_level(gain=gain)
            timeout = 0.01
            if done:
                slot.ramp = None
                if slot.stop_after_ramp:
                    slot.deck.stop()
                    slot.clear()
    live = decks.live
    if live is not None and live.play_id and live.started:
        check_end(decks, live, crossfade_time, post)
        report(live, live_state(decks, live))
    return timeout


@dataclass
class Heartbeat:
    """`Heartbeat` every `every` seconds (the first on the first tick)."""

    player_id: str
    every: float
    last: float = 0.0

    def beat(self, decks: Decks, now: float, post: Post) -> None:
        if now - self.last < self.every:
            return
        self.last = now
        live = decks.live
        post(
            m.Heartbeat(
                player_id=self.player_id,
                position=live.position if live else 0.0,
                play_id=live.play_id if live else "",
                actor=PLAYER,
            )
        )


class StatusReport:
    """The live track's `PlayerStatus`: at most every `every` seconds while its state
    holds, at once when it changes (or when forced: `now`)."""

    def __init__(self, post: Post, clock: Callable[[], float], every: float) -> None:
        self.post = post
        self.clock = clock
        self.every = every
        self.last_state = ""
        self.last_at = 0.0

    def report(self, slot: Slot, state: str, force: bool = False) -> None:
        now = self.clock()
        position = slot.deck.position() if slot.deck.loaded else slot.position
        slot.position = position
        if not force and state == self.last_state and now - self.last_at < self.every:
            return
        self.last_state, self.last_at = state, now
        self.post(
            m.PlayerStatus(
                play_id=slot.play_id,
                state=state,
                position=round(position, 3),
                duration=float(slot.deck.duration or 0.0),
                actor=PLAYER,
            )
        )

    def now(self, slot: Slot, state: str) -> None:
        self.report(slot, state, force=True)


def scheduled_start(decks: Decks, slot: Slot, begin: Begin) -> float:
    outgoing = next((s for s in decks.others(slot) if s.play_id), None)
    left = outgoing.deck.remaining() if outgoing is not None else None
    wanted = slot.begin_when_left or 0.0
    if left is None or left <= wanted + 0.002 or outgoing.deck.eof:
        begin(slot, slot.fade)
        return 0.01
    return max(0.001, min(0.01, (left - wanted) / 2))


def check_end(decks: Decks, live: Slot, crossfade_time: float, post: Post) -> None:
    if live.end_reported or decks.transport != "playing" or live.deck.paused:
        return
    if any(s.play_id for s in decks.others(live)):
        return  # the previous track is still fading out: its deck is not free yet
    left = live.deck.remaining()
    if live.deck.eof or (left is not None and left <= crossfade_time + LEAD):
        live.end_reported = True
        post(m.TrackEnded(play_id=live.play_id, reason="eof", actor=PLAYER))


def live_state(decks: Decks, live: Slot) -> str:
    if decks.transport == "paused" or live.deck.paused:
        return "paused"
    return "buffering" if live.deck.buffering else "playing"
