"""FileStore on a temp dir: atomic snapshots, fallback to the last good copy, torn
journal tails, group commit, snapshot cadence, journal pruning."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest
from tinydb import TinyDB

from appliance.atomic_storage import AtomicJSONStorage
from appliance.core import messages as m
from appliance.core.model import State, TrackInfo
from appliance.runtime import Runtime
from appliance.snapshot import PREVIOUS, SNAPSHOT
from appliance.store import FileStore
from tests.integration.runtime_kit import ADMIN, FakeClock, ok, running, set_up_playing


def _add(i: int) -> m.AddToQueue:
    return m.AddToQueue(track=TrackInfo(f"x{i}", title="t" * 40), actor=ADMIN)


def _three_snapshots(data_dir: Path) -> State:
    """A venue whose data dir holds a current and a previous snapshot plus journal."""
    with running(data_dir) as (rt, store):
        set_up_playing(rt)
        for round_ in range(2):
            for i in range(5):
                ok(rt.submit(_add(round_ * 10 + i)))
            store.request_snapshot()
        for i in range(5):
            ok(rt.submit(_add(100 + i)))
        final = rt.state
    assert (data_dir / SNAPSHOT).exists() and (data_dir / PREVIOUS).exists()
    return final


def load(data_dir: Path) -> tuple[State, FileStore]:
    store = FileStore(data_dir)
    return Runtime(store).replay_only(), store


def test_state_survives_a_clean_restart_exactly(tmp_path: Path) -> None:
    final = _three_snapshots(tmp_path)
    state, store = load(tmp_path)
    assert state == final and store.recovery_notes == []


@pytest.mark.parametrize(
    "damage",
    [
        b"",
        b"   \n",
        b'{"meta": {"1": {"format": 1',
        b"\x00\x00\x00garbage",
        b"[1, 2, 3]",
        b'{"meta": {}}',
    ],
    ids=["empty", "blank", "truncated", "binary", "not_a_document", "no_meta"],
)
def test_a_corrupt_or_empty_snapshot_falls_back_to_the_previous_copy(
    tmp_path: Path, damage: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    final = _three_snapshots(tmp_path)
    (tmp_path / SNAPSHOT).write_bytes(damage)
    with caplog.at_level(logging.WARNING, logger="appliance.store"):
        state, store = load(tmp_path)
    assert state == final, "previous snapshot + journal must rebuild the same state"
    assert any("falling back" in n for n in store.recovery_notes)
    assert any("falling back" in r.getMessage() for r in caplog.records)
    assert (tmp_path / "djamms.corrupt.json").exists()  # set aside, not trusted again


def test_after_a_fallback_the_box_keeps_working_and_saving(tmp_path: Path) -> None:
    final = _three_snapshots(tmp_path)
    (tmp_path / SNAPSHOT).write_bytes(b"")
    with running(tmp_path) as (rt, _):
        assert rt.state == final
        ok(rt.submit(_add(999)))
        after = rt.state
    state, store = load(tmp_path)
    assert state == after and store.recovery_notes == []


def test_both_snapshots_corrupt_never_stops_the_box(tmp_path: Path) -> None:
    _three_snapshots(tmp_path)
    (tmp_path / SNAPSHOT).write_bytes(b"{")
    (tmp_path / PREVIOUS).write_bytes(b"")
    state, store = load(tmp_path)  # no exception
    assert len(store.recovery_notes) >= 2
    with running(tmp_path) as (rt, _):  # starts over, and what it saves from now on sticks
        set_up_playing(rt)
        ok(rt.submit(_add(5)))
        fresh = rt.state
    (tmp_path / SNAPSHOT).unlink()
    assert load(tmp_path)[0] == fresh, "new journal must not mix with the orphaned one"


def test_a_torn_journal_tail_is_cut_and_the_rest_replayed(tmp_path: Path) -> None:
    with running(tmp_path) as (rt, _):
        set_up_playing(rt)
        ok(rt.submit(_add(1)))
        acked = rt.state
    (tmp_path / SNAPSHOT).unlink()  # force replay from the journal
    (tmp_path / PREVIOUS).unlink(missing_ok=True)
    segment = sorted((tmp_path / "journal").glob("*.jsonl"))[-1]
    good = segment.stat().st_size
    with open(segment, "ab") as f:
        f.write(b'{"n": 999, "t": 1.0, "m": {"type": "AddToQu')  # power cut mid-line
    state, store = load(tmp_path)
    assert state == acked
    assert segment.stat().st_size == good
    assert any("torn tail" in n for n in store.recovery_notes)


def test_a_complete_last_line_without_newline_is_also_cut(tmp_path: Path) -> None:
    with running(tmp_path) as (rt, _):
        set_up_playing(rt)
        acked = rt.state
    (tmp_path / SNAPSHOT).unlink()
    segment = sorted((tmp_path / "journal").glob("*.jsonl"))[-1]
    lines = segment.read_bytes().splitlines(keepends=True)
    segment.write_bytes(b"".join(lines) + lines[-1].rstrip(b"\n"))  # duplicate, unterminated
    state, _ = load(tmp_path)
    assert state == acked


def test_acknowledged_means_on_disk_in_the_journal(tmp_path: Path) -> None:
    with running(tmp_path) as (rt, _):
        set_up_playing(rt)
        reply = ok(rt.submit(_add(7)))
        # read the journal while the box is still running: the line is already there
        lines = [
            json.loads(x)
            for p in sorted((tmp_path / "journal").glob("*.jsonl"))
            for x in p.read_bytes().splitlines()
        ]
        assert lines[-1]["m"]["type"] == "AddToQueue"
        assert lines[-1]["m"]["track"]["video_id"] == "x7"
        assert reply.rev == rt.state.rev


def test_concurrent_mutations_share_fsyncs(tmp_path: Path) -> None:
    with running(tmp_path) as (rt, store):
        set_up_playing(rt)
        before = store.inner.commits
        futures = [rt.submit_async(_add(i)) for i in range(300)]
        assert all(f.result(timeout=60).ok for f in futures)
        commits = store.inner.commits - before
    assert 1 <= commits < 300


def test_snapshots_are_rare_and_the_journal_carries_the_changes(tmp_path: Path) -> None:
    with running(tmp_path) as (rt, store):
        set_up_playing(rt)
        for i in range(100):
            ok(rt.submit(_add(i)))
        assert store.inner.snapshots_written == 0
    assert store.inner.snapshots_written == 1  # at shutdown


def test_a_journal_larger_than_the_snapshot_triggers_one(tmp_path: Path) -> None:
    with running(tmp_path, FakeClock()) as (rt, store):
        set_up_playing(rt)
        big = [{"video_id": f"b{i}", "title": "x" * 200} for i in range(1500)]  # ~400 KB line
        ok(
            rt.submit(
                m.ManagePlaylist(action="create", params={"name": "b", "tracks": big}, actor=ADMIN)
            )
        )
        ok(rt.submit(_add(1)))  # the writer snapshots after the flush that crossed the line
        rt.submit(_add(2))
        store.inner.settle()  # it is written on its own thread
        assert store.inner.snapshots_written >= 1


def test_acknowledgements_never_wait_for_a_snapshot(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A snapshot stuck on a slow card (here: its temp file is a pipe nobody reads yet)
    must not hold up the journal that every acknowledgement waits on; and one that then
    fails (a pipe cannot be fsynced) costs nothing but a log line."""
    with running(tmp_path, FakeClock()) as (rt, store):
        set_up_playing(rt)
        os.mkfifo(tmp_path / "djamms.tmp")
        big = [{"video_id": f"b{i}", "title": "x" * 200} for i in range(1500)]  # ~400 KB line
        params = {"name": "b", "tracks": big}
        ok(rt.submit(m.ManagePlaylist(action="create", params=params, actor=ADMIN)))
        for i in range(20):  # the snapshot is due, and blocked on the pipe meanwhile
            ok(rt.submit(_add(i)))
        with open(tmp_path / "djamms.tmp", "rb") as pipe:  # the card catches up
            written = json.loads(pipe.read())
        assert written["meta"]["1"]["journal_seq"] >= 3  # it was the snapshot, in full
        store.inner.settle()
        assert store.inner.snapshots_written == 0
        assert "snapshot failed" in caplog.text
        (tmp_path / "djamms.tmp").unlink()
        ok(rt.submit(_add(99)))
        final = rt.state
    assert store.inner.snapshots_written == 1  # at shutdown
    assert load(tmp_path)[0] == final


