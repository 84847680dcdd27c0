"""Transport effects on the decks: pause, resume, seek, the three stops, and closing
the decks when the box stops.

`halt` (emergency stop) pauses every deck before anything else, so the audio stream is
corked and silence follows within the output's own latency; the fade-out ramps every
playing deck to silence on a cos curve (strictly decreasing) and unloads it.

Each takes the `Decks` and what else it uses: `report(slot, state)` posts the slot's
`PlayerStatus` at once, `now` is the mixer's clock.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

from appliance.player.deck_port import Deck
from appliance.player.decks import Decks
from appliance.player.slot import CUT_FADE, Slot

log = logging.getLogger(__name__)

Report = Callable[[Slot, str], None]  # a slot's PlayerStatus, posted now


def halt(decks: Decks, report: Report, transport: str) -> None:
    """Silence first (pause corks the stream), bookkeeping after."""
    decks.pause_all()
    live = decks.live
    if live is not None and live.play_id:
        report(live, "stopped")
    decks.transport = transport
    decks.stop_all()


def pause(decks: Decks, report: Report) -> None:
    decks.transport = "paused"
    for slot in decks.idle():
        if slot.play_id:  # finish a crossfade at once
            slot.deck.stop()
            slot.clear()
    live = decks.live
    if live is not None:
        live.begin_when_left = None
        if live.ramp is not None:
            live.ramp = None
            live.deck.set_level(gain=1.0)
        live.deck.pause()
        if live.play_id:
            report(live, "paused")


def resume(decks: Decks, report: Report) -> None:
    decks.transport = "playing"
    live = decks.live
    if live is not None and live.play_id and live.deck.loaded:
        live.deck.set_level(gain=1.0)
        live.deck.play()
        live.started = True
        report(live, "playing")


def seek(decks: Decks, position: float) -> None:
    live = decks.live
    if live is not None and live.deck.loaded:
        live.deck.seek(position)
        live.position = position
        live.end_reported = False


def fade_out(decks: Decks, report: Report, seconds: float, now: float) -> None:
    live = decks.live
    if live is not None and live.play_id:
        report(live, "stopped")
    decks.transport = "stopped"
    for slot in decks.slots:
        slot.begin_when_left = None
        if slot.play_id and not slot.deck.paused:
            slot.fade_away(now, seconds)
        elif slot.play_id:
            slot.deck.stop()
            slot.clear()
    decks.live = None


def stop_playback(decks: Decks, now: float) -> None:
    """Nothing left to play: let a track that already reported its end finish."""
    decks.transport = "stopped"
    for slot in decks.slots:
        if not slot.play_id:
            continue
        left = slot.deck.remaining()
        if slot.end_reported and left is not None and not slot.deck.paused:
            slot.fade_away(now, left)
        else:
            slot.fade_away(now, CUT_FADE)
    decks.live = None


def close_decks(decks: Sequence[Deck], deadline: float) -> list[str]:
    """Terminate every deck at once, each on its own daemon thread, and wait for them
    until `deadline` (monotonic). The names of the decks still closing are returned; a
    core stuck in its audio output cannot be interrupted, only abandoned to the exit."""
    closers = []
    for deck in decks:
        t = threading.Thread(target=deck.terminate, name=f"deck-{deck.name}-close", daemon=True)
        t.start()
        closers.append((deck.name, t))
    for _name, t in closers:
        t.join(timeout=max(0.0, deadline - time.monotonic()))
    left = [name for name, t in closers if t.is_alive()]
    if left:
        log.warning("player: deck(s) %s did not close in time; left to the exit", ", ".join(left))
    else:
        log.info("player: %d deck(s) closed", len(decks))
    return left
