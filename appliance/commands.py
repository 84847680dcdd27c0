"""The seed's command routes as core messages, without a web framework.

Every way a command reaches the box from outside (`POST <path>` or a websocket COMMAND on
the LAN console, see `web/commands.py`; a `cmd` message from the cloud broker, see
`appliance/cloud/desk.py`) is checked and built here, so the field rules, the error codes
and the roles are the same for all of them. `command_for(msg)` is the way back: the route
and body that rebuild `msg`, used by the remote console to send a console's message to
the venue over MQTT.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from appliance.core import messages as m
from appliance.core.codec import to_data
from appliance.core.model import State, TrackInfo


class CommandError(Exception):
    """Refused before it reaches the core: a house error with an HTTP-like status."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status

    def as_error(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message}


class Library(Protocol):
    def resolve_metadata(self, video_id: str) -> TrackInfo | None: ...


# --- typed field readers -------------------------------------------------------------


def req_str(body: Mapping[str, Any], key: str, max_len: int = 200) -> str:
    value = body.get(key)
    if value is None:
        raise CommandError("missing_field", f"{key} is required.")
    if not isinstance(value, str) or not value.strip():
        raise CommandError("invalid_field", f"{key} must be non-empty text.")
    if len(value) > max_len:
        raise CommandError("invalid_field", f"{key} is longer than {max_len} characters.")
    return value.strip()


def opt_str(body: Mapping[str, Any], key: str, max_len: int = 200, default: str = "") -> str:
    """Absent, null and blank all mean "not given": a form's empty field is not an error."""
    value = body.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    return req_str(body, key, max_len)


def req_int(body: Mapping[str, Any], key: str, lo: int | None = None, hi: int | None = None) -> int:
    value = body.get(key)
    if value is None:
        raise CommandError("missing_field", f"{key} is required.")
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise CommandError("invalid_field", f"{key} must be a whole number.")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise CommandError("out_of_range", f"{key} must be {_range_text(lo, hi)}.")
    return int(value)


def _range_text(lo: int | None, hi: int | None) -> str:
    if hi is None:
        return f"at least {lo}"
    if lo is None:
        return f"at most {hi}"
    return f"from {lo} to {hi}"


def opt_int(body: Mapping[str, Any], key: str, default: int, lo: int = 0, hi: int = 10**9) -> int:
    return default if body.get(key) is None else req_int(body, key, lo, hi)


def opt_number(body: Mapping[str, Any], key: str, default: float = 0.0) -> float:
    """A time in seconds: a finite number, not below zero."""
    value = body.get(key)
    if value is None:
        return default
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value < 0
    ):
        raise CommandError("invalid_field", f"{key} must be a number of seconds.")
    return float(value)


# --- the UI shorthand ------------------------------------------------------------------

# What a `{command, value}` shorthand carries beside them into the `/api/ui/command` body:
# the track a skip is for, the concurrency guards and the venue check.
SHORTHAND_FIELDS = ("playId", "expectedRev", "expectedPlayId", "venueId")


def normalize_command(data: Mapping[str, Any]) -> tuple[object, object]:
    """`(path, body)` of a command sent either as `path`/`body` or as the UI shorthand
    `command`/`value` (a websocket COMMAND, an MQTT `cmd`); the caller checks their types."""
    if data.get("path") is None and "command" in data:
        body = {"command": data["command"], "value": data.get("value")}
        body.update({key: data[key] for key in SHORTHAND_FIELDS if key in data})
        return "/api/ui/command", body
    return data.get("path"), data.get("body", {})


# --- routes --------------------------------------------------------------------------


@dataclass(frozen=True)
class Context:
    state: State
    library: Library | None = None


Builder = Callable[[Mapping[str, Any], m.Actor, Context, dict[str, Any]], m.Message]


@dataclass(frozen=True)
class Route:
    build: Builder
    role: str  # guest (any known user) | staff | admin


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


def resolve_track(body: Mapping[str, Any], actor: m.Actor, ctx: Context) -> TrackInfo:
    """Patrons may only ask for what the venue knows; staff may add any id or URL with the
    metadata they send."""
    video_id = req_str(body, "videoId", 2048)
    track = known_track(ctx.state, video_id)
    if track is None and ctx.library is not None:
        try:
            track = ctx.library.resolve_metadata(video_id)
        except Exception:  # the library is best effort; the rules below still apply
            track = None
    if track is not None:
        return track
    if not actor.is_staff:
        raise CommandError("unknown_track", "That song isn't in this venue's library.", 404)
    return TrackInfo(
        video_id=video_id,
        title=opt_str(body, "title", 300),
        artist=opt_str(body, "artist", 300),
        duration=opt_int(body, "duration", 0, 0, 24 * 3600),
        thumbnail=opt_str(body, "thumbnail", 2048),
    )


