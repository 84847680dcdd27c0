"""The child process that runs yt-dlp for the box (see `ytdlp_env`).

Reads one JSON request on stdin (`url`, `opts`, `download`, `process`) and writes JSON lines
prefixed with `MARK` on stdout: `{"progress": {...}}` while downloading, then one
`{"ok": true, "info": {...}, "version": "..."}` or `{"ok": false, "error": "..."}`. Other
lines (a crash's traceback) are not protocol and reach the parent as the error's detail.
"""

from __future__ import annotations

import json
import sys
from typing import Any

MARK = "@djamms@ "
INFO_KEYS = ("id", "title", "track", "artist", "creator", "uploader", "channel", "duration",
             "thumbnail", "extractor", "webpage_url", "_type", "url", "ie_key")  # fmt: skip
PROGRESS_KEYS = ("status", "downloaded_bytes", "total_bytes", "total_bytes_estimate")


def emit(message: dict[str, Any]) -> None:
    sys.stdout.write(MARK + json.dumps(message, default=str) + "\n")
    sys.stdout.flush()


def slim(info: dict[str, Any] | None) -> dict[str, Any]:
    """What the box uses of an info dict: the full one holds every format (hundreds of KB)."""
    info = info or {}
    out = {k: info[k] for k in INFO_KEYS if k in info}
    thumbs = info.get("thumbnails") or []
    if thumbs and isinstance(thumbs[-1], dict):
        out["thumbnails"] = [{"url": thumbs[-1].get("url", "")}]
    if info.get("entries") is not None:
        out["entries"] = [slim(e) for e in info["entries"] if isinstance(e, dict)]
    return out


class _Log:
    def debug(self, msg: str) -> None:
        pass

    def info(self, msg: str) -> None:
        pass

    def warning(self, msg: str) -> None:
        pass

    def error(self, msg: str) -> None:
        pass


def main() -> int:
    request = json.loads(sys.stdin.read())
    try:
        import yt_dlp
        from yt_dlp.version import __version__
    except BaseException as exc:  # a broken release: the parent must hear why
        emit({"ok": False, "error": f"yt-dlp does not import: {type(exc).__name__}: {exc}"})
        return 3

    def hook(d: dict[str, Any]) -> None:
        emit({"progress": {k: d.get(k) for k in PROGRESS_KEYS}})

    opts = dict(request.get("opts") or {})
    opts.update(logger=_Log(), progress_hooks=[hook], quiet=True, noprogress=True)
    try:
        with yt_dlp.YoutubeDL(opts) as ydl:
            info = ydl.extract_info(
                request["url"], download=bool(request.get("download")),
                process=bool(request.get("process", True)),
            )  # fmt: skip
    except BaseException as exc:  # yt-dlp raises many kinds; all mean "not this time"
        name = type(exc).__name__
        text = str(exc).replace("ERROR: ", "").strip()
        emit({"ok": False, "error": text if name == "DownloadError" else f"{name}: {text}",
              "version": __version__})  # fmt: skip
        return 1
    emit({"ok": True, "info": slim(info), "version": __version__})
    return 0


if __name__ == "__main__":
    sys.exit(main())
