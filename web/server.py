"""`ConsoleServer`: the console's HTTP/websocket server, in the box's own process.

A thread per connection (websockets and SSE hold theirs for as long as the window is
open), capped: past the cap a connection is answered at once with a 503 in the house
format instead of waiting. Every connection has a socket timeout, so a silent or stalled
client loses only its own thread. HTTP parsing is Werkzeug's request handler, without its
debugger or reloader. Why this and not gunicorn or gevent: see README ("LAN console").
"""

from __future__ import annotations

import json
import logging
import socket
import socketserver
import threading
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler

log = logging.getLogger(__name__)

SOCKET_TIMEOUT = 60.0  # seconds a client may stay silent (websocket pings every 20 s)


class _Handler(WSGIRequestHandler):
    timeout = SOCKET_TIMEOUT
    server_version = "DJAMMS"
    sys_version = ""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        log.debug("%s %s %s", self.address_string(), self.requestline, code)

    def log_error(self, format: str, *args: Any) -> None:  # noqa: A002 - base signature
        log.debug("http: " + format, *args)


TAKEN_OVER = "djamms.socket_taken_over"  # set by a view that took the socket (websocket)


def _without_trailing_response(app: Any) -> Any:
    """After a websocket ends, the socket carries websocket frames: an HTTP response
    written there would reach the browser as a broken frame. Dropping the connection
    quietly is how Werkzeug's handler is told to write nothing."""

    def wrapped(environ: dict[str, Any], start_response: Any) -> Any:
        result = app(environ, start_response)
        if environ.get(TAKEN_OVER):
            if hasattr(result, "close"):
                result.close()
            raise ConnectionAbortedError("websocket finished")
        return result

    return wrapped


def _refusal() -> bytes:
    body = json.dumps(
        {"error": {"code": "busy", "message": "Too many connections; try again shortly."}}
    ).encode()
    head = (
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
        f"Retry-After: 5\r\nConnection: close\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


class ConsoleServer(socketserver.ThreadingMixIn, BaseWSGIServer):
    multithread = True
    daemon_threads = True
    block_on_close = False
    request_queue_size = 512

    def __init__(self, host: str, port: int, app: Any, max_connections: int = 650) -> None:
        listener = socket.create_server((host, port), backlog=512, reuse_port=False)
        self._listener = listener  # keep it alive: the server wraps its descriptor
        wrapped = _without_trailing_response(app)
        super().__init__(host, port, wrapped, handler=_Handler, fd=listener.fileno())
        self.max_connections = max_connections
        self.active = 0
        self.refused = 0
        self._count_lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def bound_port(self) -> int:
        return int(self.socket.getsockname()[1])

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._count_lock:
            full = self.active >= self.max_connections
            if not full:
                self.active += 1
        if full:
            self.refused += 1
            try:
                request.sendall(_refusal())
            except OSError:
                pass
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except Exception:
            self._release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._release()

    def _release(self) -> None:
        with self._count_lock:
            self.active -= 1

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self.serve_forever,
            kwargs={"poll_interval": 0.5},
            name="console-http",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self.server_close()
        self._listener.close()
