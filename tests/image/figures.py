"""Figures the image tests measure on the way, appended as the house's JSON lines to
build/image-figures.jsonl, which bench/bench_box.py and the report read."""

from __future__ import annotations

import json
import os
from pathlib import Path

FIGURES = Path(__file__).resolve().parents[2] / "build" / "image-figures.jsonl"


def record(metric: str, value: float, unit: str, *, emulated: bool, target: float | None = None,
           capped: bool = False) -> None:  # fmt: skip
    line = {
        "metric": metric, "value": round(value, 3), "unit": unit, "target": target,
        "emulated": emulated, "capped": capped, "machine": f"{os.cpu_count()}-core x86_64",
    }  # fmt: skip
    FIGURES.parent.mkdir(parents=True, exist_ok=True)
    with open(FIGURES, "a") as f:
        f.write(json.dumps(line) + "\n")
    print(json.dumps(line))
