"""The mixer's error boundaries: deck events (errors, deaths), rebuilding a dead or stalled
deck at the track's last position, and keeping the next track preloaded.

Called by `Mixer` with its lock held; never blocks on mpv's event thread.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from appliance.core import messages as m
from appliance.player.standin import PLAYER

if TYPE_CHECKING:
    from appliance.player.mixer import Mixer, Slot

log = logging.getLogger(__name__)


def on_deck_event(mixer: Mixer, slot: Slot, kind: str, data: dict[str, Any]) -> None:
    if kind == "dead":
        return  # check_decks rebuilds it on this tick
    if kind == "switched":
        mixer.switched(slot)
        return
    if kind != "end" or data.get("reason") != "error":
        return
    detail = data.get("error") or "playback failed"
    video_id = slot.video_id
    if slot.next_play_id:  # the file queued after the live one (gapless) would not open
        mixer.post(
            m.PlayerError(
                play_id=slot.next_play_id, error_code="playback_error", detail=detail,
                actor=PLAYER,
            )
        )  # fmt: skip
        mixer.source.discard(slot.next_video_id, detail)
        slot.next_play_id = slot.next_video_id = ""
        slot.deck.queued = None
        return
    if slot.play_id:
        log.warning("deck %s: %s failed: %s", slot.deck.name, video_id, detail)
        mixer.post(
            m.PlayerError(
                play_id=slot.play_id, error_code="playback_error", detail=detail, actor=PLAYER
            )
        )
        mixer.source.discard(video_id, detail)
        if mixer.live is slot:
            mixer.live = None
        slot.clear()
    else:  # a preload failed: do not try that file again until it is fetched afresh
        slot.failed_preload = str(slot.deck.path or "")
    slot.deck.path = None


def check_decks(mixer: Mixer, now: float) -> None:
    for slot in mixer.slots:
        deck = slot.deck
        stalled = (
            slot is mixer.live
            and slot.started
            and mixer.transport == "playing"
            and not deck.paused
            and not deck.eof
            and deck.loaded
            and now - deck.last_progress > mixer.stall_timeout
        )
        if not deck.alive or stalled:
            rebuild(mixer, slot, "stalled" if deck.alive else "died")


def rebuild(mixer: Mixer, slot: Slot, why: str) -> None:
    """A fresh deck in the slot; the live track resumes near where it was."""
    old = slot.deck
    path, position = old.path, slot.position
    gain = 1.0 if slot.ramp is None else slot.ramp.to_gain
    # Shutting a broken core down can block: do it off the mixer's thread.
    threading.Thread(target=old.terminate, name=f"deck-{old.name}-reaper", daemon=True).start()
    slot.deck = mixer.new_deck(old.name)
    mixer.rebuilds += 1
    if mixer.output.video != "null" or mixer.af:
        mixer.apply_settings(mixer.settings)
    resumed = bool(slot.play_id and path is not None)
    if resumed and path is not None:
        playing = slot is mixer.live and mixer.transport == "playing" and slot.started
        slot.ramp = None
        slot.deck.load(path, position, paused=not playing)
        slot.deck.set_level(gain=gain if slot is mixer.live else 0.0)
        if slot.stop_after_ramp:
            slot.deck.stop()
            slot.clear()
    log.warning("deck %s %s; rebuilt (resumed at %.1f s: %s)", old.name, why, position, resumed)
    mixer.post(
        m.RecordLog(
            event_type="player_deck_rebuilt",
            event_data={
                "deck": old.name,
                "reason": why,
                "play_id": slot.play_id,
                "position": round(position, 3),
            },
            actor=PLAYER,
        )
    )


def preload_next(mixer: Mixer) -> None:
    """Keep the next track loaded, paused and silent, on the deck that is not live."""
    if not mixer.upcoming or mixer.transport == "emergency":
        return
    free = [s for s in mixer.slots if s is not mixer.live and not s.play_id and s.ramp is None]
    if not free:
        return
    slot = free[0]
    item = mixer.upcoming[0]
    path = mixer.source.locate(item.video_id)
    if path is None or slot.deck.path == path or slot.failed_preload == str(path):
        return
    slot.failed_preload = ""
    slot.deck.set_level(gain=0.0)
    slot.deck.load(path, 0.0, paused=True, video=mixer.output.video == "null")
    slot.video_id = ""
    slot.position = 0.0
