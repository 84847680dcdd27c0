"""Bytes written to the data dir per simulated hour of playback, and submit -> ack
latency with the real store (fsync) included.

The simulated hour: a heartbeat every 5 s (with position), a track change every 3.5 min
(TrackEnded, TrackStarted, a PlayerStatus), 30 patron requests per hour, on a venue whose
activity_log is already at its retention limit (steady state). Two rotations: 300 tracks
(a typical bar) and 20,000. Time is an injected clock; only fsync waits are real.

Beside it, the naive figure: plain TinyDB JSONStorage rewriting the whole state on every
change, heartbeats included.

Then a big venue (50 playlists x 200 tracks, 100,000 log entries: a 24 MB snapshot):
loading it, writing its snapshot, and a journal's lines written and read back, plain and
again under the Pi budget (../shared/tools/pi-budget: 25 % of one core) when it can be used.
Ends with one JSON line per figure.

    python bench/bench_store.py [--load-only] [--capped --venue DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script from anywhere: import this checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from appliance.core import messages as m  # noqa: E402
from appliance.core.model import State, TrackInfo  # noqa: E402
from appliance.runtime import Runtime  # noqa: E402
from appliance.snapshot import SNAPSHOT, state_to_tables, write_snapshot  # noqa: E402
from appliance.store import FileStore  # noqa: E402
from bench.bench_sched import venue_dir  # noqa: E402

ADMIN = m.Actor(user_id="owner", role="admin", source="web")
PLAYER = m.Actor(user_id="player", role="admin", source="player")
HEARTBEAT_EVERY = 5.0
TRACK_EVERY = 210.0
REQUESTS_PER_HOUR = 30
BIG_LOG = 100_000
JOURNAL_LINES = 800  # below the journal size that sets off a snapshot
PI_BUDGET = Path(__file__).resolve().parents[2] / "shared" / "tools" / "pi-budget"
MACHINE = f"{os.cpu_count()}-core {os.uname().machine}"


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def prepare(data_dir: Path, rotation: int, clock: Clock) -> None:
    """A venue playing a `rotation`-track playlist with a full activity log (no fsync)."""
    rt = Runtime(FileStore(data_dir, fsync=False), clock)
    rt.start(boot=False)
    rt.submit(m.SetupVenue(owner_user_id="owner"))
    tracks = [
        {
            "video_id": f"yt{i:06d}",
            "title": f"Song title {i}",
            "artist": f"Artist {i % 500}",
            "duration": 210,
            "thumbnail": f"https://i.ytimg.com/vi/yt{i:06d}/mqdefault.jpg",
        }
        for i in range(rotation)
    ]
    out = rt.submit(
        m.ManagePlaylist(action="create", params={"name": "House", "tracks": tracks}, actor=ADMIN)
    )
    pid = out.result["playlist"].playlist_id
    rt.submit(m.ManagePlaylist(action="set_default", params={"playlistId": pid}, actor=ADMIN))
    rt.submit(m.ManagePlaylist(action="load", params={"playlistId": pid}, actor=ADMIN))
    for i in range(rt.state.log_retention):
        rt.submit(m.RecordLog(event_type="history", event_data={"i": i, "note": "x" * 60}))
    rt.stop()


def simulate(data_dir: Path, clock: Clock, hours: float, naive_samples: int = 6) -> dict:
    store = FileStore(data_dir)  # real fsync from here on
    rt = Runtime(store, clock)
    rt.start(boot=False)
    start_bytes = store.bytes_written
    acks: list[float] = []
    changes = 0  # messages that changed the state (what a naive store would write)
    naive_sizes: list[int] = []
    end = clock.now + hours * 3600
    next_track = clock.now + TRACK_EVERY
    next_request = clock.now + 3600 / REQUESTS_PER_HOUR
    request_no = 0
    sample_every = max(1, int(hours * 3600 / HEARTBEAT_EVERY / naive_samples))
    beats = 0

    def submit(msg: m.Message) -> None:
        nonlocal changes
        before = rt.state
        t0 = time.perf_counter()
        reply = rt.submit(msg, timeout=60)
        elapsed = time.perf_counter() - t0
        if rt.state is not before:
            changes += 1
        if reply.ok and reply.rev != before.rev:
            acks.append(elapsed)

    while clock.now < end:
        clock.now += HEARTBEAT_EVERY
        np = rt.state.venue.now_playing
        pid = np.play_id if np else ""
        if clock.now >= next_track:
            next_track += TRACK_EVERY
            submit(m.TrackEnded(play_id=pid, actor=PLAYER))
            pid = rt.state.venue.now_playing.play_id
            submit(m.TrackStarted(play_id=pid, actor=PLAYER))
            submit(m.PlayerStatus(play_id=pid, state="playing", position=0.5, actor=PLAYER))
        if clock.now >= next_request:
            next_request += 3600 / REQUESTS_PER_HOUR
            request_no += 1
            who = m.Actor(user_id=f"guest{request_no % 40}", role="user", source="web")
            submit(m.AddToQueue(track=TrackInfo(f"req{request_no}", duration=200), actor=who))
        position = TRACK_EVERY - (next_track - clock.now)
        submit(m.Heartbeat(position=position, play_id=pid))
        beats += 1
        if beats % sample_every == 0:
            naive_sizes.append(len(json.dumps(state_to_tables(rt.state, 0))))
    written = store.bytes_written - start_bytes
    snapshots = store.snapshots_written
    snapshot_size = (data_dir / "djamms.json").stat().st_size
    rt.stop()
    acks.sort()
    naive_per_change = sum(naive_sizes) / len(naive_sizes)
    return {
        "bytes_per_hour": written / hours,
        "snapshots": snapshots,
        "snapshot_size": snapshot_size,
        "changes_per_hour": changes / hours,
        "naive_per_hour": naive_per_change * changes / hours,
        "ack_p50_ms": acks[len(acks) // 2] * 1e3,
        "ack_p99_ms": acks[int(len(acks) * 0.99)] * 1e3,
        "acks": len(acks),
        "ack_samples_ms": [round(a * 1e3, 3) for a in acks],
    }


def run(rotation: int, hours: float) -> dict:
    base = Path(tempfile.mkdtemp(prefix="djamms-bench-", dir=os.environ.get("BENCH_DIR")))
    try:
        clock = Clock()
        prepare(base, rotation, clock)
        return simulate(base, clock, hours)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def journal_round(path: Path) -> tuple[float, float]:
    """Seconds per journal line: building it (on the caller's thread, as the runtime does)
    and reading it back at load (parse + message decode)."""
    store = FileStore(path, fsync=False)
    store.load()  # the writer starts after the lines are built: they are timed alone
    guest = m.Actor(user_id="guest7", role="user", source="web")
    msgs: list[m.Message] = []
    for i in range(JOURNAL_LINES // 4):
        msgs += [
            m.Heartbeat(position=i * 5.0, play_id=f"p{i}"),
            m.PlayerStatus(play_id=f"p{i}", state="playing", position=0.5, actor=PLAYER),
            m.AddToQueue(track=TrackInfo(f"req{i}", title=f"Song {i}", duration=200), actor=guest),
            m.UiCommand(command="SET_VOLUME", value=i % 100, actor=ADMIN),
        ]
    empty = State()
    t0 = time.perf_counter()
    done = [store.append(msg, 1_700_000_000.0 + i, empty) for i, msg in enumerate(msgs)]
    t1 = time.perf_counter()
    store.start()
    done[-1].result(timeout=60)
    store.close()
    t2 = time.perf_counter()
    _, entries = FileStore(path, readonly=True).load()
    t3 = time.perf_counter()
    assert len(entries) == len(msgs), (len(entries), len(msgs))
    return (t1 - t0) / len(msgs), (t3 - t2) / len(msgs)


def big_venue_figures(venue: Path, capped: bool) -> list[dict]:
    """Load the big venue, write its snapshot, write and read journal lines (3 runs each,
    medians)."""
    size = (venue / SNAPSHOT).stat().st_size
    loads, writes, enc, dec = [], [], [], []
    with tempfile.TemporaryDirectory(prefix="djamms-bench-", dir=os.environ.get("BENCH_DIR")) as t:
        for run in range(3):
            t0 = time.perf_counter()
            state, _ = FileStore(venue, readonly=True).load()
            loads.append(time.perf_counter() - t0)
            assert len(state.activity_log) == BIG_LOG
            out = Path(t) / f"snap{run}"
            out.mkdir()
            t0 = time.perf_counter()
            write_snapshot(out, state, 0)
            writes.append(time.perf_counter() - t0)
            del state  # the next load starts as the box's does, with nothing else built
            e, d = journal_round(Path(t) / f"journal{run}")
            enc.append(e)
            dec.append(d)
    load, write = statistics.median(loads), statistics.median(writes)
    label = "pi-budget" if capped else "plain"
    print(
        f"big venue ({label}): {size / 1e6:.1f} MB snapshot, load {load * 1e3:.0f} ms "
        f"({size / load / 1e6:.0f} MB/s), snapshot write {write * 1e3:.0f} ms "
        f"({size / write / 1e6:.0f} MB/s); journal line built {statistics.median(enc) * 1e6:.1f}"
        f" us, read back {statistics.median(dec) * 1e6:.1f} us"
    )
    figures = [
        ("store.venue_load_100k_log", load * 1e3, "ms", None),
        ("store.snapshot_decode_100k_log", size / load / 1e6, "MB/s", None),
        ("store.snapshot_write_100k_log", write * 1e3, "ms", None),
        ("store.snapshot_encode_100k_log", size / write / 1e6, "MB/s", None),
        ("store.journal_line_encode", statistics.median(enc) * 1e6, "us", None),
        ("store.journal_line_decode", statistics.median(dec) * 1e6, "us", None),
    ]
    return [
        {"metric": metric, "value": round(value, 3), "unit": unit, "target": target,
         "capped": capped, "machine": MACHINE}
        for metric, value, unit, target in figures
    ]  # fmt: skip


def big_venue_runs() -> list[dict]:
    """Each in a fresh process, as a box loads at boot: plain, then under the Pi budget
    (needs root)."""
    base = Path(tempfile.mkdtemp(prefix="djamms-bench-", dir=os.environ.get("BENCH_DIR")))
    try:
        venue_dir(base / "venue", BIG_LOG)
        cmd = [sys.executable, __file__, "--venue", str(base / "venue")]
        runs = [cmd]
        if PI_BUDGET.exists() and os.geteuid() == 0:
            runs.append([str(PI_BUDGET), "--", *cmd, "--capped"])
        else:
            print("pi-budget not usable here: no capped figures")
        lines = []
        for run in runs:
            out = subprocess.run(run, capture_output=True, text=True, timeout=900, check=True)
            for line in out.stdout.splitlines():
                if line.startswith("{"):
                    lines.append(json.loads(line))
                else:
                    print(line)
        return lines
    finally:
        shutil.rmtree(base, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--load-only", action="store_true", help="only the big venue's figures")
    ap.add_argument("--capped", action="store_true", help="label figures as capped")
    ap.add_argument("--venue", type=Path, help="a data dir made by bench_sched.venue_dir")
    args = ap.parse_args()
    if args.venue:
        for line in big_venue_figures(args.venue, args.capped):
            print(json.dumps(line))
        return
    big = big_venue_runs()
    if not args.load_only:
        hours()
    for line in big:
        print(json.dumps(line))


def hours() -> None:
    figures = []
    for rotation, hours in ((300, 12.0), (20_000, 4.0)):
        r = run(rotation, hours)
        # A snapshot is written when the journal since the last one outgrows it, so over
        # a long run snapshots add at most as many bytes as the journal: <= 2x journal.
        bound = 2 * r["bytes_per_hour"] if r["snapshots"] == 0 else r["bytes_per_hour"]
        print(
            f"rotation {rotation}: {hours:g} simulated h, {r['changes_per_hour']:.0f} changes/h, "
            f"journal+snapshots {r['bytes_per_hour'] / 1e3:.1f} kB/h "
            f"({r['snapshots']} snapshots, snapshot {r['snapshot_size'] / 1e6:.2f} MB), "
            f"steady-state bound {bound / 1e3:.1f} kB/h; naive TinyDB "
            f"{r['naive_per_hour'] / 1e6:.0f} MB/h; ack p50 {r['ack_p50_ms']:.2f} ms "
            f"p99 {r['ack_p99_ms']:.2f} ms over {r['acks']} acks"
        )
        tag = f"{rotation}_tracks"
        figures += [
            (f"store.bytes_per_hour_{tag}", bound / 1e6, "MB/h", 2),
            (f"store.bytes_per_hour_measured_{tag}", r["bytes_per_hour"] / 1e6, "MB/h", 2),
            (f"store.naive_tinydb_bytes_per_hour_{tag}", r["naive_per_hour"] / 1e6, "MB/h", None),
            (f"store.submit_ack_p50_{tag}", r["ack_p50_ms"], "ms", None),
            (f"store.submit_ack_p99_{tag}", r["ack_p99_ms"], "ms", None, r["ack_samples_ms"]),
        ]
    for metric, value, unit, target, *samples in figures:
        line = {"metric": metric, "value": round(value, 3), "unit": unit, "target": target}
        if samples:  # raw latencies (ms) for the report's distribution plot
            line["samples"] = samples[0]
        print(json.dumps(line))


if __name__ == "__main__":
    main()
