"""The box's wall clock jumps forward and back under the whole appliance (libfaketime
preloaded into the box process, its offset changed while it runs; monotonic time is
left alone, as on a real box where NTP steps the wall clock).

Forward into a scheduled event: the scheduler applies it (volume) within a few ticks,
and the tracks keep changing. Back by an hour with the external player gone silent at
that moment: the heartbeat audit still notices within its timeout, not an hour later.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.faults.boxproc import ApiClient, BoxProcess, LiveSocket
from tests.faults.conftest import media_box

LIBFAKETIME = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1")
CONFIG = """
demo_media = false
[web]
mdns = false
[scheduler]
tick_seconds = 1
heartbeat_timeout = 6
"""


class FakeClock:
    """The offset file libfaketime reads on every clock call."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.set("+0")

    def set(self, offset: str) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(offset + "\n")
        tmp.replace(self.path)

    @property
    def env(self) -> dict[str, str]:
        return {
            "LD_PRELOAD": str(LIBFAKETIME),
            "FAKETIME_TIMESTAMP_FILE": str(self.path),
            "FAKETIME_NO_CACHE": "1",
            "FAKETIME_DONT_FAKE_MONOTONIC": "1",
            "FAKETIME_DONT_RESET": "1",
        }


@pytest.fixture
def clock(tmp_path: Path) -> FakeClock:
    assert LIBFAKETIME.exists(), "apt package faketime (Makefile TEST_APT)"
    return FakeClock(tmp_path / "faketime")


@pytest.fixture
def box(tmp_path: Path, short_tracks: list[Path], clock: FakeClock) -> Iterator[BoxProcess]:
    box = media_box(tmp_path / "box", short_tracks, config=CONFIG, env=clock.env)
    box.start()
    try:
        yield box
    finally:
        box.stop()


class WebPlayer(threading.Thread):
    """An external player window: a heartbeat every half second until stopped."""

    def __init__(self, staff: ApiClient) -> None:
        super().__init__(daemon=True, name="web-player")
        self.staff = staff
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.wait(0.5):
            self.staff.post("/api/player/heartbeat", {"playerId": "screen"})


def wait_frame(sock: LiveSocket, kind: str, test, timeout: float) -> dict:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while True:
        frame = sock.next_of(kind, max(0.1, deadline - time.monotonic()))
        if test(frame["payload"]):
            return frame


def new_track(sock: LiveSocket, timeout: float = 60) -> str:
    first = wait_frame(sock, "NOW_PLAYING_UPDATE", lambda p: p.get("now_playing"), timeout)
    play_id = first["payload"]["now_playing"]["play_id"]
    wait_frame(
        sock, "NOW_PLAYING_UPDATE",
        lambda p: p.get("now_playing") and p["now_playing"]["play_id"] != play_id, timeout,
    )  # fmt: skip
    return play_id


def test_clock_jumps_forward_into_a_schedule_and_back(box: BoxProcess, clock: FakeClock) -> None:
    staff = ApiClient.staff(box.url)
    sock = staff.websocket()
    start = datetime.now(UTC) + timedelta(hours=2)
    event = {
        "id": "late", "action": "volume", "volume": 23,
        "start": start.strftime("%Y-%m-%dT%H:%M"),
        "end": (start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
    }  # fmt: skip
    status, body = staff.post(
        "/api/schedule/update", {"scheduleData": {"timezone": "UTC", "events": [event]}}
    )
    assert status == 200, body
    player = WebPlayer(staff)
    player.start()
    try:
        new_track(sock)
        clock.set("+3h")  # forward, into the event
        wait_frame(
            sock,
            "PLAYER_SETTINGS_UPDATE",
            lambda p: p["player_settings"]["master_volume"] == 23,
            30,
        )
        new_track(sock)  # the tracks keep changing
        player.halt.set()  # the player dies just as the clock is set back an hour
        player.join(10)
        clock.set("-1h")
        wait_frame(sock, "PLAYER_DISCONNECTED", lambda p: True, 30)
        new_track(sock)
    finally:
        player.halt.set()
        sock.close()
    assert box.alive() and "Traceback" not in box.tail(10**7), box.tail()
