"""The pages and what they need from the box: served with no outside resources, the QR
code as SVG, the first-start PIN on the box's own screen until staff log in, and the
server's own refusal past its connection cap."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import requests

from tests.integration.web.conftest import Api
from tests.support.server import running_box
from web.server import ConsoleServer


def test_pages_use_no_outside_resources(box) -> None:
    for path in ("/staff", "/patron", "/screen"):
        r = requests.get(box.url + path, timeout=10)
        assert r.status_code == 200 and "text/html" in r.headers["Content-Type"]
        refs = re.findall(r'(?:src|href)="([^"]+)"', r.text)
        assert refs and all(not ref.startswith(("http:", "https:", "//")) for ref in refs), refs
        for ref in refs:
            if ref.startswith("/static/"):
                assert requests.get(box.url + ref, timeout=10).status_code == 200


def test_qr_code_is_an_svg_for_the_patron_page(box) -> None:
    r = requests.get(box.url + "/api/qr.svg", timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("image/svg+xml")
    assert b"<svg" in r.content and b"<path" in r.content


def test_first_start_pin_is_shown_until_staff_log_in(tmp_path: Path) -> None:
    with running_box(tmp_path / "data", admin_pin="") as box:
        pin = (tmp_path / "data" / "first-boot-pin").read_text().strip()
        assert pin.isdigit() and len(pin) == 6
        assert pin in requests.get(box.url + "/screen", timeout=10).text
        Api(box.url).login(pin)
        assert pin not in requests.get(box.url + "/screen", timeout=10).text


def test_server_refuses_past_its_cap_at_once(tmp_path: Path) -> None:
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    server = ConsoleServer("127.0.0.1", 0, app, max_connections=2)
    server.start()
    idle = []
    try:
        for _ in range(2):  # two connections that send nothing hold their threads
            s = socket.create_connection(("127.0.0.1", server.bound_port), timeout=10)
            idle.append(s)
        url = f"http://127.0.0.1:{server.bound_port}/"
        r = requests.get(url, timeout=10)
        assert r.status_code == 503 and r.json()["error"]["code"] == "busy"
        assert server.refused >= 1
        for s in idle:
            s.close()
        deadline_ok = False
        for _ in range(100):  # the freed threads notice the close on their next read
            if requests.get(url, timeout=10).status_code == 200:
                deadline_ok = True
                break
        assert deadline_ok
    finally:
        for s in idle:
            s.close()
        server.stop()


def test_screen_shows_setup_problems_and_hotspot_only_on_the_box(tmp_path: Path) -> None:
    """First boot and the setup hotspot leave status files in the data dir; the box's own
    screen (a loopback request) shows them, a phone on the Wi-Fi does not."""
    import json

    from web import create_app

    data = tmp_path / "data"
    with running_box(data) as box:
        (data / "firstboot.json").write_text(
            json.dumps(
                {
                    "ok": False,
                    "reason": "venue.id must be 3-64 letters or digits",
                    "file": "/boot/firmware/djamms.toml",
                    "at": "2026-11-24T10:00:00Z",
                }
            )
        )
        (data / "hotspot.json").write_text(
            json.dumps(
                {
                    "ssid": "DJAMMS-Setup",
                    "password": "jukebox42",
                    "url": "http://10.42.0.1/",
                    "message": "",
                }
            )
        )
        page = requests.get(box.url + "/screen", timeout=10).text
        assert "Setup problem: venue.id must be 3-64 letters or digits" in page
        assert "DJAMMS-Setup" in page and "jukebox42" in page
        app = create_app(box.box.runtime, box.box.config)
        phone = app.test_client().get("/screen", environ_base={"REMOTE_ADDR": "192.168.1.20"})
        assert phone.status_code == 200
        assert b"jukebox42" not in phone.data and b"Setup problem" not in phone.data
