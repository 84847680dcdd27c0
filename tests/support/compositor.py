"""A headless TV for tests: Debian's `cage` kiosk compositor with no monitor, the box's mpv
windows as its clients, and `grim` taking its screenshots (wlroots' screencopy), read back
with Pillow; QR codes are decoded by zbar's `zbarimg`, text by `tesseract`.

cage refuses to run as root, so it runs as `nobody` in a runtime directory of its own;
the test process (root) connects to its socket like any client.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageOps

WIDTH, HEIGHT = 1280, 720


@dataclass
class HeadlessTv:
    runtime_dir: Path
    shots: Path
    socket: str = "wayland-0"
    taken: int = 0
    cage: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def environ(self) -> dict[str, str]:
        return {"XDG_RUNTIME_DIR": str(self.runtime_dir), "WAYLAND_DISPLAY": self.socket}

    def restart_compositor(self) -> None:
        """Kill the compositor, as a crash would, and start a new one on the same socket
        (systemd's Restart=always does this on the box): every client loses its window."""
        assert self.cage is not None and self.log_path is not None
        os.killpg(self.cage.pid, signal.SIGKILL)
        self.cage.wait()
        (self.runtime_dir / self.socket).unlink(missing_ok=True)
        (self.runtime_dir / f"{self.socket}.lock").unlink(missing_ok=True)
        self.cage = _start_cage(self.runtime_dir, self.log_path)
        _wait_for_socket(self, self.cage, self.log_path)

    def grab(self) -> Image.Image:
        self.taken += 1
        path = self.shots / f"shot-{self.taken:04d}.png"
        subprocess.run(
            ["grim", str(path)], env={**os.environ, **self.environ}, check=True, timeout=20
        )
        return Image.open(path).convert("RGB")

    def grab_until(self, check: object, timeout: float = 20.0) -> Image.Image:
        """Screenshots until `check(image)` holds (the compositor has no 'frame shown'
        event a client outside it can wait on), or the last one when time runs out."""
        deadline = time.monotonic() + timeout
        while True:
            image = self.grab()
            if callable(check) and check(image) or time.monotonic() > deadline:
                return image

    def qr_codes(self, image: Image.Image) -> list[str]:
        path = self.shots / "qr.png"
        image.save(path)
        out = subprocess.run(
            ["zbarimg", "-q", "--raw", str(path)], capture_output=True, text=True, timeout=30
        )
        return [line for line in out.stdout.splitlines() if line]

    def text(self, image: Image.Image) -> str:
        # brightest channel, inverted and doubled: coloured text on a dark screen becomes
        # dark text on white at a size tesseract reads well
        r, g, b = image.split()
        ink = ImageOps.invert(ImageChops.lighter(ImageChops.lighter(r, g), b))
        path = self.shots / "ocr.png"
        ink.resize((image.width * 2, image.height * 2)).save(path)
        out = subprocess.run(
            ["tesseract", str(path), "-"], capture_output=True, text=True, timeout=60
        )
        return out.stdout


def centre_colour(image: Image.Image, box: tuple[int, int, int, int] = (400, 250, 880, 470)):
    """The mean colour of a region (the middle of the picture by default)."""
    region = image.crop(box)
    pixels = list(
        region.get_flattened_data() if hasattr(region, "get_flattened_data") else region.getdata()
    )
    n = len(pixels)
    return tuple(sum(p[i] for p in pixels) // n for i in range(3))


def _magenta(rgb: tuple[int, int, int]) -> bool:
    return rgb[0] > 200 and rgb[1] < 60 and rgb[2] > 200


def _wait_until_drawing(tv: HeadlessTv, deadline: float) -> None:
    import mpv

    env_before = {k: os.environ.get(k) for k in tv.environ}
    os.environ.update(tv.environ)
    try:
        while True:
            probe = mpv.MPV(vo="wlshm", ao="null", osc=False, fullscreen=True, keep_open="yes")
            probe.play(f"av://lavfi:color=c=magenta:s={WIDTH}x{HEIGHT}:r=25")
            seen = tv.grab_until(lambda image: _magenta(image.getpixel((20, 20))), 3)
            probe.terminate()
            if _magenta(seen.getpixel((20, 20))):
                break
            assert time.monotonic() < deadline, "cage showed no window"
        tv.grab_until(lambda image: not _magenta(image.getpixel((20, 20))), 5)
    finally:
        for key, value in env_before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _start_cage(runtime_dir: Path, log_path: Path) -> subprocess.Popen[bytes]:
    nobody = pwd.getpwnam("nobody")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "XDG_RUNTIME_DIR": str(runtime_dir),
        "WLR_BACKENDS": "headless",
        "WLR_RENDERER": "pixman",
        "WLR_LIBINPUT_NO_DEVICES": "1",
        "WLR_HEADLESS_OUTPUTS": "1",
    }
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [
                "setpriv",
                f"--reuid={nobody.pw_uid}",
                f"--regid={nobody.pw_gid}",
                "--clear-groups",
                "cage",
                "--",
                "sleep",
                "86400",
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group: a kill takes its client along
        )


def _wait_for_socket(tv: HeadlessTv, proc: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + 20
    while not (tv.runtime_dir / tv.socket).exists():
        assert proc.poll() is None, log_path.read_text()
        assert time.monotonic() < deadline, "cage made no socket in 20 s"
        time.sleep(0.05)
    # cage draws a window only once its output is fully up, some time after the
    # socket: until a probe window is seen on screen, a new window would stay unseen
    _wait_until_drawing(tv, deadline + 20)


def _end(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@contextmanager
def headless_tv(tmp: Path) -> Iterator[HeadlessTv]:
    for tool in ("cage", "grim", "zbarimg", "tesseract"):
        assert shutil.which(tool), f"{tool} is installed by make test"
    # cage runs as nobody, who cannot enter pytest's private tmp dirs; a short path also
    # keeps the socket's name within the 108 bytes a unix socket may have
    runtime_dir = Path(tempfile.mkdtemp(prefix="djamms-tv-"))
    shots = tmp / "shots"
    shots.mkdir()
    nobody = pwd.getpwnam("nobody")
    os.chown(runtime_dir, nobody.pw_uid, nobody.pw_gid)
    log_path = tmp / "cage.log"
    tv = HeadlessTv(runtime_dir, shots)
    tv.cage = _start_cage(runtime_dir, log_path)
    tv.log_path = log_path
    try:
        _wait_for_socket(tv, tv.cage, log_path)
        yield tv
    finally:
        if tv.cage is not None:
            _end(tv.cage)
        shutil.rmtree(runtime_dir, ignore_errors=True)


@pytest.fixture(name="tv")
def tv_fixture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[HeadlessTv]:
    """A headless TV with the test's environment pointing at it (WAYLAND_DISPLAY): import
    `tv_fixture` (noqa: F401) and take a `tv` argument."""
    with headless_tv(tmp_path) as screen:
        for key, value in screen.environ.items():
            monkeypatch.setenv(key, value)
        yield screen
