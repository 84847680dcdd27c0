"""The mixer on `FakeDeck`s and a `FakeClock`, for the player's unit tests: no mpv, no
sleeps. A test drives the clock the way the mixer's loop would, stepping as soon as the
mixer asks (`step()` returns its next wake-up)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from appliance.core import messages as m
from appliance.core.model import PlayerSettings, QueueItem, State
from appliance.core.outputs import ApplySettings, Effect, PlayTrack
from appliance.player.deck import DeckOutput
from appliance.player.fake_deck import FakeClock, FakeDeck, FakeDeckFactory
from appliance.player.mixer import Mixer

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
    def __init__(self, crossfade: float = 4, video: str = "null", **mixer_options: float) -> None:
        self.clock = FakeClock()
        self.decks = FakeDeckFactory(self.clock, {path(v): s for v, s in LENGTHS.items()})
        self.posted: list[tuple[float, m.Message]] = []
        self.library = Library()
        self.mixer = Mixer(
            self._post,
            self.library,
            DeckOutput(audio="null", video=video),
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
