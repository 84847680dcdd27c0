"""The hardware panel adapter: buttons and encoder in, LED and amplifier relay out.

It only submits core messages and follows the runtime's subscription; see `commands.py`
(buttons), `volume.py` (encoder and volume buttons) and `indicators.py` (LED, relay).
`build_panel(section, runtime)` builds it from the `[panel]` config section: with no GPIO
or a bad pin map it logs one line and returns None, and the rest of the box runs without
a panel.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable, Mapping
from typing import Any

from gpiozero import Device
from gpiozero.pins import Factory

from appliance.runtime_port import RuntimePort
from hardware.commands import ReplyObserver, TransportButtons
from hardware.debounce import DebouncedButton
from hardware.devices import PanelDevices, build_devices
from hardware.indicators import StatusFollower
from hardware.pinmap import PanelConfig, PanelConfigError, parse_panel_config
from hardware.volume import VolumeControl

log = logging.getLogger("djamms.panel")


class Panel:
    def __init__(
        self,
        runtime: RuntimePort,
        cfg: PanelConfig,
        pin_factory: Factory,
        *,
        clock: Callable[[], float] = time.monotonic,
        on_reply: ReplyObserver | None = None,
    ) -> None:
        self.config = cfg
        self.devices: PanelDevices = build_devices(cfg, pin_factory)
        self.volume = VolumeControl(runtime, cfg, clock=clock, on_reply=on_reply)
        self.transport = TransportButtons(runtime, cfg, clock=clock, on_reply=on_reply)
        self.status = StatusFollower(runtime, cfg, self.devices.led, self.devices.relay)
        self.buttons: dict[str, DebouncedButton] = {}
        self._wire(clock)

    def _wire(self, clock: Callable[[], float]) -> None:
        bounce = self.config.bounce_ms / 1000.0
        t, vol = self.transport, self.volume
        for role, device in self.devices.buttons.items():
            self.buttons[role] = DebouncedButton(device, bounce, clock=clock)
        if b := self.buttons.get("emergency_stop"):
            b.on_press = t.emergency_pressed
        if b := self.buttons.get("play_pause"):
            self._hold(b, "play_pause", self.config.resume_hold, t.play_pause_held)
            b.on_release = t.play_pause_released
        if b := self.buttons.get("skip"):
            self._hold(b, "skip", self.config.skip_hold, t.skip_held)
            b.on_release = t.skip_released
        for role, direction in (("volume_up", 1), ("volume_down", -1)):
            if b := self.buttons.get(role):
                b.on_press = lambda d=direction: vol.button(d, True)
                b.on_release = lambda d=direction: vol.button(d, False)
        if enc := self.devices.encoder:
            enc.when_rotated_clockwise = lambda: vol.detent(1)
            enc.when_rotated_counter_clockwise = lambda: vol.detent(-1)

    def _hold(
        self,
        button: DebouncedButton,
        role: str,
        seconds: float,
        on_held: Callable[[DebouncedButton], None],
    ) -> None:
        button.on_press = lambda: self.transport.pressed(role)
        device = self.devices.buttons[role]  # gpiozero's Button: the hold is its own
        device.hold_time = seconds
        device.when_held = lambda: on_held(button)

    def start(self) -> None:
        self.volume.start()
        self.status.start()
        names = ", ".join(sorted(self.buttons) + (["encoder"] if self.devices.encoder else []))
        log.info("panel: on (%s)", names or "no inputs")

    def stop(self) -> None:
        for button in self.buttons.values():
            button.close()
        self.status.stop()
        self.volume.stop()
        self.devices.close()


def detect_pin_factory() -> tuple[Factory | None, str]:
    """gpiozero's default factory (lgpio on a Pi 4/5, or what GPIOZERO_PIN_FACTORY names),
    or None and why there is none."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            Device.ensure_pin_factory()
            return Device.pin_factory, ""
        except Exception as exc:
            reasons = [str(w.message).removeprefix("Falling back from ") for w in caught]
            return None, "; ".join(reasons) or str(exc)


def build_panel(
    section: Mapping[str, Any],
    runtime: RuntimePort,
    *,
    pin_factory: Factory | None = None,
    load_factory: Callable[[], tuple[Factory | None, str]] = detect_pin_factory,
    clock: Callable[[], float] = time.monotonic,
    on_reply: ReplyObserver | None = None,
) -> Panel | None:
    """The panel for the `[panel]` config section. None (and one log line) when it cannot
    run."""
    try:
        cfg, notes = parse_panel_config(section)
    except PanelConfigError as exc:
        log.error("panel: off, bad [panel] config: %s", exc)
        return None
    for note in notes:
        log.warning("panel: %s", note)
    if not cfg.enabled:
        log.info("panel: off (panel.enabled = false)")
        return None
    factory = pin_factory
    if factory is None:
        factory, why = load_factory()
        if factory is None:
            log.info("panel: off, no GPIO on this machine (%s)", why)
            return None
    try:
        return Panel(runtime, cfg, factory, clock=clock, on_reply=on_reply)
    except Exception as exc:  # a pin in use, no permission on /dev/gpiochip*, ...
        log.error("panel: off, cannot claim its pins: %s", exc)
        return None
