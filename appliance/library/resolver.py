"""`Resolver`: a video id or URL -> a verified local file plus metadata, through yt-dlp
(run by a `YtdlpPort`: the active side environment in a child process, see `ytdlp_env`),
with retries and backoff.

A YouTube id (11 characters) means `https://www.youtube.com/watch?v=<id>`; an http(s)
URL is handed to yt-dlp as is (its generic extractor plays direct media links). The
format: separate (DASH) H.264 video up to 720p plus AAC audio, merged by ffmpeg, which is
what YouTube serves most reliably today (its pre-merged formats are few and often refused);
H.264 because the Pi decodes it in hardware. After a 403 from YouTube the next attempt
asks as another player client (`fallback_clients`). `extractor_args` (the `[library]`
section) is passed to yt-dlp as is, e.g. `{youtube = {po_token = ["web.gvs+TOKEN"]}}`.
A download lands in the cache's partial directory and is admitted only after ffprobe
reads it. Each resolve's outcome is reported to `on_outcome` (the updater's rollback watch).
"""

from __future__ import annotations

import logging
import re
import shutil
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from appliance.core.model import TrackInfo
from appliance.library.cache import MediaCache
from appliance.library.local import probe
from appliance.library.ytdlp_env import EnvStore, YtdlpError, YtdlpPort, YtdlpRunner

log = logging.getLogger(__name__)

SEARCH_RETRY_AFTER = 30.0  # seconds a failed YouTube search is not retried
YOUTUBE_ID = re.compile(r"^[A-Za-z0-9_-]{11}$")
FORMAT = (
    "bv*[height<=720][vcodec^=avc1]+ba[acodec^=mp4a]/bv*[height<=720][vcodec^=avc1]+ba"
    "/bv*[height<=720]+ba/b[height<=720][ext=mp4]/b[height<=720]/bv*+ba/b"
)
FALLBACK_CLIENTS = ("tv", "web_safari", "mweb")  # asked in turn after a 403
PERMANENT = ("HTTP Error 404", "HTTP Error 410", "Unsupported URL", "Private video",
             "Video unavailable", "not a valid URL", "is not a valid")  # fmt: skip

Progress = Callable[[str, dict[str, Any]], None]
Outcome = Callable[[str, bool, str], None]  # (video_id, ok, reason)


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


def player_client_args(
    extractor_args: Mapping[str, Any], url: str, attempt: int, last_reason: str,
    fallback_clients: tuple[str, ...] = FALLBACK_CLIENTS,
) -> dict[str, Any]:  # fmt: skip
    """The extractor arguments for this attempt: the configured ones, and after a 403 from
    YouTube another player client each time (YouTube refuses some clients' URLs)."""
    args = {str(k): dict(v) for k, v in extractor_args.items() if isinstance(v, Mapping)}
    youtube = "youtube.com/" in url or "youtu.be/" in url
    if youtube and attempt > 1 and "403" in last_reason and fallback_clients:
        client = fallback_clients[(attempt - 2) % len(fallback_clients)]
        args.setdefault("youtube", {})["player_client"] = [client]
    return args


