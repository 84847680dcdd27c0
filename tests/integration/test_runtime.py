"""The single writer over the real FileStore: idempotent commandId, conflicts, slow
subscribers, effect sinks, resume after restart, and the position checkpoint."""

from __future__ import annotations

import gc
import threading
import weakref
from concurrent.futures import Future
from pathlib import Path

from appliance.core import messages as m
from appliance.core.model import State, TrackInfo
from appliance.core.outputs import PlayTrack
from appliance.memory_store import MemoryStore
from appliance.runtime import Published, Resync, Runtime
from appliance.store import FileStore
from tests.integration.runtime_kit import (
    ADMIN,
    PLAYER,
    EffectLog,
    FakeClock,
    RecordingStore,
    ok,
    running,
    set_up_playing,
)


def _add(video: str, command_id: str = "", **kw: object) -> m.AddToQueue:
    return m.AddToQueue(track=TrackInfo(video), command_id=command_id, actor=ADMIN, **kw)


def test_repeated_command_id_returns_the_first_result_and_applies_once(tmp_path: Path) -> None:
    with running(tmp_path) as (rt, store):
        set_up_playing(rt)
        first = ok(rt.submit(_add("vx", "cmd-1")))
        rev = rt.state.rev
        again = rt.submit(_add("vx", "cmd-1"))
        assert again == first
        assert rt.state.rev == rev
        assert [i.video_id for i in rt.state.venue.active_queue].count("vx") == 1
        assert store.kinds().count("AddToQueue") == 1


def test_concurrent_repeats_of_one_command_id_apply_once(tmp_path: Path) -> None:
    with running(tmp_path) as (rt, _):
        set_up_playing(rt)
        futures = [rt.submit_async(_add("vy", "cmd-2")) for _ in range(20)]
        replies = [f.result(timeout=20) for f in futures]
        assert all(r == replies[0] for r in replies) and replies[0].ok
        assert [i.video_id for i in rt.state.venue.active_queue].count("vy") == 1


def test_command_id_survives_a_restart(tmp_path: Path) -> None:
    with running(tmp_path) as (rt, _):
        set_up_playing(rt)
        ok(rt.submit(_add("vz", "cmd-3")))
        rev = rt.state.rev
    with running(tmp_path) as (rt, _):
        again = rt.submit(_add("vz", "cmd-3"))
        assert again.ok and rt.state.rev == rev
        assert [i.video_id for i in rt.state.venue.active_queue].count("vz") == 1


def test_a_refusal_is_remembered_for_its_command_id(tmp_path: Path) -> None:
    with running(tmp_path) as (rt, _):
        set_up_playing(rt)
        bad = m.UiCommand(command="SET_VOLUME", value=400, command_id="cmd-4", actor=ADMIN)
        first = rt.submit(bad)
        assert not first.ok and first.status == 400
        assert rt.submit(bad) == first


def test_stale_expected_rev_gives_409_with_the_current_state(tmp_path: Path) -> None:
    with running(tmp_path) as (rt, _):
        set_up_playing(rt)
        stale = rt.state.rev - 1
        before = rt.state
        reply = rt.submit(m.UiCommand(command="PAUSE", expected_rev=stale, actor=ADMIN))
        assert not reply.ok and reply.status == 409
        assert reply.error["code"] == "stale_rev" and reply.error["rev"] == before.rev
        assert reply.state is before and rt.state is before
        fresh = rt.submit(m.UiCommand(command="PAUSE", expected_rev=before.rev, actor=ADMIN))
        assert fresh.ok and fresh.rev == before.rev + 1


def test_stale_expected_play_id_gives_409_with_the_current_state(tmp_path: Path) -> None:
    with running(tmp_path) as (rt, _):
        set_up_playing(rt)
        old = rt.state.venue.now_playing.play_id
        ok(rt.submit(m.TrackEnded(play_id=old, actor=PLAYER)))
        reply = rt.submit(m.UiCommand(command="SEEK", value=3, expected_play_id=old, actor=ADMIN))
        assert reply.status == 409 and reply.error["code"] == "stale_play_id"
        assert reply.state is rt.state


