"""Fixtures for `make image-test`: the built images, a working copy per boot scenario, the
owner's djamms.toml written onto bootfs before power-on, and a media server on the host."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.media import MediaServer, make_track

from . import card

REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / "build"

VENUE_TOML = """\
[venue]
id = "image-test"
name = "The Test Arms"
staff_pin = "5823"
timezone = "Europe/Dublin"

[wifi]
ssid = "TestArmsGuest"
psk = "not-a-real-password-1"
country = "IE"
"""
STAFF_PIN = "5823"
TONE_HZ = 1234.0  # not a demo track's tone (440/660/880), so it is ours that is heard


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(pytest.mark.image)


def built_image(arch: str) -> Path:
    path = BUILD / f"djamms-{arch}.img"
    if not path.exists():
        pytest.fail(f"{path} is missing: run `make image ARCH={arch}` (make image-test does)")
    return path


@pytest.fixture(scope="session", autouse=True)
def host_tools() -> None:
    missing = card.have_tools()
    if missing:
        pytest.fail(f"missing host tools: {missing} (make image-test installs them)")


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MediaServer]:
    root = tmp_path_factory.mktemp("served")
    make_track(root / "tone.mp4", freq=TONE_HZ, seconds=30, title="Image Tone",
               artist="The Bench", size="320x180")  # fmt: skip
    with MediaServer(root) as server:
        yield server
