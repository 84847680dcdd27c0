"""The mixer with the box's default video output (`auto`): on a machine without a screen
video is off and the sound still plays; with a screen the decks draw with vo=gpu."""

from __future__ import annotations

from pathlib import Path

from appliance.config import Config
from appliance.player.factory import deck_output, has_screen
from tests.support.jukebox import Jukebox
from tests.support.media import make_track


def test_video_auto_draws_only_where_there_is_a_screen(tmp_path: Path) -> None:
    assert not has_screen({}, dri=tmp_path / "no-dri")
    assert has_screen({"WAYLAND_DISPLAY": "wayland-0"}, dri=tmp_path / "no-dri")
    (tmp_path / "dri").mkdir()
    assert not has_screen({}, dri=tmp_path / "dri")
    (tmp_path / "dri" / "card0").touch()
    assert has_screen({}, dri=tmp_path / "dri")
    with_screen = deck_output(Config(video="auto"), {"DISPLAY": ":0"})
    # wlshm under a compositor without GL, drm where GL fails (no GPU driver), null if the
    # screen fails
    assert with_screen.mpv_options()["vo"] == "gpu,wlshm,drm,null"
    assert deck_output(Config(video="null"), {"DISPLAY": ":0"}).mpv_options()["vo"] == "null"
    # under the TV's compositor: GL through it, software allowed, never wlshm's lost buffers
    tv = deck_output(Config(video="auto"), {"WAYLAND_DISPLAY": "wayland-0"}).mpv_options()
    assert (tv["gpu_context"], tv["gpu_sw"], tv["scale"]) == ("wayland", True, "bilinear")
    assert "gpu_context" not in with_screen.mpv_options()
    headless = deck_output(Config(video="null"), {"WAYLAND_DISPLAY": "wayland-0"})
    assert "gpu_context" not in headless.mpv_options()


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
