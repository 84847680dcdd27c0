"""The media server misbehaves for a share of tracks, and the network goes away in the
middle of a download, while the whole box plays with real mpv (null outputs).

- 403, 404 and truncated answers: those tracks are flagged unplayable and skipped
  before their turn; every good track plays; the box never stalls.
- The server stops while a download is in flight (the connection hangs, then drops): the
  box keeps playing what it has; once the server is back the track downloads and plays.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.boxproc import ApiClient, BoxProcess, LiveSocket
from tests.support.media import MediaServer, make_track

CONFIG = """
demo_media = false
[web]
mdns = false
[library]
attempts = 2
backoff = 0.2
socket_timeout = 3
[player]
stall_timeout = 4
"""
FAULTS = {"t1.wav": "404", "t3.wav": "403", "t5.wav": "truncate"}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MediaServer]:
    root = tmp_path_factory.mktemp("served")
    for i in range(8):
        make_track(root / f"t{i}.wav", freq=300 + 50 * i, seconds=3, title=f"Served {i}")
    with MediaServer(root) as server:
        yield server


@pytest.fixture
def mpv_box(tmp_path: Path) -> Iterator[BoxProcess]:
    box = BoxProcess(
        tmp_path / "box", player="mpv", config=CONFIG, args=("--audio", "null", "--video", "null")
    )
    box.start()
    try:
        yield box
    finally:
        box.stop()


def played_until(sock: LiveSocket, want: set[str], timeout: float, rounds: int = 1) -> list[str]:
    """Video ids that reached the screen as playing, in order, until each of `want` did
    `rounds` times."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while any(seen.count(v) < rounds for v in want):
        left = deadline - time.monotonic()
        assert left > 0, f"played {seen}, still waiting for {want - set(seen)}"
        frame = sock.next_of("NOW_PLAYING_UPDATE", left)
        np = frame["payload"]["now_playing"]
        if np and np.get("state") == "playing" and (not seen or seen[-1] != np["video_id"]):
            seen.append(np["video_id"])
    return seen


def test_403_404_truncated_tracks_are_skipped_and_good_ones_play(
    mpv_box: BoxProcess, served: MediaServer
) -> None:
    served.faults.update(FAULTS)
    try:
        staff = ApiClient.staff(mpv_box.url)
        sock = staff.websocket()
        urls = [served.url(f"t{i}.wav") for i in range(6)]
        for url in urls:
            status, body = staff.post("/api/queue/add", {"videoId": url, "duration": 3})
            assert status == 200, body
        staff.post("/api/ui/command", {"command": "PLAY"})
        good = {served.url(n) for n in ("t0.wav", "t2.wav", "t4.wav")}
        bad = {served.url(n) for n in FAULTS}
        # twice round the queue (repeat all): every broken track has had its turn
        seen = played_until(sock, good, timeout=240, rounds=2)
        assert not bad & set(seen), f"a broken track reached the speakers: {seen}"
        status, queue = staff.get("/api/queue", limit=50)
        flagged = {i["video_id"] for i in queue["active_queue"] if i.get("unplayable")}
        assert bad <= flagged, f"broken tracks not flagged: {bad - flagged}"
        assert mpv_box.alive() and "Traceback" not in mpv_box.tail(10**7), mpv_box.tail()
    finally:
        served.faults.clear()


def test_network_gone_mid_download_then_back(mpv_box: BoxProcess, served: MediaServer) -> None:
    staff = ApiClient.staff(mpv_box.url)
    sock = staff.websocket()
    first = served.url("t6.wav")
    late = served.url("t7.wav")
    assert staff.post("/api/queue/add", {"videoId": first, "duration": 3})[0] == 200
    staff.post("/api/ui/command", {"command": "PLAY"})
    played_until(sock, {first}, timeout=120)  # cached now: playable without the network
    served.fault("t7.wav", "hang")
    asked = len(served.requests)
    assert staff.post("/api/queue/add", {"videoId": late, "duration": 3})[0] == 200
    deadline = time.monotonic() + 60
    while "t7.wav" not in served.requests[asked:]:  # the download is in flight
        assert time.monotonic() < deadline, "the box never asked for t7"
        time.sleep(0.05)  # the request arrives on the server's own thread
    served.stop()  # the network goes: the hanging connection drops
    served.faults.clear()
    seen = played_until(sock, {first}, timeout=60)  # the cached track plays on, offline
    assert first in seen
    served.start()  # same port: the network is back
    played_until(sock, {late}, timeout=180)
    assert mpv_box.alive() and "Traceback" not in mpv_box.tail(10**7), mpv_box.tail()
