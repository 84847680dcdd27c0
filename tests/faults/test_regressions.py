"""Faults the fuzzer and the fault runs found, each pinned by the smallest test that
failed before its fix (the box in this process, its console on a real socket)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.faults.boxproc import ApiClient
from tests.support.server import RunningBox, running_box


@pytest.fixture
def box(tmp_path: Path) -> Iterator[RunningBox]:
    with running_box(tmp_path / "data") as running:
        yield running


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_non_finite_numbers_are_refused_not_500(box: RunningBox, token: str) -> None:
    staff = ApiClient.staff(box.url)
    resp = staff.http.post(
        box.url + "/api/queue/add",
        data=f'{{"videoId": "x", "expectedRev": {token}}}',
        headers={"X-CSRF-Token": staff.csrf, "Content-Type": "application/json"},
        timeout=30,
    )
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"]["code"] == "invalid_json"
    sock = staff.websocket()
    try:
        sock.ws.send(
            f'{{"type": "COMMAND", "commandId": "c1", "command": "SEEK", "value": {token}}}'
        )
        reply = sock.next_of("ERROR", 30)
        assert reply["error"]["code"] == "invalid_json"
    finally:
        sock.close()
    venue = requests.get(box.url + "/api/state", timeout=10).json()["venue"]
    queued = [i["video_id"] for i in venue["active_queue"] + venue["priority_queue"]]
    assert "x" not in queued and venue["now_playing"] is None  # nothing was applied
