"""The TV with the real mixer on a headless compositor: each track's video in turn across a
crossfade, with no frame of the empty screen between them, the overlay's QR code over the
video, and the idle screen once playback stops."""

from __future__ import annotations

import time
from pathlib import Path

from PIL import Image

from appliance.lan import lan_address
from tests.support.compositor import (
    HeadlessTv,
    centre_colour,
    tv_fixture,  # noqa: F401 - the `tv` fixture
)
from tests.support.jukebox import Jukebox
from tests.support.media import make_track

IDLE = (16, 24, 32)  # the idle surface's background (0x101820)


def is_red(c: tuple[int, ...]) -> bool:
    return c[0] > 180 and c[1] < 80 and c[2] < 80


def is_blue(c: tuple[int, ...]) -> bool:
    return c[2] > 180 and c[0] < 80 and c[1] < 80


def is_idle(c: tuple[int, ...]) -> bool:
    return all(abs(a - b) <= 12 for a, b in zip(c, IDLE, strict=True))


def _media(folder: Path) -> Path:
    make_track(folder / "[tv-red, Test, Red].mp4", freq=440, seconds=7, picture="color=c=red",
               size="640x360")  # fmt: skip
    make_track(folder / "[tv-blue, Test, Blue].mp4", freq=880, seconds=9,
               picture="color=c=blue", size="640x360")  # fmt: skip
    return folder


def test_each_track_shows_in_turn_across_a_crossfade(tmp_path: Path, tv: HeadlessTv) -> None:
    media = _media(tmp_path / "media")
    box = Jukebox(tmp_path, media_dir=media, video="auto", display=True)
    with box:
        box.set("crossfade_time", 2)
        box.wait_for(lambda s: box.playing() == "tv-red", timeout=40)
        red = tv.grab_until(lambda image: is_red(centre_colour(image)))
        assert is_red(centre_colour(red)), centre_colour(red)
        # the overlay rides on the video: its QR code brings phones to the patron page
        codes = tv.qr_codes(red)
        assert codes and codes[0].endswith("/patron") and lan_address() in codes[0]

        seen: list[tuple[float, tuple[int, ...]]] = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            colour = centre_colour(tv.grab())
            seen.append((time.monotonic(), colour))
            if is_blue(colour):
                break
        assert is_blue(seen[-1][1]), f"the second track's video never showed: {seen[-5:]}"
        between = [c for _, c in seen if not is_red(c) and not is_blue(c)]
        # a dissolve would mix the two; the empty screen or black must never show through
        assert not [c for c in between if is_idle(c) or max(c) < 30], between

        box.command("FADE_OUT_STOP")
        idle = tv.grab_until(lambda image: is_idle(centre_colour(image)))
        assert is_idle(centre_colour(idle)), centre_colour(idle)
        assert "Scan to request" in tv.text(idle)


def test_an_audio_only_track_shows_the_idle_screen_with_its_title(
    tmp_path: Path, tv: HeadlessTv
) -> None:
    media = tmp_path / "media"
    make_track(media / "[tv-tone, The Band, Quiet Song].m4a", seconds=20)
    box = Jukebox(tmp_path, media_dir=media, video="auto", display=True)
    with box:
        box.wait_for(lambda s: box.playing() == "tv-tone", timeout=40)
        shot: Image.Image = tv.grab_until(lambda image: "Quiet Song" in tv.text(image))
        assert "Quiet Song" in tv.text(shot)
        assert is_idle(centre_colour(shot, (300, 600, 700, 700)))
