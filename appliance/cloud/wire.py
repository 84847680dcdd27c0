"""The retained state topics: what the box publishes and how a remote console rebuilds a
`State` from them.

Each `state/<piece>` message is the websocket's envelope `{"type", "rev", "payload"}` with
the payload `views.py` renders (seed field names). Those payloads are `codec.to_data` of
the model (plus a few display keys), so `codec.from_data` rebuilds the dataclasses; the
settings piece also carries what a console needs beyond the seed's settings event
(schedule, default playlist, playlist summaries).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from appliance.core.codec import from_data, to_data
from appliance.core.events import FROM_PIECES, EventType, is_event_type
from appliance.core.model import (
    NowPlaying,
    PlayerSettings,
    Playlist,
    QueueItem,
    RequestRules,
    State,
    Venue,
    frozen_map,
)
from appliance.core.outputs import Event
from appliance.core.views import now_playing_payload, playlist_summary, queue_view, settings_view

PIECES: tuple[str, ...] = ("now_playing", "queue", "settings")
PIECE_TYPES: dict[str, EventType] = {
    "now_playing": "NOW_PLAYING_UPDATE",
    "queue": "QUEUE_UPDATE",
    "settings": "PLAYER_SETTINGS_UPDATE",
}


def encode(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":"), default=str).encode()


def envelope(event_type: str, rev: int, payload: Any) -> dict[str, Any]:
    return {"type": event_type, "rev": rev, "payload": payload}


def piece_payload(piece: str, state: State, window: int) -> dict[str, Any]:
    venue = state.venue
    assert venue is not None
    if piece == "now_playing":
        payload = now_playing_payload(venue)
        payload["last_heartbeat_at"] = venue.last_heartbeat_at
    elif piece == "queue":
        payload = queue_view(venue, 0, window)
    else:
        payload = settings_view(venue)
        payload.update(
            venue_id=venue.venue_id,
            schedule_data=to_data(venue.schedule_data),
            default_playlist_id=venue.default_playlist_id,
            playlists=[playlist_summary(p) for p in state.playlists.values()],
        )
    return envelope(PIECE_TYPES[piece], state.rev, payload)


# --- the remote side: rebuild State from what arrives -------------------------------------


def _items(data: Any) -> tuple[QueueItem, ...]:
    if not isinstance(data, list):
        return ()
    return tuple(from_data(QueueItem, d) for d in data if isinstance(d, Mapping))


def apply_piece(state: State, piece: str, message: Mapping[str, Any]) -> State:
    """`state` with one retained piece applied. Raises ValueError on a malformed piece."""
    payload = message.get("payload")
    rev = message.get("rev")
    if not isinstance(payload, Mapping) or not isinstance(rev, int):
        raise ValueError("a state piece needs an object payload and an integer rev")
    venue = state.venue or Venue(venue_id=str(payload.get("venue_id", "")), owner_id="")
    if piece == "now_playing":
        np = payload.get("now_playing")
        venue = replace(
            venue,
            now_playing=from_data(NowPlaying, np) if isinstance(np, Mapping) else None,
            transport=str(payload.get("transport", venue.transport)),
            player_connected=bool(payload.get("player_connected", True)),
            last_updated=str(payload.get("server_time", venue.last_updated)),
            last_heartbeat_at=str(payload.get("last_heartbeat_at", venue.last_heartbeat_at)),
        )
    elif piece == "queue":
        venue = replace(
            venue,
            active_queue=_items(payload.get("active_queue")),
            priority_queue=_items(payload.get("priority_queue")),
        )
    elif piece == "settings":
        venue, playlists = _apply_settings(venue, payload), payload.get("playlists")
        if isinstance(playlists, list):
            pls = [from_data(Playlist, p) for p in playlists if isinstance(p, Mapping)]
            state = replace(state, playlists=frozen_map({p.playlist_id: p for p in pls}))
    else:
        raise ValueError(f"unknown state piece {piece!r}")
    return replace(state, venue=venue, rev=max(state.rev, rev))


def _apply_settings(venue: Venue, payload: Mapping[str, Any]) -> Venue:
    ps, rules = payload.get("player_settings"), payload.get("request_rules")
    schedule = payload.get("schedule_data")
    return replace(
        venue,
        venue_id=str(payload.get("venue_id") or venue.venue_id),
        venue_name=str(payload.get("venue_name", venue.venue_name)),
        player_settings=from_data(PlayerSettings, ps)
        if isinstance(ps, Mapping)
        else venue.player_settings,
        request_rules=from_data(RequestRules, rules)
        if isinstance(rules, Mapping)
        else venue.request_rules,
        schedule_data=frozen_map(schedule)
        if isinstance(schedule, Mapping)
        else venue.schedule_data,
        default_playlist_id=str(payload.get("default_playlist_id", venue.default_playlist_id)),
    )


def event_from_envelope(message: Mapping[str, Any]) -> Event | None:
    """An event from the `events` topic as the console's hub wants it: payload-carrying
    types keep their payload; state-rendered ones come with the retained pieces instead."""
    event_type = message.get("type")
    payload = message.get("payload")
    if not is_event_type(event_type) or event_type in FROM_PIECES:
        return None
    return Event(event_type, frozen_map(payload if isinstance(payload, Mapping) else {}))
