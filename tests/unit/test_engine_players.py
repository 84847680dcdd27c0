"""Player instances (one active), heartbeats (volatile), the heartbeat audit, the
position checkpoint, Boot (resume at the last position)."""

from __future__ import annotations

from appliance.core import messages as m
from appliance.core.outputs import ApplySettings, PlayTrack, Prefetch
from appliance.core.players import checkpoint_message
from tests.unit.engine_kit import (
    ADMIN,
    PLAYER,
    Driver,
    effects_of,
    event_types,
    patron,
    playing_venue,
)


def test_first_player_to_register_becomes_active() -> None:
    d = Driver().setup()
    out = d.do(m.PlayerReady(player_id="mpv", kind="mpv", actor=PLAYER))
    inst = d.state.player_instances["mpv"]
    assert inst.is_active and inst.kind == "mpv" and inst.venue_id == "owner"
    assert d.venue.active_player_instance_id == "mpv"
    assert out.reply == {"playerId": "mpv", "active": True, "activePlayerInstanceId": "mpv"}
    assert "SYSTEM_STATUS" in event_types(out)
    assert d.state.activity_log[-1].event_type == "player_registered"


def test_external_players_register_as_standby_while_the_active_one_is_alive() -> None:
    d = Driver().setup()
    d.do(m.PlayerReady(player_id="mpv"))
    out = d.do(m.PlayerReady(player_id="screen-2", kind="browser"))
    assert out.reply["active"] is False
    assert d.venue.active_player_instance_id == "mpv"
    active = [p for p in d.state.player_instances.values() if p.is_active]
    assert [p.player_id for p in active] == ["mpv"]


def test_a_player_registering_while_the_active_one_is_gone_takes_over() -> None:
    d = Driver().setup()
    d.do(m.PlayerReady(player_id="mpv"))
    d.do(m.Tick(heartbeat_timeout=15), dt=60)  # no heartbeat for a minute
    assert d.venue.player_connected is False
    out = d.do(m.PlayerReady(player_id="screen-2"))
    assert out.reply["active"] is True
    assert d.venue.active_player_instance_id == "screen-2" and d.venue.player_connected
    assert [p.player_id for p in d.state.player_instances.values() if p.is_active] == ["screen-2"]


def test_the_active_player_reregistering_stays_active() -> None:
    d = Driver().setup()
    d.do(m.PlayerReady(player_id="mpv"))
    d.do(m.PlayerReady(player_id="screen-2"))
    out = d.do(m.PlayerReady(player_id="mpv"))
    assert out.reply["active"] is True
    assert d.state.player_instances["screen-2"].is_active is False


def test_staff_can_pick_the_active_player() -> None:
    d = Driver().setup()
    d.do(m.PlayerReady(player_id="mpv"))
    d.do(m.PlayerReady(player_id="screen-2"))
    d.do(m.ActivatePlayer(player_id="screen-2", actor=ADMIN))
    assert d.venue.active_player_instance_id == "screen-2"
    assert [p.player_id for p in d.state.player_instances.values() if p.is_active] == ["screen-2"]
    d.reject(m.ActivatePlayer(player_id="nope", actor=ADMIN), "not_found", 404)
    d.reject(m.ActivatePlayer(player_id="mpv", actor=patron(1)), "forbidden", 403)
    d.reject(m.PlayerReady(player_id=""), "invalid_player_id", 400)


def test_heartbeat_is_volatile_and_moves_the_position() -> None:
    d = playing_venue(3)
    rev = d.state.rev
    out = d.do(m.Heartbeat(player_id="mpv", position=33.0, play_id=d.play_id))
    assert out.durable is False and out.events == ()
    assert d.state.rev == rev
    assert d.venue.now_playing.position == 33.0
    assert d.venue.last_heartbeat_at == out.state.venue.last_heartbeat_at != ""


def test_standby_heartbeats_do_not_speak_for_the_venue() -> None:
    d = playing_venue(3)
    d.do(m.PlayerReady(player_id="mpv"))
    d.do(m.PlayerReady(player_id="screen-2"))
    venue_beat = d.venue.last_heartbeat_at
    out = d.do(m.Heartbeat(player_id="screen-2", position=99.0, play_id=d.play_id), dt=5)
    assert out.durable is False
    assert d.venue.now_playing.position == 0.0 and d.venue.last_heartbeat_at == venue_beat
    assert d.state.player_instances["screen-2"].last_heartbeat_at > venue_beat


def test_audit_marks_the_player_disconnected_and_a_heartbeat_reconnects() -> None:
    d = playing_venue(3)
    d.do(m.Heartbeat(player_id="mpv", play_id=d.play_id))
    quiet = d.do(m.Tick(heartbeat_timeout=15), dt=10)
    assert quiet.durable is False and d.venue.player_connected
    out = d.do(m.Tick(heartbeat_timeout=15), dt=10)
    assert out.durable and not d.venue.player_connected
    assert "PLAYER_DISCONNECTED" in event_types(out)
    back = d.do(m.Heartbeat(player_id="mpv", play_id=d.play_id))
    assert back.durable and d.venue.player_connected
    assert "SYSTEM_STATUS" in event_types(back)


def test_checkpoint_message_round_trips_the_volatile_part() -> None:
    d = playing_venue(3)
    d.do(m.PlayerReady(player_id="mpv"))
    durable = d.state
    d.do(m.Heartbeat(player_id="mpv", position=71.5, play_id=d.play_id), dt=5)
    live = d.state
    msg = checkpoint_message(live)
    assert msg is not None
    replayed = Driver(durable, d.now)
    out = replayed.do(msg, dt=0)
    assert out.durable is False
    assert replayed.state == live


def test_boot_resumes_the_current_track_at_its_last_position() -> None:
    d = playing_venue(3)
    d.do(m.PositionCheckpoint(play_id=d.play_id, position=95.0))
    pid = d.play_id
    out = d.do(m.Boot())
    play = effects_of(out, PlayTrack)
    assert len(play) == 1 and play[0].play_id == pid and play[0].start_at == 95.0
    assert play[0].paused is False and play[0].transition == "cut"
    assert effects_of(out, ApplySettings) and effects_of(out, Prefetch)
    assert out.durable is False


def test_boot_while_paused_loads_paused_and_after_a_stop_stays_quiet() -> None:
    d = playing_venue(3)
    d.ui("PAUSE")
    assert effects_of(d.do(m.Boot()), PlayTrack)[0].paused is True
    d.ui("EMERGENCY_STOP")
    assert effects_of(d.do(m.Boot()), PlayTrack) == []


def test_boot_with_nothing_playing_starts_the_queue() -> None:
    d = Driver().setup()
    pid = d.playlist([1, 2])
    d.do(m.ManagePlaylist(action="set_default", params={"playlistId": pid}, actor=ADMIN))
    out = d.do(m.Boot())
    assert effects_of(out, PlayTrack) and d.venue.now_playing is not None
