"""The shipped PulseAudio configuration, run by the real pulseaudio: it loads without a
sound card (a fallback sink), and two streams played at once (the two decks during a
crossfade) come out mixed."""

from __future__ import annotations

import math
import os
import struct
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SYSTEM_PA = REPO / "provisioning/overlay/etc/djamms/pulse/system.pa"
RATE = 48000


@pytest.fixture
def pulse(tmp_path):
    """The service's pulseaudio command line (user mode here: system mode needs the box's
    /run/pulse), on its own socket, with the shipped module script."""
    rt, home = tmp_path / "rt", tmp_path / "home"
    rt.mkdir()
    home.mkdir()
    env = {**os.environ, "HOME": str(home), "XDG_RUNTIME_DIR": str(rt),
           "PULSE_RUNTIME_PATH": str(rt)}  # fmt: skip
    proc = subprocess.Popen(
        ["pulseaudio", "--daemonize=no", "--disallow-exit", "--disallow-module-loading",
         "--exit-idle-time=-1", "--log-target=stderr", "-n", f"--file={SYSTEM_PA}"],
        env=env, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    env["PULSE_SERVER"] = f"unix:{rt / 'native'}"
    deadline = time.monotonic() + 30  # nothing to wait on but the socket answering
    while time.monotonic() < deadline:
        if subprocess.run(["pactl", "info"], env=env, capture_output=True).returncode == 0:
            break
        assert proc.poll() is None, proc.stderr.read()
        time.sleep(0.1)
    yield env
    proc.terminate()
    try:
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stderr.close()


def _tone(path: Path, freq: int, seconds: float = 3.0) -> Path:
    subprocess.run(["sox", "-n", "-r", str(RATE), "-c", "1", "-b", "16", str(path), "synth",
                    str(seconds), "sine", str(freq), "vol", "0.3"], check=True)  # fmt: skip
    return path


def _power(samples: list[float], freq: float) -> float:
    """Goertzel: the signal's power at one frequency."""
    k = 2 * math.cos(2 * math.pi * freq / RATE)
    s1 = s2 = 0.0
    for x in samples:
        s1, s2 = x + k * s1 - s2, s1
    return (s1 * s1 + s2 * s2 - k * s1 * s2) / len(samples) ** 2


def test_two_streams_mix_on_the_fallback_sink(pulse, tmp_path):
    sinks = subprocess.run(["pactl", "list", "short", "sinks"], env=pulse, check=True,
                           capture_output=True, text=True).stdout  # fmt: skip
    assert "auto_null" in sinks  # module-always-sink: a sink even with no card
    a, b = _tone(tmp_path / "a.wav", 440), _tone(tmp_path / "b.wav", 1000)
    rec = tmp_path / "mix.raw"
    with open(rec, "wb") as out:
        recorder = subprocess.Popen(
            ["parec", "-d", "auto_null.monitor", "--raw", "--format=s16le", f"--rate={RATE}",
             "--channels=1", "--latency-msec=50"], env=pulse, stdout=out,
        )  # fmt: skip
        try:
            decks = [subprocess.Popen(["paplay", str(f)], env=pulse) for f in (a, b)]
            assert [d.wait(timeout=60) for d in decks] == [0, 0]
        finally:
            recorder.terminate()
            recorder.wait(timeout=30)
    raw = rec.read_bytes()
    samples = [s / 32768 for (s,) in struct.iter_unpack("<h", raw[: len(raw) // 2 * 2])]
    loud = [i for i, s in enumerate(samples) if abs(s) > 0.05]
    assert loud, "nothing was recorded from the sink"
    # Under load one stream may start late; the decks mix if some quarter second holds both
    # tones at their own levels, with nothing in between.
    step = RATE // 4
    mixed = []
    for start in range(loud[0], loud[-1] - step, step):
        window = samples[start : start + step]
        p440, p1000, p700 = (_power(window, f) for f in (440, 1000, 700))
        if p440 > 100 * p700 and p1000 > 100 * p700 and 0.25 < p440 / p1000 < 4:
            mixed.append(start)
    assert mixed, "no stretch of the recording holds both decks at once"
