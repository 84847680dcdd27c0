"""Fixtures for the console tests: a box with its console on a real socket, and HTTP
clients that hold a session the way a browser does (cookie + CSRF header)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support.server import STAFF_PIN, RunningBox, start_box

TRACKS = [
    {"video_id": f"vid{i:03d}", "title": title, "artist": artist, "duration": 200 + i}
    for i, (title, artist) in enumerate(
        [
            ("Midnight City", "M83"),
            ("Dreams", "Fleetwood Mac"),
            ("Seven Nation Army", "The White Stripes"),
            ("Get Lucky", "Daft Punk"),
            ("Rolling in the Deep", "Adele"),
            ("Take On Me", "a-ha"),
        ]
    )
]


class Api(requests.Session):
    """A browser-like client: cookie session plus the CSRF header on POSTs."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url
        self.csrf = ""
        self.user_id = ""

    def login(self, pin: str = STAFF_PIN) -> Api:
        r = self.post(self.url + "/api/auth/login", json={"pin": pin})
        assert r.status_code == 200, r.text
        self.csrf = r.json()["csrfToken"]
        self.user_id = r.json()["userId"]
        return self

    def guest(self, name: str = "Ann") -> Api:
        r = self.post(self.url + "/api/auth/guest", json={"name": name})
        assert r.status_code == 200, r.text
        self.csrf = r.json()["csrfToken"]
        self.user_id = r.json()["userId"]
        return self

    def cmd(self, path: str, body: Any = None, **kw: Any) -> requests.Response:
        headers = {"X-CSRF-Token": self.csrf} if self.csrf else {}
        headers.update(kw.pop("headers", {}))
        return self.post(
            self.url + path,
            json=body if body is not None else {},
            headers=headers,
            timeout=20,
            **kw,
        )

    def state(self) -> dict[str, Any]:
        return self.get(self.url + "/api/state", timeout=20).json()

    @property
    def cookie(self) -> str:
        return "djamms_session=" + self.cookies.get("djamms_session", "")


@pytest.fixture
def box(tmp_path: Path) -> Iterator[RunningBox]:
    running = start_box(tmp_path / "data")
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def staff(box: RunningBox) -> Api:
    return Api(box.url).login()


@pytest.fixture
def patron(box: RunningBox) -> Api:
    return Api(box.url).guest()


@pytest.fixture
def loaded(box: RunningBox, staff: Api) -> dict[str, Any]:
    """A venue with a playlist loaded and playing."""
    r = staff.cmd("/api/playlist/manage", {"action": "create", "name": "Friday", "tracks": TRACKS})
    assert r.status_code == 200, r.text
    pid = r.json()["result"]["playlist"]["playlist_id"]
    r = staff.cmd("/api/playlist/manage", {"action": "load", "playlistId": pid})
    assert r.status_code == 200, r.text
    # the player's own report (TrackStarted) changes the state too: wait for it, so a
    # test's before/after comparison sees only what the test did
    deadline = time.monotonic() + 30
    while True:
        state = staff.state()
        np = state["venue"]["now_playing"]
        assert np is not None
        if np["state"] == "playing" or time.monotonic() > deadline:
            break
        time.sleep(0.02)  # the report comes on the player's thread; nothing to wait on here
    assert np["state"] == "playing"
    return {"playlist_id": pid, "venue_id": state["venue"]["venue_id"]}
