"""The next shuffle drawn ahead: the same queue as a fresh draw, whatever the queue did
since; the seed it uses kept in the state (and through a snapshot)."""

from __future__ import annotations

import random
from itertools import repeat
from operator import mod

import pytest

from appliance.core import messages as m
from appliance.core import permutation
from appliance.core.codec import from_data, from_json, to_data, to_json
from appliance.core.item_ids import ids_of, known
from appliance.core.model import State
from appliance.core.queue import ahead_pending, draw_ahead, next_seed, shuffled
from tests.unit.engine_kit import ADMIN, playing_venue, track


def _fresh(n: int, seed: int) -> list[int]:
    """Today's draw, written out: inside-out Fisher-Yates on 30-bit draws."""
    order = list(range(n))
    draws = map(mod, map(random.Random(seed).getrandbits, repeat(30, n - 1)), range(2, n + 1))
    for i, j in enumerate(draws, 1):
        order[i] = order[j]
        order[j] = i
    return order


@pytest.mark.parametrize("n", [0, 1, 2, 1000, 1500, 1999, 2000, 2001, 2100, 4000, 5000])
def test_a_kept_draw_gives_the_fresh_permutation_for_any_length(n: int) -> None:
    seed = 12345 + n
    permutation.draw_ahead(2000, seed)
    assert permutation.drawn(2000, seed)
    assert permutation.permutation(n, seed) == _fresh(n, seed)
    assert permutation.permutation(n, seed) == _fresh(n, seed)  # the kept list unchanged
    assert permutation.permutation(2000, seed) == _fresh(2000, seed)


def test_undo_covers_steps_that_drew_their_own_position() -> None:
    seed = 99
    permutation.draw_ahead(3000, seed)
    kept = permutation._MEMO[seed]
    selfs = [i for i in range(1, 3000) if kept.draws[i - 1] == i]
    assert selfs, "no j == i step in this draw: pick another seed"
    for i in selfs[-3:]:
        assert permutation.permutation(i, seed) == _fresh(i, seed)
        assert permutation.permutation(i + 1, seed) == _fresh(i + 1, seed)


def test_drawing_ahead_again_is_a_lookup() -> None:
    permutation.draw_ahead(1200, 7)
    kept = permutation._MEMO[7]
    permutation.draw_ahead(1200, 7)
    assert permutation._MEMO[7] is kept


def test_short_queues_and_no_seed_are_not_drawn_ahead() -> None:
    permutation.draw_ahead(permutation.AHEAD_MIN - 1, 8)
    permutation.draw_ahead(5000, 0)
    assert not permutation.drawn(permutation.AHEAD_MIN - 1, 8)
    assert not permutation.drawn(5000, 0)


def _toggle_twice(draw: bool) -> tuple[object, object]:
    d = playing_venue(1300)
    d.ui("SHUFFLE_TOGGLE")
    d.ui("SHUFFLE_TOGGLE")  # off: the next seed is chosen
    settings = d.venue.player_settings
    assert not settings.shuffle_enabled and settings.shuffle_seed
    if draw:
        draw_ahead(d.venue)
        assert permutation.drawn(len(d.venue.active_queue), settings.shuffle_seed)
    before = d.venue.active_queue
    d.ui("SHUFFLE_TOGGLE")
    assert d.venue.player_settings.shuffle_seed == settings.shuffle_seed
    assert d.venue.active_queue == shuffled(before, settings.shuffle_seed)
    return d.venue.active_queue, d.venue.base_order


def test_toggle_on_after_draw_ahead_gives_the_same_queue_as_without() -> None:
    permutation._MEMO.clear()
    cold = _toggle_twice(draw=False)
    assert _toggle_twice(draw=True) == cold


def test_a_queue_changed_after_the_draw_still_gets_the_fresh_order() -> None:
    d = playing_venue(1300)
    d.ui("SHUFFLE_TOGGLE")
    d.ui("SHUFFLE_TOGGLE")
    draw_ahead(d.venue)
    d.end()  # one track played: the queue moved on (same length under repeat all)
    d.end()
    before = d.venue.active_queue
    d.ui("SHUFFLE_TOGGLE")
    seed = d.venue.player_settings.shuffle_seed
    assert [i.id for i in d.venue.active_queue] == [before[k].id for k in _fresh(len(before), seed)]


