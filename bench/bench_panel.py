"""Emergency stop from the panel: the button's edge on a mock pin to silence in the audio.

A real box: runtime + journaled FileStore on a temp dir, the mpv mixer playing a tone to a
private PulseAudio null sink whose monitor is recorded, and the panel on gpiozero's
MockFactory. For each of 20 presses (the track resumed and audible before each) the
EMERGENCY STOP pin is driven low and four times are taken on one clock (time.monotonic):

    edge      the pin is driven (the panel's debounced handler runs in this call)
    submit    the panel hands EMERGENCY_STOP to the runtime (submit_async)
    effect    an effect sink beside the mixer receives the EmergencyStop effect
    silence   the recording goes below -60 dBFS (5 ms windows) and stays there

panel = submit - edge, runtime = effect - submit, mixer = silence - effect (this includes
PulseAudio's latency). The recorder dates samples by when parec's ~5 ms chunks arrive, so
one press can read a few ms early or late; a slightly negative mixer time is that, not
silence before the stop. The p99 over 20 presses is the figure to trust.
Prints p50/p99 and ends with one JSON line per figure.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gpiozero.pins.mock import MockFactory, MockPWMPin  # noqa: E402

from appliance.bootstrap import build  # noqa: E402
from appliance.config import Config  # noqa: E402
from appliance.core import messages as m  # noqa: E402
from appliance.core.model import State, TrackInfo  # noqa: E402
from appliance.core.outputs import Effect, EmergencyStop  # noqa: E402
from appliance.player.deck import DeckOutput  # noqa: E402
from appliance.player.mixer import Mixer  # noqa: E402
from appliance.runtime import Runtime  # noqa: E402
from hardware.panel import Panel  # noqa: E402
from hardware.pinmap import parse_panel_config  # noqa: E402
from tests.support.media import make_track  # noqa: E402
from tests.support.pulse import SILENCE_DB, PulseServer, Recorder, rms_db  # noqa: E402

PRESSES = 20
TARGET_MS = 50.0
WINDOW = 0.005  # s per level window
LOUD_DB = -30.0
STAFF = m.Actor(user_id="bench", role="admin", source="web")


class TimedRuntime:
    """The runtime as the panel sees it, noting when each command is handed over."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self.handed: list[float] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._runtime, name)

    @property
    def state(self) -> State:
        return self._runtime.state

    def submit_async(self, msg: m.Message) -> Any:
        self.handed.append(time.monotonic())
        return self._runtime.submit_async(msg)


class EffectClock:
    """An effect sink beside the mixer: when the EmergencyStop effect is handed out."""

    def __init__(self) -> None:
        self.at = 0.0
        self.arrived = threading.Event()

    def __call__(self, effects: tuple[Effect, ...], state: State) -> None:
        if any(isinstance(e, EmergencyStop) for e in effects):
            self.at = time.monotonic()
            self.arrived.set()


