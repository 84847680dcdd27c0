"""The mixer's error boundaries on `FakeDeck`s (rig.py): a dead or stalled deck rebuilt at
the track's position, a failed track discarded, the next one preloaded, and both decks dying
at once (a compositor gone) without a lost track."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from appliance.core import messages as m
from appliance.core.model import PlayerSettings, QueueItem
from appliance.core.outputs import ApplySettings, Prefetch
from tests.unit.player.rig import Rig, path


def test_a_dead_deck_is_rebuilt_and_the_track_reloaded_at_its_last_position(
    rigs: Callable[..., Rig],
) -> None:
    rig = rigs()
    rig.play("p1", "a")
    rig.run(10.05)
    old = rig.deck("A")
    last = old.position()
    old.die()
    rig.run(0.1)
    new = rig.deck("A")
    assert new is not old and rig.mixer.rebuilds == 1
    [load] = new.called("load")
    assert load.args[0] == path("a") and load.args[1] == pytest.approx(last, abs=1e-9)
    assert load.args[2] is False  # paused=False: it plays on
    assert new.gain == 1.0 and rig.mixer.live is not None and rig.mixer.live.deck is new
    logs = [msg for _t, msg in rig.sent(m.RecordLog) if msg.event_type == "player_deck_rebuilt"]
    assert [(x.event_data["deck"], x.event_data["reason"]) for x in logs] == [("A", "died")]
    at = new.position()
    rig.run(2.0)
    assert new.position() == pytest.approx(at + 2.0)


def test_a_stalled_deck_is_rebuilt_after_the_stall_timeout(rigs: Callable[..., Rig]) -> None:
    rig = rigs(stall_timeout=2.0)
    rig.play("p1", "a")
    rig.run(5.0)
    old = rig.deck("A")
    old.stall()
    frozen = old.position()
    rig.run(1.9)
    assert rig.mixer.rebuilds == 0 and old.position() == frozen
    rig.run(0.3)
    assert rig.mixer.rebuilds == 1
    new = rig.deck("A")
    assert new is not old and new.called("load")[0].args[1] == pytest.approx(frozen)
    reasons = [msg.event_data["reason"] for _t, msg in rig.sent(m.RecordLog)]
    assert reasons == ["stalled"]
    rig.run(1.0)
    assert new.position() == pytest.approx(frozen + 1.0, abs=0.2) and rig.mixer.rebuilds == 1


def test_an_unplayable_track_is_reported_and_discarded(rigs: Callable[..., Rig]) -> None:
    rig = rigs()
    rig.play("p1", "broken")
    rig.run(0.1)
    errors = [msg for _t, msg in rig.sent(m.PlayerError)]
    assert [(e.play_id, e.error_code) for e in errors] == [("p1", "playback_error")]
    assert rig.library.discarded and rig.library.discarded[0][0] == "broken"
    assert rig.mixer.live is None


def test_the_next_track_is_preloaded_silent_on_the_idle_deck(rigs: Callable[..., Rig]) -> None:
    rig = rigs()
    rig.play("p1", "a")
    rig.send(Prefetch(items=(QueueItem(id="q2", video_id="b"),)))
    b = rig.deck("B")
    assert [c.args[:3] for c in b.called("load")] == [(path("b"), 0.0, True)]
    assert b.paused and b.gain == 0.0
    rig.run_until(lambda: rig.ended("p1"))
    rig.play("p2", "b")
    assert len(b.called("load")) == 1  # the preloaded file is used, not loaded again


def test_both_decks_dying_at_once_are_both_rebuilt_and_the_track_plays_on(
    rigs: Callable[..., Rig],
) -> None:
    # the compositor going away takes both decks' cores; rebuilding one puts the settings
    # on every deck, and the other, still dead, must not abort that rebuild
    rig = rigs(video="auto")
    rig.send(ApplySettings(PlayerSettings(crossfade_time=4, dynamic_compressor_enabled=True)))
    rig.play("p1", "a")
    rig.send(Prefetch(items=(QueueItem(id="q2", video_id="b"),)))
    rig.run(5.0)
    a, b = rig.deck("A"), rig.deck("B")
    a.die()
    b.die()
    rig.run(0.1)
    new_a, new_b = rig.deck("A"), rig.deck("B")
    assert new_a is not a and new_b is not b and rig.mixer.rebuilds == 2
    assert rig.mixer.live is not None and rig.mixer.live.deck is new_a
    [load] = new_a.called("load")
    assert load.args[0] == path("a") and load.args[1] == pytest.approx(5.0, abs=0.2)
    for deck in (new_a, new_b):  # the settings, on both: the filters and the window's
        assert "acompressor" in deck.properties["af"] and "fullscreen" in deck.properties
    at = new_a.position()
    rig.run(2.0)
    assert new_a.position() == pytest.approx(at + 2.0)
