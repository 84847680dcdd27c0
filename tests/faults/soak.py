"""The soak rig: 50 venue clients against a box process for a set time, a sampler of the
box's RSS, threads and open files, and an observer window that timestamps every frame so
each acknowledged command's event latency can be read off afterwards."""

from __future__ import annotations

import json
import os
import random
import statistics
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.faults.boxproc import ApiClient, BoxProcess, LiveSocket
from tests.faults.load import NETWORK_ERRORS

PATRONS, STAFF = 40, 10
CLIENT_GAVE_UP = 599  # recorded status when the client's request raised (timeout, reset)


@dataclass
class Sample:
    t: float
    rss_mb: float
    threads: int
    fds: int
    commands: int


@dataclass
class SoakRecord:
    sent: list[tuple[float, int]] = field(default_factory=list)  # (monotonic send, acked rev)
    commands: int = 0
    refused: int = 0
    server_errors: list[str] = field(default_factory=list)
    timeouts: list[str] = field(default_factory=list)  # no answer within the client's 30 s
    refusals: dict[str, int] = field(default_factory=dict)  # "path code" -> count
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, t0: float, status: int, answer: Any, what: str) -> None:
        with self.lock:
            self.commands += 1
            if status == CLIENT_GAVE_UP:
                self.timeouts.append(f"{what}: {answer}"[:200])
            elif status >= 500 or not isinstance(answer, dict):
                self.server_errors.append(f"{what} -> {status} {answer!r}"[:200])
            elif status == 200 and "rev" in answer:
                self.sent.append((t0, int(answer["rev"])))
            else:
                self.refused += 1
                code = f"{what} {answer.get('error', {}).get('code', status)}"
                self.refusals[code] = self.refusals.get(code, 0) + 1


