"""The console routes for schedules, the gallery, import/export, backup/restore and logs,
over a real server socket with a real HTTP client."""

from __future__ import annotations

import io
import json
import subprocess
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import requests

from appliance.bootstrap import build
from appliance.wiring import wire_backups, wire_console, wire_content, wire_importer, wire_player
from tests.support.listserver import ListServer
from tests.support.server import STAFF_PIN, RunningBox, box_config, wait_until_serving

ADAPTERS = [wire_player, wire_content, wire_importer, wire_backups, wire_console]


def start(data_dir: Path) -> RunningBox:
    config = box_config(data_dir)
    config = replace(config, sections={**config.sections, "content": {"max_mb": 1}})
    box = build(config, adapters=ADAPTERS)
    box.start()
    running = RunningBox(box, "", 0)
    running.port = running.console.port
    running.url = f"http://127.0.0.1:{running.port}"
    wait_until_serving(running.url)
    return running


@pytest.fixture
def box(tmp_path: Path) -> Iterator[RunningBox]:
    running = start(tmp_path / "a")
    yield running
    running.stop()


def staff(box: RunningBox) -> requests.Session:
    s = requests.Session()
    r = s.post(box.url + "/api/auth/login", json={"pin": STAFF_PIN}, timeout=10)
    assert r.status_code == 200, r.text
    s.headers["X-CSRF-Token"] = r.json()["csrfToken"]
    return s


@pytest.fixture(scope="module")
def png(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    out = tmp_path_factory.mktemp("img") / "a.png"
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
            "color=red:s=64x64",
            "-frames:v",
            "1",
            str(out),
        ],
        check=True,
        timeout=60,
    )
    return out.read_bytes()


def venue_id(box: RunningBox) -> str:
    return box.runtime.state.venue.venue_id


