"""No one takes every connection: each address has its own budget, a connection with no
request under way makes way for a new one when the box is full, and past the general
budget a reserve serves staff only, so staff always get in."""

from __future__ import annotations

import json
from pathlib import Path

import requests
import websocket

from tests.integration.web.conftest import Api
from tests.support.rawhttp import Held, answered_early, connect, request_bytes
from tests.support.server import running_box
from web.adapter import THREAD_HEADROOM

CAP = 40  # windows; the server takes CAP + THREAD_HEADROOM connections, then a reserve
PER_ADDRESS = 20
WEB = {"per_address": PER_ADDRESS}


def open_window(port: int, source: str, cookie: str = "") -> websocket.WebSocket | None:
    """A websocket from `source`, or None when refused (503 or closed as busy)."""
    try:
        ws = websocket.create_connection(
            f"ws://127.0.0.1:{port}/ws", cookie=cookie, timeout=20, socket=connect(port, source)
        )
        first = json.loads(ws.recv())
    except (websocket.WebSocketException, ConnectionError):
        return None
    return ws if first["type"] == "SNAPSHOT" else None


def slow_body(port: int, source: str, guest: Api) -> Held:
    """A patron's request whose body never ends: it holds its connection, in a request."""
    head = request_bytes(port, "POST", "/api/queue/add", b"", {
        "Cookie": guest.cookie, "X-CSRF-Token": guest.csrf, "Content-Type": "application/json",
    }).replace(b"Content-Length: 0", b"Content-Length: 1000")  # fmt: skip
    sock = connect(port, source)
    sock.sendall(head + b'{"videoId": ')
    return Held(sock, b"")


def guest_from(url: str, port: int, source: str) -> Api:
    api = Api(url)
    api.mount("http://", _SourceAdapter(source))
    return api.guest()


class _SourceAdapter(requests.adapters.HTTPAdapter):
    def __init__(self, source: str) -> None:
        self.source = source
        super().__init__()

    def init_poolmanager(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        kwargs["source_address"] = (self.source, 0)
        super().init_poolmanager(*args, **kwargs)


def test_one_address_cannot_keep_staff_out(tmp_path: Path) -> None:
    with running_box(tmp_path / "data", max_connections=CAP, web=WEB) as box:
        staff = Api(box.url).login()
        staff.close()  # no kept-alive socket: the reserve must be what lets staff in
        windows: list[websocket.WebSocket] = []
        slow: list[Held] = []
        try:
            # patrons open every window they can, 20 from one address at most
            by_address = {}
            for n in range(2, 5):
                source = f"127.0.0.{n}"
                got = [w for _ in range(PER_ADDRESS + 5) if (w := open_window(box.port, source))]
                windows += got
                by_address[source] = len(got)
            assert by_address["127.0.0.2"] == PER_ADDRESS
            assert len(windows) == CAP - CAP // 10  # the rest of the windows are for staff
            # then hold every request they can, bodies never finished
            guests = {n: guest_from(box.url, box.port, f"127.0.0.{n}") for n in range(5, 12)}
            for n, guest in guests.items():
                guest.close()
                slow += [slow_body(box.port, f"127.0.0.{n}", guest) for _ in range(PER_ADDRESS + 5)]
            general = CAP + THREAD_HEADROOM - len(windows)
            refused = answered_early(slow, len(slow) - general, timeout=30)
            assert len(refused) == len(slow) - general
            # refused (503), or closed unanswered when a fuller address made way
            assert {h.read()[0] for h in refused} <= {503, 0}
            # a stranger is refused; staff are not: a command and a window of their own
            r = requests.get(box.url + "/api/state", timeout=20)
            assert r.status_code == 503 and r.json()["error"]["code"] == "busy"
            r = staff.cmd("/api/ui/command", {"command": "SET_VOLUME", "value": 7})
            assert r.status_code == 200, r.text
            mine = open_window(box.port, "127.0.0.1", staff.cookie)
            assert mine is not None
            mine.close()
        finally:
            for w in windows:
                w.close()
            for h in slow:
                h.sock.close()


def test_the_biggest_holder_makes_way(tmp_path: Path) -> None:
    with running_box(tmp_path / "data", max_connections=CAP, web=WEB) as box:
        held: list[Held] = []
        try:
            for n in range(2, 12):  # headers that never end, as many as are let in
                for _ in range(PER_ADDRESS):
                    sock = connect(box.port, f"127.0.0.{n}")
                    sock.sendall(b"GET /api/state HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                    held.append(Held(sock, b""))
            for _ in range(3):
                assert requests.get(box.url + "/api/state", timeout=20).status_code == 200
        finally:
            for h in held:
                h.sock.close()
