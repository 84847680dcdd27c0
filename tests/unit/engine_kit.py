"""Test kit for table tests of `step()`: actors, tracks and a `Driver` that applies
messages with a fake clock and bumps `rev` the way the runtime does."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from appliance.core import messages as m
from appliance.core.engine import step
from appliance.core.model import QueueItem, State, TrackInfo, Venue
from appliance.core.outputs import Effect, Outcome, Rejected

T0 = 1_700_000_000.0

ADMIN = m.Actor(
    user_id="owner",
    role="admin",
    session_id="sess-admin",
    ip_address="10.0.0.2",
    user_agent="UA-admin",
    source="web",
)
MOD = m.Actor(
    user_id="mod1",
    role="moderator",
    session_id="sess-mod",
    ip_address="10.0.0.3",
    user_agent="UA-mod",
    source="web",
)
PLAYER = m.Actor(user_id="player", role="admin", source="player")


def patron(n: int) -> m.Actor:
    return m.Actor(
        user_id=f"guest{n}",
        role="user",
        session_id=f"sess-g{n}",
        ip_address=f"10.0.1.{n}",
        user_agent=f"UA-g{n}",
        source="web",
    )


def track(i: int | str, **kw: Any) -> TrackInfo:
    base = {"title": f"Song {i}", "artist": f"Artist {i}", "duration": 200}
    base.update(kw)
    return TrackInfo(video_id=f"v{i}", **base)


def playlist_tracks(ids: list[int | str], duration: int = 200) -> list[dict[str, Any]]:
    return [
        {"video_id": f"v{i}", "title": f"Song {i}", "artist": f"Artist {i}", "duration": duration}
        for i in ids
    ]


class Driver:
    """Applies messages in order with a clock that moves `dt` seconds per message."""

    def __init__(self, state: State | None = None, now: float = T0) -> None:
        self.state = state or State()
        self.now = now
        self.outcomes: list[Outcome] = []

    @property
    def venue(self) -> Venue:
        assert self.state.venue is not None
        return self.state.venue

    @property
    def play_id(self) -> str:
        np = self.venue.now_playing
        return np.play_id if np else ""

    def do(self, msg: m.Message, dt: float = 1.0) -> Outcome:
        self.now += dt
        out = step(self.state, msg, self.now)
        new = out.state
        if out.durable and new is not self.state:
            new = replace(new, rev=self.state.rev + 1)
        self.state = new
        self.outcomes.append(out)
        return out

    def reject(self, msg: m.Message, code: str, status: int | None = None) -> Rejected:
        """Assert `msg` is refused with `code` (and `status`) and nothing changes."""
        before = self.state
        with pytest.raises(Rejected) as info:
            step(self.state, msg, self.now + 1)
        assert info.value.code == code, info.value.message
        if status is not None:
            assert info.value.status == status
        assert self.state is before
        return info.value

    # -- building venues ------------------------------------------------------------------

    def setup(self, owner: str = "owner") -> Driver:
        self.do(m.SetupVenue(owner_user_id=owner, venue_name="Test Bar"))
        return self

    def playlist(self, ids: list[int | str], name: str = "Rotation", duration: int = 200) -> str:
        out = self.do(
            m.ManagePlaylist(
                action="create",
                params={"name": name, "tracks": playlist_tracks(ids, duration)},
                actor=ADMIN,
            )
        )
        return out.reply["playlist"].playlist_id

    def load(self, playlist_id: str, actor: m.Actor = ADMIN) -> Outcome:
        return self.do(
            m.ManagePlaylist(action="load", params={"playlistId": playlist_id}, actor=actor)
        )

    def end(self, play_id: str | None = None) -> Outcome:
        return self.do(m.TrackEnded(play_id=play_id or self.play_id, actor=PLAYER), dt=200)

    def ui(self, command: str, value: Any = None, actor: m.Actor = ADMIN, **kw: Any) -> Outcome:
        return self.do(m.UiCommand(command=command, value=value, actor=actor, **kw))

    def request(self, t: TrackInfo, actor: m.Actor) -> Outcome:
        return self.do(m.AddToQueue(track=t, actor=actor))

    def setting(self, name: str, value: Any, actor: m.Actor = ADMIN) -> Outcome:
        return self.do(m.UpdateSetting(setting=name, value=value, actor=actor))


def playing_venue(n: int = 5) -> Driver:
    """A set-up venue playing v0 with v1..v{n-1} in the active queue."""
    d = Driver().setup()
    d.load(d.playlist(list(range(n))))
    return d


def vids(items: tuple[QueueItem, ...]) -> list[str]:
    return [i.video_id for i in items]


def now_vid(d: Driver) -> str | None:
    np = d.venue.now_playing
    return np.video_id if np else None


def effects_of(out: Outcome, kind: type[Effect]) -> list[Effect]:
    return [e for e in out.effects if isinstance(e, kind)]


def event_types(out: Outcome) -> list[str]:
    return [e.type for e in out.events]
