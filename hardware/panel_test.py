"""`djamms panel-test`: walks a technician through every button, the encoder, the LED and
the relay of a real box, one prompt at a time, and says what to check when one fails.

It drives the devices directly (no runtime), so stop the djamms service first: the
service holds the GPIO lines.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any, TextIO

from gpiozero.pins import Factory

from hardware.devices import PanelDevices, build_devices
from hardware.indicators import BLINK_FAST, BREATHE, ON, show
from hardware.pinmap import PIN_LABELS, PanelConfig, PanelConfigError, parse_panel_config

BUTTON_ORDER = ("emergency_stop", "play_pause", "skip", "volume_up", "volume_down")
LED_CHECKS = (
    (ON, "steadily ON"),
    (BREATHE, "BREATHING (slowly fading up and down)"),
    (BLINK_FAST, "BLINKING FAST"),
)


class Walkthrough:
    def __init__(
        self, cfg: PanelConfig, devices: PanelDevices, inp: TextIO, out: TextIO, timeout: float
    ) -> None:
        self.cfg = cfg
        self.devices = devices
        self.inp = inp
        self.out = out
        self.timeout = timeout
        self.passed = 0
        self.failed: list[str] = []

    def say(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def result(self, ok: bool, what: str, advice: str, miss: str = "NOT SEEN") -> None:
        if ok:
            self.passed += 1
            self.say("  ok")
        else:
            self.failed.append(what)
            self.say(f"  {miss}: {advice}")

    def ask(self, question: str) -> bool:
        self.out.write(f"{question} [y/n] ")
        self.out.flush()
        return self.inp.readline().strip().lower() in ("y", "yes")

    def run(self) -> int:
        self.say("DJAMMS panel test. Answer each step; Ctrl-C stops.")
        for role in BUTTON_ORDER:
            if role in self.devices.buttons:
                self.check_button(role)
        if self.devices.encoder is not None:
            self.check_encoder()
        if self.devices.led is not None:
            self.check_led()
        if self.devices.relay is not None:
            self.check_relay()
        total = self.passed + len(self.failed)
        self.say(f"panel-test: {self.passed} of {total} checks passed")
        if self.failed:
            self.say("failed: " + ", ".join(self.failed))
        return 0 if not self.failed else 1

    def wiring(self, role: str) -> str:
        return f"check GPIO{self.cfg.pin(role)} -> {PIN_LABELS[role]} -> ground"

    def check_button(self, role: str) -> None:
        button = self.devices.buttons[role]
        pressed, released = threading.Event(), threading.Event()
        button.when_pressed = pressed.set
        button.when_released = released.set
        label = PIN_LABELS[role]
        self.say(f"Press and release {label} (GPIO{self.cfg.pin(role)}) now...")
        ok = pressed.wait(self.timeout) and released.wait(self.timeout)
        self.result(ok, label, self.wiring(role))
        button.when_pressed = button.when_released = None

    def check_encoder(self) -> None:
        encoder = self.devices.encoder
        assert encoder is not None
        for name, attr in (
            ("clockwise", "when_rotated_clockwise"),
            ("counter-clockwise", "when_rotated_counter_clockwise"),
        ):
            turned = threading.Event()
            setattr(encoder, attr, turned.set)
            self.say(f"Turn the VOLUME knob one click {name} now...")
            advice = (
                f"check GPIO{self.cfg.pin('encoder_a')} (A) and "
                f"GPIO{self.cfg.pin('encoder_b')} (B) -> encoder, common -> ground; "
                "swap A and B if the direction is wrong"
            )
            self.result(turned.wait(self.timeout), f"encoder {name}", advice)
            setattr(encoder, attr, None)

    def check_led(self) -> None:
        led = self.devices.led
        assert led is not None
        for pattern, looks in LED_CHECKS:
            show(led, pattern)
            ok = self.ask(f"Is the status LED {looks}?")
            self.result(ok, f"LED {pattern}", self.led_advice(), "NOT CONFIRMED")
        led.off()

    def led_advice(self) -> str:
        return (
            f"check GPIO{self.cfg.pin('status_led')} -> resistor -> LED -> ground "
            "(or set panel.led_active_high = false for an LED wired to 3.3 V)"
        )

    def check_relay(self) -> None:
        relay = self.devices.relay
        assert relay is not None
        advice = (
            f"check GPIO{self.cfg.pin('amp_relay')} -> relay input; many relay boards "
            "switch on a low input: try panel.relay_active_high = false"
        )
        relay.on()
        heard = self.ask("Amplifier relay ON: did it click, is the amp powered?")
        self.result(heard, "relay on", advice, "NOT CONFIRMED")
        relay.off()
        heard = self.ask("Amplifier relay OFF: did it click, is the amp off?")
        self.result(heard, "relay off", advice, "NOT CONFIRMED")


def run_panel_test(
    section: Mapping[str, Any],
    *,
    inp: TextIO,
    out: TextIO,
    load_factory: Callable[[], tuple[Factory | None, str]],
    timeout: float = 30.0,
) -> int:
    """Exit status: 0 all checks passed, 1 some failed or no GPIO, 2 bad [panel] config."""
    try:
        cfg, notes = parse_panel_config(section)
    except PanelConfigError as exc:
        out.write(f"panel-test: bad [panel] config: {exc}\n")
        return 2
    for note in notes:
        out.write(f"warning: {note}\n")
    factory, why = load_factory()
    if factory is None:
        out.write(f"panel-test: no GPIO on this machine ({why})\n")
        return 1
    try:
        devices = build_devices(cfg, factory)
    except Exception as exc:
        out.write(f"panel-test: cannot claim the panel's pins: {exc}\n")
        out.write("Is the djamms service running? Stop it first: sudo systemctl stop djamms\n")
        return 1
    try:
        return Walkthrough(cfg, devices, inp, out, timeout).run()
    finally:
        devices.close()
