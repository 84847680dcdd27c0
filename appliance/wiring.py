"""How the box's parts are wired: one function per part, in `default_adapters()` order.

Part of the composition root (`appliance/bootstrap.py`). Each `wire_*(box)` hands its
part's builder exactly the pieces it uses (the config, the runtime's members, the services
the parts built before it offer) and records in `box.services` what the part offers the
others. A part's module never sees the `Box`. A service a part reads when it runs rather
than when it is built (the gallery for the player's announcements, the player's decks for
the TV) is looked up on `box.services` at that moment, since it may be built later.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from appliance.backup import build_backups
from appliance.cloud.factory import build_appwrite_mirror, build_cloud_link
from appliance.content import build_content
from appliance.display.factory import build_display
from appliance.library.factory import build_library
from appliance.library.importer import build_importer
from appliance.maintenance import Maintenance
from appliance.player.factory import build_player
from appliance.scheduler import build_scheduler
from appliance.sdnotify import build_sdnotify, status_line
from hardware.panel import build_panel, detect_pin_factory
from web.adapter import build_console

if TYPE_CHECKING:
    from gpiozero.pins import Factory

    from appliance.bootstrap import Adapter, Box
    from hardware.commands import ReplyObserver


def gallery_file(box: Box) -> Callable[[str], Path | None]:
    """A gallery item's media file by content id, looked up when asked (the gallery may be
    built after the part that asks)."""

    def media_path(content_id: str) -> Path | None:
        content, item = box.services.content, box.runtime.state.content.get(content_id)
        return content.media_path(item) if content is not None and item is not None else None

    return media_path


def wire_library(box: Box) -> Adapter:
    parts = build_library(box.config, box.runtime.post, box.runtime.add_effect_sink)
    services = box.services
    services.library = services.media = services.loudness = parts.service
    services.cache = parts.service.cache
    services.ytdlp = parts.updater
    return parts.service


def wire_display(box: Box) -> Adapter | None:
    services = box.services
    return build_display(
        box.config,
        box.runtime,
        first_pin=lambda: box.first_pin,  # made at start, after this
        gallery_file=gallery_file(box),
        overlay=lambda: services.overlay,  # the player is built after the display
    )


def wire_player(box: Box) -> Adapter:
    parts = build_player(
        box.config,
        box.runtime.post,
        box.runtime.add_effect_sink,
        media=box.services.media,
        loudness=box.services.loudness,
        clip_file=gallery_file(box),
    )
    if parts.overlay is not None:
        box.services.overlay = parts.overlay  # the TV draws its overlay on the decks
    return parts.adapter


def wire_panel(
    box: Box,
    *,
    pin_factory: Factory | None = None,
    load_factory: Callable[[], tuple[Factory | None, str]] = detect_pin_factory,
    clock: Callable[[], float] = time.monotonic,
    on_reply: ReplyObserver | None = None,
) -> Adapter | None:
    """The keywords are for tests: a mock pin factory, a manual clock, a reply log."""
    return build_panel(
        box.config.section("panel"),
        box.runtime,
        pin_factory=pin_factory,
        load_factory=load_factory,
        clock=clock,
        on_reply=on_reply,
    )


def wire_content(box: Box) -> Adapter:
    gallery = build_content(box.config, box.runtime)
    box.services.content = gallery
    return gallery


def wire_importer(box: Box) -> Adapter:
    importer = build_importer(box.runtime, box.config.media_dir)
    box.services.importer = importer
    return importer


def wire_backups(box: Box) -> Adapter:
    backups = build_backups(box.runtime, box.config.data_dir)
    box.services.backup = backups
    return backups


def maintenance(box: Box) -> Maintenance:
    """The scheduler's maintenance jobs; they read `box.services` when they run (the console
    and the cloud link are built after the scheduler)."""
    config = box.config
    section = config.section("scheduler")
    return Maintenance(
        box.runtime,
        data_dir=config.data_dir,
        services=box.services,
        log_retention_days=float(section.get("log_retention_days", 90)),
        cache_max_bytes=int(config.cache_max_mb) * 1024 * 1024,
        timezone=str(section.get("timezone") or config.timezone),
    )


def wire_scheduler(box: Box) -> Adapter | None:
    return build_scheduler(box.config, box.runtime, maintenance(box))


def wire_console(box: Box) -> Adapter | None:
    console = build_console(box.config, box.runtime, box.services, lambda: box.first_pin)
    if console is not None:
        box.services.sessions = console.console.sessions  # the maintenance job expires them
    return console


def wire_cloud_link(box: Box) -> Adapter | None:
    link = build_cloud_link(box.config, box.runtime, box.services.library)
    if link is not None:
        box.services.cloud = link  # its health, for the maintenance job
    return link


def wire_appwrite_mirror(box: Box) -> Adapter | None:
    return build_appwrite_mirror(box.config, box.runtime)


def wire_sdnotify(box: Box, environ: Mapping[str, str] | None = None) -> Adapter | None:
    """`environ` is for tests (default: the process's, where systemd names its socket)."""
    return build_sdnotify(
        alive=lambda: box.runtime.running,
        status=lambda: status_line(box.runtime.state, box.config.port),
        environ=environ,
    )
