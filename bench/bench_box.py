"""The box as shipped: image build figures, the booted amd64 image's power-on to console and
to first sound, the RSS of every process on the box after minutes of playing, bytes written
to the card per hour (the card's block device counters), and the app's own start to console on this
machine plain and under the Pi budget, beside Mopidy's start to its web server where
Debian's mopidy is installed.

    python bench/bench_box.py [--play-minutes 5] [--write-minutes 10] [--skip-boot]

Reads build/djamms-*.build.json (written by `make image`); boots a copy of
build/djamms-amd64.img. The guest runs under QEMU's TCG: its times are emulated, slower
than a real mini-PC and not a Pi's. Prints one JSON line per figure.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.image import card, sound  # noqa: E402
from tests.image.conftest import VENUE_TOML  # noqa: E402
from tests.image.machine import Boot, Machine, free_port  # noqa: E402

PI_BUDGET = REPO.parent / "shared" / "tools" / "pi-budget"
MACHINE = f"{os.cpu_count()}-core x86_64"


def emit(
    metric: str, value: float, unit: str, target: float | None = None, **extra: object
) -> None:
    line = {"metric": metric, "value": round(value, 3), "unit": unit, "target": target,
            "machine": MACHINE, **extra}  # fmt: skip
    print(json.dumps(line), flush=True)


def build_figures() -> None:
    for arch in ("amd64", "arm64"):
        path = REPO / "build" / f"djamms-{arch}.build.json"
        if not path.exists():
            continue
        info = json.loads(path.read_text())
        emit(f"image_build_{arch}", info["build_s"], "s", capped=False)
        emit(f"image_size_{arch}", info["image_bytes"] / 2**20, "MiB")
        emit(f"image_allocated_{arch}", info["image_allocated_bytes"] / 2**20, "MiB")


def _first_sound(m: Machine, timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            samples, _ = sound.tail_samples(m.wav, 0.5)
            if sound.level_dbfs(samples) > -40:
                return time.monotonic() - m.started_at
        except (ValueError, FileNotFoundError):
            pass
        time.sleep(0.5)
    raise TimeoutError("no sound")


def _sectors_written(m: Machine) -> int:
    """Sectors written to the whole card, as its block device counts them (/proc/diskstats:
    the journal, snapshots, logs, the clock file, everything)."""
    _, out = m.sh("grep ' vda ' /proc/diskstats")
    return int(out.split()[9])


def boot_figures(play_minutes: float, write_minutes: float) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-box-", dir=REPO / "build") as tmp:
        work = Path(tmp)
        disk = card.copy_sparse(REPO / "build" / "djamms-amd64.img", work / "card.img")
        entry = card.read_boot_file(disk, "loader/entries/djamms.conf").decode()
        entry = entry.rstrip("\n") + " systemd.debug_shell=/dev/hvc0\n"
        card.write_boot_file(disk, "loader/entries/djamms.conf", entry.encode(), work)
        card.write_boot_file(disk, "djamms.toml", VENUE_TOML.encode(), work)
        m = Machine(Boot("amd64", disk, work / "boot")).start()
        try:
            emit("box_power_on_to_console", m.wait_console(900), "s", target=60, emulated=True)
            emit("box_power_on_to_first_sound", _first_sound(m, 900), "s", emulated=True)
            m.wait_shell(300)
            time.sleep(play_minutes * 60)  # the box plays its demo playlist meanwhile
            _, out = m.sh("ps -eo rss=,comm= --sort=-rss")
            rows = [line.split(None, 1) for line in out.splitlines() if line.strip()]
            total_kb = sum(int(r[0]) for r in rows if r[0].isdigit())
            emit("box_rss_all_processes", total_kb / 1024, "MB", after_minutes=play_minutes,
                 top=" ".join(f"{r[1]}={int(r[0]) // 1024}" for r in rows[:5]))  # fmt: skip
            _, app = m.sh("systemctl show -P MemoryCurrent djamms")
            emit("box_djamms_service_memory", int(app.split()[-1]) / 2**20, "MB")
            before = _sectors_written(m)
            time.sleep(write_minutes * 60)
            after = _sectors_written(m)
            per_hour = (after - before) * 512 * 60 / write_minutes
            emit("box_bytes_written_per_hour", per_hour / 1e6, "MB/h", target=2,
                 window_minutes=write_minutes)  # fmt: skip
        finally:
            m.kill()


def _wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def _time_start(cmd: list[str], url: str, env: dict[str, str] | None = None) -> float:
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        if not _wait_http(url, proc, 120):
            raise RuntimeError(f"{cmd[0]} never answered {url}")
        return time.monotonic() - start
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def start_figures(runs: int) -> None:
    budget = [str(PI_BUDGET), "--"] if PI_BUDGET.exists() and os.geteuid() == 0 else []
    mopidy = shutil.which("mopidy")
    for capped in (False, True):
        if capped and not budget:
            continue
        prefix = budget if capped else []
        ours, theirs = [], []
        for _ in range(runs):
            with tempfile.TemporaryDirectory() as tmp:
                port = free_port()
                cmd = [*prefix, str(REPO / ".venv/bin/djamms"), "run", "--data-dir", f"{tmp}/d",
                       "--media-dir", f"{tmp}/m", "--host", "127.0.0.1", "--port", str(port),
                       "--player", "standin", "--admin-pin", "1234"]  # fmt: skip
                env = {**os.environ, "DJAMMS_DEMO_MEDIA": "false"}
                ours.append(_time_start(cmd, f"http://127.0.0.1:{port}/api/state", env))
                if mopidy:
                    conf = Path(tmp) / "mopidy.conf"
                    mport = free_port()
                    conf.write_text(f"[http]\nhostname = 127.0.0.1\nport = {mport}\n"
                                    f"[audio]\noutput = fakesink\n[core]\ndata_dir = {tmp}/md\n"
                                    f"cache_dir = {tmp}/mc\nconfig_dir = {tmp}/mcf\n")  # fmt: skip
                    theirs.append(_time_start([*prefix, mopidy, "--config", str(conf)],
                                              f"http://127.0.0.1:{mport}/"))  # fmt: skip
        emit("app_start_to_console", statistics.median(ours), "s", capped=capped, runs=runs)
        if theirs:
            emit("mopidy_start_to_http", statistics.median(theirs), "s", capped=capped, runs=runs)
            emit("app_start_vs_mopidy", statistics.median(ours) / statistics.median(theirs),
                 "ratio", capped=capped)  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--play-minutes", type=float, default=5)
    ap.add_argument("--write-minutes", type=float, default=10)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--skip-boot", action="store_true")
    args = ap.parse_args()
    socket.setdefaulttimeout(30)
    build_figures()
    start_figures(args.runs)
    if not args.skip_boot:
        boot_figures(args.play_minutes, args.write_minutes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
