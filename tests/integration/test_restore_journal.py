"""A restore is journaled as the name of the backup's state file the store keeps, not as
the whole state (24 MB for a big venue, which stalled every console while the single
writer encoded it). Power cuts on either side, pruning, and damaged leftovers."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.core import messages as m
from appliance.runtime import Runtime
from appliance.store import RESTORES, FileStore
from tests.integration.test_backup import ADMIN, Box, essence, furnish


@pytest.fixture
def archive(tmp_path: Path) -> Iterator[bytes]:
    source = Box(tmp_path / "source")
    try:
        furnish(source, tmp_path)
        yield b"".join(source.backups.stream())
    finally:
        source.stop()


def restored_box(data_dir: Path, archive: bytes) -> Box:
    box = Box(data_dir)
    box.backups.restore(io.BytesIO(archive), ADMIN, trust_foreign=True)  # another box's
    return box


def power_cut_and_load(data_dir: Path) -> tuple[Runtime, FileStore]:
    """A second box on the same data dir while the first is never stopped: what a power
    cut leaves is exactly what was acknowledged."""
    store = FileStore(data_dir)
    runtime = Runtime(store)
    runtime.replay_only()
    return runtime, store


def journal_bytes(data_dir: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted((data_dir / "journal").glob("*.jsonl")))


def test_the_journal_names_the_restore_and_a_power_cut_replays_it(
    tmp_path: Path, archive: bytes
) -> None:
    box = restored_box(tmp_path / "box", archive)
    try:
        kept = list((tmp_path / "box" / RESTORES).iterdir())
        assert len(kept) == 1
        journal = journal_bytes(tmp_path / "box")
        assert kept[0].name.encode() in journal
        assert b"List 0" not in journal, "the restored playlists were journaled inline"
        volume = m.UpdateSetting(actor=ADMIN, setting="master_volume", value=12)
        assert box.runtime.submit(volume).ok  # acknowledged after the restore: must survive
        expected = essence(box.runtime.state)

        again, store = power_cut_and_load(tmp_path / "box")
        assert essence(again.state) == expected
        assert not store.recovery_notes
    finally:
        box.stop()


def test_the_restore_file_goes_once_both_snapshots_hold_the_restore(
    tmp_path: Path, archive: bytes
) -> None:
    box = restored_box(tmp_path / "box", archive)
    try:
        store = box.runtime.store
        assert isinstance(store, FileStore)
        kept = tmp_path / "box" / RESTORES
        store.request_snapshot()
        assert box.runtime.submit(m.UpdateSetting(actor=ADMIN, setting="master_volume", value=9)).ok
        assert list(kept.iterdir()), "the previous snapshot still needs the restore's journal"
        store.request_snapshot()
        assert box.runtime.submit(m.UpdateSetting(actor=ADMIN, setting="master_volume", value=8)).ok
        assert not list(kept.iterdir())
        expected = essence(box.runtime.state)
    finally:
        box.stop()
    again, _ = power_cut_and_load(tmp_path / "box")
    assert essence(again.state) == expected


def test_a_file_adopted_but_never_journaled_is_removed_on_load(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    store.load()
    leftover = tmp_path / "state.json"
    leftover.write_text("{}")
    name = store.adopt(leftover)  # then the core refused, or the power went
    assert (tmp_path / RESTORES / name).exists() and not leftover.exists()
    FileStore(tmp_path).load()
    assert not (tmp_path / RESTORES / name).exists()


def test_a_missing_restore_file_is_reported_and_the_box_still_loads(
    tmp_path: Path, archive: bytes
) -> None:
    box = Box(tmp_path / "box")
    try:
        assert box.runtime.submit(m.SetupVenue(owner_user_id="owner", venue_name="Old")).ok
        box.backups.restore(io.BytesIO(archive), ADMIN, trust_foreign=True)  # another box's
        assert box.runtime.submit(m.UpdateSetting(actor=ADMIN, setting="master_volume", value=7)).ok
        for kept in (tmp_path / "box" / RESTORES).iterdir():
            kept.unlink()  # the card lost it

        again, store = power_cut_and_load(tmp_path / "box")
        assert any("restore" in note for note in store.recovery_notes), store.recovery_notes
        assert again.state.venue is not None and again.state.venue.venue_name == "Old"
    finally:
        box.stop()
