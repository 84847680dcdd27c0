"""The runtime draws the next shuffle at idle, and only once the change is answered."""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future
from pathlib import Path

from appliance.core import messages as m
from appliance.core import permutation
from appliance.core.model import State
from appliance.runtime import Runtime
from appliance.store import FileStore
from tests.integration.runtime_kit import ADMIN, FakeClock, RecordingStore, ok, set_up_playing


class GatedStore(RecordingStore):
    """Journal writes complete only while the gate is open (a slow card, held at will)."""

    def __init__(self, inner: FileStore) -> None:
        super().__init__(inner)
        self.gate = threading.Event()
        self.gate.set()

    def append(
        self, msg: m.Message, now: float, state: State, *, alone: bool = False
    ) -> Future[None]:
        written = super().append(msg, now, state, alone=alone)
        out: Future[None] = Future()

        def finish() -> None:
            self.gate.wait()
            written.result()
            out.set_result(None)

        threading.Thread(target=finish, daemon=True).start()
        return out


def _until(cond: object, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():  # type: ignore[operator]
            return True
        time.sleep(0.01)
    return False


def test_the_next_shuffle_is_drawn_after_the_answer_not_before(tmp_path: Path) -> None:
    store = GatedStore(FileStore(tmp_path))
    rt = Runtime(store, FakeClock())
    rt.start(boot=False)
    try:
        set_up_playing(rt, 1200)
        toggle = m.UiCommand(command="SHUFFLE_TOGGLE", actor=ADMIN)
        ok(rt.submit(toggle))
        store.gate.clear()  # the toggle to off is applied, its answer held
        answer = rt.submit_async(toggle)
        assert _until(lambda: not rt.state.venue.player_settings.shuffle_enabled)
        venue = rt.state.venue
        n, seed = len(venue.active_queue), venue.player_settings.shuffle_seed
        assert n >= permutation.AHEAD_MIN and seed
        time.sleep(0.4)  # several quiet spells: still nothing drawn while unanswered
        assert not answer.done()
        assert not permutation.drawn(n, seed)
        store.gate.set()
        ok(answer.result(timeout=5))
        assert _until(lambda: permutation.drawn(n, seed))
    finally:
        store.gate.set()
        rt.stop()
