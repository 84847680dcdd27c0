"""The idle surface: one mpv showing a still, dark background with the overlay drawn on it.
It is the compositor's first window, so any deck showing a video is mapped above it and
it shows through whenever no video is up (nothing playing, an audio-only track, a stop)."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

from appliance.display.overlay import HEIGHT, WIDTH
from appliance.services import tv_logo_args

log = logging.getLogger(__name__)

# A moving source, not a still: mpv under a Wayland compositor may never show a single
# frame (measured with cage: a still image stayed unseen), and a new overlay is drawn with
# the next frame. Ten frames a second of a flat colour cost 2.4% of an x86 core in software.
BACKGROUND = f"av://lavfi:color=c=0x101820:s={WIDTH}x{HEIGHT}:r=10"
OVERLAY_ID = 1
REOPEN_FIRST, REOPEN_LAST = 1.0, 30.0  # s: the backoff when mpv ends, doubling
WINDOW_CHECK = 1.0  # s: how often the surface checks it still has its window
STOP_BUDGET = 3.0  # seconds; systemd's stop timeout is 30 and the decks need theirs


def _mpv_log(level: str, component: str, message: str) -> None:
    # ffmpeg's own probing (e.g. for CUDA) is noise; mpv's errors about the surface are not
    logger = log.debug if component == "ffmpeg" else log.warning
    logger("idle surface: mpv %s %s: %s", level, component, message.strip())


class IdleSurface:
    """The idle screen's mpv, kept open: when its core ends (the compositor restarted, or
    mpv's video output failed on it), a watcher opens a new one and draws the last overlay
    and logo again, so the TV comes back by itself."""

    def __init__(self, vo: str = "gpu,wlshm", window_grace: float = 20.0) -> None:
        self._vo = vo
        self._window_grace = window_grace  # s after opening until a window is expected
        self._mpv: Any = None
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._watcher: threading.Thread | None = None
        self._overlay = ""
        self._logo: Path | None = None
        self.reopened = 0  # times the surface came back after its mpv ended

    def start(self) -> None:
        self._stopping.clear()
        self._open()
        self._watcher = threading.Thread(target=self._watch, name="idle-surface", daemon=True)
        self._watcher.start()

    def _open(self) -> None:
        import mpv  # here, not at import: libmpv costs ~45 MB of RSS on a box with no screen

        player = mpv.MPV(
            vo=self._vo,
            # Only ever a client of the compositor (never DRM, which cage holds), and a
            # software GL renderer is fine for a flat colour: without these, where there is
            # no GPU (QEMU, some mini-PCs) mpv skips GL and falls back to wlshm, whose
            # buffers Debian 13's mpv lost on the image ("invalid arguments for attach").
            gpu_context="wayland",
            gpu_sw=True,
            ao="null",
            osc=False,
            input_default_bindings=False,
            input_vo_keyboard=False,
            fullscreen=True,
            force_window="yes",
            idle="yes",
            loop_file="inf",
            ytdl=False,
            hwdec="no",
            log_handler=_mpv_log,
            loglevel="warn",
        )
        player.play(BACKGROUND)
        with self._lock:
            stopped = self._stopping.is_set()
            if not stopped:
                self._mpv = player
        if stopped:  # stop() came while this one opened: it is not wanted
            threading.Thread(target=player.terminate, daemon=True).start()
            return
        if self._overlay:
            self._send_overlay(player, self._overlay)
        if self._logo is not None:
            self._send_logo(player, self._logo)

    def _watch(self) -> None:
        backoff = REOPEN_FIRST
        while True:
            with self._lock:
                player = self._mpv
            if player is None:
                return  # stopped
            opened = time.monotonic()
            if not self._runs_with_a_window(player, opened):
                return  # stopped
            if time.monotonic() - opened > REOPEN_LAST:
                backoff = REOPEN_FIRST  # it ran a good while: this is a new failure
            while True:
                log.warning("the idle surface's mpv ended; opening it again in %.0f s", backoff)
                if self._stopping.wait(backoff):
                    return
                backoff = min(backoff * 2, REOPEN_LAST)
                try:
                    self._open()
                except Exception:  # no compositor yet: again after the backoff
                    log.warning("the idle surface did not open", exc_info=True)
                    continue
                self.reopened += 1
                break

    def _runs_with_a_window(self, player: Any, opened: float) -> bool:
        """Until this mpv ends or shows no window: True then (to open another), False
        when the surface is stopping. A core that could not open its window (cage had no
        output yet at boot) stays idle rather than ending, so the window is checked too."""
        while not player.core_shutdown:
            if self._stopping.wait(WINDOW_CHECK):
                return False
            if time.monotonic() - opened > self._window_grace and not _has_window(player):
                log.warning("the idle surface has no window on the screen")
                _close_bounded(player)
                break
        return not self._stopping.is_set()

    def show_overlay(self, ass_events: str) -> None:
        self._overlay = ass_events
        with self._lock:
            player = self._mpv
        if player is not None:
            self._send_overlay(player, ass_events)

    def show_logo(self, raw: Path | None) -> None:
        self._logo = raw
        with self._lock:
            player = self._mpv
        if player is not None:
            self._send_logo(player, raw)

    @staticmethod
    def _send_overlay(player: Any, ass_events: str) -> None:
        try:
            player.command("osd-overlay", OVERLAY_ID, "ass-events", ass_events, WIDTH, HEIGHT)
        except Exception:  # python-mpv raises several types; the TV must not stop the box
            log.warning("the idle surface did not take the overlay", exc_info=True)

    @staticmethod
    def _send_logo(player: Any, raw: Path | None) -> None:
        try:
            if raw is None:
                player.command("overlay-remove", 2)
            else:
                player.command("overlay-add", *tv_logo_args(raw))
        except Exception:  # as above
            log.warning("the idle surface did not take the logo", exc_info=True)

    def stop(self) -> None:
        self._stopping.set()
        with self._lock:
            player, self._mpv = self._mpv, None
        if player is None:
            return
        _close_bounded(player)


def _has_window(player: Any) -> bool:
    try:
        return bool(player.vo_configured)
    except Exception:  # a core going away: no window
        return False


def _close_bounded(player: Any) -> None:
    # mpv's teardown waits on its video output, which can hang on a compositor that is
    # itself going away; the box must still stop in seconds, so it is abandoned to the exit
    closer = threading.Thread(target=player.terminate, name="idle-surface-close", daemon=True)
    closer.start()
    closer.join(timeout=STOP_BUDGET)
    if closer.is_alive():
        log.warning("the idle surface did not close in %.0f s; left to the exit", STOP_BUDGET)
