"""Playlist import against a local HTTP server with real yt-dlp (generic extractor)."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.core import messages as m
from appliance.library.importer import PlaylistImporter
from appliance.library.playlist_formats import ImportRefused, parse_m3u, to_json, to_m3u
from appliance.memory_store import MemoryStore
from appliance.runtime import Runtime, Subscription
from appliance.store import FileStore
from tests.support.listserver import ListServer, html5_page, rss_feed

STAFF = m.Actor(user_id="owner", role="admin", source="web")


@pytest.fixture
def server() -> Iterator[ListServer]:
    srv = ListServer()
    yield srv
    srv.stop()


@pytest.fixture
def runtime() -> Iterator[Runtime]:
    rt = Runtime(MemoryStore())
    rt.start()
    assert rt.submit(m.SetupVenue(owner_user_id="owner")).ok
    yield rt
    rt.stop()


def notices(sub: Subscription, until: str) -> list[dict]:
    seen: list[dict] = []
    while (pub := sub.get(timeout=10)) is not None:
        for e in getattr(pub, "events", ()):
            if e.type == "SYSTEM_STATUS":
                seen.append(dict(e.payload))
        if any(n["status"] == until for n in seen):
            break
    return seen


def test_m3u_from_http_with_partial_failures(runtime: Runtime, server: ListServer) -> None:
    m3u = "\n".join(
        [
            "#EXTM3U",
            "#EXTINF:215,Daft Punk - One More Time",
            "https://www.youtube.com/watch?v=FGBhQbmPwH8",
            "#EXTINF:180,Local Band - Song",
            "media/song.mp4",
            "dQw4w9WgXcQ",
            server.url("/media/other.webm"),
            "file:///etc/passwd",
            "ftp://127.0.0.1/a.mp4",
            "# a comment",
        ]
    )
    server.routes["/lists/friday.m3u"] = ("audio/x-mpegurl", m3u.encode())
    sub = runtime.subscribe()
    report = PlaylistImporter(runtime).import_now(STAFF, url=server.url("/lists/friday.m3u"))
    seen = notices(sub, "import_complete")
    sub.close()
    pl = runtime.state.playlists[report.playlist_id]
    assert [t.video_id for t in pl.tracks] == [
        "FGBhQbmPwH8",
        server.url("/lists/media/song.mp4"),
        "dQw4w9WgXcQ",
        server.url("/media/other.webm"),
    ]
    assert (pl.tracks[0].artist, pl.tracks[0].title, pl.tracks[0].duration) == (
        "Daft Punk",
        "One More Time",
        215,
    )
    assert pl.name == "friday" and report.imported == 4
    reasons = {f["entry"]: f["reason"] for f in report.failed}
    assert "file paths are not accepted" in reasons["file:///etc/passwd"]
    assert "ftp" in reasons["ftp://127.0.0.1/a.mp4"]
    assert seen[0]["status"] == "import_progress" and seen[-1]["status"] == "import_complete"
    assert seen[-1]["failedCount"] == 2 and seen[-1]["playlistId"] == pl.playlist_id


def test_feed_via_ytdlp_flat_extraction_reports_bad_entries(
    runtime: Runtime, server: ListServer
) -> None:
    server.routes["/feed.xml"] = (
        "application/rss+xml",
        rss_feed(server.url(""), 5, title="Sunday Brunch", bad=2),
    )
    report = PlaylistImporter(runtime).import_now(STAFF, url=server.url("/feed.xml"))
    pl = runtime.state.playlists[report.playlist_id]
    assert pl.name == "Sunday Brunch"
    assert [t.title for t in pl.tracks] == [f"Song {i}" for i in range(5)]
    assert pl.tracks[2].video_id == server.url("/media/t2.mp4")
    assert len(report.failed) == 2 and all("ftp" in f["reason"] for f in report.failed)
    assert "/feed.xml" in server.hits  # yt-dlp really fetched it


def test_html5_page_via_ytdlp(runtime: Runtime, server: ListServer) -> None:
    server.routes["/party.html"] = ("text/html", html5_page(server.url(""), 3, "Party"))
    report = PlaylistImporter(runtime).import_now(STAFF, url=server.url("/party.html"), name="Mine")
    pl = runtime.state.playlists[report.playlist_id]
    assert pl.name == "Mine" and pl.track_count == 3 and not report.failed
    assert {t.video_id for t in pl.tracks} == {server.url(f"/media/v{i}.mp4") for i in range(3)}


@pytest.mark.parametrize("path", ["/missing.m3u", "/missing.html"])
def test_unreachable_source_is_refused_and_creates_nothing(
    runtime: Runtime, server: ListServer, path: str
) -> None:
    with pytest.raises(ImportRefused) as err:
        PlaylistImporter(runtime).import_now(STAFF, url=server.url(path))
    assert err.value.code in ("source_unreachable", "extract_failed") and err.value.status == 502
    assert dict(runtime.state.playlists) == {}


def test_bad_requests_are_refused(runtime: Runtime) -> None:
    imp = PlaylistImporter(runtime)
    with pytest.raises(ImportRefused, match="playlist address"):
        imp.import_now(STAFF, url="javascript:alert(1)")
    with pytest.raises(ImportRefused) as err:
        imp.import_now(m.Actor(user_id="g", role="user"), url="PLabcdefghijkl")
    assert err.value.status == 403
    with pytest.raises(ImportRefused) as err:
        imp.import_now(STAFF, m3u="#EXTM3U\nftp://x/y\n")
    assert err.value.code == "nothing_to_import"
    assert dict(runtime.state.playlists) == {}


def test_json_and_m3u_export_round_trip(runtime: Runtime) -> None:
    imp = PlaylistImporter(runtime)
    body = {
        "name": "Mix",
        "tracks": [
            {"video_id": "dQw4w9WgXcQ", "title": "Song", "artist": "Rick", "duration": 213},
            {"video_id": "https://example.org/a.mp4", "title": "Other"},
        ],
    }
    src = imp.import_now(STAFF, json_data=json.dumps(body))
    pl = runtime.state.playlists[src.playlist_id]
    again = imp.import_now(STAFF, json_data=json.dumps(to_json(pl)))
    copy = runtime.state.playlists[again.playlist_id]
    assert copy.name == "Mix" and copy.tracks == pl.tracks
    tracks, failed = parse_m3u(to_m3u(pl))
    assert not failed and [t["video_id"] for t in tracks] == [t.video_id for t in pl.tracks]
    assert (tracks[0]["artist"], tracks[0]["title"], tracks[0]["duration"]) == ("Rick", "Song", 213)


def test_folder_import_uses_the_local_library_ids(runtime: Runtime, tmp_path: Path) -> None:
    media = tmp_path / "media"
    (media / "jazz").mkdir(parents=True)
    tone = ["-f", "lavfi", "-i", "sine=frequency=440:duration=1", "-c:a", "libmp3lame"]
    for name in ("intro.mp3", "[dQw4w9WgXcQ, Rick_Astley, Never Gonna].mp3"):
        subprocess.run(
            ["ffmpeg", "-nostdin", "-v", "error", "-y", *tone, str(media / "jazz" / name)],
            check=True,
            timeout=60,
        )
    (media / "jazz" / "cover.txt").write_text("not media")
    (media / "jazz" / "broken.mp3").write_bytes(b"not really audio")
    imp = PlaylistImporter(runtime, media_dir=media)
    report = imp.import_now(STAFF, folder="jazz")
    pl = runtime.state.playlists[report.playlist_id]
    library = {t.track.video_id: t.path for t in _library(media)}
    assert [t.video_id for t in pl.tracks][0] == "dQw4w9WgXcQ"  # named by the convention
    assert all(t.video_id in library for t in pl.tracks) and len(pl.tracks) == 2
    assert pl.tracks[1].video_id.startswith("local-") and pl.tracks[1].duration == 1
    assert {f["entry"]: f["reason"] for f in report.failed} == {
        "broken.mp3": "unreadable",
        "cover.txt": "not a media file",
    }
    for outside in ("../", str(tmp_path), "/etc"):
        with pytest.raises(ImportRefused) as err:
            imp.import_now(STAFF, folder=outside)
        assert err.value.code == "invalid_folder"
    # Its JSON export imports again; a list naming files by path does not.
    again = imp.import_now(STAFF, json_data=to_json(pl))
    assert runtime.state.playlists[again.playlist_id].tracks == pl.tracks
    m3u = f"{pl.tracks[1].video_id}\n{media}/jazz/intro.mp3\nfile://{media}/jazz/intro.mp3\n"
    report = imp.import_now(STAFF, m3u=m3u)
    assert report.imported == 1 and all("import the folder" in f["reason"] for f in report.failed)


def _library(media: Path) -> list:
    from appliance.library.local import LocalLibrary

    lib = LocalLibrary(media)
    lib.scan()
    return lib.tracks()


def test_13000_entry_import_and_load_stay_responsive(server: ListServer, tmp_path: Path) -> None:
    """A big feed through real yt-dlp, then load, on a real journaled store; meanwhile a
    console keeps changing the volume and every change must be answered promptly."""
    server.routes["/big.xml"] = ("application/rss+xml", rss_feed(server.url(""), 13_000))
    rt = Runtime(FileStore(tmp_path / "data"))
    rt.start()
    try:
        assert rt.submit(m.SetupVenue(owner_user_id="owner")).ok
        latencies: list[float] = []
        done = threading.Event()

        def console() -> None:
            i = 0
            while not done.is_set():
                t0 = time.perf_counter()
                reply = rt.submit(m.UiCommand(actor=STAFF, command="SET_VOLUME", value=i % 100))
                latencies.append(time.perf_counter() - t0)
                assert reply.ok
                i += 1
                done.wait(0.02)

        worker = threading.Thread(target=console)
        worker.start()
        try:
            report = PlaylistImporter(rt).import_now(STAFF, url=server.url("/big.xml"))
            load = rt.submit(
                m.ManagePlaylist(
                    actor=STAFF, action="load", params={"playlistId": report.playlist_id}
                ),
                timeout=60,
            )
        finally:
            done.set()
            worker.join(timeout=30)
        assert report.imported == 13_000 and not report.failed
        assert load.ok and len(rt.state.venue.active_queue) >= 12_999
        assert len(latencies) >= 5  # the console really ran alongside
        assert max(latencies) < 2.0, f"worst command latency {max(latencies):.2f}s"
    finally:
        rt.stop()


def test_stopping_cancels_a_running_import_and_removes_its_playlist(runtime: Runtime) -> None:
    imp = PlaylistImporter(runtime, batch=10)
    imp.stop()  # as if the box were shutting down while the list was read
    tracks = "\n".join(f"https://example.org/{i}.mp4" for i in range(50))
    with pytest.raises(ImportRefused) as err:
        imp.import_now(STAFF, m3u=tracks)
    assert err.value.code == "cancelled" and dict(runtime.state.playlists) == {}
