"""A backup is trusted only if this box signed it, and what it restores is checked as
strictly as an upload: a crafted gallery record cannot name another file (`../../box.toml`)
or be served as HTML from the console's origin."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.integration.test_sched_web import staff, start, venue_id
from tests.support.server import RunningBox

EVIL = "c0123456789abcdef"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(40)  # the first bytes decide the type
JPEG = b"\xff\xd8\xff\xe0" + bytes(40)


@pytest.fixture
def box(tmp_path: Path) -> Iterator[RunningBox]:
    running = start(tmp_path / "a")
    yield running
    running.stop()


def craft(archive: bytes, item: dict, files: dict[str, bytes]) -> bytes:
    """The archive with one more gallery record and its files, checksums made to match
    (no signature can be made without the box's key)."""
    members: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as src:
        for m in src:
            members[m.name] = src.extractfile(m).read()
    state = json.loads(members["state.json"])
    state["content"][item["content_id"]] = item
    members["state.json"] = json.dumps(state).encode()
    members.update(files)
    members.pop("manifest.sig", None)
    manifest = json.loads(members.pop("manifest.json"))
    manifest["files"] = {
        n: {"sha256": hashlib.sha256(d).hexdigest(), "size": len(d)} for n, d in members.items()
    }
    members["manifest.json"] = json.dumps(manifest).encode()
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as dst:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            dst.addfile(info, io.BytesIO(data))
    return out.getvalue()


def restore(s: requests.Session, box: RunningBox, archive: bytes, **form: str):
    return s.post(
        box.url + "/api/system/restore",
        data={"venueId": venue_id(box), **form},
        files={"file": ("b.tar.gz", archive)},
        timeout=60,
    )


def test_a_crafted_backup_is_refused_and_changes_nothing(box: RunningBox) -> None:
    s = staff(box)
    archive = s.post(box.url + "/api/system/backup", json={"venueId": venue_id(box)}).content
    assert restore(s, box, archive).status_code == 200  # its own backup: no question asked
    before = box.runtime.state.rev
    item = {
        "content_id": EVIL, "filename": "x.html", "mime_type": "text/html", "size": 30,
        "kind": "image", "thumbnail": "../../box.toml",
    }  # fmt: skip
    html = b"<script>alert(document.cookie)</script>"
    crafted = craft(archive, item, {f"content/{EVIL}.html": html})
    r = restore(s, box, crafted)
    assert r.status_code == 409 and r.json()["error"]["code"] == "unsigned_backup"
    r = restore(s, box, crafted, confirmUnsigned="true")  # the admin trusts it: still checked
    assert r.status_code == 400 and r.json()["error"]["code"] == "corrupt_backup", r.text
    assert "Gallery item refused" in r.json()["error"]["message"]
    png = {f"content/{EVIL}.png": PNG, f"content/{EVIL}.thumb.jpg": JPEG}
    honest = {**item, "mime_type": "image/png", "thumbnail": f"{EVIL}.thumb.jpg"}
    for tweak in ({"thumbnail": "../../box.toml"}, {"mime_type": "text/html"}):
        r = restore(s, box, craft(archive, {**honest, **tweak}, png), confirmUnsigned="true")
        assert r.status_code == 400, r.text
    assert box.runtime.state.rev == before and EVIL not in box.runtime.state.content
    for part in ("file", "thumbnail"):
        r = requests.get(f"{box.url}/api/content/{EVIL}/{part}", timeout=10)
        assert r.status_code == 404 and r.headers["X-Content-Type-Options"] == "nosniff"
    # the same record made honest restores, once trusted: the checks are what refused
    r = restore(s, box, craft(archive, honest, png), confirmUnsigned="true")
    assert r.status_code == 200, r.text
    r = requests.get(f"{box.url}/api/content/{EVIL}/file", timeout=10)
    assert r.headers["Content-Type"] == "image/png" and r.content == PNG


def test_the_api_answers_only_to_the_boxs_own_names(box: RunningBox) -> None:
    for host in ("127.0.0.1", "djamms.local", "localhost:8080", "[::1]:80"):
        assert requests.get(box.url + "/api/state", headers={"Host": host}).status_code == 200
    r = requests.get(box.url + "/api/state", headers={"Host": "evil.example"}, timeout=10)
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_host"


class _Zeros:
    def __init__(self, n: int) -> None:
        self.left = n

    def read(self, size: int = -1) -> bytes:
        size = self.left if size < 0 else min(size, self.left)
        self.left -= size
        return bytes(size)


def test_a_decompression_bomb_is_refused_before_it_is_unpacked(
    box: RunningBox, tmp_path: Path
) -> None:
    bomb = tmp_path / "bomb.tar.gz"
    size = 600 * 1024**2  # a 600 MB state.json in well under 1 MB
    with gzip.open(bomb, "wb", compresslevel=1) as gz, tarfile.open(fileobj=gz, mode="w|") as tar:
        info = tarfile.TarInfo("state.json")
        info.size = size
        tar.addfile(info, _Zeros(size))
    assert bomb.stat().st_size < 4 * 1024**2
    s = staff(box)
    r = restore(s, box, bomb.read_bytes(), confirmUnsigned="true")
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large", r.text
    data = box.box.config.data_dir
    assert not list(data.glob(".restore-*"))
    assert not [p for p in data.rglob("*") if p.is_file() and p.stat().st_size > 64 * 1024**2]
