"""Console fan-out benchmarks against `python -m appliance run` (stand-in player), with
the clients in this separate process on one asyncio loop.

- fan-out: N websocket windows; from POST /api/ui/command SET_VOLUME to the moment the
  last window holds the event (p50/p99), for N=200 and N=500; the command's own response
  time; server memory per window;
- queue churn: 200 windows while the queue changes 20 times a second (add, remove); time
  until every window holds the new queue; the same with 200 SSE clients;
- reconnect storm: 200 windows drop and reconnect at once; time until all hold a snapshot.

Prints the figures, then one JSON line per figure. Never fails on timing.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import requests  # noqa: E402

from bench.liveclients import Frame, Reader, open_sse, open_ws, queue_churn  # noqa: E402
from tests.support.server import STAFF_PIN, start_box_process  # noqa: E402

HOST = "127.0.0.1"
RESULTS: list[dict[str, Any]] = []


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def record(metric: str, value: float, unit: str, target: float | None = None) -> None:
    RESULTS.append({"metric": metric, "value": round(value, 3), "unit": unit, "target": target})
    print(f"  {metric}: {value:.3f} {unit}" + (f" (target {target})" if target else ""))


class Staff:
    def __init__(self, url: str) -> None:
        self.url = url
        self.s = requests.Session()
        r = self.s.post(url + "/api/auth/login", json={"pin": STAFF_PIN})
        self.s.headers["X-CSRF-Token"] = r.json()["csrfToken"]

    def post(self, path: str, body: dict[str, Any]) -> tuple[dict[str, Any], float]:
        t0 = time.perf_counter()
        r = self.s.post(self.url + path, json=body, timeout=30)
        return r.json(), t0


class Fleet:
    """N readers; `waiters` are (predicate, arrivals) pairs fed from every frame."""

    def __init__(self, n: int, kind: str) -> None:
        self.n = n
        self.kind = kind
        self.readers: list[Reader] = []
        self.watch: Callable[[Reader, Frame, float], None] | None = None

    def on_frame(self, reader: Reader, frame: Frame, at: float) -> None:
        if frame["type"] == "SNAPSHOT":
            reader.snapshots += 1
        if self.watch is not None:
            self.watch(reader, frame, at)

    async def connect(self, port: int) -> None:
        opener = open_ws if self.kind == "ws" else open_sse
        self.readers = [Reader(self.on_frame) for _ in range(self.n)]
        for i in range(0, self.n, 50):  # in waves, as phones arrive
            await asyncio.gather(*(opener(HOST, port, r) for r in self.readers[i : i + 50]))
        await wait_until(lambda: all(r.snapshots for r in self.readers), 60)

    def close(self) -> None:
        for r in self.readers:
            r.drop()


async def wait_until(pred: Callable[[], bool], timeout: float) -> bool:
    deadline = time.perf_counter() + timeout
    while not pred():
        if time.perf_counter() > deadline:
            return False
        await asyncio.sleep(0.002)
    return True


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def bench_fanout(box, staff: Staff, n: int, rounds: int = 60) -> None:
    before = rss_kb(box.proc.pid)
    fleet = Fleet(n, "ws")
    await fleet.connect(box.port)
    after = rss_kb(box.proc.pid)

    def send(i: int) -> tuple[dict, float]:
        return staff.post("/api/ui/command", {"command": "SET_VOLUME", "value": 10 + i % 80})

    # an arrival can beat the HTTP answer: arrivals are kept per rev and matched by rev
    all_in, responses, missed = await run_by_rev(fleet, rounds, send, "PLAYER_SETTINGS_UPDATE")
    fleet.close()
    record(f"fanout_ws_{n}_volume_p50", statistics.median(all_in), "ms", 20)
    record(f"fanout_ws_{n}_volume_p99", pct(all_in, 99), "ms", 20)
    record(f"fanout_ws_{n}_command_response_p50", statistics.median(responses), "ms")
    record(f"fanout_ws_{n}_command_response_p99", pct(responses, 99), "ms")
    record(f"fanout_ws_{n}_rounds_missed", missed, "rounds", 0)
    record(f"server_memory_per_ws_client_{n}", (after - before) / n, "KiB")


async def run_by_rev(
    fleet: Fleet,
    rounds: int,
    send: Callable[[int], tuple[dict, float]],
    event_type: str,
    spacing: float = 0.05,
) -> tuple[list[float], list[float], int]:
    """Rounds of one command each; per round the time from sending it until every reader
    holds an `event_type` frame with a rev at least the command's."""
    loop = asyncio.get_running_loop()
    arrivals: dict[int, dict[int, float]] = {}  # reader -> rev -> first arrival

    def watch(reader: Reader, frame: Frame, at: float) -> None:
        if frame["type"] == event_type:
            arrivals.setdefault(id(reader), {}).setdefault(frame["rev"], at)

    fleet.watch = watch
    all_in: list[float] = []
    responses: list[float] = []
    missed = 0
    for i in range(rounds):
        t0 = time.perf_counter()
        body, _ = await loop.run_in_executor(None, send, i)
        responses.append((time.perf_counter() - t0) * 1000)
        rev = body.get("rev", 0)

        def first_at_or_after(rid: int, rev: int = rev) -> float | None:
            got = [at for r, at in arrivals.get(rid, {}).items() if r >= rev]
            return min(got) if got else None

        ok = await wait_until(
            lambda: all(first_at_or_after(id(r)) is not None for r in fleet.readers), 20
        )
        if ok:
            all_in.append((max(first_at_or_after(id(r)) for r in fleet.readers) - t0) * 1000)
        else:
            missed += 1
        if spacing:
            await asyncio.sleep(spacing)
    fleet.watch = None
    return all_in, responses, missed


