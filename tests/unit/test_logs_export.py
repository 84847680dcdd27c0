"""Log download: activity log and app log cut to a time range."""

from __future__ import annotations

import io
import json
import logging
import zipfile
from pathlib import Path

from appliance.core import messages as m
from appliance.logs_export import export_logs, install_app_log, parse_time
from appliance.memory_store import MemoryStore
from appliance.runtime import Runtime


def test_export_cuts_both_logs_to_the_range(tmp_path: Path) -> None:
    now = [parse_time("2026-06-10T10:00:00Z")]
    rt = Runtime(MemoryStore(), lambda: now[0])
    rt.start()
    try:
        assert rt.submit(m.SetupVenue(owner_user_id="o")).ok
        for hour, what in ((11, "early"), (12, "inside"), (14, "late")):
            now[0] = parse_time(f"2026-06-10T{hour}:00:00Z")
            assert rt.submit(m.RecordLog(event_type="note", event_data={"what": what})).ok
        state = rt.state
    finally:
        rt.stop()
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "app.log").write_text(
        "2026-06-10 11:30:00,000 INFO x: before\n"
        "2026-06-10 12:30:00,000 ERROR x: boom\n"
        "Traceback (most recent call last):\n"
        "  ValueError: bad\n"
        "2026-06-10 13:30:00,000 INFO x: after\n"
    )
    raw = export_logs(
        state, logs, parse_time("2026-06-10T12:00:00Z"), parse_time("2026-06-10T13:00:00Z")
    )
    z = zipfile.ZipFile(io.BytesIO(raw))
    activity = [json.loads(x) for x in z.read("activity_log.jsonl").decode().splitlines()]
    assert [e["event_data"]["what"] for e in activity] == ["inside"]
    assert z.read("app.log").decode().splitlines() == [
        "2026-06-10 12:30:00,000 ERROR x: boom",
        "Traceback (most recent call last):",
        "  ValueError: bad",
    ]
    everything = zipfile.ZipFile(io.BytesIO(export_logs(state, logs)))
    assert len(everything.read("activity_log.jsonl").decode().splitlines()) == len(
        state.activity_log
    )


def test_install_app_log_writes_a_file(tmp_path: Path) -> None:
    path = install_app_log(tmp_path)
    root = logging.getLogger()
    handler = root.handlers[-1]
    try:
        logging.getLogger("djamms.test").warning("hello file")
        handler.flush()
        assert "WARNING djamms.test: hello file" in path.read_text()
    finally:
        root.removeHandler(handler)
        handler.close()