class OneFile:
    """The mixer's media source: every video id is the bench's tone."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def locate(self, video_id: str) -> Path | None:
        return self.path

    def fetch(self, video_id: str, done: Callable[[Path | None, str], None]) -> None:
        done(self.path, "")

    def discard(self, video_id: str, reason: str) -> None:
        pass


class ManualClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def wait_until(cond: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll `cond` (the recording has no event to wait on) until it holds."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.01)


def loud_now(rec: Recorder) -> bool:
    end = rec.now_index
    recent = rec.samples[max(0, end - int(rec.rate * 0.03)) : end]
    levels = rms_db(recent, rec.rate, WINDOW)
    return bool(levels) and min(levels) >= LOUD_DB


def silence_after(rec: Recorder, edge: float) -> float:
    """Monotonic time the recording fell silent after `edge` and stayed so (>= 150 ms)."""
    start = rec.index_at(edge)
    n = int(rec.rate * WINDOW)
    wait_until(lambda: rec.now_index >= start + int(rec.rate * 0.4), 10, "recording")
    samples = rec.samples
    before = rms_db(samples[start - int(rec.rate * 0.03) : start - n * 2], rec.rate, WINDOW)
    if not before or min(before) < LOUD_DB:
        raise RuntimeError("the tone was not playing just before the press")
    levels = rms_db(samples[start:], rec.rate, WINDOW)
    for i in range(len(levels)):
        if all(lv < SILENCE_DB for lv in levels[i : i + 30]) and len(levels) - i >= 30:
            return rec.time_of(start + i * n)
    raise RuntimeError("no silence after the emergency stop")


def press_once(rig: dict[str, Any]) -> dict[str, float]:
    box, rec, sink, timed, clock, pin = (
        rig[k] for k in ("box", "rec", "sink", "timed", "clock", "pin")
    )
    assert box.runtime.submit(m.UiCommand(command="RESUME", actor=STAFF)).ok
    wait_until(lambda: loud_now(rec), 15, "the tone")
    rec.wait_samples(rec.now_index + int(rec.rate * 0.2), timeout=10)
    sink.arrived.clear()
    clock.now += 1.0
    edge = time.monotonic()
    pin.drive_low()
    if not sink.arrived.wait(10.0):
        raise RuntimeError("the emergency stop never reached the player")
    handed = timed.handed[-1]
    silent = silence_after(rec, edge)
    clock.now += 1.0
    pin.drive_high()
    return {
        "total": (silent - edge) * 1000,
        "panel": (handed - edge) * 1000,
        "runtime": (sink.at - handed) * 1000,
        "mixer": (silent - sink.at) * 1000,
    }


def measure(tmp: Path) -> dict[str, list[float]]:
    tone = make_track(tmp / "tone.flac", freq=440, seconds=240, amplitude=0.5)
    with PulseServer(tmp / "pulse") as pulse:
        os.environ.update(pulse.env)  # libmpv runs in this process
        box = build(Config(data_dir=tmp / "data", admin_pin="2468"), adapters=[])
        mixer = Mixer(box.runtime.post, OneFile(tone), DeckOutput(audio="pulse", video="null"))
        sink = EffectClock()
        box.runtime.add_effect_sink(mixer, "mixer")
        box.runtime.add_effect_sink(sink, "bench-clock")
        box.start()
        mixer.start()
        timed = TimedRuntime(box.runtime)
        cfg, _ = parse_panel_config({"pins": {"emergency_stop": 17}})
        factory, clock = MockFactory(pin_class=MockPWMPin), ManualClock()
        panel = Panel(timed, cfg, factory, clock=clock)  # type: ignore[arg-type]
        panel.start()
        out: dict[str, list[float]] = {"total": [], "panel": [], "runtime": [], "mixer": []}
        try:
            with Recorder(pulse) as rec:
                track = TrackInfo(video_id="tone", title="Tone", duration=240)
                assert box.runtime.submit(m.AddToQueue(track=track, actor=STAFF)).ok
                rig = {"box": box, "rec": rec, "sink": sink, "timed": timed}
                rig.update(clock=clock, pin=factory.pin(17))
                for _ in range(PRESSES):
                    for name, value in press_once(rig).items():
                        out[name].append(value)
        finally:
            panel.stop()
            box.stop()
            mixer.stop()
    return out


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bench-panel-") as tmp:
        ms = measure(Path(tmp))
    print(f"emergency stop, button edge -> silence in the recording, {PRESSES} presses (ms)")
    for name in ("total", "panel", "runtime", "mixer"):
        vals = ms[name]
        print(f"  {name:8s} p50 {pct(vals, 0.5):8.3f}  p99 {pct(vals, 0.99):8.3f}")
    total = sum(ms["total"])
    shares = {k: sum(ms[k]) / total for k in ("panel", "runtime", "mixer")}
    print("  share of the mean: " + ", ".join(f"{k} {v:.1%}" for k, v in shares.items()))
    figures = [
        ("panel_estop_edge_to_silence_p50", pct(ms["total"], 0.5), TARGET_MS, ms["total"]),
        ("panel_estop_edge_to_silence_p99", pct(ms["total"], 0.99), TARGET_MS, ms["total"]),
        ("panel_estop_panel_p99", pct(ms["panel"], 0.99), None, ms["panel"]),
        ("panel_estop_runtime_p99", pct(ms["runtime"], 0.99), None, ms["runtime"]),
        ("panel_estop_mixer_p99", pct(ms["mixer"], 0.99), None, ms["mixer"]),
    ]
    for metric, value, target, samples in figures:
        line = {"metric": metric, "value": round(value, 3), "unit": "ms", "target": target}
        line["samples"] = [round(s, 3) for s in samples]
        print(json.dumps(line))
    return 0


if __name__ == "__main__":
    sys.exit(main())
