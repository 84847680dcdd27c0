"""The seed's command paths on the LAN console. The table, the field rules and the roles
are `appliance/commands.py`, shared with the cloud's `cmd` messages; this module adds what
only the web has: the browser player's own paths, the session-scoped `commandId`, the
library service and the extra playlist actions. `POST <path>` over HTTP and
`{"type": "COMMAND", "path", "body"}` over the websocket both come through `execute`.

A body may carry `commandId` (a repeat, by any path, is applied once and answered with the
first result), `expectedRev` and `expectedPlayId` (stale -> 409 with the current state),
and `venueId` (must be this box's venue, else 404).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from appliance import commands
from appliance.commands import Context, Route, opt_number, opt_str, req_str
from appliance.core import messages as m
from appliance.runtime import Reply
from web.errors import ApiError

if TYPE_CHECKING:
    from web.context import Console

PLAYER_STATES = ("playing", "paused", "buffering", "stopped")


def guards(body: Mapping[str, Any], actor: m.Actor) -> dict[str, Any]:
    """The optional fields every command may carry, as message keyword arguments."""
    out: dict[str, Any] = {"actor": actor}
    cid = body.get("commandId")
    if cid is not None:
        if not isinstance(cid, str) or not 0 < len(cid) <= 100:
            raise ApiError("invalid_field", "commandId must be text of 1-100 characters.")
        # scoped to the session: one window's id can never replay another's answer
        out["command_id"] = f"{actor.session_id or actor.user_id}:{cid}"
    return {**out, **commands.guards(body)}


def _current_play_id(ctx: Context) -> str:
    np = ctx.state.venue.now_playing if ctx.state.venue else None
    return np.play_id if np else ""


# --- the browser player's paths: facts from a player window on the LAN, not console
# commands, so the cloud's `cmd` does not carry them


def _player_status(body: Mapping[str, Any], actor: m.Actor, ctx: Context, kw: dict) -> m.Message:
    state = req_str(body, "state", 20)
    if state not in PLAYER_STATES:
        raise ApiError("invalid_field", f"state must be one of {', '.join(PLAYER_STATES)}.")
    return m.PlayerStatus(
        play_id=opt_str(body, "playId", 100, _current_play_id(ctx)),
        state=state,
        position=opt_number(body, "currentTime"),
        duration=opt_number(body, "duration"),
        **kw,
    )


def _player_ready(body: Mapping[str, Any], actor: m.Actor, ctx: Context, kw: dict) -> m.Message:
    # a player announcing itself is a heartbeat that marks it connected
    player_id = req_str(body, "playerId", 100)
    return m.Heartbeat(player_id=player_id, play_id=_current_play_id(ctx), **kw)


def _player_heartbeat(body: Mapping[str, Any], actor: m.Actor, ctx: Context, kw: dict) -> m.Message:
    return m.Heartbeat(
        player_id=opt_str(body, "playerId", 100, "web"),
        position=opt_number(body, "currentTime"),
        play_id=opt_str(body, "playId", 100, _current_play_id(ctx)),
        **kw,
    )


def _player_error(body: Mapping[str, Any], actor: m.Actor, ctx: Context, kw: dict) -> m.Message:
    code = body.get("errorCode")
    if isinstance(code, bool) or not isinstance(code, str | int):
        raise ApiError("missing_field", "errorCode is required (text or number).")
    play_id = opt_str(body, "playId", 100, _current_play_id(ctx))
    return m.PlayerError(play_id=play_id, error_code=str(code)[:60], **kw)


ROUTES: dict[str, Route] = {
    **commands.ROUTES,
    "/api/player/status": Route(_player_status, "staff"),
    "/api/player/ready": Route(_player_ready, "staff"),
    "/api/player/heartbeat": Route(_player_heartbeat, "staff"),
    "/api/player/error": Route(_player_error, "staff"),
}


def execute(console: Console, path: str, body: Mapping[str, Any], actor: m.Actor) -> Reply:
    """Check, build and submit one command. Raises CommandError (ApiError included) for
    what never reaches the core; the error handlers answer it in the house format."""
    route = commands.find_route(path, ROUTES)
    if not actor.user_id:
        raise ApiError("unauthorized", "Please log in (or join as a guest) first.", 401)
    state = console.runtime.state
    commands.admit(route, body, actor, state)
    kw = guards(body, actor)
    if path == "/api/playlist/manage":
        extra = console.playlist_actions.get(str(body.get("action")))
        if extra is not None:
            return extra(body, actor)
    msg = route.build(body, actor, Context(state, console.services.library), kw)
    try:
        return console.runtime.submit(msg, timeout=15.0)
    except TimeoutError:
        raise ApiError("busy", "The box is busy; try again.", 503) from None
