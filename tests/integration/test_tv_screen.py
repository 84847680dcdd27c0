"""The TV's idle screen on a real (headless) compositor: the QR code a phone scans, the
first-start PIN until staff log in, and the messages a venue needs to see."""

from __future__ import annotations

import io
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from appliance.bootstrap import build
from appliance.core import messages as m
from appliance.display.factory import TvDisplay
from appliance.lan import lan_address
from tests.integration.web.conftest import Api
from tests.support.compositor import (
    HeadlessTv,
    tv_fixture,  # noqa: F401 - the `tv` fixture
)
from tests.support.server import WEB_SECTION, RunningBox, box_config, free_port


@pytest.fixture
def tv_box(tmp_path: Path, tv: HeadlessTv) -> Iterator[RunningBox]:
    from appliance.wiring import wire_console, wire_content, wire_display

    port = free_port()
    config = box_config(
        tmp_path / "data",
        port,
        admin_pin="",  # first start: the box makes a PIN and the TV shows it
        sections={"web": dict(WEB_SECTION), "display": {"vo": "wlshm"}},
    )
    box = build(config, adapters=[wire_content, wire_display, wire_console])
    box.start()
    try:
        yield RunningBox(box, f"http://127.0.0.1:{port}", port)
    finally:
        box.stop()


def display_of(box: RunningBox) -> TvDisplay:
    return next(a for a in box.box.adapters if isinstance(a, TvDisplay))


def test_the_idle_screen_brings_phones_to_the_patron_page(
    tv: HeadlessTv, tv_box: RunningBox
) -> None:
    expected = f"http://{lan_address()}:{tv_box.port}/patron"
    shot = tv.grab_until(lambda image: tv.qr_codes(image))
    assert tv.qr_codes(shot) == [expected]
    assert display_of(tv_box).tv.drawn >= 1


def test_the_first_start_pin_shows_until_staff_log_in(tv: HeadlessTv, tv_box: RunningBox) -> None:
    pin = tv_box.box.first_pin
    assert len(pin) >= 4
    shown = tv.grab_until(lambda image: pin in tv.text(image))
    assert pin in tv.text(shown)
    Api(tv_box.url).login(pin)
    gone = tv.grab_until(lambda image: "PIN" not in tv.text(image))
    text = tv.text(gone)
    assert pin not in text and "PIN" not in text
    assert "Scan to request" in text  # the screen is still there, only the PIN went


def test_an_emergency_stop_and_closed_requests_are_on_the_screen(
    tv: HeadlessTv, tv_box: RunningBox
) -> None:
    staff = Api(tv_box.url).login(tv_box.box.first_pin)
    r = staff.cmd("/api/ui/command", {"command": "EMERGENCY_STOP"})
    assert r.status_code == 200, r.text
    shot = tv.grab_until(lambda image: "Emergency stop" in tv.text(image))
    assert "Emergency stop" in tv.text(shot)
    r = staff.cmd(
        "/api/settings/update",
        {
            "setting": "request_rules",
            "value": {"requests_open": False, "closed_message": "Requests reopen at nine"},
        },
    )
    assert r.status_code == 200, r.text
    shot = tv.grab_until(lambda image: "reopen at nine" in tv.text(image))
    assert "Requests reopen at nine" in tv.text(shot)


def test_staff_choose_what_the_tv_shows_and_its_logo(
    tv: HeadlessTv, tv_box: RunningBox, tmp_path: Path
) -> None:
    staff = Api(tv_box.url).login(tv_box.box.first_pin)
    png = tmp_path / "logo.png"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
                    "color=c=magenta:s=64x64", "-frames:v", "1", str(png)], check=True)  # fmt: skip
    gallery = tv_box.box.services.content
    assert gallery is not None
    actor = m.Actor(user_id=staff.user_id, role="admin", source="web")
    logo = gallery.upload(io.BytesIO(png.read_bytes()), "logo.png", actor)
    r = staff.cmd("/api/settings/update", {"setting": "tv_logo", "value": logo.content_id})
    assert r.status_code == 200, r.text

    def magenta(image: Image.Image) -> bool:
        red, green, blue = image.getpixel((160, 72))[:3]
        return red > 200 and green < 60 and blue > 200

    shot = tv.grab_until(magenta)
    assert magenta(shot)
    r = staff.cmd("/api/settings/update", {"setting": "tv_qr_code", "value": False})
    assert r.status_code == 200, r.text
    gone = tv.grab_until(lambda image: not tv.qr_codes(image))
    assert tv.qr_codes(gone) == [] and "Scan to request" not in tv.text(gone)
    r = staff.cmd("/api/settings/update", {"setting": "tv_logo", "value": ""})
    assert r.status_code == 200, r.text
    plain = tv.grab_until(lambda image: not magenta(image))
    assert not magenta(plain)


def test_the_tv_comes_back_after_the_compositor_restarts(
    tv: HeadlessTv, tv_box: RunningBox
) -> None:
    """On the box systemd restarts a crashed cage; the idle screen must reopen on the new
    one by itself, overlay and all, or the TV stays black until the box restarts."""
    expected = f"http://{lan_address()}:{tv_box.port}/patron"
    assert tv.qr_codes(tv.grab_until(lambda image: tv.qr_codes(image))) == [expected]
    surface = display_of(tv_box).surface
    tv.restart_compositor()
    shot = tv.grab_until(lambda image: tv.qr_codes(image) == [expected], timeout=60)
    assert tv.qr_codes(shot) == [expected]
    assert surface.reopened >= 1
