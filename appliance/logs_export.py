"""`GET /api/logs/download`: the activity log and the app log for a time range, as a zip.

The app log is the box's own Python log, kept as a small rotating file under
`<data_dir>/logs/` (installed by `djamms run`), so it can be downloaded without a shell.
"""

from __future__ import annotations

import io
import json
import logging
import logging.handlers
import zipfile
from datetime import UTC, datetime
from pathlib import Path

from appliance.core.codec import to_data
from appliance.core.model import State

APP_LOG = "app.log"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
STAMP_LEN = 19  # "YYYY-MM-DD HH:MM:SS", the head of every record (UTC)


def install_app_log(data_dir: Path, max_bytes: int = 2 * 1024 * 1024, keep: int = 5) -> Path:
    """Also write the root logger to a rotating file, timestamps in UTC."""
    log_dir = Path(data_dir) / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    path = log_dir / APP_LOG
    handler = logging.handlers.RotatingFileHandler(path, maxBytes=max_bytes, backupCount=keep)
    formatter = logging.Formatter(LOG_FORMAT)
    formatter.converter = lambda *args: datetime.now(UTC).timetuple()
    handler.setFormatter(formatter)
    logging.getLogger().addHandler(handler)
    return path


def parse_time(text: str | None) -> float | None:
    """An ISO 8601 time (UTC if it names no zone) as epoch seconds; None if empty."""
    if not text:
        return None
    when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def _in_range(stamp: float, since: float | None, until: float | None) -> bool:
    return (since is None or stamp >= since) and (until is None or stamp < until)


def activity_lines(state: State, since: float | None, until: float | None) -> list[str]:
    out = []
    for entry in state.activity_log:
        stamp = parse_time(entry.timestamp) or 0.0
        if _in_range(stamp, since, until):
            out.append(json.dumps(to_data(entry), separators=(",", ":")))
    return out


def app_log_lines(log_dir: Path, since: float | None, until: float | None) -> list[str]:
    """Records in range, oldest file first; continuation lines (tracebacks) follow theirs."""
    files = sorted(log_dir.glob(APP_LOG + "*"), key=lambda p: p.stat().st_mtime)
    out: list[str] = []
    keep = False
    for path in files:
        for line in path.read_text(errors="replace").splitlines():
            head = line[:STAMP_LEN]
            try:
                stamp = datetime.strptime(head, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
                keep = _in_range(stamp.timestamp(), since, until)
            except ValueError:
                pass  # a continuation line: same fate as its record
            if keep:
                out.append(line)
    return out


def export_logs(
    state: State, log_dir: Path | None, since: float | None = None, until: float | None = None
) -> bytes:
    activity = activity_lines(state, since, until)
    app = app_log_lines(log_dir, since, until) if log_dir and log_dir.is_dir() else []
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("activity_log.jsonl", "\n".join(activity) + ("\n" if activity else ""))
        z.writestr("app.log", "\n".join(app) + ("\n" if app else ""))
        z.writestr(
            "README.txt",
            f"DJAMMS logs, {len(activity)} activity entries and {len(app)} app log lines.\n"
            "Range: since {} until {} (UTC).\n".format(
                _fmt(since) or "the beginning", _fmt(until) or "now"
            ),
        )
    return buf.getvalue()


def _fmt(stamp: float | None) -> str:
    return "" if stamp is None else datetime.fromtimestamp(stamp, UTC).isoformat()
