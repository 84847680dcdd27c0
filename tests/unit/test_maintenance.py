"""Maintenance jobs on a real runtime with a fake clock and fake services (our own ports)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from appliance.core import messages as m
from appliance.maintenance import DAY, Maintenance
from appliance.memory_store import MemoryStore
from appliance.runtime import Runtime, Subscription
from appliance.services import Services

T0 = 1_780_000_000.0


class Clock:
    def __init__(self) -> None:
        self.t = T0

    def __call__(self) -> float:
        return self.t


class FakeCache:
    def __init__(self) -> None:
        self.calls: list[int] = []

    def evict(self, max_bytes: int) -> None:
        self.calls.append(max_bytes)


class FakeSessions:
    def __init__(self) -> None:
        self.calls: list[float] = []

    def expire(self, now: float) -> None:
        self.calls.append(now)


class FakeCloud:
    connected = True


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def runtime(clock: Clock) -> Iterator[Runtime]:
    rt = Runtime(MemoryStore(), clock)
    rt.start()
    assert rt.submit(m.SetupVenue(owner_user_id="owner")).ok
    yield rt
    rt.stop()


def statuses(sub: Subscription) -> list[str]:
    out = []
    while (pub := sub.get(timeout=0.5)) is not None:
        out += [e.payload["status"] for e in pub.events if e.type == "SYSTEM_STATUS"]
    return out


def test_log_retention_drops_old_entries_only(runtime: Runtime, clock: Clock) -> None:
    assert runtime.submit(m.RecordLog(event_type="old")).ok
    clock.t += 100 * DAY
    assert runtime.submit(m.RecordLog(event_type="recent")).ok
    Maintenance(runtime, log_retention_days=90).run(clock.t)
    kinds = [e.event_type for e in runtime.state.activity_log]
    assert "old" not in kinds and "venue_created" not in kinds
    assert kinds[:1] == ["recent"] and kinds[-1] == "activity_log_pruned"


def test_jobs_run_when_due_and_use_services(runtime: Runtime, clock: Clock, tmp_path: Path) -> None:
    cache, sessions, cloud = FakeCache(), FakeSessions(), FakeCloud()
    maint = Maintenance(
        runtime,
        data_dir=tmp_path,
        services=Services(cache=cache, sessions=sessions, cloud=cloud),
        cache_max_bytes=1234,
    )
    first = maint.run(clock.t)
    assert set(first) == {j.name for j in maint.jobs}
    assert cache.calls == [1234] and sessions.calls == [clock.t]
    assert maint.run(clock.t + 60) == ["cloud_link"]  # nothing else is due yet
    assert set(maint.run(clock.t + 3601)) == {j.name for j in maint.jobs}
    assert len(cache.calls) == 2


def test_disk_and_cloud_notices_on_change_only(
    runtime: Runtime, clock: Clock, tmp_path: Path
) -> None:
    cloud = FakeCloud()
    sub = runtime.subscribe()
    maint = Maintenance(runtime, data_dir=tmp_path, services=Services(cloud=cloud))
    maint.check_cloud(clock.t)
    maint.check_disk(clock.t)
    assert statuses(sub) == []  # healthy at start: nothing to say
    cloud.connected = False
    maint.check_cloud(clock.t)
    maint.check_cloud(clock.t)
    maint.disk_low_bytes = 10**18  # every disk is "low" now
    maint.check_disk(clock.t)
    cloud.connected = True
    maint.check_cloud(clock.t)
    assert statuses(sub) == ["cloud_link_down", "disk_low", "cloud_link_up"]
    sub.close()


def test_a_link_still_connecting_at_the_first_check_is_not_called_down(
    runtime: Runtime, clock: Clock
) -> None:
    cloud = FakeCloud()
    cloud.connected = False  # the box has just started; the link is connecting
    sub = runtime.subscribe()
    maint = Maintenance(runtime, services=Services(cloud=cloud))
    maint.check_cloud(clock.t)
    assert maint.cloud_up is False
    cloud.connected = True
    maint.check_cloud(clock.t + 15)
    assert statuses(sub) == ["cloud_link_up"]
    sub.close()


def test_a_failing_job_does_not_stop_the_others(runtime: Runtime, clock: Clock) -> None:
    class BrokenCache:
        def evict(self, max_bytes: int) -> None:
            raise OSError("card removed")

    sessions = FakeSessions()
    maint = Maintenance(runtime, services=Services(cache=BrokenCache(), sessions=sessions))
    ran = maint.run(clock.t)
    assert "cache_eviction" not in ran and "stale_sessions" in ran and sessions.calls


class FakeUpdater:
    """Our updater's port: due in its hour, once per local date."""

    def __init__(self, hour: int) -> None:
        self.hour = hour
        self.started: list[str] = []

    def due(self, local: datetime) -> bool:
        return local.hour == self.hour and local.date().isoformat() not in self.started

    def start_update(self, local_date: str) -> bool:
        self.started.append(local_date)
        return True


def test_the_ytdlp_update_starts_in_its_local_hour(runtime: Runtime, clock: Clock) -> None:
    updater = FakeUpdater(hour=4)
    maint = Maintenance(runtime, services=Services(ytdlp=updater), timezone="Europe/Berlin")
    # 02:30 UTC on 2026-12-03 is 03:30 in Berlin: not yet; an hour later it is 04:30
    at = datetime(2026, 12, 3, 2, 30, tzinfo=UTC).timestamp()
    maint.run(at)
    assert updater.started == []
    maint.run(at + 3600)
    assert updater.started == ["2026-12-03"]
    maint.run(at + 3600 + 301)  # due again by the job's clock, but done for today
    assert updater.started == ["2026-12-03"]
