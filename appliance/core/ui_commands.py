"""`POST /api/ui/command`: transport intent, volume, shuffle/repeat, the two stops.

Commands set what staff want (`venue.transport`, settings) and emit the effects the
player executes; what the player then reports is handled in `transport.py`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from appliance.core import messages as m
from appliance.core import queue
from appliance.core.handling import Step, require_staff, rule, table
from appliance.core.item_ids import ids_of
from appliance.core.outputs import (
    ApplySettings,
    EmergencyStop,
    FadeOutStop,
    Pause,
    PlayTrack,
    Rejected,
    Resume,
    Seek,
)
from appliance.core.transport import (
    RESTART_THRESHOLD,
    advance,
    current,
    matches,
    queue_changed,
    start_item,
)

# --- UI commands ----------------------------------------------------------------------


def _int_value(value: object, lo: int, hi: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise Rejected("invalid_value", f"{what} must be a whole number from {lo} to {hi}.")
    if not lo <= int(value) <= hi:
        raise Rejected("out_of_range", f"{what} must be from {lo} to {hi}.")
    return int(value)


def _set_settings(s: Step, **changes: Any) -> None:
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
    if play_id and not matches(s, play_id):
        s.reply = {"skipped": False, "reason": "stale_play_id"}
        s.durable = False
        return False
    previous = current(s)
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
        active = queue.remove_at(active, at)
    priority = venue.priority_queue
    if np is not None:  # the current track goes back to the front of where it came from
        if np.source == "priority":
            priority = (np.as_item(),) + priority
        else:
            active = queue.prepend(np.as_item(), active)
    changes.update(active_queue=active, priority_queue=priority, now_playing=None)
    s.set_venue(**changes)
    start_item(s, entry.item, entry.source, "skip")


def toggle_shuffle(s: Step) -> None:
    venue = s.venue
    settings = venue.player_settings
    if settings.shuffle_enabled:
        active = queue.restore_order(venue.active_queue, venue.base_order)
        s.set_venue(active_queue=active, base_order=())
        # the next shuffle's seed, known now so the runtime can draw it at idle
        _set_settings(s, shuffle_enabled=False, shuffle_seed=_new_seed(s))
    else:
        seed = queue.next_seed(venue)
        base = ids_of(venue.active_queue)
        s.set_venue(active_queue=queue.shuffled(venue.active_queue, seed), base_order=base)
        _set_settings(s, shuffle_enabled=True, shuffle_seed=seed)
    queue_changed(s)


def _new_seed(s: Step) -> int:
    return (int(s.now * 1000) ^ (s.state.seq * 2654435761)) & 0x7FFFFFFF or 1


_TRANSPORT_COMMANDS = frozenset(
    {"PLAY_PAUSE", "PLAY", "PAUSE", "RESUME", "EMERGENCY_STOP", "FADE_OUT_STOP"}
)
_REPEAT_CYCLE = {"all": "one", "one": "none", "none": "all"}


def _seek(s: Step, value: object) -> None:
    np = current(s)
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


def ui_command(s: Step, msg: m.UiCommand) -> None:
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


HANDLERS = table(
    rule(m.UiCommand, ui_command),
)
