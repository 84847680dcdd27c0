"""Property test: random command sequences from several windows (admin, moderator,
patrons) plus player facts, through the real Runtime and FileStore, keep the invariants:

- no queue item is lost or duplicated except by an explicit remove, a clear/load of the
  active queue, or a finished track being consumed;
- priority items are never removed by a load or a clear;
- published revs strictly increase with no gaps; replies never go back in rev;
- exactly one advance per play_id: a retired play_id never plays again, and stale
  ends/errors/skips change nothing;
- the state round-trips through the codec and through the FileStore (snapshot, and
  journal replay alone).
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appliance.core import messages as m
from appliance.core.codec import from_data, to_data
from appliance.core.model import State, Venue
from appliance.runtime import Published, Reply, Resync, Runtime
from appliance.snapshot import SNAPSHOT
from appliance.store import FileStore
from tests.unit.engine_kit import ADMIN, MOD, PLAYER, T0, patron, playlist_tracks, track

WINDOWS = [ADMIN, MOD, patron(1), patron(2), patron(3)]

actors = st.sampled_from(WINDOWS)
adds = st.tuples(
    st.just("add"),
    actors,
    st.integers(0, 14),
    st.sampled_from(["end", "next"]),
    st.sampled_from([0, 180, 240, 700]),
)
ops = st.one_of(
    adds,
    adds,
    st.tuples(st.just("end"), st.sampled_from(["current", "twice"])),
    st.tuples(st.just("remove"), actors, st.integers(0, 40)),
    st.tuples(st.just("move"), actors, st.integers(0, 40), st.integers(0, 12)),
    st.tuples(st.just("clear"), actors),
    st.tuples(st.just("load"), actors, st.integers(0, 1)),
    st.tuples(
        st.just("ui"),
        actors,
        st.sampled_from(m.UI_COMMANDS),
        st.one_of(st.none(), st.integers(-5, 260)),
    ),
    st.tuples(st.just("skip"), actors, st.sampled_from(["current", "stale"])),
    st.tuples(st.just("end"), st.sampled_from(["current", "stale", "twice"])),
    st.tuples(st.just("error"), st.sampled_from(["current", "stale"])),
    st.tuples(st.just("status"), st.sampled_from(["playing", "paused"]), st.floats(0, 250)),
    st.tuples(st.just("heartbeat"), st.floats(0, 250)),
    st.tuples(st.just("vote"), actors, st.sampled_from(["like", "unlike", "skip"])),
    st.tuples(st.just("repeat"), st.sampled_from(["all", "one", "none"])),
    st.tuples(st.just("tick")),
    st.tuples(st.just("retry")),
    st.tuples(st.just("retry")),
)
steps = st.lists(st.tuples(ops, st.sampled_from([0.5, 3.0, 20.0, 240.0])), max_size=50)


class FakeClock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


def live_ids(v: Venue) -> list[str]:
    ids = [i.id for i in v.active_queue] + [i.id for i in v.priority_queue]
    if v.now_playing is not None:
        ids.append(v.now_playing.queue_item_id)
    return ids


@dataclass
class Run:
    rt: Runtime
    clock: FakeClock
    playlists: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)  # play_ids that left the stage
    ever: set[str] = field(default_factory=set)  # every queue item id ever live
    replies: list[int] = field(default_factory=list)
    last_command: m.AddToQueue | None = None
    first_reply: dict[str, Reply] = field(default_factory=dict)

    @property
    def venue(self) -> Venue:
        assert self.rt.state.venue is not None
        return self.rt.state.venue

    def play_id(self, which: str) -> str:
        if which == "stale":
            return self.retired[-1] if self.retired else "p-never"
        np = self.venue.now_playing
        return np.play_id if np else "p-nothing"

    def submit(self, msg: m.Message) -> Reply:
        reply = self.rt.submit(msg, timeout=30)
        assert reply.status != 500, reply.error
        self.replies.append(reply.rev)
        return reply


def build_message(run: Run, op: tuple[Any, ...]) -> list[m.Message]:
    kind = op[0]
    queued = run.venue.priority_queue + run.venue.active_queue
    if kind == "add":
        _, actor, i, position, duration = op
        run.last_command = m.AddToQueue(
            track=track(i, duration=duration),
            position=position,
            actor=actor,
            command_id=f"cmd-{len(run.replies)}",
        )
        return [run.last_command]
    if kind == "retry":  # a window retries its last add (lost answer): same reply, no change
        return [run.last_command] if run.last_command else []
    if kind == "remove":
        item_id = queued[op[2] % len(queued)].id if queued else "q-none"
        return [m.RemoveFromQueue(queue_item_id=item_id, actor=op[1])]
    if kind == "move":
        item_id = queued[op[2] % len(queued)].id if queued else "q-none"
        return [m.MoveQueueItem(queue_item_id=item_id, to_index=op[3], actor=op[1])]
    if kind == "clear":
        return [m.ClearQueue(actor=op[1])]
    if kind == "load":
        pid = run.playlists[op[2]]
        return [m.ManagePlaylist(action="load", params={"playlistId": pid}, actor=op[1])]
    if kind == "ui":
        return [m.UiCommand(command=op[2], value=op[3], actor=op[1])]
    if kind == "skip":
        return [m.UiCommand(command="PLAY_NEXT", play_id=run.play_id(op[2]), actor=op[1])]
    if kind == "end":
        pid = run.play_id("stale" if op[1] == "stale" else "current")
        msg = m.TrackEnded(play_id=pid, actor=PLAYER)
        return [msg, msg] if op[1] == "twice" else [msg]
    if kind == "error":
        return [m.PlayerError(play_id=run.play_id(op[1]), error_code="x", actor=PLAYER)]
    if kind == "status":
        return [m.PlayerStatus(play_id=run.play_id("current"), state=op[1], position=op[2])]
    if kind == "heartbeat":
        return [m.Heartbeat(position=op[1], play_id=run.play_id("current"))]
    if kind == "vote":
        np = run.venue.now_playing
        return [m.Vote(video_id=np.video_id if np else "v-none", vote_type=op[2], actor=op[1])]
    if kind == "repeat":
        return [m.UpdateSetting(setting="repeat_mode", value=op[1], actor=ADMIN)]
    return [m.Tick(heartbeat_timeout=15)]


def check_step(run: Run, msg: m.Message, before: State, reply: Reply) -> None:
    after = run.rt.state
    if not reply.ok:
        assert after is before, f"refused {type(msg).__name__} changed the state"
        return
    bv, av = before.venue, after.venue
    assert bv is not None and av is not None
    b_ids, a_ids = live_ids(bv), live_ids(av)
    assert len(a_ids) == len(set(a_ids)), "a queue item was duplicated"
    lost, gained = set(b_ids) - set(a_ids), set(a_ids) - set(b_ids)
    b_active = {i.id for i in bv.active_queue}
    b_np = bv.now_playing.queue_item_id if bv.now_playing else None
    history = {h.item.id for h in av.history}
    for item_id in lost:
        removed = isinstance(msg, m.RemoveFromQueue) and msg.queue_item_id == item_id
        wiped = isinstance(msg, m.ClearQueue | m.ManagePlaylist) and item_id in b_active
        consumed = item_id == b_np and item_id in history
        assert removed or wiped or consumed, f"{item_id} lost by {type(msg).__name__}"
    for item_id in gained:
        back = isinstance(msg, m.UiCommand) and msg.command == "PLAY_PREVIOUS"
        assert item_id not in run.ever or back, f"{item_id} came back from nowhere"
    run.ever |= set(a_ids)
    if isinstance(msg, m.ClearQueue | m.ManagePlaylist):
        kept = {i.id for i in av.priority_queue} | (
            {av.now_playing.queue_item_id} if av.now_playing else set()
        )
        assert {i.id for i in bv.priority_queue} <= kept, "a load/clear removed a request"
    b_pid = bv.now_playing.play_id if bv.now_playing else ""
    a_pid = av.now_playing.play_id if av.now_playing else ""
    if a_pid != b_pid:
        assert a_pid not in run.retired, "a retired play_id played again"
        if b_pid:
            run.retired.append(b_pid)
    named = msg.play_id if isinstance(msg, m.TrackEnded | m.PlayerError | m.UiCommand) else ""
    if named and named != b_pid:  # a stale end, error or skip: exactly nothing happens
        assert after is before, f"stale {type(msg).__name__} changed the state"


def start_run(data_dir: Path, clock: FakeClock) -> Run:
    # Periodic checkpoints off: replay must be exact from the journal alone.
    rt = Runtime(FileStore(data_dir, fsync=False), clock, checkpoint_every=1e9)
    rt.start()
    run = Run(rt, clock)
    run.submit(m.SetupVenue(owner_user_id="owner"))
    for ids in ([0, 1, 2, 3, 4, 5], [6, 7, 8]):
        out = run.submit(
            m.ManagePlaylist(
                action="create", params={"name": "p", "tracks": playlist_tracks(ids)}, actor=ADMIN
            )
        )
        run.playlists.append(out.result["playlist"].playlist_id)
    params = {"playlistId": run.playlists[0]}
    run.submit(m.ManagePlaylist(action="set_default", params=params, actor=ADMIN))
    run.submit(m.UpdateSetting(setting="request_rules", value={"vote_skip_threshold": 2}))
    run.submit(m.ManagePlaylist(action="load", params=params, actor=ADMIN))
    for i in (8, 9):  # requests waiting from the start, so loads and clears meet them
        run.submit(m.AddToQueue(track=track(20 + i), actor=patron(i)))
    run.ever |= set(live_ids(run.venue))
    return run


def check_round_trips(data_dir: Path, final: State) -> None:
    raw = json.loads(json.dumps(to_data(final)))
    assert from_data(State, raw) == final, "codec round trip"
    reloaded = Runtime(FileStore(data_dir, fsync=False)).replay_only()
    assert reloaded == final, "snapshot + journal"
    (data_dir / SNAPSHOT).unlink()
    replayed = Runtime(FileStore(data_dir, fsync=False)).replay_only()
    assert replayed == final, "journal replay alone"


def run_sequence(sequence: list[tuple[tuple[Any, ...], float]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        clock = FakeClock()
        run = start_run(data_dir, clock)
        sub = run.rt.subscribe(maxsize=100_000)
        try:
            for op, dt in sequence:
                for msg in build_message(run, op):
                    clock.now += dt
                    before = run.rt.state
                    reply = run.submit(msg)
                    if msg.command_id in run.first_reply:
                        run.replies.pop()  # the first answer, with its own (older) rev
                        first = run.first_reply[msg.command_id]
                        # the first answer; a conflict carries the current truth, not the old
                        assert replace(reply, state=None) == replace(first, state=None)
                        assert reply.state is (before if reply.status == 409 else None)
                        assert run.rt.state is before, "a retried commandId applied twice"
                        continue
                    if msg.command_id:
                        run.first_reply[msg.command_id] = reply
                    check_step(run, msg, before, reply)
        finally:
            run.rt.stop()
        revs = []
        while (item := sub.get(timeout=0)) is not None:
            assert not isinstance(item, Resync)
            assert isinstance(item, Published) and item.events
            revs.append(item.rev)
        assert revs == list(range(revs[0], revs[0] + len(revs))) if revs else True
        assert run.replies == sorted(run.replies)
        check_round_trips(data_dir, run.rt.state)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps)
def test_random_windows_keep_the_invariants(sequence: list) -> None:
    run_sequence(sequence)


@pytest.mark.slow
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(ops, st.sampled_from([0.5, 3.0, 20.0, 240.0])), max_size=150))
def test_random_windows_keep_the_invariants_long(sequence: list) -> None:
    run_sequence(sequence)