def test_a_remembered_conflict_does_not_keep_its_state_alive(tmp_path: Path) -> None:
    """The idempotency memory holds thousands of answers: a 409 in it must not pin the
    whole State it was refused against (that grew the box by megabytes a minute)."""
    with running(tmp_path) as (rt, _):
        set_up_playing(rt)
        stale = m.UiCommand(
            command="PAUSE", expected_rev=rt.state.rev - 1, command_id="cmd-409", actor=ADMIN
        )
        refused = rt.submit(stale)
        assert refused.status == 409 and refused.state is rt.state
        then = weakref.ref(refused.state)
        del refused
        for i in range(3):  # move on: the state it was refused against is history
            ok(rt.submit(_add(f"later{i}")))
        gc.collect()
        assert then() is None, "a remembered refusal keeps an old State alive"
        again = rt.submit(stale)
        assert again.status == 409 and again.error["code"] == "stale_rev"
        assert again.state is rt.state  # a retry still gets the current truth


def test_rev_increments_once_per_applied_change_and_events_carry_it(tmp_path: Path) -> None:
    with running(tmp_path) as (rt, _):
        sub = rt.subscribe(maxsize=1000)
        set_up_playing(rt)
        start = rt.state.rev
        for v in range(10):
            reply = ok(rt.submit(_add(f"n{v}")))
            assert reply.rev == start + v + 1
        revs = []
        while (item := sub.get(timeout=0)) is not None:
            assert isinstance(item, Published)
            revs.append(item.rev)
        assert revs == list(range(1, rt.state.rev + 1))


def test_a_slow_subscriber_gets_a_resync_and_never_blocks_the_writer(tmp_path: Path) -> None:
    with running(tmp_path) as (rt, _):
        set_up_playing(rt)
        slow = rt.subscribe(maxsize=4, name="slow")
        fast = rt.subscribe(maxsize=10_000, name="fast")
        # 60 changes while "slow" reads nothing: submit must not wait for it
        replies = [ok(rt.submit(_add(f"s{i}"))) for i in range(60)]
        seen: list[int] = []
        while (got := fast.get(timeout=10)) is not None:
            seen.append(got.rev)
            if got.rev == replies[-1].rev:
                break
        assert seen and seen[-1] == replies[-1].rev
        assert seen == sorted(seen) and len(seen) == 60
        items = []
        while (item := slow.get(timeout=0)) is not None:
            items.append(item)
        assert len(items) <= 4 and slow.overflows >= 1
        assert any(isinstance(i, Resync) for i in items)
        assert items[-1].rev == replies[-1].rev
        resync = next(i for i in items if isinstance(i, Resync))
        assert resync.state.rev == resync.rev


def test_effect_sinks_run_in_order_and_a_failing_sink_does_not_stop_the_box(
    tmp_path: Path,
) -> None:
    log = EffectLog()
    store = RecordingStore(FileStore(tmp_path))
    rt = Runtime(store, FakeClock())

    def broken(effects: object, state: State) -> None:
        raise RuntimeError("deck on fire")

    rt.add_effect_sink(broken, "broken")
    rt.add_effect_sink(log, "log")
    rt.start(boot=False)
    try:
        set_up_playing(rt)
        play = log.wait_for(PlayTrack)
        assert play.play_id == rt.state.venue.now_playing.play_id
        assert ok(rt.submit(_add("after"))).rev > 0
    finally:
        rt.stop()


def test_restart_resumes_the_current_track_at_its_last_position(tmp_path: Path) -> None:
    clock = FakeClock()
    with running(tmp_path, clock) as (rt, _):
        set_up_playing(rt)
        pid = rt.state.venue.now_playing.play_id
        for pos in (5.0, 10.0, 15.0, 80.5):
            clock.now += 5
            ok(rt.submit(m.Heartbeat(position=pos, play_id=pid)))
    log = EffectLog()
    rt = Runtime(FileStore(tmp_path), FakeClock(clock.now + 60))
    rt.add_effect_sink(log, "player")
    rt.start()  # posts Boot
    try:
        play = log.wait_for(PlayTrack)
        assert play.play_id == pid and play.start_at == 80.5
        assert play.item.video_id == "v0"
    finally:
        rt.stop()


