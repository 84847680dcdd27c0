"""`LibraryService`: the local library, the media cache and the resolver behind one small
API. Offered as `box.services.library` and `.media` (and its cache as `.cache`).

API for the console and the maintenance side (all thread-safe):

- `search(query: str, limit: int = 20) -> list[dict]`: local library and cached tracks
  first, then YouTube (`ytsearch`, skipped when offline). Each result has `video_id`,
  `title`, `artist`, `duration`, `thumbnail`, `playable_offline` (True when the file is
  on the box) and `source` (`local`, `cache` or `youtube`). Raises `ValueError` for a
  query that is not text (1-200 characters) or a limit outside 1-50.
- `preview_url(video_id) -> str | None`: a web address to preview the track (YouTube's
  embed page for a YouTube id, the URL itself for an http(s) id), None for box-only media.
- `loudness(video_id) -> Loudness | None`: the track's integrated loudness and true peak,
  measured once in the background (`LoudnessMeter`) when it enters the cache or library.
- `local_path(video_id) -> Path | None`: the file on the box (library or cache), if any.
- `resolve_metadata(video_id) -> TrackInfo | None`: from the library or cache, else asked
  of yt-dlp (None when unknown or offline).
- `stats() -> dict`: `{"library": {...}, "cache": {...}, "downloads": {...}}`.
- `cache.evict(max_bytes) -> int` (bytes freed) and `cache.stats()`: see `MediaCache`.

For the mixer it is the `MediaSource` (`locate`, `fetch`, `discard`). As an effect sink
it keeps the next tracks (`Prefetch`) resolved and cached ahead, reporting
`TrackResolved`, or `TrackUnplayable` plus a `download_failed` log entry after retries,
and `download_progress` notices while downloading.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

from appliance.core import messages as m
from appliance.core.loudness import Loudness
from appliance.core.model import State, TrackInfo
from appliance.core.outputs import Effect, PlayTrack, Prefetch
from appliance.library.cache import MediaCache
from appliance.library.demo import make_demo_media
from appliance.library.fetcher import Done, Fetcher, FetchResult
from appliance.library.local import LocalLibrary
from appliance.library.loudness import LoudnessBook, LoudnessMeter, MeasureError, measure
from appliance.library.resolver import ResolveError, Resolver, source_url
from appliance.library.ytdlp_env import EnvStore, YtdlpRunner

log = logging.getLogger(__name__)

LIBRARY = m.Actor(user_id="library", role="admin", source="player")
PROGRESS_EVERY = 1.0  # s between download_progress notices per video
FIRST_SCAN_WAIT = 120.0  # s a fetch waits for the first scan (demo media may be encoding)


class LibraryService:
    def __init__(
        self,
        post: Any,
        media_dir: Path,
        cache_dir: Path,
        *,
        cache_max_bytes: int,
        demo_media: bool = False,
        scan_every: float = 10.0,
        attempts: int = 3,
        backoff: float = 1.0,
        socket_timeout: float = 10.0,
        workers: int = 2,
        ytdlp_dir: Path | None = None,
        extractor_args: Mapping[str, Any] | None = None,
        loudness_file: Path | None = None,
    ) -> None:
        self._post = post
        self.library = LocalLibrary(media_dir)
        self.cache = MediaCache(cache_dir, cache_max_bytes)
        self._stopping = threading.Event()
        self.ytdlp_store = EnvStore(ytdlp_dir)  # side environments of newer yt-dlp releases
        self.resolver = Resolver(
            self.cache, attempts, backoff, socket_timeout, self._stopping,
            runner=YtdlpRunner(self.ytdlp_store, self._stopping),
            extractor_args=dict(extractor_args or {}),
        )  # fmt: skip
        self.fetcher = Fetcher(self._download, self._fetched, workers=workers)
        # Not inside the cache folder: the cache removes files it does not know.
        book = loudness_file or cache_dir.with_name(cache_dir.name + "-loudness.json")
        self.meter = LoudnessMeter(LoudnessBook(book))
        self.demo_media = demo_media
        self.scan_every = scan_every
        self.scanned = threading.Event()  # set after each completed scan
        self._described: set[str] = set()
        self._progress_at: dict[str, float] = {}
        self._early: list[tuple[tuple[Effect, ...], State]] = []
        self._started = False
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        self.cache.open()
        self.fetcher.start()
        self.meter.start()
        with self._lock:
            self._started = True
            early, self._early = self._early, []
        for effects, state in early:
            self.on_effects(effects, state)
        self._thread = threading.Thread(target=self._watch, name="library-scan", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        self.fetcher.stop()
        self.meter.stop()

    def _watch(self) -> None:
        """Demo media if the folder is empty, a first scan, then rescans on change."""
        try:
            if self.demo_media and not self.library.files():
                make_demo_media(self.library.root, stop=self._stopping)
            self.rescan()
        finally:
            self.scanned.set()  # even after a failed scan, fetches must not wait on it
        while not self._stopping.wait(self.scan_every):
            if self.library.changed():
                self.rescan()

    def rescan(self) -> list[TrackInfo]:
        tracks = self.library.scan()
        for track in tracks:  # measured once: the book keeps what it already has
            local = self.library.get(track.video_id)
            if local is not None:
                self.meter.loudness(track.video_id, local.path)
        log.info("library: %d tracks in %s", len(tracks), self.library.root)
        self._post(m.LibraryScanned(tracks=tuple(tracks), actor=LIBRARY))
        self.scanned.set()
        return tracks

    # -- MediaSource (the mixer) -----------------------------------------------------------

    def locate(self, video_id: str) -> Path | None:
        local = self.library.get(video_id)
        if local is not None and local.path.is_file():
            return local.path
        return self.cache.get(video_id)

    def fetch(self, video_id: str, done: Done) -> None:
        path = self.locate(video_id)
        if path is not None:
            done(path, "")
            return
        self.fetcher.request(video_id, urgent=True, done=done)

    def loudness(self, video_id: str) -> Loudness | None:
        """The track's measured loudness; None (and measured soon) when not yet known."""
        path = self.locate(video_id)
        return self.meter.loudness(video_id, path) if path is not None else None

    def measure_now(self, key: str, path: Path) -> Loudness | None:
        """A short clip's loudness, measured at once if not known (an announcement waits
        for it: a few hundred ms), None if it cannot be measured."""
        try:
            size = path.stat().st_size
            found = self.meter.book.get(key, size)
            if found is None:
                found = measure(path)
                self.meter.book.put(key, size, found)
        except (OSError, MeasureError) as exc:
            log.warning("loudness of %s not measured: %s", key, exc)
            return None
        return found

    def discard(self, video_id: str, reason: str) -> None:
        """A cached file that failed to play is dropped, so the next try downloads anew."""
        if self.cache.remove(video_id):
            log.warning("cache: dropped %s after a playback error: %s", video_id, reason)

    # -- effect sink -----------------------------------------------------------------------

    def on_effects(self, effects: tuple[Effect, ...], state: State) -> None:
        with self._lock:
            if not self._started:
                self._early.append((effects, state))
                return
        for effect in effects:
            if isinstance(effect, Prefetch):
                self._prefetch(effect, state)
            elif isinstance(effect, PlayTrack):
                self.cache.pin({effect.item.video_id})

    def _prefetch(self, effect: Prefetch, state: State) -> None:
        np = state.venue.now_playing if state.venue else None
        self.cache.pin({i.video_id for i in effect.items} | ({np.video_id} if np else set()))
        for item in effect.items:
            if self.locate(item.video_id) is not None:
                if not (item.title and item.duration) and item.video_id not in self._described:
                    self._describe(item.video_id)
                continue
            reason = self.fetcher.recent_failure(item.video_id)
            if reason is not None:
                self._post(m.TrackUnplayable(video_id=item.video_id, reason=reason, actor=LIBRARY))
                continue
            self.fetcher.request(item.video_id)

    def _describe(self, video_id: str) -> None:
        track = self._known_track(video_id)
        if track is not None:
            self._described.add(video_id)
            self._post(m.TrackResolved(track=track, cached=True, actor=LIBRARY))

    def _known_track(self, video_id: str) -> TrackInfo | None:
        local = self.library.get(video_id)
        if local is not None:
            return local.track
        entry = self.cache.entry(video_id)
        return entry.track if entry is not None else None

    # -- downloads -------------------------------------------------------------------------

    def _download(self, video_id: str) -> tuple[Path, TrackInfo]:
        # Right after start the folder may not be scanned yet: a local track asked for
        # then (resuming after a restart) must be found there, not looked for online.
        deadline = time.monotonic() + FIRST_SCAN_WAIT
        while not self.scanned.wait(0.5) and time.monotonic() < deadline:
            if self._stopping.is_set():
                raise ResolveError("stopping")
        path = self.locate(video_id)
        track = self._known_track(video_id)
        if path is not None and track is not None:
            return path, track
        return self.resolver.download(video_id, self._progress)

    def _progress(self, video_id: str, d: dict[str, Any]) -> None:
        now = time.monotonic()
        finished = d.get("status") == "finished"
        if not finished and now - self._progress_at.get(video_id, 0.0) < PROGRESS_EVERY:
            return
        self._progress_at[video_id] = now
        total = d.get("total_bytes") or d.get("total_bytes_estimate") or 0
        done = d.get("downloaded_bytes") or 0
        detail = {
            "video_id": video_id,
            "state": "finished" if finished else "downloading",
            "downloaded_bytes": int(done),
            "total_bytes": int(total),
            "percent": round(100.0 * done / total, 1) if total else None,
        }
        self._post(m.SystemNotice(status="download_progress", detail=detail, actor=LIBRARY))

    def _fetched(self, result: FetchResult) -> None:
        self._progress_at.pop(result.video_id, None)
        if result.path is not None and result.track is not None:
            self._described.add(result.video_id)
            self.meter.request(result.video_id, result.path)
            self._post(m.TrackResolved(track=result.track, cached=True, actor=LIBRARY))
            return
        if self._stopping.is_set():
            return
        log.warning("download of %s failed: %s", result.video_id, result.error)
        self._post(
            m.RecordLog(
                event_type="download_failed",
                event_data={
                    "video_id": result.video_id,
                    "reason": result.error,
                    "attempts": result.attempts,
                },
                actor=LIBRARY,
            )
        )
        self._post(m.TrackUnplayable(video_id=result.video_id, reason=result.error, actor=LIBRARY))

    # -- console API -----------------------------------------------------------------------

    def search(self, query: str, limit: int = 20) -> list[dict[str, Any]]:
        if not isinstance(query, str) or not 1 <= len(query.strip()) <= 200:
            raise ValueError("query must be text of 1-200 characters")
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 50:
            raise ValueError("limit must be a whole number from 1 to 50")
        words = query.lower().split()
        results: list[dict[str, Any]] = []
        seen: set[str] = set()
        boxed = [(t.track, "local") for t in self.library.tracks()]
        boxed += [(e.track, "cache") for e in self.cache.entries()]
        for track, source in boxed:
            text = f"{track.title} {track.artist} {track.video_id}".lower()
            if track.video_id not in seen and all(w in text for w in words):
                seen.add(track.video_id)
                results.append(_result(track, True, source))
        if len(results) < limit:
            for track in self.resolver.search(query, limit):
                if track.video_id not in seen:
                    seen.add(track.video_id)
                    offline = self.locate(track.video_id) is not None
                    results.append(_result(track, offline, "youtube"))
        return results[:limit]

    def preview_url(self, video_id: str) -> str | None:
        url = source_url(video_id)
        if url is None:
            return None
        if url.startswith("https://www.youtube.com/watch?v="):
            return f"https://www.youtube.com/embed/{video_id}"
        return url

    def local_path(self, video_id: str) -> Path | None:
        return self.locate(video_id)

    def resolve_metadata(self, video_id: str) -> TrackInfo | None:
        if not isinstance(video_id, str) or not video_id.strip():
            return None
        return self._known_track(video_id) or self.resolver.metadata(video_id)

    def stats(self) -> dict[str, Any]:
        return {
            "library": {"tracks": len(self.library.tracks()), "dir": str(self.library.root)},
            "cache": self.cache.stats(),
            "downloads": {
                "pending": self.fetcher.pending(),
                "active": self.fetcher.active,
                "completed": self.fetcher.completed,
            },
        }


def _result(track: TrackInfo, offline: bool, source: str) -> dict[str, Any]:
    return {**asdict(track), "playable_offline": offline, "source": source}