async def bench_churn(box, staff: Staff, kind: str, n: int = 200, seconds: float = 8) -> None:
    fleet = Fleet(n, kind)
    await fleet.connect(box.port)
    send = queue_churn(staff)

    rounds = int(seconds * 20)
    start = time.perf_counter()
    all_in, responses, missed = await run_by_rev_paced(fleet, rounds, send, 0.05)
    elapsed = time.perf_counter() - start
    fleet.close()
    record(f"churn_{kind}_{n}_queue_p50", statistics.median(all_in), "ms", 25)
    record(f"churn_{kind}_{n}_queue_p99", pct(all_in, 99), "ms", 25)
    record(f"churn_{kind}_{n}_changes_per_s", rounds / elapsed, "1/s")  # the load achieved
    record(f"churn_{kind}_{n}_rounds_missed", missed, "rounds", 0)


async def run_by_rev_paced(fleet: Fleet, rounds: int, send, period: float):
    """Like run_by_rev but commands go out on a fixed 20/s clock, not after the last
    window caught up, so changes overlap as they do in a busy bar."""
    loop = asyncio.get_running_loop()
    arrivals: dict[int, dict[int, float]] = {}

    def watch(reader: Reader, frame: Frame, at: float) -> None:
        if frame["type"] == "QUEUE_UPDATE":
            arrivals.setdefault(id(reader), {}).setdefault(frame["rev"], at)

    fleet.watch = watch
    sent: list[tuple[float, int]] = []
    responses: list[float] = []
    t_next = time.perf_counter()
    for i in range(rounds):
        t0 = time.perf_counter()
        body, _ = await loop.run_in_executor(None, send, i)
        responses.append((time.perf_counter() - t0) * 1000)
        sent.append((t0, body.get("rev", 0)))
        t_next += period
        await asyncio.sleep(max(0.0, t_next - time.perf_counter()))
    last_rev = sent[-1][1]
    await wait_until(
        lambda: all(any(r >= last_rev for r in arrivals.get(id(x), {})) for x in fleet.readers), 30
    )
    fleet.watch = None
    all_in: list[float] = []
    missed = 0
    for t0, rev in sent:
        firsts = []
        for r in fleet.readers:
            got = [at for rv, at in arrivals.get(id(r), {}).items() if rv >= rev]
            if got:
                firsts.append(min(got))
        if len(firsts) == len(fleet.readers):
            all_in.append((max(firsts) - t0) * 1000)
        else:
            missed += 1
    return all_in, responses, missed


async def bench_storm(box, n: int = 200) -> None:
    fleet = Fleet(n, "ws")
    await fleet.connect(box.port)
    fleet.close()
    fresh = [Reader(fleet.on_frame) for _ in range(n)]
    fleet.readers = fresh
    t0 = time.perf_counter()
    results = await asyncio.gather(
        *(open_ws(HOST, box.port, r) for r in fresh), return_exceptions=True
    )
    refused = sum(1 for x in results if isinstance(x, Exception))
    ok = await wait_until(lambda: sum(1 for r in fresh if r.snapshots) >= n - refused, 60)
    elapsed = (time.perf_counter() - t0) * 1000
    fleet.close()
    record(f"reconnect_storm_{n}_all_snapshots", elapsed if ok else float("nan"), "ms")
    record(f"reconnect_storm_{n}_refused", refused, "clients", 0)


async def main() -> None:
    data = Path(tempfile.mkdtemp(prefix="bench-web-")) / "data"
    os.environ["DJAMMS_DEMO_MEDIA"] = "false"  # no clip-making or scanning during the runs
    box = start_box_process(data)
    try:
        staff = Staff(box.url)
        tracks = [
            {"video_id": f"b{i}", "title": f"Track {i}", "artist": "Bench", "duration": 600}
            for i in range(100)
        ]
        pl, _ = staff.post(
            "/api/playlist/manage", {"action": "create", "name": "B", "tracks": tracks}
        )
        staff.post(
            "/api/playlist/manage",
            {"action": "load", "playlistId": pl["result"]["playlist"]["playlist_id"]},
        )
        print("fan-out, 200 websocket windows")
        await bench_fanout(box, staff, 200)
        print("fan-out, 500 websocket windows")
        await bench_fanout(box, staff, 500, rounds=40)
        print("queue churn, 200 websocket windows, 20 changes/s")
        await bench_churn(box, staff, "ws")
        print("queue churn, 200 SSE clients, 20 changes/s")
        await bench_churn(box, staff, "sse")
        print("reconnect storm, 200 windows")
        await bench_storm(box)
    finally:
        box.stop()
    for row in RESULTS:
        print(json.dumps(row))


if __name__ == "__main__":
    threading.stack_size(512 * 1024)
    asyncio.run(main())
