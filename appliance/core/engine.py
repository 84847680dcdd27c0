"""`step(state, message, now) -> Outcome`: the one place where venue rules live.

Pure: no I/O, no clock reads, no randomness but the seeded kind. Handlers live in small
modules (transport, queue ops, requests, settings, playlists, users) and register here.
A handler gets a `Step`, a scratch pad local to one call, and either records changes on
it or raises `Rejected`, in which case nothing at all changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from appliance.core import messages as m
from appliance.core.model import LogEntry, State, Venue, frozen_map
from appliance.core.outputs import Effect, Event, Outcome, Rejected


def iso(now: float) -> str:
    return (
        datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


@dataclass
class Step:
    state: State
    msg: m.Message
    now: float
    events: list[Event] = field(default_factory=list)
    effects: list[Effect] = field(default_factory=list)
    reply: Any = None
    durable: bool = True

    @property
    def now_iso(self) -> str:
        return iso(self.now)

    @property
    def venue(self) -> Venue:
        if self.state.venue is None:
            raise Rejected("not_set_up", "The venue is not set up yet.", 409)
        return self.state.venue

    def set_venue(self, **changes: Any) -> Venue:
        venue = replace(self.venue, **changes)
        self.state = replace(self.state, venue=venue)
        return venue

    def set_state(self, **changes: Any) -> State:
        self.state = replace(self.state, **changes)
        return self.state

    def next_id(self, prefix: str) -> str:
        seq = self.state.seq + 1
        self.state = replace(self.state, seq=seq)
        return f"{prefix}{seq}"

    def next_ids(self, prefix: str, n: int) -> list[str]:
        """`n` fresh ids in one state update (loading 20,000 tracks stays cheap)."""
        first = self.state.seq + 1
        self.state = replace(self.state, seq=self.state.seq + n)
        return [f"{prefix}{i}" for i in range(first, first + n)]

    def emit(self, event_type: str, **payload: Any) -> None:
        """Record an event; a payload-less one (rendered from state) is recorded once."""
        if not payload and any(e.type == event_type and not e.payload for e in self.events):
            return
        self.events.append(Event(event_type, frozen_map(payload)))

    def effect(self, effect: Effect) -> None:
        self.effects.append(effect)

    def log(self, event_type: str, **data: Any) -> LogEntry:
        actor = self.msg.actor
        entry = LogEntry(
            log_id=self.next_id("l"),
            timestamp=self.now_iso,
            event_type=event_type,
            user_id=actor.user_id,
            venue_id=self.state.venue.venue_id if self.state.venue else "",
            event_data=frozen_map(data),
            ip_address=actor.ip_address,
            user_agent=actor.user_agent,
            session_id=actor.session_id,
        )
        log = self.state.activity_log + (entry,)
        if len(log) > self.state.log_retention:
            log = log[len(log) - self.state.log_retention :]
        self.state = replace(self.state, activity_log=log)
        self.events.append(Event("LOG_ENTRY", frozen_map({"entry": entry})))
        return entry

    def touch(self) -> None:
        if self.state.venue is not None:
            self.state = replace(
                self.state, venue=replace(self.state.venue, last_updated=self.now_iso)
            )


Handler = Callable[[Step], None]
HANDLERS: dict[type[m.Message], Handler] = {}


def handles(*types: type[m.Message]) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        for t in types:
            HANDLERS[t] = fn
        return fn

    return register


def require_staff(s: Step) -> None:
    if not s.msg.actor.is_staff:
        raise Rejected("forbidden", "Only staff can do that.", 403)


def require_admin(s: Step) -> None:
    if s.msg.actor.role != "admin":
        raise Rejected("forbidden", "Only an admin can do that.", 403)


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


def step(state: State, msg: m.Message, now: float) -> Outcome:
    """Apply one message. Raises `Rejected` (and changes nothing) for a refused command."""
    _load_handlers()
    handler = HANDLERS.get(type(msg))
    if handler is None:
        raise Rejected("unknown_message", f"Unknown message {type(msg).__name__}.")
    _check_guards(state, msg)
    s = Step(state=state, msg=msg, now=now)
    handler(s)
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


_loaded = False


def _load_handlers() -> None:
    # Handler modules register themselves on import; imported lazily to avoid a cycle.
    global _loaded
    if not _loaded:
        from appliance.core import (  # noqa: F401
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

        _loaded = True
