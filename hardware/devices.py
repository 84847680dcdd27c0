"""gpiozero devices for the panel, each on its configured pin and the given pin factory.

Buttons are wired between the GPIO and ground (internal pull-up; pressed = low). The
encoder's A and B likewise. The LED is driven by PWM; the relay is a plain output whose
polarity is configurable because many relay boards switch on a low input.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gpiozero import PWMLED, Button, DigitalOutputDevice, RotaryEncoder
from gpiozero.pins import Factory

from hardware.pinmap import PanelConfig

BUTTON_ROLES = ("emergency_stop", "play_pause", "skip", "volume_up", "volume_down")


@dataclass
class PanelDevices:
    encoder: RotaryEncoder | None = None
    buttons: dict[str, Button] = field(default_factory=dict)
    led: PWMLED | None = None
    relay: DigitalOutputDevice | None = None

    def all(self) -> list[Any]:
        found = [self.encoder, *self.buttons.values(), self.led, self.relay]
        return [d for d in found if d is not None]

    def close(self) -> None:
        for device in self.all():
            device.close()


def build_devices(cfg: PanelConfig, factory: Factory) -> PanelDevices:
    """Every configured device; if one cannot be claimed, the ones built are released."""
    devices = PanelDevices()
    try:
        a, b = cfg.pin("encoder_a"), cfg.pin("encoder_b")
        if a is not None and b is not None:
            devices.encoder = RotaryEncoder(a, b, max_steps=0, pin_factory=factory)
        for role in BUTTON_ROLES:
            pin = cfg.pin(role)
            if pin is not None:
                devices.buttons[role] = Button(pin, pull_up=True, pin_factory=factory)
        led = cfg.pin("status_led")
        if led is not None:
            devices.led = PWMLED(led, active_high=cfg.led_active_high, pin_factory=factory)
        relay = cfg.pin("amp_relay")
        if relay is not None:
            devices.relay = DigitalOutputDevice(
                relay, active_high=cfg.relay_active_high, initial_value=True, pin_factory=factory
            )
    except Exception:
        devices.close()
        raise
    return devices
