"""Patron request rules: every rejection has its own code; staff bypass the caps."""

from __future__ import annotations

import pytest

from appliance.core import messages as m
from tests.unit.engine_kit import ADMIN, MOD, Driver, patron, playing_venue, track, vids


def _full_priority_queue(d: Driver, n: int) -> None:
    for i in range(n):
        d.request(track(100 + i), patron(50 + i))


def test_a_patron_request_lands_in_the_priority_queue_with_a_wait_estimate() -> None:
    d = playing_venue(3)
    d.request(track(10, duration=100), patron(1))
    out = d.request(track(11), patron(2))
    assert out.reply["queue"] == "priority" and out.reply["position"] == 2
    assert out.reply["eta_minutes"] == round((200 - 0 + 100) / 60)
    item = d.venue.priority_queue[-1]
    assert item.added_by_user_id == "guest2" and item.priority == 1


@pytest.mark.parametrize(
    ("arrange", "asked", "code", "status"),
    [
        # duplicate of what is playing
        (lambda d: None, lambda: track(0), "now_playing", 409),
        # duplicate of a queued request
        (lambda d: d.request(track(10), patron(9)), lambda: track(10), "already_queued", 409),
        # per-requester cap (default 2)
        (
            lambda d: [d.request(track(10), patron(1)), d.request(track(11), patron(1))],
            lambda: track(12),
            "too_many_requests",
            429,
        ),
        # priority queue cap (default 10)
        (lambda d: _full_priority_queue(d, 10), lambda: track(12), "queue_full", 429),
        # same-video cooldown (default 60 min): v0 just finished playing
        (lambda d: d.end(), lambda: track(0), "recently_played", 409),
        # maximum duration (default 10 min)
        (lambda d: None, lambda: track(12, duration=601), "too_long", 400),
        # blocklists
        (
            lambda d: d.setting("request_rules", {"blocked_video_ids": ["v12"]}),
            lambda: track(12),
            "blocked",
            403,
        ),
        (
            lambda d: d.setting("request_rules", {"blocked_artists": ["Nickelback"]}),
            lambda: track(12, artist="nickelback"),
            "blocked",
            403,
        ),
        # event mode: requests closed
        (
            lambda d: d.setting("request_rules", {"requests_open": False}),
            lambda: track(12),
            "requests_closed",
            403,
        ),
    ],
    ids=[
        "now_playing",
        "already_queued",
        "per_requester_cap",
        "priority_cap",
        "cooldown",
        "max_duration",
        "blocked_video",
        "blocked_artist",
        "requests_closed",
    ],
)
def test_patron_request_rejections(arrange, asked, code: str, status: int) -> None:  # type: ignore[no-untyped-def]
    d = playing_venue(3)
    arrange(d)
    err = d.reject(m.AddToQueue(track=asked(), actor=patron(1)), code, status)
    assert err.message and "{" not in err.message  # words a patron understands


def test_the_per_requester_cap_frees_up_when_a_request_has_played() -> None:
    d = playing_venue(3)
    d.request(track(10), patron(1))
    d.request(track(11), patron(1))
    d.end()  # v10 plays
    d.request(track(12), patron(1))
    assert vids(d.venue.priority_queue) == ["v11", "v12"]


def test_cooldown_expires_after_the_configured_minutes() -> None:
    d = playing_venue(3)
    d.end()  # v0 finished at d.now
    d.now += 60 * 60 + 1
    d.request(track(0), patron(1))
    assert vids(d.venue.priority_queue) == ["v0"]


def test_caps_are_configurable() -> None:
    d = playing_venue(3)
    d.setting("request_rules", {"max_pending_per_user": 1, "max_duration_seconds": 120})
    d.reject(m.AddToQueue(track=track(12, duration=121), actor=patron(1)), "too_long")
    d.request(track(12, duration=119), patron(1))
    d.reject(m.AddToQueue(track=track(13), actor=patron(1)), "too_many_requests", 429)


@pytest.mark.parametrize("staff", [ADMIN, MOD])
def test_staff_bypass_the_caps(staff: m.Actor) -> None:
    d = playing_venue(3)
    _full_priority_queue(d, 10)
    for i in range(4):  # over the per-requester and priority caps, long, recently played
        d.do(m.AddToQueue(track=track(200 + i, duration=900), position="next", actor=staff))
    d.end()
    d.do(m.AddToQueue(track=track(0), position="next", actor=staff))
    assert len(d.venue.priority_queue) == 10 + 4 - 1 + 1


def test_rejected_request_changes_nothing_and_is_not_logged() -> None:
    d = playing_venue(3)
    log_len = len(d.state.activity_log)
    d.reject(m.AddToQueue(track=track(0), actor=patron(1)), "now_playing")
    assert len(d.state.activity_log) == log_len


def test_an_accepted_request_is_logged_as_a_request() -> None:
    d = playing_venue(3)
    d.request(track(10), patron(4))
    entry = d.state.activity_log[-1]
    assert entry.event_type == "track_added"
    assert entry.event_data["request"] is True and entry.user_id == "guest4"
    assert entry.ip_address == "10.0.1.4" and entry.session_id == "sess-g4"
