"""Player instances and liveness: registration, the one active player, heartbeats,
the heartbeat audit and the position checkpoint.

The box is the player, but external players (a second screen, a browser player) may
register too. Exactly one instance is active: the first to register, or one that
registers while the active player is disconnected, or the one staff pick. Heartbeats
are volatile (memory only) until the runtime writes a `PositionCheckpoint`.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from appliance.core import messages as m
from appliance.core.handling import Step, require_staff, rule, table
from appliance.core.model import PlayerInstance, State, frozen_map
from appliance.core.outputs import Rejected

MAX_PLAYER_ID = 128


def _epoch(stamp: str) -> float:
    try:
        return datetime.fromisoformat(stamp).timestamp()
    except ValueError:
        return 0.0


def _valid_player_id(value: object) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_PLAYER_ID:
        raise Rejected("invalid_player_id", f"playerId must be 1-{MAX_PLAYER_ID} characters.")
    return value.strip()


def _activate(s: Step, player_id: str) -> None:
    """Make `player_id` the one active instance; every other one goes to standby."""
    instances = {
        k: replace(v, is_active=(k == player_id)) if v.is_active or k == player_id else v
        for k, v in s.state.player_instances.items()
    }
    s.set_state(player_instances=frozen_map(instances))
    s.set_venue(
        active_player_instance_id=player_id, player_connected=True, last_heartbeat_at=s.now_iso
    )


def _announce(s: Step, player_id: str, status: str) -> None:
    venue = s.venue
    s.emit(
        "SYSTEM_STATUS",
        status=status,
        player_id=player_id,
        active_player_instance_id=venue.active_player_instance_id,
    )
    s.emit("NOW_PLAYING_UPDATE")  # carries player_connected


def player_ready(s: Step, msg: m.PlayerReady) -> None:
    player_id = _valid_player_id(msg.player_id)
    venue = s.venue
    instances = dict(s.state.player_instances)
    active_id = venue.active_player_instance_id
    takes_over = (
        not active_id
        or active_id == player_id
        or active_id not in instances
        or not venue.player_connected
    )
    prior = instances.get(player_id)
    instances[player_id] = PlayerInstance(
        player_id=player_id,
        venue_id=venue.venue_id,
        kind=str(msg.kind)[:40],
        connected_at=s.now_iso,
        last_heartbeat_at=s.now_iso,
        is_active=prior.is_active if prior else False,
    )
    s.set_state(player_instances=frozen_map(instances))
    if takes_over:
        _activate(s, player_id)
    _announce(s, player_id, "player_ready")
    s.log("player_registered", player_id=player_id, kind=msg.kind, active=takes_over)
    s.reply = {
        "playerId": player_id,
        "active": takes_over,
        "activePlayerInstanceId": s.venue.active_player_instance_id,
    }


def activate_player(s: Step, msg: m.ActivatePlayer) -> None:
    require_staff(s)
    player_id = _valid_player_id(msg.player_id)
    if player_id not in s.state.player_instances:
        raise Rejected("not_found", "No such player instance.", 404)
    _activate(s, player_id)
    _announce(s, player_id, "player_activated")
    s.log("player_activated", player_id=player_id)
    s.reply = {"activePlayerInstanceId": player_id}


def _instance_heartbeat(s: Step, player_id: str) -> None:
    instance = s.state.player_instances.get(player_id)
    if instance is None:
        return
    instances = dict(s.state.player_instances)
    instances[player_id] = replace(instance, last_heartbeat_at=s.now_iso)
    s.set_state(player_instances=frozen_map(instances))


def heartbeat(s: Step, msg: m.Heartbeat) -> None:
    venue = s.venue
    s.durable = False
    active_id = venue.active_player_instance_id
    _instance_heartbeat(s, msg.player_id)
    if active_id and msg.player_id != active_id:
        return  # a standby player: alive, but it does not speak for the venue
    np = venue.now_playing
    changes: dict[str, object] = {"last_heartbeat_at": s.now_iso}
    if np is not None and msg.play_id == np.play_id:
        changes["now_playing"] = replace(np, position=max(0.0, float(msg.position)))
    if not venue.player_connected:
        changes["player_connected"] = True
        s.durable = True
        s.set_venue(**changes)
        s.emit("SYSTEM_STATUS", status="player_connected", player_id=msg.player_id)
        s.emit("NOW_PLAYING_UPDATE")
        s.log("player_reconnected", player_id=msg.player_id)
        return
    s.set_venue(**changes)


def position_checkpoint(s: Step, msg: m.PositionCheckpoint) -> None:
    np = s.venue.now_playing
    changes: dict[str, object] = {}
    if msg.last_heartbeat_at:
        changes["last_heartbeat_at"] = msg.last_heartbeat_at
    if np is not None and np.play_id == msg.play_id:
        changes["now_playing"] = replace(np, position=msg.position)
    s.set_venue(**changes)
    if msg.instance_heartbeats:
        instances = dict(s.state.player_instances)
        for player_id, stamp in msg.instance_heartbeats.items():
            if player_id in instances:
                instances[player_id] = replace(instances[player_id], last_heartbeat_at=stamp)
        s.set_state(player_instances=frozen_map(instances))
    s.durable = False


def tick(s: Step, msg: m.Tick) -> None:
    venue = s.venue
    last = _epoch(venue.last_heartbeat_at) if venue.last_heartbeat_at else 0.0
    if last and s.now < last:  # the clock went back: count the silence from now on
        s.set_venue(last_heartbeat_at=s.now_iso)
        s.durable = False
        return
    if venue.player_connected and last and s.now - last > msg.heartbeat_timeout:
        s.set_venue(player_connected=False)
        s.emit(
            "PLAYER_DISCONNECTED", venueId=venue.venue_id, last_heartbeat_at=venue.last_heartbeat_at
        )
        s.emit("NOW_PLAYING_UPDATE")
        s.log("player_disconnected", last_heartbeat_at=venue.last_heartbeat_at)
        return
    s.durable = False


def checkpoint_message(state: State) -> m.PositionCheckpoint | None:
    """The volatile part of `state` as a journalable message (None before setup)."""
    venue = state.venue
    if venue is None:
        return None
    np = venue.now_playing
    return m.PositionCheckpoint(
        play_id=np.play_id if np else "",
        position=np.position if np else 0.0,
        last_heartbeat_at=venue.last_heartbeat_at,
        instance_heartbeats=frozen_map(
            {k: v.last_heartbeat_at for k, v in state.player_instances.items()}
        ),
    )


HANDLERS = table(
    rule(m.PlayerReady, player_ready),
    rule(m.ActivatePlayer, activate_player),
    rule(m.Heartbeat, heartbeat),
    rule(m.PositionCheckpoint, position_checkpoint),
    rule(m.Tick, tick),
)
