"""Security figures (issue 17), on the real box process and the real PIN limiter:

- PIN guesses per hour a stranger can make, from one address and from five (the limiter
  driven by a simulated clock: every attempt made the moment it is allowed, for 24 h);
- of 150 logins from one address held at their last byte and released together, how
  many were judged, and the box's peak RSS growth during that burst;
- staff command latency (SET_VOLUME over HTTP) while one address, then twelve, hold
  every connection they can (websockets and requests whose headers never end).

Ends with one JSON line per figure: {"metric", "value", "unit", "target"}.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import requests  # noqa: E402
import websocket  # noqa: E402

from tests.support.rawhttp import Held, answered_early, connect, hold  # noqa: E402
from tests.support.server import STAFF_PIN, start_box_process  # noqa: E402
from web.lockout import LoginLimiter  # noqa: E402

RESULTS: list[dict[str, Any]] = []


def record(metric: str, value: float, unit: str, target: float | None = None) -> None:
    RESULTS.append({"metric": metric, "value": round(value, 3), "unit": unit, "target": target})
    print(f"  {metric}: {value:.3f} {unit}" + (f" (target {target})" if target else ""))


# -- guesses per hour -------------------------------------------------------------------


def guesses(addresses: int, hours: float) -> list[float]:
    """Attempt times of strangers at `addresses` who try the moment they may."""
    now = [0.0]
    limiter = LoginLimiter(clock=lambda: now[0])
    made: list[float] = []
    end = hours * 3600
    while now[0] < end:
        waits = []
        for a in range(addresses):
            wait = limiter.admit(f"10.0.0.{a}")
            if wait == 0:
                made.append(now[0])
            else:
                waits.append(wait)
        if waits and len(waits) == addresses:  # every address is locked: skip ahead
            now[0] += min(waits) + 0.001
        else:
            now[0] += 0.05  # a guess takes about a scrypt's time
    return made


def guess_figures() -> None:
    for n in (1, 5):
        made = guesses(n, 24)
        first = sum(1 for t in made if t < 3600)
        record(f"pin_guesses_first_hour_{n}_address", first, "guesses", 60)
        record(f"pin_guesses_per_hour_24h_{n}_address", len(made) / 24, "guesses/h", 60)
        days = 10_000 / 2 / max(len(made) / 24, 1e-9) / 24
        record(f"pin_4digit_expected_days_{n}_address", days, "days", 7)


# -- the box process --------------------------------------------------------------------


def rss_kb(pid: int, field: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def start(tmp: Path) -> Any:
    cfg = tmp / "secure.toml"
    cfg.write_text("[web]\nmdns = false\n")  # the shipped budgets: 64 per address
    return start_box_process(tmp / "data", None, "--config", str(cfg))


def login_burst(box: Any) -> None:
    pid = box.proc.pid
    before = rss_kb(pid)
    held: list[Held] = []
    refused_at_connect = 0
    for n in range(150):
        try:
            held.append(hold(box.port, "/api/auth/login", {"pin": f"{n:04d}"}))
        except OSError:  # the per-address budget closed it at once
            refused_at_connect += 1
    early = answered_early(held, len(held), timeout=5)  # refused at once: the rest wait
    for h in held:
        if h not in early:
            try:
                h.release()
            except OSError:
                pass
    codes = []
    for h in held:
        try:
            codes.append(h.read()[0])
        except (OSError, IndexError, ValueError):
            codes.append(0)
    record("login_burst_150_judged", codes.count(401), "attempts", 5)
    refused = codes.count(429) + codes.count(503) + refused_at_connect
    record("login_burst_150_refused", refused, "attempts")
    record("login_burst_rss_peak_growth", (rss_kb(pid, "VmHWM") - before) / 1024, "MB", 100)


def hold_everything(port: int, sources: list[str]) -> list[Any]:
    """Every websocket and never-ending request each source can get in."""
    held: list[Any] = []
    for source in sources:
        for _ in range(40):
            try:
                ws = websocket.create_connection(
                    f"ws://127.0.0.1:{port}/ws", timeout=20, socket=connect(port, source)
                )
                ws.recv()
                held.append(ws)
            except (websocket.WebSocketException, OSError):
                break
        for _ in range(40):
            sock = connect(port, source)
            sock.sendall(b"GET /api/state HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            held.append(Held(sock, b""))
    return held


def staff_login(box: Any) -> tuple[requests.Session, str]:
    s = requests.Session()
    r = s.post(box.url + "/api/auth/login", json={"pin": STAFF_PIN}, timeout=20)
    return s, r.json()["csrfToken"]


def staff_latency(box: Any, staff: tuple[requests.Session, str], label: str,
                  sources: list[str]) -> None:  # fmt: skip
    s, csrf = staff
    held = hold_everything(box.port, sources)
    stranger = requests.get(box.url + "/api/state", timeout=20).status_code
    times, failed = [], 0
    for i in range(200):
        t0 = time.perf_counter()
        r = s.post(box.url + "/api/ui/command", json={"command": "SET_VOLUME", "value": i % 100},
                   headers={"X-CSRF-Token": csrf}, timeout=30)  # fmt: skip
        times.append((time.perf_counter() - t0) * 1000)
        failed += r.status_code != 200
    for h in held:
        (h.sock if isinstance(h, Held) else h).close()
    times.sort()
    record(f"staff_cmd_p50_{label}", statistics.median(times), "ms", 100)
    record(f"staff_cmd_p99_{label}", times[int(len(times) * 0.99) - 1], "ms", 500)
    record(f"staff_cmd_failed_{label}", failed, "commands", 0)
    record(f"stranger_status_{label}", stranger, "http")


def main() -> None:
    print("PIN guesses (the limiter, simulated clock)")
    guess_figures()
    tmp = Path(tempfile.mkdtemp(prefix="bench-security-"))
    box = start(tmp)
    try:
        staff = staff_login(box)  # before the burst locks 127.0.0.1 out
        print("150 logins from one address held at their last byte, released together")
        login_burst(box)
        print("staff commands while one address holds all it can")
        staff_latency(box, staff, "one_address_holding", ["127.0.0.2"])
        print("staff commands while twelve addresses hold all they can")
        twelve = [f"127.0.0.{n}" for n in range(20, 32)]
        staff_latency(box, staff, "twelve_addresses_holding", twelve)
    finally:
        box.stop()
    for r in RESULTS:
        print(json.dumps(r))


if __name__ == "__main__":
    main()
