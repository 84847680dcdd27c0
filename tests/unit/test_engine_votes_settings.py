"""Likes, vote-to-skip, and settings validated per field."""

from __future__ import annotations

import pytest

from appliance.core import messages as m
from appliance.core.outputs import ApplySettings
from tests.unit.engine_kit import ADMIN, MOD, effects_of, now_vid, patron, playing_venue

# --- likes and vote-to-skip -------------------------------------------------------------


def test_likes_count_distinct_users() -> None:
    d = playing_venue(3)
    for who in (patron(1), patron(2), patron(1)):
        out = d.do(m.Vote(video_id="v0", vote_type="like", actor=who))
    np = d.venue.now_playing
    assert np is not None and np.vote_count == 2 and np.is_liked
    assert out.reply == {"vote_count": 2, "is_liked": True}
    d.do(m.Vote(video_id="v0", vote_type="unlike", actor=patron(1)))
    d.do(m.Vote(video_id="v0", vote_type="unlike", actor=patron(2)))
    assert d.venue.now_playing.vote_count == 0 and not d.venue.now_playing.is_liked


def test_likes_reset_with_the_next_track() -> None:
    d = playing_venue(3)
    d.do(m.Vote(video_id="v0", actor=patron(1)))
    d.end()
    assert d.venue.now_playing.vote_count == 0


@pytest.mark.parametrize(
    ("vote", "code", "status"),
    [
        (m.Vote(video_id="v1", actor=patron(1)), "not_playing", 409),
        (m.Vote(video_id="v0", vote_type="love", actor=patron(1)), "invalid_vote", 400),
        (m.Vote(video_id="v0", vote_type="skip", actor=patron(1)), "vote_skip_off", 403),
    ],
)
def test_bad_votes(vote: m.Vote, code: str, status: int) -> None:
    playing_venue(3).reject(vote, code, status)


def test_vote_to_skip_needs_the_threshold_of_distinct_voters() -> None:
    d = playing_venue(3)
    d.setting("request_rules", {"vote_skip_threshold": 3})
    for who in (patron(1), patron(2), patron(2)):
        out = d.do(m.Vote(video_id="v0", vote_type="skip", actor=who))
        assert out.reply["skipped"] is False
    assert out.reply["votes"] == 2 and now_vid(d) == "v0"
    out = d.do(m.Vote(video_id="v0", vote_type="skip", actor=patron(3)))
    assert out.reply["skipped"] is True and now_vid(d) == "v1"
    assert d.venue.now_playing.skip_voters == ()


# --- settings ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "value", "field", "expected"),
    [
        ("crossfade_time", 5, "crossfade_time", 5),
        ("master_volume", 30, "master_volume", 30),
        ("volume", 31, "master_volume", 31),
        ("is_muted", True, "is_muted", True),
        ("mic_volume", 100, "mic_volume", 100),
        ("dynamic_compressor_enabled", True, "dynamic_compressor_enabled", True),
        ("compressor", True, "dynamic_compressor_enabled", True),
        ("is_fullscreen", False, "is_fullscreen", False),
        ("app_name", " Bar TV ", "app_name", "Bar TV"),
        ("repeat_mode", "none", "repeat_mode", "none"),
        ("fade_out_time", 12, "fade_out_time", 12),
        ("loudness_normalization", False, "loudness_normalization", False),
        ("loudness_target", -23, "loudness_target", -23),
        ("duck_db", 20, "duck_db", 20),
        (
            "eq",
            {"60": 3, "14000": -2.5},
            "eq_settings",
            {"60": 3.0, "230": 0, "910": 0, "3600": 0, "14000": -2.5},
        ),
        (
            "display_sliders",
            {"gamma": -10},
            "display_sliders",
            {"brightness": 0, "contrast": 0, "saturation": 0, "gamma": -10},
        ),
        ("player_size", {"width": 1920}, "player_size", {"width": 1920, "height": 720}),
        ("player_position", {"x": 5, "y": -5}, "player_position", {"x": 5, "y": -5}),
    ],
)
def test_valid_settings_apply(setting: str, value: object, field: str, expected: object) -> None:
    d = playing_venue(2)
    out = d.setting(setting, value)
    assert getattr(d.venue.player_settings, field) == expected
    assert getattr(effects_of(out, ApplySettings)[0].settings, field) == expected  # type: ignore[attr-defined]
    assert "PLAYER_SETTINGS_UPDATE" in {e.type for e in out.events}
    assert d.state.activity_log[-1].event_type == "setting_updated"


@pytest.mark.parametrize(
    ("setting", "value", "code"),
    [
        ("crossfade_time", 13, "out_of_range"),
        ("crossfade_time", "3", "invalid_value"),
        ("master_volume", -1, "out_of_range"),
        ("master_volume", True, "invalid_value"),
        ("is_muted", 1, "invalid_value"),
        ("mic_volume", 101, "out_of_range"),
        ("app_name", "", "invalid_value"),
        ("app_name", "x" * 65, "invalid_value"),
        ("repeat_mode", "sometimes", "invalid_value"),
        ("fade_out_time", 0, "out_of_range"),
        ("loudness_normalization", "off", "invalid_value"),
        ("loudness_target", -7, "out_of_range"),
        ("loudness_target", -31, "out_of_range"),
        ("loudness_target", -16.5, "invalid_value"),
        ("duck_db", 41, "out_of_range"),
        ("eq_settings", {"50": 1}, "invalid_value"),
        ("eq_settings", {"60": 13}, "out_of_range"),
        ("eq_settings", [], "invalid_value"),
        ("display_sliders", {"gamma": 101}, "out_of_range"),
        ("player_size", {"width": 10}, "out_of_range"),
        ("shuffle_enabled", "yes", "invalid_value"),
        ("request_rules", {"priority_cap": -1}, "out_of_range"),
        ("request_rules", {"blocked_artists": "Nickelback"}, "invalid_value"),
        ("request_rules", {"free_beer": True}, "unknown_setting"),
        ("venue_name", 7, "invalid_value"),
        ("warp_drive", 1, "unknown_setting"),
    ],
)
def test_invalid_settings_are_refused(setting: str, value: object, code: str) -> None:
    playing_venue(2).reject(m.UpdateSetting(setting=setting, value=value, actor=ADMIN), code, 400)


def test_unknown_setting_lists_the_known_ones() -> None:
    err = playing_venue(2).reject(m.UpdateSetting(setting="nope", actor=ADMIN), "unknown_setting")
    assert "master_volume" in err.extra["known"]


def test_patrons_cannot_change_settings() -> None:
    d = playing_venue(2)
    d.reject(m.UpdateSetting(setting="master_volume", value=1, actor=patron(1)), "forbidden", 403)


def test_request_rules_and_venue_name_are_settings_too() -> None:
    d = playing_venue(2)
    d.setting("request_rules", {"priority_cap": 3, "closed_message": "Private party"}, actor=MOD)
    d.setting("venue_name", "The Anchor")
    assert d.venue.request_rules.priority_cap == 3
    assert d.venue.request_rules.closed_message == "Private party"
    assert d.venue.venue_name == "The Anchor"
