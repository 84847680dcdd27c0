"""The console's live sync beside Debian's Mopidy, in one run, plain and under the Pi budget
(`../shared/tools/pi-budget`: 25 % of one core, a stand-in for a Pi 4 core).

For each server (DJAMMS's `python -m appliance run`, Mopidy with its own config: HTTP on a
free 127.0.0.1 port, no other frontends, file/m3u off, streams not probed):
- a command's answer at idle: DJAMMS `POST /api/ui/command` and a websocket COMMAND to its
  ACK; Mopidy a JSON-RPC `core.mixer.set_volume` round trip over /mopidy/ws and /mopidy/rpc;
- the server process idle with 200 websocket windows open: CPU (% of one core) and RSS;
- a volume change until all 200 windows hold it (Mopidy: the `volume_changed` event);
- a queue change, 20 a second (add, remove), until all 200 windows hold the new queue
  (Mopidy windows refetch `core.tracklist.get_tl_tracks` on each `tracklist_changed`).
The two servers run one after the other (the budget's cgroup is shared), the clients in
this process on one asyncio loop. Prints one JSON line per figure with the ratios
DJAMMS / Mopidy. Never fails on timing; without Mopidy it prints DJAMMS's figures only.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.bench_web import Fleet, Staff, pct, rss_kb, run_by_rev, run_by_rev_paced  # noqa: E402
from bench.liveclients import queue_churn  # noqa: E402
from bench.mopidy_harness import BlockingWs, MopidyFleet, Rpc, mopidy_process  # noqa: E402
from tests.support.server import start_box_process  # noqa: E402

HOST = "127.0.0.1"
PI_BUDGET = REPO.parent / "shared" / "tools" / "pi-budget"
MACHINE = f"{os.cpu_count()}-core x86_64"
WINDOWS = 200
IDLE_SAMPLES = 300
VOLUME_ROUNDS = 50
CHURN_SECONDS = 5.0
IDLE_SECONDS = 16.0  # longer than the keepalive: its pings are idle work too
FIGURES: dict[tuple[str, bool], float] = {}


def emit(metric: str, value: float, unit: str, target: float | None, capped: bool) -> None:
    FIGURES[(metric, capped)] = value
    line = {"metric": metric, "value": round(value, 3), "unit": unit, "target": target,
            "capped": capped, "machine": MACHINE}  # fmt: skip
    print(json.dumps(line), flush=True)


def cap(pid: int) -> None:
    subprocess.run([str(PI_BUDGET), "--pid", str(pid)], check=True, capture_output=True)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(fn: Callable[[int], object], n: int = IDLE_SAMPLES) -> list[float]:
    out = []
    for i in range(n):
        t0 = time.perf_counter()
        fn(i)
        out.append((time.perf_counter() - t0) * 1000)
        time.sleep(0.01)  # idle between commands: each answer is a cold one
    return out[10:]  # the first few warm caches and connections


def settle(pid: int, timeout: float = 20.0) -> None:
    """Until the server is idle (under 2 % of a core over half a second), so "at idle"
    figures do not time its start-up or its resolving ahead."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        c0 = cpu_seconds(pid)
        time.sleep(0.5)
        if cpu_seconds(pid) - c0 < 0.01:
            return


def emit_latency(name: str, values: list[float], capped: bool, target50: float | None) -> None:
    if not values:  # every round missed: the `_missed` figure says how many
        print(f"bench_vs_mopidy: {name}: no round completed", file=sys.stderr)
        return
    emit(f"{name}_p50", statistics.median(values), "ms", target50, capped)
    emit(f"{name}_p99", pct(values, 99), "ms", None, capped)


async def idle_load(pid: int, capped: bool, who: str) -> None:
    """CPU and RSS of the server while the windows are open and nothing changes."""
    c0, t0 = cpu_seconds(pid), time.perf_counter()
    await asyncio.sleep(IDLE_SECONDS)
    share = (cpu_seconds(pid) - c0) / (time.perf_counter() - t0) * 100
    emit(f"{who}_idle_{WINDOWS}_windows_cpu", share, "% of one core",
         1 if who == "djamms" else None, capped)  # fmt: skip
    emit(f"{who}_idle_{WINDOWS}_windows_rss", rss_kb(pid) / 1024, "MB",
         120 if who == "djamms" else None, capped)  # fmt: skip


