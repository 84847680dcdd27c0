"""Builds the library adapter and what it offers the others: the service itself (search,
media files, loudness, its cache) and the daily yt-dlp update. The composition root
(`appliance/wiring.py`) records them in the box's `Services`.

`[library]` settings in the config file: `scan_every` (s, default 10), `attempts`
(downloads tried per track, default 3), `backoff` (s before the second try, doubling,
default 1), `socket_timeout` (s, default 10), `workers` (parallel downloads, default 2).
The cache lives in `cache_dir` (default `<data_dir>/cache`) under `cache_max_mb`.
yt-dlp: `extractor_args` (PO tokens, see `appliance.config.extractor_args`), `update`
(daily self-update, default true), `update_hour` (local hour, default 4), `index_url` (empty:
PyPI through pip's own configuration), `canary_youtube_id`, `rollback_after` (3), and
`ytdlp_dir` (side environments, default `<data_dir>/ytdlp`; must be writable).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from appliance.config import Config, ConfigError, extractor_args
from appliance.core import messages as m
from appliance.core.outputs import PlayTrack, Prefetch
from appliance.library.service import LibraryService
from appliance.library.updater import Updater, UpdateSettings
from appliance.runtime_port import AddEffectSink, Post
from appliance.subscription import Only

log = logging.getLogger(__name__)
ACTOR = m.Actor(user_id="ytdlp-update", role="admin", source="scheduler")


@dataclass(frozen=True)
class LibraryParts:
    """The library adapter (also the search, media, loudness and cache service) and its
    daily yt-dlp update."""

    service: LibraryService
    updater: Updater


def build_library(config: Config, post: Post, add_effect_sink: AddEffectSink) -> LibraryParts:
    section = config.section("library")
    service = LibraryService(
        post,
        config.media_dir,
        config.media_cache_dir,
        cache_max_bytes=config.cache_max_mb * 1024 * 1024,
        demo_media=config.demo_media,
        scan_every=float(section.get("scan_every", 10.0)),
        attempts=int(section.get("attempts", 3)),
        backoff=float(section.get("backoff", 1.0)),
        socket_timeout=float(section.get("socket_timeout", 10.0)),
        workers=int(section.get("workers", 2)),
        ytdlp_dir=Path(section.get("ytdlp_dir") or config.data_dir / "ytdlp"),
        extractor_args=_extractor_args(section),
        loudness_file=config.data_dir / "loudness.json",
    )
    try:
        settings = UpdateSettings.from_section(section)
    except (ValueError, TypeError) as exc:  # the box plays on; only the update is off
        log.warning("yt-dlp self-update off: %s", exc)
        settings = UpdateSettings(enabled=False)

    def notify(status: str, detail: dict[str, object]) -> None:
        post(m.SystemNotice(actor=ACTOR, status=status, detail=detail))

    updater = Updater(service.ytdlp_store, service.resolver, settings, notify=notify)
    service.resolver.on_outcome = updater.observe
    # the library acts on these two only (LibraryService.on_effects)
    add_effect_sink(Only((Prefetch, PlayTrack), service.on_effects), "library")
    return LibraryParts(service, updater)


def _extractor_args(section: Mapping[str, Any]) -> dict[str, dict[str, list[str]]]:
    try:
        return extractor_args(section)
    except ConfigError as exc:  # the box plays without them; the log says why
        log.warning("yt-dlp extractor_args ignored: %s", exc)
        return {}
