"""The seed's command paths as core messages. One table serves every way a command can
arrive: `POST <path>` over HTTP and `{"type": "COMMAND", "path", "body"}` over the
websocket, so the rules, the roles and the idempotency are the same on both.

A body may carry `commandId` (a repeat, by any path, is applied once and answered with the
first result), `expectedRev` and `expectedPlayId` (stale -> 409 with the current state),
and `venueId` (must be this box's venue, else 404).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from appliance.core import messages as m
from appliance.core.model import State, TrackInfo
from appliance.runtime import Reply
from web.body import opt_int, opt_number, opt_str, req_int, req_str
from web.errors import ApiError

if TYPE_CHECKING:
    from web.context import Console

Builder = Callable[[Mapping[str, Any], m.Actor, "Console", dict[str, Any]], m.Message]
PLAYER_STATES = ("playing", "paused", "buffering", "stopped")


@dataclass(frozen=True)
class Route:
    build: Builder
    role: str  # guest (any session) | staff | admin


def guards(body: Mapping[str, Any], actor: m.Actor) -> dict[str, Any]:
    """The optional fields every command may carry, as message keyword arguments."""
    out: dict[str, Any] = {"actor": actor}
    cid = body.get("commandId")
    if cid is not None:
        if not isinstance(cid, str) or not 0 < len(cid) <= 100:
            raise ApiError("invalid_field", "commandId must be text of 1-100 characters.")
        # scoped to the session: one window's id can never replay another's answer
        out["command_id"] = f"{actor.session_id or actor.user_id}:{cid}"
    if body.get("expectedRev") is not None:
        out["expected_rev"] = req_int(body, "expectedRev", 0)
    if body.get("expectedPlayId") is not None:
        value = body.get("expectedPlayId")
        if not isinstance(value, str):
            raise ApiError("invalid_field", "expectedPlayId must be text.")
        out["expected_play_id"] = value
    return out


def check_venue(body: Mapping[str, Any], state: State) -> None:
    if "venueId" not in body:
        return
    value = body["venueId"]
    if not isinstance(value, str):
        raise ApiError("invalid_field", "venueId must be text.")
    if state.venue is None or value != state.venue.venue_id:
        raise ApiError("unknown_venue", "No such venue on this box.", 404)


def _current_play_id(console: Console) -> str:
    np = console.runtime.state.venue.now_playing if console.runtime.state.venue else None
    return np.play_id if np else ""


def _ui_command(body: Mapping[str, Any], actor: m.Actor, c: Console, kw: dict) -> m.Message:
    command = req_str(body, "command", 40)
    play_id = opt_str(body, "playId", 100)
    return m.UiCommand(command=command, value=body.get("value"), play_id=play_id, **kw)


def _setting(body: Mapping[str, Any], actor: m.Actor, c: Console, kw: dict) -> m.Message:
    setting = req_str(body, "setting", 60)
    if "value" not in body:
        raise ApiError("missing_field", "value is required.")
    return m.UpdateSetting(setting=setting, value=body["value"], **kw)


def known_track(state: State, video_id: str) -> TrackInfo | None:
    venue = state.venue
    if venue is not None:
        np = venue.now_playing
        if np is not None and np.video_id == video_id:
            return TrackInfo(np.video_id, np.title, np.artist, np.duration, np.thumbnail)
        for item in (*venue.priority_queue, *venue.active_queue):
            if item.video_id == video_id:
                return item.track
        for entry in venue.history:
            if entry.item.video_id == video_id:
                return entry.item.track
    for pl in state.playlists.values():
        for t in pl.tracks:
            if t.video_id == video_id:
                return TrackInfo(t.video_id, t.title, t.artist, t.duration, t.thumbnail)
    return None


def resolve_track(body: Mapping[str, Any], actor: m.Actor, c: Console) -> TrackInfo:
    """What is known about the requested video. Patrons may only ask for what the venue's
    library or playlists know; staff may add any id or URL with the metadata they send."""
    video_id = req_str(body, "videoId", 2048)
    track = known_track(c.runtime.state, video_id)
    library = c.services.get("library")
    if track is None and library is not None:
        try:
            track = library.resolve_metadata(video_id)
        except Exception:  # the library is best effort; the rules below still apply
            track = None
    if track is not None:
        return track
    if not actor.is_staff:
        raise ApiError("unknown_track", "That song isn't in this venue's library.", 404)
    return TrackInfo(
        video_id=video_id,
        title=opt_str(body, "title", 300),
        artist=opt_str(body, "artist", 300),
        duration=opt_int(body, "duration", 0, 0, 24 * 3600),
        thumbnail=opt_str(body, "thumbnail", 2048),
    )


def _queue_add(body: Mapping[str, Any], actor: m.Actor, c: Console, kw: dict) -> m.Message:
    position = opt_str(body, "position", 10, "end")
    action = opt_str(body, "action", 20)
    if position not in ("end", "next"):
        raise ApiError("invalid_field", "position must be 'end' or 'next'.")
    return m.AddToQueue(track=resolve_track(body, actor, c), position=position, action=action, **kw)


def _queue_remove(body: Mapping[str, Any], actor: m.Actor, c: Console, kw: dict) -> m.Message:
    item_id = opt_str(body, "queueItemId", 100)
    video_id = opt_str(body, "videoId", 2048)
    if not item_id and not video_id:
        raise ApiError("missing_field", "queueItemId (or videoId) is required.")
    return m.RemoveFromQueue(queue_item_id=item_id, video_id=video_id, **kw)


def _queue_move(body: Mapping[str, Any], actor: m.Actor, c: Console, kw: dict) -> m.Message:
    return m.MoveQueueItem(
        queue_item_id=req_str(body, "queueItemId", 100),
        to_index=req_int(body, "toIndex", 0, 10**6),
        **kw,
    )


def _queue_clear(body: Mapping[str, Any], actor: m.Actor, c: Console, kw: dict) -> m.Message:
    return m.ClearQueue(**kw)


def _vote(body: Mapping[str, Any], actor: m.Actor, c: Console, kw: dict) -> m.Message:
    vote_type = opt_str(body, "voteType", 10, "like")
    return m.Vote(video_id=req_str(body, "videoId", 2048), vote_type=vote_type, **kw)


def _playlist(body: Mapping[str, Any], actor: m.Actor, c: Console, kw: dict) -> m.Message:
    action = req_str(body, "action", 40)
    skip = {"action", "venueId", "commandId", "expectedRev", "expectedPlayId", "userId"}
    params = {k: v for k, v in body.items() if k not in skip}
    return m.ManagePlaylist(action=action, params=params, **kw)


def _preferences(body: Mapping[str, Any], actor: m.Actor, c: Console, kw: dict) -> m.Message:
    user_id = opt_str(body, "userId", 100, actor.user_id)
    prefs = body.get("preferences")
    if not isinstance(prefs, dict):
        raise ApiError("invalid_field", "preferences must be an object.")
    return m.UpdatePreferences(user_id=user_id, preferences=prefs, **kw)


def _player_status(body: Mapping[str, Any], actor: m.Actor, c: Console, kw: dict) -> m.Message:
    state = req_str(body, "state", 20)
    if state not in PLAYER_STATES:
        raise ApiError("invalid_field", f"state must be one of {', '.join(PLAYER_STATES)}.")
    return m.PlayerStatus(
        play_id=opt_str(body, "playId", 100, _current_play_id(c)),
        state=state,
        position=opt_number(body, "currentTime"),
        duration=opt_number(body, "duration"),
        **kw,
    )


def _player_ready(body: Mapping[str, Any], actor: m.Actor, c: Console, kw: dict) -> m.Message:
    # a player announcing itself is a heartbeat that marks it connected
    return m.Heartbeat(player_id=req_str(body, "playerId", 100), play_id=_current_play_id(c), **kw)


def _player_heartbeat(body: Mapping[str, Any], actor: m.Actor, c: Console, kw: dict) -> m.Message:
    return m.Heartbeat(
        player_id=opt_str(body, "playerId", 100, "web"),
        position=opt_number(body, "currentTime"),
        play_id=opt_str(body, "playId", 100, _current_play_id(c)),
        **kw,
    )


def _player_error(body: Mapping[str, Any], actor: m.Actor, c: Console, kw: dict) -> m.Message:
    code = body.get("errorCode")
    if isinstance(code, bool) or not isinstance(code, str | int):
        raise ApiError("missing_field", "errorCode is required (text or number).")
    return m.PlayerError(
        play_id=opt_str(body, "playId", 100, _current_play_id(c)), error_code=str(code)[:60], **kw
    )


ROUTES: dict[str, Route] = {
    "/api/ui/command": Route(_ui_command, "staff"),
    "/api/settings/update": Route(_setting, "staff"),
    "/api/queue/add": Route(_queue_add, "guest"),
    "/api/queue/remove": Route(_queue_remove, "guest"),
    "/api/queue/move": Route(_queue_move, "staff"),
    "/api/queue/clear": Route(_queue_clear, "staff"),
    "/api/track/vote": Route(_vote, "guest"),
    "/api/playlist/manage": Route(_playlist, "staff"),
    "/api/user/preferences": Route(_preferences, "guest"),
    "/api/player/status": Route(_player_status, "staff"),
    "/api/player/ready": Route(_player_ready, "staff"),
    "/api/player/heartbeat": Route(_player_heartbeat, "staff"),
    "/api/player/error": Route(_player_error, "staff"),
}


def allowed(role: str, actor: m.Actor) -> bool:
    if role == "admin":
        return actor.role == "admin"
    if role == "staff":
        return actor.is_staff
    return bool(actor.user_id)


def execute(console: Console, path: str, body: Mapping[str, Any], actor: m.Actor) -> Reply:
    """Check, build and submit one command. Raises ApiError for what never reaches the core."""
    route = ROUTES.get(path)
    if route is None:
        raise ApiError("unknown_path", f"No command at {path!r}.", 404)
    if not actor.user_id:
        raise ApiError("unauthorized", "Please log in (or join as a guest) first.", 401)
    if not allowed(route.role, actor):
        raise ApiError("forbidden", "Only staff can do that.", 403)
    check_venue(body, console.runtime.state)
    kw = guards(body, actor)
    if path == "/api/playlist/manage":
        extra = console.playlist_actions.get(str(body.get("action")))
        if extra is not None:
            return extra(body, actor)
    msg = route.build(body, actor, console, kw)
    try:
        return console.runtime.submit(msg, timeout=15.0)
    except TimeoutError:
        raise ApiError("busy", "The box is busy; try again.", 503) from None
