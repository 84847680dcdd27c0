"""The seed's REST endpoints: every command path (table in `web/commands.py`) plus the
reads the pages need: state (with long-poll), the queue by page, playlists, search and
preview."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request

from appliance.commands import allowed
from appliance.core.model import State
from appliance.core.views import playlist_summary, playlist_view, queue_view, snapshot_payload
from web.auth import actor_for, check_csrf, current_session, session_required
from web.body import DEFAULT_LIMIT, LARGE_LIMIT, json_body, query_int
from web.commands import ROUTES, execute
from web.context import Console, console
from web.errors import ApiError, reply_response
from web.hub import dumps

bp = Blueprint("api", __name__)

MAX_WAIT = 30
SEARCH_LIMIT = 50
LARGE_BODIES = ("/api/playlist/manage", "/api/schedule/update")  # whole playlists, calendars


def _json(text: str, status: int = 200) -> Response:
    return Response(text, status=status, mimetype="application/json")


def _command_view(path: str):
    route = ROUTES[path]
    big = LARGE_LIMIT if path in LARGE_BODIES else DEFAULT_LIMIT

    def view() -> Response:
        session = current_session()
        if session is None:
            raise ApiError("unauthorized", "Please log in (or join as a guest) first.", 401)
        check_csrf(session)
        actor = actor_for(session, request)
        # the role before the body: a guest's 8 MB is refused unread, not parsed first
        if not allowed(route.role, actor):
            raise ApiError("forbidden", "Only staff can do that.", 403)
        # only staff may send a big body; a patron's is held to the small limit
        body = json_body(big if session.is_staff else DEFAULT_LIMIT)
        return reply_response(execute(console(), path, body, actor))

    view.__name__ = "cmd_" + path.strip("/").replace("/", "_")
    return view


for _path in ROUTES:
    bp.add_url_rule(_path, view_func=_command_view(_path), methods=["POST"])


def _state() -> State:
    # the runtime's latest, not the hub's: a client that was just told rev N must not
    # read an older state back (the hub may still be sending rev N out)
    return console().runtime.state


def _venue_or_409(state: State) -> Any:
    if state.venue is None:
        raise ApiError("not_set_up", "The venue is not set up yet.", 409)
    return state.venue


@bp.get("/api/state")
def get_state() -> Response:
    """The snapshot; with `since=REV` (and `wait=S`) a long-poll for the frames after REV."""
    if "since" not in request.args:
        state = _state()
        return _json(dumps({"rev": state.rev, **snapshot_payload(state)}))
    since = query_int("since", 0, 0, 2**62)
    wait = query_int("wait", 0, 0, MAX_WAIT)
    c = console()
    session = current_session()
    staff = session is not None and session.is_staff
    if wait and c.hub.rev <= since:
        if not c.waiting.enter(c.config.max_connections):
            raise ApiError("busy", "Too many windows are connected; try again shortly.", 503)
        try:
            c.hub.wait_for(since, wait)
        finally:
            c.waiting.leave()
    frames = c.hub.frames_since(since, staff) if since <= c.hub.rev else None
    if frames is None:
        return _json(dumps({"rev": c.hub.rev, "resync": True, "snapshot": _snapshot_dict()}))
    return _json(f'{{"rev":{c.hub.rev},"events":[{",".join(frames)}]}}')


def _snapshot_dict() -> dict[str, Any]:
    state = _state()
    return {"rev": state.rev, **snapshot_payload(state)}


@bp.get("/api/queue")
def get_queue() -> Response:
    state = _state()
    venue = _venue_or_409(state)
    offset = query_int("offset", 0, 0, 10**7)
    limit = query_int("limit", 50, 1, 500)
    return _json(dumps({"rev": state.rev, **queue_view(venue, offset, limit)}))


@bp.get("/api/playlists")
def get_playlists() -> Response:
    state = _state()
    session = current_session()
    user_id = session.user_id if session else ""
    items = [playlist_summary(p, user_id) for p in state.playlists.values()]
    return _json(dumps({"rev": state.rev, "playlists": items}))


@bp.get("/api/playlist")
def get_playlist() -> Response:
    state = _state()
    pid = request.args.get("playlistId", "")
    playlist = state.playlists.get(pid)
    if playlist is None:
        raise ApiError("not_found", "No such playlist.", 404)
    offset = query_int("offset", 0, 0, 10**7)
    limit = query_int("limit", 200, 1, 1000)
    return _json(dumps({"rev": state.rev, "playlist": playlist_view(playlist, offset, limit)}))


def local_search(state: State, query: str, limit: int) -> list[dict[str, Any]]:
    """Search what the box already knows: playlists, queues, history."""
    q = query.casefold()
    seen: set[str] = set()
    out: list[dict[str, Any]] = []
    venue = state.venue
    pools: list[Any] = [t for p in state.playlists.values() for t in p.tracks]
    if venue is not None:
        pools = [*venue.priority_queue, *venue.active_queue, *pools]
    for t in pools:
        if t.video_id in seen:
            continue
        if q in t.title.casefold() or q in t.artist.casefold() or q == t.video_id.casefold():
            seen.add(t.video_id)
            out.append(
                {
                    "video_id": t.video_id,
                    "title": t.title,
                    "artist": t.artist,
                    "duration": t.duration,
                    "thumbnail": t.thumbnail,
                }
            )
            if len(out) >= limit:
                break
    return out


def search_tracks(c: Console, query: str, limit: int) -> list[dict[str, Any]]:
    """The library's matches (local files, cache) first, then the venue's playlists and
    queues, one entry per video. `c` is passed in: the websocket's reader thread has no
    application context."""
    found: list[dict[str, Any]] = []
    library = c.services.library
    if library is not None:
        try:
            found = list(library.search(query, limit))
        except ValueError:
            found = []
    seen = {str(t.get("video_id")) for t in found}
    for track in local_search(c.runtime.state, query, limit):
        if len(found) >= limit:
            break
        if track["video_id"] not in seen:
            found.append(track)
    return found


@bp.get("/api/search")
@session_required
def search() -> Response:
    query = request.args.get("q", "").strip()
    if not query or len(query) > 200:
        raise ApiError("invalid_field", "q must be text of 1-200 characters.")
    limit = query_int("limit", 25, 1, SEARCH_LIMIT)
    results = search_tracks(console(), query, limit)
    return _json(dumps({"query": query, "results": results}))


@bp.get("/api/preview")
@session_required
def preview() -> Response:
    video_id = request.args.get("videoId", "").strip()
    if not video_id or len(video_id) > 2048:
        raise ApiError("invalid_field", "videoId is required.")
    library = console().services.library
    url = library.preview_url(video_id) if library is not None else None
    if not url and video_id.startswith(("http://", "https://")):
        url = video_id
    if not url:
        raise ApiError("no_preview", "No preview for that track.", 404)
    return _json(dumps({"videoId": video_id, "url": url}))
