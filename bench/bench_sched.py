"""Benchmarks for schedules/import/backup: prints figures, ends with one JSON line each.

1. Import of a 13,000-entry playlist through real yt-dlp (flat extraction of a feed served
   on 127.0.0.1), then loading it into the queue, on a journaled store with fsync, while a
   console changes the volume every 20 ms: total time, peak memory, worst command latency.
2. Backup and restore of a venue with 50 playlists and 100,000 activity-log entries.
"""

from __future__ import annotations

import io
import json
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from appliance.atomic_storage import AtomicJSONStorage  # noqa: E402
from appliance.backup import Backups  # noqa: E402
from appliance.core import messages as m  # noqa: E402
from appliance.core.model import LogEntry, Playlist, PlaylistTrack, frozen_map  # noqa: E402
from appliance.library.importer import PlaylistImporter  # noqa: E402
from appliance.runtime import Runtime  # noqa: E402
from appliance.snapshot import SNAPSHOT, state_to_tables  # noqa: E402
from appliance.store import FileStore  # noqa: E402
from tests.support.listserver import ListServer, rss_feed  # noqa: E402

STAFF = m.Actor(user_id="owner", role="admin", source="bench")
FIGURES: list[dict] = []


def figure(
    metric: str, value: float, unit: str, target: float, samples: list[float] | None = None
) -> None:
    line = {"metric": metric, "value": round(value, 3), "unit": unit, "target": target}
    if samples:
        line["samples"] = [round(x, 3) for x in samples]
    FIGURES.append(line)
    print(f"{metric}: {value:.3f} {unit} (target {target})")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class ConsoleLoad:
    """A console changing the volume every 20 ms; records how long each answer took."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.latencies_ms: list[float] = []
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        i = 0
        while not self._done.is_set():
            t0 = time.perf_counter()
            msg = m.UiCommand(actor=STAFF, command="SET_VOLUME", value=i % 100)
            self.rt.submit(msg, timeout=120)
            self.latencies_ms.append((time.perf_counter() - t0) * 1000)
            i += 1
            self._done.wait(0.02)

    def __enter__(self) -> ConsoleLoad:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()
        self.latencies_ms.sort()

    def p99(self) -> float:
        return self.latencies_ms[int(len(self.latencies_ms) * 0.99)]


def bench_import(tmp: Path) -> None:
    server = ListServer()
    server.routes["/big.xml"] = ("application/rss+xml", rss_feed(server.url(""), 13_000))
    rt = Runtime(FileStore(tmp / "import"))
    rt.start()
    try:
        rt.submit(m.SetupVenue(owner_user_id="owner"))
        rss_before = peak_rss_mb()
        with ConsoleLoad(rt) as load:
            t0 = time.perf_counter()
            report = PlaylistImporter(rt).import_now(STAFF, url=server.url("/big.xml"))
            t1 = time.perf_counter()
            params = {"playlistId": report.playlist_id}
            loaded = rt.submit(
                m.ManagePlaylist(actor=STAFF, action="load", params=params), timeout=120
            )
            t2 = time.perf_counter()
        assert report.imported == 13_000 and loaded.ok
        assert len(rt.state.venue.active_queue) >= 12_999
        ms = load.latencies_ms
        print(f"import: {report.imported} tracks, {len(ms)} console commands meanwhile")
        figure("import_13000_seconds", t1 - t0, "s", 60)
        figure("load_13000_seconds", t2 - t1, "s", 2)
        figure("import_load_peak_rss_mb", peak_rss_mb(), "MB", 400)
        figure("import_load_rss_growth_mb", peak_rss_mb() - rss_before, "MB", 200)
        figure("import_worst_command_latency_ms", ms[-1], "ms", 1000, samples=ms)
        figure("import_p99_command_latency_ms", load.p99(), "ms", 200)
    finally:
        rt.stop()
        server.stop()


def venue_dir(path: Path, n_log: int) -> None:
    """A data dir holding a venue with 50 playlists x 200 tracks and `n_log` log entries."""
    rt = Runtime(FileStore(path))
    rt.start()
    rt.submit(m.SetupVenue(owner_user_id="owner", venue_name="Bench Bar"))
    state = rt.state
    rt.stop()
    playlists = {
        f"pl{i}": Playlist(
            playlist_id=f"pl{i}",
            name=f"Playlist {i}",
            owner_id="owner",
            venue_id="owner",
            tracks=tuple(
                PlaylistTrack(f"vid{i:02d}{n:05d}", f"Song {n}", f"Artist {n % 97}", 200, "", n)
                for n in range(200)
            ),
            track_count=200,
        )
        for i in range(50)
    }
    log = tuple(
        LogEntry(
            log_id=f"lb{n}",
            timestamp=f"2026-{1 + n % 12:02d}-{1 + n % 28:02d}T12:00:00.000Z",
            event_type="track_added",
            user_id="owner",
            venue_id="owner",
            event_data=frozen_map({"video_id": f"vid{n:06d}", "queue": "active"}),
        )
        for n in range(n_log)
    )
    from dataclasses import replace

    big = replace(
        state,
        playlists=frozen_map(playlists),
        activity_log=log,
        log_retention=max(n_log, 10_000),
        seq=state.seq + 200_000,
    )
    for p in (path / "journal").glob("*.jsonl"):
        p.unlink()
    AtomicJSONStorage(str(path / SNAPSHOT)).write(state_to_tables(big, 0))


def bench_backup(tmp: Path, n_log: int) -> None:
    tag = f"50pl_{n_log // 1000}k_log"
    tmp = tmp / tag
    venue_dir(tmp / "src", n_log)
    src = Runtime(FileStore(tmp / "src"))
    src.start(boot=False)
    try:
        assert len(src.state.activity_log) == n_log and len(src.state.playlists) == 50
        t0 = time.perf_counter()
        archive = b"".join(Backups(src, tmp / "src").stream())
        t1 = time.perf_counter()
    finally:
        src.stop()
    dst_store = FileStore(tmp / "dst")
    dst = Runtime(dst_store)
    dst.start(boot=False)
    try:
        dst.submit(m.SetupVenue(owner_user_id="other"))
        with ConsoleLoad(dst) as load:
            t2 = time.perf_counter()
            Backups(dst, tmp / "dst").restore(io.BytesIO(archive), STAFF, trust_foreign=True)
            t3 = time.perf_counter()
            dst_store.settle()  # the snapshot the restore sets off runs under the load too
        assert (
            len(dst.state.playlists) == 50 and len(dst.state.activity_log) == n_log
        )  # at retention: the oldest made way
    finally:
        dst.stop()
    print(f"backup archive: {len(archive) / 1e6:.1f} MB")
    figure(f"backup_seconds_{tag}", t1 - t0, "s", 30)
    figure(f"backup_archive_mb_{tag}", len(archive) / 1e6, "MB", 100)
    figure(f"restore_seconds_{tag}", t3 - t2, "s", 60)
    ms = load.latencies_ms
    figure(f"restore_worst_command_latency_ms_{tag}", ms[-1], "ms", 2000, samples=ms)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        bench_import(Path(tmp))
        bench_backup(Path(tmp), 100_000)  # the figure the issue asks for
        bench_backup(Path(tmp), 10_000)  # the default activity-log retention
    for f in FIGURES:
        print(json.dumps(f))


if __name__ == "__main__":
    main()
