"""Every event type the box pushes, once: how its payload is made, who may see it, which of
the cloud's retained state pieces it makes stale, and whether a restore re-sends it.

Adding an event type means adding it to `EventType` and to `EVENTS` below, nowhere else:
the websocket hub, the window outboxes, the cloud link, the remote console and the restore
rule all read this table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeGuard, get_args

from appliance.core.codec import to_data, to_dict
from appliance.core.model import State, Venue
from appliance.core.outputs import Event
from appliance.core.views import (
    DEFAULT_WINDOW,
    now_playing_payload,
    playlist_summary,
    playlist_view,
    queue_view,
    settings_view,
)

EventType = Literal[
    "NOW_PLAYING_UPDATE",
    "QUEUE_UPDATE",
    "PLAYER_SETTINGS_UPDATE",
    "PLAYER_DISCONNECTED",
    "SYSTEM_STATUS",
    "LOG_ENTRY",
    "AUTH_SUCCESS",
    "SEARCH_RESULTS_UPDATE",
    "CONTENT_GALLERY_UPDATE",
    "PLAYLIST_CONTENT_UPDATE",
    "SCHEDULE_DATA_UPDATE",
]
Piece = Literal["now_playing", "queue", "settings"]  # the cloud's retained state topics
Renderer = Callable[[Event, State, Venue, int | None], dict[str, Any]]


@dataclass(frozen=True)
class EventKind:
    # Made from the state it was published with, once for every listener; None: the
    # event carries its own payload.
    render: Renderer | None = None
    reads_payload: bool = False  # the renderer takes its arguments from the payload
    staff_only: bool = False
    pieces: tuple[Piece, ...] = ()  # retained cloud pieces it makes stale
    # A remote console rebuilds it from the retained pieces instead of the events topic.
    from_pieces: bool = False
    on_restore: bool = False  # a restore re-sends it, rendered from the restored state


def _now_playing(e: Event, s: State, v: Venue, window: int | None) -> dict[str, Any]:
    return now_playing_payload(v)


def _queue(e: Event, s: State, v: Venue, window: int | None) -> dict[str, Any]:
    return queue_view(v, 0, window)


def _settings(e: Event, s: State, v: Venue, window: int | None) -> dict[str, Any]:
    return settings_view(v)


def _schedule(e: Event, s: State, v: Venue, window: int | None) -> dict[str, Any]:
    return {"schedule": to_data(v.schedule_data)}


def _gallery(e: Event, s: State, v: Venue, window: int | None) -> dict[str, Any]:
    return {"items": [to_data(c) for c in s.content.values()]}


def _playlist(e: Event, s: State, v: Venue, window: int | None) -> dict[str, Any]:
    pl = s.playlists.get(str(e.payload.get("playlist_id", "")))
    return {
        "action": e.payload.get("action"),
        "playlist_id": e.payload.get("playlist_id"),
        "playlist": playlist_view(pl) if pl else None,
        "playlists": [playlist_summary(p) for p in s.playlists.values()],
    }


EVENTS: Mapping[EventType, EventKind] = {
    "NOW_PLAYING_UPDATE": EventKind(
        _now_playing, pieces=("now_playing",), from_pieces=True, on_restore=True
    ),
    "QUEUE_UPDATE": EventKind(_queue, pieces=("queue",), from_pieces=True, on_restore=True),
    "PLAYER_SETTINGS_UPDATE": EventKind(
        _settings, pieces=("settings",), from_pieces=True, on_restore=True
    ),
    "SCHEDULE_DATA_UPDATE": EventKind(
        _schedule, pieces=("settings",), from_pieces=True, on_restore=True
    ),
    "PLAYLIST_CONTENT_UPDATE": EventKind(
        _playlist, reads_payload=True, pieces=("settings",), from_pieces=True
    ),
    "CONTENT_GALLERY_UPDATE": EventKind(_gallery, on_restore=True),
    "PLAYER_DISCONNECTED": EventKind(pieces=("now_playing",)),
    "SYSTEM_STATUS": EventKind(pieces=("now_playing",)),  # player_connected comes with one
    "LOG_ENTRY": EventKind(staff_only=True),  # log lines carry addresses and user ids
    "AUTH_SUCCESS": EventKind(),  # a reply to one window
    "SEARCH_RESULTS_UPDATE": EventKind(),  # a reply to one window
}

STAFF_ONLY: frozenset[str] = frozenset(t for t, k in EVENTS.items() if k.staff_only)
FROM_PIECES: frozenset[str] = frozenset(t for t, k in EVENTS.items() if k.from_pieces)
ON_RESTORE: tuple[EventType, ...] = tuple(t for t, k in EVENTS.items() if k.on_restore)
_NO_PIECES: tuple[Piece, ...] = ()
_ALL_TYPES: frozenset[str] = frozenset(get_args(EventType))


def is_event_type(name: object) -> TypeGuard[EventType]:
    return isinstance(name, str) and name in _ALL_TYPES


def pieces_of(event_type: str) -> tuple[Piece, ...]:
    kind = EVENTS.get(event_type) if is_event_type(event_type) else None
    return kind.pieces if kind else _NO_PIECES


def render_event(event: Event, state: State, window: int | None = DEFAULT_WINDOW) -> dict[str, Any]:
    """An event's payload as the seed's table gives it, rendered from the state it came with.
    An event that arrives already rendered (from the cloud) keeps its payload."""
    kind = EVENTS.get(event.type) if is_event_type(event.type) else None
    if kind is None or kind.render is None or (event.payload and not kind.reads_payload):
        return to_dict(event.payload)
    if state.venue is None:
        return {}
    return kind.render(event, state, state.venue, window)
