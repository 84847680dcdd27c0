"""Buttons and encoder on MockFactory pins -> core messages through a real runtime."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.core import messages as m
from tests.integration.panel_rig import WAIT, Rig, start_rig


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    r = start_rig(tmp_path)
    yield r
    r.stop()


def barrier(rig: Rig) -> None:
    """Everything the panel submitted before this has been applied and answered."""
    rig.box.runtime.submit(m.SystemNotice(status="test_barrier"))


def playing(rig: Rig) -> None:
    rig.enqueue("a", "b", "c", "d")
    rig.wait_state(lambda s: s.venue is not None and s.venue.now_playing is not None)


def test_emergency_latches_and_a_long_hold_on_play_pause_releases_it(rig: Rig) -> None:
    playing(rig)
    track = rig.play_id
    rig.press("emergency_stop")
    rig.wait_state(lambda s: s.venue.transport == "emergency")
    rig.clock.advance(0.2)
    rig.release("emergency_stop")

    rig.tap("play_pause")  # a short press does not release the latch
    refused = rig.replies.wait_count("PLAY_PAUSE", 1)[0]
    assert not refused.ok and refused.error["code"] == "emergency_stop_active"
    assert rig.transport == "emergency"

    rig.press("play_pause")  # held for resume_hold (0.3 s here): RESUME
    rig.wait_state(lambda s: s.venue.transport == "playing")
    rig.clock.advance(0.5)
    rig.release("play_pause")
    barrier(rig)
    assert len(rig.replies.of("RESUME")) == 1
    assert len(rig.replies.of("PLAY_PAUSE")) == 1  # the held release sent nothing more
    assert rig.play_id == track  # the same track comes back


def test_bouncing_contacts_give_one_command(rig: Rig) -> None:
    playing(rig)
    for _ in range(3):  # contact bounce: all within bounce_ms on the panel's clock
        rig.press("emergency_stop")
        rig.release("emergency_stop")
    rig.press("emergency_stop")
    rig.clock.advance(0.5)
    rig.release("emergency_stop")
    barrier(rig)
    assert len(rig.replies.of("EMERGENCY_STOP")) == 1
    assert rig.panel.buttons["emergency_stop"].ignored >= 1
    assert rig.transport == "emergency"


def test_a_tap_shorter_than_the_bounce_window_is_not_lost(rig: Rig) -> None:
    playing(rig)
    rig.press("play_pause")
    rig.release("play_pause")  # within the window: caught up when the window ends
    replies = rig.replies.wait_count("PLAY_PAUSE", 1)
    assert len(replies) == 1 and replies[0].ok
    rig.wait_state(lambda s: s.venue.transport == "paused")


def test_play_pause_toggles(rig: Rig) -> None:
    playing(rig)
    rig.tap("play_pause")
    rig.wait_state(lambda s: s.venue.transport == "paused")
    rig.tap("play_pause")
    rig.wait_state(lambda s: s.venue.transport == "playing")
    assert [r.ok for r in rig.replies.of("PLAY_PAUSE")] == [True, True]


def test_a_double_press_on_skip_skips_once(rig: Rig) -> None:
    playing(rig)
    first = rig.play_id
    rig.tap("skip", gap=0.1)
    rig.tap("skip", gap=0.1)  # 0.2 s after the first: within double_press_window
    replies = rig.replies.wait_count("PLAY_NEXT", 2)
    assert [r.result["skipped"] for r in replies] == [True, False]
    second = rig.play_id
    assert second != first
    assert len(rig.state.venue.history) == 1

    rig.clock.advance(1.0)  # a deliberate second skip later on
    rig.tap("skip")
    replies = rig.replies.wait_count("PLAY_NEXT", 3)
    assert replies[2].result["skipped"] is True
    assert rig.play_id not in (first, second)
    assert len(rig.state.venue.history) == 2


def test_holding_skip_fades_out_and_stops(rig: Rig) -> None:
    playing(rig)
    rig.press("skip")
    rig.wait_state(lambda s: s.venue.transport == "stopped")
    rig.clock.advance(1.0)
    rig.release("skip")
    barrier(rig)
    assert len(rig.replies.of("FADE_OUT_STOP")) == 1
    assert rig.replies.of("PLAY_NEXT") == []


def test_encoder_steps_change_volume_and_accelerate_when_turned_fast(rig: Rig) -> None:
    assert rig.volume == 70
    rig.turn(3, gap=0.5)  # slow: volume_step (2) per detent
    rig.wait_state(lambda s: s.venue.player_settings.master_volume == 76)
    rig.turn(-1, gap=0.5)
    rig.wait_state(lambda s: s.venue.player_settings.master_volume == 74)
    rig.clock.advance(1.0)
    rig.turn(4, gap=0.05)  # fast: x1, x2, x3, x4 -> 2 + 4 + 6 + 8
    rig.wait_state(lambda s: s.venue.player_settings.master_volume == 94)
    rig.turn(10, gap=0.05)  # stops at 100
    rig.wait_state(lambda s: s.venue.player_settings.master_volume == 100)
    sent = [r for r in rig.replies.of("SET_VOLUME") if r.ok]
    assert all(r.ok for r in rig.replies.of("SET_VOLUME"))
    assert sent, "volume went through the core"


def test_encoder_is_relative_to_the_volume_set_elsewhere(rig: Rig) -> None:
    assert rig.staff("SET_VOLUME", 30).ok
    rig.turn(2, gap=0.5)
    rig.wait_state(lambda s: s.venue.player_settings.master_volume == 34)


def test_panel_commands_carry_the_panel_actor(rig: Rig) -> None:
    playing(rig)
    rig.tap("play_pause")
    rig.wait_state(lambda s: s.venue.transport == "paused")
    entries = [e for e in rig.state.activity_log if e.event_type == "ui_command"]
    assert entries[-1].user_id == "panel"
    assert entries[-1].event_data["command"] == "PLAY_PAUSE"


@pytest.fixture
def button_rig(tmp_path: Path) -> Iterator[Rig]:
    pins = {"volume_up": 24, "volume_down": 25, "emergency_stop": 17, "status_led": 12}
    r = start_rig(tmp_path, {"pins": pins, "repeat_delay": 0.2, "repeat_every": 0.05})
    yield r
    r.stop()


def test_volume_buttons_step_and_repeat_while_held(button_rig: Rig) -> None:
    rig = button_rig
    assert rig.panel.devices.encoder is None
    rig.tap("volume_up")
    rig.wait_state(lambda s: s.venue.player_settings.master_volume == 72)
    rig.press("volume_down")  # held: one step, then repeats every repeat_every
    rig.wait_state(lambda s: s.venue.player_settings.master_volume <= 60, timeout=WAIT)
    rig.clock.advance(1.0)
    rig.release("volume_down")
    barrier(rig)
    low = rig.volume
    assert low <= 60 and (72 - low) % 2 == 0
    rig.wait_state(lambda s: s.venue.player_settings.master_volume == low)
