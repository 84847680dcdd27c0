"""A box with a real runtime, the stand-in player and the panel on gpiozero's MockFactory.

Pins record every state with a condition to wait on; the panel's clock (debounce, encoder
acceleration) is a manual one the test moves; waits are on the runtime's subscription.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from gpiozero.pins.mock import MockFactory, MockPWMPin

from appliance.bootstrap import Box, build
from appliance.config import Config
from appliance.core import messages as m
from appliance.core.model import State, TrackInfo
from appliance.memory_store import MemoryStore
from appliance.player.standin import StandInPlayer
from appliance.runtime import Reply
from appliance.wiring import wire_panel
from hardware.panel import Panel

STAFF = m.Actor(user_id="staff", role="admin", source="web")
WAIT = 20.0  # generous: the box is shared and loaded


class RecordingPin(MockPWMPin):
    """A mock pin whose state changes can be waited for."""

    def __init__(self, factory: Any, info: Any) -> None:
        self.changed = threading.Condition()
        super().__init__(factory, info)

    def _change_state(self, value: Any) -> bool:
        with self.changed:
            moved = super()._change_state(value)
            self.changed.notify_all()
        return moved

    def wait_for(self, pred: Callable[[RecordingPin], bool], timeout: float = WAIT) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: pred(self), timeout)

    def values(self) -> list[float]:
        return [float(s.state) for s in self.states]


def mock_factory() -> MockFactory:
    return MockFactory(pin_class=RecordingPin)


class ManualClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Replies:
    """Every reply the panel got, in order, to wait on."""

    got: list[tuple[str, Reply]] = field(default_factory=list)
    cond: threading.Condition = field(default_factory=threading.Condition)

    def __call__(self, command: str, reply: Reply) -> None:
        with self.cond:
            self.got.append((command, reply))
            self.cond.notify_all()

    def wait_count(self, command: str, n: int, timeout: float = WAIT) -> list[Reply]:
        with self.cond:
            self.cond.wait_for(lambda: len(self.of(command)) >= n, timeout)
            return self.of(command)

    def of(self, command: str) -> list[Reply]:
        return [r for c, r in self.got if c == command]


@dataclass
class Rig:
    box: Box
    panel: Panel
    factory: MockFactory
    clock: ManualClock
    replies: Replies
    player: StandInPlayer

    def pin(self, role: str) -> RecordingPin:
        number = self.panel.config.pin(role)
        assert number is not None, f"no {role} in the pin map"
        return self.factory.pin(number)  # type: ignore[return-value]

    def press(self, role: str) -> None:
        self.pin(role).drive_low()

    def release(self, role: str) -> None:
        self.pin(role).drive_high()

    def tap(self, role: str, gap: float = 0.2) -> None:
        self.press(role)
        self.clock.advance(gap)
        self.release(role)
        self.clock.advance(gap)

    def turn(self, clicks: int, gap: float = 0.5) -> None:
        """Quadrature steps on the encoder: clockwise for clicks > 0."""
        a, b = self.pin("encoder_a"), self.pin("encoder_b")
        first, second = (a, b) if clicks > 0 else (b, a)
        for _ in range(abs(clicks)):
            first.drive_low()
            second.drive_low()
            first.drive_high()
            second.drive_high()
            self.clock.advance(gap)

    @property
    def state(self) -> State:
        return self.box.runtime.state

    def wait_state(self, pred: Callable[[State], bool], timeout: float = WAIT) -> State:
        """Wait on the runtime's subscription until `pred(state)` holds."""
        sub = self.box.runtime.subscribe(name="test")
        try:
            deadline = time.monotonic() + timeout
            while not pred(self.state):
                if time.monotonic() > deadline:
                    raise AssertionError(f"state never matched; transport={self.transport}")
                sub.get(timeout=0.5)
            return self.state
        finally:
            sub.close()

    @property
    def transport(self) -> str:
        venue = self.state.venue
        return venue.transport if venue else ""

    @property
    def volume(self) -> int:
        venue = self.state.venue
        assert venue is not None
        return venue.player_settings.master_volume

    @property
    def play_id(self) -> str:
        venue = self.state.venue
        return venue.now_playing.play_id if venue and venue.now_playing else ""

    def enqueue(self, *video_ids: str) -> None:
        for vid in video_ids:
            track = TrackInfo(video_id=vid, title=vid.upper(), duration=600)
            reply = self.box.runtime.submit(m.AddToQueue(track=track, actor=STAFF))
            assert reply.ok, reply.error

    def staff(self, command: str, value: Any = None) -> Reply:
        return self.box.runtime.submit(m.UiCommand(command=command, value=value, actor=STAFF))

    def stop(self) -> None:
        self.box.stop()
        self.player.stop()


def start_rig(tmp: Path, panel_section: dict[str, Any] | None = None) -> Rig:
    section = {"bounce_ms": 100, "resume_hold": 0.3, "skip_hold": 0.3, **(panel_section or {})}
    config = Config(data_dir=tmp, sections={"panel": section})
    factory, clock, replies = mock_factory(), ManualClock(), Replies()
    player: list[StandInPlayer] = []

    def standin(box: Box) -> Any:
        p = StandInPlayer(box.runtime.post)
        box.runtime.add_effect_sink(p, "standin")
        player.append(p)
        return None

    panel_factory = partial(wire_panel, pin_factory=factory, clock=clock, on_reply=replies)
    box = build(config, store=MemoryStore(), adapters=[standin, panel_factory])
    panels = [a for a in box.adapters if isinstance(a, Panel)]
    assert panels, "the panel was not built"
    box.start()
    return Rig(box, panels[0], factory, clock, replies, player[0])