def proc_figures(pid: int) -> tuple[float, int, int]:
    status = Path(f"/proc/{pid}/status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    rss_kb = int(fields["VmRSS"].split()[0])
    threads = int(fields["Threads"].strip())
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    return rss_kb / 1024, threads, fds


class Observer(threading.Thread):
    """A staff window: when each rev arrived, and how many tracks started."""

    def __init__(self, client: ApiClient) -> None:
        super().__init__(daemon=True, name="soak-observer")
        self.sock = LiveSocket(client.url, client.cookie)
        self.arrivals: list[tuple[int, float]] = []  # (rev, monotonic)
        self.play_ids: set[str] = set()
        self.current_video = ""  # what the screens show: phones like what is playing
        self.halt = threading.Event()

    def run(self) -> None:
        try:
            while not self.halt.is_set():
                try:
                    frame = self.sock.recv(2.0)
                except TimeoutError:
                    continue
                now = time.monotonic()
                if isinstance(frame.get("rev"), int):
                    self.arrivals.append((frame["rev"], now))
                if frame.get("type") == "NOW_PLAYING_UPDATE":
                    np = frame["payload"].get("now_playing") or {}
                    if np.get("play_id"):
                        self.play_ids.add(np["play_id"])
                        self.current_video = np.get("video_id", "")
        except NETWORK_ERRORS:
            return

    def stop(self) -> None:
        self.halt.set()
        self.join(10)
        self.sock.close()


def latencies_ms(sent: list[tuple[float, int]], arrivals: list[tuple[int, float]]) -> list[float]:
    """For each acknowledged command: send time -> the observer saw a frame at its rev."""
    first_at: dict[int, float] = {}
    for rev, t in arrivals:
        first_at.setdefault(rev, t)
    revs = sorted(first_at)
    out = []
    for t0, rev in sent:
        seen = [first_at[r] for r in revs if r >= rev][:1]
        if seen:
            out.append(max(0.0, (seen[0] - t0) * 1000))
    return out


class VenueClient(threading.Thread):
    """One phone or staff window: a command every 0.5-3.5 s, the realistic mix."""

    def __init__(
        self, client: ApiClient, record: SoakRecord, ids: list[str], staff: bool, screen: Observer
    ) -> None:
        super().__init__(daemon=True, name=f"soak-{client.user_id[:8]}")
        self.client, self.record, self.ids, self.staff = client, record, ids, staff
        self.screen = screen
        self.halt = threading.Event()
        self.rng = random.Random()

    def action(self) -> tuple[str, str, dict[str, Any]]:
        r, ids = self.rng.random(), self.ids
        if self.staff:
            if r < 0.35:
                value = self.rng.randrange(20, 90)
                return "post", "/api/ui/command", {"command": "SET_VOLUME", "value": value}
            if r < 0.5:
                return "post", "/api/ui/command", {"command": "PLAY_NEXT"}
            if r < 0.7:
                return "post", "/api/queue/add", {"videoId": self.rng.choice(ids)}
            if r < 0.8:
                return "get", "/api/queue", {"limit": 50}
            return "post", "/api/track/vote", {"videoId": self.screen.current_video}
        if r < 0.35:
            return "post", "/api/queue/add", {"videoId": self.rng.choice(ids)}
        playing = self.screen.current_video or self.rng.choice(ids)
        if r < 0.65:
            return "post", "/api/track/vote", {"videoId": playing, "voteType": "like"}
        if r < 0.75:
            return "post", "/api/track/vote", {"videoId": playing, "voteType": "skip"}
        if r < 0.9:
            return "get", "/api/state", {}
        return "get", "/api/search", {"q": "Tone"}

    def run(self) -> None:
        while not self.halt.wait(self.rng.uniform(0.5, 3.5)):  # a person's pace
            method, path, body = self.action()
            t0 = time.monotonic()
            try:
                if method == "get":
                    status, answer = self.client.get(path, **body)
                else:
                    body = {**body, "commandId": uuid.uuid4().hex}
                    status, answer = self.client.post(path, body)
            except NETWORK_ERRORS as exc:
                self.record.note(t0, CLIENT_GAVE_UP, str(exc), path)
                continue
            if method == "get":
                if status >= 500:
                    self.record.note(t0, status, answer, path)
                continue
            self.record.note(t0, status, answer, path)


@dataclass
class SoakResult:
    seconds: float
    samples: list[Sample]
    record: SoakRecord
    latencies: list[float]
    tracks: int
    idle_before: tuple[float, int, int]
    idle_after: tuple[float, int, int]

    def rss_at(self, t: float) -> float:
        """RSS at the first sample from `t` s on (the first sample, for a short soak)."""
        return next((x.rss_mb for x in self.samples if x.t >= t), self.samples[0].rss_mb)

    def figures(self) -> list[dict[str, Any]]:
        s, warm = self.samples, self.samples[min(2, len(self.samples) - 1)]
        lat = sorted(self.latencies) or [0.0]

        def pct(p: float) -> float:
            return round(lat[min(len(lat) - 1, int(p * len(lat)))], 1)

        return [
            _fig("soak_seconds", self.seconds, "s", None),
            _fig("soak_commands_per_s", self.record.commands / self.seconds, "1/s", None, "higher"),
            _fig("soak_server_errors", len(self.record.server_errors), "count", 0),
            _fig("soak_client_timeouts", len(self.record.timeouts), "count", 0),
            _fig("soak_tracks_played", self.tracks, "count", None, "higher"),
            _fig("soak_rss_growth_after_warmup", s[-1].rss_mb - warm.rss_mb, "MB", 20,
                 samples=[x.rss_mb for x in s]),
            # The caches fill and stop (10,000 log entries and remembered replies, the hub's
            # frame history): at 19 commands/s they are full after about 10 minutes, and
            # from then on the box should hold still.
            _fig("soak_rss_growth_last_5_min", s[-1].rss_mb - self.rss_at(s[-1].t - 300), "MB", 2),
            _fig("soak_rss_end", s[-1].rss_mb, "MB", 150),
            _fig("soak_threads_max", max(x.threads for x in s), "count", None,
                 samples=[x.threads for x in s]),
            _fig("soak_threads_left_after_clients", self.idle_after[1] - self.idle_before[1],
                 "count", 5),
            _fig("soak_open_files_max", max(x.fds for x in s), "count", None,
                 samples=[x.fds for x in s]),
            _fig("soak_open_files_left_after_clients", self.idle_after[2] - self.idle_before[2],
                 "count", 5),
            _fig("soak_event_latency_p50", pct(0.5), "ms", 100, samples=self.latencies),
            _fig("soak_event_latency_p99", pct(0.99), "ms", 200),
            _fig("soak_event_latency_max", round(lat[-1], 1), "ms", None),
        ]  # fmt: skip

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = [json.dumps(f) for f in self.figures()]
        path.write_text("\n".join(lines) + "\n")
        timeline = [s.__dict__ for s in self.samples]
        path.with_suffix(".timeline.json").write_text(json.dumps(timeline))


def _fig(metric: str, value: float, unit: str, target: float | None, better: str = "lower",
         samples: list[float] | None = None) -> dict[str, Any]:  # fmt: skip
    out: dict[str, Any] = {"metric": metric, "value": round(float(value), 2), "unit": unit,
                           "target": target}  # fmt: skip
    if better != "lower":
        out["better"] = better
    if samples:
        out["samples"] = [round(float(x), 2) for x in samples]
    return out


def settle(pid: int, seconds: float = 3.0) -> tuple[float, int, int]:
    """The box's figures once idle: the lowest thread and fd counts over a few seconds
    (connections closing take a moment to be reaped)."""
    best = proc_figures(pid)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        time.sleep(0.25)  # sampling a process: nothing to wait on
        now = proc_figures(pid)
        best = (now[0], min(best[1], now[1]), min(best[2], now[2]))
    return best


def run_soak(box: BoxProcess, ids: list[str], seconds: float, every: float = 5.0) -> SoakResult:
    record = SoakRecord()
    observer_client = ApiClient.staff(box.url, "127.0.3.1")
    idle_before = settle(box.pid)
    observer = Observer(observer_client)
    observer.start()
    clients = [
        VenueClient(
            ApiClient.guest(box.url, f"p{i}", f"127.0.1.{i + 1}"), record, ids, False, observer
        )
        for i in range(PATRONS)
    ] + [
        VenueClient(ApiClient.staff(box.url, f"127.0.2.{i + 1}"), record, ids, True, observer)
        for i in range(STAFF)
    ]
    for c in clients:
        c.start()
    samples: list[Sample] = []
    start = time.monotonic()
    stop = threading.Event()
    while not stop.wait(every) and time.monotonic() - start < seconds:
        rss, threads, fds = proc_figures(box.pid)
        samples.append(Sample(time.monotonic() - start, rss, threads, fds, record.commands))
    for c in clients:
        c.halt.set()
    for c in clients:
        c.join(30)
        c.client.close()
    observer.stop()
    observer_client.close()
    elapsed = time.monotonic() - start
    idle_after = settle(box.pid)
    lat = latencies_ms(record.sent, observer.arrivals)
    return SoakResult(
        elapsed, samples, record, lat, len(observer.play_ids), idle_before, idle_after
    )


def summary(result: SoakResult) -> str:
    lat = result.latencies or [0.0]
    return (
        f"soak {result.seconds:.0f} s: {result.record.commands} commands "
        f"({result.record.refused} refused), {result.tracks} tracks, "
        f"RSS {result.samples[0].rss_mb:.1f} -> {result.samples[-1].rss_mb:.1f} MB, "
        f"threads max {max(s.threads for s in result.samples)}, "
        f"fds max {max(s.fds for s in result.samples)}, "
        f"latency median {statistics.median(lat):.1f} ms max {max(lat):.1f} ms; "
        f"refusals {result.record.refusals}"
    )
