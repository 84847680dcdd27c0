"""The wall clock jumping back (NTP correcting a Pi without an RTC) must not blind the
heartbeat audit or hold position checkpoints off until the clock catches up."""

from __future__ import annotations

import time
from pathlib import Path

from appliance.core import messages as m
from appliance.runtime import Runtime
from appliance.store import FileStore
from tests.unit.engine_kit import Driver


def test_heartbeat_audit_counts_from_a_clock_set_back() -> None:
    d = Driver().setup()
    d.do(m.PlayerReady(player_id="mpv"))
    d.do(m.Heartbeat(player_id="mpv"))
    assert d.venue.player_connected
    d.do(m.Tick(heartbeat_timeout=15), dt=-3600)  # the clock goes back an hour; player dies
    d.do(m.Tick(heartbeat_timeout=15), dt=10)
    assert d.venue.player_connected  # 10 s of silence: not yet
    out = d.do(m.Tick(heartbeat_timeout=15), dt=10)
    assert d.venue.player_connected is False  # 20 s: noticed, not an hour later
    assert "PLAYER_DISCONNECTED" in [e.type for e in out.events]


class SettableClock:
    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


def journal_text(data: Path) -> str:
    return "".join(p.read_text() for p in sorted((data / "journal").glob("*.jsonl")))


def test_position_checkpoint_still_written_after_the_clock_goes_back(tmp_path: Path) -> None:
    clock = SettableClock()
    runtime = Runtime(FileStore(tmp_path), clock, checkpoint_every=0.3)
    runtime.start(boot=False)
    try:
        assert runtime.submit(m.SetupVenue(owner_user_id="o", venue_name="v", pin_hash="x")).ok
        runtime.submit(m.Heartbeat(player_id="mpv"))  # first checkpoint: the clock is sane
        deadline = time.monotonic() + 10
        while "PositionCheckpoint" not in journal_text(tmp_path):
            assert time.monotonic() < deadline, "no checkpoint even with a sane clock"
            time.sleep(0.05)  # the worker checkpoints on its own timer
        clock.offset = -3600.0
        runtime.submit(m.Heartbeat(player_id="mpv", position=12.0))  # volatile change
        deadline = time.monotonic() + 10
        while journal_text(tmp_path).count("PositionCheckpoint") < 2:
            assert time.monotonic() < deadline, "checkpoints stopped after the clock went back"
            time.sleep(0.05)
    finally:
        runtime.stop()
