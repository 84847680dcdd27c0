"""Past the connection cap a new window is refused at once with a clear 503, and the
windows already open keep their updates."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
import websocket

from tests.integration.web.conftest import Api
from tests.support.server import running_box
from tests.support.wsclient import LiveClient


def test_windows_past_the_cap_get_a_503(tmp_path: Path) -> None:
    with running_box(tmp_path / "data", max_connections=3) as box:
        open_ = [LiveClient(box.url).connect() for _ in range(3)]
        try:
            # A window counts once the hub has taken it, which its first frame shows; a
            # burst faster than that is let in and then closed with 1013 "busy" instead.
            for c in open_:
                assert c.wait_for(lambda fs: len(fs) > 0)
            with pytest.raises(websocket.WebSocketBadStatusException) as exc:
                websocket.create_connection(box.url.replace("http", "ws") + "/ws", timeout=10)
            assert exc.value.status_code == 503
            sse = requests.get(box.url + "/api/events", stream=True, timeout=10)
            assert sse.status_code == 503 and sse.json()["error"]["code"] == "busy"
            assert sse.headers["Retry-After"] == "5"
            staff = Api(box.url).login()
            rev = staff.cmd("/api/ui/command", {"command": "SET_VOLUME", "value": 5}).json()["rev"]
            for c in open_:
                assert c.wait_for(lambda fs: any(f.get("rev") == rev for f in fs))
        finally:
            for c in open_:
                c.close()
