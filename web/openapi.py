"""The console's HTTP API as an OpenAPI 3 document, served at `GET /api/openapi.json`.

Paths and methods come from the app's own URL map, so the document lists every route the
app registers and never drifts from it; what the map cannot know (request bodies, query
parameters) is described here, per path, in the seed's field names. A route without a
body schema here is still listed, with a free-form JSON object as its body.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify

from appliance.core.messages import UI_COMMANDS
from appliance.core.playlists import ACTIONS
from web.sessions import COOKIE

bp = Blueprint("openapi", __name__)

JSON = "application/json"
GUARDS: dict[str, Any] = {  # every command body may carry these (web/commands.py)
    "commandId": {"type": "string", "minLength": 1, "maxLength": 100},
    "expectedRev": {"type": "integer", "minimum": 0},
    "expectedPlayId": {"type": "string"},
    "venueId": {"type": "string"},
}
TRACK = {
    "type": "object",
    "properties": {
        "video_id": {"type": "string"},
        "title": {"type": "string"},
        "artist": {"type": "string"},
        "duration": {"type": "integer", "minimum": 0},
    },
    "required": ["video_id"],
}


def _obj(required: tuple[str, ...] = (), **props: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": {**props, **GUARDS}}
    if required:
        schema["required"] = list(required)
    return schema


TEXT = {"type": "string"}
ANY: dict[str, Any] = {}
BODIES: dict[str, dict[str, Any]] = {
    "/api/auth/login": {
        "type": "object",
        "properties": {"pin": {"type": "string", "minLength": 4, "maxLength": 64}},
        "required": ["pin"],
    },
    "/api/auth/guest": {"type": "object", "properties": {"name": {"type": "string"}}},
    "/api/auth/logout": {"type": "object"},
    "/api/auth/settings": {
        "type": "object",
        "properties": {"setting": {"enum": ["pin", "moderator"]}, "value": ANY},
        "required": ["setting", "value"],
    },
    "/api/ui/command": _obj(
        ("command",), command={"enum": list(UI_COMMANDS)}, value=ANY, playId=TEXT
    ),
    "/api/settings/update": _obj(("setting", "value"), setting=TEXT, value=ANY),
    "/api/announcement/play": _obj(("contentId",), contentId=TEXT),
    "/api/queue/add": _obj(
        ("videoId",),
        videoId={"type": "string", "minLength": 1, "maxLength": 2048},
        position={"enum": ["end", "next"]},
        action=TEXT,
        title=TEXT,
        artist=TEXT,
        duration={"type": "integer", "minimum": 0, "maximum": 86400},
        thumbnail=TEXT,
    ),
    "/api/queue/remove": _obj(queueItemId=TEXT, videoId=TEXT),
    "/api/queue/move": _obj(
        ("queueItemId", "toIndex"), queueItemId=TEXT, toIndex={"type": "integer", "minimum": 0}
    ),
    "/api/queue/clear": _obj(),
    "/api/track/vote": _obj(
        ("videoId",), videoId=TEXT, voteType={"enum": ["like", "unlike", "skip"]}
    ),
    "/api/playlist/manage": _obj(
        ("action",),
        action={"enum": sorted([*ACTIONS, "import"])},
        playlistId=TEXT,
        name=TEXT,
        description=TEXT,
        category=TEXT,
        tracks={"type": "array", "items": TRACK},
        videoId=TEXT,
        trackIndex={"type": "integer", "minimum": 0},
        order={"type": "array", "items": {"type": "integer"}},
        url=TEXT,
    ),
    "/api/user/preferences": _obj(("preferences",), userId=TEXT, preferences={"type": "object"}),
    "/api/player/status": _obj(
        ("state",),
        state={"enum": ["playing", "paused", "buffering", "stopped"]},
        playId=TEXT,
        currentTime={"type": "number"},
        duration={"type": "number"},
    ),
    "/api/player/ready": _obj(("playerId",), playerId=TEXT),
    "/api/player/heartbeat": _obj(playerId=TEXT, currentTime={"type": "number"}, playId=TEXT),
    "/api/player/error": _obj(
        ("errorCode",), errorCode={"oneOf": [TEXT, {"type": "integer"}]}, playId=TEXT
    ),
    "/api/schedule/update": _obj(("scheduleData",), scheduleData={"type": "object"}),
    "/api/content/delete": _obj(
        ("contentIds",), contentIds={"type": "array", "items": TEXT, "minItems": 1}
    ),
    "/api/system/backup": {"type": "object", "properties": {"venueId": TEXT}},
}
MULTIPART = {"/api/content/upload", "/api/system/restore"}  # the file in field `file`


def _q(name: str, schema: dict[str, Any], required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "schema": schema}


INT = {"type": "integer", "minimum": 0}
QUERIES: dict[str, list[dict[str, Any]]] = {
    "/api/state": [_q("since", INT), _q("wait", {"type": "integer", "minimum": 0, "maximum": 30})],
    "/api/queue": [_q("offset", INT), _q("limit", {"type": "integer", "minimum": 1})],
    "/api/playlist": [_q("playlistId", TEXT, True), _q("offset", INT), _q("limit", INT)],
    "/api/playlist/export": [_q("playlistId", TEXT, True), _q("format", TEXT)],
    "/api/search": [_q("q", TEXT, True), _q("limit", INT)],
    "/api/preview": [_q("videoId", TEXT, True)],
    "/api/logs/download": [_q("since", TEXT), _q("until", TEXT), _q("venueId", TEXT)],
}
ERROR = {
    "description": "refused: {error: {code, message}}",
    "content": {JSON: {"schema": {"$ref": "#/components/schemas/Error"}}},
}


def _operation(app: Flask, rule: Any, path: str, method: str) -> dict[str, Any]:
    view = app.view_functions.get(rule.endpoint)
    doc = (getattr(view, "__doc__", None) or "").strip().splitlines()
    op: dict[str, Any] = {
        "operationId": f"{method}_{rule.endpoint}".replace(".", "_"),
        "summary": doc[0] if doc else rule.endpoint,
        "responses": {"200": {"description": "done"}, "4XX": ERROR},
    }
    params = [
        {"name": arg, "in": "path", "required": True, "schema": TEXT}
        for arg in sorted(rule.arguments)
    ]
    params += QUERIES.get(rule.rule, []) if method == "get" else []
    if params:
        op["parameters"] = params
    if method == "post":
        if rule.rule in MULTIPART:
            form = {
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary"}, "venueId": TEXT},
                "required": ["file"],
            }
            content = {"multipart/form-data": {"schema": form}}
        else:
            content = {JSON: {"schema": BODIES.get(rule.rule, {"type": "object"})}}
        op["requestBody"] = {"required": False, "content": content}
    return op


def openapi_document(app: Flask) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint == "static":
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _operation(app, rule, path, method.lower())
    return {
        "openapi": "3.0.3",
        "info": {"title": "DJAMMS box console API", "version": "1"},
        "paths": paths,
        "components": {
            "schemas": {
                "Error": {
                    "type": "object",
                    "properties": {
                        "error": {
                            "type": "object",
                            "properties": {"code": TEXT, "message": TEXT},
                            "required": ["code", "message"],
                        }
                    },
                    "required": ["error"],
                }
            },
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": COOKIE},
                "csrf": {"type": "apiKey", "in": "header", "name": "X-CSRF-Token"},
            },
        },
        "security": [{"session": [], "csrf": []}, {}],
    }


@bp.get("/api/openapi.json")
def openapi_json() -> Response:
    """This document."""
    return jsonify(openapi_document(current_app))
