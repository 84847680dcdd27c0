"""Playlist import: a YouTube (or any yt-dlp-supported) playlist by URL or id through
yt-dlp's flat extraction, an M3U or JSON list (by URL or file), a local folder.

The track list is built on the importer's own thread, never the runtime's, and reaches the
core as one `create` and then `add_tracks` batches, so other commands interleave and a
13,000-track import never freezes the box. Progress goes out as SYSTEM_STATUS notices
(`import_progress`, then `import_complete` or `import_failed`); the report lists every
entry that could not be used and why. A batch the core refuses removes the half-made
playlist again: an import lands whole or not at all.
"""

from __future__ import annotations

import logging
import threading
import urllib.parse
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from appliance.core import messages as m
from appliance.core.playlists import MAX_TRACKS
from appliance.library.playlist_formats import (
    ImportRefused,
    ImportReport,
    fetch_text,
    normalize_ref,
    parse_json,
    parse_m3u,
    playlist_url,
    scan_folder,
)
from appliance.runtime import Reply, Runtime

log = logging.getLogger(__name__)

BATCH = 1000
PROGRESS_EVERY = 500

Extractor = Callable[[str], tuple[str, Iterable[Mapping[str, Any] | None]]]


def ytdlp_flat(url: str) -> tuple[str, Iterable[Mapping[str, Any] | None]]:
    """Title and entries of a playlist, without resolving each video (flat extraction).
    Entries arrive lazily where the site pages through them, so progress can be told."""
    import yt_dlp

    opts = {
        "extract_flat": "in_playlist",
        "lazy_playlist": True,
        "skip_download": True,
        "quiet": True,
        "no_warnings": True,
        "ignoreerrors": True,
        "socket_timeout": 20,
    }
    with yt_dlp.YoutubeDL(opts) as ydl:
        for _ in range(3):  # follow a redirect to the real playlist page
            try:
                info = ydl.extract_info(url, download=False, process=False)
            except Exception as exc:  # yt-dlp raises many kinds; all mean "could not read it"
                raise ImportRefused("extract_failed", _short(str(exc)), 502) from None
            if not info:
                raise ImportRefused("extract_failed", "Nothing could be read at that address.", 502)
            if info.get("_type") in ("url", "url_transparent") and info.get("url") != url:
                url = str(info["url"])
                continue
            break
        if info.get("_type") in ("playlist", "multi_video"):
            return str(info.get("title") or ""), list(info.get("entries") or [])
        return str(info.get("title") or ""), [info]


def _short(text: str) -> str:
    return text.replace("ERROR: ", "")[:300]


def entry_track(entry: Mapping[str, Any]) -> dict[str, Any]:
    """A flat yt-dlp entry as a playlist track (ValueError if it names nothing playable)."""
    vid = str(entry.get("id") or "")
    ie = str(entry.get("ie_key") or entry.get("extractor_key") or "")
    formats = entry.get("formats") or [{}]
    url = str(entry.get("url") or formats[-1].get("url") or entry.get("webpage_url") or "")
    ref = vid if ie.lower().startswith("youtube") and vid else url
    thumbs = entry.get("thumbnails") or []
    thumb = entry.get("thumbnail") or (thumbs[-1].get("url") if thumbs else "")
    duration = entry.get("duration")
    return {
        "video_id": normalize_ref(ref),
        "title": str(entry.get("title") or "")[:300],
        "artist": str(entry.get("uploader") or entry.get("channel") or "")[:300],
        "duration": int(duration) if isinstance(duration, int | float) else 0,
        "thumbnail": str(thumb or "")[:2048],
    }


