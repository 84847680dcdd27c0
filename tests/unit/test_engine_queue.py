"""Queue operations: add end/next, remove by id, move, load (never touches requests),
clear active (never touches requests)."""

from __future__ import annotations

import pytest

from appliance.core import messages as m
from tests.unit.engine_kit import ADMIN, MOD, Driver, now_vid, patron, playing_venue, track, vids


def test_each_queue_item_has_its_own_id_even_for_the_same_video() -> None:
    d = playing_venue(2)
    a = d.do(m.AddToQueue(track=track(7), actor=ADMIN)).reply["item"]
    b = d.do(m.AddToQueue(track=track(7), actor=ADMIN)).reply["item"]
    assert a.id != b.id
    assert vids(d.venue.active_queue).count("v7") == 2


def test_remove_by_item_id_removes_exactly_that_item() -> None:
    d = playing_venue(2)
    d.do(m.AddToQueue(track=track(7), actor=ADMIN))
    second = d.do(m.AddToQueue(track=track(7), actor=ADMIN)).reply["item"]
    out = d.do(m.RemoveFromQueue(queue_item_id=second.id, actor=ADMIN))
    assert second.id not in {i.id for i in d.venue.active_queue}
    assert vids(d.venue.active_queue).count("v7") == 1
    assert out.reply["queue"] == "active"
    assert d.state.activity_log[-1].event_type == "track_removed"


def test_remove_by_video_id_is_the_seeds_body() -> None:
    d = playing_venue(3)
    d.do(m.RemoveFromQueue(video_id="v2", actor=ADMIN))
    assert vids(d.venue.active_queue) == ["v1"]


def test_remove_unknown_item_is_404() -> None:
    d = playing_venue(2)
    d.reject(m.RemoveFromQueue(queue_item_id="q999", actor=ADMIN), "not_found", 404)


def test_patron_may_remove_only_own_request() -> None:
    d = playing_venue(2)
    mine = d.request(track(10), patron(1)).reply["item"]
    d.reject(m.RemoveFromQueue(queue_item_id=mine.id, actor=patron(2)), "forbidden", 403)
    rotation = d.venue.active_queue[0]
    d.reject(m.RemoveFromQueue(queue_item_id=rotation.id, actor=patron(1)), "forbidden", 403)
    d.do(m.RemoveFromQueue(queue_item_id=mine.id, actor=patron(1)))
    assert d.venue.priority_queue == ()


def test_removing_a_request_is_an_explicit_logged_action() -> None:
    d = playing_venue(2)
    item = d.request(track(10), patron(1)).reply["item"]
    d.do(m.RemoveFromQueue(queue_item_id=item.id, actor=MOD))
    entry = d.state.activity_log[-1]
    assert entry.event_data["request"] is True and entry.user_id == "mod1"


@pytest.mark.parametrize(
    ("to_index", "expected"),
    [(0, ["v3", "v1", "v2", "v4"]), (2, ["v1", "v2", "v3", "v4"]), (99, ["v1", "v2", "v4", "v3"])],
)
def test_move_to_index(to_index: int, expected: list[str]) -> None:
    d = playing_venue(5)
    item = d.venue.active_queue[2]  # v3
    d.do(m.MoveQueueItem(queue_item_id=item.id, to_index=to_index, actor=ADMIN))
    assert vids(d.venue.active_queue) == expected


def test_move_within_the_priority_queue() -> None:
    d = playing_venue(2)
    d.request(track(10), patron(1))
    late = d.request(track(11), patron(2)).reply["item"]
    out = d.do(m.MoveQueueItem(queue_item_id=late.id, to_index=0, actor=MOD))
    assert out.reply["queue"] == "priority"
    assert vids(d.venue.priority_queue) == ["v11", "v10"]


@pytest.mark.parametrize(
    ("msg", "code", "status"),
    [
        (m.MoveQueueItem(queue_item_id="q999", to_index=0, actor=ADMIN), "not_found", 404),
        (m.MoveQueueItem(queue_item_id="q4", to_index=-1, actor=ADMIN), "invalid_value", 400),
        (m.MoveQueueItem(queue_item_id="q4", to_index=0, actor=patron(1)), "forbidden", 403),
        (m.AddToQueue(track=m.TrackInfo(""), actor=ADMIN), "invalid_video_id", 400),
        (m.AddToQueue(track=track(1), position="top", actor=ADMIN), "invalid_position", 400),
        (m.AddToQueue(track=m.TrackInfo("x", duration=-1), actor=ADMIN), "invalid_value", 400),
        (m.ClearQueue(actor=patron(1)), "forbidden", 403),
    ],
)
def test_bad_queue_commands_are_refused(msg: m.Message, code: str, status: int) -> None:
    d = playing_venue(3)
    d.reject(msg, code, status)


def test_load_replaces_the_active_queue_and_never_touches_requests() -> None:
    d = playing_venue(3)
    d.request(track(10), patron(1))
    d.request(track(11), patron(2))
    requests = d.venue.priority_queue
    current = d.venue.now_playing
    d.load(d.playlist([50, 51, 52]))
    assert vids(d.venue.active_queue) == ["v50", "v51", "v52"]
    assert d.venue.priority_queue == requests
    assert d.venue.now_playing == current  # loading does not cut the song playing


def test_load_on_an_idle_box_starts_playing() -> None:
    d = Driver().setup()
    d.load(d.playlist([1, 2]))
    assert now_vid(d) == "v1" and vids(d.venue.active_queue) == ["v2"]


def test_clear_empties_the_active_queue_only() -> None:
    d = playing_venue(5)
    d.request(track(10), patron(1))
    requests = d.venue.priority_queue
    out = d.do(m.ClearQueue(actor=MOD))
    assert d.venue.active_queue == ()
    assert d.venue.priority_queue == requests
    assert out.reply == {"cleared": 4}
    assert "QUEUE_UPDATE" in {e.type for e in out.events}


def test_two_loads_in_a_row_leave_exactly_the_second() -> None:
    d = playing_venue(2)
    a, b = d.playlist([1, 2, 3]), d.playlist([7, 8])
    d.load(a)
    d.load(b)
    assert vids(d.venue.active_queue) == ["v7", "v8"]


@pytest.mark.parametrize("hint", [-1, 0, 1, 2, 99, "x"])
def test_index_hints_never_change_the_outcome(hint: object) -> None:
    d = playing_venue(5)
    target = d.venue.active_queue[2]
    d.do(m.RemoveFromQueue(queue_item_id=target.id, index_hint=hint, actor=ADMIN))  # type: ignore[arg-type]
    assert vids(d.venue.active_queue) == ["v1", "v2", "v4"]
    mover = d.venue.active_queue[2]
    d.do(m.MoveQueueItem(queue_item_id=mover.id, to_index=0, index_hint=hint, actor=ADMIN))  # type: ignore[arg-type]
    assert vids(d.venue.active_queue) == ["v4", "v1", "v2"]