# -- DJAMMS ---------------------------------------------------------------------------


async def run_djamms(capped: bool) -> None:
    data = Path(tempfile.mkdtemp(prefix="bench-vs-mopidy-")) / "data"
    os.environ["DJAMMS_DEMO_MEDIA"] = "false"
    box = start_box_process(data)
    try:
        if capped:
            cap(box.proc.pid)
        staff = Staff(box.url)
        tracks = [{"video_id": f"b{i}", "title": f"Track {i}", "artist": "Bench",
                   "duration": 600} for i in range(100)]  # fmt: skip
        pl, _ = staff.post("/api/playlist/manage", {"action": "create", "name": "B",
                                                    "tracks": tracks})  # fmt: skip
        playlist_id = pl["result"]["playlist"]["playlist_id"]
        staff.post("/api/playlist/manage", {"action": "load", "playlistId": playlist_id})
        settle(box.proc.pid)  # loading the playlist starts resolving tracks ahead
        djamms_commands(box.port, staff, capped)
        await fanout(box.proc.pid, box.port, staff, capped)
        await churn(box.port, staff, capped)
    finally:
        box.stop()


class DjammsCommands:
    """A staff member's SET_VOLUME commands to the box, one at a time, each until its
    answer: over a websocket window (until the ACK; the window opens at the first) and over
    HTTP. `close_ws()` before timing HTTP: an open window's events are work for the box."""

    def __init__(self, port: int, staff: Staff) -> None:
        cookie = "; ".join(f"{k}={v}" for k, v in staff.s.cookies.items())
        self.port, self.cookie = port, cookie
        self.ws: BlockingWs | None = None
        self.conn = http.client.HTTPConnection(HOST, port, timeout=30)
        self.headers = {"Content-Type": "application/json", "Cookie": cookie,
                        "X-CSRF-Token": staff.s.headers["X-CSRF-Token"]}  # fmt: skip

    def over_ws(self, i: int) -> None:
        text = json.dumps({"type": "COMMAND", "commandId": f"c{i}-{time.time()}",
                           "command": "SET_VOLUME", "value": 10 + i % 80})  # fmt: skip
        if self.ws is None:
            self.ws = BlockingWs(self.port, "/ws", self.cookie)
        self.ws.call(text, lambda p: p.startswith(b'{"type":"ACK"'))

    def over_http(self, i: int) -> None:
        body = json.dumps({"command": "SET_VOLUME", "value": 10 + i % 80})
        self.conn.request("POST", "/api/ui/command", body, self.headers)
        resp = self.conn.getresponse()
        assert resp.status == 200, resp.read()
        resp.read()

    def close_ws(self) -> None:
        if self.ws is not None:
            self.ws.close()
            self.ws = None

    def close(self) -> None:
        self.close_ws()
        self.conn.close()


def djamms_commands(port: int, staff: Staff, capped: bool) -> None:
    send = DjammsCommands(port, staff)
    emit_latency("djamms_command_http_idle", timed(send.over_http), capped, 1)
    emit_latency("djamms_command_ws_idle", timed(send.over_ws), capped, 1)
    send.close()


async def fanout(pid: int, port: int, staff: Staff, capped: bool) -> None:
    fleet = Fleet(WINDOWS, "ws")
    await fleet.connect(port)
    await idle_load(pid, capped, "djamms")

    def send(i: int) -> tuple[dict, float]:
        return staff.post("/api/ui/command", {"command": "SET_VOLUME", "value": 10 + i % 80})

    all_in, _, missed = await run_by_rev(fleet, VOLUME_ROUNDS, send, "PLAYER_SETTINGS_UPDATE")
    fleet.close()
    emit_latency(f"djamms_volume_all_{WINDOWS}", all_in, capped, None)
    emit(f"djamms_volume_all_{WINDOWS}_missed", missed, "rounds", 0, capped)


async def churn(port: int, staff: Staff, capped: bool) -> None:
    fleet = Fleet(WINDOWS, "ws")
    await fleet.connect(port)
    send = queue_churn(staff)

    all_in, _, missed = await run_by_rev_paced(fleet, int(CHURN_SECONDS * 20), send, 0.05)
    fleet.close()
    emit_latency(f"djamms_queue_all_{WINDOWS}", all_in, capped, None)
    emit(f"djamms_queue_all_{WINDOWS}_missed", missed, "rounds", 0, capped)