class PlaylistImporter:
    """Service (`Services.importer`): runs imports on their own threads."""

    def __init__(
        self,
        runtime: Runtime,
        *,
        extractor: Extractor = ytdlp_flat,
        media_dir: Path | None = None,
        batch: int = BATCH,
    ) -> None:
        self.runtime = runtime
        self.extractor = extractor
        self.media_dir = media_dir
        self.batch = batch
        self._threads: set[threading.Thread] = set()
        self._stopping = threading.Event()

    def start(self) -> None:
        self._stopping.clear()

    def stop(self) -> None:
        """Imports still saving stop at their next batch (and remove what they made)."""
        self._stopping.set()
        for t in list(self._threads):
            t.join(timeout=30)

    # -- entry points ----------------------------------------------------------------------

    def start_import(self, actor: m.Actor, **source: Any) -> tuple[str, Future[ImportReport]]:
        """Run `import_now` on a thread; the future gives the report or raises ImportRefused."""
        import_id = "imp" + uuid.uuid4().hex[:10]
        fut: Future[ImportReport] = Future()

        def run() -> None:
            try:
                fut.set_result(self.import_now(actor, import_id=import_id, **source))
            except BaseException as exc:  # the caller sees it through the future
                fut.set_exception(exc)
            finally:
                self._threads.discard(threading.current_thread())

        t = threading.Thread(target=run, name=f"import-{import_id}", daemon=True)
        self._threads.add(t)
        t.start()
        return import_id, fut

    def import_now(
        self,
        actor: m.Actor,
        *,
        url: str = "",
        m3u: str = "",
        json_data: Any = None,
        folder: str = "",
        name: str = "",
        import_id: str = "",
    ) -> ImportReport:
        import_id = import_id or "imp" + uuid.uuid4().hex[:10]
        if not actor.is_staff:
            raise ImportRefused("forbidden", "Only staff can import playlists.", 403)
        source = url or folder or ("m3u upload" if m3u else "json upload")
        report = ImportReport(import_id, source)
        self._notice("import_progress", report, phase="reading")
        try:
            title, tracks = self._read(report, url=url, m3u=m3u, json_data=json_data, folder=folder)
            report.name = (name or title or "Imported playlist").strip()[:120]
            self._submit_batches(actor, report, tracks)
        except ImportRefused as exc:
            self._notice("import_failed", report, code=exc.code, message=exc.message)
            raise
        self._notice("import_complete", report, failedCount=len(report.failed))
        return report

    # -- reading ---------------------------------------------------------------------------

    def _read(
        self, report: ImportReport, *, url: str, m3u: str, json_data: Any, folder: str
    ) -> tuple[str, list[dict[str, Any]]]:
        if folder:
            return self._read_folder(report, folder)
        if m3u:
            tracks, report.failed = parse_m3u(m3u)
            return "", tracks
        if json_data is not None:
            title, tracks, report.failed = parse_json(json_data)
            return title, tracks
        if not url:
            raise ImportRefused("invalid_source", "Give a url, an M3U or JSON list, or a folder.")
        target = playlist_url(url)
        path = urllib.parse.urlparse(target).path.lower()
        if path.endswith(".m3u"):
            tracks, report.failed = parse_m3u(fetch_text(target), base_url=target)
            return Path(path).stem, tracks
        if path.endswith(".json"):
            title, tracks, report.failed = parse_json(fetch_text(target))
            return title, tracks
        title, entries = self.extractor(target)
        return title, list(self._flat_tracks(report, entries))

    def _read_folder(self, report: ImportReport, folder: str) -> tuple[str, list[dict]]:
        if self.media_dir is None:
            raise ImportRefused("invalid_folder", "This box has no media folder.", 400)
        base = self.media_dir.resolve()
        path = (base / folder).resolve()  # an absolute `folder` replaces base: checked below
        if path != base and base not in path.parents:
            raise ImportRefused("invalid_folder", "Only folders inside the media folder.", 400)
        if not path.is_dir():
            raise ImportRefused("invalid_folder", "No such folder.", 404)
        tracks, report.failed = scan_folder(path, base)
        return path.name, tracks

    def _flat_tracks(
        self, report: ImportReport, entries: Iterable[Mapping[str, Any] | None]
    ) -> Iterator[dict[str, Any]]:
        for i, entry in enumerate(entries):
            if i and i % PROGRESS_EVERY == 0:
                self._notice("import_progress", report, phase="reading", read=i)
            if i >= MAX_TRACKS:
                report.failed.append({"index": i, "entry": "", "reason": "playlist too long"})
                break
            if entry is None:
                report.failed.append({"index": i, "entry": "", "reason": "unavailable"})
                continue
            try:
                yield entry_track(entry)
            except ValueError as exc:
                label = str(entry.get("title") or entry.get("url") or "")[:300]
                report.failed.append({"index": i, "entry": label, "reason": str(exc)})

    # -- writing ---------------------------------------------------------------------------

    def _submit_batches(
        self, actor: m.Actor, report: ImportReport, tracks: list[dict[str, Any]]
    ) -> None:
        if not tracks:
            raise ImportRefused("nothing_to_import", "No usable tracks were found.", 422)
        tracks = tracks[:MAX_TRACKS]
        first, rest = tracks[: self.batch], tracks[self.batch :]
        params = {"name": report.name, "description": f"Imported from {report.source}"[:1000]}
        reply = self.runtime.submit(
            m.ManagePlaylist(actor=actor, action="create", params={**params, "tracks": first}),
            timeout=60,
        )
        self._check(reply, report)
        report.playlist_id = reply.result["playlist"].playlist_id
        report.imported = len(first)
        for start in range(0, len(rest), self.batch):
            chunk = rest[start : start + self.batch]
            p = {"playlistId": report.playlist_id, "tracks": chunk}
            reply = self._stopped() or self.runtime.submit(
                m.ManagePlaylist(actor=actor, action="add_tracks", params=p), timeout=60
            )
            if not reply.ok:
                self.runtime.submit(
                    m.ManagePlaylist(
                        actor=actor, action="delete", params={"playlistId": report.playlist_id}
                    ),
                    timeout=60,
                )
            self._check(reply, report)
            report.imported += len(chunk)
            self._notice("import_progress", report, phase="saving", total=len(tracks))
        report.playlist = self.runtime.state.playlists.get(report.playlist_id)

    def _stopped(self) -> Reply | None:
        if not self._stopping.is_set():
            return None
        error = {"code": "cancelled", "message": "The box is shutting down; import again."}
        return Reply(False, self.runtime.state.rev, error=error, status=503)

    @staticmethod
    def _check(reply: Any, report: ImportReport) -> None:
        if not reply.ok:
            err = reply.error or {}
            raise ImportRefused(
                str(err.get("code", "import_failed")), str(err.get("message")), reply.status
            )

    def _notice(self, status: str, report: ImportReport, **detail: Any) -> None:
        body = {
            "importId": report.import_id,
            "source": report.source,
            "playlistId": report.playlist_id,
            "imported": report.imported,
            "failedCount": len(report.failed),
            **detail,
        }
        self.runtime.post(m.SystemNotice(status=status, detail=body))


def build_importer(runtime: Runtime, media_dir: Path) -> PlaylistImporter:
    return PlaylistImporter(runtime, media_dir=media_dir)
