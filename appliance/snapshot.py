"""The snapshot: the whole state as one TinyDB document (`djamms.json`), written whole
through `AtomicJSONStorage`, with the previous good copy kept beside it
(`djamms.prev.json`, a hard link taken before the rename).

A big venue's snapshot (100,000 log entries: 24 MB) takes a tenth of a second to encode
with msgspec (a second with the json module), more on a Pi, so `SnapshotThread` writes it
off the store's writer thread: the journal fsyncs that every acknowledgement waits on never
queue behind it. msgspec also reads it back, straight into the model's dataclasses.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from appliance.atomic_storage import AtomicJSONStorage
from appliance.core.codec import from_data, from_json, to_data, to_json
from appliance.core.model import (
    ContentItem,
    LogEntry,
    PlayerInstance,
    Playlist,
    State,
    User,
    Venue,
    frozen_map,
)

FORMAT = 1
SNAPSHOT = "djamms.json"
PREVIOUS = "djamms.prev.json"


def _header(state: State, journal_seq: int, recent_commands: Any) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "journal_seq": journal_seq,
        "rev": state.rev,
        "seq": state.seq,
        "log_retention": state.log_retention,
        "recent_commands": recent_commands,
    }


def state_to_tables(state: State, journal_seq: int) -> dict[str, dict[str, Any]]:
    data = to_data(state)

    def table(rows: list[Any]) -> dict[str, Any]:
        return {str(i + 1): row for i, row in enumerate(rows)}

    meta = _header(state, journal_seq, data["recent_commands"])
    return {
        "meta": table([meta]),
        "venues": table([data["venue"]] if data["venue"] else []),
        "users": table(list(data["users"].values())),
        "playlists": table(list(data["playlists"].values())),
        "activity_log": table(data["activity_log"]),
        "player_instances": table(list(data["player_instances"].values())),
        "content": table(list(data["content"].values())),
    }


def _meta(metas: list[Mapping[str, Any]]) -> Mapping[str, Any]:
    if len(metas) != 1 or not isinstance(metas[0], Mapping) or metas[0].get("format") != FORMAT:
        raise ValueError("snapshot has no valid meta record")
    return metas[0]


@dataclass(frozen=True)
class _Tables:
    """The snapshot document's shape, for msgspec to build the state's parts in C."""

    meta: dict[str, dict[str, Any]] = field(default_factory=dict)
    venues: dict[str, Venue] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    playlists: dict[str, Playlist] = field(default_factory=dict)
    activity_log: dict[str, LogEntry] = field(default_factory=dict)
    player_instances: dict[str, PlayerInstance] = field(default_factory=dict)
    content: dict[str, ContentItem] = field(default_factory=dict)


def state_from_document(raw: bytes) -> tuple[State, int]:
    """The state and journal position in a snapshot file's bytes; raises when damaged."""
    if not raw.strip():
        raise ValueError("the snapshot is empty")
    with paused_gc():
        doc: _Tables = from_json(_Tables, raw)
        meta = _meta(list(doc.meta.values()))
        counts: _Meta = from_data(_Meta, meta)
        venues = list(doc.venues.values())
        state = State(
            venue=venues[0] if venues else None,
            users=frozen_map({u.user_id: u for u in doc.users.values()}),
            playlists=frozen_map({p.playlist_id: p for p in doc.playlists.values()}),
            activity_log=tuple(doc.activity_log.values()),
            player_instances=frozen_map({p.player_id: p for p in doc.player_instances.values()}),
            content=frozen_map({c.content_id: c for c in doc.content.values()}),
            rev=counts.rev,
            seq=counts.seq,
            log_retention=counts.log_retention,
            recent_commands=counts.recent_commands,
        )
    return state, int(meta["journal_seq"])


@dataclass(frozen=True)
class _Meta:
    """The meta record's counters, as `state_from_tables` reads them."""

    rev: int
    seq: int
    log_retention: int = 10_000
    recent_commands: tuple[tuple[str, int], ...] = ()


def read_snapshot(path: Path) -> tuple[State, int]:
    """The state and journal position a snapshot file holds; raises when it is damaged."""
    return state_from_document(path.read_bytes())


def document_chunks(state: State, journal_seq: int) -> Iterator[bytes]:
    """The snapshot document (`state_to_tables`' JSON), a few thousand rows per chunk:
    each chunk holds the GIL for about a millisecond, so consoles never wait on a write."""
    meta = _header(state, journal_seq, state.recent_commands)
    tables: dict[str, Sequence[Any]] = {
        "meta": [meta],
        "venues": [state.venue] if state.venue else [],
        "users": list(state.users.values()),
        "playlists": list(state.playlists.values()),
        "activity_log": state.activity_log,
        "player_instances": list(state.player_instances.values()),
        "content": list(state.content.values()),
    }
    for i, (name, rows) in enumerate(tables.items()):
        yield (b"{" if i == 0 else b",") + to_json(name) + b":{"
        for start in range(0, len(rows), ROWS_PER_CHUNK):
            part = rows[start : start + ROWS_PER_CHUNK]
            keyed = {str(start + k + 1): row for k, row in enumerate(part)}
            yield (b"," if start else b"") + to_json(keyed)[1:-1]
        yield b"}"
    yield b"}"


ROWS_PER_CHUNK = 2000


@contextmanager
def paused_gc() -> Iterator[None]:
    """Building 100,000 objects at once sets off the collector again and again, walking
    all of them each time (half of a big venue's load time); none of them is garbage."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def write_snapshot(data_dir: Path, state: State, journal_seq: int) -> int:
    """Write the snapshot atomically, keeping the previous one; returns the bytes written."""
    storage = AtomicJSONStorage(str(data_dir / SNAPSHOT), keep_previous=str(data_dir / PREVIOUS))
    storage.write_chunks(document_chunks(state, journal_seq))
    return storage.bytes_written


class SnapshotThread:
    """At most one snapshot being written in the background. The store's writer starts it
    and later collects the outcome, so the store's bookkeeping stays on one thread."""

    def __init__(self, data_dir: Path, on_done: Callable[[], None]) -> None:
        self.data_dir = data_dir
        self.on_done = on_done  # called on the snapshot thread: hand the writer a note
        self._thread: threading.Thread | None = None
        self._outcome: tuple[int, int] | OSError | None = None

    @property
    def busy(self) -> bool:
        return self._thread is not None

    def start(self, state: State, journal_seq: int) -> None:
        assert self._thread is None, "one snapshot at a time"
        self._thread = threading.Thread(
            target=self._write, args=(state, journal_seq), name="store-snapshot", daemon=True
        )
        self._thread.start()

    def _write(self, state: State, journal_seq: int) -> None:
        try:
            self._outcome = (journal_seq, write_snapshot(self.data_dir, state, journal_seq))
        except OSError as exc:
            self._outcome = exc
        self.on_done()

    def wait(self) -> None:
        thread = self._thread
        if thread is not None:
            thread.join()

    def collect(self) -> tuple[int, int] | OSError | None:
        """`(journal_seq, size)` or the error of the snapshot started last, once, waiting
        for it to finish; None when there is nothing to collect."""
        thread = self._thread
        if thread is None:
            return None
        thread.join()
        self._thread = None
        outcome, self._outcome = self._outcome, None
        return outcome
