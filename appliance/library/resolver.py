"""`Resolver`: a video id or URL -> a verified local file plus metadata, through the
yt-dlp Python API (`YoutubeDL`), with retries and backoff.

A YouTube id (11 characters) means `https://www.youtube.com/watch?v=<id>`; an http(s)
URL is handed to yt-dlp as is (its generic extractor plays direct media links). The
format is capped at 720p and prefers H.264 (the Pi decodes it in hardware). A download
lands in the cache's partial directory and is admitted only after ffprobe reads it.
"""

from __future__ import annotations

import logging
import re
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from yt_dlp import YoutubeDL
from yt_dlp.utils import DownloadError

from appliance.core.model import TrackInfo
from appliance.library.cache import MediaCache
from appliance.library.local import probe

log = logging.getLogger(__name__)

SEARCH_RETRY_AFTER = 30.0  # seconds a failed YouTube search is not retried
YOUTUBE_ID = re.compile(r"^[A-Za-z0-9_-]{11}$")
FORMAT = (
    "bv*[height<=720][vcodec^=avc1]+ba[ext=m4a]/b[height<=720][ext=mp4]/b[height<=720]/bv*+ba/b"
)
PERMANENT = ("HTTP Error 404", "HTTP Error 410", "Unsupported URL", "Private video",
             "Video unavailable", "not a valid URL", "is not a valid")  # fmt: skip

Progress = Callable[[str, dict[str, Any]], None]


class ResolveError(Exception):
    def __init__(self, reason: str, attempts: int = 1) -> None:
        super().__init__(reason)
        self.reason = reason
        self.attempts = attempts


def source_url(video_id: str) -> str | None:
    """What yt-dlp should fetch for this id, or None when it only exists on the box."""
    if video_id.startswith(("http://", "https://")):
        return video_id
    if YOUTUBE_ID.match(video_id):
        return f"https://www.youtube.com/watch?v={video_id}"
    return None


class _QuietLogger:
    def debug(self, msg: str) -> None:
        pass

    def info(self, msg: str) -> None:
        pass

    def warning(self, msg: str) -> None:
        log.debug("yt-dlp: %s", msg)

    def error(self, msg: str) -> None:
        log.debug("yt-dlp: %s", msg)


def track_from_info(video_id: str, info: dict[str, Any]) -> TrackInfo:
    artist = info.get("artist") or info.get("creator") or info.get("uploader") or ""
    artist = artist or info.get("channel") or ""
    duration = info.get("duration") or 0
    return TrackInfo(
        video_id=video_id,
        title=str(info.get("track") or info.get("title") or ""),
        artist=str(artist),
        duration=int(round(float(duration))) if duration else 0,
        thumbnail=str(info.get("thumbnail") or ""),
    )


