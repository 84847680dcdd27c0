"""The TV adapter for a box with a screen: the idle surface and the overlay listener.

It runs when the box has a Wayland display to draw on (`WAYLAND_DISPLAY`, set on the image
by the display service that runs `cage`) and `video` is not "null"; without one the box
plays sound only. `[display]` settings: `enabled` (default true), `vo` (mpv's video
outputs for the idle surface, default "gpu,wlshm").
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path

from appliance.config import Config
from appliance.display.logo import LogoFiles
from appliance.display.overlay import ScreenFacts
from appliance.display.surface import IdleSurface
from appliance.display.tv import Tv
from appliance.firstboot import read_setup_status
from appliance.lan import patron_url
from appliance.runtime_port import RuntimePort
from appliance.services import TvOverlay


def wants_display(config: Config, environ: Mapping[str, str]) -> bool:
    """A compositor is up (its socket exists: on the image the display service starts
    only where there is a screen) and video is wanted."""
    enabled = config.section("display").get("enabled", True) is not False
    name = environ.get("WAYLAND_DISPLAY", "")
    if not (enabled and config.video != "null" and name):
        return False
    socket = (
        Path(name) if name.startswith("/") else Path(environ.get("XDG_RUNTIME_DIR", "/")) / name
    )
    return socket.exists()


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


class TvDisplay:
    def __init__(self, surface: IdleSurface, tv: Tv) -> None:
        self.surface = surface
        self.tv = tv

    def start(self) -> None:
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
    return TvDisplay(surface, tv)
