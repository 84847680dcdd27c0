"""What the box's parts offer each other, typed. The composition root
(`appliance/bootstrap.py`) fills one `Services` while it builds the box; a part reads only
the fields it uses. Each field is a port (a Protocol), so a part depends on what a service
does, never on the adapter that does it; a field left None means that part is not running
on this box (the console answers 503, the maintenance job skips it)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Protocol

from appliance.core.loudness import Loudness
from appliance.core.messages import Actor
from appliance.core.model import ContentItem, TrackInfo
from appliance.playlist_files import ImportReport


class Library(Protocol):
    """Search, preview and track details (console search, requests, the cloud desk)."""

    def search(self, query: str, limit: int = 20) -> list[dict[str, Any]]: ...

    def preview_url(self, video_id: str) -> str | None: ...

    def resolve_metadata(self, video_id: str) -> TrackInfo | None: ...


class MediaSource(Protocol):
    """Local files for the player (the library's resolver and cache)."""

    def locate(self, video_id: str) -> Path | None: ...

    def fetch(self, video_id: str, done: Callable[[Path | None, str], None]) -> None: ...

    def discard(self, video_id: str, reason: str) -> None: ...


class LoudnessSource(Protocol):
    """Each track's measured loudness (None until measured), for normalisation."""

    def loudness(self, video_id: str) -> Loudness | None: ...

    def measure_now(self, key: str, path: Path) -> Loudness | None: ...


class MediaCache(Protocol):
    def evict(self, max_bytes: int) -> int: ...


class YtdlpUpdates(Protocol):
    """The daily yt-dlp self-update: when it is due, starting it, what it did."""

    def due(self, local_now: datetime) -> bool: ...

    def start_update(self, local_date: str = "") -> bool: ...

    def status(self) -> dict[str, Any]: ...


class PlaylistImports(Protocol):
    """Playlist imports on their own threads; the future raises `ImportRefused`."""

    def start_import(self, actor: Actor, **source: Any) -> tuple[str, Future[ImportReport]]: ...


class Gallery(Protocol):
    """The content gallery (`appliance.content`): uploads, deletes and the files' paths;
    a refusal raises `appliance.content_files.ContentError`."""

    @property
    def max_bytes(self) -> int: ...

    def upload(self, stream: IO[bytes], filename: str, actor: Actor) -> ContentItem: ...

    def delete(self, content_ids: Iterable[str], actor: Actor) -> list[ContentItem]: ...

    def media_path(self, item: ContentItem) -> Path | None: ...

    def thumb_path(self, item: ContentItem) -> Path | None: ...


class BackupRestore(Protocol):
    """The venue's backups (`appliance.backup`): an archive streamed, one restored; a
    refusal raises `appliance.backup_format.BackupError`."""

    def stream(self) -> Iterator[bytes]: ...

    def restore(
        self, upload: IO[bytes], actor: Actor, *, trust_foreign: bool = False
    ) -> dict[str, Any]: ...


class SessionExpiry(Protocol):
    """The console's sessions: drop those past their time (and write the file)."""

    def expire(self, now: float | None = None) -> int: ...


# The TV's logo, as both the display and the player draw it with mpv's `overlay-add`:
# raw BGRA pixels of this size, placed at this point of the screen (top left).
TV_LOGO_X, TV_LOGO_Y, TV_LOGO_W, TV_LOGO_H = 40, 24, 240, 96


def tv_logo_args(raw: Path) -> tuple[object, ...]:
    """mpv's `overlay-add` arguments for the logo (overlay 2; 1 is the ASS overlay)."""
    return (2, TV_LOGO_X, TV_LOGO_Y, str(raw), 0, "bgra", TV_LOGO_W, TV_LOGO_H, TV_LOGO_W * 4)


class TvOverlay(Protocol):
    """What the TV draws over the music video (ASS events, the logo), on the player's decks."""

    def show_overlay(self, ass_events: str) -> None: ...

    def show_logo(self, raw: Path | None) -> None: ...


class CloudLink(Protocol):
    @property
    def connected(self) -> bool: ...


@dataclass
class Services:
    library: Library | None = None
    media: MediaSource | None = None  # the player's files; the library when it runs
    loudness: LoudnessSource | None = None  # the library's measurements
    cache: MediaCache | None = None
    ytdlp: YtdlpUpdates | None = None
    content: Gallery | None = None
    backup: BackupRestore | None = None
    importer: PlaylistImports | None = None
    sessions: SessionExpiry | None = None  # set by the LAN console
    cloud: CloudLink | None = None  # set when a broker is configured
    overlay: TvOverlay | None = None  # set by the player when its decks draw video
