"""The fleet console: every venue on the broker at a glance, one command for many.

`create_fleet_app(fleet, staff, config, open_console)` builds a Flask app of its own (not
the venue console: there is no venue here) that shares the console's parts: the staff
login and sessions (`web.auth_api`, a PIN of its own), the house error format, the Host
check. Routes:

- `GET /fleet`: the page (cards, search, filter, multi-select, bulk actions);
- `GET /api/fleet`: `{"venues": [...]}` (staff only);
- `POST /api/fleet/command` `{"venueIds", "command", "value"}`: `{"results": [...]}`;
  besides the UI commands, `LOAD_PLAYLIST` (value: a playlist name, found per venue) and
  `APPLY_SCHEDULE` (value: a schedule, `playlistName` in an entry found per venue);
- `/fleet/ws`: `{"type": "FLEET_SNAPSHOT", "venues"}`, then `{"type": "VENUE_UPDATE",
  "venue"}` for each venue that changes (staff only);
- `GET /venue/<id>/`: that venue's full remote console, which `open_console` starts on
  its own port (sharing these sessions, so staff are logged in there too).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
)
from flask_sock import ConnectionClosed, Sock
from werkzeug.wrappers import Response as WerkzeugResponse

from appliance.config import Config
from appliance.core import messages as m
from appliance.fleet_port import FleetPort
from appliance.runtime_port import RuntimePort
from appliance.services import Services
from web.auth import current_session, same_origin, staff_required
from web.body import json_body
from web.errors import ApiError, error_response
from web.guards import allowed_host
from web.hub import dumps
from web.server import TAKEN_OVER

log = logging.getLogger(__name__)

# by name at each venue: `value` is a playlist name / a schedule (see cloud.fleet_bulk)
BULK_COMMANDS = ("LOAD_PLAYLIST", "APPLY_SCHEDULE")
MAX_VENUES = 500  # venues per fleet command
BODY_LIMIT = 64 * 1024
WS_IDLE = 20.0  # seconds between pings when nothing changes

OpenConsole = Callable[[str], int | None]


@dataclass
class FleetContext:
    fleet: FleetPort
    open_console: OpenConsole


def fleet_context() -> FleetContext:
    return current_app.extensions["djamms_fleet"]


bp = Blueprint("fleet", __name__)


@bp.get("/")
def index() -> WerkzeugResponse:
    return redirect("/fleet")


@bp.get("/fleet")
def page() -> str:
    return render_template("fleet.html", venue_name="Fleet")


@bp.get("/api/fleet")
@staff_required
def venues() -> Response:
    return jsonify({"venues": fleet_context().fleet.venues()})


@bp.post("/api/fleet/command")
@staff_required
def command() -> Response:
    body = json_body(BODY_LIMIT)
    venue_ids = _venue_ids(body.get("venueIds"))
    name = body.get("command")
    if not isinstance(name, str) or name not in (*m.UI_COMMANDS, *BULK_COMMANDS):
        raise ApiError("unknown_command", f"Unknown command {name!r}.")
    session = current_session()
    assert session is not None  # staff_required
    actor = {"userId": session.user_id, "role": session.role}
    fleet, value = fleet_context().fleet, body.get("value")
    if name == "LOAD_PLAYLIST":
        if not isinstance(value, str) or not 0 < len(value.strip()) <= 120:
            raise ApiError("invalid_field", "LOAD_PLAYLIST takes a playlist name (1-120).")
        results = fleet.load_playlist(venue_ids, value.strip(), actor)
    elif name == "APPLY_SCHEDULE":
        if not isinstance(value, dict):
            raise ApiError("invalid_field", "APPLY_SCHEDULE takes a schedule object.")
        results = fleet.apply_schedule(venue_ids, value, actor)
    else:
        results = fleet.command(venue_ids, name, value, actor)
    return jsonify({"results": results})


def _venue_ids(given: Any) -> list[str]:
    if not isinstance(given, list) or not given:
        raise ApiError("invalid_field", "venueIds must be a list of one or more venue ids.")
    if len(given) > MAX_VENUES:
        raise ApiError("too_many_venues", f"At most {MAX_VENUES} venues per command.")
    if not all(isinstance(v, str) and 0 < len(v) <= 100 for v in given):
        raise ApiError("invalid_field", "Each venue id must be text of 1-100 characters.")
    return list(given)


@bp.get("/venue/<venue_id>/")
def venue_console(venue_id: str) -> WerkzeugResponse | tuple[str, int]:
    session = current_session()
    if session is None or not session.is_staff:
        return redirect("/fleet")
    ctx = fleet_context()
    if ctx.fleet.venue(venue_id) is None:
        return "No such venue on this broker.", 404
    port = ctx.open_console(venue_id)
    if port is None:
        return "That venue's console could not be started.", 503
    host = request.host.rsplit(":", 1)[0] if not request.host.endswith("]") else request.host
    return redirect(f"{request.scheme}://{host}:{port}/staff")


def ws_guard(extra_hosts: tuple[str, ...]) -> Callable[[], Response | None]:
    """The checks `/fleet/ws` needs before the upgrade: the Host (as the API's), the
    Origin, and a staff session."""

    def guard() -> Response | None:
        if request.path != "/fleet/ws":
            return None
        if not allowed_host(request.host or "", extra_hosts):
            return error_response("bad_host", "Use the console's address or name.", 400)
        if not same_origin(request):
            return error_response("bad_origin", "Connect from the console's own pages.", 403)
        session = current_session()
        if session is None:
            return error_response("unauthorized", "Please log in first.", 401)
        if not session.is_staff:
            return error_response("forbidden", "Only staff can do that.", 403)
        return None

    return guard


def fleet_ws(ws: Any) -> None:
    """A snapshot, then each changed venue; a ping when nothing changed for a while."""
    request.environ[TAKEN_OVER] = True
    fleet = fleet_context().fleet
    feed = fleet.watch()
    try:
        ws.send(dumps({"type": "FLEET_SNAPSHOT", "venues": fleet.venues()}))
        while ws.connected and not feed.closed:
            changed = feed.get(WS_IDLE)
            if not changed:
                ws.send(dumps({"type": "PING"}))
                continue
            for venue_id in sorted(changed):
                venue = fleet.venue(venue_id)
                if venue is not None:
                    ws.send(dumps({"type": "VENUE_UPDATE", "venue": venue}))
    except ConnectionClosed:
        pass
    finally:
        feed.close()


def create_fleet_app(
    fleet: FleetPort, staff: RuntimePort, config: Config, open_console: OpenConsole
) -> Flask:
    """The fleet console's app. `staff` holds the fleet's own staff (its PIN) for the
    login; nothing is ever sent to a venue through it."""
    from web import auth_api, guards
    from web.context import Console
    from web.errors import register_error_handlers
    from web.hub import SyncHub
    from web.sessions import SessionStore

    app = Flask(__name__, static_folder="static", template_folder="templates")
    app.config.update(SOCK_SERVER_OPTIONS={"max_message_size": 64 * 1024})
    app.json.sort_keys = False  # type: ignore[attr-defined]
    memory = bool(config.section("web").get("memory_sessions"))
    app.extensions["djamms"] = Console(
        runtime=staff,
        config=config,
        services=Services(),
        sessions=SessionStore(None if memory else config.data_dir / "fleet-sessions.json"),
        hub=SyncHub(staff, max_clients=config.max_connections),
    )
    app.extensions["djamms_fleet"] = FleetContext(fleet, open_console)
    register_error_handlers(app)
    extra_hosts = tuple(config.section("web").get("allowed_hosts", ()))
    guards.register(app, extra_hosts)
    app.before_request(ws_guard(extra_hosts))
    app.register_blueprint(auth_api.bp)
    app.register_blueprint(bp)
    Sock(app).route("/fleet/ws")(fleet_ws)
    return app
