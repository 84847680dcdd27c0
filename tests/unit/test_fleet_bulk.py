from appliance.cloud.fleet_bulk import load_body, playlist_id, schedule_body

PLAYLISTS = [("pl1", "Morning"), ("pl2", "friday night"), ("pl3", "Friday Night")]


def test_a_playlist_is_found_by_name_exact_first_then_any_case() -> None:
    assert playlist_id(PLAYLISTS, "Friday Night") == "pl3"
    assert playlist_id(PLAYLISTS, "MORNING") == "pl1"
    assert playlist_id(PLAYLISTS, "Evening") is None
    assert load_body(PLAYLISTS, "Evening") == "no_such_playlist"
    assert load_body(PLAYLISTS, "morning") == {
        "path": "/api/playlist/manage",
        "body": {"action": "load", "playlistId": "pl1"},
    }


def test_a_schedule_gets_each_venues_own_playlist_ids() -> None:
    rule = {"id": "r", "action": "playlist", "playlistName": "Morning", "days": ["mon"]}
    given = {"timezone": "UTC", "rules": [rule, {"id": "v", "action": "volume"}], "events": []}
    body = schedule_body(PLAYLISTS, given)
    assert isinstance(body, dict) and body["path"] == "/api/schedule/update"
    rules = body["body"]["scheduleData"]["rules"]
    assert rules[0] == {"id": "r", "action": "playlist", "days": ["mon"], "playlistId": "pl1"}
    assert rules[1] == {"id": "v", "action": "volume"}
    assert "playlistName" in given["rules"][0]  # the caller's schedule is not changed
    assert schedule_body(PLAYLISTS, {"events": [{"playlistName": "Gone"}]}) == "no_such_playlist"
    assert schedule_body(PLAYLISTS, {"rules": [{"playlistName": 3}]}) == "no_such_playlist"
