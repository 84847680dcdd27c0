"""Playlist list formats and sources: M3U and JSON (import and export), a local folder,
and the rules that turn a list entry into a playable `video_id`. No runtime, no threads:
`appliance.library.importer` runs the imports."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from appliance.library.local import MEDIA_SUFFIXES, LocalLibrary
from appliance.playlist_files import YOUTUBE_ID, ImportRefused
from appliance.playlist_files import ImportReport as ImportReport
from appliance.playlist_files import to_json as to_json  # the library's import/export API
from appliance.playlist_files import to_m3u as to_m3u

MAX_LIST_BYTES = 20 * 1024 * 1024
PLAYLIST_ID = re.compile(r"^(PL|UU|LL|FL|RD|OL|OLAK5uy_)[A-Za-z0-9_-]{10,}$")
LOCAL_ID = re.compile(r"^local-[0-9a-f]{11}$")  # appliance.library.local's ids


# --- references: what a list line or entry names ---------------------------------------


def normalize_ref(ref: str) -> str:
    """A playable `video_id` from a list entry, or ValueError saying why not."""
    ref = ref.strip()
    if not ref:
        raise ValueError("empty entry")
    if len(ref) > 2048:
        raise ValueError("entry is too long")
    if YOUTUBE_ID.match(ref) or LOCAL_ID.match(ref):
        return ref
    parsed = urllib.parse.urlparse(ref)
    if parsed.scheme in ("http", "https") and parsed.netloc:
        host = parsed.netloc.lower().split(":")[0]
        query = urllib.parse.parse_qs(parsed.query)
        if host.endswith("youtube.com") and YOUTUBE_ID.match(query.get("v", [""])[0]):
            return query["v"][0]
        if host == "youtu.be" and YOUTUBE_ID.match(parsed.path.strip("/")):
            return parsed.path.strip("/")
        return ref
    if parsed.scheme == "file" or ref.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:\\", ref):
        raise ValueError("file paths are not accepted in a list; import the folder instead")
    if parsed.scheme:
        raise ValueError(f"unsupported address type {parsed.scheme!r}")
    raise ValueError("not a video id or an http(s) address")


def playlist_url(url_or_id: str) -> str:
    text = url_or_id.strip()
    if PLAYLIST_ID.match(text):
        return f"https://www.youtube.com/playlist?list={text}"
    parsed = urllib.parse.urlparse(text)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ImportRefused("invalid_url", "Give a playlist address (http/https) or a playlist id.")
    return text


# --- sources ----------------------------------------------------------------------------


def _track(
    ref: str,
    title: Any = "",
    artist: Any = "",
    duration: Any = 0,
    thumb: Any = "",
) -> dict:
    dur = duration if isinstance(duration, int | float) and not isinstance(duration, bool) else 0
    return {
        "video_id": normalize_ref(ref),
        "title": str(title or "")[:300],
        "artist": str(artist or "")[:300],
        "duration": max(0, int(dur)),
        "thumbnail": str(thumb or "")[:2048],
    }


def parse_m3u(text: str, base_url: str = "") -> tuple[list[dict], list[dict]]:
    """Tracks and failures from an (extended) M3U list; relative entries resolve
    against `base_url` when the list came from the web."""
    tracks: list[dict] = []
    failed: list[dict] = []
    info: tuple[int, str] | None = None
    for n, line in enumerate(text.splitlines(), start=1):
        line = line.strip().lstrip("\ufeff")
        if not line:
            continue
        if line.startswith("#EXTINF:"):
            head, _, title = line[8:].partition(",")
            try:
                info = (int(float(head.split()[0])), title.strip())
            except (ValueError, IndexError):
                info = (0, title.strip())
            continue
        if line.startswith("#"):
            continue
        ref = line
        relative = not urllib.parse.urlparse(line).scheme and not line.startswith("/")
        if base_url and relative and not YOUTUBE_ID.match(line):
            ref = urllib.parse.urljoin(base_url, line)
        duration, title = info or (0, "")
        info = None
        artist, sep, rest = title.partition(" - ")
        try:
            name, by = (rest, artist) if sep else (title, "")
            tracks.append(_track(ref, name, by, duration))
        except ValueError as exc:
            failed.append({"line": n, "entry": line[:300], "reason": str(exc)})
    return tracks, failed


def parse_json(data: Any) -> tuple[str, list[dict], list[dict]]:
    """Name, tracks and failures from our export (or a bare list of tracks)."""
    if isinstance(data, bytes | str):
        try:
            data = json.loads(data)
        except ValueError as exc:
            raise ImportRefused("invalid_json", f"The file is not JSON: {exc}") from None
    name = ""
    if isinstance(data, Mapping):
        name = str(data.get("name", ""))[:120]
        data = data.get("tracks")
    if not isinstance(data, list):
        raise ImportRefused("invalid_json", "Expected a playlist export or a list of tracks.")
    tracks, failed = [], []
    for i, t in enumerate(data):
        try:
            if not isinstance(t, Mapping):
                raise ValueError("not an object")
            ref = t.get("video_id", t.get("videoId", t.get("url", "")))
            fields = (t.get(k) for k in ("title", "artist", "duration", "thumbnail"))
            tracks.append(_track(str(ref), *fields))
        except ValueError as exc:
            failed.append({"index": i, "entry": str(t)[:300], "reason": str(exc)})
    return name, tracks, failed


def scan_folder(folder: Path, media_dir: Path) -> tuple[list[dict], list[dict]]:
    """Media under `folder`, with the ids the local library gives them (so the player
    finds them): tracks in name order, and the files that are not playable media."""
    library = LocalLibrary(media_dir)
    library.scan()
    inside = {
        t.path: t.track for t in library.tracks() if t.path == folder or folder in t.path.parents
    }
    tracks, failed = [], []
    for p in sorted(folder.rglob("*"), key=lambda p: str(p).lower()):
        if not p.is_file() or p.name.startswith("."):
            continue
        track = inside.get(p)
        if track is None:
            reason = "not a media file" if p.suffix.lower() not in MEDIA_SUFFIXES else "unreadable"
            failed.append({"entry": str(p.relative_to(folder)), "reason": reason})
            continue
        keys = ("video_id", "title", "artist", "duration", "thumbnail")
        tracks.append({k: getattr(track, k) for k in keys})
    return tracks, failed


def fetch_text(url: str, timeout: float = 30.0) -> str:
    req = urllib.request.Request(url, headers={"User-Agent": "DJAMMS"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - http(s) only
            raw = resp.read(MAX_LIST_BYTES + 1)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise ImportRefused("source_unreachable", f"Could not fetch {url}: {exc}", 502) from None
    if len(raw) > MAX_LIST_BYTES:
        raise ImportRefused("source_too_large", "The list is larger than 20 MB.", 413)
    return raw.decode("utf-8", errors="replace")
