"""The mixer heard through a private PulseAudio null sink: crossfade, gapless cut,
fade-out, emergency stop, EQ and volume — measured on the recorded output, with the
whole box (runtime, engine, library, two real mpv decks) in the loop."""

from __future__ import annotations

import time
from pathlib import Path

from tests.support.jukebox import Jukebox
from tests.support.media import make_track
from tests.support.pulse import (
    PulseServer,
    Recorder,
    end_after,
    first_at_or_above,
    longest_gap,
    onset,
    pulse_fixture,  # noqa: F401 - the `pulse` fixture
    rms_db,
    silent_from,
    steady_db,
    tone_db,
)

LOW, HIGH = 300.0, 2000.0
WIN = 0.02  # s per analysis window


def _library(folder: Path, *tracks: tuple[str, float, float]) -> Path:
    for vid, freq, seconds in tracks:
        make_track(folder / f"[{vid}, Test_Tones, Tone {int(freq)} Hz].wav", freq=freq,
                   seconds=seconds)  # fmt: skip
    return folder


def _wait_playing(box: Jukebox, video_id: str, past: float, timeout: float = 40.0) -> None:
    """Until `video_id` is the live track and its deck is `past` seconds in."""

    def check(_state: object) -> bool:
        live = box.mixer.live
        return (
            box.playing() == video_id
            and live is not None
            and live.video_id == video_id
            and live.started
            and live.deck.position() >= past
        )

    box.wait_for(check, timeout=timeout)


def _two_tones(tmp_path: Path, pulse: PulseServer, crossfade: int) -> tuple[list[float], ...]:
    media = _library(tmp_path / "media", ("tone-a", LOW, 5.0), ("tone-b", HIGH, 6.0))
    with Recorder(pulse) as rec, Jukebox(tmp_path, media_dir=media, pulse=pulse) as box:
        box.set("crossfade_time", crossfade)
        _wait_playing(box, "tone-b", 2.5)  # the first track has faded out by then
        samples = rec.samples
    return (
        tone_db(samples, rec.rate, LOW, WIN),
        tone_db(samples, rec.rate, HIGH, WIN),
        rms_db(samples, rec.rate, 0.005),
    )


def test_crossfade_overlaps_for_crossfade_time(tmp_path: Path, pulse: PulseServer) -> None:
    low, high, _ = _two_tones(tmp_path, pulse, crossfade=2)
    a_on = first_at_or_above(low, -40)
    assert a_on >= 0, "the first track was never heard"
    a_level = steady_db(low, a_on + 10, a_on + 60)
    threshold = a_level - 50
    b_on = onset(high, threshold, a_on + 25)  # sustained, past the first track's onset
    assert b_on > a_on, "the second track was never heard"
    a_end = end_after(low, threshold, a_on)
    assert a_end > b_on, "the first track had stopped before the second began: no crossfade"
    overlap = (a_end - b_on) * WIN
    assert abs(overlap - 2.0) <= 0.15, f"overlap {overlap:.3f}s, wanted 2.0 ± 0.15"


def test_zero_crossfade_is_gapless(tmp_path: Path, pulse: PulseServer) -> None:
    low, high, level = _two_tones(tmp_path, pulse, crossfade=0)
    a_on = first_at_or_above(low, -40)
    b_on = first_at_or_above(high, -40, a_on + 25)
    assert a_on >= 0 and b_on > a_on
    steady = steady_db(level, a_on * 4 + 20, a_on * 4 + 120)
    # At the hand-over (±0.5 s around the second track's onset, 5 ms windows); a dropout
    # elsewhere is the machine's load, not the transition.
    at = b_on * 4
    gap = longest_gap(level, steady - 30, at - 100, at + 100) * 0.005
    assert gap <= 0.05, f"gap between tracks {gap * 1000:.0f} ms"
    overlap = sum(1 for x, y in zip(low, high, strict=False) if x > -40 and y > -40) * WIN
    assert overlap <= 0.1, f"a cut must not crossfade ({overlap:.2f}s overlap)"


