"""`step(state, message, now) -> Outcome`: the one place where venue rules live.

Pure: no I/O, no clock reads, no randomness but the seeded kind. The rules live in small
modules (transport, queue ops, requests, settings, playlists, users, ...), each exporting a
typed `HANDLERS` table (`handling.py`); the engine merges them here, refusing a message
type filed twice, and dispatches each message to the one handler for its type.
"""

from __future__ import annotations

from appliance.core import (
    announcements,
    content_ops,
    players,
    playlists,
    settings,
    system_ops,
    transport,
    ui_commands,
    users,
    venue_ops,
)
from appliance.core import messages as m
from appliance.core.handling import HandlerTable, Step, iso, merge_tables
from appliance.core.model import State
from appliance.core.outputs import Outcome, Rejected

__all__ = ["HANDLERS", "iso", "step"]

HANDLERS: HandlerTable = merge_tables(
    announcements.HANDLERS,
    content_ops.HANDLERS,
    players.HANDLERS,
    playlists.HANDLERS,
    settings.HANDLERS,
    system_ops.HANDLERS,
    transport.HANDLERS,
    ui_commands.HANDLERS,
    users.HANDLERS,
    venue_ops.HANDLERS,
)


def _check_guards(state: State, msg: m.Message) -> None:
    if msg.expected_rev is not None and msg.expected_rev != state.rev:
        raise Rejected(
            "stale_rev",
            f"The state changed (rev {state.rev}); refresh and retry.",
            409,
            rev=state.rev,
        )
    if msg.expected_play_id is not None:
        np = state.venue.now_playing if state.venue else None
        current = np.play_id if np else ""
        if msg.expected_play_id != current:
            raise Rejected(
                "stale_play_id", "That track is no longer playing.", 409, play_id=current
            )


def step(state: State, msg: m.Message, now: float, handlers: HandlerTable = HANDLERS) -> Outcome:
    """Apply one message. Raises `Rejected` (and changes nothing) for a refused command."""
    handler = handlers.get(type(msg))
    if handler is None:
        raise Rejected("unknown_message", f"Unknown message {type(msg).__name__}.")
    _check_guards(state, msg)
    s = Step(state=state, msg=msg, now=now)
    handler(s, msg)
    if s.durable and s.state is not state:
        s.touch()
        if not s.events:  # every rev must reach listeners, or they cannot see a gap close
            s.emit("SYSTEM_STATUS", status="state_changed", message=type(msg).__name__)
    return Outcome(
        state=s.state,
        events=tuple(s.events),
        effects=tuple(s.effects),
        reply=s.reply,
        durable=s.durable,
    )
