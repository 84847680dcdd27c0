"""The sync hub: one runtime subscription for every window on the console.

Each published change is rendered once (`views.render_event`) into JSON text, and the same
text goes to every websocket, SSE and long-poll client. Each client has its own bounded
queue; one that falls behind is not sent a backlog but a fresh SNAPSHOT, so a slow or
silent phone costs the others nothing. Frames are `{"type", "rev", "prev", "payload"}`:
`prev` is the rev of the change before, so a client that sees `prev` above the rev it
holds knows it missed something and resyncs.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any, Protocol

from appliance.core.model import State
from appliance.core.views import render_event, snapshot_payload
from web.wire import encode

log = logging.getLogger(__name__)

STAFF_ONLY = frozenset({"LOG_ENTRY"})  # log lines carry addresses and user ids
CLIENT_QUEUE = 256
SEND_TIMEOUT = 60.0  # a window that takes nothing for this long is dropped
CLIENT_BYTES = 1 << 20  # queued for one window before its backlog becomes a snapshot
SEND_BUFFER = 256 * 1024  # kernel buffer per window: a stalled phone holds no more
HISTORY = 4096


class Subscription(Protocol):
    def get(self, timeout: float | None = None) -> Any: ...
    def close(self) -> None: ...


class RuntimeLike(Protocol):
    @property
    def state(self) -> State: ...
    def subscribe(self, maxsize: int = 256, name: str = "") -> Subscription: ...


def dumps(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"), default=str)


class Frame:
    """One rendered event: its JSON text, and its bytes per wire kind, each made once."""

    __slots__ = ("rev", "prev", "type", "text", "_wire")

    def __init__(self, rev: int, prev: int, type_: str, text: str) -> None:
        self.rev = rev
        self.prev = prev
        self.type = type_
        self.text = text
        self._wire: dict[str, bytes] = {}

    @property
    def staff_only(self) -> bool:
        return self.type in STAFF_ONLY

    def wire(self, kind: str) -> bytes:
        data = self._wire.get(kind)
        if data is None:  # two threads may both make it: same bytes, no harm
            data = self._wire[kind] = encode(kind, self.text, self.rev)
        return data


@dataclass(frozen=True)
class _Snapshot:
    state: State


Item = Frame | _Snapshot | str | bytes  # bytes: the unsent rest of a frame


class HubClient:
    """One window's outbox, filled by the hub thread.

    Without a socket (long-poll, tests) the window's thread drains it with `next()`.
    With one (`attach`), the hub thread writes each frame straight to the socket without
    blocking when nothing is queued; whatever the socket cannot take at once is queued and
    written by the window's own thread (`pump`), so a slow reader stalls only itself. One
    lock orders the two writers."""

    def __init__(self, hub: SyncHub, staff: bool, maxsize: int, state: State) -> None:
        self.hub = hub
        self.staff = staff
        self.maxsize = maxsize
        self._items: deque[Item] = deque([_Snapshot(state)])
        self._cond = threading.Condition()
        self._write = threading.Lock()
        self._fd = -1
        self._bytes_queued = 0
        self.kind = "text"
        self.closed = False
        self.resyncs = 0

    def attach(self, sock: socket.socket, kind: str) -> None:
        """Write to `sock` as `kind` (ws|sse). The socket must be in timeout mode, so
        its descriptor is non-blocking for the hub thread's direct writes."""
        if sock.gettimeout() is None:
            sock.settimeout(SEND_TIMEOUT)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)
        except OSError:
            pass
        self.kind = kind
        self._sock = sock
        self._fd = sock.fileno()

    def offer(self, frames: list[Frame], state: State) -> None:
        with self._cond:
            if self.closed:
                return
            wanted = [f for f in frames if self.staff or not f.staff_only]
            if not wanted:
                return
            size = sum(len(f.text) for f in wanted)
            if (
                len(self._items) + len(wanted) > self.maxsize
                or self._bytes_queued + size > CLIENT_BYTES
            ):
                self._items.clear()
                self._items.append(_Snapshot(state))
                self._bytes_queued = 0
                self.resyncs += 1
                self._cond.notify()
                return
            direct = self._fd >= 0 and not self._items and self._write.acquire(blocking=False)
            if not direct:
                self._items.extend(wanted)
                self._bytes_queued += size
                self._cond.notify()
                return
        try:
            self._send_now(wanted)
        finally:
            self._write.release()

    def _send_now(self, frames: list[Frame]) -> None:
        """On the hub thread: write what the socket takes without waiting; queue the rest
        (in order, ahead of anything newer) for the window's thread."""
        for i, frame in enumerate(frames):
            data = frame.wire(self.kind)
            try:
                sent = os.write(self._fd, data)
            except BlockingIOError:
                sent = 0
            except OSError:
                self.close_quietly()
                return
            if sent < len(data):
                rest: list[Item] = [data[sent:], *frames[i + 1:]]
                with self._cond:
                    self._items.extendleft(reversed(rest))
                    self._bytes_queued += sum(_size(x) for x in rest)
                    self._cond.notify()
                return

    def resync(self, state: State) -> None:
        with self._cond:
            self._items.clear()
            self._bytes_queued = 0
            self._items.append(_Snapshot(state))
            self._cond.notify()

    def start_with(self, frames: list[Frame]) -> None:
        with self._cond:
            self._items.clear()
            self._items.extend(frames)

    def send_private(self, text: str) -> None:
        """An answer for this window only (ACK, AUTH_SUCCESS), in order with the rest."""
        with self._cond:
            self._items.append(text)
            self._cond.notify()

    def _wait(self, timeout: float | None) -> bool:
        with self._cond:
            if not self._items and not self.closed:
                self._cond.wait(timeout)
            return bool(self._items) and not self.closed

    def next(self, timeout: float | None = None) -> str | None:
        """The next text (no socket attached), or None on timeout or once closed."""
        return self.next_with_rev(timeout)[1]

    def next_with_rev(self, timeout: float | None = None) -> tuple[int | None, str | None]:
        with self._cond:
            if not self._items and not self.closed:
                self._cond.wait(timeout)
            if not self._items:
                return None, None
            item = self._items.popleft()
            self._bytes_queued -= _size(item)
        if isinstance(item, Frame):
            return item.rev, item.text
        if isinstance(item, _Snapshot):
            return item.state.rev, self.hub.snapshot_text(item.state)
        return None, item if isinstance(item, str) else item.decode()

    def pump(self, timeout: float, idle: bytes) -> bool:
        """On the window's thread: write queued items until the queue is empty, or `idle`
        (a ping) after `timeout` s of quiet. False once the window is gone."""
        if not self._wait(timeout):
            if self.closed:
                return False
            with self._write:
                self._sock.sendall(idle)
            return True
        with self._write:
            while True:
                with self._cond:
                    if not self._items or self.closed:
                        return not self.closed
                    item = self._items.popleft()
                    self._bytes_queued -= _size(item)
                self._sock.sendall(self._bytes(item))

    def _bytes(self, item: Item) -> bytes:
        if isinstance(item, bytes):
            return item
        if isinstance(item, Frame):
            return item.wire(self.kind)
        if isinstance(item, _Snapshot):
            return self.hub.snapshot_wire(item.state, self.kind)
        return encode(self.kind, item, None)

    def close_quietly(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()

    def close(self) -> None:
        self.close_quietly()
        self.hub.disconnect(self)


def _size(item: Item) -> int:
    if isinstance(item, Frame):
        return len(item.text)
    return len(item) if isinstance(item, bytes | str) else 0


class SyncHub:
    def __init__(
        self,
        runtime: RuntimeLike,
        max_clients: int = 600,
        client_queue: int = CLIENT_QUEUE,
        history: int = HISTORY,
    ) -> None:
        self.runtime = runtime
        self.max_clients = max_clients
        self.client_queue = client_queue
        self._lock = threading.Condition()
        self._clients: list[HubClient] = []
        self._history: deque[Frame] = deque(maxlen=history)
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

    def connect(self, staff: bool = False, since: int | None = None) -> HubClient | None:
        """A new window, starting with a SNAPSHOT (or, given `since` and the frames after
        it still held, with those frames); None when the console is full."""
        with self._lock:
            if len(self._clients) >= self.max_clients:
                return None
            client = HubClient(self, staff, self.client_queue, self._state)
            if since is not None:
                frames = self._frames_after(since, staff)
                if frames is not None:
                    client.start_with(frames)
            self._clients = [*self._clients, client]
            return client

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
            self._history.extend(frames)
            clients = self._clients
            self._lock.notify_all()
        for client in clients:
            client.offer(frames, state)
        self.published += 1

    def _resync(self, state: State) -> None:
        with self._lock:
            self._state = state
            self._last_rev = state.rev
            self._history.clear()
            clients = self._clients
            self._lock.notify_all()
        for client in clients:
            client.resync(state)
