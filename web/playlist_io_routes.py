"""Playlist import (the `import` action of `POST /api/playlist/manage`) and export.

An import answers with the playlist and the report when it finishes within IMPORT_WAIT
seconds; a longer one (a 13,000-track YouTube playlist) answers `{"status": "running",
"importId"}` at once and tells the rest through SYSTEM_STATUS notices."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from flask import Blueprint, Response, request
from flask.blueprints import BlueprintSetupState

from appliance.commands import check_venue
from appliance.core.messages import Actor
from appliance.core.views import playlist_view
from appliance.playlist_files import ImportRefused, to_json, to_m3u
from appliance.runtime import Reply
from appliance.services import PlaylistImports
from web.auth import staff_required
from web.context import console
from web.errors import ApiError
from web.hub import dumps

log = logging.getLogger(__name__)
bp = Blueprint("playlist_io", __name__)
IMPORT_WAIT = 25.0


def _importer() -> PlaylistImports:
    service = console().services.importer
    if service is None:
        raise ApiError("unavailable", "Playlist import is not running on this box.", 503)
    return service


def _text(body: Mapping[str, Any], key: str, max_len: int) -> str:
    value = body.get(key, "")
    if not isinstance(value, str) or len(value) > max_len:
        raise ApiError("invalid_field", f"{key} must be text of up to {max_len} characters.")
    return value.strip()


def import_action(body: Mapping[str, Any], actor: Actor) -> Reply:
    source: dict[str, Any] = {
        "url": _text(body, "url", 2048),
        "m3u": _text(body, "m3u", 8 * 1024 * 1024),
        "folder": _text(body, "folder", 1024),
        "name": _text(body, "name", 120),
    }
    if "json" in body:
        source["json_data"] = body["json"]
    if not (source["url"] or source["m3u"] or source["folder"] or "json_data" in source):
        raise ApiError("missing_field", "Give url (or playlist id), m3u, json or folder.")
    import_id, future = _importer().start_import(actor, **source)
    runtime = console().runtime
    try:
        report = future.result(timeout=IMPORT_WAIT)
    except FutureTimeout:
        running = {"status": "running", "importId": import_id}
        return Reply(True, runtime.state.rev, result=running, status=202)
    except ImportRefused as exc:
        error = {"code": exc.code, "message": exc.message, "importId": import_id}
        return Reply(False, runtime.state.rev, error=error, status=exc.status)
    except Exception as exc:  # a source that broke the reader: say so, not a 500
        log.exception("import %s failed", import_id)
        error = {"code": "import_failed", "message": str(exc)[:300], "importId": import_id}
        return Reply(False, runtime.state.rev, error=error, status=502)
    playlist = playlist_view(report.playlist) if report.playlist else None
    result = {"status": "done", "playlist": playlist, "report": report.as_dict()}
    return Reply(True, runtime.state.rev, result=result)


@bp.record_once
def _install(setup: BlueprintSetupState) -> None:
    setup.app.extensions["djamms"].playlist_actions["import"] = import_action


@bp.get("/api/playlist/export")
@staff_required
def export() -> Response:
    state = console().runtime.state
    check_venue(request.args, state)
    playlist = state.playlists.get(request.args.get("playlistId", ""))
    if playlist is None:
        raise ApiError("not_found", "No such playlist.", 404)
    fmt = request.args.get("format", "json")
    safe = "".join(c if c.isalnum() or c in "-_ " else "_" for c in playlist.name)[:60] or "list"
    if fmt == "m3u":
        resp = Response(to_m3u(playlist), mimetype="audio/x-mpegurl")
        ext = "m3u"
    elif fmt == "json":
        resp = Response(dumps(to_json(playlist)), mimetype="application/json")
        ext = "json"
    else:
        raise ApiError("invalid_field", "format must be json or m3u.")
    resp.headers["Content-Disposition"] = f'attachment; filename="{safe}.{ext}"'
    return resp
