"""The fleet's venue directory: one card per venue, built from the messages venues
publish under `djamms/v1/venues/{venue_id}/` (`status`, `state/now_playing`,
`state/settings`, `events`). Pure: no I/O, no clock (the time of arrival is passed in),
so every rule here is unit-tested with plain bytes.

Trust: a message counts for the venue its topic names. One whose payload names another
venue (`payload.venue_id`) is refused as `SPOOFED` and changes nothing: the broker's ACL
lets a venue write only its own topics, so such a message comes from something else.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from appliance.cloud.fleet_alerts import alerts_for, switch_notices

TOPIC_PREFIX = "djamms/v1/venues/"
WATCHED = ("status", "state/now_playing", "state/settings", "events")
MAX_VENUE_ID = 100
REV_WINDOW = 10_000  # as the remote console: far older is not lag but a new box


class Outcome(Enum):
    CHANGED = "changed"  # the card changed in a way a window shows
    SEEN = "seen"  # only `last_seen` moved
    IGNORED = "ignored"  # not a venue topic we read, malformed, or older than ours
    SPOOFED = "spoofed"  # names another venue than its topic


@dataclass(frozen=True)
class VenueCard:
    venue_id: str
    venue_name: str = ""
    online: bool | None = None  # None until its status is seen
    status_since: float | None = None  # when `online` last changed, as far as we know
    last_seen: float | None = None  # when the venue was last heard from
    now_playing: dict[str, Any] | None = None  # the track's display fields
    transport: str = ""
    player_connected: bool = True
    master_volume: int | None = None
    notices: frozenset[str] = frozenset()
    playlists: tuple[tuple[str, str], ...] = ()  # (playlist_id, name), for bulk loads
    revs: tuple[tuple[str, int], ...] = ()  # newest rev per piece

    def rev_of(self, piece: str) -> int:
        return dict(self.revs).get(piece, -1)

    def with_rev(self, piece: str, rev: int) -> VenueCard:
        revs = dict(self.revs)
        revs[piece] = rev
        return replace(self, revs=tuple(sorted(revs.items())))


def split_topic(topic: str) -> tuple[str, str] | None:
    """`(venue_id, rest)` of a watched venue topic, or None."""
    if not topic.startswith(TOPIC_PREFIX):
        return None
    venue_id, _, rest = topic[len(TOPIC_PREFIX) :].partition("/")
    if not venue_id or len(venue_id) > MAX_VENUE_ID or rest not in WATCHED:
        return None
    return venue_id, rest


def parse_time(value: Any) -> float | None:
    """Epoch seconds of an ISO 8601 time with a zone, or None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when.timestamp() if when.tzinfo is not None else None


def iso_utc(when: float | None) -> str | None:
    if when is None:
        return None
    stamp = datetime.fromtimestamp(when, UTC).isoformat(timespec="milliseconds")
    return stamp.replace("+00:00", "Z")


def card_view(card: VenueCard) -> dict[str, Any]:
    """A card as `GET /api/fleet` and the fleet websocket give it."""
    since = card.status_since
    if since is None and card.online is False:
        since = card.last_seen  # offline when we started: since it was last heard from
    return {
        "venue_id": card.venue_id,
        "venue_name": card.venue_name or card.venue_id,
        "online": bool(card.online),
        "since": iso_utc(since),
        "last_seen": iso_utc(card.last_seen),
        "now_playing": card.now_playing,
        "transport": card.transport,
        "master_volume": card.master_volume,
        "alerts": alerts_for(card),
        "playlists": sorted({name for _, name in card.playlists if name}),
    }


class FleetDirectory:
    """Every venue seen so far. Not thread-safe: the caller holds its own lock."""

    def __init__(self) -> None:
        self._cards: dict[str, VenueCard] = {}

    def __len__(self) -> int:
        return len(self._cards)

    def __contains__(self, venue_id: object) -> bool:
        return venue_id in self._cards

    def get(self, venue_id: str) -> VenueCard | None:
        return self._cards.get(venue_id)

    def cards(self) -> list[VenueCard]:
        return sorted(self._cards.values(), key=_by_name)

    def apply(self, topic: str, payload: bytes, now: float, retained: bool = False) -> Outcome:
        """Take one message. `retained`: delivered from the broker's store (its time of
        arrival says nothing about when the venue sent it)."""
        parsed = split_topic(topic)
        if parsed is None:
            return Outcome.IGNORED
        venue_id, rest = parsed
        old = self._cards.get(venue_id) or VenueCard(venue_id)
        data: dict[str, Any] = {}
        if rest == "status":
            new = _status(old, payload, None if retained else now)
        else:
            parsed_data = _json_object(payload)
            if parsed_data is None:
                return Outcome.IGNORED
            if _names_other_venue(parsed_data, venue_id):
                return Outcome.SPOOFED
            data = parsed_data
            new = _piece(old, rest, data)
        if new is None:
            return Outcome.IGNORED
        heard = _heard_at(data, retained, now)
        if heard is not None and (new.last_seen is None or heard > new.last_seen):
            new = replace(new, last_seen=heard)
        known = venue_id in self._cards
        self._cards[venue_id] = new
        if not known or replace(new, last_seen=old.last_seen, revs=old.revs) != old:
            return Outcome.CHANGED
        return Outcome.SEEN


