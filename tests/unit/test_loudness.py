"""Loudness normalisation's gain rule and the library's measuring parts (real ffmpeg)."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from appliance.core.loudness import (
    MAX_BOOST_DB,
    PEAK_CEILING_DBTP,
    Loudness,
    db_to_amplitude,
    track_gain_db,
)
from appliance.library.loudness import (
    LoudnessBook,
    LoudnessMeter,
    MeasureError,
    MeasureInterrupted,
    measure,
)
from tests.support.media import make_stereo_tone


def test_gain_brings_a_track_to_the_target() -> None:
    assert track_gain_db(Loudness(-8.0, -1.5), -16) == pytest.approx(-8.0)
    assert track_gain_db(Loudness(-20.0, -10.0), -16) == pytest.approx(4.0)


def test_boost_is_capped_and_the_true_peak_kept_under_the_ceiling() -> None:
    assert track_gain_db(Loudness(-40.0, -30.0), -16) == pytest.approx(MAX_BOOST_DB)
    # -24 LUFS wants +8 dB, but its peak at -3 dBTP may rise only to the ceiling.
    gain = track_gain_db(Loudness(-24.0, -3.0), -16)
    assert gain == pytest.approx(PEAK_CEILING_DBTP - -3.0)


def test_unmeasured_tracks_play_quieter_never_louder_than_a_loud_master() -> None:
    gain = track_gain_db(None, -16)
    assert gain < 0
    assert gain <= track_gain_db(Loudness(-9.0, -0.5), -16)


def test_off_or_silence_means_no_gain() -> None:
    assert track_gain_db(Loudness(-30.0, -20.0), -16, enabled=False) == 0.0
    assert track_gain_db(None, -16, enabled=False) == 0.0
    assert track_gain_db(Loudness(-70.0, -120.0), -16) == 0.0
    assert db_to_amplitude(-6.0206) == pytest.approx(0.5, rel=1e-4)


@pytest.mark.parametrize("lufs", [-28.0, -16.0, -8.0])
def test_measure_reads_integrated_loudness_and_true_peak(tmp_path: Path, lufs: float) -> None:
    # A 1 kHz sine on both channels at amplitude A: 20*log10(A) LUFS (BS.1770's offset is
    # chosen so), and its true peak is the amplitude itself.
    path = make_stereo_tone(tmp_path / "tone.wav", amplitude=10 ** (lufs / 20))
    found = measure(path)
    assert found.integrated_lufs == pytest.approx(lufs, abs=0.5)
    assert found.true_peak_dbtp == pytest.approx(lufs, abs=0.5)


def test_measure_refuses_a_file_without_sound(tmp_path: Path) -> None:
    bad = tmp_path / "not-audio.wav"
    bad.write_bytes(b"RIFF nonsense")
    with pytest.raises(MeasureError):
        measure(bad)


def test_book_keeps_figures_across_restarts_and_forgets_a_replaced_file(tmp_path: Path) -> None:
    path = tmp_path / "loudness.json"
    book = LoudnessBook(path)
    book.put("vid-1", 1000, Loudness(-12.5, -1.25))
    again = LoudnessBook(path)
    assert again.get("vid-1", 1000) == Loudness(-12.5, -1.25)
    assert again.get("vid-1", 1001) is None  # same id, another file: measure again
    path.write_text("{not json")
    assert len(LoudnessBook(path)) == 0  # a damaged book is started afresh, not fatal


def test_meter_measures_in_the_background_once(tmp_path: Path) -> None:
    seen: list[str] = []
    done = threading.Event()

    def measured(video_id: str, _: Loudness) -> None:
        seen.append(video_id)
        done.set()

    meter = LoudnessMeter(LoudnessBook(tmp_path / "book.json"), measured=measured)
    track = make_stereo_tone(tmp_path / "t.wav", amplitude=0.1)
    assert meter.loudness("t", track) is None  # not measured yet: queued
    meter.request("t", track)  # already queued: not twice
    assert meter.pending() == 1
    meter.start()
    try:
        assert done.wait(60), "never measured"
        found = meter.loudness("t", track)
        assert found is not None and found.integrated_lufs == pytest.approx(-20.0, abs=0.5)
        meter.request("t", track)  # known now: the worker skips it
        meter.request("gone", tmp_path / "missing.wav")  # evicted before its turn: skipped
    finally:
        meter.stop()
    assert seen == ["t"] and meter.failures == 0


def _wait_for_reader(fifo: Path, timeout: float) -> int:
    """Open the FIFO's write end once a reader (ffmpeg) holds it; bounded."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:  # ENXIO: nobody reads it yet
            if time.monotonic() > deadline:
                raise AssertionError("ffmpeg never opened the file") from None
            time.sleep(0.05)


