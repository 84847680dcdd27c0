"""Which player the box runs: the mpv mixer (`player = "mpv"`), or the stand-in where
there is no mpv (`player = "standin"`).

`[player]` settings in the config file: `audio_buffer` (s, default 0.2: stops do not wait
for it, since a paused stream is dropped at the sound server), `alsa_device`
(default "default", used with `--audio alsa`), `stall_timeout` (s, default 8),
`heartbeat_every` (s, default 5), `hwdec` (default "auto-safe"), `vo` (mpv's video
outputs, tried in turn; default "gpu,wlshm,drm,null").
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from appliance.config import Config
from appliance.player.standin import StandInPlayer
from appliance.runtime_port import AddEffectSink, Post
from appliance.services import LoudnessSource, MediaSource, TvOverlay

if TYPE_CHECKING:  # at run time imported where used: a stand-in box never loads libmpv
    from appliance.player.deck import DeckOutput
    from appliance.player.mixer import Mixer


class StandInAdapter:
    def __init__(self, post: Post, add_effect_sink: AddEffectSink) -> None:
        self.player = StandInPlayer(post)
        add_effect_sink(self.player, "standin-player")

    def start(self) -> None:
        pass

    def stop(self) -> None:
        self.player.stop()


class FileSource:
    """A media source without a library: the video id is a path to a local file."""

    def locate(self, video_id: str) -> Path | None:
        path = Path(video_id)
        return path if path.is_absolute() and path.is_file() else None

    def fetch(self, video_id: str, done: Callable[[Path | None, str], None]) -> None:
        path = self.locate(video_id)
        done(path, "" if path else "no such file")

    def discard(self, video_id: str, reason: str) -> None:
        pass


def has_screen(environ: Mapping[str, str], dri: Path = Path("/dev/dri")) -> bool:
    """A display server, or a DRM device to draw on. Without one mpv's video probing
    fails (and on some builds closes descriptors it does not own), so video is off."""
    if environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY"):
        return True
    return any(dri.glob("card*")) if dri.is_dir() else False


def deck_output(config: Config, environ: Mapping[str, str] | None = None) -> DeckOutput:
    from appliance.player.deck import DeckOutput

    env = os.environ if environ is None else environ
    section: dict[str, Any] = dict(config.section("player"))
    device = ""
    if config.audio == "pulse" and env.get("PULSE_SINK"):
        device = f"pulse/{env['PULSE_SINK']}"
    elif config.audio == "alsa":
        device = f"alsa/{section.get('alsa_device', 'default')}"
    return DeckOutput(
        audio=config.audio,
        video=config.video if has_screen(env) else "null",
        audio_device=device,
        audio_buffer=float(section.get("audio_buffer", 0.2)),
        hwdec=str(section.get("hwdec", "auto-safe")),
        vo=str(section.get("vo", DeckOutput.vo)),
        compositor=bool(env.get("WAYLAND_DISPLAY")),
    )


@dataclass(frozen=True)
class PlayerParts:
    """The player adapter, and the TV overlay it offers when its decks draw video."""

    adapter: Mixer | StandInAdapter
    overlay: TvOverlay | None = None


def build_player(
    config: Config,
    post: Post,
    add_effect_sink: AddEffectSink,
    *,
    media: MediaSource | None,
    loudness: LoudnessSource | None,
    clip_file: Callable[[str], Path | None],
) -> PlayerParts:
    """`media` and `loudness` come from the library when it runs (else local paths, no
    normalisation); `clip_file(content_id)` is an announcement's file, looked up when asked
    (the gallery may be built after the player)."""
    if config.player == "standin":
        return PlayerParts(StandInAdapter(post, add_effect_sink))
    from appliance.player.mixer import Mixer

    section = config.section("player")
    mixer = Mixer(
        post,
        media or FileSource(),
        deck_output(config),
        heartbeat_every=float(section.get("heartbeat_every", 5.0)),
        stall_timeout=float(section.get("stall_timeout", 8.0)),
        loudness=loudness.loudness if loudness else None,
        clips=clip_file,
        clip_loudness=loudness.measure_now if loudness else None,
    )
    add_effect_sink(mixer, "mixer")
    # the TV draws its overlay on the decks
    return PlayerParts(mixer, overlay=mixer if mixer.output.video != "null" else None)
