"""A session ends everywhere at once: logout and a PIN change close the session's
websockets (no command applied, no staff-only frame after), an expired session is refused
on every message, and the first-start PIN is neither logged nor left on disk."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import pytest
import websocket

from tests.integration.web.conftest import Api
from tests.integration.web.test_api import assert_house_error, fingerprint
from tests.integration.web.test_security import open_ws
from tests.support.server import running_box
from web.sessions import SessionStore


def frames_until_closed(ws: websocket.WebSocket, within: float = 30.0) -> list[dict]:
    """Every frame the server still sends until it closes the window; fails if the window
    is still open after `within` s (its pings would otherwise keep recv() waiting)."""
    frames = []
    deadline = time.monotonic() + within
    while (left := deadline - time.monotonic()) > 0:
        # shorter than the server's ping interval, or a ping restarts the wait
        ws.settimeout(min(left, 5.0))
        try:
            text = ws.recv()
        except websocket.WebSocketConnectionClosedException:
            return frames
        except websocket.WebSocketTimeoutException:
            continue
        if not text:
            return frames
        frames.append(json.loads(text))
    raise AssertionError(f"the window stayed open; it got {[f.get('type') for f in frames]}")


def test_logout_ends_the_staff_websocket(box, staff: Api, patron: Api, loaded: dict) -> None:
    ws = open_ws(staff)
    assert staff.cmd("/api/auth/logout").status_code == 200
    before = fingerprint(patron)
    try:  # a command sent at once after the logout is never applied
        ws.send(json.dumps({"type": "COMMAND", "commandId": "late", "command": "PLAY_NEXT"}))
    except (websocket.WebSocketException, OSError):
        pass  # already closed by the server: as good
    frames = frames_until_closed(ws)
    assert not [f for f in frames if f.get("type") == "ACK" and f.get("ok")]
    assert fingerprint(patron) == before


def test_a_new_pin_ends_the_users_other_sessions(box, staff: Api, loaded: dict) -> None:
    lost_tablet = Api(box.url).login()
    ws = open_ws(lost_tablet)
    r = staff.cmd("/api/auth/settings", {"setting": "pin", "value": "97531"})
    assert r.status_code == 200, r.text
    frames_until_closed(ws)
    assert_house_error(lost_tablet.cmd("/api/ui/command", {"command": "PAUSE"}), 401)
    assert staff.cmd("/api/ui/command", {"command": "PAUSE"}).status_code == 200


def test_an_expired_session_is_not_alive(tmp_path: Path) -> None:
    now = [1000.0]
    store = SessionStore(None, clock=lambda: now[0])
    sid, session = store.create("u1", "admin")
    assert store.alive(session.sid_hash) and store.get(sid) is not None
    now[0] += 12 * 3600 + 1
    assert not store.alive(session.sid_hash) and store.get(sid) is None


def test_the_first_start_pin_is_not_logged_nor_kept(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = tmp_path / "data"
    caplog.set_level(logging.DEBUG)
    with running_box(data, admin_pin="") as box:
        pin = box.box.first_pin
        assert len(pin) >= 4 and (data / "first-boot-pin").read_text().strip() == pin
        assert pin not in caplog.text
        assert (data / "first-boot-pin").stat().st_mode & 0o077 == 0
        Api(box.url).login(pin)
        assert not (data / "first-boot-pin").exists()
