"""Builds the library adapter and registers its services.

`[library]` settings in the config file: `scan_every` (s, default 10), `attempts`
(downloads tried per track, default 3), `backoff` (s before the second try, doubling,
default 1), `socket_timeout` (s, default 10), `workers` (parallel downloads, default 2).
The cache lives in `cache_dir` (default `<data_dir>/cache`) under `cache_max_mb`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from appliance.library.service import LibraryService

if TYPE_CHECKING:
    from appliance.bootstrap import Box


def build_library(box: Box) -> LibraryService:
    config = box.config
    section = config.section("library")
    service = LibraryService(
        box.runtime.post,
        config.media_dir,
        config.media_cache_dir,
        cache_max_bytes=config.cache_max_mb * 1024 * 1024,
        demo_media=config.demo_media,
        scan_every=float(section.get("scan_every", 10.0)),
        attempts=int(section.get("attempts", 3)),
        backoff=float(section.get("backoff", 1.0)),
        socket_timeout=float(section.get("socket_timeout", 10.0)),
        workers=int(section.get("workers", 2)),
    )
    box.services["library"] = service
    box.services["cache"] = service.cache
    box.runtime.add_effect_sink(service.on_effects, "library")
    return service