async def run_mopidy(capped: bool) -> None:
    with mopidy_process() as (proc, port):
        if capped:
            cap(proc.pid)
        rpc = Rpc(port)
        rpc("core.tracklist.add", uris=[f"http://127.0.0.1:9/b{i}.mp3" for i in range(100)])
        settle(proc.pid)
        emit_latency("mopidy_command_ws_idle",
                     timed(lambda i: rpc("core.mixer.set_volume", volume=10 + i % 80)),
                     capped, None)  # fmt: skip
        conn = http.client.HTTPConnection(HOST, port, timeout=30)

        def post(i: int) -> None:
            body = json.dumps({"jsonrpc": "2.0", "id": i, "method": "core.mixer.set_volume",
                               "params": {"volume": 10 + i % 80}})  # fmt: skip
            conn.request("POST", "/mopidy/rpc", body, {"Content-Type": "application/json"})
            conn.getresponse().read()

        emit_latency("mopidy_command_http_idle", timed(post), capped, None)
        conn.close()
        rpc("core.mixer.set_volume", volume=5)

        fleet = MopidyFleet(WINDOWS, "ws")
        await fleet.connect(port)
        await idle_load(proc.pid, capped, "mopidy")

        def volume(i: int) -> tuple[dict, float]:
            t0 = time.perf_counter()
            rpc("core.mixer.set_volume", volume=10 + i % 80)
            return {"rev": i + 1}, t0

        all_in, _, missed = await run_by_rev(fleet, VOLUME_ROUNDS, volume, "VOLUME")
        emit_latency(f"mopidy_volume_all_{WINDOWS}", all_in, capped, None)
        emit(f"mopidy_volume_all_{WINDOWS}_missed", missed, "rounds", None, capped)
        added: list[int] = []

        def change(i: int) -> tuple[dict, float]:
            t0 = time.perf_counter()
            if i % 2 == 0:
                got = rpc("core.tracklist.add", uris=[f"http://127.0.0.1:9/c{i}.mp3"])
                added.append(got[0]["tlid"])
            else:
                rpc("core.tracklist.remove", criteria={"tlid": [added.pop(0)]})
            return {"rev": i + 1}, t0

        all_in, _, missed = await run_by_rev_paced(fleet, int(CHURN_SECONDS * 20), change, 0.05)
        fleet.close()
        rpc.ws.close()
        emit_latency(f"mopidy_queue_all_{WINDOWS}", all_in, capped, None)
        emit(f"mopidy_queue_all_{WINDOWS}_missed", missed, "rounds", None, capped)


def ratios(capped: bool) -> None:
    pairs = [
        ("volume_all_200_p99", 0.25),
        ("queue_all_200_p99", 0.02),
        ("command_ws_idle_p50", None),
        ("command_http_idle_p50", None),
        ("idle_200_windows_cpu", None),
        ("idle_200_windows_rss", None),
    ]
    for name, target in pairs:
        ours, theirs = (
            FIGURES.get((f"djamms_{name}", capped)),
            FIGURES.get((f"mopidy_{name}", capped)),
        )
        if ours is not None and theirs:
            emit(f"ratio_{name}_vs_mopidy", ours / theirs, "ratio", target, capped)


async def main(args: argparse.Namespace) -> None:
    mopidy = shutil.which("mopidy") if args.mopidy else None
    budget = PI_BUDGET.exists() and os.geteuid() == 0 and not args.plain
    if not mopidy:
        print("bench_vs_mopidy: mopidy is not installed (apt-get install mopidy): "
              "DJAMMS's figures only, no ratios", file=sys.stderr)  # fmt: skip
    if not budget:
        print("bench_vs_mopidy: no pi-budget (needs root and the tool): plain run only",
              file=sys.stderr)  # fmt: skip
    for capped in (False, True) if budget else (False,):
        print(f"-- {'under pi-budget' if capped else 'plain'}", file=sys.stderr)
        await run_djamms(capped)
        if mopidy:
            await run_mopidy(capped)
        ratios(capped)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--plain", action="store_true", help="no run under pi-budget")
    ap.add_argument("--no-mopidy", dest="mopidy", action="store_false", help="DJAMMS only")
    parsed = ap.parse_args()
    threading.stack_size(512 * 1024)
    asyncio.run(main(parsed))
