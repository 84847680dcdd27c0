"""Transport: what plays, advancing, and the player's reports.

Desired state (`venue.transport`, set by commands) and actual state (`now_playing.state`,
`position`, set by the player's reports) are separate fields. Every track start gets a
fresh `play_id`; an end, error or skip naming another one changes nothing.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from appliance.core import messages as m
from appliance.core import queue
from appliance.core.handling import Step, rule, table
from appliance.core.item_ids import remember
from appliance.core.model import HistoryEntry, NowPlaying, Playlist, QueueItem, Venue
from appliance.core.outputs import (
    ApplySettings,
    PlayTrack,
    Prefetch,
    StopPlayback,
)

HISTORY_LIMIT = 100
PREFETCH_AHEAD = 3
RESTART_THRESHOLD = 3.0  # PLAY_PREVIOUS restarts the track past this many seconds


def queue_changed(s: Step) -> None:
    s.emit("QUEUE_UPDATE")
    s.effect(Prefetch(queue.upcoming(s.venue, PREFETCH_AHEAD)))


def fill_active_queue(s: Step, playlist: Playlist, added_by: str) -> int:
    """The active queue becomes `playlist`'s tracks as fresh items (shuffled when shuffle
    is on, keeping the playlist order to restore). The priority queue is never touched."""
    at = s.now_iso
    ids = tuple(s.next_ids("q", len(playlist.tracks)))
    items = tuple(
        QueueItem(
            id=i,
            video_id=t.video_id,
            title=t.title,
            artist=t.artist,
            duration=t.duration,
            thumbnail=t.thumbnail,
            added_by_user_id=added_by,
            added_at=at,
        )
        for i, t in zip(ids, playlist.tracks, strict=True)
    )
    remember(items, ids)
    settings = s.venue.player_settings
    if settings.shuffle_enabled:
        s.set_venue(
            active_queue=queue.shuffled(items, settings.shuffle_seed),
            base_order=ids,
        )
    else:
        s.set_venue(active_queue=items, base_order=())
    return len(items)


def refill_from_default(s: Step) -> bool:
    """Never silent: both queues empty -> the default playlist refills the active queue."""
    playlist = s.state.playlists.get(s.venue.default_playlist_id)
    if playlist is None or not playlist.tracks:
        return False
    count = fill_active_queue(s, playlist, "system")
    s.log("queue_refilled", playlist_id=playlist.playlist_id, tracks=count)
    return True


def _retire_current(s: Step) -> None:
    """The current track leaves the stage: into history, and back into the rotation
    when it came from the active queue, unless repeat is `none` (under `one` a track
    leaves only by a skip, and skipping it must not shrink the rotation)."""
    venue = s.venue
    np = venue.now_playing
    if np is None:
        return
    item = np.as_item()
    history = venue.history + (HistoryEntry(item, np.source, np.start_timestamp, s.now),)
    changes: dict[str, object] = {"history": history[-HISTORY_LIMIT:], "now_playing": None}
    if np.source == "active" and venue.player_settings.repeat_mode != "none":
        if venue.player_settings.shuffle_enabled:
            active, base = queue.append_listed(venue.active_queue, item, venue.base_order)
            changes.update(active_queue=active, base_order=base)
        else:
            changes["active_queue"] = queue.append(venue.active_queue, item)
    s.set_venue(**changes)


def start_item(
    s: Step, item: QueueItem, source: str, transition: str, start_at: float = 0.0
) -> None:
    play_id = s.next_id("p")
    np = NowPlaying(
        video_id=item.video_id,
        title=item.title,
        artist=item.artist,
        duration=item.duration,
        thumbnail=item.thumbnail,
        start_timestamp=s.now_iso,
        state="buffering",
        play_id=play_id,
        queue_item_id=item.id,
        source=source,
        added_by_user_id=item.added_by_user_id,
        position=start_at,
    )
    s.set_venue(now_playing=np)
    paused = s.venue.transport != "playing"
    s.effect(PlayTrack(play_id, item, start_at, transition, paused))
    s.emit("NOW_PLAYING_UPDATE")
    s.log(
        "playback_started", video_id=item.video_id, title=item.title, play_id=play_id, source=source
    )
    queue_changed(s)


def advance(s: Step, transition: str) -> None:
    """Retire the current track and start the next; refill or go quiet when none."""
    _retire_current(s)
    item, source, venue = queue.next_item(s.venue)
    if item is None and refill_from_default(s):
        item, source, venue = queue.next_item(s.venue)
    if item is None:
        s.set_venue(now_playing=None)
        s.effect(StopPlayback())
        s.emit("NOW_PLAYING_UPDATE")
        queue_changed(s)
        return
    s.state = replace(s.state, venue=venue)
    start_item(s, item, source, transition)


def current(s: Step) -> NowPlaying | None:
    return s.venue.now_playing


def matches(s: Step, play_id: str) -> bool:
    np = current(s)
    return np is not None and bool(play_id) and np.play_id == play_id


# --- facts from the player -------------------------------------------------------------


def track_started(s: Step, msg: m.TrackStarted) -> None:
    np = current(s)
    if not matches(s, msg.play_id) or np is None or np.state == "playing":
        s.durable = False
        return
    s.set_venue(now_playing=replace(np, state="playing", start_timestamp=s.now_iso))
    s.emit("NOW_PLAYING_UPDATE")


def player_status(s: Step, msg: m.PlayerStatus) -> None:
    np = current(s)
    if not matches(s, msg.play_id) or np is None:
        s.durable = False
        return
    changes: dict[str, Any] = {"position": max(0.0, float(msg.position))}
    visible = False
    if msg.state in ("playing", "paused", "buffering", "stopped") and msg.state != np.state:
        changes["state"] = msg.state
        visible = True
    if msg.duration and not np.duration:
        changes["duration"] = int(msg.duration)
        visible = True
    s.set_venue(now_playing=replace(np, **changes))
    if visible:
        s.emit("NOW_PLAYING_UPDATE")
    else:
        s.durable = False  # position only: memory now, disk at the next checkpoint


def track_ended(s: Step, msg: m.TrackEnded) -> None:
    np = current(s)
    if not matches(s, msg.play_id) or np is None:
        s.durable = False
        s.reply = {"advanced": False}
        return
    if s.venue.player_settings.repeat_mode == "one":
        s.set_venue(now_playing=None)
        start_item(s, np.as_item(), np.source, "crossfade")
    else:
        advance(s, "crossfade")
    s.reply = {"advanced": True}


def player_error(s: Step, msg: m.PlayerError) -> None:
    np = current(s)
    if not matches(s, msg.play_id) or np is None:
        s.durable = False
        s.reply = {"advanced": False}
        return
    s.log(
        "player_error",
        video_id=np.video_id,
        play_id=np.play_id,
        error_code=msg.error_code,
        detail=msg.detail,
    )
    advance(s, "cut")
    s.reply = {"advanced": True}


def boot(s: Step, msg: m.Boot) -> None:
    venue = s.state.venue
    if venue is None:
        s.durable = False
        return
    s.effect(ApplySettings(venue.player_settings))
    np = venue.now_playing
    if np is not None and venue.transport in ("playing", "paused"):
        s.effect(
            PlayTrack(
                np.play_id, np.as_item(), np.position, "cut", paused=venue.transport == "paused"
            )
        )
        s.effect(Prefetch(queue.upcoming(venue, PREFETCH_AHEAD)))
        s.durable = False
    elif np is None and venue.transport == "playing":
        advance(s, "cut")
    else:
        s.durable = False


def venue_is_idle(venue: Venue) -> bool:
    return venue.now_playing is None and venue.transport == "playing"


HANDLERS = table(
    rule(m.TrackStarted, track_started),
    rule(m.PlayerStatus, player_status),
    rule(m.TrackEnded, track_ended),
    rule(m.PlayerError, player_error),
    rule(m.Boot, boot),
)
