"""Live paths: the websocket at `/ws` and Server-Sent Events at `/api/events`.

`/ws` sends a SNAPSHOT, then every frame from the hub; a window may also send commands
(`{"type": "COMMAND", "commandId", "path", "body"}` or the UI shorthand `{"type":
"COMMAND", "commandId", "command", "value"}`), each answered with an ACK in order with
the frames. Browsers must connect from the console's own origin. SSE sends the same
frames (`id:` is the rev; `Last-Event-ID` or `?since=` resumes without a snapshot).
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, request
from flask_sock import ConnectionClosed, Sock
from werkzeug.wsgi import ClosingIterator

from appliance.commands import CommandError, normalize_command
from appliance.core.codec import to_data
from appliance.subscription import wakes_after
from web.api import search_tracks
from web.auth import actor_for, current_session, same_origin
from web.body import loads
from web.commands import execute
from web.context import Console, console
from web.errors import ApiError, error_response
from web.hub import dumps
from web.outbox import HubClient
from web.server import TAKEN_OVER
from web.wire import SSE_HEAD, SSE_KEEPALIVE, WS_PING

log = logging.getLogger(__name__)

KEEPALIVE = 15.0  # seconds between SSE comments, so dead readers are noticed


def _quiet() -> float:
    """A window's quiet time before its next ping, spread: windows that opened or were
    resynced together would otherwise all ping at one instant, hundreds of thread
    wake-ups in one burst (on a Pi core, a change made then waited 150 ms behind them)."""
    return random.uniform(KEEPALIVE * 0.75, KEEPALIVE)


class _Arrivals(threading.Event):
    """simple-websocket's "a message arrived" signal (its `event_class`), set on the
    socket's reader thread. Once a window gives it `on_set`, each message is handled right
    there: no reading thread of ours per window, no hand-off before a command's ACK."""

    on_set: Callable[[], None] | None = None

    def set(self) -> None:
        super().set()
        if self.on_set is not None:
            self.on_set()


class _AnswerFirst:
    """WSGI: a POST's answer is written before the hub and the effect sinks it woke run
    (as a window's ACK is). Werkzeug closes the answer after writing it, on this thread."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("REQUEST_METHOD") != "POST":  # /ws and SSE live for hours
            return self.app(environ, start_response)
        held = wakes_after()
        held.__enter__()

        def release() -> None:
            held.__exit__(None, None, None)

        try:
            body = self.app(environ, start_response)
        except BaseException:
            release()
            raise
        return ClosingIterator(body, release)


def register(app: Flask) -> None:
    app.wsgi_app = _AnswerFirst(app.wsgi_app)  # type: ignore[method-assign]
    options = app.config.get("SOCK_SERVER_OPTIONS", {})
    app.config["SOCK_SERVER_OPTIONS"] = {**options, "event_class": _Arrivals}
    sock = Sock(app)

    @app.before_request
    def _guard_live() -> Response | None:
        if request.path != "/ws":
            return None
        if not same_origin(request):
            return error_response("bad_origin", "Connect from the console's own pages.", 403)
        c = console()
        session = current_session()
        staff = session is not None and session.is_staff
        if c.hub.client_count >= c.hub.max_clients - (0 if staff else c.hub.staff_reserve):
            return _busy()
        return None

    sock.route("/ws")(ws_view)
    app.add_url_rule("/api/events", view_func=events_view, methods=["GET"])


def _busy() -> Response:
    resp = error_response("busy", "Too many windows are connected; try again shortly.", 503)
    resp.headers["Retry-After"] = "5"
    return resp


def ws_view(ws: Any) -> None:
    request.environ[TAKEN_OVER] = True
    c = console()
    session = current_session()
    sid_hash = session.sid_hash if session is not None else ""
    client = c.hub.connect(staff=bool(session and session.is_staff), session=sid_hash)
    if client is None:
        ws.close(1013, "busy")
        return
    actor = actor_for(session, request, "ws")
    if session is not None:
        user = c.runtime.state.users.get(session.user_id)
        prefs = _prefs(user)
        client.send_private(
            dumps(
                {
                    "type": "AUTH_SUCCESS",
                    "rev": c.hub.rev,
                    "payload": {
                        "userId": session.user_id,
                        "role": session.role,
                        "preferences": prefs,
                    },
                }
            )
        )
    reader = _Reader(ws, client, c, actor)
    ws.event.on_set = reader.take
    reader.take()  # what came before it was listening
    client.attach(ws.sock, "ws")
    try:
        # a window outlives neither its session's logout (the hub closes it) nor its
        # expiry (checked at least every KEEPALIVE seconds)
        while client.pump(_quiet(), WS_PING) and _alive(c, sid_hash):
            pass
    except (ConnectionClosed, OSError):
        pass
    finally:
        client.close()
        client.detach()
        ws.close()


def _alive(c: Console, sid_hash: str) -> bool:
    return not sid_hash or c.sessions.alive(sid_hash)


SESSION_ENDED = dumps(
    {
        "type": "ERROR",
        "status": 401,
        "error": {"code": "session_ended", "message": "Your session ended; log in again."},
    }
)


def _prefs(user: Any) -> dict[str, Any]:
    return to_data(user.preferences) if user is not None else {}


INTERNAL_ERROR = dumps(
    {
        "type": "ERROR",
        "status": 500,
        "error": {"code": "internal_error", "message": "The box logged a fault."},
    }
)


class _Reader:
    """A window's messages, in order, one at a time, answered as they are taken."""

    def __init__(self, ws: Any, client: HubClient, c: Console, actor: Any) -> None:
        self.ws, self.client, self.c, self.actor = ws, client, c, actor
        self._lock = threading.Lock()  # the window's own first call and the reader thread
        self._ended = False

    def take(self) -> None:
        with self._lock:
            try:
                while not (self._ended or self.client.closed):
                    text = self.ws.receive(timeout=0)
                    if text is None:
                        return
                    self._answer(text)
            except (ConnectionClosed, OSError):
                self._ended = True
                if not self.client.finishing:
                    self.client.close()

    def _answer(self, text: str | bytes) -> None:
        client = self.client
        if not _alive(self.c, client.session):  # logged out or expired since the last one
            self._ended = True
            client.finish(SESSION_ENDED)  # the writer sends it, then ends the window
            return
        # the hub and the sinks wake after the answer is written: woken before, they took
        # the GIL and the window's socket from it (its ACK then queued for the window's thread)
        with wakes_after():
            try:
                answer = handle_incoming(self.c, client, self.actor, text)
            except Exception:  # one message's bug must not cut the window off
                log.exception("websocket message failed: %.200r", text)
                answer = INTERNAL_ERROR
            if answer is not None:
                client.send_private(answer)


