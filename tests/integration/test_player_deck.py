"""One MpvDeck and the mixer with the box's default video output (`auto`): on a machine
without a screen mpv falls back to no video and the sound still plays."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from appliance.player.deck import DeckOutput, MpvDeck
from tests.support.jukebox import Jukebox
from tests.support.media import make_track


def test_a_deck_with_video_auto_plays_where_there_is_no_screen(tmp_path: Path) -> None:
    clip = make_track(tmp_path / "clip.mp4", seconds=3)
    events: list[tuple[str, dict[str, Any]]] = []
    ended = threading.Event()

    def listen(deck: MpvDeck, kind: str, data: dict[str, Any]) -> None:
        events.append((kind, data))
        if kind == "end":
            ended.set()

    deck = MpvDeck("A", DeckOutput(audio="null", video="auto"), listen)
    try:
        deck.load(clip, 0.0, paused=False)
        deadline = time.monotonic() + 30
        while deck.position() < 1.0 and not ended.is_set() and time.monotonic() < deadline:
            ended.wait(0.05)  # the deck has no event for "one second played"
        assert deck.position() >= 1.0, events
        assert all(d.get("reason") != "error" for k, d in events if k == "end"), events
    finally:
        deck.terminate()


def test_the_mixer_with_video_auto_plays_one_track_after_another(tmp_path: Path) -> None:
    media = tmp_path / "media"
    make_track(media / "[v1, Test, One].mp4", seconds=3)
    make_track(media / "[v2, Test, Two].mp4", seconds=3)
    with Jukebox(tmp_path, media_dir=media, video="auto") as box:
        box.set("crossfade_time", 1)
        box.wait_for(lambda s: box.playing() == "v2", timeout=40)
        box.wait_for(lambda s: box.mixer.live is not None and box.mixer.live.started
                     and box.mixer.live.deck.position() > 0.5, timeout=40)  # fmt: skip
        assert "player_error" not in box.log_types()
