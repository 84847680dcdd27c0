"""The sync hub against a fake runtime (a stand-in for our own port): one render per
event shared by every window, bounded queues that turn a backlog into a SNAPSHOT, staff-only
frames, resume from a rev, and the window cap."""

from __future__ import annotations

import json
import queue
import socket
from dataclasses import replace

import pytest

from appliance.core import messages as m
from appliance.core.engine import step
from appliance.core.model import State
from appliance.core.outputs import Event
from appliance.runtime import Published, Resync
from web.hub import SyncHub
from web.outbox import CLIENT_BYTES, Frame


class FakeSubscription:
    def __init__(self) -> None:
        self.items: queue.Queue = queue.Queue()
        self.closed = False

    def get(self, timeout: float | None = None):
        try:
            return self.items.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self) -> None:
        self.closed = True
        self.items.put(None)  # wakes the hub's thread at once


class FakeRuntime:
    def __init__(self) -> None:
        state = step(State(), m.SetupVenue(owner_user_id="owner"), 1_700_000_000.0).state
        self.state = replace(state, rev=10)
        self.sub = FakeSubscription()

    def subscribe(self, maxsize: int = 256, name: str = "") -> FakeSubscription:
        return self.sub

    def publish(self, *types: str) -> Published:
        self.state = replace(self.state, rev=self.state.rev + 1)
        pub = Published(self.state.rev, tuple(Event(t) for t in types), self.state)
        self.sub.items.put(pub)
        return pub


@pytest.fixture
def hub():
    runtime = FakeRuntime()
    hub = SyncHub(runtime, max_clients=3, client_queue=4)
    hub.start()
    yield hub, runtime
    hub.stop()


def drain(client, n: int) -> list[str]:
    out = []
    for _ in range(n):
        text = client.next(timeout=10)
        assert text is not None
        out.append(text)
    return out


def test_every_window_gets_the_same_rendered_text(hub) -> None:
    h, rt = hub
    a, b = h.connect(), h.connect()
    snap_a, snap_b = drain(a, 1)[0], drain(b, 1)[0]
    assert snap_a is snap_b and json.loads(snap_a)["type"] == "SNAPSHOT"
    rt.publish("PLAYER_SETTINGS_UPDATE")
    fa, fb = drain(a, 1)[0], drain(b, 1)[0]
    assert fa is fb  # rendered once, the very same string for both
    frame = json.loads(fa)
    assert frame["type"] == "PLAYER_SETTINGS_UPDATE" and frame["rev"] == rt.state.rev
    assert frame["prev"] == rt.state.rev - 1


def test_a_window_that_falls_behind_gets_a_snapshot_not_a_backlog(hub) -> None:
    h, rt = hub
    slow, fast = h.connect(), h.connect()
    drain(slow, 1)
    drain(fast, 1)
    for _ in range(6):  # more than the queue holds
        rt.publish("QUEUE_UPDATE")
        drain(fast, 1)
    frames = []
    while (text := slow.next(timeout=0.2)) is not None:
        frames.append(json.loads(text))
    # the 5th change overflowed the queue of 4: a snapshot of it, then only what followed
    assert [f["type"] for f in frames] == ["SNAPSHOT", "QUEUE_UPDATE"]
    assert frames[0]["rev"] == rt.state.rev - 1 and frames[1]["rev"] == rt.state.rev
    assert slow.resyncs == 1 and fast.resyncs == 0


def test_log_lines_go_to_staff_windows_only(hub) -> None:
    h, rt = hub
    patron, staff = h.connect(staff=False), h.connect(staff=True)
    drain(patron, 1)
    drain(staff, 1)
    rt.publish("LOG_ENTRY", "QUEUE_UPDATE")
    assert [json.loads(t)["type"] for t in drain(staff, 2)] == ["LOG_ENTRY", "QUEUE_UPDATE"]
    assert [json.loads(t)["type"] for t in drain(patron, 1)] == ["QUEUE_UPDATE"]
    assert patron.next(timeout=0.05) is None


def test_resume_from_a_rev_and_forgotten_revs(hub) -> None:
    h, rt = hub
    watcher = h.connect()
    drain(watcher, 1)
    start = rt.state.rev
    rt.publish("QUEUE_UPDATE")
    rt.publish("NOW_PLAYING_UPDATE")
    drain(watcher, 2)  # the hub has published both
    frames = h.frames_since(start, staff=False)
    assert [json.loads(t)["type"] for t in frames] == ["QUEUE_UPDATE", "NOW_PLAYING_UPDATE"]
    assert h.frames_since(rt.state.rev, staff=False) == []
    assert h.frames_since(0, staff=False) is None  # before the hub's memory: resync
    resumed = h.connect(since=start)
    assert [json.loads(t)["type"] for t in drain(resumed, 2)] == [
        "QUEUE_UPDATE",
        "NOW_PLAYING_UPDATE",
    ]


def test_runtime_resync_reaches_every_window(hub) -> None:
    h, rt = hub
    w = h.connect()
    drain(w, 1)
    rt.state = replace(rt.state, rev=rt.state.rev + 50)
    rt.sub.items.put(Resync(rt.state.rev, rt.state))
    snap = json.loads(drain(w, 1)[0])
    assert snap["type"] == "SNAPSHOT" and snap["rev"] == rt.state.rev


def test_the_window_cap_refuses_past_it(hub) -> None:
    h, _ = hub
    clients = [h.connect() for _ in range(3)]
    assert all(c is not None for c in clients)
    assert h.connect() is None
    clients[0].close()
    assert h.connect() is not None


def test_a_detached_window_gets_no_direct_write(hub) -> None:
    """The hub thread and a window's reader write to an idle window's socket directly; once
    the window is detached (its socket about to close, its descriptor number soon someone
    else's) neither may touch the descriptor."""
    h, rt = hub
    near, far = socket.socketpair()
    try:
        near.settimeout(5)
        far.settimeout(5)
        window, witness = h.connect(), h.connect()
        drain(window, 1)  # its SNAPSHOT: nothing queued now, so writes go straight out
        drain(witness, 1)
        window.attach(near, "ws")
        rt.publish("PLAYER_SETTINGS_UPDATE")
        drain(witness, 1)  # the hub offers to windows in order: `window` had it first
        window.send_private('{"type":"ACK"}')
        got = b""
        while b'{"type":"ACK"}' not in got:
            got += far.recv(65536)
        assert got.startswith(b"\x81") and b'"PLAYER_SETTINGS_UPDATE"' in got
        window.detach()
        rt.publish("PLAYER_SETTINGS_UPDATE")
        drain(witness, 1)
        window.send_private('{"type":"ACK"}')
        far.setblocking(False)
        with pytest.raises(BlockingIOError):
            far.recv(65536)
    finally:
        near.close()
        far.close()


def test_private_answers_count_toward_a_windows_byte_bound(hub) -> None:
    # answers queued and then written must leave the window's byte count where it was, or
    # a later backlog could pass the bound (CLIENT_BYTES) without turning into a snapshot
    h, rt = hub
    window = h.connect()
    drain(window, 1)
    for _ in range(20):
        window.send_private("x" * 50_000)
    assert len(drain(window, 20)) == 20
    window.finish("bye")
    assert drain(window, 1) == ["bye"]
    window.finishing = False
    over = Frame(rt.state.rev + 1, rt.state.rev, "QUEUE_UPDATE", "y" * (CLIENT_BYTES + 1))
    window.offer([over], rt.state)
    assert window.resyncs == 1
    assert json.loads(drain(window, 1)[0])["type"] == "SNAPSHOT"
