"""Commands from the broker: checked like HTTP commands, applied at most once, answered.

A `cmd` payload is `{"commandId", "issuedAt", ...}` plus either `command`/`value` (the body
of `/api/ui/command`) or `path`/`body` (the HTTP route it mirrors), and optionally
`actor: {"userId", "role"}`: the console's logged-in staff member. Only the venue's own
credentials and the console's can write to a venue's `cmd` (the broker's ACL), so the
box takes the console's word for the role, capped by `[cloud] remote_role`.

`commandId` becomes the core's `command_id` ("mqtt:<id>"), so the runtime applies a
repeat once and answers it with the first result. Freshness (`issuedAt`) is judged
without trusting the box's own clock: see `appliance.cloud.freshness`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from appliance.cloud.freshness import Freshness
from appliance.cloud.settings import LinkSettings, cap_role
from appliance.commands import CommandError, Context, Library, build_message, normalize_command
from appliance.core import messages as m
from appliance.core.codec import to_data
from appliance.runtime import Reply
from appliance.runtime_port import RuntimePort

log = logging.getLogger(__name__)

MAX_PAYLOAD = 64 * 1024


def parse_instant(value: Any) -> float:
    """ISO 8601 with a zone (`...Z` or `+00:00`) to epoch seconds."""
    if not isinstance(value, str) or not value:
        raise CommandError("invalid_issued_at", "issuedAt must be an ISO 8601 time in UTC.")
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise CommandError("invalid_issued_at", "issuedAt is not an ISO 8601 time.") from None
    if when.tzinfo is None:
        raise CommandError("invalid_issued_at", "issuedAt needs a time zone (use Z for UTC).")
    return when.timestamp()


class CommandDesk:
    def __init__(
        self,
        runtime: RuntimePort,
        settings: LinkSettings,
        freshness: Freshness | None = None,
        library: Library | None = None,
    ) -> None:
        self._runtime = runtime
        self._settings = settings
        self.freshness = freshness or settings.freshness()
        self._library = library
        self.refused = 0
        self.applied = 0

    def handle(self, raw: bytes) -> dict[str, Any]:
        """The ack for one `cmd` payload. Blocks (this thread only) until it is durable."""
        command_id: str | None = None
        try:
            data = self._parse(raw)
            command_id = self._command_id(data)
            self._check_fresh(data)
            msg = self._message(data, command_id)
        except CommandError as exc:
            self.refused += 1
            return {
                "commandId": command_id,
                "ok": False,
                "status": exc.status,
                "error": exc.as_error(),
            }
        try:
            reply = self._runtime.submit(msg, timeout=15.0)
        except TimeoutError:
            return {
                "commandId": command_id,
                "ok": False,
                "status": 503,
                "error": {"code": "busy", "message": "The box is busy; send it again."},
            }
        self.applied += reply.ok
        return ack_for(command_id, reply)

    def _parse(self, raw: bytes) -> Mapping[str, Any]:
        if len(raw) > MAX_PAYLOAD:
            raise CommandError("too_large", f"A command is at most {MAX_PAYLOAD} bytes.", 413)
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError):  # also [[[[...]]]] bombs
            raise CommandError("invalid_json", "The command is not valid JSON.") from None
        if not isinstance(data, dict):
            raise CommandError("invalid_body", "The command must be a JSON object.")
        return data

    def _command_id(self, data: Mapping[str, Any]) -> str:
        cid = data.get("commandId")
        if not isinstance(cid, str) or not 0 < len(cid) <= 100:
            raise CommandError("invalid_command_id", "commandId must be text of 1-100 characters.")
        return cid

    def _check_fresh(self, data: Mapping[str, Any]) -> None:
        issued_at = parse_instant(data.get("issuedAt"))
        self.freshness.check(self.actor(data).user_id, issued_at)

    def actor(self, data: Mapping[str, Any]) -> m.Actor:
        who = data.get("actor")
        who = who if isinstance(who, Mapping) else {}
        user = who.get("userId")
        user_id = f"remote:{user}" if isinstance(user, str) and 0 < len(user) <= 100 else "remote"
        role = cap_role(who.get("role"), self._settings.remote_role)
        return m.Actor(user_id=user_id, role=role, session_id="mqtt", source="mqtt")

    def _message(self, data: Mapping[str, Any], command_id: str) -> m.Message:
        if "command" not in data and "path" not in data:
            raise CommandError("missing_field", "A command needs `command` or `path` and `body`.")
        path, body = normalize_command(data)
        if not isinstance(path, str):
            raise CommandError("invalid_field", "path must be text.")
        if not isinstance(body, Mapping):
            raise CommandError("invalid_body", "body must be an object.")
        ctx = Context(self._runtime.state, self._library)
        return build_message(path, body, self.actor(data), ctx, command_id=f"mqtt:{command_id}")


def ack_for(command_id: str | None, reply: Reply) -> dict[str, Any]:
    ack: dict[str, Any] = {
        "commandId": command_id,
        "ok": reply.ok,
        "rev": reply.rev,
        "status": reply.status,
    }
    if reply.ok:
        ack["result"] = to_data(reply.result)
    else:
        ack["error"] = to_data(reply.error or {"code": "refused", "message": "Refused."})
    return ack


# --- Home Assistant's plain command topics ------------------------------------------------


def ha_message(entity: str, text: str, state: Any, settings: LinkSettings) -> m.Message:
    """A command from one of Home Assistant's entities. Raises CommandError if malformed."""
    actor = m.Actor(
        user_id="homeassistant",
        role=cap_role("moderator", settings.remote_role),
        session_id="homeassistant",
        source="mqtt",
    )
    text = text.strip()
    if entity == "volume":
        try:
            value = round(float(text))
        except ValueError:
            raise CommandError("invalid_value", "volume must be a number.") from None
        return m.UiCommand(command="SET_VOLUME", value=value, actor=actor)
    if entity == "skip":
        np = state.venue.now_playing if state.venue else None
        return m.UiCommand(command="PLAY_NEXT", play_id=np.play_id if np else "", actor=actor)
    if entity == "playing":
        if text not in ("ON", "OFF"):
            raise CommandError("invalid_value", "playing must be ON or OFF.")
        return m.UiCommand(command="PLAY" if text == "ON" else "PAUSE", actor=actor)
    if entity == "playlist":
        for pl in state.playlists.values():
            if option_name(pl) == text:
                return m.ManagePlaylist(
                    action="load", params={"playlistId": pl.playlist_id}, actor=actor
                )
        raise CommandError("not_found", f"No playlist named {text!r}.", 404)
    raise CommandError("unknown_entity", f"No Home Assistant entity {entity!r}.", 404)


def option_name(pl: Any) -> str:
    """A playlist's option in Home Assistant's select: its name, made unique by its id."""
    return f"{pl.name or 'Playlist'} ({pl.playlist_id})"
