"""Playlist files as the box writes them (M3U, our JSON), the error a refused import raises
and the report of one that ran. Shared by the console (export, and the answer to an
import) and the library (which reads these files back): pure, no I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from appliance.core.model import Playlist

YOUTUBE_ID = re.compile(r"^[A-Za-z0-9_-]{11}$")
JSON_FORMAT = "djamms-playlist"


class ImportRefused(Exception):  # noqa: N818 - an outcome people see
    """The whole import was refused (unreachable source, not a playlist, bad file)."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


@dataclass
class ImportReport:
    import_id: str
    source: str
    name: str = ""
    playlist_id: str = ""
    imported: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)
    playlist: Playlist | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "importId": self.import_id,
            "source": self.source,
            "name": self.name,
            "playlistId": self.playlist_id,
            "imported": self.imported,
            "failedCount": len(self.failed),
            "failed": self.failed[:500],
        }


def external_ref(video_id: str) -> str:
    """How a track is written in an M3U file other players understand."""
    if YOUTUBE_ID.match(video_id):
        return f"https://www.youtube.com/watch?v={video_id}"
    return video_id


def to_m3u(playlist: Playlist) -> str:
    lines = ["#EXTM3U", f"#PLAYLIST:{playlist.name}"]
    for t in playlist.tracks:
        title = f"{t.artist} - {t.title}" if t.artist else t.title
        lines.append(f"#EXTINF:{t.duration or -1},{title}")
        lines.append(external_ref(t.video_id))
    return "\n".join(lines) + "\n"


def to_json(playlist: Playlist) -> dict[str, Any]:
    keys = ("video_id", "title", "artist", "duration", "thumbnail")
    return {
        "format": JSON_FORMAT,
        "version": 1,
        "name": playlist.name,
        "description": playlist.description,
        "category": playlist.category,
        "tracks": [{k: getattr(t, k) for k in keys} for t in playlist.tracks],
    }