def test_old_journal_segments_are_pruned_but_the_previous_snapshot_stays_replayable(
    tmp_path: Path,
) -> None:
    with running(tmp_path) as (rt, store):
        set_up_playing(rt)
        for r in range(4):
            for i in range(3):
                ok(rt.submit(_add(r * 10 + i)))
            store.request_snapshot()
        ok(rt.submit(_add(99)))
        final = rt.state
    segments = list((tmp_path / "journal").glob("*.jsonl"))
    assert len(segments) <= 3
    (tmp_path / SNAPSHOT).write_bytes(b"")
    state, _ = load(tmp_path)
    assert state == final


def test_atomic_storage_never_leaves_a_partial_file(tmp_path: Path) -> None:
    path = tmp_path / "db.json"
    storage = AtomicJSONStorage(str(path), keep_previous=str(tmp_path / "db.prev.json"))
    storage.write({"t": {"1": {"a": 1}}})
    storage.write({"t": {"1": {"a": 2}}})
    assert json.loads(path.read_bytes()) == {"t": {"1": {"a": 2}}}
    assert json.loads((tmp_path / "db.prev.json").read_bytes()) == {"t": {"1": {"a": 1}}}
    assert not list(tmp_path.glob("*.tmp"))
    with TinyDB(str(path), storage=AtomicJSONStorage) as db:
        assert db.table("t").all() == [{"a": 2}]


def test_leftover_temp_files_are_removed_on_load(tmp_path: Path) -> None:
    _three_snapshots(tmp_path)
    (tmp_path / "djamms.tmp").write_bytes(b"half")
    load(tmp_path)
    assert not (tmp_path / "djamms.tmp").exists()


def test_readonly_load_repairs_nothing(tmp_path: Path) -> None:
    final = _three_snapshots(tmp_path)
    (tmp_path / SNAPSHOT).write_bytes(b"")
    state = Runtime(FileStore(tmp_path, readonly=True)).replay_only()
    assert state == final
    assert (tmp_path / SNAPSHOT).read_bytes() == b""
    assert not (tmp_path / "djamms.corrupt.json").exists()
