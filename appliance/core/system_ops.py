"""Maintenance and restore: activity-log retention, and replacing the whole state with
a validated backup through the single writer (so `rev` keeps rising and every listener
hears about it)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime

from appliance.core import messages as m
from appliance.core import queue
from appliance.core.codec import from_data
from appliance.core.events import ON_RESTORE
from appliance.core.handling import Step, require_admin, rule, table
from appliance.core.model import State
from appliance.core.outputs import ApplySettings, PlayTrack, Prefetch, Rejected, StopPlayback


def prune_activity_log(s: Step, msg: m.PruneActivityLog) -> None:
    require_admin(s)
    try:
        datetime.fromisoformat(msg.before.replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        raise Rejected("invalid_value", "before must be an ISO 8601 time.") from None
    # Stamps are all "...Z" in one format, so text order is time order.
    log = s.state.activity_log
    kept = tuple(e for e in log if e.timestamp >= msg.before)
    if len(kept) == len(log):
        s.durable = False
        s.reply = {"removed": 0}
        return
    s.set_state(activity_log=kept)
    s.reply = {"removed": len(log) - len(kept)}
    s.log("activity_log_pruned", removed=len(log) - len(kept), before=msg.before)


def restored_state(data: Mapping[str, object]) -> State:
    """The State a backup describes, or `Rejected` when it is not one."""
    try:
        state = from_data(State, data)
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise Rejected("invalid_backup", f"The backup's state is not readable: {exc}") from None
    if not isinstance(state, State) or state.venue is None:
        raise Rejected("invalid_backup", "The backup holds no venue.")
    return state


def restore_state(s: Step, msg: m.RestoreState) -> None:
    require_admin(s)
    current = s.state
    restored = msg.state
    if not isinstance(restored, State) or restored.venue is None:
        raise Rejected("invalid_backup", "The backup holds no venue.")
    # rev stays ours (the runtime bumps it); seq never goes back, so new ids stay fresh.
    s.state = replace(restored, rev=current.rev, seq=max(current.seq, restored.seq))
    venue = s.venue
    for event in ON_RESTORE:
        s.emit(event)
    s.emit("PLAYLIST_CONTENT_UPDATE", playlist_id="", action="restore")
    s.emit("SYSTEM_STATUS", status="restore_complete", rev=current.rev + 1)
    s.effect(ApplySettings(venue.player_settings))
    np = venue.now_playing
    if np is not None and venue.transport in ("playing", "paused"):
        paused = venue.transport == "paused"
        s.effect(PlayTrack(np.play_id, np.as_item(), np.position, "cut", paused=paused))
        s.effect(Prefetch(queue.upcoming(venue, 3)))
    else:
        s.effect(StopPlayback())
    s.log("state_restored", playlists=len(s.state.playlists), log_entries=len(s.state.activity_log))
    s.reply = {"rev_before": current.rev}


HANDLERS = table(
    rule(m.PruneActivityLog, prune_activity_log),
    rule(m.RestoreState, restore_state),
)