def handle_incoming(c: Console, client: HubClient, actor: Any, text: str | bytes) -> str | None:
    try:
        data = loads(text)
    except (ValueError, UnicodeDecodeError):
        return dumps(
            {"type": "ERROR", "error": {"code": "invalid_json", "message": "Send JSON objects."}}
        )
    if not isinstance(data, dict):
        return dumps(
            {"type": "ERROR", "error": {"code": "invalid_body", "message": "Send JSON objects."}}
        )
    kind = data.get("type")
    if kind == "COMMAND":
        return _command(c, actor, data)
    if kind == "RESYNC":
        client.resync(c.hub.state)
        return None
    if kind == "PING":
        return dumps({"type": "PONG", "rev": c.hub.rev})
    if kind == "SEARCH" and actor.user_id:
        query = data.get("q")
        if isinstance(query, str) and 0 < len(query.strip()) <= 200:
            results = search_tracks(c, query.strip(), 25)
            return dumps(
                {
                    "type": "SEARCH_RESULTS_UPDATE",
                    "rev": c.hub.rev,
                    "payload": {"query": query.strip(), "results": results},
                }
            )
    return dumps(
        {
            "type": "ERROR",
            "error": {"code": "unknown_type", "message": f"Unknown message type {kind!r}."},
        }
    )


def _command(c: Console, actor: Any, data: dict[str, Any]) -> str:
    cid = data.get("commandId")
    path, body = normalize_command(data)
    ack: dict[str, Any] = {"type": "ACK", "commandId": cid}
    try:
        if not isinstance(path, str) or not isinstance(body, dict):
            raise ApiError("invalid_body", "A COMMAND needs path (text) and body (object).")
        if cid is not None:
            body = {**body, "commandId": cid}
        reply = execute(c, path, body, actor)
    except CommandError as exc:
        ack.update(ok=False, status=exc.status, rev=c.hub.rev, error=exc.as_error())
        return dumps(ack)
    ack.update(ok=reply.ok, status=reply.status, rev=reply.rev)
    if reply.ok:
        ack["result"] = to_data(reply.result)
    else:
        ack["error"] = reply.error
    return dumps(ack)


def events_view() -> Response:
    c = console()
    session = current_session()
    sock = request.environ.get("werkzeug.socket")
    if sock is None:
        return error_response("no_stream", "This server cannot stream events.", 501)
    sid_hash = session.sid_hash if session is not None else ""
    client = c.hub.connect(
        staff=bool(session and session.is_staff), since=_since(), session=sid_hash
    )
    if client is None:
        return _busy()
    # the answer is written straight to the socket, like a websocket: the same bytes
    # for every client, made once per event
    request.environ[TAKEN_OVER] = True
    client.attach(sock, "sse")
    try:
        sock.sendall(SSE_HEAD)
        while client.pump(_quiet(), SSE_KEEPALIVE) and _alive(c, sid_hash):
            pass
    except OSError:
        pass
    finally:
        client.close()
        client.detach()
    return Response(status=200)


def _since() -> int | None:
    raw = request.headers.get("Last-Event-ID") or request.args.get("since")
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        return None
    return value if value >= 0 else None
