"""`Fetcher`: background downloads, one at a time per worker, urgent ones first.

Requests for the same video share one download. A video that failed recently is
answered from memory at once (no new attempt for `fail_memory` seconds), so a dead link
costs one round of retries, not one per request.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from appliance.core.model import TrackInfo
from appliance.library.resolver import ResolveError

log = logging.getLogger(__name__)

Done = Callable[[Path | None, str], None]
Resolve = Callable[[str], tuple[Path, TrackInfo]]


@dataclass
class FetchResult:
    video_id: str
    path: Path | None
    track: TrackInfo | None
    error: str = ""
    attempts: int = 0


@dataclass
class _Job:
    video_id: str
    urgent: bool
    waiters: list[Done] = field(default_factory=list)
    running: bool = False


class Fetcher:
    def __init__(
        self,
        resolve: Resolve,
        on_result: Callable[[FetchResult], None],
        *,
        workers: int = 2,
        fail_memory: float = 120.0,
    ) -> None:
        self._resolve = resolve
        self._on_result = on_result
        self.workers = workers
        self.fail_memory = fail_memory
        self._queue: queue.PriorityQueue[tuple[int, int, str]] = queue.PriorityQueue()
        self._jobs: dict[str, _Job] = {}
        self._failed: dict[str, tuple[float, str]] = {}
        self._lock = threading.Lock()
        self._seq = itertools.count()
        self._threads: list[threading.Thread] = []
        self.active = 0
        self.completed = 0

    def start(self) -> None:
        for i in range(self.workers):
            t = threading.Thread(target=self._work, name=f"fetch-{i}", daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self) -> None:
        for _ in self._threads:
            self._queue.put((-1, -1, ""))
        for t in self._threads:
            t.join(timeout=15)
        self._threads = []

    def recent_failure(self, video_id: str) -> str | None:
        with self._lock:
            failed = self._failed.get(video_id)
            if failed is None or time.monotonic() - failed[0] > self.fail_memory:
                return None
            return failed[1]

    def request(self, video_id: str, urgent: bool = False, done: Done | None = None) -> None:
        reason = self.recent_failure(video_id)
        if reason is not None:
            if done is not None:
                done(None, reason)
            return
        with self._lock:
            job = self._jobs.get(video_id)
            fresh = job is None
            if job is None:
                job = self._jobs[video_id] = _Job(video_id, urgent)
            if done is not None:
                job.waiters.append(done)
            if fresh or (urgent and not job.urgent):
                job.urgent = job.urgent or urgent
                self._queue.put((0 if urgent else 1, next(self._seq), video_id))

    def pending(self) -> int:
        with self._lock:
            return len(self._jobs)

    def _work(self) -> None:
        while True:
            priority, _, video_id = self._queue.get()
            if priority < 0:
                return
            with self._lock:
                job = self._jobs.get(video_id)
                if job is None or job.running:
                    continue  # a duplicate entry (re-queued as urgent) for a job taken
                job.running = True
                self.active += 1
            result = self._run(video_id)
            with self._lock:
                self.active -= 1
                self._jobs.pop(video_id, None)
                if result.path is None:
                    self._failed[video_id] = (time.monotonic(), result.error)
                else:
                    self._failed.pop(video_id, None)
                    self.completed += 1
            for waiter in job.waiters:
                try:
                    waiter(result.path, result.error)
                except Exception:
                    log.exception("fetch callback for %s failed", video_id)
            try:
                self._on_result(result)
            except Exception:
                log.exception("fetch result for %s not reported", video_id)

    def _run(self, video_id: str) -> FetchResult:
        try:
            path, track = self._resolve(video_id)
        except ResolveError as exc:
            return FetchResult(video_id, None, None, exc.reason, exc.attempts)
        except Exception as exc:  # a resolver bug must not kill the worker
            log.exception("resolving %s failed", video_id)
            return FetchResult(video_id, None, None, f"{type(exc).__name__}: {exc}", 1)
        return FetchResult(video_id, path, track, "", 1)
