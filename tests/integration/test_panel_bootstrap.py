"""The panel in the composition root: a bad pin map or no GPIO leaves the box running
without it, with one clear log line."""

from __future__ import annotations

import logging
from functools import partial
from pathlib import Path

import pytest
from gpiozero import Button, RotaryEncoder

from appliance.bootstrap import AdapterFactory, build
from appliance.config import Config
from appliance.core import messages as m
from appliance.memory_store import MemoryStore
from appliance.wiring import wire_panel
from hardware.panel import Panel, detect_pin_factory
from tests.integration.panel_rig import STAFF, mock_factory


def panel_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "djamms.panel"]


def runs_without_panel(config: Config, factories: list[AdapterFactory]) -> None:
    box = build(config, store=MemoryStore(), adapters=factories)
    assert not any(isinstance(a, Panel) for a in box.adapters)
    box.start()
    try:
        reply = box.runtime.submit(m.UiCommand(command="SET_VOLUME", value=40, actor=STAFF))
        assert reply.ok and box.runtime.state.venue.player_settings.master_volume == 40
    finally:
        box.stop()


def test_a_bad_pin_map_gives_a_clear_error_and_the_box_starts_without_the_panel(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    section = {"pins": {"emergency_stop": 17, "skip": 17, "play_pause": "BOARD13"}}
    config = Config(data_dir=tmp_path, sections={"panel": section})
    caplog.set_level(logging.INFO, logger="djamms.panel")
    runs_without_panel(config, [partial(wire_panel, pin_factory=mock_factory())])
    lines = panel_lines(caplog)
    assert len(lines) == 1
    assert lines[0].startswith("panel: off, bad [panel] config:")
    assert "GPIO17 is used twice: emergency_stop and skip" in lines[0]
    assert "panel.pins.play_pause = 'BOARD13': use a BCM GPIO number" in lines[0]


def test_no_gpio_logs_one_line_and_the_box_runs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="djamms.panel")
    no_gpio = partial(wire_panel, load_factory=lambda: (None, "lgpio: not installed"))
    runs_without_panel(Config(data_dir=tmp_path), [no_gpio])
    assert panel_lines(caplog) == ["panel: off, no GPIO on this machine (lgpio: not installed)"]


def test_a_pin_already_claimed_leaves_the_panel_off(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    factory = mock_factory()
    caplog.set_level(logging.INFO, logger="djamms.panel")
    other = Button(17, pin_factory=factory)  # someone else holds GPIO17
    try:
        runs_without_panel(Config(data_dir=tmp_path), [partial(wire_panel, pin_factory=factory)])
        lines = panel_lines(caplog)
        assert len(lines) == 1 and lines[0].startswith("panel: off, cannot claim its pins")
        assert "GPIO17" in lines[0]
        # the encoder (built before the button that failed) gave its pins back
        RotaryEncoder(5, 6, pin_factory=factory).close()
    finally:
        other.close()


def on_a_raspberry_pi() -> bool:
    try:
        return "Raspberry Pi" in Path("/proc/device-tree/model").read_text()
    except OSError:
        return False


@pytest.mark.skipif(on_a_raspberry_pi(), reason="this checks a machine without GPIO")
def test_this_machine_has_no_gpio_and_the_default_box_still_runs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    factory, why = detect_pin_factory()
    assert factory is None and "lgpio" in why
    caplog.set_level(logging.INFO, logger="djamms.panel")
    config = Config(
        data_dir=tmp_path / "data",
        media_dir=tmp_path / "media",
        player="standin",
        demo_media=False,
    )
    box = build(config, store=MemoryStore())
    assert not any(isinstance(a, Panel) for a in box.adapters)
    lines = panel_lines(caplog)
    assert len(lines) == 1 and lines[0].startswith("panel: off, no GPIO on this machine (")
    box.start()
    box.stop()


def test_panel_enabled_false_keeps_it_off(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="djamms.panel")
    config = Config(data_dir=tmp_path, sections={"panel": {"enabled": False}})
    runs_without_panel(config, [partial(wire_panel, pin_factory=mock_factory())])
    assert panel_lines(caplog) == ["panel: off (panel.enabled = false)"]
