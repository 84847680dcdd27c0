"""`MemoryStore`: the runtime's `Store` with nothing kept (the box's own is
`appliance.store.FileStore`)."""

from __future__ import annotations

from concurrent.futures import Future
from pathlib import Path

from appliance.core import messages as m
from appliance.core.model import State


class MemoryStore:
    """A store that keeps nothing: for unit tests and benchmarks of the core alone."""

    bytes_written = 0
    recovery_notes: list[str] = []

    def load(self) -> tuple[State, list[tuple[m.Message, float]]]:
        return State(), []

    def start(self) -> None:
        pass

    def append(
        self, msg: m.Message, now: float, state: State, *, alone: bool = False
    ) -> Future[None]:
        done: Future[None] = Future()
        done.set_result(None)
        return done

    def request_snapshot(self) -> None:
        pass

    def adopt(self, path: Path) -> str:
        return ""  # nothing is journaled, so a restore need not be kept by name

    def close(self, state: State | None = None) -> None:
        pass
