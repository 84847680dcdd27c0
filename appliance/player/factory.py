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
from pathlib import Path
from typing import TYPE_CHECKING, Any

from appliance.config import Config
from appliance.player.deck import DeckOutput
from appliance.player.mixer import Mixer
from appliance.player.standin import StandInPlayer

if TYPE_CHECKING:
    from appliance.bootstrap import Box


class StandInAdapter:
    def __init__(self, box: Box) -> None:
        self.player = StandInPlayer(box.runtime.post)
        box.runtime.add_effect_sink(self.player, "standin-player")

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
    )


def _clip_file(box: Box, content_id: str) -> Path | None:
    """An announcement's file: the gallery item's media (read when asked: the gallery may
    be built after the player)."""
    content, item = box.services.content, box.runtime.state.content.get(content_id)
    return content.media_path(item) if content is not None and item is not None else None


def build_player(box: Box) -> Mixer | StandInAdapter:
    config = box.config
    if config.player == "standin":
        return StandInAdapter(box)
    section = config.section("player")
    mixer = Mixer(
        box.runtime.post,
        box.services.media or FileSource(),
        deck_output(config),
        heartbeat_every=float(section.get("heartbeat_every", 5.0)),
        stall_timeout=float(section.get("stall_timeout", 8.0)),
        loudness=box.services.loudness.loudness if box.services.loudness else None,
        clips=lambda content_id: _clip_file(box, content_id),
        clip_loudness=box.services.loudness.measure_now if box.services.loudness else None,
    )
    box.runtime.add_effect_sink(mixer, "mixer")
    if mixer.output.video != "null":
        box.services.overlay = mixer  # the TV draws its overlay on the decks
    return mixer
