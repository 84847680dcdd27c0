"""Transport: what plays, advancing, and the player's reports.

Desired state (`venue.transport`, set by commands) and actual state (`now_playing.state`,
`position`, set by the player's reports) are separate fields. Every track start gets a
fresh `play_id`; an end, error or skip naming another one changes nothing.
"""

from __future__ import annotations

from dataclasses import replace

from appliance.core import messages as m
from appliance.core import queue
from appliance.core.engine import Step, handles, require_staff
from appliance.core.model import HistoryEntry, NowPlaying, QueueItem, Venue
from appliance.core.outputs import (
    ApplySettings,
    EmergencyStop,
    FadeOutStop,
    Pause,
    PlayTrack,
    Prefetch,
    Rejected,
    Resume,
    Seek,
    StopPlayback,
)

HISTORY_LIMIT = 100
PREFETCH_AHEAD = 3
RESTART_THRESHOLD = 3.0  # PLAY_PREVIOUS restarts the track past this many seconds


def queue_changed(s: Step) -> None:
    s.emit("QUEUE_UPDATE")
    s.effect(Prefetch(queue.upcoming(s.venue, PREFETCH_AHEAD)))


def refill_from_default(s: Step) -> bool:
    """Never silent: both queues empty -> the default playlist refills the active queue."""
    venue = s.venue
    playlist = s.state.playlists.get(venue.default_playlist_id)
    if playlist is None or not playlist.tracks:
        return False
    tracks = sorted(playlist.tracks, key=lambda t: t.order)
    at = s.now_iso
    items = tuple(
        QueueItem(
            id=i,
            video_id=t.video_id,
            title=t.title,
            artist=t.artist,
            duration=t.duration,
            thumbnail=t.thumbnail,
            added_by_user_id="system",
            added_at=at,
        )
        for i, t in zip(s.next_ids("q", len(tracks)), tracks, strict=True)
    )
    settings = venue.player_settings
    if settings.shuffle_enabled:
        s.set_venue(
            active_queue=queue.shuffled(items, settings.shuffle_seed),
            base_order=tuple(i.id for i in items),
        )
    else:
        s.set_venue(active_queue=items)
    s.log("queue_refilled", playlist_id=playlist.playlist_id, tracks=len(items))
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
        changes["active_queue"] = venue.active_queue + (item,)
        if venue.player_settings.shuffle_enabled:
            changes["base_order"] = venue.base_order + (item.id,)
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


def _current(s: Step) -> NowPlaying | None:
    return s.venue.now_playing


def _matches(s: Step, play_id: str) -> bool:
    np = _current(s)
    return np is not None and bool(play_id) and np.play_id == play_id


# --- UI commands ----------------------------------------------------------------------


