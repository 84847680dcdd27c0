"""Crash-safe, SD-card-friendly persistence: a TinyDB snapshot plus a journal.

- The snapshot is a TinyDB database (`djamms.json`) written through `AtomicJSONStorage`:
  temp file, fsync, rename, fsync the directory. The previous good snapshot stays beside it
  as `djamms.prev.json` (a hard link taken before the rename).
- Every applied change appends one line (the message and its time) to a journal segment
  and is fsynced before it is acknowledged; a writer thread group-commits whatever
  arrived meanwhile, so several mutations share one fsync.
- Loading takes the newest readable snapshot and replays the journal after it through the
  pure engine. A torn last line (power cut mid-write) was never acknowledged: it is cut off.
- A new snapshot is written only when the journal since the last one outgrows the snapshot
  itself (at least 256 KiB), and at shutdown, so bytes written stay near the journal's.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tinydb import TinyDB

from appliance.atomic_storage import AtomicJSONStorage
from appliance.core import messages as m
from appliance.core.codec import from_data, message_from_data, message_to_data, to_data
from appliance.core.model import State

log = logging.getLogger(__name__)

FORMAT = 1
SNAPSHOT = "djamms.json"
PREVIOUS = "djamms.prev.json"
MIN_SNAPSHOT_EVERY = 256 * 1024


# --- snapshot <-> TinyDB tables ---------------------------------------------------------


def state_to_tables(state: State, journal_seq: int) -> dict[str, dict[str, Any]]:
    data = to_data(state)

    def table(rows: list[Any]) -> dict[str, Any]:
        return {str(i + 1): row for i, row in enumerate(rows)}

    meta = {
        "format": FORMAT,
        "journal_seq": journal_seq,
        "rev": state.rev,
        "seq": state.seq,
        "log_retention": state.log_retention,
        "recent_commands": data["recent_commands"],
    }
    return {
        "meta": table([meta]),
        "venues": table([data["venue"]] if data["venue"] else []),
        "users": table(list(data["users"].values())),
        "playlists": table(list(data["playlists"].values())),
        "activity_log": table(data["activity_log"]),
        "player_instances": table(list(data["player_instances"].values())),
        "content": table(list(data["content"].values())),
    }


def state_from_db(db: TinyDB) -> tuple[State, int]:
    metas = db.table("meta").all()
    if len(metas) != 1 or metas[0].get("format") != FORMAT:
        raise ValueError("snapshot has no valid meta record")
    meta = metas[0]
    venues = db.table("venues").all()
    data = {
        "venue": dict(venues[0]) if venues else None,
        "users": {u["user_id"]: dict(u) for u in db.table("users").all()},
        "playlists": {p["playlist_id"]: dict(p) for p in db.table("playlists").all()},
        "activity_log": [dict(e) for e in db.table("activity_log").all()],
        "player_instances": {p["player_id"]: dict(p) for p in db.table("player_instances").all()},
        "content": {c["content_id"]: dict(c) for c in db.table("content").all()},
        "rev": meta["rev"],
        "seq": meta["seq"],
        "log_retention": meta.get("log_retention", 10_000),
        "recent_commands": meta.get("recent_commands", []),
    }
    return from_data(State, data), int(meta["journal_seq"])


@dataclass
class _Entry:
    n: int
    line: bytes
    state: State
    done: Future[None]


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
        self.answered = []
        for name in (SNAPSHOT, PREVIOUS):
            path = self.dir / name
            if not path.exists():
                continue
            try:
                with TinyDB(str(path), storage=AtomicJSONStorage) as db:
                    state, seq = state_from_db(db)
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
        entries = list(self._read_journal(seq))
        self._next_n = seq + len(entries) + 1
        self._latest = None
        return state, entries

    def _segments(self) -> list[tuple[int, Path]]:
        out = []
        for p in self.journal_dir.glob("*.jsonl"):
            try:
                out.append((int(p.stem), p))
            except ValueError:
                continue
        return sorted(out)

    def _read_journal(self, after: int) -> Iterator[tuple[m.Message, float]]:
        expected = after + 1
        if not self.journal_dir.is_dir():
            return
        segments = [path for _, path in self._segments()]
        for i, path in enumerate(segments):
            good_bytes = 0
            with open(path, "rb") as f:
                for raw in f:
                    try:
                        entry = json.loads(raw)
                        n = int(entry["n"])
                        msg = message_from_data(entry["m"])
                        t = float(entry["t"])
                        if not raw.endswith(b"\n"):
                            raise ValueError("unterminated line")
                    except Exception:  # noqa: BLE001 - torn tail: never acknowledged
                        self._truncate(path, good_bytes)
                        self._set_aside(segments[i + 1 :])
                        return
                    if n > expected:  # what follows cannot be replayed onto this state
                        self.recovery_notes.append(f"journal gap at {expected}; stopped")
                        log.warning(self.recovery_notes[-1])
                        if good_bytes:
                            self._truncate(path, good_bytes)
                            self._set_aside(segments[i + 1 :])
                        else:
                            self._set_aside(segments[i:])
                        return
                    good_bytes += len(raw)
                    if n < expected:
                        if msg.command_id and isinstance(entry.get("r"), int):
                            self.answered.append((msg.command_id, entry["r"]))
                        continue
                    expected += 1
                    yield msg, t

    def _set_aside(self, paths: list[Path]) -> None:
        """Keep unreplayable segments for inspection, out of the way of new ones."""
        if self.readonly:
            return
        for path in paths:
            os.replace(path, path.with_suffix(".orphan"))
            self.recovery_notes.append(f"journal {path.name} set aside")

    def _truncate(self, path: Path, size: int) -> None:
        note = f"journal {path.name}: torn tail cut at byte {size}"
        log.warning(note)
        self.recovery_notes.append(note)
        if self.readonly:
            return
        with open(path, "r+b") as f:
            f.truncate(size)
            os.fsync(f.fileno())

    # -- writing -------------------------------------------------------------------------

    def start(self) -> None:
        if self._writer is None:
            self._writer = threading.Thread(
                target=self._write_loop, name="store-writer", daemon=True
            )
            self._writer.start()

    def append(self, msg: m.Message, now: float, state: State) -> Future[None]:
        n = self._next_n
        self._next_n += 1
        entry: dict[str, Any] = {"n": n, "t": now, "m": message_to_data(msg)}
        if msg.command_id:  # the rev it was answered with, for retries after a snapshot
            entry["r"] = state.rev
        line = json.dumps(entry, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"
        done: Future[None] = Future()
        self._inbox.put(_Entry(n, line, state, done))
        return done

    def request_snapshot(self) -> None:
        self._inbox.put(lambda: self._snapshot_latest())

    def close(self, state: State | None = None) -> None:
        if self._writer is None:
            return
        if state is not None:
            self._inbox.put(lambda: self._snapshot(self._next_n - 1, state))
        self._inbox.put(None)
        self._writer.join(timeout=30)
        self._writer = None
        if self._segment is not None:
            self._segment.close()
            self._segment = None

    def _write_loop(self) -> None:
        while True:
            item = self._inbox.get()
            batch: list[_Entry] = []
            stop = False
            while True:
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
            self._since_snapshot += len(data)
            self._latest = (batch[-1].n, batch[-1].state)
            for e in batch:
                e.done.set_result(None)
        except OSError as exc:  # disk full, card pulled: tell every waiter, keep running
            log.error("journal write failed: %s", exc)
            for e in batch:
                if not e.done.done():
                    e.done.set_exception(exc)
            return
        if self._since_snapshot >= max(MIN_SNAPSHOT_EVERY, self._snapshot_size):
            self._snapshot_latest()

    def _snapshot_latest(self) -> None:
        if self._latest is not None:
            n, state = self._latest
            self._snapshot(n, state)

    def _snapshot(self, n: int, state: State) -> None:
        try:
            storage = AtomicJSONStorage(
                str(self.dir / SNAPSHOT), keep_previous=str(self.dir / PREVIOUS)
            )
            storage.write(state_to_tables(state, n))
        except OSError as exc:
            log.error("snapshot failed: %s", exc)
            return
        self.bytes_written += storage.bytes_written
        self.snapshots_written += 1
        self._snapshot_size = storage.bytes_written
        self._since_snapshot = 0
        self._prev_snapshot_seq, self._snapshot_seq = self._snapshot_seq, n
        if self._segment is not None:
            self._segment.close()
            self._segment = None
        self._prune()

    def _prune(self) -> None:
        """Keep the journal the previous snapshot needs, so either copy can be replayed."""
        segments = self._segments()
        for (_, path), (next_start, _) in zip(segments, segments[1:], strict=False):
            if next_start - 1 <= self._prev_snapshot_seq:
                path.unlink(missing_ok=True)


class MemoryStore:
    """A store that keeps nothing: for unit tests and benchmarks of the core alone."""

    bytes_written = 0
    recovery_notes: list[str] = []

    def load(self) -> tuple[State, list[tuple[m.Message, float]]]:
        return State(), []

    def start(self) -> None:
        pass

    def append(self, msg: m.Message, now: float, state: State) -> Future[None]:
        done: Future[None] = Future()
        done.set_result(None)
        return done

    def request_snapshot(self) -> None:
        pass

    def close(self, state: State | None = None) -> None:
        pass
