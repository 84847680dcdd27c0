"""Player settings from the seed -> mpv properties and filters.

The EQ's five bands become peaking `equalizer` filters two octaves wide (lavfi), the
compressor is `acompressor`, the display sliders are mpv's video equalizer properties,
and size/position/fullscreen are the window geometry. `retune` puts them on the mixer's
decks, with volume and mute (per deck: they combine with the crossfade gain).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from appliance.core.loudness import Loudness, db_to_amplitude, track_gain_db
from appliance.core.model import DISPLAY_SLIDERS, EQ_BANDS, PlayerSettings
from appliance.player.slot import Slot

COMPRESSOR = "acompressor=threshold=0.125:ratio=4:attack=20:release=250:makeup=2"


def _number(value: Any, default: float = 0.0) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def audio_filters(settings: PlayerSettings) -> str:
    """The `af` chain for these settings ("" when flat and uncompressed)."""
    parts = []
    for band in EQ_BANDS:
        gain = max(-12.0, min(12.0, _number(settings.eq_settings.get(band))))
        if gain:
            parts.append(f"equalizer=f={band}:t=o:w=2:g={gain:g}")
    if settings.dynamic_compressor_enabled:
        parts.append(COMPRESSOR)
    return f"lavfi=[{','.join(parts)}]" if parts else ""


def display_properties(settings: PlayerSettings) -> dict[str, int]:
    sliders: Mapping[str, Any] = settings.display_sliders
    return {s: int(max(-100, min(100, _number(sliders.get(s))))) for s in DISPLAY_SLIDERS}


def window_properties(settings: PlayerSettings) -> dict[str, Any]:
    size, pos = settings.player_size, settings.player_position
    width = int(_number(size.get("width"), 1280))
    height = int(_number(size.get("height"), 720))
    x, y = int(_number(pos.get("x"))), int(_number(pos.get("y")))
    return {
        "geometry": f"{width}x{height}+{x}+{y}",
        "fullscreen": bool(settings.is_fullscreen),
    }


def normalisation_amplitude(measured: Loudness | None, settings: PlayerSettings) -> float:
    """A track's loudness normalisation as a linear amplitude (1.0: none)."""
    target, enabled = settings.loudness_target, settings.loudness_normalization
    return db_to_amplitude(track_gain_db(measured, target, enabled=enabled))


def retune(
    slots: Iterable[Slot],
    settings: PlayerSettings,
    *,
    af_before: str,
    window: bool,
    duck: float,
    trim_for: Callable[[Slot], float] | None = None,
) -> str:
    """Put `settings` on every deck; returns the `af` chain they now have. `window`: the
    decks draw video in a window of their own. `trim_for`: each play's new normalisation
    (the loudness settings changed); None keeps the level a play started at."""
    af = audio_filters(settings)
    video = display_properties(settings)
    if window:
        video.update(window_properties(settings))
    for slot in slots:
        deck = slot.deck
        if not deck.alive:  # its core refuses; the deck is rebuilt, then given these
            continue
        if trim_for is not None:
            slot.trim = trim_for(slot)
        deck.set_level(master=settings.master_volume, trim=slot.trim * duck)
        deck.set_mute(settings.is_muted)
        if af != af_before:
            deck.set_property("af", af)
        for name, value in video.items():
            deck.set_property(name, value)
    return af
