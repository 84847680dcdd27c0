"""`POST /api/settings/update`: each setting validated by type and range; unknown -> error."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from appliance.core import messages as m
from appliance.core.handling import Step, require_staff, rule, table
from appliance.core.loudness import TARGET_RANGE
from appliance.core.model import DISPLAY_SLIDERS, EQ_BANDS, REPEAT_MODES, RequestRules, frozen_map
from appliance.core.outputs import ApplySettings, Rejected
from appliance.core.ui_commands import toggle_shuffle


def _int(lo: int, hi: int) -> Callable[[str, Any], int]:
    def check(name: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
            raise Rejected("invalid_value", f"{name} must be a whole number from {lo} to {hi}.")
        if not lo <= value <= hi:
            raise Rejected("out_of_range", f"{name} must be from {lo} to {hi}.")
        return int(value)

    return check


def _bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise Rejected("invalid_value", f"{name} must be true or false.")
    return value


def _text(max_len: int) -> Callable[[str, Any], str]:
    def check(name: str, value: Any) -> str:
        if not isinstance(value, str) or not value.strip() or len(value) > max_len:
            raise Rejected("invalid_value", f"{name} must be text of 1-{max_len} characters.")
        return value.strip()

    return check


def _choice(options: tuple[str, ...]) -> Callable[[str, Any], str]:
    def check(name: str, value: Any) -> str:
        if value not in options:
            raise Rejected("invalid_value", f"{name} must be one of {', '.join(options)}.")
        return str(value)

    return check


def _object(
    keys: tuple[str, ...], item: Callable[[str, Any], Any], partial: bool = True
) -> Callable[[str, Any, Mapping[str, Any]], Mapping[str, Any]]:
    def check(name: str, value: Any, current: Mapping[str, Any]) -> Mapping[str, Any]:
        if not isinstance(value, Mapping) or not value:
            raise Rejected("invalid_value", f"{name} must be an object with {', '.join(keys)}.")
        unknown = [k for k in value if k not in keys]
        if unknown:
            raise Rejected("invalid_value", f"{name}: unknown key {unknown[0]!r}.")
        merged = dict(current) if partial else {}
        for k, v in value.items():
            merged[k] = item(f"{name}.{k}", v)
        return frozen_map(merged)

    return check


def _eq_gain(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not -12 <= value <= 12:
        raise Rejected("out_of_range", f"{name} must be a gain from -12 to 12 dB.")
    return float(value)


SIMPLE: dict[str, Callable[[str, Any], Any]] = {
    "crossfade_time": _int(0, 12),
    "master_volume": _int(0, 100),
    "is_muted": _bool,
    "mic_volume": _int(0, 100),
    "dynamic_compressor_enabled": _bool,
    "is_fullscreen": _bool,
    "app_name": _text(64),
    "repeat_mode": _choice(REPEAT_MODES),
    "fade_out_time": _int(1, 60),
    "loudness_normalization": _bool,
    "loudness_target": _int(*TARGET_RANGE),
    "duck_db": _int(0, 40),
    "tv_now_playing": _bool,
    "tv_coming_up": _bool,
    "tv_qr_code": _bool,
}
OBJECTS = {
    "eq_settings": _object(EQ_BANDS, _eq_gain),
    "display_sliders": _object(DISPLAY_SLIDERS, _int(-100, 100)),
    "player_size": _object(("width", "height"), _int(160, 7680)),
    "player_position": _object(("x", "y"), _int(-10000, 10000)),
}
ALIASES = {
    "eq": "eq_settings",
    "volume": "master_volume",
    "compressor": "dynamic_compressor_enabled",
}


def _request_rules(value: Any, current: RequestRules) -> RequestRules:
    if not isinstance(value, Mapping) or not value:
        raise Rejected("invalid_value", "request_rules must be an object.")
    checks: dict[str, Callable[[str, Any], Any]] = {
        "requests_open": _bool,
        "closed_message": lambda n, v: v if isinstance(v, str) and len(v) <= 200 else _bad(n),
        "max_pending_per_user": _int(0, 100),
        "priority_cap": _int(0, 1000),
        "cooldown_minutes": _int(0, 24 * 60),
        "max_duration_seconds": _int(30, 6 * 3600),
        "blocked_video_ids": _str_list,
        "blocked_artists": _str_list,
        "vote_skip_threshold": _int(0, 1000),
    }
    changes = {}
    for k, v in value.items():
        if k not in checks:
            raise Rejected("unknown_setting", f"request_rules: unknown rule {k!r}.")
        changes[k] = checks[k](f"request_rules.{k}", v)
    return replace(current, **changes)


def _bad(name: str) -> Any:
    raise Rejected("invalid_value", f"{name} has the wrong type.")


def _str_list(name: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
        raise Rejected("invalid_value", f"{name} must be a list of text.")
    return tuple(x.strip() for x in value if x.strip())


def _logo(s: Step, value: Any) -> str:
    """A gallery image's id for the TV's logo, or "" for none."""
    if value == "":
        return ""
    if not isinstance(value, str):
        raise Rejected("invalid_value", 'tv_logo must be a content id or "".')
    item = s.state.content.get(value)
    if item is None:
        raise Rejected("not_found", "No such item in the content gallery.", 404)
    if item.kind != "image":
        raise Rejected("not_an_image", "The TV's logo must be an image.", 409)
    return value


def update_setting(s: Step, msg: m.UpdateSetting) -> None:
    require_staff(s)
    name = ALIASES.get(msg.setting, msg.setting)
    venue = s.venue
    settings = venue.player_settings
    if name in SIMPLE or name in OBJECTS:
        if name in SIMPLE:
            value = SIMPLE[name](name, msg.value)
        else:
            value = OBJECTS[name](name, msg.value, getattr(settings, name))
        settings = replace(settings, **{name: value})
        s.set_venue(player_settings=settings)
        s.effect(ApplySettings(settings))
        s.emit("PLAYER_SETTINGS_UPDATE")
    elif name == "tv_logo":
        s.set_venue(player_settings=replace(settings, tv_logo=_logo(s, msg.value)))
        s.emit("PLAYER_SETTINGS_UPDATE")
    elif name == "shuffle_enabled":
        if _bool(name, msg.value) != settings.shuffle_enabled:
            toggle_shuffle(s)
    elif name == "request_rules":
        s.set_venue(request_rules=_request_rules(msg.value, venue.request_rules))
        s.emit("PLAYER_SETTINGS_UPDATE")
    elif name == "venue_name":
        s.set_venue(venue_name=_text(100)(name, msg.value))
        s.emit("PLAYER_SETTINGS_UPDATE")
    else:
        others = ("request_rules", "venue_name", "shuffle_enabled", "tv_logo")
        known = sorted([*SIMPLE, *OBJECTS, *others])
        raise Rejected("unknown_setting", f"Unknown setting {msg.setting!r}.", known=known)
    s.log("setting_updated", setting=name, value=msg.value)
    s.reply = {"setting": name}


HANDLERS = table(
    rule(m.UpdateSetting, update_setting),
)
