"""The scheduler adapter on a real runtime (memory store) with a fake clock: nothing sleeps,
the test advances time and calls `tick()`."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from appliance.core import messages as m
from appliance.core.model import ContentItem
from appliance.memory_store import MemoryStore
from appliance.runtime import Runtime
from appliance.scheduler import Scheduler

LONDON = ZoneInfo("Europe/London")
STAFF = m.Actor(user_id="owner", role="admin", source="web")


class FakeClock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def set(self, local: str) -> None:
        self.t = datetime.fromisoformat(local).replace(tzinfo=LONDON).timestamp()


def local(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=LONDON).timestamp()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(local("2026-06-10T12:00"))


@pytest.fixture
def runtime(clock: FakeClock) -> Iterator[Runtime]:
    rt = Runtime(MemoryStore(), clock)
    rt.start()
    assert rt.submit(m.SetupVenue(owner_user_id="owner")).ok
    for name in ("lunch", "party"):
        tracks = [{"video_id": f"{name}-{i}", "title": f"{name} {i}"} for i in range(3)]
        reply = rt.submit(
            m.ManagePlaylist(actor=STAFF, action="create", params={"name": name, "tracks": tracks})
        )
        assert reply.ok
    yield rt
    rt.stop()


def pid(rt: Runtime, name: str) -> str:
    return next(p.playlist_id for p in rt.state.playlists.values() if p.name == name)


def set_schedule(rt: Runtime, rules: list[dict], events: list[dict] | None = None) -> None:
    data = {"timezone": "Europe/London", "rules": rules, "events": events or []}
    reply = rt.submit(m.UpdateSchedule(actor=STAFF, schedule_data=data))
    assert reply.ok, reply.error


def playing_from(rt: Runtime) -> str:
    np = rt.state.venue.now_playing
    return np.video_id.split("-")[0] if np else ""


def queue_from(rt: Runtime) -> set[str]:
    """Where the loaded rotation came from (under repeat-all the track that was cut off
    by the slot change goes back to the end of the rotation, so it is left out)."""
    return {i.video_id.split("-")[0] for i in rt.state.venue.active_queue[:2]}


def test_playlist_slot_boundaries(runtime: Runtime, clock: FakeClock) -> None:
    set_schedule(
        runtime,
        [
            {
                "id": "lunch",
                "start": "12:00",
                "end": "14:00",
                "action": "playlist",
                "playlistId": pid(runtime, "lunch"),
            },
            {
                "id": "party",
                "start": "22:00",
                "end": "02:00",
                "action": "playlist",
                "playlistId": pid(runtime, "party"),
            },
        ],
    )
    sched = Scheduler(runtime, clock=clock, timezone="UTC")
    clock.set("2026-06-10T12:30")
    sched.tick()
    assert playing_from(runtime) == "lunch" and queue_from(runtime) == {"lunch"}
    loads = runtime.state.playlists[pid(runtime, "lunch")].play_count
    clock.set("2026-06-10T13:00")
    sched.tick()  # same slot: nothing is applied again
    assert runtime.state.playlists[pid(runtime, "lunch")].play_count == loads
    clock.set("2026-06-10T21:59")
    sched.tick()
    assert playing_from(runtime) == "lunch"
    clock.set("2026-06-10T22:00")
    sched.tick()
    assert playing_from(runtime) == "party" and queue_from(runtime) == {"party"}
    entry = [e for e in runtime.state.activity_log if e.event_type == "playlist_load"][-1]
    assert entry.user_id == "scheduler"


def test_boot_inside_a_slot_plays_that_slots_playlist(runtime: Runtime, clock: FakeClock) -> None:
    party = pid(runtime, "party")
    set_schedule(
        runtime,
        [{"id": "p", "start": "18:00", "end": "22:00", "action": "playlist", "playlistId": party}],
    )
    clock.set("2026-06-10T20:30")
    Scheduler(runtime, clock=clock).tick()  # a fresh scheduler: what a restart looks like
    assert playing_from(runtime) == "party"
    # A second restart inside the same slot does not reload (the queue survives restarts).
    count = runtime.state.playlists[party].play_count
    clock.set("2026-06-10T21:00")
    Scheduler(runtime, clock=clock).tick()
    assert runtime.state.playlists[party].play_count == count


def test_overlap_uses_precedence_and_volume_follows(runtime: Runtime, clock: FakeClock) -> None:
    set_schedule(
        runtime,
        [
            {"id": "quiet", "start": "11:00", "end": "15:00", "action": "volume", "volume": 30},
            {
                "id": "loud",
                "start": "13:00",
                "end": "14:00",
                "action": "volume",
                "volume": 80,
                "priority": 1,
            },
        ],
    )
    sched = Scheduler(runtime, clock=clock)
    seen = []
    for hhmm in ("12:00", "13:30", "14:30", "16:00"):
        clock.set(f"2026-06-10T{hhmm}")
        sched.tick()
        seen.append(runtime.state.venue.player_settings.master_volume)
    assert seen == [30, 80, 30, 30]  # after the last slot the volume is left as it was


def test_audio_hours_start_and_fade_out(runtime: Runtime, clock: FakeClock) -> None:
    set_schedule(
        runtime, [{"id": "open", "start": "10:00", "end": "23:00", "action": "audio_hours"}]
    )
    sched = Scheduler(runtime, clock=clock)
    clock.set("2026-06-10T23:30")
    sched.tick()
    assert runtime.state.venue.transport == "stopped"
    clock.set("2026-06-11T09:59")
    sched.tick()
    assert runtime.state.venue.transport == "stopped"
    clock.set("2026-06-11T10:00")
    sched.tick()
    assert runtime.state.venue.transport == "playing"
    # Staff pause by hand inside the slot: the scheduler leaves them alone.
    assert runtime.submit(m.UiCommand(actor=STAFF, command="PAUSE")).ok
    clock.set("2026-06-11T12:00")
    sched.tick()
    assert runtime.state.venue.transport == "paused"


def test_event_mode_closes_then_reopens_requests(runtime: Runtime, clock: FakeClock) -> None:
    set_schedule(
        runtime,
        [],
        [
            {
                "id": "gig",
                "start": "2026-06-10T19:00",
                "end": "2026-06-10T23:00",
                "action": "event_mode",
                "message": "Live band tonight",
            }
        ],
    )
    sched = Scheduler(runtime, clock=clock)
    clock.set("2026-06-10T18:00")
    sched.tick()
    assert runtime.state.venue.request_rules.requests_open
    early = m.Actor(user_id="guest0", role="user", source="web")
    assert runtime.submit(m.AddToQueue(actor=early, track=m.TrackInfo(video_id="early"))).ok
    clock.set("2026-06-10T19:00")
    sched.tick()
    rules = runtime.state.venue.request_rules
    assert not rules.requests_open and rules.closed_message == "Live band tonight"
    patron = m.Actor(user_id="guest1", role="user", source="web")
    refused = runtime.submit(m.AddToQueue(actor=patron, track=m.TrackInfo(video_id="x")))
    assert not refused.ok
    queued = [i.video_id for i in runtime.state.venue.priority_queue]
    assert "early" in queued or playing_from(runtime) == "early"  # requests made are kept
    clock.set("2026-06-10T23:00")
    sched.tick()
    assert runtime.state.venue.request_rules.requests_open
    assert runtime.submit(m.AddToQueue(actor=patron, track=m.TrackInfo(video_id="x"))).ok


def test_restart_after_event_ended_reopens_only_what_it_closed(
    runtime: Runtime, clock: FakeClock
) -> None:
    set_schedule(
        runtime,
        [],
        [
            {
                "id": "gig",
                "start": "2026-06-10T19:00",
                "end": "2026-06-10T20:00",
                "action": "event_mode",
                "message": "Band",
            }
        ],
    )
    clock.set("2026-06-10T19:30")
    Scheduler(runtime, clock=clock).tick()
    assert not runtime.state.venue.request_rules.requests_open
    clock.set("2026-06-10T21:00")  # the box was off when the event ended
    Scheduler(runtime, clock=clock).tick()
    assert runtime.state.venue.request_rules.requests_open
    closed = {"requests_open": False, "closed_message": "Kitchen closed"}
    assert runtime.submit(m.UpdateSetting(actor=STAFF, setting="request_rules", value=closed)).ok
    Scheduler(runtime, clock=clock).tick()  # a manual close is not the schedule's to undo
    assert not runtime.state.venue.request_rules.requests_open


def test_dst_transition_keeps_the_local_start(runtime: Runtime, clock: FakeClock) -> None:
    set_schedule(
        runtime,
        [{"id": "eve", "start": "18:00", "end": "22:00", "action": "volume", "volume": 40}],
    )
    sched = Scheduler(runtime, clock=clock)
    utc = ZoneInfo("UTC")
    clock.t = datetime(2026, 3, 29, 16, 59, tzinfo=utc).timestamp()  # 17:59 BST
    sched.tick()
    assert runtime.state.venue.player_settings.master_volume == 70
    clock.t = datetime(2026, 3, 29, 17, 0, tzinfo=utc).timestamp()  # 18:00 BST
    sched.tick()
    assert runtime.state.venue.player_settings.master_volume == 40


def test_clock_jump_applies_what_is_in_force_now(runtime: Runtime, clock: FakeClock) -> None:
    lunch, party = pid(runtime, "lunch"), pid(runtime, "party")
    set_schedule(
        runtime,
        [
            {
                "id": "l",
                "start": "12:00",
                "end": "14:00",
                "action": "playlist",
                "playlistId": lunch,
            },
            {
                "id": "p",
                "start": "20:00",
                "end": "23:00",
                "action": "playlist",
                "playlistId": party,
            },
        ],
    )
    sched = Scheduler(runtime, clock=clock)
    clock.set("2026-06-10T12:10")
    sched.tick()
    clock.set("2026-06-10T21:00")  # NTP fixed a wrong clock: jump straight into the party
    sched.tick()
    assert queue_from(runtime) == {"party"} and playing_from(runtime) == "party"


def test_missing_playlist_is_reported_not_fatal(runtime: Runtime, clock: FakeClock) -> None:
    set_schedule(
        runtime,
        [
            {
                "id": "gone",
                "start": "11:00",
                "end": "13:00",
                "action": "playlist",
                "playlistId": "pl-none",
            }
        ],
    )
    sched = Scheduler(runtime, clock=clock)
    sched.tick()
    assert sched.failures and sched.failures[0]["error"]["code"] == "not_found"
    sched.tick()  # not retried every tick
    assert len(sched.failures) == 1


def test_tick_posts_heartbeat_audit(runtime: Runtime, clock: FakeClock) -> None:
    sub = runtime.subscribe()
    assert runtime.submit(m.Heartbeat()).ok
    sched = Scheduler(runtime, clock=clock, heartbeat_timeout=15)
    clock.t += 16
    sched.tick()
    deadline_events = []
    while (item := sub.get(timeout=5)) is not None:
        deadline_events += [e.type for e in getattr(item, "events", ())]
        if "PLAYER_DISCONNECTED" in deadline_events:
            break
    assert "PLAYER_DISCONNECTED" in deadline_events
    assert not runtime.state.venue.player_connected
    assert runtime.submit(m.Heartbeat()).ok  # the player is back
    recovered = []
    while not recovered and (item := sub.get(timeout=5)) is not None:
        recovered = [e.payload for e in item.events if e.type == "SYSTEM_STATUS"]
    sub.close()
    assert recovered and recovered[0]["status"] == "player_connected"
    assert runtime.state.venue.player_connected


def test_the_adapter_thread_ticks_until_stopped(runtime: Runtime, clock: FakeClock) -> None:
    set_schedule(
        runtime,
        [{"id": "v", "start": "00:00", "end": "24:00", "action": "volume", "volume": 12}],
    )
    sub = runtime.subscribe()
    sched = Scheduler(runtime, clock=clock, tick_every=0.05)
    sched.start()
    assert sched.running
    try:
        changed = False
        while not changed and (pub := sub.get(timeout=10)) is not None:
            changed = pub.state.venue.player_settings.master_volume == 12
        assert changed
    finally:
        sched.stop()
        sub.close()
    assert not sched.running


def test_bootstrap_wires_the_scheduler_from_config(tmp_path: Path, clock: FakeClock) -> None:
    from appliance.bootstrap import build
    from appliance.config import Config
    from appliance.wiring import wire_scheduler

    config = Config(
        data_dir=tmp_path,
        admin_pin="4321",
        timezone="Europe/London",
        sections={"scheduler": {"tick_seconds": 0.05, "log_retention_days": 30}},
    )
    box = build(config, store=MemoryStore(), clock=clock, adapters=[wire_scheduler])
    sched = box.adapters[0]
    assert isinstance(sched, Scheduler) and sched.timezone == "Europe/London"
    assert sched.maintenance.log_retention_days == 30
    box.start()
    try:
        rule = {"id": "v", "start": "11:00", "end": "13:00", "action": "volume", "volume": 21}
        sub = box.runtime.subscribe()
        set_schedule(box.runtime, [rule])
        seen = False
        while not seen and (pub := sub.get(timeout=10)) is not None:
            seen = pub.state.venue.player_settings.master_volume == 21
        sub.close()
        assert seen  # 12:00 in London is inside the slot
    finally:
        box.stop()
    off = Config(data_dir=tmp_path, sections={"scheduler": {"enabled": False}})
    assert build(off, store=MemoryStore(), adapters=[wire_scheduler]).adapters == []


def test_scheduled_announcements_play_at_their_moments_and_not_twice(
    runtime: Runtime, clock: FakeClock
) -> None:
    clip = ContentItem(content_id="c-promo", filename="promo.mp3", mime_type="audio/mpeg",
                       kind="audio")  # fmt: skip
    assert runtime.submit(m.AddContent(item=clip, actor=STAFF)).ok
    set_schedule(runtime, [{"id": "promo", "days": ["wed"], "start": "12:00", "end": "13:00",
                            "action": "announcement", "contentId": "c-promo",
                            "everyMinutes": 15}])  # fmt: skip

    def played() -> int:
        return sum(e.event_type == "announcement_played" for e in runtime.state.activity_log)

    sched = Scheduler(runtime, clock=clock, timezone="Europe/London")
    clock.set("2026-06-10T12:14:58")
    sched.apply(clock())  # the first pass after boot plays nothing from before it
    assert played() == 0
    clock.set("2026-06-10T12:15:03")
    sched.apply(clock())
    assert played() == 1
    clock.set("2026-06-10T12:15:08")
    sched.apply(clock())
    assert played() == 1  # that moment is past: not again
    clock.set("2026-06-10T12:30:01")
    sched.apply(clock())
    assert played() == 2 and not sched.failures
