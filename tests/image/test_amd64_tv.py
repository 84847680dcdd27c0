"""The TV of the booted amd64 image, read off QEMU's screendumps: the QR code over the video
brings phones to the patron page, and a venue that sets no staff PIN on the card sees the
one made at first start on the TV, logs in with it, and the TV stops showing it. Nothing
but the screen tells the PIN: the test reads it with tesseract.

Without djamms-screen.service these failed in about half the boots: cage makes its socket
seconds before its output is up, and the jukebox's windows opened in between showed
nothing (or the display service's own start hung up cage's terminal)."""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator

import pytest
import requests
from PIL import Image, ImageChops

from . import card
from .conftest import built_image
from .machine import Boot, Machine

NO_PIN_TOML = """\
[venue]
id = "image-first-start"
name = "The Blank Slate"
timezone = "Europe/Dublin"
"""
PATRON_URL = "http://10.0.2.15:8080/patron"  # QEMU's user network: the box is 10.0.2.15
PIN_ON_SCREEN = re.compile(r"PIN[^0-9]{0,30}(\d{6})\b")


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Machine]:
    work = tmp_path_factory.mktemp("amd64-first-start")
    disk = card.copy_sparse(built_image("amd64"), work / "card.img", grow_bytes=0)
    # Test only: a root shell on the virtio console, to say what the box did on a failure.
    entry = card.read_boot_file(disk, "loader/entries/djamms.conf").decode()
    entry = entry.rstrip("\n") + " systemd.debug_shell=/dev/hvc0\n"
    card.write_boot_file(disk, "loader/entries/djamms.conf", entry.encode(), work)
    card.write_boot_file(disk, "djamms.toml", NO_PIN_TOML.encode(), work)
    machine = Machine(Boot("amd64", disk, work / "boot")).start()
    yield machine
    machine.kill()


def _messages_text(machine: Machine, name: str) -> str:
    """OCR of the top centre of the TV, where the overlay puts its messages: only the
    near-white pixels (the overlay's text) as ink, doubled, so the text reads the same over
    the dark idle screen and over a video's bright colours (a letterbox edge runs through
    it)."""
    shot = machine.screendump(machine.dir / f"{name}.ppm")
    image = Image.open(shot).convert("RGB")
    w, h = image.size
    band = image.crop((int(w * 0.15), 0, int(w * 0.85), int(h * 0.3)))
    r, g, b = band.split()
    whitest = ImageChops.darker(ImageChops.darker(r, g), b)  # white has no low channel
    ink = whitest.point(lambda v: 0 if v > 190 else 255)
    path = shot.with_suffix(".png")
    ink.resize((ink.width * 2, ink.height * 2)).save(path)
    out = subprocess.run(["tesseract", str(path), "-"], capture_output=True, text=True,
                         timeout=120)  # fmt: skip
    return out.stdout


def _pin_read_twice(machine: Machine, timeout: float) -> str:
    """The PIN as read off two screendumps in a row (a misread digit would cost a login
    attempt), polled: the guest has no event a host can wait on for a frame."""
    deadline, last, text = time.monotonic() + timeout, "", ""
    while time.monotonic() < deadline:
        text = _messages_text(machine, "pin")
        found = PIN_ON_SCREEN.search(text)
        pin = found.group(1) if found else ""
        if pin and pin == last:
            return pin
        last = pin
        time.sleep(2)
    raise AssertionError(f"no staff PIN on the TV within {timeout:.0f} s; read: {text!r}")


def _post_login(box: Machine, pin: str) -> requests.Response:
    """One login; a connection reset is tried again (twice at most, as a person would press
    the button again) and what the box did meanwhile is printed."""
    for attempt in range(3):
        try:
            return requests.post(box.url + "/api/auth/login", json={"pin": pin}, timeout=30)
        except requests.ConnectionError as exc:
            box.wait_shell(timeout=120)
            _, journal = box.sh(
                "systemctl show -P NRestarts djamms;"
                " journalctl -u djamms -n 15 --no-pager -o short-monotonic"
            )
            print(f"login attempt {attempt + 1}: {exc}; restarts, journal:\n{journal}")
            if attempt == 2:
                raise
            box.wait_console(timeout=120)
    raise AssertionError("unreachable")


def test_the_tv_shows_the_first_start_pin_and_it_logs_staff_in(box: Machine) -> None:
    box.wait_console(timeout=900)
    pin = _pin_read_twice(box, timeout=300)
    login = _post_login(box, pin)
    assert login.status_code == 200, f"the PIN read off the TV ({pin}) did not log in: {login.text}"
    assert login.json().get("role") == "admin", login.text


def test_the_pin_leaves_the_tv_once_staff_have_logged_in(box: Machine) -> None:
    deadline, text = time.monotonic() + 120, ""
    while time.monotonic() < deadline:
        text = _messages_text(box, "after-login")
        if "PIN" not in text:
            return
        time.sleep(2)
    raise AssertionError(f"the PIN is still on the TV after a staff login: {text!r}")


def test_the_overlay_brings_phones_to_the_patron_page(box: Machine) -> None:
    """The QR code over the video opens the patron page at the box's LAN address."""
    deadline, codes = time.monotonic() + 200, []
    while time.monotonic() < deadline:
        shot = box.screendump(box.dir / "qr.ppm")
        out = subprocess.run(["zbarimg", "-q", "--raw", str(shot)], capture_output=True,
                             text=True, timeout=60)  # fmt: skip
        codes = [line for line in out.stdout.splitlines() if line]
        if codes == [PATRON_URL]:
            return
        time.sleep(2)
    raise AssertionError(f"QR codes on the TV: {codes}")