def test_upload_list_serve_and_delete(box: RunningBox, png: bytes) -> None:
    s = staff(box)
    vid = venue_id(box)
    r = s.post(
        box.url + "/api/content/upload",
        files={"file": ("logo.png", png, "image/png")},
        data={"venueId": vid},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    item = r.json()["item"]
    assert item["kind"] == "image" and item["mime_type"] == "image/png"
    listed = requests.get(box.url + "/api/content", timeout=10).json()["items"]
    assert [i["content_id"] for i in listed] == [item["content_id"]]
    thumb = requests.get(f"{box.url}/api/content/{item['content_id']}/thumbnail", timeout=10)
    assert thumb.status_code == 200 and thumb.content[:3] == b"\xff\xd8\xff"
    assert (
        requests.get(f"{box.url}/api/content/{item['content_id']}/file", timeout=10).content == png
    )
    r = s.post(
        box.url + "/api/content/delete",
        json={"venueId": vid, "contentIds": [item["content_id"]]},
        timeout=10,
    )
    assert r.status_code == 200 and r.json()["removed"] == [item["content_id"]]
    assert requests.get(box.url + "/api/content", timeout=10).json()["items"] == []


def test_bad_uploads_get_clear_4xx(box: RunningBox, png: bytes) -> None:
    s = staff(box)
    vid = venue_id(box)
    content_dir = box.box.config.data_dir / "content"
    cases = [
        (("evil.jpg", b"#!/bin/sh\necho owned\n", "image/jpeg"), vid, 415, "unsupported_type"),
        (("../../../etc/passwd.png", png, "image/png"), vid, 400, "invalid_filename"),
        (("logo.png", png, "image/png"), "some-other-venue", 404, "unknown_venue"),
    ]
    for file, venue, status, code in cases:
        r = s.post(
            box.url + "/api/content/upload",
            files={"file": file},
            data={"venueId": venue},
            timeout=30,
        )
        assert r.status_code == status, r.text
        assert r.json()["error"]["code"] == code and r.json()["error"]["message"]
    huge = b"\xff\xd8\xff" + b"\0" * (2 * 1024 * 1024)  # the test box allows 1 MB
    r = s.post(box.url + "/api/content/upload", files={"file": ("big.jpg", huge)}, timeout=60)
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"
    assert not [p for p in content_dir.rglob("*") if p.is_file()]
    assert (
        requests.post(
            box.url + "/api/content/upload", files={"file": ("a.png", png)}, timeout=10
        ).status_code
        == 401
    )
    assert box.runtime.state.content == {}


def test_schedule_update_and_read(box: RunningBox) -> None:
    s = staff(box)
    rule = {"id": "all-day", "start": "00:00", "end": "24:00", "action": "volume", "volume": 35}
    body = {"venueId": venue_id(box), "scheduleData": {"timezone": "UTC", "rules": [rule]}}
    r = s.post(box.url + "/api/schedule/update", json=body, timeout=10)
    assert r.status_code == 200, r.text
    read = s.get(box.url + "/api/schedule", timeout=10).json()
    assert read["schedule"]["rules"][0]["id"] == "all-day"
    assert read["inForce"]["volume"]["volume"] == 35
    bad = {"venueId": venue_id(box), "scheduleData": {"rules": [{"start": "9", "action": "x"}]}}
    r = s.post(box.url + "/api/schedule/update", json=bad, timeout=10)
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_schedule"


def test_import_action_and_export(box: RunningBox) -> None:
    server = ListServer({"/mix.m3u": ("audio/x-mpegurl", b"#EXTM3U\ndQw4w9WgXcQ\nftp://x/y\n")})
    try:
        s = staff(box)
        body = {"action": "import", "url": server.url("/mix.m3u"), "name": "Mix"}
        r = s.post(box.url + "/api/playlist/manage", json=body, timeout=60)
        assert r.status_code == 200, r.text
        result = r.json()["result"]
        assert result["status"] == "done" and result["playlist"]["name"] == "Mix"
        assert result["report"]["imported"] == 1 and result["report"]["failedCount"] == 1
        pid = result["playlist"]["playlist_id"]
        m3u = s.get(
            box.url + "/api/playlist/export",
            params={"playlistId": pid, "format": "m3u"},
            timeout=10,
        )
        assert "https://www.youtube.com/watch?v=dQw4w9WgXcQ" in m3u.text
        exported = s.get(box.url + "/api/playlist/export", params={"playlistId": pid}, timeout=10)
        assert exported.json()["tracks"][0]["video_id"] == "dQw4w9WgXcQ"
        r = s.post(
            box.url + "/api/playlist/manage",
            json={"action": "import", "url": server.url("/nothing.m3u")},
            timeout=60,
        )
        assert r.status_code == 502 and r.json()["error"]["code"] == "source_unreachable"
    finally:
        server.stop()


def test_backup_restore_and_logs_over_http(box: RunningBox, tmp_path: Path) -> None:
    s = staff(box)
    vid = venue_id(box)
    body = {"action": "create", "name": "Keep me", "tracks": [{"video_id": "dQw4w9WgXcQ"}]}
    assert s.post(box.url + "/api/playlist/manage", json=body, timeout=10).status_code == 200
    r = s.post(box.url + "/api/system/backup", json={"venueId": vid}, timeout=60, stream=True)
    assert r.status_code == 200 and "attachment" in r.headers["Content-Disposition"]
    archive = r.content
    pid = next(iter(box.runtime.state.playlists))
    assert (
        s.post(
            box.url + "/api/playlist/manage",
            json={"action": "delete", "playlistId": pid},
            timeout=10,
        ).status_code
        == 200
    )
    bad = s.post(
        box.url + "/api/system/restore",
        data={"venueId": vid},
        files={"file": ("b.tar.gz", archive[:100])},
        timeout=60,
    )
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "corrupt_backup"
    assert box.runtime.state.playlists == {}
    good = s.post(
        box.url + "/api/system/restore",
        data={"venueId": vid},
        files={"file": ("b.tar.gz", archive)},
        timeout=60,
    )
    assert good.status_code == 200, good.text
    assert [p.name for p in box.runtime.state.playlists.values()] == ["Keep me"]
    logs = s.get(
        box.url + "/api/logs/download", params={"since": "2000-01-01T00:00:00Z"}, timeout=30
    )
    z = zipfile.ZipFile(io.BytesIO(logs.content))
    events = [json.loads(x)["event_type"] for x in z.read("activity_log.jsonl").splitlines()]
    # The log came back with the venue: the delete after the backup is not in it.
    assert events[-1] == "state_restored" and "playlist_delete" not in events
    r = s.get(box.url + "/api/logs/download", params={"since": "yesterday"}, timeout=10)
    assert r.status_code == 400
