"""The fleet console at scale: N simulated venues (`bench/fleet_sim.py`, the box's own
topics, payloads and last will) on a real mosquitto on 127.0.0.1, the fleet console
(`djamms console` without `--venue`) in a process of its own.

Figures:
- page load: `GET /fleet` + `GET /api/fleet` as a logged-in staff member (p50/p99);
- change shown: a venue publishes a new track until a `/fleet/ws` client has it (p50/p99),
  while the rest of the fleet keeps changing (each venue every ~20 s, a 10 % burst every
  30 s);
- offline: a venue's socket closed without a DISCONNECT until the websocket shows it
  offline; and a venue that goes silent (socket open) until it shows offline, against the
  broker's will delay (1.5x the keepalive);
- memory: console RSS with N venues minus with none, per venue;
- broker traffic in: the venues' publishes per second and bytes per second (topic +
  payload), over 31 s of the fleet's own changes (one burst).

    python bench/bench_fleet.py [--venues 500] [--cap]   # --cap: the console under pi-budget

Prints the figures, then one JSON line per figure. Never fails on timing.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import requests  # noqa: E402
import websocket  # noqa: E402

from bench.fleet_sim import KEEPALIVE, Simulator, SimVenue  # noqa: E402
from tests.support.mosquitto import Mosquitto, free_port  # noqa: E402

PIN = "97531"
VENUE_PASSWORD = "venue-secret"
PI_BUDGET = "/work/shared/tools/pi-budget"
RESULTS: list[dict[str, Any]] = []


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def record(metric: str, value: float, unit: str, target: float | None = None) -> None:
    RESULTS.append({"metric": metric, "value": round(value, 3), "unit": unit, "target": target})
    print(f"  {metric}: {value:.3f} {unit}" + (f" (target {target})" if target else ""))


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class Watcher:
    """A `/fleet/ws` client that notes when each venue's track title and online state
    first show."""

    def __init__(self, url: str, cookie: str) -> None:
        self.ws = websocket.create_connection(
            url.replace("http://", "ws://") + "/fleet/ws", cookie=cookie, timeout=30
        )
        self.ws.settimeout(None)
        self.seen: dict[tuple[str, str], float] = {}
        self.cond = threading.Condition()
        self.frames = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        try:
            while True:
                text = self.ws.recv()
                if not text:
                    return
                now = time.perf_counter()
                frame = json.loads(text)
                venues = frame.get("venues") or ([frame["venue"]] if "venue" in frame else [])
                with self.cond:
                    self.frames += 1
                    for v in venues:
                        title = (v.get("now_playing") or {}).get("title") or ""
                        self.seen.setdefault((v["venue_id"], "title:" + title), now)
                        self.seen.setdefault((v["venue_id"], f"online:{v['online']}"), now)
                    self.cond.notify_all()
        except Exception:  # closed at the end of the run
            with self.cond:
                self.cond.notify_all()

    def wait(self, key: tuple[str, str], timeout: float) -> float | None:
        with self.cond:
            self.cond.wait_for(lambda: key in self.seen, timeout)
            return self.seen.get(key)

    def close(self) -> None:
        self.ws.close()


def start_console(broker: Mosquitto, work: Path, cap: bool) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    args = [sys.executable, "-m", "appliance", "console", "--broker", broker.url("console"),
            "--pin", PIN, "--host", "127.0.0.1", "--port", str(port),
            "--data-dir", str(work / "fleet")]  # fmt: skip
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.Popen(args, cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if cap:
        subprocess.run([PI_BUDGET, "--pid", str(proc.pid)], check=True, capture_output=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(url + "/fleet", timeout=2).status_code == 200:
                return proc, url
        except requests.RequestException:
            time.sleep(0.1)  # nothing to wait on but the socket opening
    raise RuntimeError("the fleet console did not start")


def staff_session(url: str) -> requests.Session:
    s = requests.Session()
    r = s.post(url + "/api/auth/login", json={"pin": PIN}, timeout=20)
    r.raise_for_status()
    s.headers["X-CSRF-Token"] = r.json()["csrfToken"]
    return s


def page_loads(url: str, s: requests.Session, n: int, loads: int = 20) -> None:
    times: list[float] = []
    for _ in range(loads):
        t0 = time.perf_counter()
        assert s.get(url + "/fleet", timeout=30).status_code == 200
        venues = s.get(url + "/api/fleet", timeout=30).json()["venues"]
        times.append(time.perf_counter() - t0)
        assert len(venues) >= n
    record("fleet_page_load_p50", pct(times, 50) * 1000, "ms")
    record("fleet_page_load_p99", pct(times, 99) * 1000, "ms", 1000)


def change_latency(sim: Simulator, watcher: Watcher, rounds: int) -> None:
    times: list[float] = []
    probes = sim.venues[: min(20, len(sim.venues))]
    for i in range(rounds):
        venue = probes[i % len(probes)]
        title = f"probe-{i}"
        t0 = time.perf_counter()
        venue.change(sim.rng, title=title)
        seen = watcher.wait((venue.topics.venue_id, "title:" + title), 10)
        times.append((seen - t0) if seen is not None else 10.0)
        time.sleep(0.1)  # paced: one probe at a time among the fleet's own changes
    record("fleet_change_to_ws_p50", pct(times, 50) * 1000, "ms")
    record("fleet_change_to_ws_p99", pct(times, 99) * 1000, "ms", 1000)


def offline_latency(sim: Simulator, watcher: Watcher) -> None:
    killed: list[float] = []
    for venue in sim.venues[-4:-1]:  # the probes are the first 20
        sim.paused.add(venue.topics.venue_id)
        t0 = venue.kill()
        seen = watcher.wait((venue.topics.venue_id, "online:False"), 30)
        killed.append((seen - t0) if seen is not None else 30.0)
    record("fleet_killed_to_offline_max", max(killed) * 1000, "ms")
    silent: SimVenue = sim.venues[-1]
    sim.paused.add(silent.topics.venue_id)
    silent.go_silent()
    t0 = time.perf_counter()
    seen = watcher.wait((silent.topics.venue_id, "online:False"), 3 * KEEPALIVE)
    will = 1.5 * KEEPALIVE
    record("fleet_silent_to_offline", (seen - t0) if seen else 3 * KEEPALIVE, "s", will)


OWN = 24  # venues this process drives (probes, kills); the rest run in worker processes
PER_WORKER = 250  # paho's select() stops at fd 1024: ~340 clients a process
TRAFFIC_WINDOW = 31.0  # seconds: longer than the burst period


class Workers:
    def __init__(self, n: int, port: int) -> None:
        root = Path(__file__).resolve().parents[1]
        self.procs: list[subprocess.Popen[str]] = []
        for first in range(OWN, n, PER_WORKER):
            count = min(PER_WORKER, n - first)
            args = [sys.executable, "-m", "bench.fleet_sim", str(port), VENUE_PASSWORD,
                    str(first), str(count)]  # fmt: skip
            self.procs.append(subprocess.Popen(args, cwd=root, stdin=subprocess.PIPE,
                                               stdout=subprocess.PIPE, text=True))  # fmt: skip
        for p in self.procs:
            assert p.stdout is not None and p.stdout.readline().strip() == "ready"

    def traffic(self) -> tuple[int, int]:
        messages = size = 0
        for p in self.procs:
            assert p.stdin is not None and p.stdout is not None
            p.stdin.write("count\n")
            p.stdin.flush()
            m, b = p.stdout.readline().split()
            messages, size = messages + int(m), size + int(b)
        return messages, size

    def stop(self) -> None:
        for p in self.procs:
            if p.stdin is not None:
                p.stdin.close()
            p.wait(30)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--venues", type=int, default=500)
    ap.add_argument("--rounds", type=int, default=100)
    ap.add_argument("--cap", action="store_true", help="run the console under pi-budget")
    args = ap.parse_args()
    n = args.venues
    print(f"bench_fleet: {n} venues, console {'capped (pi-budget)' if args.cap else 'plain'}")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        broker = Mosquitto(work)
        ids = [f"sim-{i:04d}" for i in range(n)]
        # one hashing pass for every venue's password (mosquitto_passwd -U)
        passwd = broker.dir / "passwd"
        lines = [f"{broker.console[0]}:{broker.console[1]}"]
        passwd.write_text("\n".join(lines + [f"{v}:{VENUE_PASSWORD}" for v in ids]) + "\n")
        subprocess.run(["mosquitto_passwd", "-U", str(passwd)], check=True)
        broker.start()
        proc, url = start_console(broker, work, args.cap)
        sim: Simulator | None = None
        workers: Workers | None = None
        watcher: Watcher | None = None
        try:
            s = staff_session(url)
            s.get(url + "/api/fleet", timeout=30)
            rss0 = rss_kib(proc.pid)
            sim = Simulator(range(min(n, OWN)), broker.port, VENUE_PASSWORD)
            assert sim.wait_ready(120), "venues did not connect"
            workers = Workers(n, broker.port)
            deadline = time.monotonic() + 60
            while len(s.get(url + "/api/fleet", timeout=30).json()["venues"]) < n:
                assert time.monotonic() < deadline, "the console never saw every venue"
                time.sleep(0.2)  # another process: no event of ours to wait on
            sim.start()
            page_loads(url, s, n)
            cookie = "djamms_session=" + s.cookies.get("djamms_session", "")
            watcher = Watcher(url, cookie)
            assert watcher.wait(("sim-0000", "online:True"), 30) is not None
            change_latency(sim, watcher, args.rounds)
            # the fleet's own traffic, without probes: a window holding one burst
            t_start = time.monotonic()
            w0 = workers.traffic()
            m0, b0 = sim.traffic.messages + w0[0], sim.traffic.bytes + w0[1]
            time.sleep(TRAFFIC_WINDOW)
            elapsed = time.monotonic() - t_start
            w1 = workers.traffic()
            m1, b1 = sim.traffic.messages + w1[0], sim.traffic.bytes + w1[1]
            record("broker_in_messages_per_s", (m1 - m0) / elapsed, "msg/s")
            record("broker_in_bytes_per_s", (b1 - b0) / elapsed, "B/s")
            rss_n = rss_kib(proc.pid)
            record("console_rss_n0", rss0 / 1024, "MiB")
            record("console_rss_n", rss_n / 1024, "MiB")
            record("console_rss_per_venue", (rss_n - rss0) / max(1, n), "KiB")
            offline_latency(sim, watcher)
        finally:
            if watcher is not None:
                watcher.close()
            if sim is not None:
                sim.stop()
            if workers is not None:
                workers.stop()
            proc.terminate()
            proc.wait(20)
            broker.stop()
    for r in RESULTS:
        print(json.dumps({"bench": "bench_fleet", "venues": n, "capped": args.cap, **r}))


if __name__ == "__main__":
    main()
