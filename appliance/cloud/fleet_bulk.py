"""What a bulk action says to each venue: a playlist or a schedule named the fleet's way
(by playlist name, since each venue has its own playlist ids) turned into the `cmd` body
that venue's command desk takes (`path`/`body`, the HTTP route it mirrors).

Pure: a venue's playlists come in as `(playlist_id, name)` pairs from its card; the
answer is the body, or the per-venue error code when that venue cannot take it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

NO_SUCH_PLAYLIST = "no_such_playlist"
Playlists = Sequence[tuple[str, str]]


def playlist_id(playlists: Playlists, name: str) -> str | None:
    """The id of the venue's playlist called `name` (exact first, then ignoring case)."""
    for pid, pname in playlists:
        if pname == name:
            return pid
    folded = name.casefold()
    for pid, pname in playlists:
        if pname.casefold() == folded:
            return pid
    return None


def load_body(playlists: Playlists, name: str) -> dict[str, Any] | str:
    pid = playlist_id(playlists, name)
    if pid is None:
        return NO_SUCH_PLAYLIST
    return {"path": "/api/playlist/manage", "body": {"action": "load", "playlistId": pid}}


def schedule_body(playlists: Playlists, schedule: Mapping[str, Any]) -> dict[str, Any] | str:
    """`schedule` as the venue's `scheduleData`: a rule or event that names its playlist
    by `playlistName` gets this venue's `playlistId` for it. Anything else is passed as
    given; the box validates the schedule and answers for itself."""
    data = dict(schedule)
    for key in ("rules", "events"):
        entries = data.get(key)
        if not isinstance(entries, list):
            continue
        resolved: list[Any] = []
        for entry in entries:
            if isinstance(entry, Mapping) and "playlistName" in entry:
                name = entry["playlistName"]
                pid = playlist_id(playlists, name) if isinstance(name, str) else None
                if pid is None:
                    return NO_SUCH_PLAYLIST
                entry = {k: v for k, v in entry.items() if k != "playlistName"}
                entry["playlistId"] = pid
            resolved.append(entry)
        data[key] = resolved
    return {"path": "/api/schedule/update", "body": {"scheduleData": data}}
