"""The status LED and the amplifier relay, driven by what the runtime publishes.

LED, most urgent first: fast blink = emergency stop or a player error (for `error_show`
seconds); slow blink = cloud link down; on = playing; breathing = paused; off = stopped.
Relay: on while a track plays; off after `relay_idle_off` seconds of anything else. It is
switched on when the panel is built, before the runtime starts, so the amplifier has
power before the first track.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, replace
from typing import Any, Protocol

from appliance.core.model import State
from appliance.runtime import Published, Resync
from appliance.runtime_port import RuntimePort
from hardware.pinmap import PanelConfig

log = logging.getLogger("djamms.panel")

OFF, ON, BREATHE, BLINK_SLOW, BLINK_FAST = "off", "on", "breathe", "blink_slow", "blink_fast"


@dataclass(frozen=True)
class BoxView:
    """What the indicators need from the box's state and events."""

    transport: str = "stopped"
    has_track: bool = False
    cloud_down: bool = False
    player_error: bool = False

    @property
    def audible(self) -> bool:
        return self.transport == "playing" and self.has_track


def led_pattern(view: BoxView) -> str:
    if view.transport == "emergency" or view.player_error:
        return BLINK_FAST
    if view.cloud_down:
        return BLINK_SLOW
    if view.transport == "playing":
        return ON
    if view.transport == "paused":
        return BREATHE
    return OFF


class Led(Protocol):
    """The part of gpiozero's PWMLED used here."""

    def on(self) -> None: ...
    def off(self) -> None: ...
    def blink(self, on_time: float = ..., off_time: float = ..., **kw: Any) -> None: ...
    def pulse(self, fade_in_time: float = ..., fade_out_time: float = ..., **kw: Any) -> None: ...


class Switch(Protocol):
    def on(self) -> None: ...
    def off(self) -> None: ...


def show(led: Led, pattern: str) -> None:
    if pattern == ON:
        led.on()
    elif pattern == BREATHE:
        led.pulse(fade_in_time=1.5, fade_out_time=1.5)
    elif pattern == BLINK_SLOW:
        led.blink(on_time=1.0, off_time=1.0)
    elif pattern == BLINK_FAST:
        led.blink(on_time=0.1, off_time=0.1)
    else:
        led.off()


class StatusFollower:
    """One thread: reads the runtime's subscription, sets the LED and the relay."""

    def __init__(
        self, runtime: RuntimePort, cfg: PanelConfig, led: Led | None, relay: Switch | None
    ) -> None:
        self._runtime = runtime
        self._cfg = cfg
        self._led = led
        self._relay = relay
        self.view = BoxView()
        self.pattern = ""
        self.relay_on = relay is not None  # the panel builds the relay switched on
        self._error_until = 0.0
        self._idle_since: float | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._sub: Any = None

    def start(self) -> None:
        sub = self._sub = self._runtime.subscribe(maxsize=64, name="panel")
        self._stop.clear()
        self._follow_state(self._runtime.state)
        self._thread = threading.Thread(target=self._run, args=(sub,), name="panel-status")
        self._thread.daemon = True
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._sub is not None:
            self._sub.close()  # wakes the thread at once
        if self._thread is not None:
            self._thread.join(timeout=15)
            self._thread = None

    def _run(self, sub: Any) -> None:
        try:
            while not self._stop.is_set():
                item = sub.get(timeout=self._wait_time())
                if isinstance(item, Published):
                    self._follow_events(item)
                    self._follow_state(item.state)
                elif isinstance(item, Resync):
                    self._follow_state(item.state)
                elif sub.closed:
                    return
                else:
                    self._refresh()
        finally:
            sub.close()

    def _wait_time(self) -> float:
        """Until the next timer (error display ends, relay idle-off), at most 1 s."""
        now = time.monotonic()
        due = [1.0]
        if self.view.player_error:
            due.append(self._error_until - now)
        if self._idle_since is not None and self.relay_on:
            due.append(self._idle_since + self._cfg.relay_idle_off - now)
        return max(0.005, min(due))

    def _follow_events(self, pub: Published) -> None:
        for event in pub.events:
            if event.type == "SYSTEM_STATUS":
                status = event.payload.get("status")
                if status in ("cloud_link_down", "cloud_link_up"):
                    self.view = replace(self.view, cloud_down=status == "cloud_link_down")
            elif event.type == "LOG_ENTRY":
                entry = event.payload.get("entry")
                if getattr(entry, "event_type", "") == "player_error":
                    self._error_until = time.monotonic() + self._cfg.error_show
                    self.view = replace(self.view, player_error=True)

    def _follow_state(self, state: State) -> None:
        venue = state.venue
        if venue is not None:
            self.view = replace(
                self.view, transport=venue.transport, has_track=venue.now_playing is not None
            )
        self._refresh()

    def _refresh(self) -> None:
        now = time.monotonic()
        if self.view.player_error and now >= self._error_until:
            self.view = replace(self.view, player_error=False)
        self._set_led(led_pattern(self.view))
        if self.view.audible:
            self._idle_since = None
            self._set_relay(True)
        else:
            if self._idle_since is None:
                self._idle_since = now
            if now - self._idle_since >= self._cfg.relay_idle_off:
                self._set_relay(False)

    def _set_led(self, pattern: str) -> None:
        if pattern == self.pattern:
            return
        self.pattern = pattern
        if self._led is not None:
            show(self._led, pattern)

    def _set_relay(self, on: bool) -> None:
        if on == self.relay_on or self._relay is None:
            return
        self.relay_on = on
        if on:
            self._relay.on()
        else:
            self._relay.off()
        log.info("panel: amplifier relay %s", "on" if on else "off (idle)")
