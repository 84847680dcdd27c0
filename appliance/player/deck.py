"""`MpvDeck`: one libmpv player (python-mpv), the unit the mixer crossfades between.

A deck loads a local file paused at a position, plays, pauses, seeks and stops; its
level is a linear gain (0..1) under the master volume. It observes `time-pos`,
`duration`, `eof-reached`, `idle-active` and `paused-for-cache`, and reports end-file
reasons and errors and the death of its core through one callback, called on mpv's event
thread (keep it short).

Options are chosen for a Raspberry Pi: hardware decoding where it is known to work
(`hwdec=auto-safe`), video capped to 720p by the resolver, a small demuxer cache (files
are local). Stops do not depend on the audio buffer: pausing drops what is buffered.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mpv

from appliance.player.deck_port import DeckListener
from appliance.services import tv_logo_args

log = logging.getLogger(__name__)

VOLUME_MAX = 160.0
END_REASONS = {0: "eof", 1: "restarted", 2: "aborted", 3: "quit", 4: "error", 5: "redirect"}


@dataclass(frozen=True)
class DeckOutput:
    """Where a deck's sound and picture go."""

    audio: str = "auto"  # auto|null|pulse|alsa
    video: str = "auto"  # auto|null
    audio_device: str = ""  # mpv audio-device, e.g. "pulse/djamms" or "alsa/default"
    audio_buffer: float = 0.2  # seconds
    hwdec: str = "auto-safe"
    # gpu (its defaults, bilinear scaling and no debanding, suit a Pi), through the TV's
    # compositor or straight to KMS; wlshm: a compositor without GL; drm's dumb buffers
    # where there is a screen but no GL (virtio-gpu, simple KMS); null where there is no
    # screen, so a headless box still plays the sound
    vo: str = "gpu,wlshm,drm,null"
    # The decks are clients of the TV's Wayland compositor: they draw with GL through it
    # only, software GL allowed. Where there is no GPU (QEMU, some mini-PCs) mpv would
    # otherwise fall back to wlshm, whose buffers mpv 0.40 loses ("invalid arguments for
    # wl_surface.attach": a protocol error that ends the deck's core at a track change).
    compositor: bool = False

    def mpv_options(self) -> dict[str, Any]:
        opts: dict[str, Any] = {
            "idle": "yes",
            "keep_open": "yes",  # a finished file stays loaded: eof-reached, no idle flap
            "input_default_bindings": False,
            "input_vo_keyboard": False,
            "osc": False,
            "ytdl": False,  # the library resolves and caches; mpv only plays local files
            "gapless_audio": "yes",  # a queued next file follows without a gap
            "prefetch_playlist": "yes",
            "audio_buffer": self.audio_buffer,
            "audio_fallback_to_null": "yes",
            "hwdec": self.hwdec,
            "demuxer_max_bytes": "32MiB",
            "demuxer_max_back_bytes": "8MiB",
            # Room for loudness normalisation's boost: +12 dB is 158 on the cubic scale.
            "volume_max": VOLUME_MAX,
            "force_window": "no",
        }
        if self.audio != "auto":
            opts["ao"] = self.audio
        if self.audio_device:
            opts["audio_device"] = self.audio_device
        if self.video == "null":
            opts["vo"] = "null"
        else:
            opts["vo"] = self.vo
            opts["fullscreen"] = True
        if self.compositor and self.video != "null":
            opts.update(COMPOSITOR_GL)
        return opts


# GL through the compositor, software allowed, with the cheapest scalers (what a GPU-less
# box can afford; on a Pi's GPU they cost nothing and look the same at TV distance).
COMPOSITOR_GL: dict[str, Any] = {
    "gpu_context": "wayland",
    "gpu_sw": True,
    "scale": "bilinear",
    "dscale": "bilinear",
    "cscale": "bilinear",
    "dither_depth": "no",
    "correct_downscaling": False,
    "linear_downscaling": False,
    "sigmoid_upscaling": False,
    "deband": False,
    "hdr_compute_peak": "no",
}


__all__ = ["DeckListener", "DeckOutput", "MpvDeck"]


