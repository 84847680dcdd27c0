"""Content gallery routes: upload (multipart, file in `file`, `venueId` beside it), delete,
list, and the files themselves for the screen's idle loop."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request, send_file

from appliance.commands import check_venue
from appliance.content_files import SHOWN_TYPES, ContentError
from appliance.core.codec import to_data
from appliance.services import Gallery
from web.auth import current_actor, staff_required
from web.body import json_body
from web.context import console
from web.errors import ApiError

bp = Blueprint("content", __name__)
FORM_HEADROOM = 64 * 1024  # multipart boundaries and the venueId field


def gallery() -> Gallery:
    service = console().services.content
    if service is None:
        raise ApiError("unavailable", "The content gallery is not running on this box.", 503)
    return service


def _refused(exc: ContentError) -> ApiError:
    return ApiError(exc.code, exc.message, exc.status)


@bp.post("/api/content/upload")
@staff_required
def upload() -> Response:
    g = gallery()
    request.max_content_length = g.max_bytes + FORM_HEADROOM
    if request.content_length and request.content_length > g.max_bytes + FORM_HEADROOM:
        limit = g.max_bytes // 1048576
        raise ApiError("too_large", f"The file is larger than the limit of {limit} MB.", 413)
    check_venue(request.form, console().runtime.state)
    file = request.files.get("file")
    if file is None:
        raise ApiError("missing_field", "Send the file in the multipart field `file`.")
    try:
        item = g.upload(file.stream, file.filename or "", current_actor())
    except ContentError as exc:
        raise _refused(exc) from None
    return jsonify({"ok": True, "rev": console().runtime.state.rev, "item": to_data(item)})


@bp.post("/api/content/delete")
@staff_required
def delete() -> Response:
    body = json_body()
    check_venue(body, console().runtime.state)
    ids = body.get("contentIds")
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
        raise ApiError("invalid_field", "contentIds must be a non-empty list of ids.")
    try:
        removed = gallery().delete(ids, current_actor())
    except ContentError as exc:
        raise _refused(exc) from None
    rev = console().runtime.state.rev
    return jsonify({"ok": True, "rev": rev, "removed": [r.content_id for r in removed]})


@bp.get("/api/content")
def list_content() -> Response:
    state = console().runtime.state
    return jsonify({"rev": state.rev, "items": [to_data(c) for c in state.content.values()]})


@bp.get("/api/content/<content_id>/<part>")
def content_file(content_id: str, part: str) -> Response:
    item = console().runtime.state.content.get(content_id)
    if item is None or part not in ("file", "thumbnail"):
        raise ApiError("not_found", "No such content item.", 404)
    g = gallery()
    path = g.thumb_path(item) if part == "thumbnail" else g.media_path(item)
    if path is None or not path.is_file():
        raise ApiError("not_found", "That file is missing.", 404)
    mime = "image/jpeg" if part == "thumbnail" else item.mime_type
    if mime not in SHOWN_TYPES:  # never text/html or the like from the console's origin
        raise ApiError("not_found", "That file is missing.", 404)
    return send_file(path, mimetype=mime, conditional=True, max_age=3600)
