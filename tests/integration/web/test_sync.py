"""Live sync with real websocket, SSE and long-poll clients against `python -m appliance
run` on a real socket: fan-out in rev order, reconnects that converge, one application
per commandId and per play_id, and the same events on every path."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.integration.web.conftest import TRACKS, Api
from tests.support.server import BoxProcess, start_box_process
from tests.support.wsclient import LiveClient, comparable, replay


@pytest.fixture(scope="module")
def proc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BoxProcess]:
    running = start_box_process(tmp_path_factory.mktemp("sync") / "data", media=TRACKS)
    try:
        staff = Api(running.url).login()
        pid = staff.cmd(
            "/api/playlist/manage", {"action": "create", "name": "Friday", "tracks": TRACKS * 4}
        ).json()
        staff.cmd(
            "/api/playlist/manage",
            {"action": "load", "playlistId": pid["result"]["playlist"]["playlist_id"]},
        )
        yield running
    finally:
        running.stop()


@pytest.fixture
def staff(proc: BoxProcess) -> Api:
    return Api(proc.url).login()


def settings_volumes(frames: list[dict]) -> list[tuple[int, int]]:
    return [
        (f["rev"], f["payload"]["player_settings"]["master_volume"])
        for f in frames
        if f["type"] == "PLAYER_SETTINGS_UPDATE"
    ]


def test_fifty_clients_receive_each_event_in_rev_order(proc: BoxProcess, staff: Api) -> None:
    clients = [LiveClient(proc.url).connect() for _ in range(50)]
    try:
        for c in clients:
            assert c.wait_for(lambda fs: len(fs) >= 1)
        volumes = [11, 12, 13, 14, 15, 16, 17, 18, 19, 20]
        revs = []
        for v in volumes:
            r = staff.cmd("/api/ui/command", {"command": "SET_VOLUME", "value": v})
            assert r.status_code == 200
            revs.append(r.json()["rev"])
        for c in clients:
            assert c.wait_for(lambda fs: any(r == revs[-1] for r, _ in settings_volumes(fs)))
            got = [(r, v) for r, v in settings_volumes(c.frames) if r in revs]
            assert got == list(zip(revs, volumes, strict=True))
            frame_revs = [f["rev"] for f in c.frames]
            assert frame_revs == sorted(frame_revs)  # never out of order
    finally:
        for c in clients:
            c.close()


def test_dropped_client_reconnects_and_converges(proc: BoxProcess, staff: Api) -> None:
    window = LiveClient(proc.url).connect()
    assert window.wait_for(lambda fs: fs and fs[0]["type"] == "SNAPSHOT")
    window.drop()
    for vid in ("vid001", "vid002", "vid003"):
        assert staff.cmd("/api/queue/add", {"videoId": vid, "position": "next"}).ok
    assert staff.cmd("/api/ui/command", {"command": "PLAY_NEXT"}).ok
    back = LiveClient(proc.url).connect()
    try:
        target = staff.state()
        assert back.wait_for(lambda fs: replay(fs)[0] >= target["rev"])
        rev, venue = replay(back.frames)
        assert comparable(venue) == comparable(staff.state()["venue"])
    finally:
        back.close()


def test_same_command_id_over_two_paths_is_applied_once(proc: BoxProcess, staff: Api) -> None:
    before = staff.state()["venue"]["active_queue_total"]
    ws = LiveClient(proc.url, cookie=staff.cookie).connect()
    try:
        body = {"videoId": "once", "title": "Once only", "position": "end"}
        ws.send({"type": "COMMAND", "commandId": "tap-1", "path": "/api/queue/add", "body": body})
        assert ws.wait_for(lambda fs: any(f["type"] == "ACK" for f in fs))
        http = staff.cmd("/api/queue/add", {**body, "commandId": "tap-1"})
        ack = next(f for f in ws.frames if f["type"] == "ACK")
    finally:
        ws.close()
    assert ack["ok"] is True and http.status_code == 200
    assert http.json()["result"]["item"]["id"] == ack["result"]["item"]["id"]
    assert staff.state()["venue"]["active_queue_total"] == before + 1


def test_commands_sent_back_to_back_are_answered_in_order_among_the_frames(
    proc: BoxProcess, staff: Api
) -> None:
    """An answer goes straight onto the socket when nothing is queued for the window, and
    behind what is queued when something is: either way every ACK arrives, in the order
    the commands were sent, and the events keep their rev order around them."""
    ws = LiveClient(proc.url, cookie=staff.cookie).connect()
    ids = [f"pipe-{i}" for i in range(40)]
    try:
        for i, cid in enumerate(ids):
            ws.send({"type": "COMMAND", "commandId": cid, "command": "SET_VOLUME", "value": 20 + i})
        assert ws.wait_for(lambda fs: sum(f["type"] == "ACK" for f in fs) >= len(ids))
        last = next(f for f in ws.frames if f.get("commandId") == ids[-1])["rev"]
        assert ws.wait_for(
            lambda fs: any(f["type"] == "PLAYER_SETTINGS_UPDATE" and f["rev"] >= last for f in fs)
        )
    finally:
        ws.close()
    acks = [f for f in ws.frames if f["type"] == "ACK"]
    assert [a["commandId"] for a in acks] == ids and all(a["ok"] for a in acks)
    events = [f["rev"] for f in ws.frames if f["type"] not in ("ACK", "AUTH_SUCCESS")]
    assert events == sorted(events)
    rev, venue = replay(ws.frames)
    assert rev >= last and venue is not None
    assert venue["player_settings"]["master_volume"] == 59


def test_every_command_path_is_served_over_the_websocket_too(proc: BoxProcess, staff: Api) -> None:
    rule = {"id": "ws-rule", "start": "00:00", "end": "24:00", "action": "volume", "volume": 30}
    body = {"scheduleData": {"timezone": "UTC", "rules": [rule]}}
    ws = LiveClient(proc.url, cookie=staff.cookie).connect()
    try:
        ws.send(
            {"type": "COMMAND", "commandId": "cal-1", "path": "/api/schedule/update", "body": body}
        )
        ws.send(
            {"type": "COMMAND", "commandId": "cal-2", "path": "/api/schedule/update", "body": {}}
        )
        assert ws.wait_for(lambda fs: sum(f["type"] == "ACK" for f in fs) >= 2)
        acks = {f["commandId"]: f for f in ws.frames if f["type"] == "ACK"}
    finally:
        ws.close()
    assert acks["cal-1"]["ok"] is True, acks["cal-1"]
    assert (acks["cal-2"]["status"], acks["cal-2"]["error"]["code"]) == (400, "missing_field")
    schedule = staff.get(staff.url + "/api/schedule").json()["schedule"]
    assert [r["id"] for r in schedule["rules"]] == ["ws-rule"]


def test_two_windows_skipping_the_same_track_advance_once(proc: BoxProcess) -> None:
    a, b = Api(proc.url).login(), Api(proc.url).login()
    np = a.state()["venue"]["now_playing"]
    gate = threading.Barrier(2)
    answers: list[dict] = []

    def skip(api: Api) -> None:
        gate.wait()
        r = api.cmd("/api/ui/command", {"command": "PLAY_NEXT", "playId": np["play_id"]})
        answers.append(r.json())

    threads = [threading.Thread(target=skip, args=(x,)) for x in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    skipped = sorted(x["result"]["skipped"] for x in answers)
    assert skipped == [False, True]
    after = a.state()["venue"]["now_playing"]
    assert after["play_id"] != np["play_id"]
    history = a.get(a.url + "/api/state").json()  # one advance: exactly one new play_id
    assert int(after["play_id"][1:]) > int(np["play_id"][1:])
    assert history["venue"]["now_playing"]["play_id"] == after["play_id"]


def _sse_frames(
    url: str, since: int, count: int, out: list[dict], ready: threading.Event, cookie: str
) -> None:
    with requests.get(
        url + f"/api/events?since={since}", stream=True, timeout=60, headers={"Cookie": cookie}
    ) as r:
        ready.set()
        for line in r.iter_lines(chunk_size=1, decode_unicode=True):
            if line and line.startswith("data: "):
                out.append(json.loads(line[6:]))
                if len(out) >= count:
                    return


def test_sse_and_long_poll_deliver_the_same_events(proc: BoxProcess, staff: Api) -> None:
    since = staff.state()["rev"]
    sse: list[dict] = []
    ready = threading.Event()
    reader = threading.Thread(
        target=_sse_frames, args=(proc.url, since, 8, sse, ready, staff.cookie), daemon=True
    )
    reader.start()
    assert ready.wait(30)
    for v in (31, 32, 33, 34):
        assert staff.cmd("/api/ui/command", {"command": "SET_VOLUME", "value": v}).ok
    polled: list[dict] = []
    cursor = since
    while len(polled) < 8:
        body = staff.get(proc.url + f"/api/state?since={cursor}&wait=10", timeout=30).json()
        assert "events" in body, body
        polled.extend(body["events"])
        cursor = body["rev"]
    reader.join(30)
    assert len(sse) >= 8
    assert sse[:8] == polled[:8]
    assert [v for _, v in settings_volumes(polled)] == [31, 32, 33, 34]


def test_long_poll_waits_for_the_next_change(proc: BoxProcess, staff: Api) -> None:
    rev = staff.state()["rev"]
    result: dict = {}

    def poll() -> None:
        result.update(staff.get(proc.url + f"/api/state?since={rev}&wait=20", timeout=30).json())

    t = threading.Thread(target=poll)
    t.start()
    assert staff.cmd("/api/ui/command", {"command": "SET_VOLUME", "value": 44}).ok
    t.join(30)
    assert result["rev"] > rev, "the poll came back without a change"
    events, cursor = list(result["events"]), result["rev"]
    for _ in range(20):  # the player's own changes may come first
        if settings_volumes(events):
            break
        body = staff.get(proc.url + f"/api/state?since={cursor}&wait=20", timeout=30).json()
        events, cursor = events + body.get("events", []), body["rev"]
    assert settings_volumes(events)[-1][1] == 44


def test_long_poll_from_a_forgotten_rev_gets_a_snapshot(proc: BoxProcess, staff: Api) -> None:
    body = staff.get(proc.url + "/api/state?since=0").json()
    assert body["resync"] is True and body["snapshot"]["venue"] is not None


def test_restart_clients_reconnect_to_the_current_state(tmp_path: Path) -> None:
    first = start_box_process(tmp_path / "data")
    port = first.port
    staff = Api(first.url).login()
    staff.cmd("/api/queue/add", {"videoId": "before-restart", "title": "Before"})
    assert first.stop() == 0
    second = start_box_process(tmp_path / "data", port)
    try:
        # the staff session survives the restart (same cookie, same CSRF token)
        r = staff.cmd("/api/queue/add", {"videoId": "after-restart", "title": "After"})
        assert r.status_code == 200, r.text
        window = LiveClient(second.url, cookie=staff.cookie).connect()
        try:
            assert window.wait_for(lambda fs: fs and fs[0]["type"] == "SNAPSHOT")
            venue = window.frames[0]["payload"]["venue"]
            ids = [i["video_id"] for i in venue["active_queue"]]
            ids.append(venue["now_playing"]["video_id"])
            assert "before-restart" in ids and "after-restart" in ids
        finally:
            window.close()
    finally:
        second.stop()


@pytest.mark.parametrize("who", ["staff", "patron"])
def test_search_over_the_websocket_answers_and_keeps_the_window(proc: BoxProcess, who: str) -> None:
    client = Api(proc.url).login() if who == "staff" else Api(proc.url).guest("Sam")
    ws = LiveClient(proc.url, cookie=client.cookie).connect()
    try:
        ws.send({"type": "SEARCH", "q": "lucky"})
        assert ws.wait_for(
            lambda fs: any(f["type"] in ("SEARCH_RESULTS_UPDATE", "ERROR") for f in fs)
        )
        ws.send({"type": "PING"})
        assert ws.wait_for(lambda fs: any(f["type"] == "PONG" for f in fs))
        answers = [f for f in ws.frames if f["type"] in ("SEARCH_RESULTS_UPDATE", "ERROR")]
    finally:
        ws.close()
    assert answers[0]["type"] == "SEARCH_RESULTS_UPDATE", answers[0]
    assert answers[0]["payload"]["query"] == "lucky"
    assert [r["title"] for r in answers[0]["payload"]["results"]] == ["Get Lucky"]