def _ui_command(body: Mapping[str, Any], actor: m.Actor, ctx: Context, kw: dict) -> m.Message:
    command = req_str(body, "command", 40)
    if command not in m.UI_COMMANDS:
        raise CommandError("unknown_command", f"Unknown command {command!r}.")
    play_id = opt_str(body, "playId", 100)
    return m.UiCommand(command=command, value=body.get("value"), play_id=play_id, **kw)


def _setting(body: Mapping[str, Any], actor: m.Actor, ctx: Context, kw: dict) -> m.Message:
    setting = req_str(body, "setting", 60)
    if "value" not in body:
        raise CommandError("missing_field", "value is required.")
    return m.UpdateSetting(setting=setting, value=body["value"], **kw)


def _queue_add(body: Mapping[str, Any], actor: m.Actor, ctx: Context, kw: dict) -> m.Message:
    position = opt_str(body, "position", 10, "end")
    if position not in ("end", "next"):
        raise CommandError("invalid_field", "position must be 'end' or 'next'.")
    action = opt_str(body, "action", 20)
    track = resolve_track(body, actor, ctx)
    return m.AddToQueue(track=track, position=position, action=action, **kw)


def _queue_remove(body: Mapping[str, Any], actor: m.Actor, ctx: Context, kw: dict) -> m.Message:
    item_id = opt_str(body, "queueItemId", 100)
    video_id = opt_str(body, "videoId", 2048)
    if not item_id and not video_id:
        raise CommandError("missing_field", "queueItemId (or videoId) is required.")
    return m.RemoveFromQueue(queue_item_id=item_id, video_id=video_id, **kw)


def _queue_move(body: Mapping[str, Any], actor: m.Actor, ctx: Context, kw: dict) -> m.Message:
    return m.MoveQueueItem(
        queue_item_id=req_str(body, "queueItemId", 100),
        to_index=req_int(body, "toIndex", 0, 10**6),
        **kw,
    )


def _queue_clear(body: Mapping[str, Any], actor: m.Actor, ctx: Context, kw: dict) -> m.Message:
    return m.ClearQueue(**kw)


def _vote(body: Mapping[str, Any], actor: m.Actor, ctx: Context, kw: dict) -> m.Message:
    vote_type = opt_str(body, "voteType", 10, "like")
    return m.Vote(video_id=req_str(body, "videoId", 2048), vote_type=vote_type, **kw)


_PLAYLIST_SKIP = {"action", "venueId", "commandId", "expectedRev", "expectedPlayId", "userId"}


def _playlist(body: Mapping[str, Any], actor: m.Actor, ctx: Context, kw: dict) -> m.Message:
    action = req_str(body, "action", 40)
    params = {k: v for k, v in body.items() if k not in _PLAYLIST_SKIP}
    return m.ManagePlaylist(action=action, params=params, **kw)


def _schedule(body: Mapping[str, Any], actor: m.Actor, ctx: Context, kw: dict) -> m.Message:
    data = body.get("scheduleData")
    if data is None:
        raise CommandError("missing_field", "scheduleData is required.")
    if not isinstance(data, Mapping):
        raise CommandError("invalid_field", "scheduleData must be an object.")
    return m.UpdateSchedule(schedule_data=data, **kw)


def _preferences(body: Mapping[str, Any], actor: m.Actor, ctx: Context, kw: dict) -> m.Message:
    user_id = opt_str(body, "userId", 100, actor.user_id)
    prefs = body.get("preferences")
    if not isinstance(prefs, Mapping):
        raise CommandError("invalid_field", "preferences must be an object.")
    return m.UpdatePreferences(user_id=user_id, preferences=prefs, **kw)


def _announce(body: Mapping[str, Any], actor: m.Actor, ctx: Context, kw: dict) -> m.Message:
    return m.PlayAnnouncement(content_id=req_str(body, "contentId", 100), **kw)


ROUTES: dict[str, Route] = {
    "/api/ui/command": Route(_ui_command, "staff"),
    "/api/settings/update": Route(_setting, "staff"),
    "/api/queue/add": Route(_queue_add, "guest"),
    "/api/queue/remove": Route(_queue_remove, "guest"),
    "/api/queue/move": Route(_queue_move, "staff"),
    "/api/queue/clear": Route(_queue_clear, "staff"),
    "/api/track/vote": Route(_vote, "guest"),
    "/api/playlist/manage": Route(_playlist, "staff"),
    "/api/schedule/update": Route(_schedule, "staff"),
    "/api/user/preferences": Route(_preferences, "guest"),
    "/api/announcement/play": Route(_announce, "staff"),
}


def allowed(role: str, actor: m.Actor) -> bool:
    if role == "admin":
        return actor.role == "admin"
    if role == "staff":
        return actor.is_staff
    return bool(actor.user_id)


