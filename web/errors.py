"""The house error format for every answer under /api: `{"error": {"code", "message"}}`
with a 4xx status. Routes raise `ApiError`; Flask's own refusals (404, 405, 413) and any
unexpected exception are turned into the same shape (so is a `CommandError` from the command
table in `appliance/commands.py`), so a client never sees HTML."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from appliance.commands import CommandError
from appliance.core.codec import to_data
from appliance.core.views import snapshot_payload
from appliance.runtime import Reply

log = logging.getLogger(__name__)


class ApiError(CommandError):
    """A refusal with a code a program can test and a message a person can read; the web's
    own refusals, which may carry extra fields beside the code and the message."""

    def __init__(self, code: str, message: str, status: int = 400, **extra: Any) -> None:
        super().__init__(code, message, status)
        self.extra = extra

    def as_error(self) -> dict[str, Any]:
        return {**super().as_error(), **self.extra}


def error_response(code: str, message: str, status: int, **extra: Any) -> Response:
    resp = jsonify({"error": {"code": code, "message": message, **extra}})
    resp.status_code = status
    return resp


def reply_response(reply: Reply) -> Response:
    """A runtime `Reply` as HTTP: the result, or the engine's refusal with its status.
    A conflict (409) carries the current state so the client can repaint at once."""
    if reply.ok:
        return jsonify({"ok": True, "rev": reply.rev, "result": to_data(reply.result)})
    body: dict[str, Any] = {"error": dict(reply.error or {}), "rev": reply.rev}
    body["error"].setdefault("code", "refused")
    body["error"].setdefault("message", "Refused.")
    if reply.status == 409 and reply.state is not None:
        body["state"] = {"rev": reply.state.rev, **snapshot_payload(reply.state)}
    resp = jsonify(to_data(body))
    resp.status_code = reply.status or 400
    return resp


_HTTP_CODES = {
    400: ("bad_request", "The request could not be understood."),
    401: ("unauthorized", "Please log in first."),
    403: ("forbidden", "You are not allowed to do that."),
    404: ("not_found", "There is nothing here."),
    405: ("method_not_allowed", "That method is not allowed here."),
    413: ("too_large", "The request body is too large."),
    415: ("unsupported_media_type", "Send the body as JSON."),
    429: ("too_many_requests", "Too many attempts; wait a moment."),
}


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(CommandError)
    def _api_error(exc: CommandError) -> Response:
        resp = jsonify({"error": exc.as_error()})
        resp.status_code = exc.status
        return resp

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response | HTTPException:
        if not request.path.startswith("/api"):
            return exc
        status = exc.code or 400
        code, message = _HTTP_CODES.get(status, ("http_error", exc.description or "Error."))
        return error_response(code, message, status)

    @app.errorhandler(TimeoutError)
    def _busy(exc: TimeoutError) -> Response:
        # runtime.submit waited too long: the box is swamped, the request may be retried
        resp = error_response("busy", "The box is busy; try again in a moment.", 503)
        resp.headers["Retry-After"] = "2"
        return resp

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response("server_error", "Something went wrong on the box.", 500)
