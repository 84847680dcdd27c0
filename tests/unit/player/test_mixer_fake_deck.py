"""The mixer's crossfades, stops and recovery on `FakeDeck`s and a `FakeClock`: no mpv,
no sleeps. The test drives the clock the way the mixer's loop would, stepping as soon as
the mixer asks (`step()` returns its next wake-up)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from appliance.core import messages as m
from appliance.core.model import PlayerSettings, QueueItem, State
from appliance.core.outputs import (
    ApplySettings,
    Effect,
    EmergencyStop,
    FadeOutStop,
    Pause,
    PlayTrack,
    Prefetch,
    Resume,
    Seek,
)
from appliance.player.crossfade import SKIP_FADE, VOLUME_LATENCY
from appliance.player.deck import DeckOutput
from appliance.player.fake_deck import FakeClock, FakeDeck, FakeDeckFactory
from appliance.player.mixer import Mixer
from appliance.player.slot import CUT_FADE
from appliance.player.ticks import LEAD

LENGTHS = {"a": 30.0, "b": 40.0, "c": 50.0, "long": 120.0}
EPS = 1e-6


class Library:
    """A media source whose files are all local (`broken` ones cannot be played)."""

    def __init__(self) -> None:
        self.discarded: list[tuple[str, str]] = []

    def locate(self, video_id: str) -> Path | None:
        return path(video_id) if video_id in LENGTHS or video_id == "broken" else None

    def fetch(self, video_id: str, done: Callable[[Path | None, str], None]) -> None:
        found = self.locate(video_id)
        done(found, "" if found else "not found")

    def discard(self, video_id: str, reason: str) -> None:
        self.discarded.append((video_id, reason))


def path(video_id: str) -> Path:
    return Path(f"/media/{video_id}.mp4")


class Rig:
    def __init__(self, crossfade: float = 4, **mixer_options: float) -> None:
        self.clock = FakeClock()
        self.decks = FakeDeckFactory(self.clock, {path(v): s for v, s in LENGTHS.items()})
        self.posted: list[tuple[float, m.Message]] = []
        self.library = Library()
        self.mixer = Mixer(
            self._post,
            self.library,
            DeckOutput(audio="null", video="null"),
            deck_factory=self.decks,
            clock=self.clock,
            **mixer_options,
        )
        self.mixer.start(thread=False)
        self.timeout = 0.1
        self.send(ApplySettings(PlayerSettings(crossfade_time=crossfade)))

    def _post(self, message: m.Message) -> None:
        self.posted.append((self.clock(), message))

    @property
    def now(self) -> float:
        return self.clock()

    def send(self, *effects: Effect) -> None:
        """The runtime hands effects over; the loop wakes at once."""
        self.mixer(effects, State())
        self.timeout = self.mixer.step()

    def play(self, play_id: str, video_id: str, transition: str = "crossfade", **kw: float) -> None:
        item = QueueItem(id=f"q-{play_id}", video_id=video_id)
        self.send(PlayTrack(play_id=play_id, item=item, transition=transition, **kw))

    def run(self, seconds: float) -> None:
        end = self.now + seconds
        while end - self.now > EPS:
            self.clock.advance(min(self.timeout, end - self.now))
            self.timeout = self.mixer.step()

    def run_until(self, done: Callable[[], bool], limit: float = 120.0) -> float:
        end = self.now + limit
        while not done():
            assert self.now < end, "never happened"
            self.clock.advance(self.timeout)
            self.timeout = self.mixer.step()
        return self.now

    def sent(self, kind: type[m.Message]) -> list[tuple[float, m.Message]]:
        return [(t, msg) for t, msg in self.posted if isinstance(msg, kind)]

    def deck(self, name: str) -> FakeDeck:
        return self.decks.named(name)

    def ended(self, play_id: str) -> bool:
        return any(msg.play_id == play_id for _t, msg in self.sent(m.TrackEnded))


@pytest.fixture
def rigs() -> Iterator[Callable[..., Rig]]:
    made: list[Rig] = []

    def make(**options: float) -> Rig:
        made.append(Rig(**options))
        return made[-1]

    yield make
    for rig in made:
        rig.mixer.stop(budget=1.0)


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


# -- recovery -------------------------------------------------------------------------------


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
