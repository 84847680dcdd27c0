"""Roles and security: a patron never reaches a staff action (HTTP or websocket), CSRF and
Origin checks, the PIN lockout, cookie flags, and log lines kept from patrons."""

from __future__ import annotations

import json

import pytest
import websocket

from tests.integration.web.conftest import Api
from tests.integration.web.test_api import assert_house_error, fingerprint
from tests.support.server import STAFF_PIN

STAFF_ACTIONS = [
    ("/api/ui/command", {"command": "PLAY_NEXT"}),
    ("/api/ui/command", {"command": "EMERGENCY_STOP"}),
    ("/api/ui/command", {"command": "SET_VOLUME", "value": 100}),
    ("/api/settings/update", {"setting": "master_volume", "value": 100}),
    ("/api/queue/move", {"queueItemId": "q1", "toIndex": 0}),
    ("/api/queue/clear", {}),
    ("/api/playlist/manage", {"action": "create", "name": "mine", "tracks": []}),
    ("/api/player/status", {"state": "paused"}),
    ("/api/player/ready", {"playerId": "x"}),
    ("/api/player/heartbeat", {"currentTime": 1}),
    ("/api/player/error", {"errorCode": "x"}),
    ("/api/auth/settings", {"setting": "moderator", "value": {"username": "me", "pin": "1111"}}),
]


def ws_url(api: Api) -> str:
    return api.url.replace("http://", "ws://") + "/ws"


def open_ws(api: Api, **kw) -> websocket.WebSocket:
    ws = websocket.create_connection(ws_url(api), cookie=api.cookie, timeout=20, **kw)
    first = json.loads(ws.recv())
    assert first["type"] == "SNAPSHOT"
    return ws


@pytest.mark.parametrize(("path", "body"), STAFF_ACTIONS)
def test_patron_cannot_reach_staff_actions_over_http(
    patron: Api, loaded: dict, path: str, body: dict
) -> None:
    before = fingerprint(patron)
    assert_house_error(patron.cmd(path, body), 403, "forbidden")
    assert fingerprint(patron) == before


def test_anonymous_visitors_get_401(box, loaded: dict) -> None:
    anon = Api(box.url)
    before = fingerprint(anon)
    for path, body in [*STAFF_ACTIONS, ("/api/queue/add", {"videoId": "vid001"})]:
        assert_house_error(anon.cmd(path, body), 401, "unauthorized")
    assert fingerprint(anon) == before


def test_patron_cannot_reach_staff_actions_over_the_websocket(patron: Api, loaded: dict) -> None:
    before = fingerprint(patron)
    ws = open_ws(patron)
    try:
        sent = [p for p in STAFF_ACTIONS if p[0] != "/api/auth/settings"]
        for i, (path, body) in enumerate(sent):
            ws.send(
                json.dumps({"type": "COMMAND", "commandId": f"c{i}", "path": path, "body": body})
            )
        ws.send(json.dumps({"type": "COMMAND", "commandId": "short", "command": "PLAY_NEXT"}))
        acks = {}
        while len(acks) < len(sent) + 1:
            frame = json.loads(ws.recv())
            if frame["type"] == "ACK":
                acks[frame["commandId"]] = frame
    finally:
        ws.close()
    assert all(a["ok"] is False and a["status"] == 403 for a in acks.values()), acks
    assert fingerprint(patron) == before


def test_patron_cannot_remove_someone_elses_request(box, loaded: dict) -> None:
    ann, bob = Api(box.url).guest("Ann"), Api(box.url).guest("Bob")
    item = ann.cmd("/api/queue/add", {"videoId": "vid003"}).json()["result"]["item"]
    assert_house_error(bob.cmd("/api/queue/remove", {"queueItemId": item["id"]}), 403)
    assert ann.cmd("/api/queue/remove", {"queueItemId": item["id"]}).status_code == 200


def test_csrf_token_is_required_on_cookie_posts(staff: Api, loaded: dict) -> None:
    before = fingerprint(staff)
    url = staff.url + "/api/ui/command"
    assert_house_error(staff.post(url, json={"command": "PAUSE"}), 403, "csrf")
    wrong = staff.post(url, json={"command": "PAUSE"}, headers={"X-CSRF-Token": "nope"})
    assert_house_error(wrong, 403, "csrf")
    assert fingerprint(staff) == before


def test_foreign_origin_is_refused(staff: Api, loaded: dict) -> None:
    r = staff.cmd(
        "/api/ui/command", {"command": "PAUSE"}, headers={"Origin": "http://evil.example"}
    )
    assert_house_error(r, 403, "bad_origin")
    with pytest.raises(websocket.WebSocketBadStatusException) as exc:
        websocket.create_connection(
            ws_url(staff), cookie=staff.cookie, timeout=10, origin="http://evil.example"
        )
    assert exc.value.status_code == 403
    ok = open_ws(staff, origin=staff.url)  # the console's own origin is fine
    ok.close()


def test_pin_brute_force_is_locked_out(box) -> None:
    api = Api(box.url)
    codes = [
        api.post(box.url + "/api/auth/login", json={"pin": f"{n:04d}"}).status_code
        for n in range(5)
    ]
    assert codes == [401] * 5
    locked = api.post(box.url + "/api/auth/login", json={"pin": STAFF_PIN})
    assert_house_error(locked, 429, "locked_out")
    assert locked.json()["error"]["retryAfter"] > 0
    assert "djamms_session" not in api.cookies


def test_session_cookie_flags(box) -> None:
    r = Api(box.url).post(box.url + "/api/auth/login", json={"pin": STAFF_PIN})
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie


def test_logout_ends_the_session(staff: Api) -> None:
    assert staff.cmd("/api/auth/logout").status_code == 200
    assert_house_error(staff.cmd("/api/ui/command", {"command": "PAUSE"}), 401)


def test_log_lines_reach_staff_only(box, staff: Api, patron: Api, loaded: dict) -> None:
    staff_ws, patron_ws = open_ws(staff), open_ws(patron)
    try:
        assert staff.cmd("/api/ui/command", {"command": "SET_VOLUME", "value": 9}).ok
        marker = staff.cmd("/api/ui/command", {"command": "SET_VOLUME", "value": 10}).json()["rev"]

        def types_until(ws: websocket.WebSocket) -> list[str]:
            seen = []
            while True:
                f = json.loads(ws.recv())
                seen.append(f["type"])
                if f.get("rev") == marker and f["type"] == "PLAYER_SETTINGS_UPDATE":
                    return seen

        assert "LOG_ENTRY" not in types_until(patron_ws)
        assert "LOG_ENTRY" in types_until(staff_ws)
    finally:
        staff_ws.close()
        patron_ws.close()
