"""Every console endpoint over a real socket: the happy path, and bad input refused with a
4xx in the house format and no change of state."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from appliance.core.messages import UI_COMMANDS
from tests.integration.web.conftest import TRACKS, Api


def fingerprint(api: Api) -> tuple[int, str]:
    """The rev and the venue minus the volatile position: equal means nothing changed."""
    state = api.state()
    venue = state["venue"]
    if venue.get("now_playing"):
        venue["now_playing"].pop("position", None)
    return state["rev"], json.dumps(venue, sort_keys=True)


def assert_house_error(r: requests.Response, status: int, code: str | None = None) -> None:
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    err = r.json()["error"]
    assert isinstance(err["message"], str) and err["message"]
    if code is not None:
        assert err["code"] == code, err


def test_state_has_rev_and_the_seed_field_names(staff: Api, loaded: dict) -> None:
    state = staff.state()
    assert isinstance(state["rev"], int)
    venue = state["venue"]
    for key in ("now_playing", "active_queue", "priority_queue", "player_settings", "venue_id"):
        assert key in venue
    assert venue["now_playing"]["title"] == TRACKS[0]["title"]


def test_queue_pages(staff: Api, loaded: dict) -> None:
    r = staff.get(staff.url + "/api/queue?offset=1&limit=2")
    assert r.status_code == 200
    body = r.json()
    assert body["offset"] == 1 and body["active_total"] == len(TRACKS) - 1
    assert [i["video_id"] for i in body["active_queue"]] == ["vid002", "vid003"]


def test_playlists_and_one_playlist(staff: Api, loaded: dict) -> None:
    lists = staff.get(staff.url + "/api/playlists").json()["playlists"]
    assert [p["name"] for p in lists] == ["Friday"]
    one = staff.get(staff.url + f"/api/playlist?playlistId={loaded['playlist_id']}&limit=2").json()
    assert len(one["playlist"]["tracks"]) == 2 and one["playlist"]["track_count"] == len(TRACKS)


def test_search_finds_the_venue_tracks(patron: Api, loaded: dict) -> None:
    r = patron.get(patron.url + "/api/search?q=daft")
    assert r.status_code == 200
    assert [t["video_id"] for t in r.json()["results"]] == ["vid003"]


def test_preview_of_a_url_and_of_an_unknown_id(staff: Api) -> None:
    ok = staff.get(staff.url + "/api/preview?videoId=https://example.com/v.mp4")
    assert ok.status_code == 200 and ok.json()["url"] == "https://example.com/v.mp4"
    assert_house_error(staff.get(staff.url + "/api/preview?videoId=nope"), 404, "no_preview")


@pytest.mark.parametrize("command", UI_COMMANDS)
def test_every_ui_command_is_accepted(staff: Api, loaded: dict, command: str) -> None:
    value: Any = {"SET_VOLUME": 33, "SEEK": 10}.get(command)
    if command == "PLAY_PREVIOUS":  # needs a track behind us
        assert staff.cmd("/api/ui/command", {"command": "PLAY_NEXT"}).status_code == 200
    before = staff.state()["rev"]
    r = staff.cmd(
        "/api/ui/command", {"venueId": loaded["venue_id"], "command": command, "value": value}
    )
    assert r.status_code == 200, r.text
    assert r.json()["ok"] is True and r.json()["rev"] > before


def test_volume_setting_and_crossfade(staff: Api, loaded: dict) -> None:
    assert staff.cmd("/api/ui/command", {"command": "SET_VOLUME", "value": 12}).status_code == 200
    r = staff.cmd("/api/settings/update", {"setting": "crossfade_time", "value": 7})
    assert r.status_code == 200, r.text
    settings = staff.state()["venue"]["player_settings"]
    assert settings["master_volume"] == 12 and settings["crossfade_time"] == 7


def test_staff_add_end_and_next(staff: Api, loaded: dict) -> None:
    end = staff.cmd("/api/queue/add", {"videoId": "new-end", "title": "End", "position": "end"})
    nxt = staff.cmd("/api/queue/add", {"videoId": "new-next", "title": "Next", "position": "next"})
    assert end.status_code == 200 and nxt.status_code == 200
    venue = staff.state()["venue"]
    assert venue["active_queue"][-1]["video_id"] == "new-end"
    assert venue["priority_queue"][0]["video_id"] == "new-next"


def test_patron_request_lands_in_priority_with_its_place(patron: Api, loaded: dict) -> None:
    r = patron.cmd("/api/queue/add", {"videoId": "vid004"})
    assert r.status_code == 200, r.text
    result = r.json()["result"]
    assert result["queue"] == "priority" and result["position"] == 1
    assert isinstance(result["eta_minutes"], int)
    assert patron.state()["venue"]["priority_queue"][0]["added_by_user_id"] == patron.user_id


def test_patron_refusals_say_why(patron: Api, loaded: dict) -> None:
    assert patron.cmd("/api/queue/add", {"videoId": "vid004"}).status_code == 200
    again = patron.cmd("/api/queue/add", {"videoId": "vid004"})
    assert_house_error(again, 409, "already_queued")
    assert "already in the queue" in again.json()["error"]["message"]
    assert patron.cmd("/api/queue/add", {"videoId": "vid005"}).status_code == 200
    third = patron.cmd("/api/queue/add", {"videoId": "vid002"})
    assert_house_error(third, 429, "too_many_requests")
    assert "2 requests waiting" in third.json()["error"]["message"]
    unknown = patron.cmd("/api/queue/add", {"videoId": "not-in-library"})
    assert_house_error(unknown, 404, "unknown_track")


def test_remove_move_clear(staff: Api, loaded: dict) -> None:
    queue = staff.state()["venue"]["active_queue"]
    r = staff.cmd("/api/queue/remove", {"queueItemId": queue[0]["id"]})
    assert r.status_code == 200
    r = staff.cmd("/api/queue/move", {"queueItemId": queue[-1]["id"], "toIndex": 0})
    assert r.status_code == 200
    after = staff.state()["venue"]["active_queue"]
    assert after[0]["id"] == queue[-1]["id"] and queue[0]["id"] not in [i["id"] for i in after]
    assert staff.cmd("/api/queue/clear").status_code == 200
    assert staff.state()["venue"]["active_queue"] == []


def test_vote_like(patron: Api, loaded: dict) -> None:
    vid = patron.state()["venue"]["now_playing"]["video_id"]
    r = patron.cmd("/api/track/vote", {"videoId": vid, "voteType": "like"})
    assert r.status_code == 200 and r.json()["result"]["vote_count"] == 1


def test_playlist_manage_actions(staff: Api, loaded: dict) -> None:
    pid = loaded["playlist_id"]
    for body in (
        {"action": "star", "playlistId": pid},
        {"action": "add_tracks", "playlistId": pid, "tracks": [{"video_id": "extra"}]},
        {"action": "reorder", "playlistId": pid, "fromIndex": 0, "toIndex": 1},
        {"action": "set_default", "playlistId": pid},
        {"action": "update", "playlistId": pid, "name": "Friday late"},
    ):
        r = staff.cmd("/api/playlist/manage", body)
        assert r.status_code == 200, (body, r.text)
        assert r.json()["result"]["playlist"]["playlist_id"] == pid
    lists = staff.get(staff.url + "/api/playlists").json()["playlists"]
    assert lists[0]["name"] == "Friday late" and lists[0]["starred_by_me"] is True
    assert lists[0]["track_count"] == len(TRACKS) + 1


def test_preferences(patron: Api) -> None:
    r = patron.cmd(
        "/api/user/preferences", {"userId": patron.user_id, "preferences": {"language": "fr"}}
    )
    assert r.status_code == 200, r.text
    me = patron.get(patron.url + "/api/auth/session").json()
    assert me["preferences"]["language"] == "fr"


def test_player_endpoints(staff: Api, loaded: dict) -> None:
    assert staff.cmd("/api/player/ready", {"playerId": "tv-1"}).status_code == 200
    assert staff.cmd("/api/player/heartbeat", {"currentTime": 3.5}).status_code == 200
    r = staff.cmd("/api/player/status", {"state": "paused", "currentTime": 4, "duration": 200})
    assert r.status_code == 200
    assert staff.state()["venue"]["now_playing"]["state"] == "paused"
    first = staff.state()["venue"]["now_playing"]["play_id"]
    assert staff.cmd("/api/player/error", {"errorCode": 150}).status_code == 200
    assert staff.state()["venue"]["now_playing"]["play_id"] != first


def test_auth_settings_add_a_moderator(staff: Api, box: Any) -> None:
    r = staff.cmd(
        "/api/auth/settings",
        {"setting": "moderator", "value": {"username": "Sam", "pin": "777888"}},
    )
    assert r.status_code == 200, r.text
    mod = Api(box.url).login("777888")
    me = mod.get(mod.url + "/api/auth/session").json()
    assert me["role"] == "moderator" and me["username"] == "Sam"


BAD_COMMANDS = [
    ("/api/ui/command", {}, 400, "missing_field"),
    ("/api/ui/command", {"command": 5}, 400, "invalid_field"),
    ("/api/ui/command", {"command": "FLY"}, 400, "unknown_command"),
    ("/api/ui/command", {"command": "SET_VOLUME", "value": "loud"}, 400, "invalid_value"),
    ("/api/ui/command", {"command": "SET_VOLUME", "value": 101}, 400, "out_of_range"),
    (
        "/api/ui/command",
        {"command": "SET_VOLUME", "value": 5, "venueId": "elsewhere"},
        404,
        "unknown_venue",
    ),
    ("/api/ui/command", {"command": "SET_VOLUME", "value": 5, "venueId": 7}, 400, None),
    ("/api/ui/command", {"command": "SEEK", "value": -3}, 400, "invalid_value"),
    ("/api/ui/command", {"command": "PAUSE", "expectedRev": 1}, 409, "stale_rev"),
    ("/api/ui/command", {"command": "PAUSE", "commandId": 12}, 400, "invalid_field"),
    ("/api/settings/update", {"setting": "nope", "value": 1}, 400, "unknown_setting"),
    ("/api/settings/update", {"setting": "crossfade_time"}, 400, "missing_field"),
    ("/api/settings/update", {"setting": "crossfade_time", "value": True}, 400, "invalid_value"),
    ("/api/settings/update", {"setting": "loudness_target", "value": -40}, 400, "out_of_range"),
    ("/api/settings/update", {"setting": "loudness_normalization", "value": 0}, 400, None),
    ("/api/settings/update", {"setting": "tv_qr_code", "value": "no"}, 400, "invalid_value"),
    ("/api/settings/update", {"setting": "tv_logo", "value": "c999"}, 404, "not_found"),
    ("/api/queue/add", {}, 400, "missing_field"),
    ("/api/queue/add", {"videoId": 7}, 400, "invalid_field"),
    ("/api/queue/add", {"videoId": "x", "position": "middle"}, 400, "invalid_field"),
    ("/api/queue/add", {"videoId": "x", "duration": "long"}, 400, "invalid_field"),
    ("/api/queue/remove", {}, 400, "missing_field"),
    ("/api/queue/remove", {"queueItemId": "nope"}, 404, "not_found"),
    ("/api/queue/move", {"queueItemId": "q1", "toIndex": "x"}, 400, "invalid_field"),
    ("/api/queue/move", {"queueItemId": "zz", "toIndex": 0}, 404, "not_found"),
    ("/api/queue/move", {"toIndex": 0}, 400, "missing_field"),
    ("/api/track/vote", {}, 400, "missing_field"),
    ("/api/track/vote", {"videoId": "not-playing"}, 409, "not_playing"),
    ("/api/track/vote", {"videoId": "vid000", "voteType": "boo"}, 400, None),
    ("/api/playlist/manage", {"action": "fly"}, 400, "unknown_action"),
    ("/api/playlist/manage", {"action": "load", "playlistId": "nope"}, 404, "not_found"),
    ("/api/playlist/manage", {"action": "create", "name": ""}, 400, "invalid_value"),
    ("/api/playlist/manage", {"action": "create", "name": "x", "tracks": "all"}, 400, None),
    ("/api/user/preferences", {"preferences": {"theme": 5}}, 400, "invalid_value"),
    ("/api/user/preferences", {"preferences": "dark"}, 400, "invalid_field"),
    ("/api/player/status", {"state": "dancing"}, 400, "invalid_field"),
    ("/api/player/status", {"state": "playing", "currentTime": "late"}, 400, "invalid_field"),
    ("/api/player/ready", {}, 400, "missing_field"),
    ("/api/player/error", {}, 400, "missing_field"),
    ("/api/auth/settings", {"setting": "pin", "value": "12"}, 400, "invalid_field"),
    ("/api/auth/settings", {"setting": "wifi", "value": 1}, 400, "unknown_setting"),
]


@pytest.mark.parametrize(("path", "body", "status", "code"), BAD_COMMANDS)
def test_bad_commands_are_refused_and_change_nothing(
    staff: Api, loaded: dict, path: str, body: dict, status: int, code: str | None
) -> None:
    before = fingerprint(staff)
    assert_house_error(staff.cmd(path, body), status, code)
    assert fingerprint(staff) == before


def test_bodies_that_are_not_json_objects(staff: Api, loaded: dict) -> None:
    before = fingerprint(staff)
    h = {"X-CSRF-Token": staff.csrf, "Content-Type": "application/json"}
    url = staff.url + "/api/ui/command"
    assert_house_error(staff.post(url, data="{nope", headers=h), 400, "invalid_json")
    assert_house_error(staff.post(url, data="[1, 2]", headers=h), 400, "invalid_body")
    big = json.dumps({"command": "PAUSE", "pad": "x" * 70_000})
    assert_house_error(staff.post(url, data=big, headers=h), 413, "too_large")
    plain = {"X-CSRF-Token": staff.csrf, "Content-Type": "text/plain"}
    assert_house_error(staff.post(url, data='{"command":"PAUSE"}', headers=plain), 415)
    assert fingerprint(staff) == before


def test_unknown_paths_methods_and_queries(staff: Api, loaded: dict) -> None:
    assert_house_error(staff.cmd("/api/nope"), 404, "not_found")
    assert_house_error(staff.get(staff.url + "/api/ui/command"), 405, "method_not_allowed")
    assert_house_error(staff.get(staff.url + "/api/queue?offset=-1"), 400, "out_of_range")
    assert_house_error(staff.get(staff.url + "/api/queue?limit=abc"), 400, "invalid_field")
    assert_house_error(staff.get(staff.url + "/api/search"), 400, "invalid_field")
    assert_house_error(staff.get(staff.url + "/api/playlist?playlistId=zz"), 404, "not_found")
    assert_house_error(staff.get(staff.url + "/api/state?since=x"), 400, "invalid_field")


def test_conflict_answers_carry_the_current_state(staff: Api, loaded: dict) -> None:
    r = staff.cmd("/api/ui/command", {"command": "PLAY_NEXT", "expectedPlayId": "p-old"})
    assert_house_error(r, 409, "stale_play_id")
    body = r.json()
    assert (
        body["state"]["venue"]["now_playing"]["play_id"]
        == staff.state()["venue"]["now_playing"]["play_id"]
    )
