"""What `step()` hands back besides the new state: events for listeners, effects for the
player, and the rejection type for bad commands."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from appliance.core.model import EMPTY, PlayerSettings, QueueItem, State

if TYPE_CHECKING:  # events.py renders with views.py, which needs Event: no import cycle
    from appliance.core.events import EventType


@dataclass(frozen=True)
class Event:
    """A pushed event. For NOW_PLAYING/QUEUE/PLAYER_SETTINGS/SCHEDULE_DATA the payload is
    rendered from the published state by `events.render_event`, once per event for all
    listeners; the others carry their payload here."""

    type: EventType
    payload: Mapping[str, Any] = field(default_factory=lambda: EMPTY)


class Rejected(Exception):  # noqa: N818 - it is an outcome, not a crash
    """A command the rules refuse. Nothing changes; the caller gets code + message."""

    def __init__(self, code: str, message: str, status: int = 400, **extra: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.extra = extra

    def as_error(self) -> dict[str, Any]:
        err: dict[str, Any] = {"code": self.code, "message": self.message}
        err.update(self.extra)
        return err


# --- effects: what the player (and other actuators) must do -------------------------


@dataclass(frozen=True)
class Effect:
    pass


@dataclass(frozen=True)
class PlayTrack(Effect):
    """Start `item` under `play_id`: crossfade from the current deck (`transition`
    crossfade|skip|cut), from `start_at` seconds; `paused` loads it without playing."""

    play_id: str
    item: QueueItem
    start_at: float = 0.0
    transition: str = "crossfade"
    paused: bool = False


@dataclass(frozen=True)
class Prefetch(Effect):
    """The next tracks, in play order: resolve and cache them ahead of their turn."""

    items: tuple[QueueItem, ...]


@dataclass(frozen=True)
class Pause(Effect):
    pass


@dataclass(frozen=True)
class Resume(Effect):
    pass


@dataclass(frozen=True)
class Seek(Effect):
    position: float


@dataclass(frozen=True)
class FadeOutStop(Effect):
    seconds: float


@dataclass(frozen=True)
class Announce(Effect):
    """Play a gallery clip over the music, the music ducked by `duck_db` meanwhile."""

    content_id: str
    duck_db: float


@dataclass(frozen=True)
class EmergencyStop(Effect):
    pass


@dataclass(frozen=True)
class StopPlayback(Effect):
    """Nothing to play: silence both decks (queues empty and no default playlist)."""


@dataclass(frozen=True)
class ApplySettings(Effect):
    """Volume, mute, EQ, compressor, display, crossfade: applied live, no interruption."""

    settings: PlayerSettings


@dataclass(frozen=True)
class Outcome:
    state: State
    events: tuple[Event, ...] = ()
    effects: tuple[Effect, ...] = ()
    reply: Any = None
    durable: bool = True  # False: a report-only change (position), not journaled, no rev