def _int_value(value: object, lo: int, hi: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise Rejected("invalid_value", f"{what} must be a whole number from {lo} to {hi}.")
    if not lo <= int(value) <= hi:
        raise Rejected("out_of_range", f"{what} must be from {lo} to {hi}.")
    return int(value)


def _set_settings(s: Step, **changes: object) -> None:
    settings = replace(s.venue.player_settings, **changes)
    s.set_venue(player_settings=settings)
    s.effect(ApplySettings(settings))
    s.emit("PLAYER_SETTINGS_UPDATE")


def _play(s: Step) -> None:
    venue = s.venue
    if venue.transport == "emergency":
        raise Rejected("emergency_stop_active", "Emergency stop is on; press Resume first.", 409)
    np = venue.now_playing
    was = venue.transport
    s.set_venue(transport="playing")
    if np is None:
        advance(s, "cut")
    elif was == "paused":
        s.effect(Resume())
    elif was != "playing":
        s.effect(PlayTrack(np.play_id, np.as_item(), np.position, "cut"))


def _resume(s: Step) -> None:
    np = s.venue.now_playing
    was = s.venue.transport
    s.set_venue(transport="playing")
    if np is None:
        advance(s, "cut")
    elif was == "paused":
        s.effect(Resume())
    else:  # after an emergency or fade-out stop the decks are empty: reload where it was
        s.effect(PlayTrack(np.play_id, np.as_item(), np.position, "cut"))


def _skip(s: Step, play_id: str) -> bool:
    """Skip the current track; one naming another `play_id` is a no-op (False)."""
    if play_id and not _matches(s, play_id):
        s.reply = {"skipped": False, "reason": "stale_play_id"}
        s.durable = False
        return False
    previous = _current(s)
    advance(s, "skip")
    s.reply = {"skipped": True, "from": previous.play_id if previous else ""}
    return True


def _previous(s: Step) -> None:
    venue = s.venue
    np = venue.now_playing
    if np is not None and np.position > RESTART_THRESHOLD:
        s.set_venue(now_playing=replace(np, position=0.0))
        s.effect(Seek(0.0))
        s.emit("NOW_PLAYING_UPDATE")
        return
    if not venue.history:
        raise Rejected("no_previous", "There is no previous track.", 409)
    entry = venue.history[-1]
    changes: dict[str, object] = {"history": venue.history[:-1]}
    active = venue.active_queue
    # under repeat the previous track was just recycled to the end: look there first
    at = queue.index_of(active, entry.item.id, len(active) - 1)
    if at >= 0:
        active = active[:at] + active[at + 1 :]
    priority = venue.priority_queue
    if np is not None:  # the current track goes back to the front of where it came from
        if np.source == "priority":
            priority = (np.as_item(),) + priority
        else:
            active = (np.as_item(),) + active
    changes.update(active_queue=active, priority_queue=priority, now_playing=None)
    s.set_venue(**changes)
    start_item(s, entry.item, entry.source, "skip")


def toggle_shuffle(s: Step) -> None:
    venue = s.venue
    settings = venue.player_settings
    if settings.shuffle_enabled:
        active = queue.restore_order(venue.active_queue, venue.base_order)
        s.set_venue(active_queue=active, base_order=())
        _set_settings(s, shuffle_enabled=False)
    else:
        seed = (int(s.now * 1000) ^ (s.state.seq * 2654435761)) & 0x7FFFFFFF
        base = tuple(map(queue.item_id, venue.active_queue))
        s.set_venue(active_queue=queue.shuffled(venue.active_queue, seed), base_order=base)
        _set_settings(s, shuffle_enabled=True, shuffle_seed=seed)
    queue_changed(s)


_TRANSPORT_COMMANDS = frozenset(
    {"PLAY_PAUSE", "PLAY", "PAUSE", "RESUME", "EMERGENCY_STOP", "FADE_OUT_STOP"}
)
_REPEAT_CYCLE = {"all": "one", "one": "none", "none": "all"}


def _seek(s: Step, value: object) -> None:
    np = _current(s)
    if np is None:
        raise Rejected("nothing_playing", "Nothing is playing.", 409)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise Rejected("invalid_value", "SEEK needs a position in seconds.")
    position = float(value)
    if np.duration and position > np.duration:
        raise Rejected("out_of_range", f"Position must be within 0-{np.duration} s.")
    s.set_venue(now_playing=replace(np, position=position))
    s.effect(Seek(position))
    s.emit("NOW_PLAYING_UPDATE")


@handles(m.UiCommand)
def ui_command(s: Step) -> None:
    msg = s.msg
    assert isinstance(msg, m.UiCommand)
    cmd = msg.command
    if cmd not in m.UI_COMMANDS:
        raise Rejected("unknown_command", f"Unknown command {cmd!r}.")
    if cmd not in ("PLAY_NEXT",) or msg.actor.source != "player":
        require_staff(s)
    settings = s.venue.player_settings
    if cmd == "PLAY_PAUSE":
        if s.venue.transport == "playing":
            s.set_venue(transport="paused")
            s.effect(Pause())
        else:
            _play(s)
    elif cmd == "PLAY":
        _play(s)
    elif cmd == "PAUSE":
        if s.venue.transport == "playing":
            s.set_venue(transport="paused")
            s.effect(Pause())
    elif cmd == "RESUME":
        _resume(s)
    elif cmd == "PLAY_NEXT":
        if not _skip(s, msg.play_id or (msg.value if isinstance(msg.value, str) else "")):
            return  # a second window's skip of a track already gone: nothing happens
    elif cmd == "PLAY_PREVIOUS":
        _previous(s)
    elif cmd == "SET_VOLUME":
        _set_settings(s, master_volume=_int_value(msg.value, 0, 100, "Volume"))
    elif cmd == "MUTE_TOGGLE":
        _set_settings(s, is_muted=not settings.is_muted)
    elif cmd == "SEEK":
        _seek(s, msg.value)
    elif cmd == "SHUFFLE_TOGGLE":
        toggle_shuffle(s)
    elif cmd == "REPEAT_TOGGLE":
        _set_settings(s, repeat_mode=_REPEAT_CYCLE.get(settings.repeat_mode, "all"))
    elif cmd == "EMERGENCY_STOP":
        s.set_venue(transport="emergency")
        s.effect(EmergencyStop())
    elif cmd == "FADE_OUT_STOP":
        s.set_venue(transport="stopped")
        s.effect(FadeOutStop(float(settings.fade_out_time)))
    if cmd in _TRANSPORT_COMMANDS:
        s.emit("NOW_PLAYING_UPDATE")  # transport intent is part of the now-playing view
    s.log("ui_command", command=cmd, value=msg.value)
    if s.reply is None:
        s.reply = {"command": cmd, "transport": s.venue.transport}


# --- facts from the player -------------------------------------------------------------


@handles(m.TrackStarted)
def track_started(s: Step) -> None:
    msg = s.msg
    assert isinstance(msg, m.TrackStarted)
    np = _current(s)
    if not _matches(s, msg.play_id) or np is None or np.state == "playing":
        s.durable = False
        return
    s.set_venue(now_playing=replace(np, state="playing", start_timestamp=s.now_iso))
    s.emit("NOW_PLAYING_UPDATE")


@handles(m.PlayerStatus)
def player_status(s: Step) -> None:
    msg = s.msg
    assert isinstance(msg, m.PlayerStatus)
    np = _current(s)
    if not _matches(s, msg.play_id) or np is None:
        s.durable = False
        return
    changes: dict[str, object] = {"position": max(0.0, float(msg.position))}
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


@handles(m.TrackEnded)
def track_ended(s: Step) -> None:
    msg = s.msg
    assert isinstance(msg, m.TrackEnded)
    np = _current(s)
    if not _matches(s, msg.play_id) or np is None:
        s.durable = False
        s.reply = {"advanced": False}
        return
    if s.venue.player_settings.repeat_mode == "one":
        s.set_venue(now_playing=None)
        start_item(s, np.as_item(), np.source, "crossfade")
    else:
        advance(s, "crossfade")
    s.reply = {"advanced": True}


@handles(m.PlayerError)
def player_error(s: Step) -> None:
    msg = s.msg
    assert isinstance(msg, m.PlayerError)
    np = _current(s)
    if not _matches(s, msg.play_id) or np is None:
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


@handles(m.Boot)
def boot(s: Step) -> None:
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
