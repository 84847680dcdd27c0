"""The idle surface keeps a window on the TV: an mpv that could not open one (no screen
yet at boot) is replaced, and one that shows its window is left alone."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from appliance.display.surface import IdleSurface
from tests.support.compositor import HeadlessTv, tv_fixture  # noqa: F401 - the `tv` fixture


def _wait(check: object, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:  # the surface has no event to wait on: bounded
        if callable(check) and check():
            return True
        time.sleep(0.2)
    return False


def test_a_surface_without_a_window_is_opened_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    monkeypatch.setenv("WAYLAND_DISPLAY", "no-compositor-here")  # the window cannot open
    surface = IdleSurface(vo="wlshm", window_grace=1.0)
    surface.start()
    try:
        assert _wait(lambda: surface.reopened >= 1, timeout=30), "never opened again"
    finally:
        surface.stop()


def test_a_surface_with_its_window_is_left_alone(tv: HeadlessTv) -> None:
    surface = IdleSurface(vo="wlshm", window_grace=1.0)
    surface.start()
    try:
        shown = tv.grab_until(lambda image: image.getpixel((640, 360))[2] > 0x10, timeout=20)
        colour = shown.getpixel((640, 360))[:3]
        # the idle colour (0x101820), give or take mpv's YUV round trip
        assert all(abs(a - b) <= 3 for a, b in zip(colour, (0x10, 0x18, 0x20), strict=True))
        # five window checks after the grace: none may close a surface that shows
        assert not _wait(lambda: surface.reopened > 0, timeout=6)
    finally:
        surface.stop()
