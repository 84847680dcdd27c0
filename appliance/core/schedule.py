"""`schedule_data`: weekly rules and one-off events, validated before they are stored."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from appliance.core.model import frozen_map
from appliance.core.outputs import Rejected


def validate_schedule(data: Any) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise Rejected("invalid_schedule", "scheduleData must be an object.")
    for key in ("rules", "events"):
        if key in data and not isinstance(data[key], list):
            raise Rejected("invalid_schedule", f"scheduleData.{key} must be a list.")
    return frozen_map(data)
