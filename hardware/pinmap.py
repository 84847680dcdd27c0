"""The panel's `[panel]` config table: pin map and behaviour, validated before any GPIO is
touched.

    [panel]
    enabled = true
    volume_step = 2
    [panel.pins]          # BCM numbers; leave a device out to go without it
    encoder_a = 5
    encoder_b = 6
    emergency_stop = 17
    ...

Pins are BCM GPIO numbers only (0-27), each used once. Pins 18-21 carry I2S on most audio
HATs, so using one is allowed but warned about.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

DEFAULT_PINS: Mapping[str, int] = {
    "encoder_a": 5,
    "encoder_b": 6,
    "emergency_stop": 17,
    "play_pause": 27,
    "skip": 22,
    "status_led": 12,
    "amp_relay": 23,
}
PIN_ROLES = (
    "encoder_a",
    "encoder_b",
    "volume_up",
    "volume_down",
    "emergency_stop",
    "play_pause",
    "skip",
    "status_led",
    "amp_relay",
)
PIN_LABELS = {
    "encoder_a": "volume encoder A",
    "encoder_b": "volume encoder B",
    "volume_up": "VOLUME UP",
    "volume_down": "VOLUME DOWN",
    "emergency_stop": "EMERGENCY STOP",
    "play_pause": "PLAY/PAUSE",
    "skip": "SKIP",
    "status_led": "status LED",
    "amp_relay": "amplifier relay",
}
I2S_PINS = frozenset({18, 19, 20, 21})
BCM_RANGE = range(0, 28)


class PanelConfigError(ValueError):
    """The `[panel]` table cannot be used; the message names every problem."""


@dataclass(frozen=True)
class PanelConfig:
    enabled: bool = True
    pins: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_PINS))
    volume_step: int = 2  # per encoder detent or button step
    volume_accel_max: int = 4  # the step multiplies up to this when turned quickly
    volume_accel_window: float = 0.12  # s between detents that counts as "quickly"
    repeat_delay: float = 0.4  # s a volume button is held before it repeats
    repeat_every: float = 0.12  # s between repeats
    bounce_ms: int = 20  # edges closer than this after an accepted edge are ignored
    resume_hold: float = 2.0  # s on PLAY/PAUSE to release an emergency stop
    skip_hold: float = 1.5  # s on SKIP for a fade-out stop
    double_press_window: float = 0.8  # s: a second SKIP this soon skips the same track
    relay_idle_off: float = 600.0  # s of silence before the amplifier is switched off
    relay_active_high: bool = True
    led_active_high: bool = True
    error_show: float = 10.0  # s the LED shows a player error

    def pin(self, role: str) -> int | None:
        return self.pins.get(role)


_NUMBERS: dict[str, tuple[type, float, float]] = {
    "volume_step": (int, 1, 50),
    "volume_accel_max": (int, 1, 10),
    "volume_accel_window": (float, 0.0, 2.0),
    "repeat_delay": (float, 0.01, 5.0),
    "repeat_every": (float, 0.01, 5.0),
    "bounce_ms": (int, 0, 100),
    "resume_hold": (float, 0.1, 10.0),
    "skip_hold": (float, 0.1, 10.0),
    "double_press_window": (float, 0.0, 5.0),
    "relay_idle_off": (float, 0.0, 86400.0),
    "error_show": (float, 0.0, 3600.0),
}
_BOOLS = ("enabled", "relay_active_high", "led_active_high")
_KEYS = {f.name for f in fields(PanelConfig)}


def _number(key: str, value: Any, errors: list[str]) -> float | int | None:
    kind, lo, hi = _NUMBERS[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        errors.append(f"panel.{key} must be a number, not {value!r}")
        return None
    if kind is int and value != int(value):
        errors.append(f"panel.{key} must be a whole number, not {value!r}")
        return None
    if not lo <= value <= hi:
        errors.append(f"panel.{key} must be from {lo:g} to {hi:g}, not {value!r}")
        return None
    return kind(value)


def _pin_map(raw: Any, errors: list[str], warnings: list[str]) -> dict[str, int]:
    if raw is None:
        return dict(DEFAULT_PINS)
    if not isinstance(raw, Mapping):
        errors.append("panel.pins must be a table of role = BCM number")
        return {}
    pins: dict[str, int] = {}
    for role, value in raw.items():
        if role not in PIN_ROLES:
            errors.append(f"panel.pins.{role}: unknown role (known: {', '.join(PIN_ROLES)})")
        elif isinstance(value, bool) or not isinstance(value, int):
            errors.append(
                f"panel.pins.{role} = {value!r}: use a BCM GPIO number (0-27), "
                "not a header pin name or text"
            )
        elif value not in BCM_RANGE:
            errors.append(f"panel.pins.{role} = {value}: BCM GPIO numbers run from 0 to 27")
        else:
            pins[role] = value
    users: dict[int, list[str]] = {}
    for role, pin in pins.items():
        users.setdefault(pin, []).append(role)
    for pin, roles in sorted(users.items()):
        if len(roles) > 1:
            errors.append(f"GPIO{pin} is used twice: {' and '.join(roles)}")
        elif pin in I2S_PINS:
            warnings.append(
                f"panel.pins.{roles[0]} = GPIO{pin} is an I2S pin (18-21) that audio HATs "
                "use; move it if this box has one"
            )
    if ("encoder_a" in pins) != ("encoder_b" in pins):
        errors.append("panel.pins: the volume encoder needs both encoder_a and encoder_b")
    return pins


def parse_panel_config(section: Mapping[str, Any]) -> tuple[PanelConfig, list[str]]:
    """The validated panel config and its warnings; raises PanelConfigError listing
    every problem at once, so one edit fixes the file."""
    errors: list[str] = []
    warnings: list[str] = []
    values: dict[str, Any] = {}
    for key, value in section.items():
        if key not in _KEYS:
            errors.append(f"panel.{key}: unknown setting")
        elif key == "pins":
            values["pins"] = _pin_map(value, errors, warnings)
        elif key in _BOOLS:
            if isinstance(value, bool):
                values[key] = value
            else:
                errors.append(f"panel.{key} must be true or false, not {value!r}")
        else:
            number = _number(key, value, errors)
            if number is not None:
                values[key] = number
    if errors:
        raise PanelConfigError("; ".join(errors))
    return PanelConfig(**values), warnings
