"""The local media folder: scanned at start and whenever its contents change.

A file named in the DJAMMS convention `[Youtube_ID, Artist_Name, Song-Title].mp4` gives
its video id, artist and title from the name (underscores read as spaces); any other
file gets a stable `local-…` id from its path and its title/artist from its tags
(ffprobe), falling back to the file name. Durations come from ffprobe. Probe results
are remembered by (path, size, mtime), so a rescan only probes what changed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from appliance.core.model import TrackInfo

log = logging.getLogger(__name__)

MEDIA_SUFFIXES = frozenset(
    {".mp4", ".m4v", ".mkv", ".webm", ".mov", ".avi", ".mp3", ".m4a", ".flac", ".ogg",
     ".opus", ".wav"}
)  # fmt: skip
CONVENTION = re.compile(r"^\[\s*([^,\]]+?)\s*,\s*([^,\]]*?)\s*,\s*(.+?)\s*\]$")


def parse_convention(stem: str) -> tuple[str, str, str] | None:
    """`[id, Artist_Name, Song Title]` -> (id, "Artist Name", "Song Title"), else None."""
    match = CONVENTION.match(stem.strip())
    if match is None:
        return None
    vid, artist, title = match.groups()
    return vid, artist.replace("_", " ").strip(), title.replace("_", " ").strip()


def probe(path: Path, timeout: float = 15.0) -> dict[str, Any]:
    """Duration (s) and tags of a media file, or {} when ffprobe cannot read it."""
    ffprobe = shutil.which("ffprobe")
    if ffprobe is None:
        return {}
    cmd = [ffprobe, "-v", "error", "-show_entries", "format=duration:format_tags"]
    cmd += ["-show_entries", "stream=codec_type", "-of", "json", str(path)]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=True)
        doc = json.loads(out.stdout or "{}")
    except (OSError, subprocess.SubprocessError, ValueError):
        return {}
    fmt = doc.get("format", {})
    tags = {str(k).lower(): v for k, v in (fmt.get("tags") or {}).items()}
    try:
        duration = float(fmt.get("duration", 0) or 0)
    except (TypeError, ValueError):
        duration = 0.0
    streams = [s.get("codec_type") for s in doc.get("streams", [])]
    return {"duration": duration, "tags": tags, "streams": streams}


@dataclass(frozen=True)
class LocalTrack:
    path: Path
    track: TrackInfo


class LocalLibrary:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._tracks: dict[str, LocalTrack] = {}
        self._probed: dict[tuple[str, int, int], dict[str, Any]] = {}
        self._signature: tuple[tuple[str, int, int], ...] = ()
        self._lock = threading.Lock()

    def files(self) -> list[Path]:
        if not self.root.is_dir():
            return []
        return sorted(
            p
            for p in self.root.rglob("*")
            if p.suffix.lower() in MEDIA_SUFFIXES and p.is_file() and not p.name.startswith(".")
        )

    def _signature_now(self, files: list[Path]) -> tuple[tuple[str, int, int], ...]:
        out = []
        for p in files:
            try:
                st = p.stat()
            except OSError:
                continue
            out.append((str(p), st.st_size, st.st_mtime_ns))
        return tuple(out)

    def changed(self) -> bool:
        return self._signature_now(self.files()) != self._signature

    def scan(self) -> list[TrackInfo]:
        """Read the folder; returns the tracks in name order."""
        files = self.files()
        signature = self._signature_now(files)
        tracks: dict[str, LocalTrack] = {}
        for key in signature:
            path = Path(key[0])
            info = self._probed.get(key)
            if info is None:
                info = probe(path)
                self._probed[key] = info
            if not info.get("duration") and not info.get("streams"):
                log.warning("library: %s is not readable media; skipped", path.name)
                continue
            track = self._track_for(path, info)
            tracks.setdefault(track.video_id, LocalTrack(path, track))
        with self._lock:
            self._tracks = tracks
            self._signature = signature
        return [t.track for t in tracks.values()]

    def _track_for(self, path: Path, info: dict[str, Any]) -> TrackInfo:
        duration = int(round(float(info.get("duration") or 0)))
        parsed = parse_convention(path.stem)
        if parsed is not None:
            vid, artist, title = parsed
            return TrackInfo(vid, title, artist, duration)
        rel = str(path.relative_to(self.root))
        vid = "local-" + hashlib.sha1(rel.encode("utf-8")).hexdigest()[:11]
        tags = info.get("tags") or {}
        title = str(tags.get("title") or path.stem.replace("_", " "))
        artist = str(tags.get("artist") or tags.get("album_artist") or "")
        return TrackInfo(vid, title, artist, duration)

    def get(self, video_id: str) -> LocalTrack | None:
        with self._lock:
            return self._tracks.get(video_id)

    def tracks(self) -> list[LocalTrack]:
        with self._lock:
            return list(self._tracks.values())
