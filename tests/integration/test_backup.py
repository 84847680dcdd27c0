"""Backup and restore through real journaled stores, real gzip/tar and real ffmpeg media."""

from __future__ import annotations

import io
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from appliance.backup import Backups
from appliance.backup_format import BackupError
from appliance.content import ContentGallery
from appliance.core import messages as m
from appliance.core.codec import to_data
from appliance.core.model import State
from appliance.runtime import Runtime
from appliance.store import FileStore

ADMIN = m.Actor(user_id="owner", role="admin", source="web")


class Box:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.runtime = Runtime(FileStore(data_dir))
        self.runtime.start()
        self.content = ContentGallery(self.runtime, data_dir / "content")
        self.content.start()
        self.backups = Backups(self.runtime, data_dir)
        self.backups.start()

    def stop(self) -> None:
        self.runtime.stop()


@pytest.fixture
def boxes(tmp_path: Path) -> Iterator[list[Box]]:
    made: list[Box] = []
    yield made
    for box in made:
        box.stop()


def furnish(box: Box, tmp: Path) -> None:
    rt = box.runtime
    assert rt.submit(m.SetupVenue(owner_user_id="owner", venue_name="The Anchor")).ok
    for i in range(3):
        tracks = [{"video_id": f"vid{i}-{n:05d}", "title": f"T{n}"} for n in range(20)]
        params = {"name": f"List {i}", "tracks": tracks}
        assert rt.submit(m.ManagePlaylist(actor=ADMIN, action="create", params=params)).ok
    rule = {"id": "eve", "start": "18:00", "end": "22:00", "action": "volume", "volume": 40}
    assert rt.submit(m.UpdateSchedule(actor=ADMIN, schedule_data={"rules": [rule]})).ok
    assert rt.submit(m.UpdateSetting(actor=ADMIN, setting="master_volume", value=55)).ok
    img = tmp / "logo.png"
    subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "color=green:s=32x32",
            "-frames:v",
            "1",
            str(img),
        ],
        check=True,
        timeout=60,
    )
    box.content.upload(io.BytesIO(img.read_bytes()), "logo.png", ADMIN)


def essence(state: State) -> dict[str, Any]:
    data = to_data(state)
    for key in ("rev", "seq"):
        data.pop(key)
    data["venue"].pop("last_updated")
    data["activity_log"] = [e for e in data["activity_log"] if e["event_type"] != "state_restored"]
    return data


def gallery_files(box: Box) -> dict[str, bytes]:
    content = box.data_dir / "content"
    return {p.name: p.read_bytes() for p in sorted(content.iterdir()) if p.is_file()}


def test_backup_then_restore_into_an_empty_box_gives_the_same_state(
    boxes: list[Box], tmp_path: Path
) -> None:
    a = Box(tmp_path / "a")
    boxes.append(a)
    furnish(a, tmp_path)
    archive = b"".join(a.backups.stream())
    assert archive[:2] == b"\x1f\x8b"

    b = Box(tmp_path / "b")  # an empty data dir: no venue at all
    boxes.append(b)
    assert b.runtime.state.venue is None
    sub = b.runtime.subscribe()
    with pytest.raises(BackupError) as refused:  # another box's backup: only if trusted
        b.backups.restore(io.BytesIO(archive), ADMIN)
    assert refused.value.code == "unsigned_backup" and b.runtime.state.venue is None
    result = b.backups.restore(io.BytesIO(archive), ADMIN, trust_foreign=True)
    assert result["playlists"] == 3 and result["content"] == 1
    assert essence(b.runtime.state) == essence(a.runtime.state)
    assert gallery_files(b) == gallery_files(a)
    statuses = []
    while "restore_complete" not in statuses and (pub := sub.get(timeout=5)) is not None:
        statuses += [e.payload.get("status") for e in pub.events if e.type == "SYSTEM_STATUS"]
    sub.close()
    assert statuses[0] == "restore_in_progress" and "restore_complete" in statuses

    rev = b.runtime.state.rev
    b.stop()
    boxes.remove(b)
    again = Box(tmp_path / "b")  # what survives a restart is the restored venue
    boxes.append(again)
    assert essence(again.runtime.state) == essence(a.runtime.state)
    assert again.runtime.state.rev >= rev  # Boot may add a change of its own