@dataclass
class Resolver:
    cache: MediaCache
    attempts: int = 3
    backoff: float = 1.0  # seconds before the 2nd attempt; doubles each time
    socket_timeout: float = 10.0
    stopping: threading.Event | None = None
    search_client: Callable[[dict[str, Any]], Any] = YoutubeDL  # tests pass a fake
    # One YoutubeDL for every search: a fresh one per search kept ~250 KB of native
    # memory each (the 10-minute soak grew the box by 170 MB).
    _search_ydl: Any = field(default=None, init=False, repr=False)
    _search_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _search_offline_until: float = field(default=0.0, init=False, repr=False)

    def _options(self, **extra: Any) -> dict[str, Any]:
        opts: dict[str, Any] = {
            "quiet": True,
            "no_warnings": True,
            "noprogress": True,
            "noplaylist": True,
            "cachedir": False,
            "socket_timeout": self.socket_timeout,
            "retries": 1,
            "fragment_retries": 1,
            "logger": _QuietLogger(),
        }
        opts.update(extra)
        return opts

    def download(self, video_id: str, progress: Progress | None = None) -> tuple[Path, TrackInfo]:
        """Fetch into the cache, retrying with backoff. Raises ResolveError."""
        url = source_url(video_id)
        if url is None:
            raise ResolveError("not a YouTube id or URL, and not in the local library")
        reason = ""
        for attempt in range(1, self.attempts + 1):
            try:
                return self._download_once(video_id, url, progress)
            except ResolveError as exc:
                reason = exc.reason
            if any(p in reason for p in PERMANENT) or attempt == self.attempts:
                raise ResolveError(reason, attempt)
            delay = self.backoff * 2 ** (attempt - 1)
            log.info("resolve %s failed (%s); retry %d in %.1fs", video_id, reason, attempt, delay)
            if self.stopping is not None and self.stopping.wait(delay):
                raise ResolveError("stopping", attempt)
            if self.stopping is None:
                time.sleep(delay)
        raise ResolveError(reason, self.attempts)

    def _download_once(
        self, video_id: str, url: str, progress: Progress | None
    ) -> tuple[Path, TrackInfo]:
        folder = self.cache.partial_path(video_id)
        try:
            media, info = self._fetch(url, folder, video_id, progress)
            checked = probe(media)
            if not checked.get("duration") or not checked.get("streams"):
                raise ResolveError("downloaded file is damaged or incomplete")
            track = _merge_tags(track_from_info(video_id, info), info, checked)
            return self.cache.admit(video_id, media, track), track
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def _fetch(
        self, url: str, folder: Path, video_id: str, progress: Progress | None
    ) -> tuple[Path, dict[str, Any]]:
        def hook(d: dict[str, Any]) -> None:
            if progress is not None:
                progress(video_id, d)

        opts = self._options(
            format=FORMAT,
            merge_output_format="mp4",
            outtmpl={"default": str(folder / "media.%(ext)s")},
            progress_hooks=[hook],
            overwrites=True,
            continuedl=False,
        )
        try:
            with YoutubeDL(opts) as ydl:
                info = ydl.extract_info(url, download=True)
        except DownloadError as exc:
            raise ResolveError(_clean(str(exc))) from None
        except Exception as exc:  # yt-dlp raises many kinds; all mean "not this time"
            raise ResolveError(f"{type(exc).__name__}: {exc}") from None
        files = [p for p in folder.iterdir() if p.is_file() and not p.name.endswith(".part")]
        if not info or not files:
            raise ResolveError("download produced no file")
        return max(files, key=lambda p: p.stat().st_size), info

    def metadata(self, video_id: str) -> TrackInfo | None:
        """Title, artist, duration, thumbnail without downloading (None if unreachable)."""
        url = source_url(video_id)
        if url is None:
            return None
        try:
            with YoutubeDL(self._options()) as ydl:
                info = ydl.extract_info(url, download=False, process=False)
        except Exception as exc:  # offline or gone: unknown, not an error for the caller
            log.info("metadata for %s unavailable: %s", video_id, _clean(str(exc)))
            return None
        return track_from_info(video_id, info or {})

    def search(self, query: str, limit: int) -> list[TrackInfo]:
        """YouTube search (`ytsearchN:`); [] when offline."""
        if not query.strip() or limit <= 0:
            return []
        if time.monotonic() < self._search_offline_until:
            return []  # it failed a moment ago: do not make every phone wait for DNS again
        with self._search_lock:
            if self._search_ydl is None:
                self._search_ydl = self.search_client(self._options(extract_flat="in_playlist"))
            try:
                info = self._search_ydl.extract_info(
                    f"ytsearch{int(limit)}:{query}", download=False
                )
            except Exception as exc:
                log.info("YouTube search unavailable: %s", _clean(str(exc)))
                self._search_offline_until = time.monotonic() + SEARCH_RETRY_AFTER
                return []
        out = []
        for entry in (info or {}).get("entries") or []:
            vid = entry.get("id") or ""
            if not vid:
                continue
            track = track_from_info(vid, entry)
            if not track.thumbnail and (thumbs := entry.get("thumbnails")):
                track = TrackInfo(vid, track.title, track.artist, track.duration,
                                  str(thumbs[-1].get("url", "")))  # fmt: skip
            out.append(track)
        return out


def _merge_tags(track: TrackInfo, info: dict[str, Any], checked: dict[str, Any]) -> TrackInfo:
    """A direct media link (generic extractor) is named by its URL: its own tags and
    probed duration say more."""
    tags = checked.get("tags") or {}
    generic = info.get("extractor") == "generic"
    title = (tags.get("title") if generic else "") or track.title or tags.get("title", "")
    artist = (tags.get("artist") if generic else "") or track.artist or tags.get("artist", "")
    duration = track.duration or int(round(float(checked.get("duration") or 0)))
    return TrackInfo(track.video_id, str(title), str(artist), duration, track.thumbnail)


def _clean(message: str) -> str:
    return message.replace("ERROR: ", "").strip()[:300]
