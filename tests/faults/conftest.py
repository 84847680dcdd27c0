"""Fixtures for the whole-box fault tests: short real media in the box's media folder
(made once per session with ffmpeg), and a box process stopped by the fixture."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.boxproc import BoxProcess
from tests.support.media import make_track

TRACK_SECONDS = (3.0, 3.5, 4.0, 3.0, 4.5, 3.5)


@pytest.fixture(scope="session")
def short_tracks(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Six short tones (3-4.5 s), so the stand-in player changes track every few seconds."""
    folder = tmp_path_factory.mktemp("short-tracks")
    return [
        make_track(folder / f"tone{i}.wav", freq=300 + 60 * i, seconds=s, title=f"Tone {i}")
        for i, s in enumerate(TRACK_SECONDS)
    ]


def media_box(root: Path, tracks: list[Path], **kwargs: object) -> BoxProcess:
    box = BoxProcess(root, **kwargs)  # type: ignore[arg-type]
    media = box.root / "media"
    media.mkdir(parents=True, exist_ok=True)
    for t in tracks:
        shutil.copy(t, media / t.name)
    return box


@pytest.fixture
def standin_box(tmp_path: Path, short_tracks: list[Path]) -> Iterator[BoxProcess]:
    box = media_box(tmp_path / "box", short_tracks)
    try:
        yield box
    finally:
        box.stop()
