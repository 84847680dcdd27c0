"""Shuffle: seeded, the same order everywhere, the current track never moves,
toggling off restores the playlist order."""

from __future__ import annotations

from appliance.core import messages as m
from appliance.core.queue import shuffled
from tests.unit.engine_kit import ADMIN, Driver, now_vid, playing_venue, track, vids


def _shuffled_venue(n: int = 30) -> Driver:
    d = playing_venue(n)
    d.ui("SHUFFLE_TOGGLE")
    return d


def test_shuffle_permutes_the_active_queue_from_the_stored_seed() -> None:
    d = playing_venue(30)
    before = d.venue.active_queue
    out = d.ui("SHUFFLE_TOGGLE")
    settings = d.venue.player_settings
    assert settings.shuffle_enabled is True
    assert d.venue.active_queue != before
    assert sorted(i.id for i in d.venue.active_queue) == sorted(i.id for i in before)
    assert d.venue.active_queue == shuffled(before, settings.shuffle_seed)
    assert {"QUEUE_UPDATE", "PLAYER_SETTINGS_UPDATE"} <= {e.type for e in out.events}


def test_same_seed_same_order_in_every_replay() -> None:
    a, b = playing_venue(30), playing_venue(30)
    a.ui("SHUFFLE_TOGGLE")
    b.ui("SHUFFLE_TOGGLE")
    assert a.venue.player_settings.shuffle_seed == b.venue.player_settings.shuffle_seed
    assert vids(a.venue.active_queue) == vids(b.venue.active_queue)


def test_shuffle_never_moves_the_current_track() -> None:
    d = playing_venue(30)
    np = d.venue.now_playing
    d.ui("SHUFFLE_TOGGLE")
    assert d.venue.now_playing == np
    assert np is not None and np.queue_item_id not in {i.id for i in d.venue.active_queue}
    d.ui("SHUFFLE_TOGGLE")
    assert d.venue.now_playing == np


def test_toggle_off_restores_playlist_order() -> None:
    d = _shuffled_venue(30)
    d.ui("SHUFFLE_TOGGLE")
    assert vids(d.venue.active_queue) == [f"v{i}" for i in range(1, 30)]
    assert d.venue.player_settings.shuffle_enabled is False


def test_toggle_off_after_plays_and_adds_keeps_playlist_order_then_later_arrivals() -> None:
    d = _shuffled_venue(10)  # v0 playing, v1..v9 shuffled
    first = now_vid(d)
    d.end()
    second = now_vid(d)
    d.end()  # v0 and the first shuffled pick were played and recycled (repeat all)
    playing = now_vid(d)
    d.do(m.AddToQueue(track=track(99), actor=ADMIN))
    d.ui("SHUFFLE_TOGGLE")
    untouched = [f"v{i}" for i in range(1, 10) if f"v{i}" not in (second, playing)]
    assert vids(d.venue.active_queue) == [*untouched, first, second, "v99"]


def test_load_while_shuffled_shuffles_the_new_playlist_with_the_same_seed() -> None:
    d = _shuffled_venue(5)
    pid = d.playlist(list(range(100, 130)))
    d.load(pid)
    seed = d.venue.player_settings.shuffle_seed
    # the loaded items, in playlist order, shuffled with the stored seed
    assert d.venue.base_order and len(d.venue.base_order) == 30
    by_id = {i.id: i for i in d.venue.active_queue}
    base = tuple(by_id[i] for i in d.venue.base_order)
    assert d.venue.active_queue == shuffled(base, seed)


def test_shuffle_via_settings_update_matches_the_toggle() -> None:
    d = playing_venue(20)
    d.setting("shuffle_enabled", True)
    assert d.venue.player_settings.shuffle_enabled
    same = d.setting("shuffle_enabled", True)
    assert "QUEUE_UPDATE" not in {e.type for e in same.events}
    d.setting("shuffle_enabled", False)
    assert vids(d.venue.active_queue) == [f"v{i}" for i in range(1, 20)]


def test_shuffle_keeps_playing_the_same_track_through_toggles() -> None:
    d = Driver().setup()
    d.load(d.playlist(list(range(8))))
    current = now_vid(d)
    for _ in range(4):
        d.ui("SHUFFLE_TOGGLE")
    assert now_vid(d) == current
