"""Schedule routes: the console's calendar reads `schedule_data`. Its edits are the
command `POST /api/schedule/update`, in the command table (`web/commands.py`)."""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, Response, jsonify

from appliance.core.codec import to_data
from appliance.core.schedule import Slot, in_force
from appliance.runtime_port import RuntimePort
from web.auth import session_required
from web.context import console
from web.errors import ApiError

bp = Blueprint("schedule", __name__)


def _slot(slot: Slot | None) -> dict[str, Any] | None:
    if slot is None:
        return None
    return {
        "entryId": slot.entry_id,
        "action": slot.action,
        "start": slot.start,
        "end": slot.end,
        **to_data(slot.params),
    }


def _now(runtime: RuntimePort) -> float:
    clock = getattr(runtime, "clock", None)  # not in the port: a remote console's has none
    return clock() if callable(clock) else time.time()


@bp.get("/api/schedule")
@session_required
def read() -> Response:
    c = console()
    state = c.runtime.state
    if state.venue is None:
        raise ApiError("not_set_up", "The venue is not set up yet.", 409)
    default_tz = str(c.config.section("scheduler").get("timezone", c.config.timezone))
    force = in_force(state.venue.schedule_data, _now(c.runtime), default_tz)
    now = {k: _slot(getattr(force, k)) for k in ("playlist", "volume", "audio", "event_mode")}
    return jsonify(
        {
            "rev": state.rev,
            "schedule": to_data(state.venue.schedule_data),
            "timezone": state.venue.schedule_data.get("timezone") or default_tz,
            "inForce": {**now, "audioOn": force.audio_on},
        }
    )
