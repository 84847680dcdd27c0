"""Each track's loudness, measured once in the background and kept with the library.

`LoudnessMeter` runs ffmpeg's `ebur128` filter (EBU R128 integrated loudness and true
peak) over a file, one at a time, at the lowest CPU priority, so playback and the console
never wait on it. Results live in a small JSON book beside the media cache, keyed by the
track's video id and the file's size (a replaced file is measured again), written
atomically after each measurement: a handful of small writes an hour on the SD card.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

from appliance.core.loudness import Loudness

log = logging.getLogger(__name__)

MEASURE_TIMEOUT = 600.0  # s: a long mix on a Pi; a stuck ffmpeg is killed
STOP_POLL = 0.2  # s: how soon a measurement notices the box stopping
MAX_ENTRIES = 100_000  # the book stays small: about 80 bytes a track
_INTEGRATED = re.compile(r"^\s*I:\s+(-?[\d.]+|-inf) LUFS", re.MULTILINE)
_PEAK = re.compile(r"^\s*Peak:\s+(-?[\d.]+|-inf) dBFS", re.MULTILINE)


class MeasureError(Exception):
    pass


class MeasureInterrupted(MeasureError):
    """ffmpeg was ended by a signal, not by the file: systemd's stop signals the whole
    service, ffmpeg included, before the box halts its meter. Measured again later."""


def _pause(seconds: float) -> bool:
    time.sleep(seconds)
    return False


def _number(text: str) -> float:
    return -120.0 if text == "-inf" else float(text)


def measure(path: Path, ffmpeg: str = "ffmpeg", stop: threading.Event | None = None) -> Loudness:
    """Integrated loudness and true peak of the file's first audio stream. Setting `stop`
    kills ffmpeg at once (MeasureError): the box's stop never waits for a long mix."""
    # The lowest CPU priority (where the sandbox refuses it, nice says so and runs it anyway).
    nice = ["nice", "-n", "19"] if shutil.which("nice") else []
    cmd = [
        *nice, ffmpeg, "-nostdin", "-hide_banner", "-nostats", "-i", str(path),
        "-map", "0:a:0", "-af", "ebur128=peak=true", "-f", "null", "-",
    ]  # fmt: skip
    try:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
        )
    except OSError as exc:
        raise MeasureError(f"ffmpeg: {exc}") from exc
    # ebur128 logs every frame: stderr is drained on its own thread so ffmpeg never blocks
    # on a full pipe, while this one polls (poll(), not a timed wait: a stepped clock must
    # not break the wait, as it did for subprocess's own timeouts under a faked clock)
    err = proc.stderr
    if err is None:  # never with stderr=PIPE; for the type checker
        raise MeasureError("ffmpeg: no stderr")
    chunks: list[str] = []
    drain = threading.Thread(target=lambda: chunks.append(err.read()), daemon=True)
    drain.start()
    deadline = time.monotonic() + MEASURE_TIMEOUT
    while proc.poll() is None:
        halted = stop.wait(STOP_POLL) if stop is not None else _pause(STOP_POLL)
        if halted or time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            drain.join(timeout=5)
            raise MeasureError("stopped" if halted else "ffmpeg timed out")
    drain.join(timeout=5)
    err.close()
    stderr = "".join(chunks)
    # The summary comes last: the last match is the whole file's figure.
    integrated, peak = _INTEGRATED.findall(stderr), _PEAK.findall(stderr)
    # On SIGTERM/SIGINT ffmpeg prints a partial summary and exits 255: never the figure
    if proc.returncode < 0 or "received signal" in stderr[-2000:]:
        raise MeasureInterrupted(f"ffmpeg {proc.returncode}: ended by a signal")
    if proc.returncode != 0 or not integrated or not peak:
        raise MeasureError(f"ffmpeg {proc.returncode}: {stderr[-300:].strip()}")
    return Loudness(_number(integrated[-1]), _number(peak[-1]))


class LoudnessBook:
    """video id -> (file size, loudness), in one JSON file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[int, Loudness]] = {}
        try:
            raw = json.loads(path.read_text())
            for vid, (size, lufs, peak) in raw.items():
                self._entries[str(vid)] = (int(size), Loudness(float(lufs), float(peak)))
        except FileNotFoundError:
            pass
        except (OSError, ValueError, TypeError) as exc:  # measured again, one by one
            log.warning("loudness book %s unreadable, starting afresh: %s", path, exc)

    def get(self, video_id: str, size: int) -> Loudness | None:
        with self._lock:
            entry = self._entries.get(video_id)
        return entry[1] if entry is not None and entry[0] == size else None

    def put(self, video_id: str, size: int, loudness: Loudness) -> None:
        with self._lock:
            self._entries.pop(video_id, None)
            self._entries[video_id] = (size, loudness)
            while len(self._entries) > MAX_ENTRIES:  # the oldest measured go first
                self._entries.pop(next(iter(self._entries)))
            data = {
                vid: [size, round(ld.integrated_lufs, 2), round(ld.true_peak_dbtp, 2)]
                for vid, (size, ld) in self._entries.items()
            }
            tmp = self.path.with_name(self.path.name + ".tmp")
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                tmp.write_text(json.dumps(data, separators=(",", ":")))
                os.replace(tmp, self.path)
            except OSError as exc:  # a full card: the figure still counts until restart
                log.warning("loudness book not saved: %s", exc)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


class LoudnessMeter:
    """Measures files queued with `request`, one at a time, on its own thread."""

    def __init__(
        self,
        book: LoudnessBook,
        *,
        ffmpeg: str = "ffmpeg",
        measured: Callable[[str, Loudness], None] | None = None,
    ) -> None:
        self.book = book
        self.ffmpeg = ffmpeg
        self.measured = measured
        self.failures = 0
        self._queue: deque[tuple[str, Path]] = deque()
        self._queued: set[str] = set()
        self._cond = threading.Condition()
        self._stopping = False
        self._halt = threading.Event()  # kills the measurement under way
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="loudness", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._halt.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)

    def loudness(self, video_id: str, path: Path) -> Loudness | None:
        """The measured figure, or None (and the file queued) when not measured yet."""
        try:
            size = path.stat().st_size
        except OSError:
            return None
        found = self.book.get(video_id, size)
        if found is None:
            self.request(video_id, path)
        return found

    def request(self, video_id: str, path: Path) -> None:
        with self._cond:
            if video_id in self._queued:
                return
            self._queued.add(video_id)
            self._queue.append((video_id, path))
            self._cond.notify()

    def pending(self) -> int:
        with self._cond:
            return len(self._queue)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._stopping:
                    self._cond.wait()
                if self._stopping:
                    return
                video_id, path = self._queue.popleft()
            try:
                self._measure(video_id, path)
            finally:
                with self._cond:
                    self._queued.discard(video_id)

    def _measure(self, video_id: str, path: Path) -> None:
        try:
            size = path.stat().st_size
        except OSError:
            return  # evicted or removed before its turn
        if self.book.get(video_id, size) is not None:
            return
        try:
            loudness = measure(path, self.ffmpeg, stop=self._halt)
        except MeasureInterrupted as exc:
            log.info("loudness of %s not measured: %s; measured again later", video_id, exc)
            return
        except MeasureError as exc:
            if self._halt.is_set():
                return  # not a failure: measured again after the restart
            self.failures += 1
            log.warning("loudness of %s not measured: %s", video_id, exc)
            return
        self.book.put(video_id, size, loudness)
        if self.measured is not None:
            self.measured(video_id, loudness)
