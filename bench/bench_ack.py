"""A command's answer at idle, many times: websocket COMMAND->ACK and HTTP POST
/api/ui/command against `python -m appliance run`, each with min/p50/p99, and what
each command cost the box: thread wake-ups (voluntary context switches, all its threads,
background ones included) and CPU time. Wake-ups and CPU are steadier than latency on a
shared machine, so compare those first when before/after timings are noisy.

    python bench/bench_ack.py [N]   (default 1000 per path)
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.bench_vs_mopidy import DjammsCommands, cpu_seconds, settle, timed  # noqa: E402
from bench.bench_web import Staff, rss_kb  # noqa: E402
from tests.support.server import start_box_process  # noqa: E402


def wakeups(pid: int) -> int:
    total = 0
    for status in Path(f"/proc/{pid}/task").glob("*/status"):
        try:
            text = status.read_text()
        except OSError:  # a thread that ended meanwhile
            continue
        for line in text.splitlines():
            if line.startswith("voluntary_ctxt_switches"):
                total += int(line.split()[1])
    return total


def measure(name: str, pid: int, fn: Callable[[int], object], n: int) -> None:
    w0, c0 = wakeups(pid), cpu_seconds(pid)
    ms = sorted(timed(fn, n))
    per = len(ms) + 10  # timed() drops its first ten
    print(
        f"{name:5} min {ms[0]:.3f} p50 {statistics.median(ms):.3f} "
        f"p99 {ms[int(len(ms) * 0.99)]:.3f} ms (n={len(ms)})  "
        f"wake-ups/cmd {(wakeups(pid) - w0) / per:.2f}  "
        f"cpu/cmd {(cpu_seconds(pid) - c0) * 1000 / per:.3f} ms"
    )


def main(n: int) -> None:
    os.environ["DJAMMS_DEMO_MEDIA"] = "false"
    box = start_box_process(Path(tempfile.mkdtemp(prefix="bench-ack-")) / "data")
    try:
        pid = box.proc.pid
        staff = Staff(box.url)
        tracks = [{"video_id": f"b{i}", "title": f"Track {i}", "artist": "Bench",
                   "duration": 600} for i in range(100)]  # fmt: skip
        pl, _ = staff.post("/api/playlist/manage", {"action": "create", "name": "B",
                                                    "tracks": tracks})  # fmt: skip
        playlist_id = pl["result"]["playlist"]["playlist_id"]
        staff.post("/api/playlist/manage", {"action": "load", "playlistId": playlist_id})
        settle(pid)
        print(f"rss {rss_kb(pid) / 1024:.1f} MB with a playlist loaded")
        send = DjammsCommands(box.port, staff)
        measure("ws", pid, send.over_ws, n)
        send.close_ws()
        measure("http", pid, send.over_http, n)
        send.close()
    finally:
        box.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
