"""The hub's history (frames kept so a window can resume from a rev) is bounded in
bytes, not only in frames: the 10-minute soak grew the box by 170 MB because 4096
QUEUE_UPDATE frames of a long queue were kept, each with its wire copies."""

from __future__ import annotations

import queue
import time

from appliance.core import messages as m
from appliance.core.engine import step
from appliance.core.model import State, TrackInfo
from appliance.core.outputs import Event
from appliance.runtime import Published
from web.hub import SyncHub

OWNER = m.Actor(user_id="owner", role="admin")
HISTORY_BYTES = 4 * 1024 * 1024  # what a box may spend on frames kept for resuming windows


class FakeSubscription:
    def __init__(self) -> None:
        self.items: queue.Queue = queue.Queue()

    def get(self, timeout: float | None = None) -> object:
        try:
            return self.items.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self) -> None:
        self.items.put(None)


class LongQueueRuntime:
    """A venue whose queue renders to ~60 KB per QUEUE_UPDATE."""

    def __init__(self) -> None:
        state = step(State(), m.SetupVenue(owner_user_id="owner"), 1_700_000_000.0).state
        for i in range(60):
            track = TrackInfo(f"v{i}", "t" * 1000, "a", 200, "")
            state = step(state, m.AddToQueue(track=track, actor=OWNER), 1_700_000_001.0).state
        self.state = state
        self.sub = FakeSubscription()

    def subscribe(self, maxsize: int = 256, name: str = "") -> FakeSubscription:
        return self.sub


def test_history_is_bounded_in_bytes() -> None:
    runtime = LongQueueRuntime()
    hub = SyncHub(runtime)
    hub.start()
    try:
        rev = runtime.state.rev
        for i in range(1, 301):
            runtime.sub.items.put(Published(rev + i, (Event("QUEUE_UPDATE"),), runtime.state))
        deadline = time.monotonic() + 30
        while hub.rev < rev + 300:
            assert time.monotonic() < deadline, "the hub fell behind"
            time.sleep(0.01)  # the hub publishes on its own thread
        recent = hub.frames_since(rev + 295, staff=True)
        assert recent is not None and len(recent) == 5  # a window a little behind resumes
        size = len(recent[0])
        assert size > 50_000
        oldest = hub.rev - HISTORY_BYTES // size - 1  # more than the budget behind
        assert hub.frames_since(oldest, staff=True) is None, "held past the byte budget"
    finally:
        hub.stop()
