"""Soak: the box process with 50 clients (40 patrons, 10 staff) sending a realistic mix
(requests, likes, skip votes, volume, skips, reads) while tracks change every 3-4.5 s.
Reports RSS growth, threads, open files and event latency over time as bench lines.

`make soak` runs DJAMMS_SOAK_SECONDS (default 900: the caches are full by 10 minutes)
and writes bench/out/soak.jsonl for the report; `make test` runs 30 s and only prints its
figures. Assertions hold the box to
what cannot depend on the machine's speed: no 5xx, tracks keep changing, and the threads
and open files the clients used are given back once they leave."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.faults.boxproc import REPO, ApiClient, BoxProcess
from tests.faults.conftest import media_box
from tests.faults.soak import run_soak, summary
from tests.faults.test_kill9 import library_ids


def soak(box: BoxProcess, seconds: float, out: Path) -> None:
    box.start()
    ids = library_ids(box, ApiClient.staff(box.url, "127.0.3.2"))
    result = run_soak(box, ids, seconds)
    result.write(out)
    print(summary(result))
    print(out.read_text())
    assert not result.record.server_errors, result.record.server_errors[:5]
    assert box.alive(), box.tail()
    assert result.tracks >= seconds / 10, f"only {result.tracks} tracks in {seconds} s"
    assert result.latencies, "no acknowledged command was ever seen by the observer"
    assert result.idle_after[1] - result.idle_before[1] <= 5, (
        result.idle_before, result.idle_after)  # fmt: skip
    assert result.idle_after[2] - result.idle_before[2] <= 5, (
        result.idle_before, result.idle_after)  # fmt: skip
    assert "Traceback" not in box.tail(10**8), box.tail()


def test_soak_short(tmp_path: Path, short_tracks: list[Path]) -> None:
    box = media_box(tmp_path / "box", short_tracks)
    try:
        soak(box, 30, tmp_path / "soak.jsonl")
    finally:
        box.stop()


@pytest.mark.slow
@pytest.mark.timeout(7200)
def test_soak(tmp_path: Path, short_tracks: list[Path]) -> None:
    seconds = float(os.environ.get("DJAMMS_SOAK_SECONDS", "900"))
    box = media_box(tmp_path / "box", short_tracks)
    try:
        soak(box, seconds, REPO / "bench" / "out" / "soak.jsonl")
    finally:
        box.stop()
