"""A local package index for the yt-dlp self-update tests: wheels built by the test from
the venv's own yt-dlp (and yt-dlp-ejs) under a newer version number, served as a PEP 503
"simple" index on 127.0.0.1, so real pip installs them and nothing reaches the internet.

    build_ytdlp_wheel(out, "2099.1.1")                         # a good newer release
    build_ytdlp_wheel(out, "2099.1.3", tail="raise ImportError('broken')")   # a broken one
    with PackageIndex(folder) as index:                        # index.url = .../simple
        index.offer("yt-dlp", wheel)                           # what pip sees from now on
"""

from __future__ import annotations

import functools
import http.server
import importlib.metadata
import shutil
import threading
import zipfile
from pathlib import Path
from typing import Any

WHEEL_TAG = (
    "Wheel-Version: 1.0\nGenerator: djamms-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
)


def _package_dir(module: str) -> Path:
    mod = __import__(module)
    return Path(mod.__file__).parent  # type: ignore[arg-type]


def build_wheel(
    out: Path, dist: str, module: str, version: str, tail: str = "",
    extra: dict[str, bytes] | None = None,
) -> Path:  # fmt: skip
    """Copy the installed `module` into a wheel named `dist` at `version`; `tail` is code
    appended to the package's `__init__.py` (to make a broken or sour release), `extra`
    more members (name -> bytes) as they are."""
    src = _package_dir(module)
    stem = f"{dist.replace('-', '_')}-{version}"
    wheel = out / f"{stem}-py3-none-any.whl"
    out.mkdir(parents=True, exist_ok=True)
    records = []
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        for f in sorted(src.rglob("*")):
            if f.is_dir() or "__pycache__" in f.parts:
                continue
            name = f"{module}/{f.relative_to(src).as_posix()}"
            data = f.read_bytes()
            if name == f"{module}/version.py":
                old = importlib.metadata.version(dist)
                data = data.replace(old.encode(), version.encode())
            if name == f"{module}/__init__.py" and tail:
                data += b"\n" + tail.encode() + b"\n"
            z.writestr(name, data)
            records.append(name)
        for name, data in (extra or {}).items():
            z.writestr(name, data)
            records.append(name)
        info = f"{stem}.dist-info"
        meta = f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n"
        for name, text in (("METADATA", meta), ("WHEEL", WHEEL_TAG)):
            z.writestr(f"{info}/{name}", text)
            records.append(f"{info}/{name}")
        z.writestr(f"{info}/RECORD", "".join(f"{r},,\n" for r in [*records, f"{info}/RECORD"]))
    return wheel


def build_ytdlp_wheel(
    out: Path, version: str, tail: str = "", extra: dict[str, bytes] | None = None
) -> Path:
    return build_wheel(out, "yt-dlp", "yt_dlp", version, tail, extra)


def build_ejs_wheel(out: Path) -> Path:
    return build_wheel(out, "yt-dlp-ejs", "yt_dlp_ejs", importlib.metadata.version("yt-dlp-ejs"))


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class PackageIndex:
    """`root/simple/<name>/index.html` pages linking to `root/files/*.whl`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "files").mkdir(parents=True, exist_ok=True)
        handler = functools.partial(_Quiet, directory=str(root))
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/simple"

    def offer(self, name: str, *wheels: Path) -> None:
        page = self.root / "simple" / name
        page.mkdir(parents=True, exist_ok=True)
        links = []
        for wheel in wheels:
            shutil.copy(wheel, self.root / "files" / wheel.name)
            links.append(f'<a href="../../files/{wheel.name}">{wheel.name}</a><br>')
        (page / "index.html").write_text("<html><body>" + "".join(links) + "</body></html>")

    def __enter__(self) -> PackageIndex:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)
