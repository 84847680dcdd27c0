"""The mixer's crossfades, stops and pauses on `FakeDeck`s and a `FakeClock` (rig.py): no
mpv, no sleeps."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import pytest

from appliance.core import messages as m
from appliance.core.outputs import (
    EmergencyStop,
    FadeOutStop,
    Pause,
    Resume,
    Seek,
)
from appliance.player.crossfade import SKIP_FADE, VOLUME_LATENCY
from appliance.player.fake_deck import FakeClock, FakeDeck
from appliance.player.slot import CUT_FADE
from appliance.player.ticks import LEAD
from tests.unit.player.rig import EPS, LENGTHS, Rig, path


def started_at(deck: FakeDeck) -> float:
    plays = deck.called("play")
    assert plays, f"deck {deck.name} never played"
    return plays[0].at


def into_the_crossfade(rig: Rig) -> tuple[FakeDeck, FakeDeck, float]:
    """Track a on deck A, its end reported, track b crossfading in on deck B: (A, B, the
    time A ends)."""
    rig.play("p1", "a")
    a = rig.deck("A")
    a_ends = started_at(a) + LENGTHS["a"]
    rig.run_until(lambda: rig.ended("p1"))
    rig.play("p2", "b")
    b = rig.deck("B")
    rig.run_until(lambda: bool(b.called("play")))
    return a, b, a_ends


# -- the fake itself -------------------------------------------------------------------------


def test_a_fake_deck_moves_only_with_the_clock_and_only_while_playing() -> None:
    clock = FakeClock()
    events: list[tuple[str, dict[str, str]]] = []
    deck = FakeDeck(
        "A", None, lambda _d, kind, data: events.append((kind, data)), clock=clock,
        durations={path("a"): 10.0},
    )  # fmt: skip
    deck.load(path("a"), 2.0, paused=True)
    clock.advance(3.0)
    assert deck.position() == 2.0 and events == [("loaded", {})]
    deck.play()
    clock.advance(3.0)
    assert deck.position() == 5.0 and deck.remaining() == 5.0
    deck.queue_next(path("a"))
    clock.advance(6.0)  # one second into the queued file
    assert [k for k, _ in events] == ["loaded", "end", "switched"]
    assert events[1][1]["reason"] == "eof" and deck.position() == pytest.approx(1.0)
    clock.advance(20.0)  # nothing queued: keep-open, the end is eof
    assert deck.eof and deck.position() == 10.0 and deck.loaded
    deck.load(Path("/media/unknown.mp4"))
    assert events[-1] == ("end", {"reason": "error", "error": "unrecognized file format"})
    assert not deck.loaded


# -- crossfades -----------------------------------------------------------------------------


@pytest.mark.parametrize("latency", [0.0, VOLUME_LATENCY])
def test_the_incoming_deck_starts_crossfade_time_before_the_live_one_ends(
    rigs: Callable[..., Rig], latency: float
) -> None:
    rig = rigs(crossfade=4, volume_latency=latency)
    a, b, a_ends = into_the_crossfade(rig)
    assert a_ends - started_at(b) == pytest.approx(4 + latency, abs=0.011)
    assert b.called("load")[0].at < started_at(b)  # loaded (paused) first, started on time
    started = [msg.play_id for _t, msg in rig.sent(m.TrackStarted)]
    assert started == ["p1", "p2"] and rig.mixer.live is not None
    assert rig.mixer.live.deck is b


def test_a_crossfade_is_equal_power_sin_in_cos_out(rigs: Callable[..., Rig]) -> None:
    rig = rigs(crossfade=4)
    a, b, _ = into_the_crossfade(rig)
    rig.run(2.0)  # the midpoint of both ramps
    assert b.gain == pytest.approx(math.sin(math.pi / 4), abs=1e-6)
    assert a.gain == pytest.approx(math.cos(math.pi / 4), abs=1e-6)
    assert a.gain**2 + b.gain**2 == pytest.approx(1.0, abs=1e-6)
    rig.run(2.05)
    assert b.gain == 1.0 and a.gain == pytest.approx(0.0, abs=1e-9)
    assert a.called("stop") and not a.loaded  # the outgoing deck unloaded after its ramp


@pytest.mark.parametrize("crossfade", [2, 4])
def test_track_ended_is_reported_crossfade_time_plus_lead_before_the_end(
    rigs: Callable[..., Rig], crossfade: int
) -> None:
    rig = rigs(crossfade=crossfade)
    rig.play("p1", "a")
    a_ends = started_at(rig.deck("A")) + LENGTHS["a"]
    reported = rig.run_until(lambda: rig.ended("p1"))
    left = a_ends - reported
    assert crossfade + LEAD - 0.1 - EPS < left <= crossfade + LEAD + EPS
    assert len(rig.sent(m.TrackEnded)) == 1


def test_crossfade_zero_plays_gapless_on_the_same_deck(rigs: Callable[..., Rig]) -> None:
    rig = rigs(crossfade=0)
    rig.play("p1", "a")
    a, b = rig.deck("A"), rig.deck("B")
    a_ends = started_at(a) + LENGTHS["a"]
    reported = rig.run_until(lambda: rig.ended("p1"))
    assert a_ends - reported == pytest.approx(LEAD, abs=0.1)
    rig.play("p2", "b")
    assert [c.args for c in a.called("queue_next")] == [(path("b"),)]
    switched = rig.run_until(lambda: len(rig.sent(m.TrackStarted)) == 2)
    assert 0 <= switched - a_ends < 0.1 + EPS  # started as the last one ended
    assert not b.called("play") and not b.called("load")  # the other deck never took part
    live = rig.mixer.live
    assert live is not None and live.deck is a and live.play_id == "p2"
    assert a.path == path("b") and a.position() == pytest.approx(switched - a_ends)


# crossfade 0: the skip is a cut; `begin(fade=0)` re-fades the outgoing deck over 0 s,
# so it stops at once rather than over CUT_FADE
@pytest.mark.parametrize(("crossfade", "fade"), [(4, SKIP_FADE), (10, SKIP_FADE), (0, 0.0)])
def test_a_skip_crossfades_over_at_most_skip_fade(
    rigs: Callable[..., Rig], crossfade: int, fade: float
) -> None:
    rig = rigs(crossfade=crossfade)
    rig.play("p1", "a")
    rig.run(5.0)
    a, b = rig.deck("A"), rig.deck("B")
    skipped = rig.now
    rig.play("p2", "b", transition="skip")
    assert started_at(b) == skipped  # the incoming track starts at once
    rig.run(fade + 0.5)
    stopped = a.called("stop")[0].at
    assert fade - EPS <= stopped - skipped <= fade + 0.01 + EPS < CUT_FADE + SKIP_FADE
    out = [g for t, g in a.levels if t >= skipped]
    assert out[-1] == pytest.approx(0.0, abs=1e-9)
    assert all(x > y for x, y in zip(out, out[1:], strict=False))
    assert b.gain == 1.0 and rig.mixer.live is not None and rig.mixer.live.deck is b


# -- stops ----------------------------------------------------------------------------------


def test_fade_out_stop_ramps_to_silence_strictly_decreasing_then_unloads(
    rigs: Callable[..., Rig],
) -> None:
    rig = rigs()
    rig.play("p1", "a")
    rig.run(5.0)
    a = rig.deck("A")
    asked = rig.now
    rig.send(FadeOutStop(seconds=3))
    assert rig.sent(m.PlayerStatus)[-1][1].state == "stopped"
    rig.run(3.5)
    ramp = [(t, g) for t, g in a.levels if t >= asked]
    gains = [g for _t, g in ramp]
    assert len(gains) > 100 and gains[-1] == pytest.approx(0.0, abs=1e-9)
    assert all(x > y for x, y in zip(gains, gains[1:], strict=False))
    for t, g in ramp:  # a cos curve over the three seconds
        assert g == pytest.approx(math.cos(min(1.0, (t - asked) / 3) * math.pi / 2), abs=1e-6)
    stop = a.called("stop")[0]
    assert stop.at >= asked + 3 - EPS and stop.at == ramp[-1][0]
    assert not a.loaded and rig.mixer.live is None and rig.mixer.transport == "stopped"
    assert not rig.sent(m.TrackEnded)


def test_emergency_stop_pauses_both_decks_at_once(rigs: Callable[..., Rig]) -> None:
    rig = rigs(crossfade=4)
    a, b, _ = into_the_crossfade(rig)
    rig.run(1.0)  # both decks playing, mid-crossfade
    assert not a.paused and not b.paused
    halted, mark = rig.now, rig.clock.order()
    rig.send(EmergencyStop())
    after = sorted((c for d in (a, b) for c in d.calls if c.order > mark), key=lambda c: c.order)
    assert [c.name for c in after[:2]] == ["pause", "pause"]  # both, before anything else
    assert {c.at for c in after} == {halted}
    assert a.paused and b.paused and not a.loaded and not b.loaded
    positions = a.position(), b.position()
    rig.run(5.0)
    assert (a.position(), b.position()) == positions
    assert not [c for c in after if c.name in ("play", "set_level")]
    assert not [c for d in (a, b) for c in d.calls if c.name == "play" and c.order > mark]
    assert rig.mixer.transport == "emergency" and rig.mixer.live is None
    stopped = [msg for t, msg in rig.sent(m.PlayerStatus) if t == halted]
    assert [(s.play_id, s.state) for s in stopped] == [("p2", "stopped")]


def test_pause_holds_the_position_and_resume_plays_on(rigs: Callable[..., Rig]) -> None:
    rig = rigs()
    rig.play("p1", "a")
    a = rig.deck("A")
    rig.run(5.0)
    rig.send(Pause())
    held = a.position()
    assert a.paused and rig.sent(m.PlayerStatus)[-1][1].state == "paused"
    rig.run(3.0)
    assert a.position() == held and not rig.ended("p1")
    rig.send(Resume())
    assert not a.paused and rig.sent(m.PlayerStatus)[-1][1].state == "playing"
    rig.run(2.0)
    assert a.position() == pytest.approx(held + 2.0)


def test_seek_moves_the_live_deck_and_rearms_the_end(rigs: Callable[..., Rig]) -> None:
    rig = rigs(crossfade=4)
    rig.play("p1", "a")
    a = rig.deck("A")
    rig.run_until(lambda: rig.ended("p1"))
    rig.send(Seek(position=10.0))
    assert [c.args for c in a.called("seek")] == [(10.0,)]
    rig.run(1.0)
    assert a.position() == pytest.approx(11.0)
    seeked = rig.now
    again = rig.run_until(lambda: len(rig.sent(m.TrackEnded)) == 2)
    assert again - seeked == pytest.approx(30 - 11 - 4 - LEAD, abs=0.1)


# -- heartbeat ------------------------------------------------------------------------------


def test_heartbeats_come_every_heartbeat_every_seconds(rigs: Callable[..., Rig]) -> None:
    rig = rigs(heartbeat_every=5.0)
    rig.play("p1", "long")
    rig.run(21.0)
    beats = rig.sent(m.Heartbeat)
    assert len(beats) == 5  # the first at once, then every five seconds
    gaps = [t2 - t1 for (t1, _), (t2, _) in zip(beats, beats[1:], strict=False)]
    assert all(5.0 - EPS <= g <= 5.1 + EPS for g in gaps)
    last = beats[-1][1]
    assert last.play_id == "p1"
    assert last.position == pytest.approx(beats[-1][0] - started_at(rig.deck("A")), abs=0.11)