def test_restore_over_a_running_venue_keeps_rev_rising(boxes: list[Box], tmp_path: Path) -> None:
    a = Box(tmp_path / "a")
    boxes.append(a)
    furnish(a, tmp_path)
    archive = b"".join(a.backups.stream())
    for _ in range(5):  # the venue moves on after the backup
        params = {"name": "later", "tracks": []}
        assert a.runtime.submit(m.ManagePlaylist(actor=ADMIN, action="create", params=params)).ok
    before = a.runtime.state.rev
    a.backups.restore(io.BytesIO(archive), ADMIN)
    assert a.runtime.state.rev == before + 1
    assert sorted(p.name for p in a.runtime.state.playlists.values()) == [
        "List 0",
        "List 1",
        "List 2",
    ]


def damaged(archive: bytes) -> dict[str, bytes]:
    middle = len(archive) // 2
    flipped = archive[:middle] + bytes([archive[middle] ^ 0xFF]) + archive[middle + 1 :]
    return {
        "truncated": archive[: len(archive) // 2],
        "flipped": flipped,
        "no_tail": archive[:-40],
        "junk": b"PK\x03\x04 this is not a backup" * 10,
        "empty": b"",
    }


@pytest.mark.parametrize("kind", ["truncated", "flipped", "no_tail", "junk", "empty"])
def test_damaged_archive_is_refused_and_nothing_changes(
    boxes: list[Box], tmp_path: Path, kind: str
) -> None:
    a = Box(tmp_path / "a")
    boxes.append(a)
    furnish(a, tmp_path)
    archive = b"".join(a.backups.stream())
    assert a.runtime.submit(m.UpdateSetting(actor=ADMIN, setting="master_volume", value=20)).ok
    state, files = a.runtime.state, gallery_files(a)
    with pytest.raises(BackupError) as err:
        a.backups.restore(io.BytesIO(damaged(archive)[kind]), ADMIN)
    assert err.value.code == "corrupt_backup" and 400 <= err.value.status < 500
    assert a.runtime.state is state and gallery_files(a) == files
    assert not list(a.data_dir.glob(".restore-*"))


def test_tampered_member_fails_its_checksum(boxes: list[Box], tmp_path: Path) -> None:
    import gzip
    import tarfile

    a = Box(tmp_path / "a")
    boxes.append(a)
    furnish(a, tmp_path)
    archive = b"".join(a.backups.stream())
    out = io.BytesIO()
    with (
        tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as src,
        tarfile.open(fileobj=out, mode="w:gz") as dst,
    ):
        for member in src:
            data = src.extractfile(member).read()
            if member.name == "state.json":
                data = data.replace(b"The Anchor", b"The Hacked")
                member.size = len(data)
            dst.addfile(member, io.BytesIO(data))
    assert gzip.decompress(out.getvalue())  # a well-formed archive, just not a true one
    with pytest.raises(BackupError, match="Checksum mismatch for state.json"):
        a.backups.restore(io.BytesIO(out.getvalue()), ADMIN)
    assert a.runtime.state.venue.venue_name == "The Anchor"


def test_only_an_admin_restores(boxes: list[Box], tmp_path: Path) -> None:
    a = Box(tmp_path / "a")
    boxes.append(a)
    furnish(a, tmp_path)
    archive = b"".join(a.backups.stream())
    moderator = m.Actor(user_id="mod", role="moderator")
    with pytest.raises(BackupError) as err:
        a.backups.restore(io.BytesIO(archive), moderator)
    assert err.value.status == 403
