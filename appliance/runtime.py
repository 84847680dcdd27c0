"""The single writer: the only place that holds the box's mutable state.

Every message from every adapter goes through `submit()` (or `post()` for facts) onto one
worker thread, which runs the pure engine, bumps `rev`, journals the change, hands effects
to the effect sinks (each on its own thread) and publishes events to subscribers; at idle
`submit()` does the same on its caller's thread, in turn with the worker (one job at a
time, in order, under one lock). A subscriber never blocks the writer: its queue is
bounded, and one that falls behind is given a fresh snapshot instead of a backlog.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

from appliance.ahead import Ahead
from appliance.answers import RECENT_COMMANDS, Answered, Reply, settle
from appliance.core import messages as m
from appliance.core.engine import step
from appliance.core.model import State
from appliance.core.outputs import Effect, Outcome, Rejected
from appliance.core.players import checkpoint_message
from appliance.subscription import Inbox, Published, Resync, Subscription, effects_for  # noqa: F401 - re-exported

log = logging.getLogger(__name__)
SINK_STOP_BUDGET = 1.0  # s, all effect sinks together

# seconds: how stale a position on disk may get. Each checkpoint is an fsync'd journal line,
# several KB on the card once the filesystem's own journal is written: every 30 s (with
# Mesa's shader cache, now in RAM) the booted image wrote 3.4 MB/h, every 2 min 1.4 MB/h.
# A power cut now resumes a track at most two minutes early.
CHECKPOINT_EVERY = 120.0


class Store(Protocol):
    recovery_notes: list[str]

    def load(self) -> tuple[State, list[tuple[m.Message, float]]]: ...
    def start(self) -> None: ...
    def append(
        self, msg: m.Message, now: float, state: State, *, alone: bool = False
    ) -> Future[None]: ...
    def request_snapshot(self) -> None: ...
    def adopt(self, path: Path) -> str: ...
    def close(self, state: State | None = None) -> None: ...


@dataclass
class _Job:
    msg: m.Message
    reply: Future[Reply] | None
    now: float | None = None


@dataclass
class _Sink:
    name: str
    fn: Callable[[tuple[Effect, ...], State], None]
    inbox: Inbox[tuple[tuple[Effect, ...], State] | None] = field(default_factory=Inbox)
    thread: threading.Thread | None = None


class Runtime:
    def __init__(
        self,
        store: Store,
        clock: Callable[[], float] = time.time,
        *,
        idempotency_size: int = 10_000,
        checkpoint_every: float = CHECKPOINT_EVERY,
    ) -> None:
        self.store = store
        self.clock = clock
        self._state = State()
        self._inbox: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._subs: list[Subscription] = []
        self._subs_lock = threading.Lock()
        self._sinks: list[_Sink] = []
        self._answered = Answered(idempotency_size)
        self._checkpoint_every = checkpoint_every
        self._volatile_dirty = False
        self._last_checkpoint = 0.0
        self._worker: threading.Thread | None = None
        # One job at a time, whoever runs it: the worker, or `submit()` itself when the box
        # is idle (no job waiting, none running), which spares two thread hand-offs
        self._turn = threading.Lock()
        self._waiting = 0  # jobs in the inbox or being handled (under _count)
        self._count = threading.Lock()
        self.applied = 0
        self.storage_failed = False  # the last journal write failed (disk full, card gone)
        self._storage_lock = threading.Lock()
        self._ahead = Ahead(lambda: self._state)  # idle work, after answers are out

    # -- lifecycle -------------------------------------------------------------------------

    def replay_only(self) -> State:
        """Load and replay without starting anything (for `djamms state`)."""
        self._state = self._replay()
        return self._state

    def _replay(self) -> State:
        state, journal = self.store.load()
        for command_id, rev in getattr(self.store, "answered", ()):  # before the snapshot
            self._answered.remember(command_id, Reply(True, rev))
        for msg, now in journal:
            try:
                state = self._apply(state, step(state, msg, now), msg.command_id)[0]
            except Rejected as exc:  # the engine changed under an old journal: say so, go on
                log.warning("replay: %s refused (%s)", type(msg).__name__, exc.code)
        for command_id, rev in state.recent_commands:  # a retry after a restart: same answer
            self._answered.remember(command_id, Reply(True, rev))
        return state

    def start(self, *, boot: bool = True) -> None:
        self._state = self._replay()
        self._last_checkpoint = self.clock()
        self.store.start()
        for sink in self._sinks:
            self._start_sink(sink)
        self._worker = threading.Thread(target=self._run, name="runtime", daemon=True)
        self._worker.start()
        self._ahead.start()
        if boot:
            self.post(m.Boot())

    def stop(self) -> None:
        if self._worker is None:
            return
        self._ahead.stop()
        self._inbox.put(None)
        self._worker.join(timeout=30)
        with self._turn:  # after any job submit() is running itself
            self._worker = None
        for sink in self._sinks:
            sink.inbox.put(None)
        # a sink stuck in an actuator (an mpv core that hangs in its audio output) must not
        # hold the box's stop: the sinks share a short budget, then are left to the exit
        deadline = time.monotonic() + SINK_STOP_BUDGET
        for sink in self._sinks:
            if sink.thread is not None:
                sink.thread.join(timeout=max(0.0, deadline - time.monotonic()))
                if sink.thread.is_alive():
                    log.warning("effect sink %s did not stop in time; left to the exit", sink.name)
                sink.thread = None
        self.store.close(self._state)
        with self._subs_lock:
            subs = list(self._subs)
        for sub in subs:
            sub.close()

    @property
    def state(self) -> State:
        return self._state

    @property
    def running(self) -> bool:
        return self._worker is not None

    # -- input -----------------------------------------------------------------------------

    def submit(self, msg: m.Message, timeout: float = 10.0) -> Reply:
        """Apply `msg` and wait until it is durable. Thread-safe. At idle the calling
        thread applies and journals it itself, in turn with the worker: an answer then
        waits on no other thread."""
        fut: Future[Reply] = Future()
        job = _Job(msg, fut)
        if not self._run_here(job):
            self._enqueue(job)
        return fut.result(timeout=timeout)

    def submit_async(self, msg: m.Message) -> Future[Reply]:
        fut: Future[Reply] = Future()
        self._enqueue(_Job(msg, fut))
        return fut

    def post(self, msg: m.Message) -> None:
        """Fire and forget (facts from the player, ticks)."""
        self._enqueue(_Job(msg, None))

    def _enqueue(self, job: _Job) -> None:
        with self._count:
            self._waiting += 1
        self._inbox.put(job)

    def _run_here(self, job: _Job) -> bool:
        """Handle `job` on this thread if nothing is queued or running (else False)."""
        if not self._turn.acquire(blocking=False):
            return False
        try:
            with self._count:
                idle = self._waiting == 0
            if not idle or self._worker is None:
                return False
            self._handle_safely(job, alone=True)
            self._checkpoint()  # as the worker does after each job
            return True
        finally:
            self._turn.release()

    # -- output ----------------------------------------------------------------------------

    def subscribe(self, maxsize: int = 256, name: str = "") -> Subscription:
        sub = Subscription(self, maxsize, name)
        with self._subs_lock:
            self._subs = [*self._subs, sub]
        return sub

    def _unsubscribe(self, sub: Subscription) -> None:
        with self._subs_lock:
            self._subs = [s for s in self._subs if s is not sub]

    @property
    def subscriber_count(self) -> int:
        return len(self._subs)

    def add_effect_sink(self, fn: Callable[[tuple[Effect, ...], State], None], name: str) -> None:
        """`fn(effects, state)` runs on its own thread, in order, for every outcome with effects."""
        sink = _Sink(name, fn)
        self._sinks.append(sink)
        if self._worker is not None:
            self._start_sink(sink)

    def _start_sink(self, sink: _Sink) -> None:
        def loop() -> None:
            while (item := sink.inbox.get()) is not None:
                try:
                    sink.fn(*item)
                except Exception:  # an actuator's bug must not take the box down
                    log.exception("effect sink %s failed", sink.name)

        sink.thread = threading.Thread(target=loop, name=f"sink-{sink.name}", daemon=True)
        sink.thread.start()

    # -- the worker ------------------------------------------------------------------------

    def _apply(self, state: State, out: Outcome, command_id: str = "") -> tuple[State, bool]:
        new = out.state
        if new is state:
            return state, False
        if out.durable:
            rev = state.rev + 1
            if not command_id:
                return replace(new, rev=rev), True
            recent = (*new.recent_commands, (command_id, rev))[-RECENT_COMMANDS:]
            return replace(new, rev=rev, recent_commands=recent), True
        return new, False

    def _run(self) -> None:
        while True:
            try:
                job = self._inbox.get(timeout=self._checkpoint_every / 3)
            except queue.Empty:
                job = False  # type: ignore[assignment]
            with self._turn:
                if job is None:
                    self._checkpoint(force=True)
                    return
                if job:
                    self._handle_safely(job, alone=self._inbox.empty())
                    with self._count:
                        self._waiting -= 1
                self._checkpoint()

    def _handle_safely(self, job: _Job, alone: bool) -> None:
        try:
            self._handle(job, alone)
        except Exception as exc:  # a bug in a rule: refuse that one message, keep going
            log.exception("runtime: %s failed", type(job.msg).__name__)
            if job.reply is not None and not job.reply.done():
                job.reply.set_result(
                    Reply(
                        False,
                        self._state.rev,
                        error={"code": "internal", "message": f"internal error: {exc}"},
                        status=500,
                    )
                )

    def _handle(self, job: _Job, alone: bool) -> None:
        msg = job.msg
        prior = self._answered.get(msg.command_id)
        if prior is not None:
            if job.reply is None:
                return
            if isinstance(prior, Reply):
                job.reply.set_result(self._with_truth(prior))
            else:
                answer = job.reply
                prior.add_done_callback(lambda f: answer.set_result(self._with_truth(f.result())))
            return
        state = self._state
        now = job.now if job.now is not None else self.clock()
        try:
            out = step(state, msg, now)
        except Rejected as exc:
            conflict = state if exc.status == 409 else None
            reply = Reply(False, state.rev, error=exc.as_error(), status=exc.status, state=conflict)
            if msg.command_id:  # a retried command gets its first answer, refusals included;
                # without the state: thousands of remembered conflicts each pinning a whole
                # State (its activity log, its recent commands) is how the box ran out of memory
                self._answered.remember(msg.command_id, replace(reply, state=None))
            if job.reply is not None:
                job.reply.set_result(reply)
            return
        new, durable = self._apply(state, out, msg.command_id)
        self._state = new
        self.applied += 1
        reply = Reply(True, new.rev, result=out.reply)
        if durable:
            if self._volatile_dirty:  # replay must see the positions this step saw
                self._write_checkpoint(state, now)
            written = self.store.append(msg, now, new, alone=alone)
        else:
            self._volatile_dirty = self._volatile_dirty or new is not state
            written = None
        if out.effects:
            for sink in self._sinks:
                if mine := effects_for(sink.fn, out.effects):
                    sink.inbox.put((mine, new))
        if out.events:
            pub = Published(new.rev, out.events, new)
            for sub in self._subs:
                sub._offer(pub)
        fut = job.reply if job.reply is not None else Future()
        if msg.command_id:
            self._answered.remember(msg.command_id, fut)
        fut.add_done_callback(self._ahead.answered)
        if written is None:
            fut.set_result(reply)
        else:
            written.add_done_callback(lambda w: settle(fut, reply, w))
            written.add_done_callback(self._watch_storage)

    def _with_truth(self, reply: Reply) -> Reply:
        """A remembered conflict, retried: with the current state, as a first answer has."""
        return replace(reply, state=self._state) if reply.status == 409 else reply

    def _watch_storage(self, written: Future[None]) -> None:
        """Tell the consoles when saving starts failing and when it works again."""
        exc = written.exception()
        with self._storage_lock:
            if (exc is not None) == self.storage_failed:
                return
            self.storage_failed = exc is not None
        if exc is not None:
            log.error("storage failing: %s", exc)
            notice = m.SystemNotice(status="storage_failed", detail={"message": str(exc)})
        else:
            log.warning("storage works again")
            notice = m.SystemNotice(status="storage_ok")
        self.post(notice)

    def _checkpoint(self, force: bool = False) -> None:
        """Make the volatile position durable, at most every `checkpoint_every` seconds."""
        now = self.clock()
        # A clock set back (NTP, an RTC-less Pi booting) must not hold checkpoints off
        # until it catches up: a negative interval checkpoints at once.
        if not self._volatile_dirty or (
            not force and 0 <= now - self._last_checkpoint < self._checkpoint_every
        ):
            return
        self._write_checkpoint(self._state, now)

    def _write_checkpoint(self, state: State, now: float) -> None:
        self._volatile_dirty = False
        self._last_checkpoint = now
        msg = checkpoint_message(state)
        if msg is not None:
            self.store.append(msg, now, state)
