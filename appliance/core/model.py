"""The seed's four collections (venues, users, playlists, activity_log) plus player
instances and the content gallery, as frozen dataclasses with the seed's field names.

Collections are tuples and read-only mappings by convention: the engine never mutates
a value in place, it builds a new one with `dataclasses.replace`. Times are ISO 8601
strings in UTC (what the seed's `datetime` fields hold on the wire).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

ROLES = ("admin", "moderator", "user")
STAFF_ROLES = ("admin", "moderator")
REPEAT_MODES = ("none", "one", "all")
EQ_BANDS = ("60", "230", "910", "3600", "14000")  # Hz, gains in dB (-12..12)
DISPLAY_SLIDERS = ("brightness", "contrast", "saturation", "gamma")  # mpv: -100..100

EMPTY: Mapping[str, Any] = MappingProxyType({})


def frozen_map(value: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    return MappingProxyType(dict(value or {}))


@dataclass(frozen=True)
class TrackInfo:
    """What is known about a video before it is queued (search result, playlist entry)."""

    video_id: str
    title: str = ""
    artist: str = ""
    duration: int = 0
    thumbnail: str = ""


@dataclass(frozen=True, slots=True)
class QueueItem:
    id: str
    video_id: str
    title: str = ""
    artist: str = ""
    duration: int = 0
    thumbnail: str = ""
    added_by_user_id: str = ""
    added_at: str = ""
    priority: int = 0
    unplayable: bool = False  # resolver gave up: skipped before its turn, kept in playlists

    @property
    def track(self) -> TrackInfo:
        return TrackInfo(self.video_id, self.title, self.artist, self.duration, self.thumbnail)


@dataclass(frozen=True)
class NowPlaying:
    video_id: str
    title: str = ""
    artist: str = ""
    duration: int = 0
    thumbnail: str = ""
    start_timestamp: str = ""
    state: str = "buffering"  # reported by the player: playing|paused|buffering|stopped
    vote_count: int = 0
    is_liked: bool = False
    # Beyond the seed: what the house rules need.
    play_id: str = ""
    queue_item_id: str = ""
    source: str = "active"  # active|priority
    added_by_user_id: str = ""
    position: float = 0.0  # last reported position (seconds), flushed lazily
    likers: tuple[str, ...] = ()
    skip_voters: tuple[str, ...] = ()

    def as_item(self) -> QueueItem:
        return QueueItem(
            id=self.queue_item_id,
            video_id=self.video_id,
            title=self.title,
            artist=self.artist,
            duration=self.duration,
            thumbnail=self.thumbnail,
            added_by_user_id=self.added_by_user_id,
        )


@dataclass(frozen=True)
class PlayerSettings:
    repeat_mode: str = "all"
    shuffle_enabled: bool = False
    # the current shuffle's seed; while shuffle is off, the next one's (0: none yet)
    shuffle_seed: int = 0
    crossfade_time: int = 3
    master_volume: int = 70
    is_muted: bool = False
    eq_settings: Mapping[str, Any] = field(
        default_factory=lambda: frozen_map({b: 0 for b in EQ_BANDS})
    )
    mic_volume: int = 0
    dynamic_compressor_enabled: bool = False
    player_size: Mapping[str, Any] = field(
        default_factory=lambda: frozen_map({"width": 1280, "height": 720})
    )
    player_position: Mapping[str, Any] = field(default_factory=lambda: frozen_map({"x": 0, "y": 0}))
    is_fullscreen: bool = True
    display_sliders: Mapping[str, Any] = field(
        default_factory=lambda: frozen_map({s: 0 for s in DISPLAY_SLIDERS})
    )
    app_name: str = "DJAMMS"
    fade_out_time: int = 5  # seconds, FADE_OUT_STOP
    loudness_normalization: bool = True  # every track played at loudness_target
    loudness_target: int = -16  # LUFS
    duck_db: int = 12  # how far the music drops under an announcement
    # What the TV shows over the video (the QR code brings patrons in; the logo is a
    # gallery image, "" for none).
    tv_now_playing: bool = True
    tv_coming_up: bool = True
    tv_qr_code: bool = True
    tv_logo: str = ""


@dataclass(frozen=True)
class RequestRules:
    """Patron request rules; staff (admin, moderator) bypass the caps."""

    requests_open: bool = True
    closed_message: str = ""
    max_pending_per_user: int = 2
    priority_cap: int = 10
    cooldown_minutes: int = 60
    max_duration_seconds: int = 600
    blocked_video_ids: tuple[str, ...] = ()
    blocked_artists: tuple[str, ...] = ()
    vote_skip_threshold: int = 0  # distinct voters; 0 = vote-to-skip off


@dataclass(frozen=True)
class HistoryEntry:
    item: QueueItem
    source: str  # active|priority
    played_at: str
    played_at_epoch: float


@dataclass(frozen=True)
class Venue:
    venue_id: str
    owner_id: str
    venue_name: str = ""
    active_player_instance_id: str = ""
    now_playing: NowPlaying | None = None
    active_queue: tuple[QueueItem, ...] = ()
    priority_queue: tuple[QueueItem, ...] = ()
    player_settings: PlayerSettings = field(default_factory=PlayerSettings)
    schedule_data: Mapping[str, Any] = field(default_factory=lambda: frozen_map())
    last_heartbeat_at: str = ""
    last_updated: str = ""
    created_at: str = ""
    # Beyond the seed.
    transport: str = "playing"  # desired: playing|paused|stopped|emergency
    player_connected: bool = True
    default_playlist_id: str = ""
    request_rules: RequestRules = field(default_factory=RequestRules)
    history: tuple[HistoryEntry, ...] = ()  # newest last, bounded
    base_order: tuple[str, ...] = ()  # active queue ids in playlist order, kept while shuffled


@dataclass(frozen=True)
class UserPreferences:
    theme: str = "dark"
    notifications_enabled: bool = True
    default_volume: int = 70
    auto_play: bool = True
    language: str = "en"
    timezone: str = "UTC"
    min_to_tray_enabled: bool = False
    update_checks_enabled: bool = True
    telemetry_enabled: bool = False


@dataclass(frozen=True)
class User:
    user_id: str
    email: str = ""
    username: str = ""
    venue_id: str = ""
    role: str = "user"
    preferences: UserPreferences = field(default_factory=UserPreferences)
    avatar_url: str = ""
    is_active: bool = True
    is_developer: bool = False
    created_at: str = ""
    last_login_at: str = ""
    last_activity_at: str = ""
    pin_hash: str = ""  # staff credential (salted scrypt), never sent to clients


@dataclass(frozen=True)
class PlaylistTrack:
    video_id: str
    title: str = ""
    artist: str = ""
    duration: int = 0
    thumbnail: str = ""
    order: int = 0


@dataclass(frozen=True)
class Playlist:
    playlist_id: str
    name: str = ""
    description: str = ""
    owner_id: str = ""
    venue_id: str = ""
    is_public: bool = False
    is_default: bool = False
    is_starred: bool = False
    category: str = ""
    cover_image_url: str = ""
    tracks: tuple[PlaylistTrack, ...] = ()
    track_count: int = 0
    total_duration: int = 0
    tags: tuple[str, ...] = ()
    play_count: int = 0
    last_played_at: str = ""
    created_at: str = ""
    updated_at: str = ""
    starred_by: tuple[str, ...] = ()  # per-user stars; is_starred is "starred by anyone"


@dataclass(frozen=True)
class LogEntry:
    log_id: str
    timestamp: str
    event_type: str
    user_id: str = ""
    venue_id: str = ""
    event_data: Mapping[str, Any] = field(default_factory=lambda: frozen_map())
    ip_address: str = ""
    user_agent: str = ""
    session_id: str = ""


@dataclass(frozen=True)
class PlayerInstance:
    player_id: str
    venue_id: str = ""
    kind: str = "mpv"
    connected_at: str = ""
    last_heartbeat_at: str = ""
    is_active: bool = False


@dataclass(frozen=True)
class ContentItem:
    content_id: str
    filename: str
    mime_type: str
    size: int = 0
    kind: str = "image"  # image|video|audio (audio: announcements)
    thumbnail: str = ""
    uploaded_by: str = ""
    created_at: str = ""


@dataclass(frozen=True)
class State:
    """Everything the box knows. `rev` counts applied changes; `seq` feeds the
    engine's deterministic ids (q…, p…, l…), so replaying a journal rebuilds it exactly."""

    venue: Venue | None = None
    users: Mapping[str, User] = field(default_factory=lambda: frozen_map())
    playlists: Mapping[str, Playlist] = field(default_factory=lambda: frozen_map())
    activity_log: tuple[LogEntry, ...] = ()
    player_instances: Mapping[str, PlayerInstance] = field(default_factory=lambda: frozen_map())
    content: Mapping[str, ContentItem] = field(default_factory=lambda: frozen_map())
    rev: int = 0
    seq: int = 0
    log_retention: int = 10_000
    # (commandId, rev) of the latest applied commands that carried one, so a retry after
    # a restart is still recognised; kept by the runtime, bounded.
    recent_commands: tuple[tuple[str, int], ...] = ()
