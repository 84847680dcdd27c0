"""`POST /api/playlist/manage`: playlist actions on one copy of the state. `load` replaces
the active queue and never touches the priority queue (requests are never lost)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from appliance.core import messages as m
from appliance.core.handling import Step, require_staff, rule, table
from appliance.core.model import Playlist, PlaylistTrack, frozen_map
from appliance.core.outputs import Rejected
from appliance.core.transport import advance, fill_active_queue, queue_changed, venue_is_idle

MAX_TRACKS = 50_000


def tracks_from(value: Any, start: int = 0) -> tuple[PlaylistTrack, ...]:
    if not isinstance(value, list):
        raise Rejected("invalid_tracks", "tracks must be a list of {video_id, ...}.")
    if len(value) > MAX_TRACKS:
        raise Rejected("too_many_tracks", f"A playlist holds at most {MAX_TRACKS} tracks.")
    out = []
    for i, t in enumerate(value):
        if not isinstance(t, Mapping):
            raise Rejected("invalid_tracks", f"tracks[{i}] must be an object.")
        vid = t.get("video_id", t.get("videoId"))
        if not isinstance(vid, str) or not vid.strip() or len(vid) > 2048:
            raise Rejected("invalid_tracks", f"tracks[{i}].video_id must be a non-empty string.")
        duration = t.get("duration", 0) or 0
        if isinstance(duration, bool) or not isinstance(duration, int | float) or duration < 0:
            raise Rejected("invalid_tracks", f"tracks[{i}].duration must be seconds.")
        out.append(
            PlaylistTrack(
                video_id=vid.strip(),
                title=str(t.get("title", ""))[:300],
                artist=str(t.get("artist", ""))[:300],
                duration=int(duration),
                thumbnail=str(t.get("thumbnail", ""))[:2048],
                order=start + i,
            )
        )
    return tuple(out)


def _renumber(tracks: tuple[PlaylistTrack, ...]) -> tuple[PlaylistTrack, ...]:
    return tuple(replace(t, order=i) if t.order != i else t for i, t in enumerate(tracks))


def _text(params: Mapping[str, Any], key: str, max_len: int, required: bool = False) -> str | None:
    value = params.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value.strip()) or len(value) > max_len:
        raise Rejected("invalid_value", f"{key} must be text of up to {max_len} characters.")
    return value.strip()


def _get(s: Step, params: Mapping[str, Any]) -> Playlist:
    pid = params.get("playlistId")
    if not isinstance(pid, str) or pid not in s.state.playlists:
        raise Rejected("not_found", "No such playlist.", 404)
    return s.state.playlists[pid]


def _index(params: Mapping[str, Any], key: str, size: int) -> int:
    value = params.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < max(size, 1):
        raise Rejected("invalid_value", f"{key} must be an index from 0 to {max(size - 1, 0)}.")
    return value


def save(s: Step, playlist: Playlist) -> Playlist:
    tracks = playlist.tracks
    playlist = replace(
        playlist,
        track_count=len(tracks),
        total_duration=sum(t.duration for t in tracks),
        is_starred=bool(playlist.starred_by),
        updated_at=s.now_iso,
    )
    playlists = dict(s.state.playlists)
    playlists[playlist.playlist_id] = playlist
    s.set_state(playlists=frozen_map(playlists))
    return playlist


def _create(s: Step, p: Mapping[str, Any]) -> Playlist:
    name = _text(p, "name", 120, required=True)
    playlist = Playlist(
        playlist_id=s.next_id("pl"),
        name=name or "",
        description=_text(p, "description", 1000) or "",
        owner_id=s.msg.actor.user_id,
        venue_id=s.venue.venue_id,
        category=_text(p, "category", 60) or "",
        tracks=tracks_from(p.get("tracks", [])),
        created_at=s.now_iso,
    )
    return save(s, playlist)


def _update(s: Step, p: Mapping[str, Any]) -> Playlist:
    pl = _get(s, p)
    changes: dict[str, Any] = {
        k: v
        for k in ("name", "description", "category")
        if (v := _text(p, k, 1000 if k == "description" else 120)) is not None
    }
    if "is_public" in p:
        if not isinstance(p["is_public"], bool):
            raise Rejected("invalid_value", "is_public must be true or false.")
        changes["is_public"] = p["is_public"]
    return save(s, replace(pl, **changes))


def _delete(s: Step, p: Mapping[str, Any]) -> Playlist:
    pl = _get(s, p)
    playlists = dict(s.state.playlists)
    del playlists[pl.playlist_id]
    s.set_state(playlists=frozen_map(playlists))
    if s.venue.default_playlist_id == pl.playlist_id:
        s.set_venue(default_playlist_id="")
    return pl


def _star(s: Step, p: Mapping[str, Any], on: bool) -> Playlist:
    pl = _get(s, p)
    user = s.msg.actor.user_id
    starred = tuple(u for u in pl.starred_by if u != user) + ((user,) if on else ())
    return save(s, replace(pl, starred_by=starred))


def _add_tracks(s: Step, p: Mapping[str, Any]) -> Playlist:
    pl = _get(s, p)
    return save(s, replace(pl, tracks=pl.tracks + tracks_from(p.get("tracks"), len(pl.tracks))))


def _remove_track(s: Step, p: Mapping[str, Any]) -> Playlist:
    pl = _get(s, p)
    if "index" in p:
        idx = _index(p, "index", len(pl.tracks))
    else:
        vid = p.get("videoId", p.get("video_id"))
        idx = next((i for i, t in enumerate(pl.tracks) if t.video_id == vid), -1)
        if idx < 0:
            raise Rejected("not_found", "That track is not in the playlist.", 404)
    return save(s, replace(pl, tracks=_renumber(pl.tracks[:idx] + pl.tracks[idx + 1 :])))


def _reorder(s: Step, p: Mapping[str, Any]) -> Playlist:
    pl = _get(s, p)
    src = _index(p, "fromIndex", len(pl.tracks))
    dst = _index(p, "toIndex", len(pl.tracks))
    tracks = list(pl.tracks)
    tracks.insert(dst, tracks.pop(src))
    return save(s, replace(pl, tracks=_renumber(tuple(tracks))))


def _set_default(s: Step, p: Mapping[str, Any]) -> Playlist:
    pl = _get(s, p)
    playlists = {
        k: replace(v, is_default=(k == pl.playlist_id))
        if v.is_default or k == pl.playlist_id
        else v
        for k, v in s.state.playlists.items()
    }
    s.set_state(playlists=frozen_map(playlists))
    s.set_venue(default_playlist_id=pl.playlist_id)
    return s.state.playlists[pl.playlist_id]


def load_into_queue(s: Step, pl: Playlist) -> None:
    fill_active_queue(s, pl, s.msg.actor.user_id)
    save(s, replace(pl, play_count=pl.play_count + 1, last_played_at=s.now_iso))


def _load(s: Step, p: Mapping[str, Any]) -> Playlist:
    pl = _get(s, p)
    load_into_queue(s, pl)
    if venue_is_idle(s.venue):
        advance(s, "cut")
    else:
        queue_changed(s)
    return s.state.playlists[pl.playlist_id]


ACTIONS: dict[str, Callable[[Step, Mapping[str, Any]], Playlist]] = {
    "create": _create,
    "update": _update,
    "delete": _delete,
    "star": lambda s, p: _star(s, p, True),
    "unstar": lambda s, p: _star(s, p, False),
    "add_tracks": _add_tracks,
    "remove_track": _remove_track,
    "reorder": _reorder,
    "set_default": _set_default,
    "load": _load,
}


def manage_playlist(s: Step, msg: m.ManagePlaylist) -> None:
    require_staff(s)
    action = ACTIONS.get(msg.action)
    if action is None:
        raise Rejected(
            "unknown_action",
            f"Unknown playlist action {msg.action!r}.",
            actions=sorted([*ACTIONS, "import"]),
        )
    playlist = action(s, msg.params)
    s.emit("PLAYLIST_CONTENT_UPDATE", playlist_id=playlist.playlist_id, action=msg.action)
    s.log("playlist_" + msg.action, playlist_id=playlist.playlist_id, name=playlist.name)
    s.reply = {"playlist": playlist}


def library_scanned(s: Step, msg: m.LibraryScanned) -> None:
    """A venue with no default playlist gets one from its local library, so a new box
    plays something at once (the demo media on first `make run`)."""
    if s.venue.default_playlist_id or not msg.tracks:
        s.durable = False
        return
    tracks = tuple(
        PlaylistTrack(t.video_id, t.title, t.artist, t.duration, t.thumbnail, i)
        for i, t in enumerate(msg.tracks)
    )
    pl = save(
        s,
        Playlist(
            playlist_id=s.next_id("pl"),
            name="Local library",
            owner_id="system",
            venue_id=s.venue.venue_id,
            tracks=tracks,
            is_default=True,
            created_at=s.now_iso,
        ),
    )
    s.set_venue(default_playlist_id=pl.playlist_id)
    s.emit("PLAYLIST_CONTENT_UPDATE", playlist_id=pl.playlist_id, action="create")
    s.log("library_playlist_created", playlist_id=pl.playlist_id, tracks=len(tracks))
    if venue_is_idle(s.venue):
        advance(s, "cut")


HANDLERS = table(
    rule(m.ManagePlaylist, manage_playlist),
    rule(m.LibraryScanned, library_scanned),
)
