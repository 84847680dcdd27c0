"""The panel against the real mixer: mpv plays a tone into a private PulseAudio null sink
whose monitor is recorded; the EMERGENCY STOP pin silences it and a long PLAY/PAUSE
press brings it back. Asserted on the recording, not on timing."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import pytest

from appliance.bootstrap import Box, build
from appliance.config import Config
from appliance.core import messages as m
from appliance.core.model import TrackInfo
from appliance.memory_store import MemoryStore
from appliance.player.deck import DeckOutput
from appliance.player.mixer import Mixer
from appliance.wiring import wire_panel
from hardware.panel import Panel
from tests.integration.panel_rig import STAFF, ManualClock, Replies, mock_factory
from tests.support.media import make_track
from tests.support.pulse import SILENCE_DB, PulseServer, Recorder, rms_db

WINDOW = 0.01


class OneFile:
    def __init__(self, path: Path) -> None:
        self.path = path

    def locate(self, video_id: str) -> Path | None:
        return self.path

    def fetch(self, video_id: str, done: Callable[[Path | None, str], None]) -> None:
        done(self.path, "")

    def discard(self, video_id: str, reason: str) -> None:
        pass


@pytest.fixture
def pulse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[PulseServer]:
    with PulseServer(tmp_path / "pulse") as server:
        for key, value in server.env.items():
            monkeypatch.setenv(key, value)  # libmpv runs in this process
        yield server


def levels_between(rec: Recorder, start: int, seconds: float) -> list[float]:
    end = start + int(rec.rate * seconds)
    assert rec.wait_samples(end, timeout=20), "the recording stalled"
    return rms_db(rec.samples[start:end], rec.rate, WINDOW)


def loud_from(rec: Recorder, timeout: float = 20.0) -> int:
    """Wait until 100 ms in a row are loud; the index where that began."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        end = rec.now_index
        start = end - int(rec.rate * 0.1)
        if start > 0 and min(rms_db(rec.samples[start:end], rec.rate, WINDOW)) > -30:
            return start
        rec.wait_samples(end + int(rec.rate * 0.02), timeout=5)
    raise AssertionError("the tone never became audible")


def test_emergency_button_silences_mpv_and_a_long_press_brings_it_back(
    tmp_path: Path, pulse: PulseServer
) -> None:
    tone = make_track(tmp_path / "tone.flac", freq=440, seconds=60)
    factory, clock = mock_factory(), ManualClock()

    def mixer(box: Box) -> Mixer:
        mix = Mixer(box.runtime.post, OneFile(tone), DeckOutput(audio="pulse", video="null"))
        box.runtime.add_effect_sink(mix, "mixer")
        return mix

    panel_factory = partial(wire_panel, pin_factory=factory, clock=clock, on_reply=Replies())
    section = {"resume_hold": 0.3, "pins": {"emergency_stop": 17, "play_pause": 27}}
    config = Config(data_dir=tmp_path / "data", admin_pin="2468", sections={"panel": section})
    box = build(config, store=MemoryStore(), adapters=[mixer, panel_factory])
    assert isinstance(box.adapters[1], Panel)
    box.start()
    try:
        with Recorder(pulse) as rec:
            track = TrackInfo(video_id="tone", title="Tone", duration=60)
            assert box.runtime.submit(m.AddToQueue(track=track, actor=STAFF)).ok
            loud_from(rec)

            factory.pin(17).drive_low()
            pressed_at = rec.now_index
            clock.now += 1.0
            factory.pin(17).drive_high()
            after = levels_between(rec, pressed_at + int(rec.rate * 0.1), 1.0)
            assert max(after) < SILENCE_DB, "still audible after the emergency stop"
            assert box.runtime.state.venue.transport == "emergency"

            factory.pin(27).drive_low()  # held past resume_hold: RESUME
            loud_from(rec)
            clock.now += 1.0
            factory.pin(27).drive_high()
            assert box.runtime.state.venue.transport == "playing"
    finally:
        box.stop()