def test_fade_out_stop_decreases_strictly_to_silence(tmp_path: Path, pulse: PulseServer) -> None:
    media = _library(tmp_path / "media", ("long-a", LOW, 12.0))
    with Recorder(pulse) as rec, Jukebox(tmp_path, media_dir=media, pulse=pulse) as box:
        box.set("fade_out_time", 2)
        _wait_playing(box, "long-a", 1.0)
        t_cmd = time.monotonic()
        box.command("FADE_OUT_STOP")
        rec.wait_samples(rec.index_at(t_cmd) + int(rec.rate * 3.0), timeout=20)
        samples = rec.samples
        assert box.state.venue is not None and box.state.venue.transport == "stopped"
    window = 0.2
    levels = rms_db(samples, rec.rate, window)
    first = int(rec.index_at(t_cmd) / (rec.rate * window)) + 1  # past the command's window
    silent = silent_from(levels, -60, first)
    assert silent > first, "never went silent"
    fading = levels[first:silent]
    assert len(fading) >= 6, f"faded in {len(fading) * window:.1f}s, wanted ~2s"
    assert all(b < a for a, b in zip(fading, fading[1:], strict=False)), fading
    assert (silent - first) * window <= 2.6


def test_emergency_stop_silences_within_150ms_and_resume_plays(
    tmp_path: Path, pulse: PulseServer
) -> None:
    media = _library(tmp_path / "media", ("long-e", LOW, 12.0))
    with Recorder(pulse) as rec, Jukebox(tmp_path, media_dir=media, pulse=pulse) as box:
        _wait_playing(box, "long-e", 1.5)
        t_cmd = time.monotonic()
        box.command("EMERGENCY_STOP")
        rec.wait_samples(rec.index_at(t_cmd) + int(rec.rate * 1.0), timeout=20)
        position = box.state.venue.now_playing.position
        t_resume = time.monotonic()
        box.command("RESUME")
        _wait_playing(box, "long-e", position + 0.5)
        t_end = time.monotonic()
        rec.wait_samples(rec.index_at(t_end) + int(rec.rate * 0.2), timeout=20)
        samples = rec.samples
    step = 0.005
    levels = rms_db(samples, rec.rate, step)
    cmd = int(rec.index_at(t_cmd) / (rec.rate * step))
    back = int(rec.index_at(t_resume) / (rec.rate * step))
    silent = silent_from(levels[:back], -60, cmd - 20)
    assert silent >= 0, "never went silent"
    latency = rec.time_of(int(silent * step * rec.rate)) - t_cmd
    assert latency <= 0.15, f"silence {latency * 1000:.0f} ms after EMERGENCY_STOP"
    assert first_at_or_above(levels, -40, back) >= 0, "RESUME did not bring the sound back"
    assert position >= 1.5, "the stop position was not kept for RESUME"


def test_volume_and_eq_change_the_level_without_interrupting(
    tmp_path: Path, pulse: PulseServer
) -> None:
    media = _library(tmp_path / "media", ("eq-tone", 910.0, 14.0))
    with Recorder(pulse) as rec, Jukebox(tmp_path, media_dir=media, pulse=pulse) as box:
        _wait_playing(box, "eq-tone", 1.0)
        play_id = box.state.venue.now_playing.play_id
        marks = [time.monotonic()]
        for setting, value in (("master_volume", 35), ("eq_settings", {"910": -12})):
            time.sleep(0.8)  # let the level settle on the recording before the next change
            box.set(setting, value)
            marks.append(time.monotonic())
        time.sleep(0.8)
        marks.append(time.monotonic())
        assert box.state.venue.now_playing.play_id == play_id, "a setting restarted the track"
        samples = rec.samples
    levels = rms_db(samples, rec.rate, 0.05)

    def level_before(t: float) -> float:
        end = int(rec.index_at(t) / (rec.rate * 0.05))
        return steady_db(levels, end - 8, end - 1)

    full, quieter, equalised = (level_before(t) for t in marks[1:])
    assert quieter < full - 12, (full, quieter)  # 70 -> 35 on mpv's cubic scale: ~ -18 dB
    assert equalised < quieter - 6, (quieter, equalised)  # -12 dB at the tone's band