def test_the_next_seed_survives_a_snapshot_and_an_old_snapshot_without_one_loads() -> None:
    d = playing_venue(20)
    d.ui("SHUFFLE_TOGGLE")
    d.ui("SHUFFLE_TOGGLE")
    seed = d.venue.player_settings.shuffle_seed
    back = from_json(State, to_json(d.state))
    assert back.venue.player_settings.shuffle_seed == seed
    assert back == d.state
    # an old snapshot, from before the next seed was kept: off, seed 0, draws one at toggle
    old = to_data(d.state)
    old["venue"]["player_settings"].pop("shuffle_seed")
    loaded = from_data(State, old)
    assert loaded.venue.player_settings.shuffle_seed == 0
    d.state = loaded
    d.ui("SHUFFLE_TOGGLE")
    assert d.venue.player_settings.shuffle_enabled and d.venue.player_settings.shuffle_seed


def test_replaying_the_same_commands_chooses_the_same_next_seed() -> None:
    a, b = playing_venue(30), playing_venue(30)
    for d in (a, b):
        d.ui("SHUFFLE_TOGGLE")
        d.end()
        d.ui("SHUFFLE_TOGGLE")
    assert a.venue.player_settings == b.venue.player_settings
    a.ui("SHUFFLE_TOGGLE")
    b.ui("SHUFFLE_TOGGLE")
    assert a.venue.active_queue == b.venue.active_queue


def test_toggle_off_right_after_toggle_on_restores_by_rank_with_no_gaps() -> None:
    d = playing_venue(1300)
    before = d.venue.active_queue
    d.ui("SHUFFLE_TOGGLE")
    r = known(d.venue.active_queue)
    assert r is not None and r[1] is not None and len(r[1].ranks) == r[1].next  # no gaps
    d.ui("SHUFFLE_TOGGLE")
    assert d.venue.active_queue == before
    assert ids_of(d.venue.active_queue) == tuple(i.id for i in before)


def test_a_venue_drawn_ahead_after_every_step_ends_as_one_never_drawn_ahead() -> None:
    """Twins fed the same messages, one doing the runtime's idle work after each: the
    same queues, ids and ranks all along (toggles, plays, adds, removes, moves)."""
    warm, cold = playing_venue(1100), playing_venue(1100)
    rng = random.Random(5)
    for d in (warm, cold):
        d.end()  # a history, for PLAY_PREVIOUS
    for k in range(40):
        active = warm.venue.active_queue
        pick, to = rng.randrange(len(active)), rng.randrange(900)
        msg: m.Message = [
            m.UiCommand(command="SHUFFLE_TOGGLE", actor=ADMIN),
            m.RemoveFromQueue(queue_item_id=active[pick].id, actor=ADMIN),
            m.MoveQueueItem(queue_item_id=active[pick].id, to_index=to, actor=ADMIN),
            m.AddToQueue(track=track(f"x{k}"), actor=ADMIN),
            m.UiCommand(command="PLAY_PREVIOUS", actor=ADMIN),
        ][k % 5 if k % 3 else 0]
        for d in (warm, cold):
            d.do(msg)
        if k % 7 == 6:
            warm.end()
            cold.end()
        draw_ahead(warm.venue)
        assert warm.venue.active_queue == cold.venue.active_queue
        assert warm.venue.base_order == cold.venue.base_order
        assert ids_of(warm.venue.active_queue) == ids_of(cold.venue.active_queue)
        assert ids_of(warm.venue.active_queue) == tuple(i.id for i in warm.venue.active_queue)


def test_a_venue_never_shuffled_has_its_first_shuffle_drawn_ahead_too() -> None:
    d = playing_venue(1300)
    assert d.venue.player_settings.shuffle_seed == 0
    seed = next_seed(d.venue)
    assert seed and seed == next_seed(d.venue)  # from the venue, known before the toggle
    assert ahead_pending(d.venue)
    draw_ahead(d.venue)
    assert not ahead_pending(d.venue)  # the runtime has nothing to wake for now
    assert permutation.drawn(len(d.venue.active_queue), seed)
    before = d.venue.active_queue
    d.ui("SHUFFLE_TOGGLE")
    assert d.venue.player_settings.shuffle_seed == seed
    assert [i.id for i in d.venue.active_queue] == [before[k].id for k in _fresh(len(before), seed)]
    assert ahead_pending(d.venue)  # shuffled now: the way back is not worked out yet
    draw_ahead(d.venue)
    assert not ahead_pending(d.venue)


def test_short_queues_wake_nothing() -> None:
    d = playing_venue(permutation.AHEAD_MIN - 10)
    assert not ahead_pending(d.venue)