def test_stopping_the_meter_kills_a_measurement_under_way(tmp_path: Path) -> None:
    """A long mix being measured must not hold the box's stop (systemd kills after 30 s)."""
    fifo = tmp_path / "endless.wav"
    os.mkfifo(fifo)  # real ffmpeg, reading a file that never ends
    book = LoudnessBook(tmp_path / "book.json")
    meter = LoudnessMeter(book)
    meter.start()
    meter.request("long", fifo)
    writer = _wait_for_reader(fifo, timeout=30)
    try:
        began = time.monotonic()
        meter.stop()
        took = time.monotonic() - began
    finally:
        os.close(writer)
    assert took < 10.0, f"stop waited {took:.1f} s for the measurement"
    assert meter.failures == 0  # not a failure: measured after the next start
    assert book.get("long", 0) is None


def _ffmpeg_reading(path: Path, timeout: float) -> int:
    """The pid of the ffmpeg that has `path` on its command line; bounded."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for proc in Path("/proc").glob("[0-9]*"):
            try:
                argv = (proc / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if str(path).encode() in argv and any(a.endswith(b"ffmpeg") for a in argv):
                return int(proc.name)
        time.sleep(0.05)
    raise AssertionError("no ffmpeg reads the file")


def test_ffmpeg_ended_by_the_services_stop_signal_is_no_failure(tmp_path: Path) -> None:
    """systemd's stop signals ffmpeg along with the box: an interrupted measurement is
    measured again later, never logged as a bad file nor taken from its partial summary."""
    fifo = tmp_path / "endless.wav"
    os.mkfifo(fifo)
    measured = threading.Event()
    book = LoudnessBook(tmp_path / "book.json")
    meter = LoudnessMeter(book, measured=lambda video_id, _: measured.set())
    meter.start()
    try:
        meter.request("long", fifo)
        writer = _wait_for_reader(fifo, timeout=30)
        tone = make_stereo_tone(tmp_path / "tone.wav", amplitude=0.1)
        try:
            os.write(writer, tone.read_bytes())  # a partial file: ffmpeg has a summary to give
            os.kill(_ffmpeg_reading(fifo, timeout=30), signal.SIGTERM)
        finally:
            # ffmpeg notices the signal at its next read; a FIFO's blocked read restarts
            os.close(writer)
        meter.request("next", tone)  # measured once the interrupted one has ended
        assert measured.wait(60), "the meter stopped measuring"
    finally:
        meter.stop()
    assert meter.failures == 0
    assert book.get("long", 0) is None
    assert book.get("next", tone.stat().st_size) is not None


def test_measure_says_interrupted_when_ffmpeg_is_signalled(tmp_path: Path) -> None:
    fifo = tmp_path / "endless.wav"
    os.mkfifo(fifo)
    outcome: list[BaseException] = []

    def run() -> None:
        try:
            measure(fifo)
        except MeasureError as exc:
            outcome.append(exc)

    t = threading.Thread(target=run)
    t.start()
    writer = _wait_for_reader(fifo, timeout=30)
    try:
        # past its probing (a read of a silent FIFO does not see the signal's flag)
        os.write(writer, make_stereo_tone(tmp_path / "tone.wav", amplitude=0.1).read_bytes())
        os.kill(_ffmpeg_reading(fifo, timeout=30), signal.SIGTERM)
    finally:
        os.close(writer)  # ffmpeg notices the signal at its next read
    t.join(timeout=60)
    assert not t.is_alive() and len(outcome) == 1
    assert isinstance(outcome[0], MeasureInterrupted), outcome
