"""Every UI command and its effects; transport intent vs what the player reports;
PLAY_PREVIOUS."""

from __future__ import annotations

import pytest

from appliance.core import messages as m
from appliance.core.outputs import (
    ApplySettings,
    EmergencyStop,
    FadeOutStop,
    Pause,
    PlayTrack,
    Resume,
    Seek,
)
from tests.unit.engine_kit import (
    ADMIN,
    MOD,
    PLAYER,
    Driver,
    effects_of,
    event_types,
    now_vid,
    patron,
    playing_venue,
    vids,
)


def _status(d: Driver, state: str, position: float = 0.0) -> None:
    d.do(m.PlayerStatus(play_id=d.play_id, state=state, position=position, actor=PLAYER))


@pytest.mark.parametrize(
    ("start", "command", "transport", "effect"),
    [
        ("playing", "PLAY_PAUSE", "paused", Pause),
        ("paused", "PLAY_PAUSE", "playing", Resume),
        ("playing", "PAUSE", "paused", Pause),
        ("paused", "PLAY", "playing", Resume),
        ("paused", "RESUME", "playing", Resume),
        ("playing", "EMERGENCY_STOP", "emergency", EmergencyStop),
        ("playing", "FADE_OUT_STOP", "stopped", FadeOutStop),
        ("emergency", "RESUME", "playing", PlayTrack),  # decks are empty: reload at position
        ("stopped", "PLAY", "playing", PlayTrack),
    ],
)
def test_transport_commands(start: str, command: str, transport: str, effect: type) -> None:
    d = playing_venue(3)
    setup = {"paused": "PAUSE", "emergency": "EMERGENCY_STOP", "stopped": "FADE_OUT_STOP"}
    if start in setup:
        d.ui(setup[start])
    assert d.venue.transport == start
    out = d.ui(command)
    assert d.venue.transport == transport
    assert effects_of(out, effect), out.effects
    assert "NOW_PLAYING_UPDATE" in event_types(out)
    assert out.reply["transport"] == transport


def test_resume_after_emergency_reloads_the_same_track_at_its_position() -> None:
    d = playing_venue(3)
    _status(d, "playing", 42.0)
    pid = d.play_id
    d.ui("EMERGENCY_STOP")
    out = d.ui("RESUME")
    play = effects_of(out, PlayTrack)[0]
    assert play.play_id == pid and play.start_at == 42.0 and play.transition == "cut"


def test_play_is_refused_during_emergency_stop() -> None:
    d = playing_venue(3)
    d.ui("EMERGENCY_STOP")
    d.reject(m.UiCommand(command="PLAY", actor=ADMIN), "emergency_stop_active", 409)
    d.reject(m.UiCommand(command="PLAY_PAUSE", actor=ADMIN), "emergency_stop_active", 409)


def test_fade_out_uses_the_configured_time() -> None:
    d = playing_venue(3)
    d.setting("fade_out_time", 9)
    out = d.ui("FADE_OUT_STOP")
    assert effects_of(out, FadeOutStop) == [FadeOutStop(9.0)]


def test_pause_when_already_paused_changes_intent_nothing_and_emits_no_effect() -> None:
    d = playing_venue(3)
    d.ui("PAUSE")
    out = d.ui("PAUSE")
    assert d.venue.transport == "paused" and out.effects == ()


def test_a_track_started_while_paused_is_loaded_paused() -> None:
    d = playing_venue(3)
    d.ui("PAUSE")
    out = d.ui("PLAY_NEXT")
    assert effects_of(out, PlayTrack)[0].paused is True


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (55, None),
        (0, None),
        (100, None),
        (101, "out_of_range"),
        (-1, "out_of_range"),
        ("50", "invalid_value"),
        (True, "invalid_value"),
        (None, "invalid_value"),
        (50.5, "invalid_value"),
    ],
)
def test_set_volume(value: object, code: str | None) -> None:
    d = playing_venue(2)
    msg = m.UiCommand(command="SET_VOLUME", value=value, actor=ADMIN)
    if code:
        d.reject(msg, code, 400)
        return
    out = d.do(msg)
    assert d.venue.player_settings.master_volume == value
    assert effects_of(out, ApplySettings)[0].settings.master_volume == value
    assert "PLAYER_SETTINGS_UPDATE" in event_types(out)


def test_mute_toggle_flips_and_applies() -> None:
    d = playing_venue(2)
    out = d.ui("MUTE_TOGGLE")
    assert d.venue.player_settings.is_muted is True
    assert effects_of(out, ApplySettings)[0].settings.is_muted is True
    d.ui("MUTE_TOGGLE")
    assert d.venue.player_settings.is_muted is False


def test_repeat_toggle_cycles_all_one_none() -> None:
    d = playing_venue(2)
    seen = []
    for _ in range(3):
        d.ui("REPEAT_TOGGLE")
        seen.append(d.venue.player_settings.repeat_mode)
    assert seen == ["one", "none", "all"]


@pytest.mark.parametrize(
    ("value", "code"),
    [(30, None), (0, None), (201, "out_of_range"), (-3, "invalid_value"), ("x", "invalid_value")],
)
def test_seek(value: object, code: str | None) -> None:
    d = playing_venue(2)  # tracks are 200 s long
    msg = m.UiCommand(command="SEEK", value=value, actor=ADMIN)
    if code:
        d.reject(msg, code, 400)
        return
    out = d.do(msg)
    assert effects_of(out, Seek) == [Seek(float(value))]  # type: ignore[arg-type]
    assert d.venue.now_playing is not None and d.venue.now_playing.position == value


