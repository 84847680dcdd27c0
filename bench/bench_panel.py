"""Emergency stop latency from the panel: the button's edge on a mock pin to the player.

A real box core (runtime + journaled FileStore on a temp dir) with the panel on gpiozero's
MockFactory. For each of 20 presses the EMERGENCY STOP pin is driven low and three times
are taken (perf_counter):

    edge      the pin is driven (the panel's debounced handler runs in this call)
    submit    the panel hands EMERGENCY_STOP to the runtime (submit_async)
    effect    the player's effect sink receives the EmergencyStop effect

panel share = submit - edge, runtime share = effect - submit. The mixer's share (effect
to silence in the recorded output) is not measured here: this script stops at the
player's effect sink, so its total is the part of edge-to-silence before the mixer.
Prints p50/p99 and ends with one JSON line per figure.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import threading
import time
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
from appliance.runtime import Runtime  # noqa: E402
from hardware.panel import Panel  # noqa: E402
from hardware.pinmap import parse_panel_config  # noqa: E402

PRESSES = 20
TARGET_MS = 50.0
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
        self.handed.append(time.perf_counter())
        return self._runtime.submit_async(msg)


class EffectClock:
    """An effect sink that notes when the EmergencyStop effect reaches the player."""

    def __init__(self) -> None:
        self.at: float = 0.0
        self.arrived = threading.Event()

    def __call__(self, effects: tuple[Effect, ...], state: State) -> None:
        if any(isinstance(e, EmergencyStop) for e in effects):
            self.at = time.perf_counter()
            self.arrived.set()


class ManualClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(data_dir: Path) -> dict[str, list[float]]:
    box = build(Config(data_dir=data_dir, admin_pin="2468"), adapters=[])
    sink = EffectClock()
    box.runtime.add_effect_sink(sink, "bench-player")
    box.start()
    timed = TimedRuntime(box.runtime)
    cfg, _ = parse_panel_config({"pins": {"emergency_stop": 17, "play_pause": 27}})
    factory, clock = MockFactory(pin_class=MockPWMPin), ManualClock()
    panel = Panel(timed, cfg, factory, clock=clock)  # type: ignore[arg-type]
    panel.start()
    pin = factory.pin(17)
    out: dict[str, list[float]] = {"total": [], "panel": [], "runtime": []}
    try:
        track = TrackInfo(video_id="bench", title="Bench", duration=3600)
        assert box.runtime.submit(m.AddToQueue(track=track, actor=STAFF)).ok
        for _ in range(PRESSES):
            assert box.runtime.submit(m.UiCommand(command="RESUME", actor=STAFF)).ok
            sink.arrived.clear()
            clock.now += 1.0
            edge = time.perf_counter()
            pin.drive_low()
            if not sink.arrived.wait(10.0):
                raise RuntimeError("the emergency stop never reached the player")
            handed = timed.handed[-1]
            out["total"].append((sink.at - edge) * 1000)
            out["panel"].append((handed - edge) * 1000)
            out["runtime"].append((sink.at - handed) * 1000)
            clock.now += 1.0
            pin.drive_high()
    finally:
        panel.stop()
        box.stop()
    return out


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bench-panel-") as tmp:
        ms = measure(Path(tmp))
    total = ms["total"]
    print(f"emergency stop, button edge -> player effect sink, {PRESSES} presses (ms)")
    for name in ("total", "panel", "runtime"):
        vals = ms[name]
        print(
            f"  {name:8s} p50 {pct(vals, 0.5):7.3f}  p99 {pct(vals, 0.99):7.3f}"
            f"  mean {statistics.fmean(vals):7.3f}"
        )
    share_panel = sum(ms["panel"]) / sum(total)
    print(f"  share: panel {share_panel:.1%}, runtime {1 - share_panel:.1%}; mixer not measured")
    figures = [
        ("panel_estop_edge_to_player_effect_p50", pct(total, 0.5), TARGET_MS, total),
        ("panel_estop_edge_to_player_effect_p99", pct(total, 0.99), TARGET_MS, total),
        ("panel_estop_panel_share_p99", pct(ms["panel"], 0.99), None, ms["panel"]),
        ("panel_estop_runtime_share_p99", pct(ms["runtime"], 0.99), None, ms["runtime"]),
    ]
    for metric, value, target, samples in figures:
        line = {"metric": metric, "value": round(value, 3), "unit": "ms", "target": target}
        line["samples"] = [round(s, 3) for s in samples]
        print(json.dumps(line))
    return 0


if __name__ == "__main__":
    sys.exit(main())
