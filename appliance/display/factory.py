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
from typing import TYPE_CHECKING

from appliance.config import Config
from appliance.display.logo import LogoFiles
from appliance.display.overlay import ScreenFacts
from appliance.display.surface import IdleSurface
from appliance.display.tv import Tv
from appliance.firstboot import read_setup_status
from appliance.lan import patron_url

if TYPE_CHECKING:
    from appliance.bootstrap import Box


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


def _gallery_file(box: Box, content_id: str) -> Path | None:
    content, item = box.services.content, box.runtime.state.content.get(content_id)
    return content.media_path(item) if content is not None and item is not None else None


def build_display(box: Box) -> TvDisplay | None:
    config = box.config
    if not wants_display(config, os.environ):
        return None
    surface = IdleSurface(vo=str(config.section("display").get("vo", "gpu,wlshm")))
    services = box.services
    facts = screen_facts(config, lambda: box.first_pin)  # made at start, after this
    logos = LogoFiles(lambda cid: _gallery_file(box, cid), config.data_dir / "tv")
    tv = Tv(box.runtime, facts, surface, lambda: services.overlay, logo_file=logos.raw)
    return TvDisplay(surface, tv)
