"""The sync hub: one runtime subscription for every window on the console.

Each published change is rendered once (`events.render_event`) into JSON text, and the same
text goes to every websocket, SSE and long-poll client. Each client has its own bounded
queue; one that falls behind is not sent a backlog but a fresh SNAPSHOT, so a slow or
silent phone costs the others nothing. Frames are `{"type", "rev", "prev", "payload"}`:
`prev` is the rev of the change before, so a client that sees `prev` above the rev it
holds knows it missed something and resyncs.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import deque
from typing import Any

from appliance.core.events import render_event
from appliance.core.model import State
from appliance.core.views import snapshot_payload
from appliance.runtime_port import RuntimePort
from appliance.subscription import Subscription
from web.outbox import Frame, HubClient
from web.wire import encode

log = logging.getLogger(__name__)

CLIENT_QUEUE = 256
HISTORY = 4096
HISTORY_BYTES = 4 * 1024 * 1024  # of frame text; a window further behind gets a SNAPSHOT


def dumps(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"), default=str)


class SyncHub:
    def __init__(
        self,
        runtime: RuntimePort,
        max_clients: int = 600,
        staff_reserve: int = 0,
        client_queue: int = CLIENT_QUEUE,
        history: int = HISTORY,
        history_bytes: int = HISTORY_BYTES,
    ) -> None:
        self.runtime = runtime
        self.max_clients = max_clients
        self.staff_reserve = min(staff_reserve, max_clients)
        self.client_queue = client_queue
        self._lock = threading.Condition()
        self._clients: list[HubClient] = []
        # Bounded in bytes too: frames of a long queue are tens of KB each, with their
        # wire copies; 4096 of them held 200 MB.
        self._history: deque[Frame] = deque()
        self._history_frames = history
        self._history_budget = history_bytes
        self._history_bytes = 0
        self._state: State = runtime.state
        self._last_rev = self._state.rev
        self._snap_lock = threading.Lock()
        self._snap_cache: tuple[State, str] | None = None
        self._snap_wire: dict[str, tuple[str, bytes]] = {}
        self._sub: Subscription | None = None
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()
        self.published = 0

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stopped.clear()
        with self._lock:
            self._sub = self.runtime.subscribe(maxsize=4096, name="web-hub")
            self._state = self.runtime.state
            self._last_rev = self._state.rev
        self._thread = threading.Thread(target=self._run, name="web-hub", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        if self._sub is not None:
            self._sub.close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        with self._lock:
            clients = list(self._clients)
            self._lock.notify_all()
        for client in clients:
            client.close()

    @property
    def running(self) -> bool:
        return self._thread is not None and not self._stopped.is_set()

    # -- clients ---------------------------------------------------------------------

    def connect(
        self, staff: bool = False, since: int | None = None, session: str = ""
    ) -> HubClient | None:
        """A new window, starting with a SNAPSHOT (or, given `since` and the frames after
        it still held, with those frames); None when the console is full. The last
        `staff_reserve` places are kept for staff, so patrons can never fill the console."""
        with self._lock:
            cap = self.max_clients if staff else self.max_clients - self.staff_reserve
            if len(self._clients) >= cap:
                return None
            client = HubClient(self, staff, self.client_queue, self._state, session)
            if since is not None:
                frames = self._frames_after(since, staff)
                if frames is not None:
                    client.start_with(frames)
            self._clients = [*self._clients, client]
            return client

    def drop_sessions(self, sessions: set[str]) -> int:
        """Close every window of these sessions (logout, PIN change); how many."""
        with self._lock:
            gone = [c for c in self._clients if c.session and c.session in sessions]
        for client in gone:
            client.close()
        return len(gone)

    def disconnect(self, client: HubClient) -> None:
        with self._lock:
            self._clients = [c for c in self._clients if c is not client]

    @property
    def client_count(self) -> int:
        return len(self._clients)

    @property
    def state(self) -> State:
        return self._state

    @property
    def rev(self) -> int:
        return self._last_rev

    def snapshot_text(self, state: State | None = None) -> str:
        """The SNAPSHOT frame for `state` (default: the latest), rendered once per state."""
        state = self._state if state is None else state
        with self._snap_lock:
            cached = self._snap_cache
            if cached is not None and cached[0] is state:
                return cached[1]
            text = dumps({"type": "SNAPSHOT", "rev": state.rev, "payload": snapshot_payload(state)})
            self._snap_cache = (state, text)
            return text

    def snapshot_wire(self, state: State, kind: str) -> bytes:
        """The SNAPSHOT's bytes for a wire kind, made once per state and kind."""
        text = self.snapshot_text(state)
        with self._snap_lock:
            held = self._snap_wire.get(kind)
            if held is not None and held[0] is text:
                return held[1]
            data = encode(kind, text, state.rev)
            self._snap_wire[kind] = (text, data)
            return data

    # -- long-poll and resume --------------------------------------------------------

    def frames_since(self, rev: int, staff: bool) -> list[str] | None:
        """Every frame after `rev`, or None when they are no longer all held (resync)."""
        with self._lock:
            frames = self._frames_after(rev, staff)
        return None if frames is None else [f.text for f in frames]

    def _frames_after(self, rev: int, staff: bool) -> list[Frame] | None:
        if rev == self._last_rev:
            return []
        history = self._history
        if rev > self._last_rev or not history or history[0].prev > rev:
            return None
        return [f for f in history if f.rev > rev and (staff or not f.staff_only)]

    def wait_for(self, rev: int, timeout: float) -> int:
        """Block until the hub holds a change after `rev` (or timeout); the latest rev."""
        with self._lock:
            self._lock.wait_for(lambda: self._last_rev > rev or self._stopped.is_set(), timeout)
            return self._last_rev

    # -- the fan-out thread ----------------------------------------------------------

    def _run(self) -> None:
        assert self._sub is not None
        while not self._stopped.is_set():
            item = self._sub.get(timeout=1.0)
            if item is None:
                continue
            try:
                if hasattr(item, "events"):
                    self._publish(item.rev, item.events, item.state)
                else:
                    self._resync(item.state)
            except Exception:  # a rendering bug must not stop every window's updates
                log.exception("sync hub: publishing rev %s failed", item.rev)
                self._resync(item.state)

    def _publish(self, rev: int, events: tuple[Any, ...], state: State) -> None:
        prev = self._last_rev
        frames = [
            Frame(
                rev,
                prev,
                e.type,
                dumps(
                    {"type": e.type, "rev": rev, "prev": prev, "payload": render_event(e, state)}
                ),
            )
            for e in events
        ]
        with self._lock:
            self._state = state
            self._last_rev = max(rev, self._last_rev)
            self._keep(frames)
            clients = self._clients
            self._lock.notify_all()
        for client in clients:
            client.offer(frames, state)
        self.published += 1

    def _keep(self, frames: list[Frame]) -> None:
        """Add to the history (lock held), dropping the oldest past either bound."""
        self._history.extend(frames)
        self._history_bytes += sum(len(f.text) for f in frames)
        history = self._history
        while history and (
            len(history) > self._history_frames or self._history_bytes > self._history_budget
        ):
            self._history_bytes -= len(history.popleft().text)

    def _resync(self, state: State) -> None:
        with self._lock:
            self._state = state
            self._last_rev = state.rev
            self._history.clear()
            self._history_bytes = 0
            clients = self._clients
            self._lock.notify_all()
        for client in clients:
            client.resync(state)
