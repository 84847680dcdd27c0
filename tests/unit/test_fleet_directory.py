"""The fleet's venue directory, alerts and change feed: plain bytes in, cards out."""

from __future__ import annotations

import json
from typing import Any

import pytest

from appliance.cloud.fleet import ChangeFeed
from appliance.cloud.fleet_alerts import alerts_for, switch_notices
from appliance.cloud.fleet_directory import (
    FleetDirectory,
    Outcome,
    VenueCard,
    card_view,
    split_topic,
)

BASE = "djamms/v1/venues/v1"


def env(kind: str, rev: int, payload: dict[str, Any]) -> bytes:
    return json.dumps({"type": kind, "rev": rev, "payload": payload}).encode()


def now_playing(rev: int, title: str = "Song", **extra: Any) -> bytes:
    track = {"title": title, "artist": "Band", "video_id": "x1", "play_id": "p1", "likers": []}
    body = {"now_playing": track, "transport": "playing", "player_connected": True,
            "server_time": "2026-12-04T07:00:00.000Z", **extra}  # fmt: skip
    return env("NOW_PLAYING_UPDATE", rev, body)


def settings(rev: int, volume: int, name: str = "The Anchor", **extra: Any) -> bytes:
    body = {"venue_name": name, "player_settings": {"master_volume": volume}, **extra}
    return env("PLAYER_SETTINGS_UPDATE", rev, body)


@pytest.mark.parametrize(
    ("topic", "expected"),
    [
        (f"{BASE}/status", ("v1", "status")),
        (f"{BASE}/state/now_playing", ("v1", "state/now_playing")),
        (f"{BASE}/events", ("v1", "events")),
        (f"{BASE}/state/queue", None),
        (f"{BASE}/cmd", None),
        ("djamms/v1/venues//status", None),
        ("other/v1/status", None),
    ],
)
def test_split_topic(topic: str, expected: tuple[str, str] | None) -> None:
    assert split_topic(topic) == expected


def test_a_venue_card_is_built_from_its_retained_pieces() -> None:
    d = FleetDirectory()
    assert d.apply(f"{BASE}/status", b"online", 100.0, retained=True) is Outcome.CHANGED
    assert d.apply(f"{BASE}/state/settings", settings(3, 40, venue_id="v1"), 101.0, True) is (
        Outcome.CHANGED
    )
    assert d.apply(f"{BASE}/state/now_playing", now_playing(3), 102.0, True) is Outcome.CHANGED
    view = card_view(d.get("v1") or VenueCard("v1"))
    assert view["venue_name"] == "The Anchor" and view["master_volume"] == 40
    assert view["online"] is True and view["alerts"] == []
    assert view["now_playing"]["title"] == "Song"
    assert "likers" not in view["now_playing"]
    # retained: heard when the piece says, not when it reached us
    assert view["last_seen"] == "2026-12-04T07:00:00.000Z"


def test_live_messages_set_last_seen_and_older_revs_lose() -> None:
    d = FleetDirectory()
    d.apply(f"{BASE}/state/settings", settings(5, 40), 100.0)
    assert d.apply(f"{BASE}/state/settings", settings(4, 10), 200.0) is Outcome.SEEN
    card = d.get("v1")
    assert card is not None and card.master_volume == 40 and card.last_seen == 200.0
    # an event is the same news, sooner
    assert d.apply(f"{BASE}/events", settings(20_000, 55), 300.0) is Outcome.CHANGED
    assert (d.get("v1") or VenueCard("v1")).master_volume == 55
    # a far older rev is a new box, not lag
    assert d.apply(f"{BASE}/state/settings", settings(1, 12), 400.0) is Outcome.CHANGED
    assert (d.get("v1") or VenueCard("v1")).master_volume == 12


def test_the_last_will_makes_a_venue_offline_since_then() -> None:
    d = FleetDirectory()
    d.apply(f"{BASE}/status", b"online", 100.0)
    d.apply(f"{BASE}/state/now_playing", now_playing(2, transport="emergency"), 110.0)
    assert alerts_for(d.get("v1") or VenueCard("v1")) == ["emergency_stop"]
    assert d.apply(f"{BASE}/status", b"offline", 150.0) is Outcome.CHANGED
    view = card_view(d.get("v1") or VenueCard("v1"))
    assert view["online"] is False and view["alerts"] == ["offline"]
    assert view["since"] == view["last_seen"] == "1970-01-01T00:02:30.000Z"
    assert d.apply(f"{BASE}/status", b"", 160.0) is Outcome.IGNORED  # a cleared topic


def test_a_retained_offline_venue_is_offline_since_it_was_last_heard() -> None:
    d = FleetDirectory()
    d.apply(f"{BASE}/status", b"offline", 500.0, retained=True)
    d.apply(f"{BASE}/state/now_playing", now_playing(2), 500.0, retained=True)
    view = card_view(d.get("v1") or VenueCard("v1"))
    assert view["since"] == view["last_seen"] == "2026-12-04T07:00:00.000Z"


