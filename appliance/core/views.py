"""The wire form of the state, in the seed's field names. Every adapter (websocket, SSE,
long-poll, MQTT, `djamms state`) renders through here, so all of them say the same thing.
Long queues are windowed: the first `window` items plus the totals; paging is by API."""

from __future__ import annotations

from typing import Any

from appliance.core.codec import to_data, to_dict
from appliance.core.model import NowPlaying, Playlist, QueueItem, State, User, Venue

DEFAULT_WINDOW = 50
_NP_PRIVATE = ("likers", "skip_voters")


def item_view(item: QueueItem) -> dict[str, Any]:
    return to_dict(item)


def now_playing_view(venue: Venue) -> dict[str, Any] | None:
    np: NowPlaying | None = venue.now_playing
    if np is None:
        return None
    data = {k: v for k, v in to_data(np).items() if k not in _NP_PRIVATE}
    data["skip_votes"] = len(np.skip_voters)
    data["channel"] = np.artist
    return data


def queue_view(venue: Venue, offset: int = 0, limit: int | None = DEFAULT_WINDOW) -> dict[str, Any]:
    end = None if limit is None else offset + limit
    return {
        "active_queue": [item_view(i) for i in venue.active_queue[offset:end]],
        "priority_queue": [item_view(i) for i in venue.priority_queue],
        "active_total": len(venue.active_queue),
        "priority_total": len(venue.priority_queue),
        "offset": offset,
    }


def settings_view(venue: Venue) -> dict[str, Any]:
    return {
        "player_settings": to_data(venue.player_settings),
        "request_rules": to_data(venue.request_rules),
        "venue_name": venue.venue_name,
    }


def now_playing_payload(venue: Venue) -> dict[str, Any]:
    return {
        "now_playing": now_playing_view(venue),
        "transport": venue.transport,
        "player_connected": venue.player_connected,
        "server_time": venue.last_updated,
    }


def venue_view(venue: Venue, window: int | None = DEFAULT_WINDOW) -> dict[str, Any]:
    q = queue_view(venue, 0, window)
    return {
        "venue_id": venue.venue_id,
        "venue_name": venue.venue_name,
        "owner_id": venue.owner_id,
        "active_player_instance_id": venue.active_player_instance_id,
        "now_playing": now_playing_view(venue),
        "active_queue": q["active_queue"],
        "priority_queue": q["priority_queue"],
        "active_queue_total": q["active_total"],
        "player_settings": to_data(venue.player_settings),
        "schedule_data": to_data(venue.schedule_data),
        "last_heartbeat_at": venue.last_heartbeat_at,
        "last_updated": venue.last_updated,
        "created_at": venue.created_at,
        "transport": venue.transport,
        "player_connected": venue.player_connected,
        "default_playlist_id": venue.default_playlist_id,
        "request_rules": to_data(venue.request_rules),
    }


def playlist_summary(pl: Playlist, user_id: str = "") -> dict[str, Any]:
    data = {k: v for k, v in to_data(pl).items() if k not in ("tracks", "starred_by")}
    data["starred_by_me"] = bool(user_id) and user_id in pl.starred_by
    return data


def playlist_view(pl: Playlist, offset: int = 0, limit: int | None = 200) -> dict[str, Any]:
    data = playlist_summary(pl)
    end = None if limit is None else offset + limit
    data["tracks"] = [to_data(t) for t in pl.tracks[offset:end]]
    data["tracks_offset"] = offset
    return data


def user_view(user: User) -> dict[str, Any]:
    return {k: v for k, v in to_data(user).items() if k != "pin_hash"}


def snapshot_payload(state: State, window: int | None = DEFAULT_WINDOW) -> dict[str, Any]:
    return {
        "venue": venue_view(state.venue, window) if state.venue else None,
        "playlists": [playlist_summary(p) for p in state.playlists.values()],
        "content": [to_data(c) for c in state.content.values()],
    }
