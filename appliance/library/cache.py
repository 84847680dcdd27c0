"""`MediaCache`: downloaded media on the box, bounded by a size quota, evicted least
recently used first, surviving restarts.

Layout under the cache directory: `<key>.<ext>` files (key = sha1 of the video id),
`index.json` (video id -> file, size, last use, metadata; replaced atomically), and
`.partial/` where downloads land until they are complete and verified. Only `admit()`
moves a file out of `.partial/`, so a partial download is never played. Tracks that are
pinned (playing now, next up) are never evicted.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from appliance.core.model import TrackInfo

log = logging.getLogger(__name__)


def cache_key(video_id: str) -> str:
    return hashlib.sha1(video_id.encode("utf-8")).hexdigest()[:16]


@dataclass
class CacheEntry:
    video_id: str
    file: str
    size: int
    last_used: float
    title: str = ""
    artist: str = ""
    duration: int = 0
    thumbnail: str = ""

    @property
    def track(self) -> TrackInfo:
        return TrackInfo(self.video_id, self.title, self.artist, self.duration, self.thumbnail)


class MediaCache:
    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = Path(root)
        self.max_bytes = max_bytes
        self.partial_dir = self.root / ".partial"
        self._index_file = self.root / "index.json"
        self._entries: dict[str, CacheEntry] = {}
        self._pinned: set[str] = set()
        self._lock = threading.RLock()
        self.evictions = 0

    def open(self) -> MediaCache:
        """Load the index, drop entries whose file is gone, clear leftover partials."""
        self.root.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(self.partial_dir, ignore_errors=True)
        self.partial_dir.mkdir(parents=True, exist_ok=True)
        try:
            raw = json.loads(self._index_file.read_text())
        except (OSError, ValueError):
            raw = {}
        with self._lock:
            for vid, data in raw.get("entries", {}).items():
                try:
                    entry = CacheEntry(**data)
                except TypeError:
                    continue
                if (self.root / entry.file).is_file():
                    self._entries[vid] = entry
            known = {e.file for e in self._entries.values()} | {"index.json", ".partial"}
            for path in self.root.iterdir():
                if path.name not in known and not path.name.startswith("index.json"):
                    _remove(path)  # an orphan from a crash between rename and index write
            self._save()
        return self

    def _save(self) -> None:
        tmp = self._index_file.with_suffix(".json.tmp")
        data = {"entries": {vid: asdict(e) for vid, e in self._entries.items()}}
        with open(tmp, "w") as f:
            json.dump(data, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self._index_file)

    # -- queries ---------------------------------------------------------------------------

    def get(self, video_id: str, touch: bool = True) -> Path | None:
        with self._lock:
            entry = self._entries.get(video_id)
            if entry is None:
                return None
            path = self.root / entry.file
            if not path.is_file():
                del self._entries[video_id]
                return None
            if touch:
                entry.last_used = time.time()
            return path

    def entry(self, video_id: str) -> CacheEntry | None:
        with self._lock:
            return self._entries.get(video_id)

    def entries(self) -> list[CacheEntry]:
        with self._lock:
            return list(self._entries.values())

    def used_bytes(self) -> int:
        with self._lock:
            return sum(e.size for e in self._entries.values())

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "items": len(self._entries),
                "bytes": self.used_bytes(),
                "max_bytes": self.max_bytes,
                "pinned": len(self._pinned & set(self._entries)),
                "evictions": self.evictions,
                "dir": str(self.root),
            }

    # -- changes ---------------------------------------------------------------------------

    def partial_path(self, video_id: str) -> Path:
        """A fresh directory for one download; `admit` takes the file out of it."""
        path = self.partial_dir / f"{cache_key(video_id)}-{time.monotonic_ns()}"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def admit(self, video_id: str, downloaded: Path, track: TrackInfo) -> Path:
        """Move a complete, verified download into the cache and index it."""
        name = cache_key(video_id) + downloaded.suffix.lower()
        final = self.root / name
        os.replace(downloaded, final)
        entry = CacheEntry(
            video_id=video_id,
            file=name,
            size=final.stat().st_size,
            last_used=time.time(),
            title=track.title,
            artist=track.artist,
            duration=track.duration,
            thumbnail=track.thumbnail,
        )
        with self._lock:
            old = self._entries.get(video_id)
            if old is not None and old.file != name:
                _remove(self.root / old.file)
            self._entries[video_id] = entry
            self._save()
            self._shrink_to(self.max_bytes)
        shutil.rmtree(downloaded.parent, ignore_errors=True)
        return final

    def pin(self, video_ids: set[str]) -> None:
        with self._lock:
            self._pinned = set(video_ids)

    def remove(self, video_id: str) -> bool:
        with self._lock:
            entry = self._entries.pop(video_id, None)
            if entry is None:
                return False
            _remove(self.root / entry.file)
            self._save()
            return True

    def evict(self, max_bytes: int) -> int:
        """Evict least recently used, unpinned tracks until at most `max_bytes` are used.
        Returns the bytes freed."""
        with self._lock:
            freed = self._shrink_to(max(0, int(max_bytes)))
            self._save()
            return freed

    def _shrink_to(self, limit: int) -> int:
        freed = 0
        by_age = sorted(self._entries.values(), key=lambda e: e.last_used)
        total = self.used_bytes()
        for entry in by_age:
            if total <= limit:
                break
            if entry.video_id in self._pinned:
                continue
            _remove(self.root / entry.file)
            del self._entries[entry.video_id]
            total -= entry.size
            freed += entry.size
            self.evictions += 1
            log.info("cache: evicted %s (%d bytes)", entry.video_id, entry.size)
        if freed:
            self._save()
        return freed

    def clear_partials(self) -> None:
        shutil.rmtree(self.partial_dir, ignore_errors=True)
        self.partial_dir.mkdir(parents=True, exist_ok=True)


def _remove(path: Path) -> None:
    try:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    except OSError:
        log.warning("cache: could not remove %s", path)