def test_a_message_naming_another_venue_is_not_trusted() -> None:
    d = FleetDirectory()
    d.apply(f"{BASE}/state/settings", settings(3, 40, venue_id="v1"), 100.0)
    forged = settings(99, 100, name="Hijacked", venue_id="v2")
    assert d.apply(f"{BASE}/state/settings", forged, 101.0, retained=True) is Outcome.SPOOFED
    card = d.get("v1")
    assert card is not None and card.venue_name == "The Anchor" and card.master_volume == 40
    assert card.last_seen == 100.0
    forged_top = json.dumps({"venueId": "v2", "type": "SYSTEM_STATUS", "rev": 1,
                             "payload": {"status": "storage_failed"}}).encode()  # fmt: skip
    assert d.apply(f"{BASE}/events", forged_top, 102.0) is Outcome.SPOOFED
    assert alerts_for(d.get("v1") or VenueCard("v1")) == []


@pytest.mark.parametrize("payload", [b"", b"not json", b"[1]", b'{"rev": 1}', b'{"payload": {}}'])
def test_malformed_pieces_are_ignored(payload: bytes) -> None:
    d = FleetDirectory()
    assert d.apply(f"{BASE}/state/now_playing", payload, 1.0) is Outcome.IGNORED
    assert len(d) == 0


def test_notices_raise_and_clear_alerts() -> None:
    d = FleetDirectory()
    d.apply(f"{BASE}/status", b"online", 1.0)
    events = f"{BASE}/events"
    d.apply(events, env("SYSTEM_STATUS", 2, {"status": "storage_failed"}), 2.0)
    d.apply(events, env("SYSTEM_STATUS", 3, {"status": "ytdlp_update_failed"}), 3.0)
    d.apply(f"{BASE}/state/now_playing", now_playing(4, player_connected=False), 4.0)
    assert alerts_for(d.get("v1") or VenueCard("v1")) == [
        "player_disconnected",
        "storage_failed",
        "ytdlp_failing",
    ]
    d.apply(events, env("SYSTEM_STATUS", 5, {"status": "storage_ok"}), 5.0)
    d.apply(events, env("SYSTEM_STATUS", 6, {"status": "ytdlp_update_applied"}), 6.0)
    assert d.apply(events, env("LOG_ENTRY", 7, {"entry": {}}), 7.0) is Outcome.SEEN
    assert alerts_for(d.get("v1") or VenueCard("v1")) == ["player_disconnected"]


def test_switch_notices_leaves_unrelated_statuses_alone() -> None:
    held = frozenset({"storage_failed"})
    assert switch_notices(held, "cloud_link_up") == held
    assert switch_notices(held, "ytdlp_rolled_back") == {"storage_failed", "ytdlp_failing"}


def test_cards_are_listed_by_name() -> None:
    d = FleetDirectory()
    d.apply("djamms/v1/venues/b/state/settings", settings(1, 1, name="Zebra"), 1.0)
    d.apply("djamms/v1/venues/a/state/settings", settings(1, 1, name="Alpha"), 1.0)
    d.apply("djamms/v1/venues/c/status", b"online", 1.0)
    assert [c.venue_id for c in d.cards()] == ["a", "c", "b"]
    assert card_view(d.get("c") or VenueCard("c"))["venue_name"] == "c"


def test_a_change_feed_holds_each_venue_once_and_ends_when_closed() -> None:
    closed: list[ChangeFeed] = []
    feed = ChangeFeed(closed.append)
    for venue_id in ("a", "b", "a", "a"):
        feed.offer(venue_id)
    assert feed.get(0) == {"a", "b"}
    assert feed.get(0) == set()
    feed.close()
    assert feed.closed and closed == [feed]
    assert feed.get(60) == set()  # at once: a closed feed never waits


def test_a_card_keeps_the_venues_playlists_from_its_settings() -> None:
    d = FleetDirectory()
    lists = [{"playlist_id": "pl1", "name": "Morning"}, {"playlist_id": "pl2", "name": "Eve"},
             {"name": "no id"}, "junk"]  # fmt: skip
    assert d.apply(f"{BASE}/state/settings", settings(1, 40, playlists=lists), 1.0) is (
        Outcome.CHANGED
    )
    card = d.get("v1")
    assert card is not None and card.playlists == (("pl1", "Morning"), ("pl2", "Eve"))
    assert card_view(card)["playlists"] == ["Eve", "Morning"]
    d.apply(f"{BASE}/state/settings", settings(2, 41), 2.0)  # no list: the old one holds
    card = d.get("v1")
    assert card is not None and card.playlists == (("pl1", "Morning"), ("pl2", "Eve"))