class MpvDeck:
    """One mpv instance, a `Deck`. `on_event(deck, kind, data)` gets kind "end"
    ({"reason", "error"}), "loaded" ({}), "switched" ({}: moved on to the queued file) or
    "dead"."""

    def __init__(self, name: str, output: DeckOutput, on_event: DeckListener) -> None:
        self.name = name
        self.output = output
        self._on_event = on_event
        self.mpv = mpv.MPV(**output.mpv_options())
        self.time_pos: float | None = None
        self.last_time_pos = 0.0  # survives the unload/shutdown that clears time-pos
        self.duration: float | None = None
        self.eof = False
        self.idle = True
        self.buffering = False
        self.paused = True
        self.last_progress = time.monotonic()  # when time-pos last moved
        self.path: Path | None = None
        self.queued: Path | None = None  # appended to this deck's playlist, plays next
        self.gain = 0.0
        self.master = 100.0
        self.trim = 1.0  # the track's loudness normalisation, linear amplitude
        self.muted = False
        self._overlay = ""  # the TV's, kept to draw again when the picture comes up
        self._logo: Path | None = None
        self._lock = threading.Lock()
        self._observe()

    def _observe(self) -> None:
        player = self.mpv
        player.observe_property("time-pos", self._on_time)
        player.observe_property("duration", self._on_prop)
        player.observe_property("eof-reached", self._on_prop)
        player.observe_property("idle-active", self._on_prop)
        player.observe_property("paused-for-cache", self._on_prop)
        player.observe_property("vo-configured", self._on_window)
        player.register_event_callback(self._on_mpv_event)

    def _on_window(self, _name: str, value: Any) -> None:
        # mpv 0.40 (the image's) left an overlay sent before the deck's window existed
        # unseen until its text changed: once the window is up, it is cleared and drawn
        # again. Off mpv's event thread, which must not wait on a command of its own.
        if value and (self._overlay or self._logo is not None):
            threading.Thread(
                target=self._redraw, name=f"deck-{self.name}-redraw", daemon=True
            ).start()

    def _redraw(self) -> None:
        if self._overlay:
            try:
                self.mpv.command("osd-overlay", 1, "none", "")
            except Exception:  # as in show_overlay
                log.debug("deck %s: overlay not cleared", self.name, exc_info=True)
            self.show_overlay(self._overlay)
        if self._logo is not None:
            self.show_logo(self._logo)

    def _on_time(self, _name: str, value: Any) -> None:
        if value is not None and value != self.time_pos:
            self.last_progress = time.monotonic()
            self.last_time_pos = float(value)
        self.time_pos = value

    def _on_prop(self, name: str, value: Any) -> None:
        if name == "duration":
            self.duration = value
        elif name == "eof-reached":
            self.eof = bool(value)
        elif name == "idle-active":
            self.idle = bool(value)
        elif name == "paused-for-cache":
            self.buffering = bool(value)

    def _on_mpv_event(self, event: Any) -> None:
        eid = event.event_id.value
        if eid == mpv.MpvEventID.END_FILE:
            data = event.data
            reason = END_REASONS.get(data.reason, str(data.reason))
            error = mpv.ErrorCode.exception_for_ec(data.error) if data.error < 0 else None
            self._on_event(self, "end", {"reason": reason, "error": str(error or "")})
        elif eid == mpv.MpvEventID.FILE_LOADED:
            if self.queued is not None:  # the playlist moved on to the queued file
                self.path, self.queued = self.queued, None
                self.eof = False
                self.last_progress = time.monotonic()
                self._on_event(self, "switched", {})
            else:
                self._on_event(self, "loaded", {})
        elif eid == mpv.MpvEventID.SHUTDOWN:
            self._on_event(self, "dead", {})

    # -- state ---------------------------------------------------------------------------

    @property
    def alive(self) -> bool:
        return not self.mpv.core_shutdown

    @property
    def loaded(self) -> bool:
        return self.path is not None and not self.idle

    def position(self) -> float:
        """The current playback time, read from the core (fresher than the observer)."""
        value = None
        if self.alive:
            try:
                value = self.mpv.time_pos
            except (mpv.ShutdownError, AttributeError, RuntimeError):
                value = None
        if value is None:
            return self.last_time_pos
        self.last_time_pos = float(value)
        return self.last_time_pos

    def remaining(self) -> float | None:
        if not self.duration:
            return None
        return max(0.0, float(self.duration) - self.position())

    # -- control -------------------------------------------------------------------------

    def load(self, path: Path, start: float = 0.0, paused: bool = True, video: bool = True) -> None:
        """Replace what the deck holds with `path`, paused (or not) at `start` seconds.
        `video=False` keeps its window closed until `show_video()` (a preloaded deck must
        not cover the live one)."""
        self.path = path
        self.queued = None
        self.time_pos = None
        self.last_time_pos = max(0.0, start)
        self.duration = None
        self.eof = False
        self.idle = False
        self.paused = paused
        self.last_progress = time.monotonic()
        # Pause is set on the core, not as a per-file option: a per-file option is applied
        # when the file opens, after the command returns, and would undo a quick play().
        self.mpv.pause = paused
        options = {"start": f"{max(0.0, start):.3f}"}
        if not video:
            options["vid"] = "no"
        # python-mpv places the options where this mpv expects them: mpv 0.38 put an
        # index argument before them (Debian 13's 0.40 refuses the old form).
        self.mpv.loadfile(str(path), "replace", **options)

    def queue_next(self, path: Path) -> None:
        """Play `path` straight after the current file, on this deck (gapless)."""
        self.queued = path
        self.mpv.command("loadfile", str(path), "append")

    def drop_finished(self) -> None:
        """Forget the files already played from this deck's playlist."""
        try:
            while int(self.mpv.playlist_pos or 0) > 0:
                self.mpv.command("playlist-remove", 0)
        except (mpv.ShutdownError, RuntimeError, TypeError, ValueError):
            log.debug("deck %s: playlist trim failed", self.name, exc_info=True)

    def show_overlay(self, ass_events: str) -> None:
        """Draw ASS events over the picture, in a 1280x720 frame scaled to the screen."""
        self._overlay = ass_events
        try:
            self.mpv.command("osd-overlay", 1, "ass-events", ass_events, 1280, 720)
        except Exception:  # python-mpv raises several types; a TV detail must not stop play
            log.debug("deck %s: overlay not drawn", self.name, exc_info=True)

    def show_logo(self, raw: Path | None) -> None:
        """The venue's logo (raw BGRA, 240x96) top left; None removes it."""
        self._logo = raw
        try:
            if raw is None:
                self.mpv.command("overlay-remove", 2)
            else:
                self.mpv.command("overlay-add", *tv_logo_args(raw))
        except Exception:  # as above
            log.debug("deck %s: logo not drawn", self.name, exc_info=True)

    def show_video(self) -> None:
        self.mpv.vid = "auto"  # the window opens, and the overlay is drawn again (_on_window)

    def play(self) -> None:
        self.paused = False
        self.last_progress = time.monotonic()
        self.mpv.pause = False

    def pause(self) -> None:
        self.paused = True
        self.mpv.pause = True

    def seek(self, position: float) -> None:
        self.eof = False
        self.mpv.command("seek", max(0.0, position), "absolute+exact")

    def stop(self) -> None:
        """Silence now and unload."""
        self.paused = True
        self.path = self.queued = None
        self.mpv.pause = True
        self.mpv.command("stop")

    def set_level(
        self, gain: float | None = None, master: float | None = None, trim: float | None = None
    ) -> None:
        """Gain is linear amplitude 0..1 (the crossfade), trim the track's normalisation
        (linear, may boost); master is 0..100 on mpv's (cubic) volume scale, so the product
        is what is heard: volume = master * cbrt(gain * trim)."""
        if gain is not None:
            self.gain = min(1.0, max(0.0, gain))
        if master is not None:
            self.master = min(100.0, max(0.0, master))
        if trim is not None:
            self.trim = max(0.0, trim)
        volume = self.master * (self.gain * self.trim) ** (1.0 / 3.0)
        self.mpv.volume = min(VOLUME_MAX, volume)

    def set_mute(self, muted: bool) -> None:
        if muted != self.muted:
            self.muted = muted
            self.mpv.mute = muted

    def set_property(self, name: str, value: Any) -> None:
        self.mpv[name] = value

    def terminate(self) -> None:
        """Shut the core down and wait for it (never from mpv's own event thread)."""
        try:
            self.mpv.terminate()
        except Exception:  # a core that already died may refuse; it is gone either way
            log.debug("deck %s terminate failed", self.name, exc_info=True)
