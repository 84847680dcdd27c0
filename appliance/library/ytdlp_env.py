"""Which yt-dlp the box runs, and running it.

The box's venv is read-only, so newer yt-dlp releases live in side environments under
`<root>/envs/<version>` (made with `pip install --target`), and the pointer file
`<root>/active.json`, replaced atomically, names the one in use. No pointer (or a pointer to
a folder that is gone) means the venv's own yt-dlp.

yt-dlp runs in a child process (`python -m appliance.library.ytdlp_child`) with the active
environment first on PYTHONPATH, rather than importing it into the box. Why: a process cannot
swap one imported `yt_dlp` for another (extractors are imported lazily, so old and new
modules would mix), whereas a child picks up the pointer when it starts, so a switch or a
rollback applies to the next resolve without restarting the box; a download that hangs or a
release that crashes is killed without touching the music. It costs one Python start per
call (~0.3 s here, ~1 s on a Pi 4), small next to a download. The JS runtime: the child's
interpreter is the venv's, and yt-dlp looks for `deno` in that interpreter's scripts folder
first, which is where the `deno` wheel puts its binary, so PATH does not matter.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from appliance.atomic_storage import fsync_dir
from appliance.library.ytdlp_child import MARK

Progress = Callable[[dict[str, Any]], None]


class YtdlpError(Exception):
    """yt-dlp could not do it; `str()` is the reason (yt-dlp's message when it gave one)."""


@dataclass(frozen=True)
class YtdlpEnv:
    version: str
    path: Path | None = None  # None: the venv's own yt-dlp

    @property
    def label(self) -> str:
        return f"{self.version} ({'side environment' if self.path else 'built in'})"


def builtin_env() -> YtdlpEnv:
    try:
        return YtdlpEnv(importlib.metadata.version("yt-dlp"))
    except importlib.metadata.PackageNotFoundError:
        return YtdlpEnv("none")


def env_versions(env: YtdlpEnv) -> dict[str, str]:
    """Distribution name -> version in that environment (dist-info folders of a side env)."""
    if env.path is None:
        out = {}
        for name in ("yt-dlp", "yt-dlp-ejs"):
            try:
                out[name] = importlib.metadata.version(name)
            except importlib.metadata.PackageNotFoundError:
                pass
        return out
    found = {}
    for info in env.path.glob("*.dist-info"):
        m = re.match(r"(.+)-([^-]+)\.dist-info$", info.name)
        if m:
            found[m.group(1).lower().replace("_", "-")] = m.group(2)
    return found


def child_environ(env: YtdlpEnv | None) -> dict[str, str]:
    environ = dict(os.environ)
    environ.pop("PYTHONPATH", None)
    if env is not None and env.path is not None:
        environ["PYTHONPATH"] = str(env.path)  # ahead of the venv's site-packages
    return environ


def dir_bytes(path: Path) -> int:
    total = 0
    if path.is_dir():
        for f in path.rglob("*"):
            if f.is_file() and not f.is_symlink():
                total += f.stat().st_size
    return total


class EnvStore:
    """The side environments and the pointer to the active one."""

    def __init__(self, root: Path | None) -> None:
        self.root = root
        self.envs = root / "envs" if root else None
        self.pointer = root / "active.json" if root else None

    def _read(self) -> dict[str, Any]:
        if self.pointer is None:
            return {}
        try:
            data = json.loads(self.pointer.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _env(self, entry: Any) -> YtdlpEnv | None:
        if not isinstance(entry, dict) or self.envs is None:
            return None
        name = str(entry.get("dir") or "")
        if not name:
            return builtin_env()
        path = self.envs / name
        # Only a complete environment counts: it is renamed into place after pip succeeded.
        if not (path / "yt_dlp" / "__init__.py").is_file():
            return None
        return YtdlpEnv(str(entry.get("version") or name), path)

    def active(self) -> YtdlpEnv:
        return self._env(self._read().get("active")) or builtin_env()

    def previous(self) -> YtdlpEnv | None:
        return self._env(self._read().get("previous"))

    def switch(self, new: YtdlpEnv, previous: YtdlpEnv | None) -> None:
        """Make `new` the active environment in one atomic rename."""
        assert self.pointer is not None
        doc = {"active": _entry(new), "previous": _entry(previous) if previous else None}
        tmp = self.pointer.with_suffix(".tmp")
        with open(tmp, "w") as f:
            json.dump(doc, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.pointer)
        fsync_dir(self.pointer.parent)

    def prune(self, keep: list[YtdlpEnv | None]) -> None:
        """Delete environments other than `keep` (and leftovers of interrupted installs)."""
        if self.envs is None or not self.envs.is_dir():
            return
        kept = {e.path.name for e in keep if e is not None and e.path is not None}
        for child in self.envs.iterdir():
            if child.name not in kept:
                shutil.rmtree(child, ignore_errors=True)

    def disk_bytes(self) -> int:
        return dir_bytes(self.envs) if self.envs else 0


def _entry(env: YtdlpEnv) -> dict[str, str]:
    return {"version": env.version, "dir": env.path.name if env.path else ""}


class YtdlpPort(Protocol):
    def run(
        self,
        url: str,
        opts: dict[str, Any],
        *,
        download: bool,
        process: bool = True,
        progress: Progress | None = None,
        env: YtdlpEnv | None = None,
    ) -> dict[str, Any]: ...

    def active(self) -> YtdlpEnv: ...


class YtdlpRunner:
    """Runs yt-dlp in a child with the active environment (or the one given)."""

    def __init__(
        self, store: EnvStore, stopping: threading.Event | None = None, timeout: float = 1800.0
    ) -> None:
        self.store = store
        self.stopping = stopping or threading.Event()
        self.timeout = timeout

    def active(self) -> YtdlpEnv:
        return self.store.active()

    def run(
        self,
        url: str,
        opts: dict[str, Any],
        *,
        download: bool,
        process: bool = True,
        progress: Progress | None = None,
        env: YtdlpEnv | None = None,
    ) -> dict[str, Any]:
        """The slimmed info dict; raises YtdlpError (with "stopping" when asked to stop)."""
        env = env or self.store.active()
        proc = subprocess.Popen(
            [sys.executable, "-m", "appliance.library.ytdlp_child"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, env=child_environ(env), cwd=str(Path(__file__).resolve().parents[2]),
        )  # fmt: skip
        finished = threading.Event()
        watcher = threading.Thread(target=self._watch, args=(proc, finished), daemon=True)
        watcher.start()
        result: dict[str, Any] | None = None
        other: list[str] = []
        try:
            assert proc.stdin is not None and proc.stdout is not None
            request = {"url": url, "opts": opts, "download": download, "process": process}
            proc.stdin.write(json.dumps(request))
            proc.stdin.close()
            for line in proc.stdout:
                if not line.startswith(MARK):
                    other = (other + [line.rstrip()])[-5:]
                    continue
                message = json.loads(line[len(MARK) :])
                if "progress" in message:
                    if progress is not None:
                        progress(message["progress"])
                else:
                    result = message
            proc.wait()
        finally:
            finished.set()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        if self.stopping.is_set():
            raise YtdlpError("stopping")
        if result is None:
            detail = " | ".join(line for line in other if line)[-300:]
            raise YtdlpError(f"yt-dlp {env.version} exited with {proc.returncode}: {detail}")
        if not result.get("ok"):
            raise YtdlpError(str(result.get("error") or "yt-dlp failed")[:300])
        info = dict(result.get("info") or {})
        info["ytdlp_version"] = str(result.get("version") or "")
        return info

    def _watch(self, proc: subprocess.Popen[str], finished: threading.Event) -> None:
        """Kill the child when the box stops or it outlives the timeout."""
        deadline = time.monotonic() + self.timeout
        while not finished.is_set() and time.monotonic() < deadline:
            if self.stopping.wait(0.25):
                break
        if not finished.is_set() and proc.poll() is None:
            proc.kill()
