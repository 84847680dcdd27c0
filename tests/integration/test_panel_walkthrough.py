"""`djamms panel-test` on MockFactory pins: a scripted technician presses what it is asked
to press and answers the LED and relay questions from what the pins really did."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from gpiozero.pins.mock import MockFactory

from hardware.panel_test import run_panel_test
from hardware.pinmap import DEFAULT_PINS
from tests.integration.panel_rig import RecordingPin, mock_factory

ROOT = Path(__file__).resolve().parents[2]
LABEL_PINS = {
    "EMERGENCY STOP": "emergency_stop",
    "PLAY/PAUSE": "play_pause",
    "SKIP": "skip",
    "VOLUME UP": "volume_up",
    "VOLUME DOWN": "volume_down",
}


class Technician(io.StringIO):
    """The output stream the walkthrough writes to; reacts to each prompt on the pins."""

    def __init__(self, factory: MockFactory, pins: dict[str, int], deaf: set[str]) -> None:
        super().__init__()
        self.factory = factory
        self.pins = pins
        self.deaf = deaf  # roles whose wire is "broken": pressing them does nothing
        self.answers: list[str] = []

    def pin(self, role: str) -> RecordingPin:
        return self.factory.pin(self.pins[role])  # type: ignore[return-value]

    def write(self, text: str) -> int:
        self.react(text)
        return super().write(text)

    def react(self, text: str) -> None:
        if m := re.match(r"Press and release (.+?) \(GPIO", text):
            role = LABEL_PINS[m.group(1)]
            if role not in self.deaf:
                self.pin(role).drive_low()
                self.pin(role).drive_high()
        elif "VOLUME knob one click clockwise" in text:
            self.click(self.pin("encoder_a"), self.pin("encoder_b"))
        elif "VOLUME knob one click counter-clockwise" in text:
            self.click(self.pin("encoder_b"), self.pin("encoder_a"))
        elif "status LED steadily ON" in text:
            self.answer(self.pin("status_led").state == 1.0)
        elif "status LED BREATHING" in text:
            led = self.pin("status_led")
            mark = len(led.states)
            self.answer(led.wait_for(lambda p: any(0 < v < 1 for v in p.values()[mark:])))
        elif "status LED BLINKING FAST" in text:
            led = self.pin("status_led")
            mark = len(led.states)
            self.answer(led.wait_for(lambda p: len(p.states) - mark >= 4))
        elif "relay ON" in text:
            self.answer(self.pin("amp_relay").state == 1.0)
        elif "relay OFF" in text:
            self.answer(self.pin("amp_relay").state == 0.0)

    @staticmethod
    def click(first: RecordingPin, second: RecordingPin) -> None:
        first.drive_low()
        second.drive_low()
        first.drive_high()
        second.drive_high()

    def answer(self, yes: bool) -> None:
        self.answers.append("y\n" if yes else "n\n")


class Answers(io.TextIOBase):
    def __init__(self, tech: Technician) -> None:
        self.tech = tech

    def readline(self, size: int = -1) -> str:
        return self.tech.answers.pop(0) if self.tech.answers else ""


def walk(
    section: dict[str, Any], deaf: frozenset[str] = frozenset(), timeout: float = 10.0
) -> tuple[int, str]:
    factory = mock_factory()
    pins = dict(section.get("pins", DEFAULT_PINS))
    tech = Technician(factory, pins, set(deaf))
    code = run_panel_test(
        section,
        inp=Answers(tech),
        out=tech,
        load_factory=lambda: (factory, ""),
        timeout=timeout,
    )
    return code, tech.getvalue()


def test_every_device_is_walked_through_and_passes() -> None:
    code, text = walk({})
    assert code == 0, text
    assert text.count("  ok") == 10
    assert "panel-test: 10 of 10 checks passed" in text
    for label in ("EMERGENCY STOP (GPIO17)", "PLAY/PAUSE (GPIO27)", "SKIP (GPIO22)"):
        assert f"Press and release {label} now..." in text


def test_a_dead_button_is_named_with_its_wiring() -> None:
    code, text = walk({}, deaf=frozenset({"skip"}), timeout=0.3)
    assert code == 1
    assert "NOT SEEN: check GPIO22 -> SKIP -> ground" in text
    assert "panel-test: 9 of 10 checks passed" in text
    assert "failed: SKIP" in text


def test_an_led_wired_the_other_way_round_fails_its_check() -> None:
    code, text = walk({"led_active_high": False})
    assert code == 1
    assert "failed: LED on" in text  # steady on drives the pin low: the LED looks off
    assert "led_active_high = false" in text


def test_volume_buttons_are_walked_when_configured() -> None:
    pins = {"volume_up": 24, "volume_down": 25, "status_led": 12}
    code, text = walk({"pins": pins})
    assert code == 0, text
    assert "VOLUME UP (GPIO24)" in text and "VOLUME DOWN (GPIO25)" in text
    assert "encoder" not in text.lower().replace("panel-test", "")


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "appliance", "panel-test", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_cli_refuses_a_bad_pin_map(tmp_path: Path) -> None:
    conf = tmp_path / "box.toml"
    conf.write_text("[panel.pins]\nskip = 3\nplay_pause = 3\n")
    done = run_cli("--config", str(conf))
    assert done.returncode == 2
    assert "bad [panel] config: GPIO3 is used twice: skip and play_pause" in done.stdout


def on_a_raspberry_pi() -> bool:
    try:
        return "Raspberry Pi" in Path("/proc/device-tree/model").read_text(errors="replace")
    except OSError:
        return False


@pytest.mark.skipif(on_a_raspberry_pi(), reason="a Pi has GPIO: it would wait for presses")
def test_cli_on_a_machine_without_gpio_says_so() -> None:
    done = run_cli("--timeout", "1")
    assert done.returncode == 1
    assert done.stdout.startswith("panel-test: no GPIO on this machine (")
