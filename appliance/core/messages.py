"""Messages into the core: commands (what someone asks for) and facts (what happened).

Every adapter (web, MQTT, GPIO panel, player, scheduler) speaks only these. A command
carries who asked (`Actor`) and optional concurrency guards; a fact comes from the box.
Messages are journaled, so each one must be plain data that round-trips through JSON
(see `codec.py`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from appliance.core.model import EMPTY, ContentItem, State, TrackInfo

UI_COMMANDS = (
    "PLAY_PAUSE",
    "PLAY",
    "PAUSE",
    "PLAY_NEXT",
    "PLAY_PREVIOUS",
    "SET_VOLUME",
    "MUTE_TOGGLE",
    "SEEK",
    "SHUFFLE_TOGGLE",
    "REPEAT_TOGGLE",
    "EMERGENCY_STOP",
    "FADE_OUT_STOP",
    "RESUME",
)


@dataclass(frozen=True)
class Actor:
    user_id: str = "system"
    role: str = "admin"  # admin|moderator|user; the box itself acts as admin
    session_id: str = ""
    ip_address: str = ""
    user_agent: str = ""
    source: str = "system"  # web|ws|mqtt|panel|scheduler|player|system

    @property
    def is_staff(self) -> bool:
        return self.role in ("admin", "moderator")


SYSTEM = Actor()


@dataclass(frozen=True, kw_only=True)
class Message:
    actor: Actor = SYSTEM
    command_id: str = ""  # idempotency: a repeat returns the first result
    expected_rev: int | None = None  # stale -> conflict
    expected_play_id: str | None = None  # stale -> conflict


# --- commands -----------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class UiCommand(Message):
    """`POST /api/ui/command`: transport, volume, shuffle/repeat, stops."""

    command: str
    value: Any = None
    play_id: str = ""  # PLAY_NEXT from the player names the track it skips


@dataclass(frozen=True, kw_only=True)
class AddToQueue(Message):
    track: TrackInfo
    position: str = "end"  # end|next
    action: str = ""  # "quick" for Quick Add


@dataclass(frozen=True, kw_only=True)
class RemoveFromQueue(Message):
    queue_item_id: str = ""
    video_id: str = ""  # the seed's body; removes the first matching item
    index_hint: int = -1  # where the client saw the item: O(1) on long queues if still right


@dataclass(frozen=True, kw_only=True)
class MoveQueueItem(Message):
    queue_item_id: str
    to_index: int
    index_hint: int = -1  # where the client saw the item: O(1) on long queues if still right


@dataclass(frozen=True, kw_only=True)
class ClearQueue(Message):
    """Clears the active queue only; requests are never touched."""


@dataclass(frozen=True, kw_only=True)
class UpdateSetting(Message):
    setting: str
    value: Any = None


@dataclass(frozen=True, kw_only=True)
class Vote(Message):
    video_id: str
    vote_type: str = "like"  # like|unlike|skip


@dataclass(frozen=True, kw_only=True)
class ManagePlaylist(Message):
    """`POST /api/playlist/manage`; `params` holds the action's body fields."""

    action: str
    params: Mapping[str, Any] = field(default_factory=lambda: EMPTY)


@dataclass(frozen=True, kw_only=True)
class UpdateSchedule(Message):
    schedule_data: Mapping[str, Any]


@dataclass(frozen=True, kw_only=True)
class UpdatePreferences(Message):
    user_id: str
    preferences: Mapping[str, Any]


@dataclass(frozen=True, kw_only=True)
class SetupVenue(Message):
    """First start: the owner (admin) and the venue, `venue_id` = owner's user id."""

    owner_user_id: str
    venue_name: str = "My Venue"
    owner_username: str = "owner"
    pin_hash: str = ""


@dataclass(frozen=True, kw_only=True)
class RegisterUser(Message):
    user_id: str
    role: str = "user"
    username: str = ""
    email: str = ""
    pin_hash: str = ""


