"""bench/report.py turns the benches' JSON lines into a table and distribution plots."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("bench_report", ROOT / "bench" / "report.py")
assert spec and spec.loader
report = importlib.util.module_from_spec(spec)
sys.modules["bench_report"] = report  # dataclasses look their module up while being defined
spec.loader.exec_module(report)


def test_table_verdicts_and_plots(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    lines = [
        "== some chatter the bench printed",
        json.dumps(
            {
                "metric": "stop_p99",
                "value": 31.5,
                "unit": "ms",
                "target": 50,
                "samples": [20 + i * 0.5 for i in range(40)],
            }
        ),
        json.dumps({"metric": "load_ms", "value": 250, "unit": "ms", "target": 200}),
        json.dumps(
            {
                "metric": "clients",
                "value": 480,
                "unit": "clients",
                "target": 500,
                "better": "higher",
            }
        ),
        "{broken json",
    ]
    (out / "bench_demo.jsonl").write_text("\n".join(lines))
    figures = report.read_figures(out)
    assert [f.metric for f in figures] == ["stop_p99", "load_ms", "clients"]
    assert [f.verdict for f in figures] == ["met", "MISSED", "MISSED"]
    plots = tmp_path / "plots"
    plots.mkdir()
    text = report.render(figures, plots)
    assert "| bench_demo | stop_p99 | <= 50 ms | 31.5 ms | met |" in text
    assert "| bench_demo | clients | >= 500 clients | 480 clients | MISSED |" in text
    pngs = list(plots.glob("*.png"))
    assert len(pngs) == 1 and pngs[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"plots/{pngs[0].name}" in text
