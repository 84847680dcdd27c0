"""`ConsoleServer`: the console's HTTP/websocket server, in the box's own process.

A thread per connection (websockets and SSE hold theirs for as long as the window is
open), capped per client address and in all: past a cap a connection is answered at once
with a 503 in the house format instead of waiting. When full, the address holding the most
connections gives up one with no request under way (a header that never ends) to a
newcomer holding fewer, and a reserve past the cap serves staff only. Every connection has
a socket timeout, so a silent or stalled client loses only its own thread. HTTP parsing is
Werkzeug's request handler, without its debugger or reloader. Why this and not gunicorn or
gevent: see README ("LAN console").
"""

from __future__ import annotations

import json
import logging
import socket
import socketserver
import threading
import time
from collections.abc import Callable
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler
from werkzeug.wsgi import ClosingIterator

log = logging.getLogger(__name__)

SOCKET_TIMEOUT = 60.0  # seconds a client may stay silent (websocket pings every 20 s)


class _Handler(WSGIRequestHandler):
    timeout = SOCKET_TIMEOUT
    server_version = "DJAMMS"
    sys_version = ""

    def setup(self) -> None:
        super().setup()
        # a window gets two small writes in a row (an event from the hub thread, then its
        # ACK): with Nagle on, the second waits for the phone's delayed ACK, 40 ms
        try:
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass

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


def _budgeted(app: Any, server: ConsoleServer) -> Any:
    """Marks a connection busy while it serves a request (idle again once the answer is
    written), and lets a connection from the staff reserve serve only what the server's
    `admits_reserved` approves (a staff session or device token)."""

    def wrapped(environ: dict[str, Any], start_response: Any) -> Any:
        sock = environ.get("werkzeug.socket")
        if sock is None:
            return app(environ, start_response)
        server.busy(sock)
        if sock in server.reserved and server.admits_reserved is not None:
            if not server.admits_reserved(environ):
                body = _refusal().split(b"\r\n\r\n", 1)[1]
                start_response(
                    "503 Service Unavailable",
                    [("Content-Type", "application/json"), ("Retry-After", "5"),
                     ("Connection", "close"), ("Content-Length", str(len(body)))],
                )  # fmt: skip
                return [body]
        return ClosingIterator(app(environ, start_response), [lambda: server.idle(sock)])

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
    """Connection budgets, counted before any byte is read: `per_address` connections per
    client address (0: no cap), `max_connections` in all, and `reserve` more that only
    requests `admits_reserved(environ)` approves (staff) may use, so strangers holding
    every place they can never keep staff out."""

    multithread = True
    daemon_threads = True
    block_on_close = False
    request_queue_size = 512

    def __init__(
        self,
        host: str,
        port: int,
        app: Any,
        max_connections: int = 650,
        *,
        per_address: int = 0,
        reserve: int = 0,
        admits_reserved: Callable[[dict[str, Any]], bool] | None = None,
    ) -> None:
        listener = socket.create_server((host, port), backlog=512, reuse_port=False)
        self._listener = listener  # keep it alive: the server wraps its descriptor
        wrapped = _without_trailing_response(_budgeted(app, self))
        super().__init__(host, port, wrapped, handler=_Handler, fd=listener.fileno())
        self.max_connections = max_connections
        self.per_address = per_address
        self.reserve = reserve if admits_reserved is not None else 0
        self.admits_reserved = admits_reserved
        self.active = 0
        self.refused = 0
        self._by_address: dict[str, int] = {}
        self.reserved: set[Any] = set()  # sockets admitted into the staff reserve
        # admitted sockets not in a request: since when, and from which address
        self._idle: dict[Any, tuple[float, str]] = {}
        self._live: dict[Any, str] = {}  # admitted sockets and their addresses
        self.evicted = 0
        self._count_lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def _admit(self, request: Any, address: str) -> bool:
        with self._count_lock:
            held = self._by_address.get(address, 0)
            if self.per_address and held >= self.per_address:
                return False
            if self.active >= self.max_connections:
                evicted = self._evict_idle(held + 1)
                if evicted is None and self.active >= self.max_connections + self.reserve:
                    return False
                if evicted is None or evicted in self.reserved:  # it takes a reserve place
                    self.reserved.add(request)
            self.active += 1
            self._by_address[address] = held + 1
            self._idle[request] = (time.monotonic(), address)
            self._live[request] = address
            return True

    def _evict_idle(self, newcomer_holds: int) -> Any:
        """Full: the address holding the most connections gives up its longest-idle one
        (no request under way: a header that never ends), if it holds more than the
        newcomer's address would; its thread gives the place back as it ends. A patron
        with many sockets makes way for a phone with one; two equals never evict each
        other. The socket evicted, or None. Lock held."""
        best: tuple[int, float, Any] | None = None
        for sock, (since, address) in self._idle.items():
            holds = self._by_address.get(address, 0)
            if holds > newcomer_holds and (best is None or (holds, -since) > best[:2]):
                best = (holds, -since, sock)
        if best is None:
            return None
        sock = best[2]
        del self._idle[sock]
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.evicted += 1
        return sock

    def busy(self, sock: Any) -> None:
        with self._count_lock:
            self._idle.pop(sock, None)

    def idle(self, sock: Any) -> None:
        with self._count_lock:
            if sock in self._live:
                self._idle[sock] = (time.monotonic(), self._live[sock])

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._admit(request, client_address[0]):
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
            self._release(request, client_address)
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._release(request, client_address)

    def _release(self, request: Any, client_address: Any) -> None:
        address = client_address[0]
        with self._count_lock:
            self.active -= 1
            self.reserved.discard(request)
            self._idle.pop(request, None)
            self._live.pop(request, None)
            left = self._by_address.get(address, 1) - 1
            if left > 0:
                self._by_address[address] = left
            else:
                self._by_address.pop(address, None)

    @property
    def bound_port(self) -> int:
        return int(self.socket.getsockname()[1])

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
