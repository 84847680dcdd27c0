"""Loudness normalisation heard on a private PulseAudio null sink: three tracks 16 dB
apart are measured by the library (real ffmpeg) and played by the real mixer at one level;
a lower target lowers them all by the difference; with normalisation off they are heard as
far apart as they are."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.support.jukebox import Jukebox
from tests.support.media import make_stereo_tone
from tests.support.pulse import (
    PulseServer,
    Recorder,
    pulse_fixture,  # noqa: F401 - the `pulse` fixture
    steady_db,
    tone_db,
)

# (video id, tone Hz, LUFS): near-flat frequencies for BS.1770's K-weighting, so a tone's
# heard level follows its loudness.
TRACKS = (("quiet", 500.0, -24.0), ("middle", 700.0, -16.0), ("loud", 1000.0, -8.0))
WIN = 0.05


def _library(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for vid, freq, lufs in TRACKS:  # both channels at A: about 20*log10(A) LUFS
        name = f"[{vid}, Test_Tones, Tone {vid}].wav"
        make_stereo_tone(folder / name, freq=freq, seconds=4, amplitude=10 ** (lufs / 20))
    return folder


def _next_play(box: Jukebox, skip_play: str, done: set[str]) -> tuple[str, float, float]:
    """The next track to start that is neither `skip_play` nor in `done`: its id and the
    span (monotonic) from 1.0 s to 2.5 s into it."""

    def fresh(_state: object) -> bool:
        live = box.mixer.live
        return bool(
            live is not None
            and live.started
            and live.play_id != skip_play
            and live.video_id not in done
            and live.deck.position() >= 1.0
        )

    box.wait_for(fresh, timeout=60)
    live = box.mixer.live
    vid, play_id, start = live.video_id, live.play_id, time.monotonic()
    box.wait_for(lambda _s: live.play_id != play_id or live.deck.position() >= 2.5, 30)
    return vid, start, time.monotonic()


def _heard(box: Jukebox, rec: Recorder) -> dict[str, float]:
    """Each track's steady level on the sink, from plays that start after this call."""
    now = box.state.venue.now_playing
    skip = now.play_id if now is not None else ""
    spans: dict[str, tuple[float, float]] = {}
    while len(spans) < len(TRACKS):
        vid, start, end = _next_play(box, skip, set(spans))
        spans[vid] = (start, end)
    rec.wait_samples(rec.index_at(max(end for _, end in spans.values())), timeout=20)
    samples = rec.samples
    heard = {}
    for vid, freq, _ in TRACKS:
        levels = tone_db(samples, rec.rate, freq, WIN)
        start, end = spans[vid]
        first = int(rec.index_at(start) / (rec.rate * WIN)) + 1
        heard[vid] = steady_db(levels, first, int(rec.index_at(end) / (rec.rate * WIN)))
    return heard


def test_tracks_16_db_apart_are_heard_at_one_level(tmp_path: Path, pulse: PulseServer) -> None:
    media = _library(tmp_path / "media")
    with Recorder(pulse) as rec, Jukebox(tmp_path, media_dir=media, pulse=pulse) as box:
        box.set("crossfade_time", 0)
        meter = box.library.meter
        box.wait_for(lambda _s: len(meter.book) == len(TRACKS), timeout=60)
        on = _heard(box, rec)  # target -16 LUFS, the default
        box.set("loudness_target", -22)
        lower = _heard(box, rec)
        box.set("loudness_normalization", False)
        off = _heard(box, rec)
    print(f"heard (dB): at -16 LUFS {on}, at -22 LUFS {lower}, not normalised {off}")
    spread = {k: max(v.values()) - min(v.values()) for k, v in (("on", on), ("off", off))}
    assert spread["on"] <= 1.0, f"normalised levels {on}"
    assert spread["off"] >= 14.0, f"without normalisation {off}"  # the files are 16 dB apart
    for vid, _, _ in TRACKS:  # a 6 dB lower target: every track 6 dB lower
        assert on[vid] - lower[vid] == pytest.approx(6.0, abs=1.0), (vid, on, lower)
    # The quiet track is raised (+8 dB) and the loud one lowered (-8 dB).
    assert on["quiet"] - off["quiet"] > 6.0 and off["loud"] - on["loud"] > 6.0, (on, off)
