"""The role is checked before a body is read: a patron's 8 MB to a staff path is refused
unread; a JSON nesting bomb is bad input (400), not a fault (500), over HTTP and the
websocket."""

from __future__ import annotations

import json

from tests.integration.web.conftest import Api
from tests.integration.web.test_api import assert_house_error, fingerprint
from tests.integration.web.test_security import open_ws
from tests.support.rawhttp import Held, answered_early, connect, request_bytes

BOMB = "[" * 30_000 + "]" * 30_000  # under the 64 KB limit


def test_a_patrons_big_body_is_refused_unread(box, patron: Api) -> None:
    held = []
    for _ in range(4):
        head = request_bytes(
            box.port,
            "POST",
            "/api/playlist/manage",
            b"",
            {"Cookie": patron.cookie, "X-CSRF-Token": patron.csrf},
        ).replace(b"Content-Length: 0", b"Content-Length: 8000000")
        sock = connect(box.port)
        sock.sendall(head + b'{"action": "create", "name": "x", "tracks": [')  # and no more
        held.append(Held(sock, b""))
    assert len(answered_early(held, len(held), timeout=30)) == len(held)
    for h in held:
        status, body = h.read()
        assert status == 403 and body["error"]["code"] == "forbidden"


def test_a_nesting_bomb_is_bad_input(box, patron: Api, loaded: dict) -> None:
    before = fingerprint(patron)
    r = patron.post(
        box.url + "/api/queue/add",
        data=BOMB,
        headers={"Content-Type": "application/json", "X-CSRF-Token": patron.csrf},
    )
    assert_house_error(r, 400, "invalid_json")
    ws = open_ws(patron)
    try:
        ws.send(BOMB)
        while (frame := json.loads(ws.recv()))["type"] != "ERROR":
            pass
    finally:
        ws.close()
    assert frame["error"]["code"] == "invalid_json"
    assert fingerprint(patron) == before
