"""A window that stops reading costs the others nothing: they keep getting every change
in order, and the stalled one, once it reads again, gets a fresh SNAPSHOT instead of a
backlog and ends on the current state."""

from __future__ import annotations

import socket

from tests.integration.web.conftest import TRACKS, Api
from tests.support.wsclient import LiveClient, comparable, replay


def test_a_stalled_window_does_not_hold_back_the_others(box, staff: Api) -> None:
    tracks = [dict(t, video_id=f"{t['video_id']}-{n}") for n in range(10) for t in TRACKS]
    pid = staff.cmd(
        "/api/playlist/manage", {"action": "create", "name": "Big", "tracks": tracks}
    ).json()
    staff.cmd(
        "/api/playlist/manage",
        {"action": "load", "playlistId": pid["result"]["playlist"]["playlist_id"]},
    )
    stalled = LiveClient(box.url).connect(
        read=False, sockopt=((socket.SOL_SOCKET, socket.SO_RCVBUF, 4096),)
    )
    fast = LiveClient(box.url).connect()
    try:
        revs = []
        for n in range(300):  # each change sends the 50-item queue window (~10 KB)
            r = staff.cmd(
                "/api/queue/add", {"videoId": f"slow-{n}", "title": f"Slow {n}", "position": "next"}
            )
            assert r.status_code == 200
            revs.append(r.json()["rev"])
        assert fast.wait_for(
            lambda fs: any(f["type"] == "QUEUE_UPDATE" and f["rev"] == revs[-1] for f in fs)
        )
        got = [f["rev"] for f in fast.frames if f["type"] == "QUEUE_UPDATE"]
        assert got == revs  # every change, in order, none skipped
        hub = box.console.console.hub
        stalled_client = max(hub._clients, key=lambda c: c.resyncs)
        assert stalled_client.resyncs >= 1  # its backlog was replaced by a snapshot
        stalled.start_reading()
        final = staff.state()
        assert stalled.wait_for(lambda fs: replay(fs)[0] >= final["rev"], timeout=60)
        snapshots = [f for f in stalled.frames if f["type"] == "SNAPSHOT"]
        assert len(snapshots) >= 2
        queue_frames = [f for f in stalled.frames if f["type"] == "QUEUE_UPDATE"]
        assert len(queue_frames) < len(revs)  # not the whole backlog
        assert comparable(replay(stalled.frames)[1]) == comparable(staff.state()["venue"])
    finally:
        stalled.drop()
        fast.close()
