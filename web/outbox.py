"""A window's outbox: the rendered frames waiting for one connection, and the writer that
puts them on its socket. Filled by the sync hub's thread (`web/hub.py`)."""

from __future__ import annotations

import os
import socket
import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from appliance.core.events import STAFF_ONLY
from appliance.core.model import State
from web.wire import encode

SEND_TIMEOUT = 60.0  # a window that takes nothing for this long is dropped
CLIENT_BYTES = 1 << 20  # queued for one window before its backlog becomes a snapshot
SEND_BUFFER = 256 * 1024  # kernel buffer per window: a stalled phone holds no more


class Hub(Protocol):
    def snapshot_text(self, state: State | None = None) -> str: ...
    def snapshot_wire(self, state: State, kind: str) -> bytes: ...
    def disconnect(self, client: HubClient) -> None: ...


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

    def __init__(
        self, hub: Hub, staff: bool, maxsize: int, state: State, session: str = ""
    ) -> None:
        self.hub = hub
        self.staff = staff
        self.session = session  # the session's hash: logout closes the window
        self.maxsize = maxsize
        self._items: deque[Item] = deque([_Snapshot(state)])
        self._cond = threading.Condition()
        self._write = threading.Lock()
        self._sock: socket.socket | None = None
        self._fd = -1
        self._bytes_queued = 0
        self.kind = "text"
        self.closed = False
        self.finishing = False  # a last word is queued; the window ends after it
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

    def _send_now(self, items: Sequence[Item]) -> None:
        """On the hub's (or the window reader's) thread, `_write` held: write what the
        socket takes without waiting; queue the rest (in order, ahead of anything newer)
        for the window's thread."""
        if self._fd < 0:  # detached: the descriptor may already name another socket
            return
        for i, item in enumerate(items):
            data = self._bytes(item)
            try:
                sent = os.write(self._fd, data)
            except BlockingIOError:
                sent = 0
            except OSError:
                self.close_quietly()
                return
            if sent < len(data):
                rest: list[Item] = [data[sent:], *items[i + 1 :]]
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
            self._bytes_queued = sum(map(_size, frames))

    def send_private(self, text: str) -> None:
        """An answer for this window only (ACK, AUTH_SUCCESS), in order with the rest.
        Written at once when nothing is queued: waking the window's thread for it was a
        thread hand-off on every command's answer."""
        with self._cond:
            if self.closed:
                return
            direct = self._fd >= 0 and not self._items and self._write.acquire(blocking=False)
            if not direct:
                self._items.append(text)
                self._bytes_queued += len(text)
                self._cond.notify()
                return
        try:
            self._send_now([text])
        finally:
            self._write.release()

    def finish(self, text: str) -> None:
        """A last word for this window: written after what is queued, then `pump` ends."""
        with self._cond:
            self._items.append(text)
            self._bytes_queued += len(text)
            self.finishing = True
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
        assert self._sock is not None, "attach() a socket first"
        if not self._wait(timeout):
            if self.closed or self.finishing:
                return False
            with self._write:
                self._sock.sendall(idle)
            return True
        with self._write:
            while True:
                with self._cond:
                    if not self._items or self.closed:
                        return not (self.closed or self.finishing)
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

    def detach(self) -> None:
        """Before the socket is closed: no direct write may reach its descriptor after
        this (a closed descriptor's number is soon another connection's)."""
        with self._write:
            self._fd = -1

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
