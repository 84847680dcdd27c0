"""Transport effects on the mixer: pause, resume, seek, the three stops, and closing
the decks when the box stops.

`halt` (emergency stop) pauses every deck before anything else, so the audio stream is
corked and silence follows within the output's own latency; the fade-out ramps every
playing deck to silence on a cos curve (strictly decreasing) and unloads it.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

from appliance.player.slot import CUT_FADE

if TYPE_CHECKING:
    from appliance.player.deck import MpvDeck
    from appliance.player.mixer import Mixer

log = logging.getLogger(__name__)


def halt(mixer: Mixer, transport: str) -> None:
    """Silence first (pause corks the stream), bookkeeping after."""
    for slot in mixer.slots:
        slot.deck.pause()
    live = mixer.live
    if live is not None and live.play_id:
        mixer.report_status(live, "stopped", force=True)
    mixer.transport = transport
    mixer.pending = None
    for slot in mixer.slots:
        slot.deck.stop()
        slot.clear()
    mixer.live = None


def pause(mixer: Mixer) -> None:
    mixer.transport = "paused"
    for slot in mixer.slots:
        if slot is not mixer.live and slot.play_id:  # finish a crossfade at once
            slot.deck.stop()
            slot.clear()
    live = mixer.live
    if live is not None:
        live.begin_when_left = None
        if live.ramp is not None:
            live.ramp = None
            live.deck.set_level(gain=1.0)
        live.deck.pause()
        if live.play_id:
            mixer.report_status(live, "paused", force=True)


def resume(mixer: Mixer) -> None:
    mixer.transport = "playing"
    live = mixer.live
    if live is not None and live.play_id and live.deck.loaded:
        live.deck.set_level(gain=1.0)
        live.deck.play()
        live.started = True
        mixer.report_status(live, "playing", force=True)


def seek(mixer: Mixer, position: float) -> None:
    live = mixer.live
    if live is not None and live.deck.loaded:
        live.deck.seek(position)
        live.position = position
        live.end_reported = False


def fade_out(mixer: Mixer, seconds: float) -> None:
    live = mixer.live
    if live is not None and live.play_id:
        mixer.report_status(live, "stopped", force=True)
    mixer.transport = "stopped"
    mixer.pending = None
    for slot in mixer.slots:
        slot.begin_when_left = None
        if slot.play_id and not slot.deck.paused:
            mixer.fade_slot(slot, seconds)
        elif slot.play_id:
            slot.deck.stop()
            slot.clear()
    mixer.live = None


def stop_playback(mixer: Mixer) -> None:
    """Nothing left to play: let a track that already reported its end finish."""
    mixer.transport = "stopped"
    mixer.pending = None
    for slot in mixer.slots:
        if not slot.play_id:
            continue
        left = slot.deck.remaining()
        if slot.end_reported and left is not None and not slot.deck.paused:
            mixer.fade_slot(slot, left)
        else:
            mixer.fade_slot(slot, CUT_FADE)
    mixer.live = None


def close_decks(decks: list[MpvDeck], deadline: float) -> list[str]:
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
