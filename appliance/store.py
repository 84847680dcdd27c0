"""Crash-safe, SD-card-friendly persistence: a TinyDB snapshot plus a journal.

- The snapshot is a TinyDB database (`djamms.json`, see `appliance.snapshot`) written
  atomically, with the previous good copy beside it. Snapshots due to journal growth are
  written on their own thread, so acknowledgements never wait for one.
- Every applied change appends one line (the message and its time) to a journal segment
  and is fsynced before it is acknowledged; a writer thread group-commits whatever
  arrived meanwhile, so several mutations share one fsync.
- Loading takes the newest readable snapshot and replays the journal after it through the
  pure engine. A torn last line (power cut mid-write) was never acknowledged: it is cut off.
- A new snapshot is written only when the journal since the last one outgrows the snapshot
  itself (at least 256 KiB), and at shutdown, so bytes written stay near the journal's.
- A restore is journaled as the name of the backup's state file, which the store keeps
  (`adopt`) until both snapshots hold the restored state: journaling 24 MB of JSON on the
  single writer stalled every console for seconds.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import shutil
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from appliance.atomic_storage import fsync_dir
from appliance.core import messages as m
from appliance.core.codec import from_json, message_to_json, to_json
from appliance.core.model import State
from appliance.journal_reading import JournalReading, journal_segments
from appliance.snapshot import (
    PREVIOUS,
    SNAPSHOT,
    SnapshotThread,
    paused_gc,
    read_snapshot,
    write_snapshot,
)

log = logging.getLogger(__name__)

RESTORES = "restores"  # backup states a journaled restore refers to
MIN_SNAPSHOT_EVERY = 256 * 1024


@dataclass
class _Entry:
    n: int
    line: bytes
    state: State
    done: Future[None]
    weight: int  # what replaying it costs, in bytes: the line, or a restore's state file
    staged: str = ""


class FileStore:
    """The box's store. `load()` once, then `append()` from the runtime's one writer."""

    def __init__(
        self, data_dir: str | os.PathLike[str], *, fsync: bool = True, readonly: bool = False
    ) -> None:
        self.dir = Path(data_dir)
        self.readonly = readonly  # `djamms state` beside a running box: look, never repair
        self.journal_dir = self.dir / "journal"
        self.fsync = fsync
        self.bytes_written = 0
        self.snapshots_written = 0
        self.commits = 0  # journal fsyncs; fewer than appends when they arrive together
        self._next_n = 1
        self._snapshot_seq = 0
        self._prev_snapshot_seq = 0
        self._snapshot_size = 0
        self._since_snapshot = 0
        self._segment: Any = None
        self._latest: tuple[int, State] | None = None
        self._inbox: queue.SimpleQueue[_Entry | Callable[[], None] | None] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        # items put in the inbox and not yet done by the writer; while none, an append
        # made `alone` is written by its caller (under `_io`): one thread hand-off less
        self._queued = 0
        self._io = threading.Lock()
        self._snapshots = SnapshotThread(
            self.dir, on_done=lambda: self._put(self._collect_snapshot)
        )
        self._staged: dict[str, int] = {}  # restore file name -> the journal entry naming it
        self.recovery_notes: list[str] = []
        # (command_id, rev) of commands the snapshot already holds, read from the journal
        # kept beside it, so a retry after a restart is still answered, not applied again
        self.answered: list[tuple[str, int]] = []

    # -- loading -------------------------------------------------------------------------

    def load(self) -> tuple[State, list[tuple[m.Message, float]]]:
        if not self.readonly:
            self.dir.mkdir(parents=True, exist_ok=True)
            self.journal_dir.mkdir(exist_ok=True)
            for tmp in self.dir.glob("*.tmp"):
                tmp.unlink()
        state, seq = State(), 0
        for name in (SNAPSHOT, PREVIOUS):
            path = self.dir / name
            if not path.exists():
                continue
            try:
                state, seq = read_snapshot(path)
                self._snapshot_size = path.stat().st_size
                break
            except Exception as exc:  # noqa: BLE001 - any damage means: try the older copy
                note = f"snapshot {name} unreadable ({exc}); falling back"
                log.warning(note)
                self.recovery_notes.append(note)
                # Set it aside so the next snapshot does not keep it as "the last good copy".
                if not self.readonly:
                    os.replace(path, path.with_name(f"{path.stem}.corrupt.json"))
        self._snapshot_seq = self._prev_snapshot_seq = seq
        reading = JournalReading(self.journal_dir, self.readonly, self.recovery_notes,
                                 self._read_staged)  # fmt: skip
        with paused_gc():
            entries = list(reading.entries(after=seq))
        self._staged, self.answered = reading.staged, reading.answered
        self._next_n = seq + len(entries) + 1
        self._latest = None
        self._drop_staged(keep=lambda name: name in self._staged)  # adopted, never journaled
        return state, entries

    def _read_staged(self, name: str) -> State:
        with paused_gc():
            state = from_json(State, (self.dir / RESTORES / name).read_bytes())
        if not isinstance(state, State):
            raise ValueError("not a state")
        return state

    def _drop_staged(self, keep: Callable[[str], bool]) -> None:
        if self.readonly or not (self.dir / RESTORES).is_dir():
            return
        for path in (self.dir / RESTORES).iterdir():
            if not keep(path.name):
                path.unlink(missing_ok=True)

    # -- writing -------------------------------------------------------------------------

    def start(self) -> None:
        if self._writer is None:
            self._writer = threading.Thread(
                target=self._write_loop, name="store-writer", daemon=True
            )
            self._writer.start()

    def adopt(self, path: Path) -> str:
        """Keep a backup's state file (the codec's data of a State), durably, so that a
        `RestoreState` naming it (`staged=`) is journaled as that name."""
        name = f"{uuid.uuid4().hex}.json"
        target = self.dir / RESTORES / name
        target.parent.mkdir(exist_ok=True)
        shutil.move(path, target)
        if self.fsync:
            with open(target, "rb") as f:
                os.fsync(f.fileno())
            fsync_dir(target.parent)
        return name

    def append(
        self, msg: m.Message, now: float, state: State, *, alone: bool = False
    ) -> Future[None]:
        """Journal `msg`; the Future is done once it is on disk. `alone` (nothing else is
        waiting to be appended): written at once on this thread if the writer is idle, so an
        idle box's command is durable without waking the writer; otherwise group-committed."""
        n = self._next_n
        self._next_n += 1
        weight, staged = 0, ""
        if isinstance(msg, m.RestoreState) and msg.staged:
            with contextlib.suppress(OSError):  # gone: replay will say so
                weight = (self.dir / RESTORES / msg.staged).stat().st_size
            body = message_to_json(replace(msg, state=State()))
            staged = msg.staged
        else:
            body = message_to_json(msg)
        # {"n", "t", "m", "staged"?, "r"?}: put together from pieces msgspec encodes
        line = b'{"n":' + to_json(n) + b',"t":' + to_json(now) + b',"m":' + body
        if staged:
            line += b',"staged":' + to_json(staged)
        if msg.command_id:  # the rev it was answered with, for retries after a snapshot
            line += b',"r":' + to_json(state.rev)
        line += b"}\n"
        done: Future[None] = Future()
        entry = _Entry(n, line, state, done, weight + len(line), staged)
        if alone and self._writer is not None:
            with self._io:
                if self._queued == 0:  # everything before it is on disk: order is kept
                    self._flush([entry])
                    return done
                self._queued += 1
                self._inbox.put(entry)
            return done
        self._put(entry)
        return done

    def _put(self, item: _Entry | Callable[[], None] | None) -> None:
        with self._io:
            self._queued += 1
            self._inbox.put(item)

    def request_snapshot(self) -> None:
        self._put(lambda: self._snapshot_latest())

    def close(self, state: State | None = None) -> None:
        if self._writer is None:
            return
        if state is not None:
            self._put(lambda: self._snapshot_now(self._next_n - 1, state))
        else:
            self._put(self._collect_snapshot)
        self._put(None)
        self._writer.join(timeout=60)
        self._writer = None
        if self._segment is not None:
            self._segment.close()
            self._segment = None

    def _write_loop(self) -> None:
        while True:
            item = self._inbox.get()
            batch: list[_Entry] = []
            stop = False
            taken = 0
            while True:
                taken += 1
                if item is None:
                    stop = True
                elif isinstance(item, _Entry):
                    batch.append(item)
                else:
                    self._flush(batch)
                    batch = []
                    item()
                try:
                    item = self._inbox.get_nowait()
                except queue.Empty:
                    break
            self._flush(batch)
            with self._io:
                self._queued -= taken
            if stop:
                return

    def _flush(self, batch: list[_Entry]) -> None:
        if not batch:
            return
        try:
            if self._segment is None:
                path = self.journal_dir / f"{batch[0].n:012d}.jsonl"
                self._segment = open(path, "ab")  # noqa: SIM115 - kept open between batches
            data = b"".join(e.line for e in batch)
            self._segment.write(data)
            self._segment.flush()
            if self.fsync:
                os.fsync(self._segment.fileno())
            self.commits += 1
            self.bytes_written += len(data)
            self._since_snapshot += sum(e.weight for e in batch)
            self._staged.update((e.staged, e.n) for e in batch if e.staged)
            self._latest = (batch[-1].n, batch[-1].state)
            for e in batch:
                e.done.set_result(None)
        except OSError as exc:  # disk full, card pulled: tell every waiter, keep running
            log.error("journal write failed: %s", exc)
            for e in batch:
                if not e.done.done():
                    e.done.set_exception(exc)
            return
        due = self._since_snapshot >= max(MIN_SNAPSHOT_EVERY, self._snapshot_size)
        if due and not self._snapshots.busy and self._latest is not None:
            n, state = self._latest
            self._close_segment()  # what follows starts a segment of its own, for pruning
            self._since_snapshot = 0
            self._snapshots.start(state, n)

    def _snapshot_latest(self) -> None:
        if self._latest is not None:
            self._snapshot_now(*self._latest)

    def _snapshot_now(self, n: int, state: State) -> None:
        """Write a snapshot on the writer thread (asked for, or at shutdown)."""
        self._collect_snapshot()
        self._close_segment()
        try:
            size = write_snapshot(self.dir, state, n)
        except OSError as exc:
            log.error("snapshot failed: %s", exc)
            return
        self._since_snapshot = 0
        self._snapshot_written(n, size)

    def _collect_snapshot(self) -> None:
        outcome = self._snapshots.collect()
        if isinstance(outcome, OSError):
            log.error("snapshot failed: %s", outcome)
        elif outcome is not None:
            self._snapshot_written(*outcome)

    def _snapshot_written(self, n: int, size: int) -> None:
        self.bytes_written += size
        self.snapshots_written += 1
        self._snapshot_size = size
        self._prev_snapshot_seq, self._snapshot_seq = self._snapshot_seq, n
        self._prune()

    def _close_segment(self) -> None:
        if self._segment is not None:
            self._segment.close()
            self._segment = None

    def _prune(self) -> None:
        """Keep the journal the previous snapshot needs, so either copy can be replayed;
        likewise the restore files that journal names."""
        segments = journal_segments(self.journal_dir)
        for (_, path), (next_start, _) in zip(segments, segments[1:], strict=False):
            if next_start - 1 <= self._prev_snapshot_seq:
                path.unlink(missing_ok=True)
        done = {name for name, n in self._staged.items() if n <= self._prev_snapshot_seq}
        if done:
            self._drop_staged(keep=lambda name: name not in done)
            for name in done:
                del self._staged[name]

    def settle(self) -> None:
        """Wait until the writer has done everything asked of it so far, a background
        snapshot included (tests and benchmarks, to look at the files)."""
        if self._writer is None:
            return
        self._snapshots.wait()  # here, not on the writer: journaling goes on meanwhile
        done: Future[None] = Future()
        self._put(lambda: done.set_result(None))  # after the snapshot's own note
        done.result(timeout=120)
