"""The mixer's error boundaries: deck events (errors, deaths), rebuilding a dead or stalled
deck at the track's last position, and keeping the next track preloaded.

Called by `Mixer` with its lock held; never blocks on mpv's event thread. Each function
takes the `Decks` and what else it uses (a post callable, the time, a way to make a deck).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from appliance.core import messages as m
from appliance.core.model import QueueItem
from appliance.player.deck_port import Deck
from appliance.player.decks import Decks
from appliance.player.slot import Slot
from appliance.player.standin import PLAYER

log = logging.getLogger(__name__)

Post = Callable[[m.Message], None]


def on_deck_event(
    decks: Decks,
    slot: Slot,
    kind: str,
    data: dict[str, Any],
    *,
    post: Post,
    discard: Callable[[str, str], None],
    switched: Callable[[Slot], None],
) -> None:
    """A deck's report: `switched` moves the slot on to its queued file, an error drops
    the track (`discard(video_id, why)` tells the media source)."""
    if kind == "dead":
        return  # check_decks rebuilds it on this tick
    if kind == "switched":
        switched(slot)
        return
    if kind != "end" or data.get("reason") != "error":
        return
    detail = data.get("error") or "playback failed"
    video_id = slot.video_id
    if slot.next_play_id:  # the file queued after the live one (gapless) would not open
        post(
            m.PlayerError(
                play_id=slot.next_play_id, error_code="playback_error", detail=detail,
                actor=PLAYER,
            )
        )  # fmt: skip
        discard(slot.next_video_id, detail)
        slot.next_play_id = slot.next_video_id = ""
        slot.deck.queued = None
        return
    if slot.play_id:
        log.warning("deck %s: %s failed: %s", slot.deck.name, video_id, detail)
        post(
            m.PlayerError(
                play_id=slot.play_id, error_code="playback_error", detail=detail, actor=PLAYER
            )
        )
        discard(video_id, detail)
        if decks.live is slot:
            decks.live = None
        slot.clear()
    else:  # a preload failed: do not try that file again until it is fetched afresh
        slot.failed_preload = str(slot.deck.path or "")
    slot.deck.path = None


def check_decks(
    decks: Decks, now: float, stall_timeout: float, rebuild: Callable[[Slot, str], None]
) -> None:
    """A dead deck, or a live one whose clock has not moved for `stall_timeout` seconds
    while it should be playing, is handed to `rebuild(slot, why)`."""
    for slot in decks.slots:
        deck = slot.deck
        stalled = (
            slot is decks.live
            and slot.started
            and decks.transport == "playing"
            and not deck.paused
            and not deck.eof
            and deck.loaded
            and now - deck.last_progress > stall_timeout
        )
        if not deck.alive or stalled:
            rebuild(slot, "stalled" if deck.alive else "died")


def rebuild(
    decks: Decks,
    slot: Slot,
    why: str,
    *,
    new_deck: Callable[[str], Deck],
    post: Post,
    reapply: Callable[[], None] | None = None,
) -> None:
    """A fresh deck in the slot (`new_deck(name)`; `reapply()` then restores the settings
    a new deck does not start with); the live track resumes near where it was."""
    old = slot.deck
    path, position = old.path, slot.position
    gain = 1.0 if slot.ramp is None else slot.ramp.to_gain
    # Shutting a broken core down can block: do it off the mixer's thread.
    threading.Thread(target=old.terminate, name=f"deck-{old.name}-reaper", daemon=True).start()
    slot.deck = new_deck(old.name)
    if reapply is not None:
        reapply()
    resumed = bool(slot.play_id and path is not None)
    if resumed and path is not None:
        playing = slot is decks.live and decks.transport == "playing" and slot.started
        slot.ramp = None
        slot.deck.load(path, position, paused=not playing)
        slot.deck.set_level(gain=gain if slot is decks.live else 0.0)
        if slot.stop_after_ramp:
            slot.deck.stop()
            slot.clear()
    log.warning("deck %s %s; rebuilt (resumed at %.1f s: %s)", old.name, why, position, resumed)
    post(
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


def preload_next(
    decks: Decks,
    upcoming: Sequence[QueueItem],
    locate: Callable[[str], Path | None],
    *,
    video: bool,
) -> None:
    """Keep the next track loaded, paused and silent, on a deck that is not live
    (`video`: with its picture decoded, where there is no screen to cover)."""
    if not upcoming or decks.transport == "emergency":
        return
    free = [s for s in decks.idle() if not s.play_id and s.ramp is None]
    if not free:
        return
    slot = free[0]
    item = upcoming[0]
    path = locate(item.video_id)
    if path is None or slot.deck.path == path or slot.failed_preload == str(path):
        return
    slot.failed_preload = ""
    slot.deck.set_level(gain=0.0)
    slot.deck.load(path, 0.0, paused=True, video=video)
    slot.video_id = ""
    slot.position = 0.0
