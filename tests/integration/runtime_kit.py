"""Kit for runtime and store tests: a fake clock, a recording store (a fake of the
Store port wrapping the real FileStore), an effect recorder, and venue set-up."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from appliance.core import messages as m
from appliance.core.model import State
from appliance.core.outputs import Effect
from appliance.runtime import Reply, Runtime
from appliance.store import FileStore

T0 = 1_700_000_000.0
ADMIN = m.Actor(user_id="owner", role="admin", session_id="s1", source="web")
PLAYER = m.Actor(user_id="player", role="admin", source="player")


class FakeClock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class RecordingStore:
    """The real FileStore, with a record of every message appended (in order)."""

    def __init__(self, inner: FileStore) -> None:
        self.inner = inner
        self.appended: list[m.Message] = []
        self.recovery_notes = inner.recovery_notes

    def load(self) -> tuple[State, list[tuple[m.Message, float]]]:
        return self.inner.load()

    def start(self) -> None:
        self.inner.start()

    def append(
        self, msg: m.Message, now: float, state: State, *, alone: bool = False
    ) -> Future[None]:
        self.appended.append(msg)
        return self.inner.append(msg, now, state, alone=alone)

    def request_snapshot(self) -> None:
        self.inner.request_snapshot()

    def adopt(self, path: Path) -> str:
        return self.inner.adopt(path)

    def close(self, state: State | None = None) -> None:
        self.inner.close(state)

    def kinds(self) -> list[str]:
        return [type(x).__name__ for x in self.appended]


class EffectLog:
    """An effect sink that records what it is given and lets tests wait for it."""

    def __init__(self) -> None:
        self.effects: list[Effect] = []
        self._cond = threading.Condition()

    def __call__(self, effects: tuple[Effect, ...], state: State) -> None:
        with self._cond:
            self.effects.extend(effects)
            self._cond.notify_all()

    def wait_for(self, kind: type[Effect], timeout: float = 20.0) -> Effect:
        with self._cond:
            ok = self._cond.wait_for(
                lambda: any(isinstance(e, kind) for e in self.effects), timeout
            )
            assert ok, f"no {kind.__name__} effect within {timeout} s"
            return next(e for e in self.effects if isinstance(e, kind))


def ok(reply: Reply) -> Reply:
    assert reply.ok, reply.error
    return reply


def set_up_playing(rt: Runtime, n: int = 5) -> str:
    """Owner, venue, a playlist of n 200-s tracks, loaded and playing. Returns the playlist id."""
    if rt.state.venue is None:
        ok(rt.submit(m.SetupVenue(owner_user_id="owner")))
    tracks: list[dict[str, Any]] = [
        {"video_id": f"v{i}", "title": f"Song {i}", "duration": 200} for i in range(n)
    ]
    out = ok(
        rt.submit(
            m.ManagePlaylist(action="create", params={"name": "r", "tracks": tracks}, actor=ADMIN)
        )
    )
    pid = out.result["playlist"].playlist_id
    ok(rt.submit(m.ManagePlaylist(action="load", params={"playlistId": pid}, actor=ADMIN)))
    return pid


@contextmanager
def running(
    data_dir: Path, clock: FakeClock | None = None, **kw: Any
) -> Iterator[tuple[Runtime, RecordingStore]]:
    store = RecordingStore(FileStore(data_dir))
    rt = Runtime(store, clock or FakeClock(), **kw)
    rt.start(boot=False)
    try:
        yield rt, store
    finally:
        rt.stop()
