"""`kill -9` of the whole appliance at random moments while several clients send
commands over HTTP and websockets and tracks change every few seconds. After every
restart: the data loads, every acknowledged command is in the durable record (a retry
with its commandId is answered with the first rev, not applied again), created
playlists exist, the volume is the last acknowledged one (or the one in flight), and
playback resumes.

`make test` runs a short series (DJAMMS_KILL_CYCLES, default 8: a restart costs ~4 s of
interpreter start-up on this machine); `make soak` runs the full 100.
"""

from __future__ import annotations

import os
import random
import threading
import time
from pathlib import Path

import pytest

from tests.faults.boxproc import ApiClient, BoxProcess
from tests.faults.conftest import media_box
from tests.faults.load import Ledger, LoadWorker, VolumeWorker


def library_ids(box: BoxProcess, staff: ApiClient) -> list[str]:
    """The local library's ids, once its first scan seeded the default playlist."""
    deadline = time.monotonic() + 60
    while not (pid := box.state()["venue"]["default_playlist_id"]):
        assert time.monotonic() < deadline, "the library never seeded a default playlist"
        time.sleep(0.1)  # the scan runs on its own thread; nothing to wait on over HTTP
    status, body = staff.get("/api/playlist", playlistId=pid)
    assert status == 200, body
    ids = [t["video_id"] for t in body["playlist"]["tracks"]]
    assert ids, "the library seeded no default playlist"
    return ids


class Venue:
    """The clients of one venue; their sessions must survive every restart."""

    def __init__(self, box: BoxProcess) -> None:
        self.staff = ApiClient.staff(box.url, "127.0.0.2")
        self.ws_staff = [ApiClient.staff(box.url, f"127.0.0.{i}") for i in (3, 4)]
        self.knob = ApiClient.staff(box.url, "127.0.0.5")
        self.patrons = [ApiClient.guest(box.url, f"p{i}", f"127.0.0.{6 + i}") for i in range(2)]
        self.video_ids = library_ids(box, self.staff)

    def workers(self, ledger: Ledger, stop: threading.Event, seed: int) -> list[threading.Thread]:
        rng = random.Random(seed)
        out: list[threading.Thread] = [
            LoadWorker(self.staff, ledger, stop, random.Random(rng.random()), self.video_ids)
        ]
        out += [
            LoadWorker(c, ledger, stop, random.Random(rng.random()), self.video_ids, via_ws=True)
            for c in self.ws_staff
        ]
        out += [
            LoadWorker(c, ledger, stop, random.Random(rng.random()), self.video_ids, patron=True)
            for c in self.patrons
        ]
        out.append(VolumeWorker(self.knob, ledger, stop))
        return out


def check_restarted(box: BoxProcess, venue: Venue, ledger: Ledger) -> None:
    state = box.state()
    assert state["venue"] is not None, "the venue did not load"
    assert not ledger.errors, ledger.errors[:5]
    top = max((a.rev for a in ledger.acks), default=0)
    assert state["rev"] >= top, f"rev went back: {state['rev']} < acknowledged {top}"
    names = {p["playlist_id"] for p in state["playlists"]}
    for ack in ledger.acks:
        if ack.path == "/api/playlist/manage":
            assert ack.result["playlist"]["playlist_id"] in names, f"lost playlist {ack.body}"
    if ledger.volume_acked is not None:
        volume = state["venue"]["player_settings"]["master_volume"]
        allowed = {ledger.volume_acked, *ledger.volume_in_flight}
        assert volume in allowed, f"volume {volume}, acknowledged {allowed}"
    for ack in ledger.acks:  # the durable record holds each one exactly once
        status, answer = ack.client.post(ack.path, ack.body)
        assert status == 200, f"retry of acknowledged {ack.path} {ack.body}: {status} {answer}"
        assert answer["rev"] == ack.rev, (
            f"acknowledged {ack.path} {ack.body} at rev {ack.rev} was applied again "
            f"at rev {answer['rev']} after the restart (lost from the record)"
        )


def check_playing(venue: Venue) -> None:
    sock = venue.staff.websocket(timeout=30)
    try:
        snap = sock.snapshot["payload"]["venue"]
        assert snap["transport"] == "playing", snap["transport"]
        first = (snap["now_playing"] or {}).get("play_id")
        while True:  # the next track starts: the player runs again
            frame = sock.next_of("NOW_PLAYING_UPDATE", 60)
            np = frame["payload"]["now_playing"]
            if np and np["play_id"] != first:
                return
    finally:
        sock.close()


def kill_series(box: BoxProcess, cycles: int, seed: int) -> dict[str, int]:
    rng = random.Random(seed)
    box.start()
    venue = Venue(box)
    totals = {"cycles": 0, "acked": 0, "sent": 0}
    for cycle in range(cycles):
        ledger, stop = Ledger(), threading.Event()
        workers = venue.workers(ledger, stop, rng.randrange(2**32))
        for w in workers:
            w.start()
        # the random moment: mostly mid-load, sometimes right after the box came up
        stop.wait(rng.uniform(0.0, 0.3) if cycle % 5 == 4 else rng.uniform(0.3, 3.0))
        box.kill9()
        stop.set()
        for w in workers:
            w.join(30)
            assert not w.is_alive(), f"{w.name} hung after the kill"
        box.start()
        check_restarted(box, venue, ledger)
        check_playing(venue)
        totals["cycles"] += 1
        totals["acked"] += len(ledger.acks)
        totals["sent"] += sum(getattr(w, "sent", 0) for w in workers)
    assert totals["acked"] > cycles, f"the load hardly ran: {totals}"
    assert "Traceback" not in box.tail(10**7), box.tail()
    return totals


def _cycles(default: int) -> int:
    return int(os.environ.get("DJAMMS_KILL_CYCLES", default))


def test_kill9_under_load_short(tmp_path: Path, short_tracks: list[Path]) -> None:
    box = media_box(tmp_path / "box", short_tracks)
    try:
        totals = kill_series(box, _cycles(8), seed=int(os.environ.get("DJAMMS_SEED", "9")))
    finally:
        box.stop()
    print("kill -9 series:", totals)


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_kill9_under_load_100(tmp_path: Path, short_tracks: list[Path]) -> None:
    box = media_box(tmp_path / "box", short_tracks)
    try:
        totals = kill_series(box, 100, seed=int(os.environ.get("DJAMMS_SEED", "1009")))
    finally:
        box.stop()
    print("kill -9 series:", totals)
