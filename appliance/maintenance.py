"""Maintenance jobs the scheduler runs when they are due: activity-log retention, media
cache eviction, stale sessions, disk space and cloud link health. Problems and recoveries
reach the consoles (and MQTT) as SYSTEM_STATUS notices.

The other parts take part through the box's `Services`, read when a job runs (the console
and the cloud link are built after the scheduler), each used only if that part runs here:
`cache.evict(max_bytes)`, `sessions.expire(now)`, `cloud.connected` and `ytdlp`
(`due(local_datetime)`, `start_update(local_date)`: the daily update in its own thread).
`appliance/wiring.py` builds it with the box's `Services`.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from appliance.core import messages as m
from appliance.runtime import Runtime
from appliance.services import Services

log = logging.getLogger(__name__)

ACTOR = m.Actor(user_id="maintenance", role="admin", source="scheduler")
DAY = 86400.0


@dataclass
class Job:
    name: str
    every: float  # seconds
    run: Callable[[float], None]
    last: float | None = None


class Maintenance:
    def __init__(
        self,
        runtime: Runtime,
        *,
        data_dir: Path | None = None,
        services: Services | None = None,
        log_retention_days: float = 90.0,
        cache_max_bytes: int = 2048 * 1024 * 1024,
        disk_low_bytes: int = 500 * 1024 * 1024,
        timezone: str = "UTC",
    ) -> None:
        self.runtime = runtime
        self.data_dir = data_dir
        self.services = services if services is not None else Services()
        self.log_retention_days = log_retention_days
        self.cache_max_bytes = cache_max_bytes
        self.disk_low_bytes = disk_low_bytes
        self.timezone = timezone
        self._disk_low: bool | None = None
        self._cloud_up: bool | None = None
        self._said_no_cloud = False
        self.jobs = [
            Job("log_retention", 3600.0, self.prune_log),
            Job("cache_eviction", 3600.0, self.evict_cache),
            Job("stale_sessions", 300.0, self.expire_sessions),
            Job("disk_space", 600.0, self.check_disk),
            Job("cloud_link", 15.0, self.check_cloud),
            Job("ytdlp_update", 300.0, self.update_ytdlp),
        ]

    def run(self, now: float) -> list[str]:
        """Run every job that is due (or whose clock went backwards); names of those run."""
        ran = []
        for job in self.jobs:
            if job.last is not None and 0 <= now - job.last < job.every:
                continue
            job.last = now
            try:
                job.run(now)
                ran.append(job.name)
            except Exception:  # a failing job must not stop the others
                log.exception("maintenance job %s failed", job.name)
        return ran

    def notice(self, status: str, **detail: Any) -> None:
        self.runtime.post(m.SystemNotice(actor=ACTOR, status=status, detail=detail))

    # -- jobs ------------------------------------------------------------------------------

    def prune_log(self, now: float) -> None:
        cutoff = now - self.log_retention_days * DAY
        before = datetime.fromtimestamp(cutoff, UTC).isoformat(timespec="milliseconds")
        reply = self.runtime.submit(
            m.PruneActivityLog(actor=ACTOR, before=before.replace("+00:00", "Z")), timeout=60
        )
        if reply.ok and reply.result and reply.result.get("removed"):
            log.info("activity log: %s entries past retention removed", reply.result["removed"])

    def evict_cache(self, now: float) -> None:
        if self.services.cache is not None:
            self.services.cache.evict(self.cache_max_bytes)

    def expire_sessions(self, now: float) -> None:
        if self.services.sessions is not None:
            self.services.sessions.expire(now)

    def check_disk(self, now: float) -> None:
        if self.data_dir is None or not self.data_dir.exists():
            return
        usage = shutil.disk_usage(self.data_dir)
        low = usage.free < self.disk_low_bytes
        if low != self._disk_low and (low or self._disk_low is not None):
            self.notice("disk_low" if low else "disk_ok", free_bytes=usage.free)
        self._disk_low = low

    @property
    def cloud_up(self) -> bool | None:
        """The cloud link as this job last saw it; None: no link on this box (or not yet)."""
        return self._cloud_up

    def check_cloud(self, now: float) -> None:
        cloud = self.services.cloud
        if cloud is None:
            if not self._said_no_cloud:
                log.info("cloud_link: this box has no cloud link; nothing to watch")
                self._said_no_cloud = True
            return
        up = cloud.connected
        # only a change from what this job saw before: at boot the link is still connecting,
        # and it says itself when a connection fails
        if self._cloud_up is not None and up != self._cloud_up:
            self.notice("cloud_link_up" if up else "cloud_link_down")
        self._cloud_up = up

    def update_ytdlp(self, now: float) -> None:
        updater = self.services.ytdlp
        if updater is None:
            return
        local = datetime.fromtimestamp(now, ZoneInfo(self.timezone))
        if updater.due(local):
            updater.start_update(local.date().isoformat())
