"""The status LED and the amplifier relay follow the box's state (MockPWMPin records)."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from appliance.bootstrap import build
from appliance.config import Config
from appliance.core import messages as m
from appliance.core.model import TrackInfo
from appliance.memory_store import MemoryStore
from appliance.wiring import wire_panel
from hardware.indicators import BLINK_FAST, BLINK_SLOW, BREATHE, ON
from hardware.panel import Panel
from tests.integration.panel_rig import (
    ManualClock,
    RecordingPin,
    Replies,
    Rig,
    mock_factory,
    start_rig,
)


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    r = start_rig(tmp_path, {"error_show": 0.6, "relay_idle_off": 0.3})
    yield r
    r.stop()


def toggles_since(pin: RecordingPin, mark: int) -> list[tuple[float, float]]:
    """(seconds since the previous change, new value) for changes after `mark`."""
    return [(s.timestamp, float(s.state)) for s in pin.states[mark:]]


def wait_toggles(pin: RecordingPin, mark: int, n: int) -> list[tuple[float, float]]:
    assert pin.wait_for(lambda p: len(p.states) - mark >= n), "the LED is not blinking"
    return toggles_since(pin, mark)


def playing(rig: Rig) -> None:
    rig.enqueue("a", "b", "c")
    rig.wait_state(lambda s: s.venue.now_playing is not None and s.venue.transport == "playing")


def test_led_on_while_playing_breathes_when_paused_blinks_fast_on_emergency(rig: Rig) -> None:
    led = rig.pin("status_led")
    playing(rig)
    assert led.wait_for(lambda p: p.state == 1.0)

    mark = len(led.states)
    assert rig.staff("PAUSE").ok
    assert led.wait_for(lambda p: any(0.0 < v < 1.0 for v in p.values()[mark:]))
    assert rig.panel.status.pattern == BREATHE

    assert rig.staff("PLAY").ok
    assert led.wait_for(lambda p: p.state == 1.0 and rig.panel.status.pattern == ON)

    mark = len(led.states)
    rig.press("emergency_stop")
    changes = wait_toggles(led, mark, 6)
    assert {v for _, v in changes} == {0.0, 1.0}  # plain on/off, no fading
    gaps = sorted(t for t, _ in changes[1:])
    assert gaps[len(gaps) // 2] < 0.5  # fast: 0.1 s on, 0.1 s off
    assert rig.panel.status.pattern == BLINK_FAST


def test_led_blinks_slowly_while_the_cloud_link_is_down(rig: Rig) -> None:
    led = rig.pin("status_led")
    playing(rig)
    assert led.wait_for(lambda p: p.state == 1.0)
    mark = len(led.states)
    rig.box.runtime.post(m.SystemNotice(status="cloud_link_down"))
    changes = wait_toggles(led, mark, 3)
    assert rig.panel.status.pattern == BLINK_SLOW
    assert all(t >= 0.9 for t, _ in changes[1:3])  # slow: 1 s on, 1 s off

    rig.box.runtime.post(m.SystemNotice(status="cloud_link_up"))
    assert led.wait_for(lambda p: rig.panel.status.pattern == ON and p.state == 1.0)


def test_a_player_error_blinks_fast_for_a_while(rig: Rig) -> None:
    led = rig.pin("status_led")
    playing(rig)
    assert led.wait_for(lambda p: p.state == 1.0)
    mark = len(led.states)
    rig.box.runtime.post(m.PlayerError(play_id=rig.play_id, error_code="decode", detail="x"))
    wait_toggles(led, mark, 3)
    # error_show is 0.6 s here; the next track plays on, so the LED returns to steady on
    assert led.wait_for(lambda p: rig.panel.status.pattern == ON and p.state == 1.0)
    assert rig.panel.status.view.player_error is False


def test_relay_is_on_before_the_first_track_and_drops_after_idle(tmp_path: Path) -> None:
    factory = mock_factory()
    section = {"relay_idle_off": 0.3, "pins": {"amp_relay": 23, "status_led": 12}}
    config = Config(data_dir=tmp_path, sections={"panel": section})
    panel_factory = partial(
        wire_panel, pin_factory=factory, clock=ManualClock(), on_reply=Replies()
    )
    box = build(config, store=MemoryStore(), adapters=[panel_factory])
    relay: RecordingPin = factory.pin(23)  # type: ignore[assignment]
    assert isinstance(box.adapters[0], Panel)
    assert relay.state == 1.0  # powered as the panel is built, before the runtime runs
    box.start()
    try:
        # the venue is new and has nothing to play: after the idle time the amp goes off
        assert relay.wait_for(lambda p: p.state == 0.0)
        rig_track = m.AddToQueue(
            track=TrackInfo(video_id="v1", duration=600),
            actor=m.Actor(user_id="staff", role="admin"),
        )
        assert box.runtime.submit(rig_track).ok  # no player here: the track is "on"
        assert relay.wait_for(lambda p: p.state == 1.0)
        assert box.runtime.submit(
            m.UiCommand(command="PAUSE", actor=m.Actor(user_id="staff", role="admin"))
        ).ok
        assert relay.wait_for(lambda p: p.state == 0.0)
        assert [float(s.state) for s in relay.states][-4:] == [1.0, 0.0, 1.0, 0.0]
    finally:
        box.stop()