def test_heartbeats_stay_in_memory_until_the_checkpoint_interval(tmp_path: Path) -> None:
    clock = FakeClock()
    with running(tmp_path, clock, checkpoint_every=30.0) as (rt, store):
        set_up_playing(rt)
        pid = rt.state.venue.now_playing.play_id
        clock.now += 31  # the first checkpoint window starts now
        ok(rt.submit(m.Heartbeat(position=1.0, play_id=pid)))
        base = len(store.appended)
        rev = rt.state.rev
        for i in range(5):  # 25 s of heartbeats: nothing written
            clock.now += 5
            ok(rt.submit(m.Heartbeat(position=2.0 + i, play_id=pid)))
        assert store.kinds()[base:] in ([], ["PositionCheckpoint"])
        written_at_start = len(store.appended)
        clock.now += 6
        ok(rt.submit(m.Heartbeat(position=42.0, play_id=pid)))
        assert store.kinds()[written_at_start:] == ["PositionCheckpoint"]
        assert store.appended[-1].position == 42.0
        assert rt.state.rev == rev  # checkpoints are not changes: no rev


def test_heartbeat_is_not_written_at_all_within_the_window(tmp_path: Path) -> None:
    clock = FakeClock()
    with running(tmp_path, clock, checkpoint_every=30.0) as (rt, store):
        set_up_playing(rt)
        pid = rt.state.venue.now_playing.play_id
        n = len(store.appended)
        for i in range(5):
            clock.now += 5
            ok(rt.submit(m.Heartbeat(position=float(i), play_id=pid)))
        assert len(store.appended) == n


def test_the_position_is_written_at_shutdown(tmp_path: Path) -> None:
    clock = FakeClock()
    with running(tmp_path, clock, checkpoint_every=30.0) as (rt, store):
        set_up_playing(rt)
        pid = rt.state.venue.now_playing.play_id
        clock.now += 2
        ok(rt.submit(m.Heartbeat(position=12.5, play_id=pid)))
        n = len(store.appended)
    assert store.kinds()[n:] == ["PositionCheckpoint"]
    state = Runtime(FileStore(tmp_path)).replay_only()
    assert state.venue.now_playing.position == 12.5


def test_a_durable_change_after_heartbeats_journals_the_position_first(tmp_path: Path) -> None:
    clock = FakeClock()
    with running(tmp_path, clock) as (rt, store):
        set_up_playing(rt)
        pid = rt.state.venue.now_playing.play_id
        clock.now += 1
        ok(rt.submit(m.Heartbeat(position=50.0, play_id=pid)))
        n = len(store.appended)
        ok(rt.submit(m.UiCommand(command="PLAY_PREVIOUS", actor=ADMIN)))  # restart: pos > 3
        assert store.kinds()[n:] == ["PositionCheckpoint", "UiCommand"]
        live = rt.state
    (tmp_path / "djamms.json").unlink()  # replay the journal alone
    assert Runtime(FileStore(tmp_path)).replay_only() == live


class FailingStore(MemoryStore):
    def append(
        self, msg: m.Message, now: float, state: State, *, alone: bool = False
    ) -> Future[None]:
        done: Future[None] = Future()
        done.set_exception(OSError(28, "No space left on device"))
        return done


def test_a_write_failure_is_reported_not_acknowledged() -> None:
    rt = Runtime(FailingStore(), FakeClock())
    rt.start(boot=False)
    try:
        reply = rt.submit(m.SetupVenue(owner_user_id="o"))
        assert not reply.ok and reply.status == 507
        assert reply.error["code"] == "storage_failed"
    finally:
        rt.stop()


def test_an_idle_command_is_on_disk_before_its_answer(tmp_path: Path) -> None:
    with running(tmp_path) as (rt, _):
        set_up_playing(rt)
        ok(rt.submit(_add("vdisk", "cmd-on-disk")))
        journal = b"".join(p.read_bytes() for p in (tmp_path / "journal").glob("*.jsonl"))
        assert b"cmd-on-disk" in journal


def test_commands_run_by_their_senders_and_by_the_worker_journal_in_rev_order(
    tmp_path: Path,
) -> None:
    """Senders apply at idle themselves, queue when busy: replay still gives the same truth."""
    with running(tmp_path) as (rt, _):
        set_up_playing(rt)
        revs: list[list[int]] = [[] for _ in range(4)]

        def send(k: int) -> None:
            for i in range(40):
                revs[k].append(ok(rt.submit(_add(f"v{k}-{i}", f"c{k}-{i}"))).rev)
                rt.post(m.Heartbeat(position=float(i), play_id="nothing"))

        threads = [threading.Thread(target=send, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        live = rt.state
    assert all(r == sorted(r) for r in revs)  # each sender's answers in its own order
    assert len({r for rs in revs for r in rs}) == 160  # one rev per command
    (tmp_path / "djamms.json").unlink()  # replay the journal alone
    assert Runtime(FileStore(tmp_path)).replay_only() == live
