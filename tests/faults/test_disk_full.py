"""The disk under the data dir fills up while the box plays (a small tmpfs mounted by
the test, filled to the last byte). The box keeps playing and says so: commands answer
507 `storage_failed` at once (never a 500, never a hang), the consoles get a
SYSTEM_STATUS, `djamms doctor` fails the disk check. Once space is back, what is
acknowledged is durable again: it survives a `kill -9`."""

from __future__ import annotations

import errno
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.boxproc import REPO, ApiClient, BoxProcess, LiveSocket
from tests.faults.conftest import media_box
from tests.support.tmpfs import small_tmpfs


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    with small_tmpfs(tmp_path / "disk", "6m") as mount:
        yield mount


def fill(disk: Path) -> Path:
    """Write until the filesystem says ENOSPC, down to single bytes."""
    filler = disk / "filler"
    with open(filler, "wb", buffering=0) as f:
        for size in (1 << 16, 4096, 1):
            while True:
                try:
                    f.write(b"\0" * size)
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC, exc
                    break
    return filler


def next_track(sock: LiveSocket, after: str | None, timeout: float = 60) -> str:
    while True:
        np = sock.next_of("NOW_PLAYING_UPDATE", timeout)["payload"]["now_playing"]
        if np and np["play_id"] != after:
            return str(np["play_id"])


def statuses(sock: LiveSocket, want: str, timeout: float = 30) -> dict:
    return sock.next_of("SYSTEM_STATUS", timeout, payload=sock_payload_match(want))


def sock_payload_match(status: str) -> object:
    class Match:
        def __eq__(self, other: object) -> bool:
            return isinstance(other, dict) and other.get("status") == status

    return Match()


def doctor_disk(box: BoxProcess) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "appliance", "doctor", "--json", "--data-dir", str(box.data_dir)],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    return next(v for v in json.loads(out.stdout) if v["check"] == "disk")


def test_disk_full_keeps_playing_and_says_so(
    tmp_path: Path, small_disk: Path, short_tracks: list[Path]
) -> None:
    box = media_box(tmp_path / "box", short_tracks, data_dir=small_disk / "data")
    box.start()
    try:
        staff = ApiClient.staff(box.url)
        sock = staff.websocket()
        playing = next_track(sock, None)
        filler = fill(small_disk)

        for value in range(100):  # the journal's last page may still hold a few lines
            status, body = staff.post("/api/ui/command", {"command": "SET_VOLUME", "value": value})
            if status != 200:
                break
        assert status == 507, body
        assert body["error"]["code"] == "storage_failed"
        statuses(sock, "storage_failed")
        status, body = staff.post("/api/queue/add", {"videoId": "local-none", "title": "t"})
        assert status in (404, 507), body  # refused or unsaved, never a 500
        for _ in range(2):  # the music goes on
            playing = next_track(sock, playing)
        assert box.alive()
        assert doctor_disk(box)["status"] == "fail"

        filler.unlink()
        status, body = staff.post("/api/ui/command", {"command": "SET_VOLUME", "value": 44})
        assert status == 200, body
        statuses(sock, "storage_ok")
        sock.close()
        box.kill9()
        box.start()
        state = box.state()
        assert state["venue"]["player_settings"]["master_volume"] == 44, "lost after disk full"
        sock = staff.websocket()
        next_track(sock, state["venue"]["now_playing"]["play_id"])
        sock.close()
        assert "Traceback" not in box.tail(10**7), box.tail()
    finally:
        box.stop()
