"""Build bench/REPORT.md from the figures every bench script printed.

`make bench` runs each `bench/bench_*.py`, keeping its output in `bench/out/<name>.jsonl`.
Every line of the form {"metric", "value", "unit", "target"} becomes a table row; a line may
also carry "samples" (a list of raw measurements, e.g. latencies in ms), which is drawn as a
distribution plot (PNG) next to the report. A target is met when the value is at most the
target, or at least it when the line says "better": "higher".
"""

from __future__ import annotations

import json
import os
import platform
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
OUT = BENCH / "out"


@dataclass
class Figure:
    bench: str
    metric: str
    value: float
    unit: str
    target: float | None
    better: str = "lower"
    samples: list[float] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        if self.target is None:
            return "-"
        met = self.value >= self.target if self.better == "higher" else self.value <= self.target
        return "met" if met else "MISSED"


def read_figures(out_dir: Path) -> list[Figure]:
    figures = []
    for path in sorted(out_dir.glob("*.jsonl")):
        for line in path.read_text().splitlines():
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                d: dict[str, Any] = json.loads(line)
            except json.JSONDecodeError:
                continue
            if not {"metric", "value"} <= d.keys():
                continue
            figures.append(
                Figure(
                    bench=path.stem,
                    # a figure taken under ../shared/tools/pi-budget is its own row
                    metric=str(d["metric"]) + (" (pi-budget)" if d.get("capped") else ""),
                    value=float(d["value"]),
                    unit=str(d.get("unit", "")),
                    target=float(d["target"]) if d.get("target") is not None else None,
                    better=str(d.get("better", "lower")),
                    samples=[float(x) for x in d.get("samples", [])],
                )
            )
    return figures


def machine() -> str:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("model name", "Model")):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cpu = cpu or platform.processor()
    py = platform.python_version()
    return f"{platform.machine()}, {os.cpu_count()} cores, {cpu}, Python {py}"


def plot(fig: Figure, dest: Path) -> str | None:
    if len(fig.samples) < 5:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = sorted(fig.samples)
    ax = plt.figure(figsize=(6, 3)).gca()
    ax.hist(data, bins=min(50, max(10, len(data) // 5)), color="#3a7bd5")
    p99 = data[min(len(data) - 1, int(len(data) * 0.99))]
    ax.axvline(p99, color="#e24", linestyle="--", label=f"p99 {p99:.2f} {fig.unit}")
    if fig.target is not None:
        ax.axvline(fig.target, color="#2a2", label=f"target {fig.target:g} {fig.unit}")
    ax.set_title(f"{fig.bench}: {fig.metric}", fontsize=9)
    ax.set_xlabel(fig.unit)
    ax.legend(fontsize=8)
    name = f"{fig.bench}-{fig.metric}".replace("/", "_").replace(" ", "_") + ".png"
    plt.tight_layout()
    plt.savefig(dest / name, dpi=90)
    plt.close("all")
    return name


def render(figures: list[Figure], plots_dir: Path) -> str:
    lines = [
        "# DJAMMS benchmark report",
        "",
        f"Machine: {machine()}",
        "",
        "| bench | figure | target | measured | |",
        "|---|---|---|---|---|",
    ]
    for f in figures:
        target = "-"
        if f.target is not None:
            target = f"{'>=' if f.better == 'higher' else '<='} {f.target:g} {f.unit}"
        measured = f"{f.value:.4g} {f.unit}"
        lines.append(f"| {f.bench} | {f.metric} | {target} | {measured} | {f.verdict} |")
    pictures = [(f, plot(f, plots_dir)) for f in figures]
    drawn = [(f, name) for f, name in pictures if name]
    if drawn:
        lines += ["", "## Distributions", ""]
        lines += [f"![{f.bench} {f.metric}](plots/{name})" for f, name in drawn]
    return "\n".join(lines) + "\n"


def main() -> int:
    figures = read_figures(OUT)
    if not figures:
        print("no figures in bench/out; run `make bench`", file=sys.stderr)
        return 1
    plots = BENCH / "plots"
    plots.mkdir(exist_ok=True)
    (BENCH / "REPORT.md").write_text(render(figures, plots))
    missed = [f for f in figures if f.verdict == "MISSED"]
    print(f"bench/REPORT.md: {len(figures)} figures, {len(missed)} targets missed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
