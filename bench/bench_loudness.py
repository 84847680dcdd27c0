"""Benchmark of loudness normalisation, offline with real ffmpeg: the time to measure a
track (per minute of audio, a 3-minute AAC music-video soundtrack), and the loudness spread
of tracks made 16 dB apart, raw and after the gain the box gives each (the gain applied with
ffmpeg, the result measured again). Run it under /work/shared/tools/pi-budget for a
Pi-class measuring time (ffmpeg is the child doing the work: the budget covers it too)."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from appliance.core.loudness import track_gain_db  # noqa: E402
from appliance.library.loudness import measure  # noqa: E402

SECONDS = 180.0
RUNS = 5
LEVELS = (-24.0, -16.0, -8.0)  # LUFS, as the venue test


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", *args], check=True)


def _music_like(path: Path, seconds: float) -> Path:
    """Pink noise with a slow swell, AAC in MP4: what a music video's soundtrack costs to
    decode and measure (a pure tone would decode faster than real music)."""
    _ffmpeg("-f", "lavfi", "-i", f"anoisesrc=c=pink:a=0.3:d={seconds}:r=48000",
            "-af", "volume='0.6+0.4*sin(2*PI*t/20)':eval=frame", "-ac", "2",
            "-c:a", "aac", "-b:a", "128k", str(path))  # fmt: skip
    return path


def _at(path: Path, out: Path, db: float) -> Path:
    _ffmpeg("-i", str(path), "-af", f"volume={db:.2f}dB", "-c:a", "pcm_s16le", str(out))
    return out


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        track = _music_like(root / "track.m4a", SECONDS)
        times = []
        for _ in range(RUNS):
            started = time.monotonic()
            measured = measure(track)
            times.append(time.monotonic() - started)
        times.sort()
        per_minute = times[len(times) // 2] / (SECONDS / 60.0)
        raw, normalised = [], []
        for i, lufs in enumerate(LEVELS):
            source = _at(track, root / f"raw{i}.wav", lufs - measured.integrated_lufs)
            found = measure(source)
            raw.append(found.integrated_lufs)
            gain = track_gain_db(found, -16)
            normalised.append(measure(_at(source, root / f"norm{i}.wav", gain)).integrated_lufs)
    spread_raw, spread_norm = max(raw) - min(raw), max(normalised) - min(normalised)
    print(
        f"measuring: {per_minute:.2f} s per minute of audio (p50 of {RUNS}, "
        f"{SECONDS / 60:.0f}-minute AAC track); spread raw {spread_raw:.1f} LU, "
        f"normalised {spread_norm:.2f} LU ({', '.join(f'{x:.1f}' for x in normalised)} LUFS)"
    )
    for metric, value, unit, target in (
        ("loudness_measure_s_per_audio_minute", round(per_minute, 2), "s", 6.0),
        ("loudness_spread_raw", round(spread_raw, 1), "LU", None),
        ("loudness_spread_normalised", round(spread_norm, 2), "LU", 1.0),
    ):
        print(json.dumps({"metric": metric, "value": value, "unit": unit, "target": target}))


if __name__ == "__main__":
    main()
