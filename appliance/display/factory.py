"""The TV adapter for a box with a screen: the idle surface and the overlay listener.

It runs when the box has a Wayland display to draw on (`WAYLAND_DISPLAY`, set on the image
by the display service that runs `cage`) and `video` is not "null"; without one the box
plays sound only. `[display]` settings: `enabled` (default true), `vo` (mpv's video
outputs for the idle surface, default "gpu,wlshm").
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path

from appliance.config import Config
from appliance.display.logo import LogoFiles
from appliance.display.overlay import ScreenFacts
from appliance.display.screen_probe import wait_for_screen
from appliance.display.surface import IdleSurface
from appliance.display.tv import Tv
from appliance.firstboot import read_setup_status
from appliance.lan import patron_url
from appliance.runtime_port import RuntimePort
from appliance.services import TvOverlay

log = logging.getLogger(__name__)


def wants_display(config: Config, environ: Mapping[str, str]) -> bool:
    """A compositor is up (its socket exists: on the image the display service starts
    only where there is a screen) and video is wanted."""
    enabled = config.section("display").get("enabled", True) is not False
    if not (enabled and config.video != "null" and environ.get("WAYLAND_DISPLAY")):
        return False
    return display_socket(environ).exists()


def screen_facts(config: Config, first_pin: Callable[[], str]) -> Callable[[], ScreenFacts]:
    pin_file: Path = config.data_dir / "first-boot-pin"

    def read() -> ScreenFacts:
        try:
            pin = first_pin() or pin_file.read_text().strip()
        except OSError:
            pin = ""
        setup = read_setup_status(config.data_dir)
        firstboot = setup.get("firstboot") or {}
        problem = str(firstboot.get("reason", "")) if firstboot.get("ok") is False else ""
        hotspot = setup.get("hotspot") or {}
        joining = ""
        if hotspot.get("ssid"):
            joining = (
                f"Wi-Fi setup: join {hotspot['ssid']} (password {hotspot.get('password', '')}),"
                f" then open {hotspot.get('url', '')}"
            )
        return ScreenFacts(patron_url(config), pin, problem, joining)

    return read


def display_socket(environ: Mapping[str, str]) -> Path:
    name = environ.get("WAYLAND_DISPLAY", "")
    return Path(name) if name.startswith("/") else Path(environ.get("XDG_RUNTIME_DIR", "/")) / name


class TvDisplay:
    def __init__(self, surface: IdleSurface, tv: Tv, socket: Path, screen_wait: float) -> None:
        self.surface = surface
        self.tv = tv
        self.socket = socket
        self.screen_wait = screen_wait

    def start(self) -> None:
        # A window opened before the compositor's output is up never shows (the display
        # service waits for it at boot; this covers a compositor restarting as we start).
        if not wait_for_screen(self.socket, self.screen_wait):
            log.warning("no screen on %s yet: the TV shows once one appears", self.socket)
        self.surface.start()  # first, so every deck's window maps above it
        self.tv.start()

    def stop(self) -> None:
        self.tv.stop()
        self.surface.stop()


def build_display(
    config: Config,
    runtime: RuntimePort,
    *,
    first_pin: Callable[[], str],
    gallery_file: Callable[[str], Path | None],
    overlay: Callable[[], TvOverlay | None],
) -> TvDisplay | None:
    """None without a screen. `first_pin()` is the first-start PIN (made at start, after
    this); `gallery_file(content_id)` a gallery item's media, for the logo; `overlay()` the
    player's decks to draw on, when they draw video (the player is built after this)."""
    if not wants_display(config, os.environ):
        return None
    surface = IdleSurface(vo=str(config.section("display").get("vo", "gpu,wlshm")))
    facts = screen_facts(config, first_pin)
    logos = LogoFiles(gallery_file, config.data_dir / "tv")
    tv = Tv(runtime, facts, surface, overlay, logo_file=logos.raw)
    return TvDisplay(surface, tv, display_socket(os.environ), screen_wait=10.0)