@dataclass(frozen=True, kw_only=True)
class UserLoggedIn(Message):
    user_id: str


@dataclass(frozen=True, kw_only=True)
class RecordLog(Message):
    """An adapter's own log line (download failed, backup done) into activity_log."""

    event_type: str
    event_data: Mapping[str, Any] = field(default_factory=lambda: EMPTY)


# --- facts from the box ---------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Boot(Message):
    """The runtime started: resume what was playing, at its last position."""


@dataclass(frozen=True, kw_only=True)
class TrackStarted(Message):
    play_id: str


@dataclass(frozen=True, kw_only=True)
class PlayerStatus(Message):
    """What the player reports: playing|paused|buffering|stopped, position, duration."""

    play_id: str
    state: str
    position: float = 0.0
    duration: float = 0.0


@dataclass(frozen=True, kw_only=True)
class TrackEnded(Message):
    play_id: str
    reason: str = "eof"


@dataclass(frozen=True, kw_only=True)
class PlayerError(Message):
    play_id: str
    error_code: str = "error"
    detail: str = ""


@dataclass(frozen=True, kw_only=True)
class Heartbeat(Message):
    player_id: str = "mpv"
    position: float = 0.0
    play_id: str = ""


@dataclass(frozen=True, kw_only=True)
class PlayerReady(Message):
    """A player (the box's mpv, or an external screen) is up. The first one, or one
    arriving while the active player is disconnected, becomes the active player; the
    others wait as standby instances."""

    player_id: str = "mpv"
    kind: str = "mpv"


@dataclass(frozen=True, kw_only=True)
class ActivatePlayer(Message):
    """Staff choose which registered player instance is the active one."""

    player_id: str


@dataclass(frozen=True, kw_only=True)
class PositionCheckpoint(Message):
    """Written by the runtime at most every 30 s: the volatile position, made durable."""

    play_id: str
    position: float
    last_heartbeat_at: str = ""
    instance_heartbeats: Mapping[str, str] = field(default_factory=lambda: EMPTY)


@dataclass(frozen=True, kw_only=True)
class TrackResolved(Message):
    """The resolver learned a video's metadata; queued items get it."""

    track: TrackInfo
    cached: bool = False


@dataclass(frozen=True, kw_only=True)
class TrackUnplayable(Message):
    video_id: str
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class LibraryScanned(Message):
    """Local library contents; seeds a default playlist when the venue has none."""

    tracks: tuple[TrackInfo, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Tick(Message):
    """Periodic: heartbeat audit and other time-based rules."""

    heartbeat_timeout: float = 15.0


@dataclass(frozen=True, kw_only=True)
class SystemNotice(Message):
    """A SYSTEM_STATUS for the consoles (backup progress, disk full, link down)."""

    status: str
    detail: Mapping[str, Any] = field(default_factory=lambda: EMPTY)


# --- content gallery, announcements, maintenance, restore --------------------------------


@dataclass(frozen=True, kw_only=True)
class PlayAnnouncement(Message):
    """Staff play an audio clip from the gallery over the music, which ducks under it."""

    content_id: str


@dataclass(frozen=True, kw_only=True)
class AnnouncementFinished(Message):
    """The player: the clip ended (`reason` eof, error or stopped); the music comes back."""

    content_id: str
    reason: str = "eof"


@dataclass(frozen=True, kw_only=True)
class AddContent(Message):
    """A gallery file already stored and checked by the content adapter."""

    item: ContentItem


@dataclass(frozen=True, kw_only=True)
class RemoveContent(Message):
    content_ids: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class PruneActivityLog(Message):
    """Retention: drop activity_log entries older than `before` (ISO 8601, UTC)."""

    before: str


@dataclass(frozen=True, kw_only=True)
class RestoreState(Message):
    """Replace the whole state with a backup's, read and checked by the backup adapter
    off the runtime's thread (so the writer only swaps it in)."""

    state: State
    staged: str = ""  # the store's name for the file `state` was read from (journaled as such)