def test_seek_with_nothing_playing_is_a_conflict() -> None:
    d = Driver().setup()
    d.reject(m.UiCommand(command="SEEK", value=3, actor=ADMIN), "nothing_playing", 409)


def test_unknown_command_is_refused() -> None:
    d = playing_venue(2)
    d.reject(m.UiCommand(command="SELF_DESTRUCT", actor=ADMIN), "unknown_command", 400)


@pytest.mark.parametrize("command", ["PLAY_PAUSE", "PLAY_NEXT", "SET_VOLUME", "EMERGENCY_STOP"])
def test_patrons_cannot_drive_transport(command: str) -> None:
    d = playing_venue(2)
    d.reject(m.UiCommand(command=command, value=10, actor=patron(1)), "forbidden", 403)


def test_moderator_can_drive_transport() -> None:
    d = playing_venue(2)
    d.ui("PAUSE", actor=MOD)
    assert d.venue.transport == "paused"


# --- intent vs report -------------------------------------------------------------------


def test_intent_and_reported_state_are_separate_fields() -> None:
    d = playing_venue(3)
    assert d.venue.now_playing is not None
    assert d.venue.now_playing.state == "buffering"
    d.ui("PAUSE")
    assert d.venue.transport == "paused"
    assert d.venue.now_playing.state == "buffering", "a command must not fake the report"
    _status(d, "paused", 12.0)
    assert d.venue.now_playing.state == "paused"
    assert d.venue.transport == "paused"


def test_track_started_marks_playing_once() -> None:
    d = playing_venue(3)
    out = d.do(m.TrackStarted(play_id=d.play_id, actor=PLAYER))
    assert d.venue.now_playing.state == "playing" and out.durable
    again = d.do(m.TrackStarted(play_id=d.play_id, actor=PLAYER))
    assert again.durable is False and again.events == ()


def test_position_only_status_is_volatile() -> None:
    d = playing_venue(3)
    _status(d, "playing", 1.0)  # state change: durable
    rev = d.state.rev
    out = d.do(m.PlayerStatus(play_id=d.play_id, state="playing", position=57.5))
    assert out.durable is False and out.events == ()
    assert d.venue.now_playing.position == 57.5 and d.state.rev == rev


def test_status_for_another_play_id_is_ignored() -> None:
    d = playing_venue(3)
    before = d.state
    out = d.do(m.PlayerStatus(play_id="p-old", state="stopped", position=5))
    assert d.state is before and out.durable is False


def test_status_fills_in_an_unknown_duration() -> None:
    d = Driver().setup()
    d.do(m.AddToQueue(track=m.TrackInfo("vx"), actor=ADMIN))
    out = d.do(m.PlayerStatus(play_id=d.play_id, state="buffering", duration=187.4))
    assert d.venue.now_playing.duration == 187 and out.durable


# --- PLAY_PREVIOUS -------------------------------------------------------------------------


def test_previous_after_three_seconds_restarts_the_track() -> None:
    d = playing_venue(4)
    d.end()
    pid = d.play_id
    d.do(m.PlayerStatus(play_id=pid, state="playing", position=3.5))
    out = d.ui("PLAY_PREVIOUS")
    assert now_vid(d) == "v1" and d.play_id == pid
    assert effects_of(out, Seek) == [Seek(0.0)]


def test_previous_within_three_seconds_goes_back() -> None:
    d = playing_venue(4)
    d.end()  # v0 -> v1; v0 recycled to the end under repeat all
    d.do(m.PlayerStatus(play_id=d.play_id, state="playing", position=2.9))
    out = d.ui("PLAY_PREVIOUS")
    assert now_vid(d) == "v0"
    assert effects_of(out, PlayTrack)[0].transition == "skip"
    assert vids(d.venue.active_queue) == ["v1", "v2", "v3"]  # v1 back in front, v0 not twice


def test_previous_of_a_request_puts_the_current_request_back_in_front() -> None:
    d = playing_venue(3)
    d.request(m.TrackInfo("r1", duration=100), patron(1))
    d.request(m.TrackInfo("r2", duration=100), patron(2))
    d.end()
    d.end()
    assert now_vid(d) == "r2"
    d.ui("PLAY_PREVIOUS")
    assert now_vid(d) == "r1"
    assert vids(d.venue.priority_queue) == ["r2"]


def test_previous_with_no_history_is_refused() -> None:
    d = playing_venue(3)
    d.reject(m.UiCommand(command="PLAY_PREVIOUS", actor=ADMIN), "no_previous", 409)


def test_every_ui_command_is_logged_with_who_and_where() -> None:
    d = playing_venue(2)
    d.ui("SET_VOLUME", 40, actor=MOD)
    entry = d.state.activity_log[-1]
    assert entry.event_type == "ui_command"
    assert entry.event_data == {"command": "SET_VOLUME", "value": 40}
    assert (entry.user_id, entry.session_id, entry.ip_address, entry.user_agent) == (
        "mod1",
        "sess-mod",
        "10.0.0.3",
        "UA-mod",
    )
    assert entry.timestamp.endswith("Z")


def test_play_next_skips_with_a_skip_transition_and_prefetches() -> None:
    d = playing_venue(5)
    out = d.ui("PLAY_NEXT", play_id=d.play_id)
    play = effects_of(out, PlayTrack)
    assert len(play) == 1 and play[0].transition == "skip" and play[0].item.video_id == "v1"
    assert out.reply["skipped"] is True
    assert {"NOW_PLAYING_UPDATE", "QUEUE_UPDATE", "LOG_ENTRY"} <= set(event_types(out))
