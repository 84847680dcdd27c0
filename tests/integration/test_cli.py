"""`djamms state` and configuration errors, through the real CLI in a subprocess."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from appliance.core import messages as m
from appliance.core.model import TrackInfo
from tests.integration.runtime_kit import ok, running, set_up_playing

ROOT = Path(__file__).resolve().parents[2]


def djamms(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "appliance", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_state_prints_the_current_snapshot_as_json(tmp_path: Path) -> None:
    with running(tmp_path) as (rt, _):
        set_up_playing(rt, n=80)
        ok(rt.submit(m.AddToQueue(track=TrackInfo("req1"), actor=m.Actor("g", role="user"))))
        rev = rt.state.rev
        playing = rt.state.venue.now_playing.video_id
    out = djamms("state", "--data-dir", str(tmp_path))
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    venue = doc["venue"]
    assert doc["rev"] == rev
    assert venue["venue_id"] == "owner" and venue["now_playing"]["video_id"] == playing
    assert [i["video_id"] for i in venue["priority_queue"]] == ["req1"]
    assert len(venue["active_queue"]) == 50 and venue["active_queue_total"] == 79
    assert "player_settings" in venue and "pin_hash" not in out.stdout
    full = json.loads(djamms("state", "--data-dir", str(tmp_path), "--full").stdout)
    assert len(full["venue"]["active_queue"]) == 79


def test_state_of_an_empty_data_dir_says_so_and_creates_nothing(tmp_path: Path) -> None:
    target = tmp_path / "fresh"
    out = djamms("state", "--data-dir", str(target))
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["venue"] is None
    assert not target.exists()


def test_state_reads_beside_a_damaged_snapshot_without_repairing(tmp_path: Path) -> None:
    with running(tmp_path) as (rt, store):
        set_up_playing(rt)
        store.request_snapshot()
        ok(rt.submit(m.UiCommand(command="SET_VOLUME", value=11, actor=m.Actor())))
    (tmp_path / "djamms.json").write_bytes(b"")
    out = djamms("state", "--data-dir", str(tmp_path))
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["venue"]["player_settings"]["master_volume"] == 11
    assert (tmp_path / "djamms.json").read_bytes() == b""


def test_bad_config_gives_a_clear_error_and_exit_code_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("port = [\n")
    for command in ("state", "run"):
        out = djamms(command, "--config", str(bad), "--data-dir", str(tmp_path))
        assert out.returncode == 2
        assert "configuration error" in out.stderr and "bad.toml" in out.stderr
        assert "Traceback" not in out.stderr
    value = tmp_path / "value.toml"
    value.write_text('audio = "loud"\n')
    out = djamms("run", "--config", str(value), "--data-dir", str(tmp_path))
    assert out.returncode == 2 and "audio must be one of" in out.stderr


def test_bad_flag_value_is_refused_by_the_parser(tmp_path: Path) -> None:
    out = djamms("run", "--audio", "loud", "--data-dir", str(tmp_path))
    assert out.returncode == 2 and "invalid choice" in out.stderr


def test_run_sets_up_the_venue_and_saves_it_on_sigterm(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "appliance",
            "run",
            "--player",
            "standin",
            "--data-dir",
            str(tmp_path),
            "--port",
            "0",
            "--admin-pin",
            "2468",
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        journal = tmp_path / "journal"
        # nothing to wait on across processes: poll for the first journal line
        while time.monotonic() < deadline and not any(
            p.stat().st_size for p in journal.glob("*.jsonl")
        ):
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert (tmp_path / "djamms.json").exists()  # snapshot written at shutdown
    doc = json.loads(djamms("state", "--data-dir", str(tmp_path)).stdout)
    assert doc["venue"]["venue_name"] == "My Venue" and doc["rev"] >= 1
