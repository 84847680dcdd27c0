"""A private PulseAudio daemon with a null sink, a recorder of its monitor, and helpers
to measure what was heard.

    with PulseServer(tmp_path) as pulse:          # no system daemon assumed; works as root
        env = pulse.env                           # PULSE_SERVER / PULSE_SINK for players
        with Recorder(pulse) as rec:              # parec of the sink's monitor, mono s16
            ... play something through pulse.env ...
        env_db = rms_db(rec.samples, rec.rate, 0.01)   # one level (dBFS) per 10 ms window
        t = rec.time_of(index)                    # wall clock (time.monotonic) of a sample

Every sample index maps to the monotonic time it was captured (from when each chunk
arrived, ~10 ms granularity), so a command's timestamp can be compared with the
recording: `rec.index_at(t_command)`.
"""

from __future__ import annotations

import bisect
import math
import os
import shutil
import subprocess
import threading
import time
from array import array
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

SILENCE_DB = -60.0


class PulseServer:
    """`pulseaudio` in user mode on a unix socket under `root`, with one null sink."""

    def __init__(self, root: Path, sink: str = "djamms_test", rate: int = 48000) -> None:
        self.root = Path(root)
        self.sink = sink
        self.rate = rate
        self.socket = self.root / "native"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def server(self) -> str:
        return f"unix:{self.socket}"

    @property
    def env(self) -> dict[str, str]:
        """Environment for clients (mpv's ao=pulse, parec, pactl)."""
        return {"PULSE_SERVER": self.server, "PULSE_SINK": self.sink}

    def start(self, timeout: float = 15.0) -> PulseServer:
        self.root.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "HOME": str(self.root),
            "XDG_RUNTIME_DIR": str(self.root),
            "PULSE_RUNTIME_PATH": str(self.root / "runtime"),
        }
        cmd = [
            shutil.which("pulseaudio") or "pulseaudio",
            "--system=false",
            "-n",
            "--daemonize=no",
            "--exit-idle-time=-1",
            "--use-pid-file=no",
            "--disable-shm=yes",
            "--log-target=stderr",
            "--log-level=error",
            "-L",
            f"module-native-protocol-unix socket={self.socket} auth-anonymous=1",
            "-L",
            f"module-null-sink sink_name={self.sink} rate={self.rate} channels=2",
        ]
        self.proc = subprocess.Popen(
            cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"pulseaudio exited with {self.proc.returncode}")
            if self.socket.exists() and self._pactl("info").returncode == 0:
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("pulseaudio did not come up")

    def _pactl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["pactl", *args],
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            timeout=10,
        )

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.proc = None

    def __enter__(self) -> PulseServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class Recorder:
    """Records the null sink's monitor with `parec` (mono, s16le) on a reader thread."""

    CHUNK = 0.005  # seconds per read: the time resolution of `time_of`

    def __init__(self, pulse: PulseServer, rate: int = 48000) -> None:
        self.pulse = pulse
        self.rate = rate
        self._data = bytearray()
        self._marks: list[tuple[int, float]] = []  # (samples so far, arrival time)
        self._lock = threading.Condition()  # guards the samples; notified as they come
        self._proc: subprocess.Popen[bytes] | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Recorder:
        self._proc = subprocess.Popen(
            [
                "parec",
                "--raw",
                "--format=s16le",
                f"--rate={self.rate}",
                "--channels=1",
                "--latency-msec=5",
                "-d",
                f"{self.pulse.sink}.monitor",
            ],
            env={**os.environ, **self.pulse.env},
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self._thread = threading.Thread(target=self._read, name="parec-reader", daemon=True)
        self._thread.start()
        if not self.wait_samples(int(self.rate * 0.05), timeout=10):
            self.stop()
            raise RuntimeError("parec delivered no audio")
        return self

    def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        size = int(self.rate * self.CHUNK) * 2
        fd = self._proc.stdout.fileno()
        while True:
            try:
                chunk = os.read(fd, size)
            except OSError:  # the recorder was stopped while parec hung
                return
            if not chunk:
                return
            now = time.monotonic()
            with self._lock:
                self._data.extend(chunk)
                self._marks.append((len(self._data) // 2, now))
                self._lock.notify_all()

    def wait_samples(self, n: int, timeout: float) -> bool:
        with self._lock:
            return self._lock.wait_for(lambda: len(self._data) // 2 >= n, timeout)

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=5)
        if self._thread is not None:  # before the pipe is closed under its read()
            self._thread.join(timeout=5)
            self._thread = None
        if self._proc is not None:
            if self._proc.stdout is not None:
                self._proc.stdout.close()
            self._proc = None

    def __enter__(self) -> Recorder:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def samples(self) -> array:
        with self._lock:
            data = bytes(self._data[: len(self._data) // 2 * 2])
        out = array("h")
        out.frombytes(data)
        return out

    @property
    def now_index(self) -> int:
        with self._lock:
            return len(self._data) // 2

    def time_of(self, index: int) -> float:
        """Monotonic time at which sample `index` was captured."""
        with self._lock:
            marks = list(self._marks)
        if not marks:
            raise ValueError("nothing recorded")
        ends = [m[0] for m in marks]
        i = min(bisect.bisect_left(ends, index), len(marks) - 1)
        end, at = marks[i]
        return at - (end - index) / self.rate

    def index_at(self, t: float) -> int:
        """The sample captured at monotonic time `t` (nearest chunk boundary based)."""
        with self._lock:
            marks = list(self._marks)
        times = [m[1] for m in marks]
        i = min(bisect.bisect_left(times, t), len(marks) - 1)
        end, at = marks[i]
        return max(0, end - int((at - t) * self.rate))


# --- analysis --------------------------------------------------------------------------


def to_db(level: float) -> float:
    return 20 * math.log10(level) if level > 1e-9 else -200.0


def rms_db(samples: Sequence[int], rate: int, window: float = 0.01) -> list[float]:
    """RMS level in dBFS for each consecutive window of `window` seconds."""
    n = max(1, int(rate * window))
    out = []
    for start in range(0, len(samples) - n + 1, n):
        block = samples[start : start + n]
        out.append(to_db(math.sqrt(sum(x * x for x in block) / n) / 32768.0))
    return out


def tone_db(samples: Sequence[int], rate: int, freq: float, window: float = 0.01) -> list[float]:
    """Level (dBFS of a full-scale sine) of the `freq` component per window (Goertzel,
    Hann-weighted so a loud tone elsewhere does not leak in)."""
    n = max(2, int(rate * window))
    coeff = 2 * math.cos(2 * math.pi * freq / rate)
    hann = [0.5 - 0.5 * math.cos(2 * math.pi * i / (n - 1)) for i in range(n)]
    out = []
    for start in range(0, len(samples) - n + 1, n):
        s1 = s2 = 0.0
        for x, w in zip(samples[start : start + n], hann, strict=True):
            s1, s2 = x * w + coeff * s1 - s2, s1
        power = s1 * s1 + s2 * s2 - coeff * s1 * s2
        amplitude = 4 * math.sqrt(max(power, 0.0)) / n / 32768.0
        out.append(to_db(amplitude))
    return out


def spans(levels: Sequence[float], threshold: float) -> list[tuple[int, int]]:
    """[start, end) window index ranges where the level is at or above `threshold`."""
    out: list[tuple[int, int]] = []
    start = -1
    for i, level in enumerate(levels):
        if level >= threshold and start < 0:
            start = i
        elif level < threshold and start >= 0:
            out.append((start, i))
            start = -1
    if start >= 0:
        out.append((start, len(levels)))
    return out


def first_at_or_above(levels: Sequence[float], threshold: float, start: int = 0) -> int:
    """Index of the first window >= threshold from `start` (onset), or -1."""
    for i in range(start, len(levels)):
        if levels[i] >= threshold:
            return i
    return -1


def silent_from(levels: Sequence[float], threshold: float = SILENCE_DB, start: int = 0) -> int:
    """First window from `start` after which every window stays below `threshold`, or -1."""
    last_loud = -1
    for i in range(start, len(levels)):
        if levels[i] >= threshold:
            last_loud = i
    candidate = max(start, last_loud + 1)
    return candidate if candidate < len(levels) else -1


def longest_gap(levels: Sequence[float], threshold: float, start: int, end: int) -> int:
    """Longest run of windows below `threshold` in [start, end) (dead air)."""
    best = run = 0
    for i in range(start, min(end, len(levels))):
        run = run + 1 if levels[i] < threshold else 0
        best = max(best, run)
    return best


def overlap(a: Sequence[float], b: Sequence[float], threshold: float) -> int:
    """Windows where both `a` and `b` are at or above `threshold` (crossfade length)."""
    return sum(1 for x, y in zip(a, b, strict=False) if x >= threshold and y >= threshold)


def steady_db(levels: Sequence[float], start: int, end: int) -> float:
    """The median level over [start, end): what a tone sits at, ignoring edges."""
    part = sorted(levels[start:end])
    return part[len(part) // 2] if part else -200.0


@pytest.fixture(scope="module", name="pulse")
def pulse_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PulseServer]:
    """Fixture `pulse`: a private PulseAudio daemon per test module. Use it with
    `from tests.support.pulse import pulse_fixture  # noqa: F401` and a `pulse` argument."""
    with PulseServer(tmp_path_factory.mktemp("pulse")) as server:
        yield server


def end_after(levels: Sequence[float], threshold: float, start: int, hold: int = 25) -> int:
    """First window from `start` that begins a run of at least `hold` windows below
    `threshold`: where a sound really ends, ignoring a brief dip. -1 if it never does."""
    run = 0
    for i in range(start, len(levels)):
        run = run + 1 if levels[i] < threshold else 0
        if run >= hold:
            return i - hold + 1
    return -1


def dips(levels: Sequence[float], threshold: float, start: int, end: int, hold: int = 25) -> int:
    """Brief drops below `threshold` (shorter than `hold` windows) inside [start, end):
    dropouts in something that should sound continuously."""
    count = run = 0
    for i in range(start, min(end, len(levels))):
        if levels[i] < threshold:
            run += 1
        else:
            if 0 < run < hold:
                count += 1
            run = 0
    return count


def onset(levels: Sequence[float], threshold: float, start: int = 0, hold: int = 10) -> int:
    """First window from `start` that begins at least `hold` windows at or above
    `threshold`: where a sound really starts, not a click. -1 if none."""
    run = 0
    for i in range(start, len(levels)):
        run = run + 1 if levels[i] >= threshold else 0
        if run >= hold:
            return i - hold + 1
    return -1
