"""The snapshot: the whole state as one TinyDB document (`djamms.json`), written whole
through `AtomicJSONStorage`, with the previous good copy kept beside it
(`djamms.prev.json`, a hard link taken before the rename).

A big venue's snapshot (100,000 log entries: 24 MB) takes a second or more to encode, so
`SnapshotThread` writes it off the store's writer thread: the journal fsyncs that every
acknowledgement waits on never queue behind it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from appliance.atomic_storage import AtomicJSONStorage
from appliance.core.codec import from_data, to_data
from appliance.core.model import State

FORMAT = 1
SNAPSHOT = "djamms.json"
PREVIOUS = "djamms.prev.json"


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


def state_from_tables(tables: dict[str, dict[str, Any]]) -> tuple[State, int]:
    """The state a TinyDB document holds (read in one pass: through `TinyDB` each table
    would parse the whole file again, seven times for a 24 MB venue)."""

    def rows(name: str) -> list[dict[str, Any]]:
        table = tables.get(name) or {}
        if not isinstance(table, dict):
            raise ValueError(f"table {name} is not a TinyDB table")
        return list(table.values())

    metas = rows("meta")
    if len(metas) != 1 or metas[0].get("format") != FORMAT:
        raise ValueError("snapshot has no valid meta record")
    meta = metas[0]
    venues = rows("venues")
    data = {
        "venue": venues[0] if venues else None,
        "users": {u["user_id"]: u for u in rows("users")},
        "playlists": {p["playlist_id"]: p for p in rows("playlists")},
        "activity_log": rows("activity_log"),
        "player_instances": {p["player_id"]: p for p in rows("player_instances")},
        "content": {c["content_id"]: c for c in rows("content")},
        "rev": meta["rev"],
        "seq": meta["seq"],
        "log_retention": meta.get("log_retention", 10_000),
        "recent_commands": meta.get("recent_commands", []),
    }
    return from_data(State, data), int(meta["journal_seq"])


def read_snapshot(path: Path) -> tuple[State, int]:
    """The state and journal position a snapshot file holds; raises when it is damaged."""
    return state_from_tables(AtomicJSONStorage(str(path)).read() or {})


def write_snapshot(data_dir: Path, state: State, journal_seq: int) -> int:
    """Write the snapshot atomically, keeping the previous one; returns the bytes written."""
    storage = AtomicJSONStorage(str(data_dir / SNAPSHOT), keep_previous=str(data_dir / PREVIOUS))
    storage.write(state_to_tables(state, journal_seq))
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