@dataclass
class Resolver:
    cache: MediaCache
    attempts: int = 3
    backoff: float = 1.0  # seconds before the 2nd attempt; doubles each time
    socket_timeout: float = 10.0
    stopping: threading.Event | None = None
    runner: YtdlpPort | None = None  # None: the venv's own yt-dlp in a child
    extractor_args: Mapping[str, Any] = field(default_factory=dict)
    fallback_clients: tuple[str, ...] = FALLBACK_CLIENTS
    on_outcome: Outcome | None = None
    _search_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _search_offline_until: float = field(default=0.0, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.runner is None:
            self.runner = YtdlpRunner(EnvStore(None), self.stopping)

    @property
    def ytdlp(self) -> YtdlpPort:
        assert self.runner is not None
        return self.runner

    def options(self, **extra: Any) -> dict[str, Any]:
        opts: dict[str, Any] = {
            "no_warnings": True,
            "noplaylist": True,
            "cachedir": False,
            "socket_timeout": self.socket_timeout,
            "retries": 1,
            "fragment_retries": 1,
        }
        if self.extractor_args:
            opts["extractor_args"] = player_client_args(self.extractor_args, "", 1, "")
        opts.update(extra)
        return opts

    def download_options(self, folder: Path, **extra: Any) -> dict[str, Any]:
        return self.options(
            format=FORMAT,
            merge_output_format="mp4",
            outtmpl={"default": str(folder / "media.%(ext)s")},
            overwrites=True,
            continuedl=False,
            **extra,
        )

    def download(self, video_id: str, progress: Progress | None = None) -> tuple[Path, TrackInfo]:
        """Fetch into the cache, retrying with backoff. Raises ResolveError."""
        try:
            out = self._download(video_id, progress)
        except ResolveError as exc:
            if self.on_outcome is not None and exc.reason != "stopping":
                self.on_outcome(video_id, False, exc.reason)
            raise
        if self.on_outcome is not None:
            self.on_outcome(video_id, True, "")
        return out

    def _download(self, video_id: str, progress: Progress | None) -> tuple[Path, TrackInfo]:
        url = source_url(video_id)
        if url is None:
            raise ResolveError("not a YouTube id or URL, and not in the local library")
        reason = ""
        for attempt in range(1, self.attempts + 1):
            args = player_client_args(
                self.extractor_args, url, attempt, reason, self.fallback_clients
            )
            try:
                return self._download_once(video_id, url, progress, args)
            except ResolveError as exc:
                reason = exc.reason
            if reason == "stopping":
                raise ResolveError("stopping", attempt)
            if is_permanent(reason) or attempt == self.attempts:
                raise ResolveError(reason, attempt)
            delay = self.backoff * 2 ** (attempt - 1)
            log.info("resolve %s failed (%s); retry %d in %.1fs", video_id, reason, attempt, delay)
            if self.stopping is not None and self.stopping.wait(delay):
                raise ResolveError("stopping", attempt)
            if self.stopping is None:
                time.sleep(delay)
        raise ResolveError(reason, self.attempts)

    def _download_once(
        self, video_id: str, url: str, progress: Progress | None, args: dict[str, Any]
    ) -> tuple[Path, TrackInfo]:
        folder = self.cache.partial_path(video_id)
        try:
            media, info = self._fetch(url, folder, video_id, progress, args)
            checked = probe(media)
            if not checked.get("duration") or not checked.get("streams"):
                raise ResolveError("downloaded file is damaged or incomplete")
            track = _merge_tags(track_from_info(video_id, info), info, checked)
            return self.cache.admit(video_id, media, track), track
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def _fetch(
        self,
        url: str,
        folder: Path,
        video_id: str,
        progress: Progress | None,
        args: dict[str, Any],
    ) -> tuple[Path, dict[str, Any]]:
        def hook(d: dict[str, Any]) -> None:
            if progress is not None:
                progress(video_id, d)

        folder.mkdir(parents=True, exist_ok=True)
        opts = self.download_options(folder, extractor_args=args)
        try:
            info = self.ytdlp.run(url, opts, download=True, progress=hook)
        except YtdlpError as exc:
            raise ResolveError(str(exc)) from None
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
            info = self.ytdlp.run(url, self.options(), download=False, process=False)
        except YtdlpError as exc:  # offline or gone: unknown, not an error for the caller
            log.info("metadata for %s unavailable: %s", video_id, exc)
            return None
        return track_from_info(video_id, info or {})

    def search(self, query: str, limit: int) -> list[TrackInfo]:
        """YouTube search (`ytsearchN:`); [] when offline."""
        if not query.strip() or limit <= 0:
            return []
        if time.monotonic() < self._search_offline_until:
            return []  # it failed a moment ago: do not make every phone wait for DNS again
        with self._search_lock:
            try:
                info = self.ytdlp.run(
                    f"ytsearch{int(limit)}:{query}",
                    self.options(extract_flat="in_playlist"),
                    download=False,
                )
            except YtdlpError as exc:
                log.info("YouTube search unavailable: %s", exc)
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


def is_permanent(reason: str) -> bool:
    """A failure no retry or other yt-dlp version would fix (the video is gone)."""
    return any(p in reason for p in PERMANENT)


def _merge_tags(track: TrackInfo, info: dict[str, Any], checked: dict[str, Any]) -> TrackInfo:
    """A direct media link (generic extractor) is named by its URL: its own tags and
    probed duration say more."""
    tags = checked.get("tags") or {}
    generic = info.get("extractor") == "generic"
    title = (tags.get("title") if generic else "") or track.title or tags.get("title", "")
    artist = (tags.get("artist") if generic else "") or track.artist or tags.get("artist", "")
    duration = track.duration or int(round(float(checked.get("duration") or 0)))
    return TrackInfo(track.video_id, str(title), str(artist), duration, track.thumbnail)
