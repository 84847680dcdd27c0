"""Bulk playlist loads and schedules from the fleet console, by name: each venue's own
playlist id is found in what it publishes; real boxes on a real mosquitto."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from appliance.core import messages as m
from tests.integration.fleet_kit import STAFF, Fleet, Staff, Venue, fleet_rig


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[Fleet]:
    yield from fleet_rig(tmp_path)


def make_playlist(venue: Venue, name: str, video_ids: list[str]) -> str:
    tracks = [{"video_id": v, "title": f"Song {v}", "artist": "Band", "duration": 180}
              for v in video_ids]  # fmt: skip
    msg = m.ManagePlaylist(action="create", params={"name": name, "tracks": tracks}, actor=STAFF)
    reply = venue.box.runtime.submit(msg)
    assert reply.ok, reply.error
    return next(p.playlist_id for p in venue.box.runtime.state.playlists.values() if p.name == name)


def queued(venue: Venue) -> list[str]:
    v = venue.box.runtime.state.venue
    ids = [q.video_id for q in v.active_queue]
    return ([v.now_playing.video_id] if v.now_playing else []) + ids


def test_a_playlist_loads_by_name_at_each_venue_that_has_it(fleet: Fleet) -> None:
    a, b = fleet.venues
    make_playlist(a, "Friday Night", ["fn-a1", "fn-a2"])
    make_playlist(b, "Morning", ["mo-b1"])
    make_playlist(b, "friday night", ["fn-b1", "fn-b2", "fn-b3"])  # its own id, other case
    fleet.wait("playlists published", lambda c: (
        "Friday Night" in c[a.venue_id]["playlists"]
        and "friday night" in c[b.venue_id]["playlists"]))  # fmt: skip
    staff = Staff(fleet.url)

    r = staff.command({"venueIds": [a.venue_id, b.venue_id], "command": "LOAD_PLAYLIST",
                       "value": "Friday Night"})  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.json() == {"results": [{"venue_id": a.venue_id, "ok": True},
                                    {"venue_id": b.venue_id, "ok": True}]}  # fmt: skip
    assert set(queued(a)) >= {"fn-a1", "fn-a2"}
    assert set(queued(b)) >= {"fn-b1", "fn-b2", "fn-b3"}

    revs = [v.box.runtime.state.rev for v in fleet.venues]
    r = staff.command({"venueIds": [a.venue_id, b.venue_id, "nowhere"],
                       "command": "LOAD_PLAYLIST", "value": "Morning"})  # fmt: skip
    assert r.json()["results"] == [
        {"venue_id": a.venue_id, "ok": False, "error": "no_such_playlist"},
        {"venue_id": b.venue_id, "ok": True},
        {"venue_id": "nowhere", "ok": False, "error": "unknown_venue"},
    ]
    assert a.box.runtime.state.rev == revs[0]  # nothing sent to a
    assert "mo-b1" in queued(b)

    for value in ("", 7, None, "x" * 121):
        r = staff.command({"venueIds": [a.venue_id], "command": "LOAD_PLAYLIST", "value": value})
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_field"


def test_a_schedule_applies_to_many_venues_with_playlists_by_name(fleet: Fleet) -> None:
    a, b = fleet.venues
    pa = make_playlist(a, "Evening", ["ev-a"])
    pb = make_playlist(b, "Evening", ["ev-b"])
    assert pa != pb or a.venue_id != b.venue_id
    fleet.wait("playlists published", lambda c: all(
        "Evening" in v["playlists"] for v in c.values()))  # fmt: skip
    schedule: dict[str, Any] = {
        "timezone": "Europe/London",
        "rules": [
            {
                "id": "eve",
                "days": ["fri", "sat"],
                "start": "18:00",
                "end": "23:00",
                "action": "playlist",
                "playlistName": "Evening",
            },
            {
                "id": "quiet",
                "days": ["mon"],
                "start": "09:00",
                "end": "12:00",
                "action": "volume",
                "volume": 20,
            },
        ],  # fmt: skip
    }
    staff = Staff(fleet.url)
    r = staff.command({"venueIds": [a.venue_id, b.venue_id], "command": "APPLY_SCHEDULE",
                       "value": schedule})  # fmt: skip
    assert r.status_code == 200, r.text
    assert [x["ok"] for x in r.json()["results"]] == [True, True], r.text
    for venue, pid in ((a, pa), (b, pb)):
        data = venue.box.runtime.state.venue.schedule_data
        rules = {rule["id"]: rule for rule in data["rules"]}
        assert rules["eve"]["playlistId"] == pid and "playlistName" not in rules["eve"]
        assert rules["quiet"]["volume"] == 20 and data["timezone"] == "Europe/London"

    # a name one venue lacks: that venue is told so and keeps its schedule
    make_playlist(b, "Brunch", ["br-b"])
    fleet.wait("brunch at b", lambda c: "Brunch" in c[b.venue_id]["playlists"])
    brunch = {"rules": [{"id": "br", "days": ["sun"], "start": "10:00", "end": "13:00",
                         "action": "playlist", "playlistName": "Brunch"}]}  # fmt: skip
    kept = a.box.runtime.state.venue.schedule_data
    r = staff.command({"venueIds": [a.venue_id, b.venue_id], "command": "APPLY_SCHEDULE",
                       "value": brunch})  # fmt: skip
    assert r.json()["results"] == [
        {"venue_id": a.venue_id, "ok": False, "error": "no_such_playlist"},
        {"venue_id": b.venue_id, "ok": True},
    ]
    assert a.box.runtime.state.venue.schedule_data == kept
    assert b.box.runtime.state.venue.schedule_data["rules"][0]["playlistId"] != ""

    # a schedule the box refuses: its own error comes back per venue, nothing changes
    bad = {"rules": [{"id": "x", "days": ["funday"], "start": "10:00", "end": "11:00",
                      "action": "silence"}]}  # fmt: skip
    r = staff.command({"venueIds": [a.venue_id], "command": "APPLY_SCHEDULE", "value": bad})
    result = r.json()["results"][0]
    assert r.status_code == 200 and result["ok"] is False
    assert result["error"] == "invalid_schedule" and "days" in result["message"]
    assert a.box.runtime.state.venue.schedule_data == kept
    r = staff.command({"venueIds": [a.venue_id], "command": "APPLY_SCHEDULE", "value": [1]})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_field"
