"""What the venue hears: QEMU's sound card output, recorded to a WAV, read while it grows."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

HEADER = 44  # QEMU's wav backend writes the canonical 44-byte header, patched at close


def wav_format(path: Path) -> tuple[int, int]:
    """(sample rate, channels) from the header; QEMU fills these in at the start."""
    with open(path, "rb") as f:
        head = f.read(HEADER)
    if len(head) < HEADER or head[:4] != b"RIFF":
        raise ValueError("not a WAV yet")
    channels, rate = struct.unpack_from("<HI", head, 22)
    return rate, channels


def tail_samples(path: Path, seconds: float) -> tuple[np.ndarray, int]:
    """The last `seconds` of the recording as mono floats in [-1, 1], and the rate."""
    rate, channels = wav_format(path)
    frame = 2 * channels
    size = path.stat().st_size - HEADER
    want = int(seconds * rate) * frame
    start = HEADER + max(0, (size // frame) * frame - want)
    with open(path, "rb") as f:
        f.seek(start)
        raw = f.read(want)
    data = np.frombuffer(raw[: len(raw) // frame * frame], dtype="<i2").astype(np.float64)
    mono = data.reshape(-1, channels).mean(axis=1) / 32768.0 if data.size else data
    return mono, rate


def tone_share(samples: np.ndarray, rate: int, freq: float, width: float = 15.0) -> float:
    """The share of the signal's energy within `width` Hz of `freq` (0 for silence)."""
    if samples.size < rate // 10:
        return 0.0
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size))) ** 2
    freqs = np.fft.rfftfreq(samples.size, 1.0 / rate)
    total = spectrum.sum()
    if total <= 1e-9 * samples.size:
        return 0.0
    band = spectrum[(freqs > freq - width) & (freqs < freq + width)].sum()
    return float(band / total)


def level_dbfs(samples: np.ndarray) -> float:
    rms = float(np.sqrt(np.mean(samples**2))) if samples.size else 0.0
    return 20 * np.log10(rms) if rms > 1e-9 else -200.0