def _by_name(card: VenueCard) -> tuple[str, str]:
    return ((card.venue_name or card.venue_id).casefold(), card.venue_id)


def _json_object(payload: bytes) -> dict[str, Any] | None:
    try:
        data = json.loads(payload)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def _names_other_venue(data: Mapping[str, Any], venue_id: str) -> bool:
    payload = data.get("payload")
    for where in (data, payload if isinstance(payload, Mapping) else {}):
        named = where.get("venue_id", where.get("venueId"))
        if named is not None and named != venue_id:
            return True
    return False


def _heard_at(data: Mapping[str, Any], retained: bool, now: float) -> float | None:
    """When the venue said this: now for a live message; for a retained one, the time
    the piece carries (its server time), if any."""
    if not retained:
        return now
    payload = data.get("payload")
    if isinstance(payload, Mapping):
        return parse_time(payload.get("server_time")) or parse_time(
            payload.get("last_heartbeat_at")
        )
    return None


def _status(card: VenueCard, payload: bytes, now: float | None) -> VenueCard | None:
    text = payload.strip()
    if text not in (b"online", b"offline"):
        return None  # an empty retained message clears the topic; it says nothing
    online = text == b"online"
    if card.online == online:
        return card
    since = now if now is not None else (card.last_seen if not online else None)
    return replace(card, online=online, status_since=since)


def _piece(card: VenueCard, rest: str, data: Mapping[str, Any]) -> VenueCard | None:
    payload = data.get("payload")
    if not isinstance(payload, Mapping):
        return None
    if rest == "events":
        kind = data.get("type")
        if kind == "SYSTEM_STATUS":
            status = payload.get("status")
            if isinstance(status, str):
                return replace(card, notices=switch_notices(card.notices, status))
            return card
        piece = {"NOW_PLAYING_UPDATE": "now_playing", "PLAYER_SETTINGS_UPDATE": "settings"}
        rest = "state/" + piece.get(str(kind), "")
        if rest == "state/":
            return card  # heard from, nothing to show
    piece_name = rest.removeprefix("state/")
    rev = data.get("rev")
    if not isinstance(rev, int) or isinstance(rev, bool):
        return None
    held = card.rev_of(piece_name)
    if held - REV_WINDOW <= rev < held:
        return card  # older than what we hold
    updated = (
        _now_playing(card, payload) if piece_name == "now_playing" else _settings(card, payload)
    )
    return updated.with_rev(piece_name, rev)


def _now_playing(card: VenueCard, payload: Mapping[str, Any]) -> VenueCard:
    np = payload.get("now_playing")
    track = None
    if isinstance(np, Mapping):
        track = {
            key: np.get(key)
            for key in ("title", "artist", "video_id", "play_id", "thumbnail", "duration")
            if key in np
        }
    return replace(
        card,
        now_playing=track,
        transport=str(payload.get("transport", card.transport)),
        player_connected=payload.get("player_connected", True) is not False,
    )


def _settings(card: VenueCard, payload: Mapping[str, Any]) -> VenueCard:
    name = payload.get("venue_name")
    volume = card.master_volume
    settings = payload.get("player_settings")
    if isinstance(settings, Mapping):
        value = settings.get("master_volume")
        if isinstance(value, int | float) and not isinstance(value, bool):
            volume = int(value)
    playlists = card.playlists
    given = payload.get("playlists")
    if isinstance(given, list):
        playlists = tuple(
            (str(p["playlist_id"]), str(p.get("name") or ""))
            for p in given
            if isinstance(p, Mapping) and isinstance(p.get("playlist_id"), str)
        )
    return replace(
        card,
        venue_name=name if isinstance(name, str) and name else card.venue_name,
        master_volume=volume,
        playlists=playlists,
    )
