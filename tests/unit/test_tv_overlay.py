"""The TV's picture from the venue's state (pure): what shows, and text that cannot
restyle the screen."""

from __future__ import annotations

from pathlib import Path

from appliance.config import Config
from appliance.core import messages as m
from appliance.core.model import ContentItem
from appliance.display.factory import wants_display
from appliance.display.overlay import (
    ScreenFacts,
    TvPicture,
    deck_overlay,
    idle_screen,
    picture_of,
    plain,
)
from appliance.display.qr import qr_drawing, qr_modules
from appliance.lan import interface_addresses, lan_address
from tests.unit.engine_kit import ADMIN, playing_venue

FACTS = ScreenFacts(patron_url="http://192.168.1.20:8080/patron", first_pin="482913")


def texts(p: TvPicture) -> list[str]:
    return [msg.text for msg in p.messages]


def test_now_playing_and_the_next_three_come_from_the_queue() -> None:
    d = playing_venue(6)
    p = picture_of(d.state, FACTS)
    np = d.venue.now_playing
    assert np is not None and p.title == np.title
    assert [t for t, _ in p.coming_up] == [i.title for i in d.venue.active_queue[:3]]


def test_the_first_start_pin_shows_until_a_staff_member_logs_in() -> None:
    d = playing_venue(2)
    assert any("482913" in t for t in texts(picture_of(d.state, FACTS)))
    d.do(m.UserLoggedIn(user_id=ADMIN.user_id, actor=ADMIN))
    assert not any("482913" in t for t in texts(picture_of(d.state, FACTS)))


def test_emergency_stop_closed_requests_and_announcements_are_messages() -> None:
    d = playing_venue(2)
    d.ui("EMERGENCY_STOP")
    d.do(m.UpdateSetting(setting="request_rules", value={"requests_open": False}, actor=ADMIN))
    found = texts(picture_of(d.state, ScreenFacts("u"), announcing=True))
    assert found == ["Emergency stop", "Announcement", "Requests are closed"]


def test_titles_cannot_carry_override_tags() -> None:
    assert plain("Song {\\fs200\\pos(0,0)} \\N x") == "Song (/fs200/pos(0,0)) /N x"


def test_the_qr_code_is_drawn_on_its_quiet_zone_in_row_runs() -> None:
    modules = qr_modules(FACTS.patron_url)
    paper, dark = qr_drawing(modules, 4)
    side = len(modules) * 4
    assert paper == f"m 0 0 l {side} 0 {side} {side} 0 {side}"
    assert not any(modules[0]) and not any(row[0] for row in modules)  # quiet zone
    runs = sum(
        1 for row in modules for i, cell in enumerate(row) if cell and (i == 0 or not row[i - 1])
    )
    assert dark.count("m ") == runs


def test_both_screens_carry_the_qr_code_and_the_messages() -> None:
    d = playing_venue(3)
    p = picture_of(d.state, FACTS)
    for ass in (deck_overlay(p), idle_screen(p)):
        assert "\\p1" in ass and "482913" in ass and FACTS.patron_url in ass
    assert "Scan to request a song" in idle_screen(p)


def test_the_tv_runs_only_where_a_compositor_socket_exists(tmp_path: Path) -> None:
    config = Config(video="auto")
    env = {"XDG_RUNTIME_DIR": str(tmp_path), "WAYLAND_DISPLAY": "wayland-0"}
    assert not wants_display(config, env)  # a headless box: the service set it, no socket
    (tmp_path / "wayland-0").touch()
    assert wants_display(config, env)
    assert not wants_display(Config(video="null"), env)
    off = Config(video="auto", sections={"display": {"enabled": False}})
    assert not wants_display(off, env)
    assert wants_display(config, {"WAYLAND_DISPLAY": str(tmp_path / "wayland-0")})


def test_staff_turn_parts_of_the_overlay_off_and_pick_a_gallery_logo() -> None:
    d = playing_venue(4)
    for setting in ("tv_now_playing", "tv_coming_up", "tv_qr_code"):
        d.do(m.UpdateSetting(setting=setting, value=False, actor=ADMIN))
    p = picture_of(d.state, FACTS)
    assert (p.title, p.coming_up, p.show_qr) == ("", (), False)
    assert "\\p1" not in deck_overlay(p)  # no QR drawing
    d.reject(m.UpdateSetting(setting="tv_qr_code", value="yes", actor=ADMIN), "invalid_value", 400)
    d.reject(m.UpdateSetting(setting="tv_logo", value="c404", actor=ADMIN), "not_found", 404)
    image = ContentItem(content_id="c1", filename="logo.png", mime_type="image/png")
    clip = ContentItem(content_id="c2", filename="hi.mp3", mime_type="audio/mpeg", kind="audio")
    d.do(m.AddContent(item=image, actor=ADMIN))
    d.do(m.AddContent(item=clip, actor=ADMIN))
    d.reject(m.UpdateSetting(setting="tv_logo", value="c2", actor=ADMIN), "not_an_image", 409)
    d.do(m.UpdateSetting(setting="tv_logo", value="c1", actor=ADMIN))
    assert picture_of(d.state, FACTS).logo == "c1"
    d.do(m.UpdateSetting(setting="tv_logo", value="", actor=ADMIN))
    assert picture_of(d.state, FACTS).logo == ""


def test_the_lan_address_is_one_of_this_machines_interfaces() -> None:
    addresses = interface_addresses()
    assert all(not a.startswith("127.") for a in addresses)
    assert lan_address() in addresses or (not addresses and lan_address() == "127.0.0.1")
