"""The panel's pin map and behaviour settings, and the LED pattern rules."""

from __future__ import annotations

import pytest

from hardware.indicators import (
    BLINK_FAST,
    BLINK_SLOW,
    BREATHE,
    OFF,
    ON,
    BoxView,
    led_pattern,
)
from hardware.pinmap import DEFAULT_PINS, PanelConfigError, parse_panel_config


def test_defaults_are_valid_and_avoid_i2s() -> None:
    cfg, warnings = parse_panel_config({})
    assert dict(cfg.pins) == dict(DEFAULT_PINS)
    assert warnings == []
    assert not {18, 19, 20, 21} & set(cfg.pins.values())
    assert len(set(cfg.pins.values())) == len(cfg.pins)


def test_a_given_pin_map_replaces_the_default() -> None:
    cfg, _ = parse_panel_config({"pins": {"emergency_stop": 4, "status_led": 13}})
    assert dict(cfg.pins) == {"emergency_stop": 4, "status_led": 13}
    assert cfg.pin("skip") is None


def test_i2s_pin_is_a_warning_not_an_error() -> None:
    cfg, warnings = parse_panel_config({"pins": {"status_led": 18}})
    assert cfg.pin("status_led") == 18
    assert len(warnings) == 1
    assert "GPIO18" in warnings[0] and "I2S" in warnings[0]


@pytest.mark.parametrize(
    ("pins", "expected"),
    [
        ({"skip": 17, "emergency_stop": 17}, "GPIO17 is used twice: skip and emergency_stop"),
        ({"skip": "GPIO17"}, "panel.pins.skip = 'GPIO17': use a BCM GPIO number"),
        ({"skip": "BOARD11"}, "not a header pin name"),
        ({"skip": 40}, "BCM GPIO numbers run from 0 to 27"),
        ({"skip": -1}, "BCM GPIO numbers run from 0 to 27"),
        ({"skip": True}, "use a BCM GPIO number"),
        ({"skip": 4.0}, "use a BCM GPIO number"),
        ({"skipp": 4}, "panel.pins.skipp: unknown role"),
        ({"encoder_a": 5}, "needs both encoder_a and encoder_b"),
    ],
)
def test_bad_pin_maps_say_what_is_wrong(pins: dict[str, object], expected: str) -> None:
    with pytest.raises(PanelConfigError) as err:
        parse_panel_config({"pins": pins})
    assert expected in str(err.value)


def test_every_problem_is_listed_at_once() -> None:
    section = {"pins": {"skip": 3, "play_pause": 3, "status_led": "x"}, "volume_step": 0}
    with pytest.raises(PanelConfigError) as err:
        parse_panel_config(section)
    text = str(err.value)
    assert "GPIO3 is used twice" in text
    assert "panel.pins.status_led" in text
    assert "panel.volume_step must be from 1 to 50" in text


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ({"volume_stepp": 2}, "panel.volume_stepp: unknown setting"),
        ({"volume_step": 2.5}, "must be a whole number"),
        ({"bounce_ms": 500}, "panel.bounce_ms must be from 0 to 100"),
        ({"resume_hold": "2"}, "panel.resume_hold must be a number"),
        ({"enabled": "yes"}, "panel.enabled must be true or false"),
        ({"pins": [17, 27]}, "panel.pins must be a table"),
    ],
)
def test_bad_settings_are_refused(section: dict[str, object], expected: str) -> None:
    with pytest.raises(PanelConfigError) as err:
        parse_panel_config(section)
    assert expected in str(err.value)


def test_settings_are_read() -> None:
    cfg, _ = parse_panel_config({"volume_step": 5, "relay_idle_off": 30, "enabled": False})
    assert (cfg.volume_step, cfg.relay_idle_off, cfg.enabled) == (5, 30.0, False)


@pytest.mark.parametrize(
    ("view", "pattern"),
    [
        (BoxView(transport="playing", has_track=True), ON),
        (BoxView(transport="paused", has_track=True), BREATHE),
        (BoxView(transport="stopped"), OFF),
        (BoxView(transport="emergency", has_track=True), BLINK_FAST),
        (BoxView(transport="playing", has_track=True, player_error=True), BLINK_FAST),
        (BoxView(transport="playing", has_track=True, cloud_down=True), BLINK_SLOW),
        (BoxView(transport="emergency", cloud_down=True), BLINK_FAST),
        (BoxView(transport="paused", cloud_down=True), BLINK_SLOW),
    ],
)
def test_led_pattern_most_urgent_first(view: BoxView, pattern: str) -> None:
    assert led_pattern(view) == pattern


def test_the_amplifier_is_needed_only_while_a_track_plays() -> None:
    assert BoxView(transport="playing", has_track=True).audible
    assert not BoxView(transport="playing", has_track=False).audible
    assert not BoxView(transport="paused", has_track=True).audible
    assert not BoxView(transport="emergency", has_track=True).audible