def guards(body: Mapping[str, Any]) -> dict[str, Any]:
    """`expectedRev` / `expectedPlayId`, the optional concurrency guards, as keywords."""
    out: dict[str, Any] = {}
    if body.get("expectedRev") is not None:
        out["expected_rev"] = req_int(body, "expectedRev", 0)
    if body.get("expectedPlayId") is not None:
        value = body["expectedPlayId"]
        if not isinstance(value, str):
            raise CommandError("invalid_field", "expectedPlayId must be text.")
        out["expected_play_id"] = value
    return out


def check_venue(body: Mapping[str, Any], state: State) -> None:
    """`venueId`, when given, must name this box's venue."""
    if "venueId" not in body:
        return
    value = body["venueId"]
    if not isinstance(value, str):
        raise CommandError("invalid_field", "venueId must be text.")
    if state.venue is None or value != state.venue.venue_id:
        raise CommandError("unknown_venue", "No such venue on this box.", 404)


def find_route(path: str, routes: Mapping[str, Route] = ROUTES) -> Route:
    route = routes.get(path)
    if route is None:
        raise CommandError("unknown_path", f"No command at {path!r}.", 404)
    return route


def admit(route: Route, body: Mapping[str, Any], actor: m.Actor, state: State) -> None:
    """The checks before any field is read: the body's shape, the role, the venue."""
    if not isinstance(body, Mapping):
        raise CommandError("invalid_body", "body must be an object.")
    if not allowed(route.role, actor):
        raise CommandError("forbidden", "Only staff can do that.", 403)
    check_venue(body, state)


def build_message(
    path: str,
    body: Mapping[str, Any],
    actor: m.Actor,
    ctx: Context,
    command_id: str = "",
) -> m.Message:
    """Check the route, the role, the venue and the fields; the message to submit.
    Raises CommandError for anything that must never reach the core."""
    route = find_route(path)
    admit(route, body, actor, ctx.state)
    kw = {"actor": actor, "command_id": command_id, **guards(body)}
    return route.build(body, actor, ctx, kw)


# --- the way back: a message as the command that rebuilds it --------------------------


def _guard_fields(msg: m.Message) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if msg.expected_rev is not None:
        out["expectedRev"] = msg.expected_rev
    if msg.expected_play_id is not None:
        out["expectedPlayId"] = msg.expected_play_id
    return out


def command_for(msg: m.Message) -> tuple[str, dict[str, Any]] | None:
    """The route and body that `build_message` turns back into `msg`; None for messages
    that are not console commands (facts, logins)."""
    body: dict[str, Any]
    if isinstance(msg, m.UiCommand):
        path, body = "/api/ui/command", {"command": msg.command, "value": msg.value}
        if msg.play_id:
            body["playId"] = msg.play_id
    elif isinstance(msg, m.UpdateSetting):
        path, body = "/api/settings/update", {"setting": msg.setting, "value": msg.value}
    elif isinstance(msg, m.AddToQueue):
        t = msg.track
        path, body = (
            "/api/queue/add",
            {
                "videoId": t.video_id,
                "title": t.title,
                "artist": t.artist,
                "duration": t.duration,
                "thumbnail": t.thumbnail,
                "position": msg.position,
            },
        )
        if msg.action:
            body["action"] = msg.action
    elif isinstance(msg, m.RemoveFromQueue):
        path, body = "/api/queue/remove", {}
        if msg.queue_item_id:
            body["queueItemId"] = msg.queue_item_id
        if msg.video_id:
            body["videoId"] = msg.video_id
    elif isinstance(msg, m.MoveQueueItem):
        path, body = "/api/queue/move", {"queueItemId": msg.queue_item_id, "toIndex": msg.to_index}
    elif isinstance(msg, m.ClearQueue):
        path, body = "/api/queue/clear", {}
    elif isinstance(msg, m.Vote):
        path, body = "/api/track/vote", {"videoId": msg.video_id, "voteType": msg.vote_type}
    elif isinstance(msg, m.ManagePlaylist):
        path, body = "/api/playlist/manage", {**to_data(msg.params), "action": msg.action}
    elif isinstance(msg, m.UpdateSchedule):
        path, body = "/api/schedule/update", {"scheduleData": to_data(msg.schedule_data)}
    elif isinstance(msg, m.UpdatePreferences):
        path, body = (
            "/api/user/preferences",
            {
                "userId": msg.user_id,
                "preferences": to_data(msg.preferences),
            },
        )
    elif isinstance(msg, m.PlayAnnouncement):
        path, body = "/api/announcement/play", {"contentId": msg.content_id}
    else:
        return None
    return path, {**body, **_guard_fields(msg)}
