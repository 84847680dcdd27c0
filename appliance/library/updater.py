"""The daily yt-dlp self-update: install, canary, switch, and roll back.

YouTube breaks yt-dlp every few weeks, so once a day in off-hours (`[library]
update_hour`) the box asks the package index for the newest yt-dlp and yt-dlp-ejs. A newer
release is installed with the venv's own pip (`pip install --target`) into a staging folder
beside the side environments and renamed into place only when pip succeeded, so a full
disk, a broken index or a wheel that fails leaves nothing usable behind. Then the canary: the
new release must download and ffprobe a short clip served on 127.0.0.1 and, when YouTube is
reachable, resolve a known video (`--simulate`); a YouTube failure counts against it only
if the current release passes the same check. Only then the pointer switches (one atomic
rename). After a switch, resolves are watched: when `rollback_after` in a row fail (gone
videos aside) and the previous release resolves the last one, the box switches back.
Every outcome is logged and sent as a SYSTEM_STATUS (`ytdlp_update_applied`, `_refused`,
`_failed`, `ytdlp_rolled_back`) and shown in the console's System tab (`status()`).
"""

from __future__ import annotations

import functools
import http.server
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from appliance.library.local import probe
from appliance.library.resolver import FORMAT, Resolver, is_permanent, source_url
from appliance.library.ytdlp_env import EnvStore, YtdlpEnv, YtdlpError, env_versions

log = logging.getLogger(__name__)

PACKAGES = ("yt-dlp", "yt-dlp-ejs")
Notify = Callable[[str, dict[str, Any]], None]


@dataclass(frozen=True)
class UpdateSettings:
    enabled: bool = True
    hour: int = 4  # local hour of the daily update
    index_url: str = ""  # empty: pip's own configuration (PyPI)
    canary_youtube_id: str = "jNQXAC9IVRw"  # empty: no online canary
    rollback_after: int = 3  # failed resolves in a row after a switch
    pip_timeout: float = 900.0

    @classmethod
    def from_section(cls, section: Mapping[str, Any]) -> UpdateSettings:
        hour = int(section.get("update_hour", 4))
        after = int(section.get("rollback_after", 3))
        if not 0 <= hour <= 23 or after < 1:
            raise ValueError("[library] update_hour must be 0-23 and rollback_after >= 1")
        enabled = section.get("update", True)
        if not isinstance(enabled, bool):
            raise ValueError("[library] update must be true or false")
        return cls(
            enabled=enabled, hour=hour, index_url=str(section.get("index_url", "")),
            canary_youtube_id=str(section.get("canary_youtube_id", cls.canary_youtube_id)),
            rollback_after=after, pip_timeout=float(section.get("pip_timeout", 900.0)),
        )  # fmt: skip


class UpdateFailed(Exception):
    pass


class Updater:
    def __init__(
        self,
        store: EnvStore,
        resolver: Resolver,
        settings: UpdateSettings,
        *,
        notify: Notify | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        assert store.root is not None
        self.store = store
        self.root: Path = store.root
        self.resolver = resolver
        self.settings = settings
        self.notify = notify or (lambda status, detail: None)
        self.clock = clock
        self.status_file = self.root / "last-update.json"
        self.day_file = self.root / "last-update-day"  # local date of the last daily try
        self.refused_file = self.root / "refused.json"  # releases refused or rolled back
        self._lock = threading.Lock()  # one update (or rollback) at a time
        self._fails = 0
        self._thread: threading.Thread | None = None

    # -- what staff see ----------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        active = self.store.active()
        previous = self.store.previous()
        try:
            last = json.loads(self.status_file.read_text())
        except (OSError, ValueError):
            last = None
        return {
            "version": active.version,
            "side_environment": active.path is not None,
            "packages": env_versions(active),
            "previous": previous.version if previous else None,
            "last_update": last,
            "update_enabled": self.settings.enabled,
            "update_hour": self.settings.hour,
            "disk_bytes": self.store.disk_bytes(),
            "running": self._lock.locked(),
        }

    def _record(self, result: str, **detail: Any) -> dict[str, Any]:
        stamp = datetime.fromtimestamp(self.clock(), UTC).isoformat(timespec="seconds")
        doc = {"at": stamp.replace("+00:00", "Z"), "result": result, **detail}
        tmp = self.status_file.with_suffix(".tmp")
        try:
            tmp.write_text(json.dumps(doc))
            os.replace(tmp, self.status_file)
        except OSError as exc:  # a full disk must not hide the outcome from the log
            log.warning("yt-dlp update status not saved: %s", exc)
        (log.info if result in ("applied", "up_to_date") else log.warning)(
            "yt-dlp update: %s %s", result, detail
        )
        if result != "up_to_date":
            status = "ytdlp_rolled_back" if result == "rolled_back" else f"ytdlp_update_{result}"
            self.notify(status, doc)
        return doc

    # -- scheduling --------------------------------------------------------------------------

    def due(self, local_now: datetime) -> bool:
        """Enabled, in the update hour, and not yet tried today (local date)."""
        if not self.settings.enabled or local_now.hour != self.settings.hour:
            return False
        try:
            last = self.day_file.read_text().strip()
        except OSError:
            last = ""
        return last != local_now.date().isoformat()

    def _refused(self) -> list[str]:
        try:
            found = json.loads(self.refused_file.read_text())
        except (OSError, ValueError):
            return []
        return [str(v) for v in found] if isinstance(found, list) else []

    def _refuse(self, version: str) -> None:
        try:
            self.refused_file.write_text(json.dumps([*self._refused(), version][-20:]))
        except OSError as exc:
            log.warning("yt-dlp: refused release not noted: %s", exc)

    def start_update(self, local_date: str = "") -> bool:
        """Run `update()` on its own thread (pip takes minutes); False if one is running."""
        if self._lock.locked() or (self._thread is not None and self._thread.is_alive()):
            return False
        self._thread = threading.Thread(
            target=self.update, kwargs={"local_date": local_date}, name="ytdlp-update",
            daemon=True,
        )  # fmt: skip
        self._thread.start()
        return True

    # -- the update ----------------------------------------------------------------------------

    def update(self, local_date: str = "") -> dict[str, Any]:
        if not self._lock.acquire(blocking=False):
            return {"result": "busy"}
        try:
            return self._update(local_date)
        finally:
            self._lock.release()

    def _update(self, local_date: str) -> dict[str, Any]:
        started = time.monotonic()
        current = self.store.active()
        extra = {"from": current.version}
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            if local_date:
                self.day_file.write_text(local_date)
        except OSError:
            pass  # a full disk: the failure below says why
        try:
            wanted = self._newest()
            have = env_versions(current)
            if all(have.get(name) == version for name, version in wanted.items()):
                return self._record("up_to_date", version=current.version, **extra)
            if wanted["yt-dlp"] in self._refused():
                return self._record("up_to_date", version=current.version,
                                    skipped=wanted["yt-dlp"], **extra)  # fmt: skip
            new = self._install(wanted)
        except UpdateFailed as exc:
            return self._record("failed", error=str(exc)[:500], **extra)
        reason = self.canary(new, current)
        seconds = round(time.monotonic() - started, 1)
        if reason:
            self._refuse(new.version)
            self.store.prune([current, self.store.previous()])
            return self._record("refused", version=new.version, error=reason, **extra)
        self.store.switch(new, current)
        self._fails = 0
        self.store.prune([new, current])
        return self._record("applied", version=new.version, seconds=seconds, **extra)

    def _pip(self, *args: str, timeout: float | None = None) -> str:
        cmd = [sys.executable, "-m", "pip", *args, "--disable-pip-version-check", "--no-input"]
        environ = dict(os.environ)
        if self.settings.index_url:
            # A configured index is the only source: the machine's pip.conf must not add others.
            cmd += ["--index-url", self.settings.index_url]
            environ["PIP_CONFIG_FILE"] = os.devnull
            environ.pop("PIP_FIND_LINKS", None)
            environ.pop("PIP_EXTRA_INDEX_URL", None)
        try:
            done = subprocess.run(
                cmd, capture_output=True, text=True, env=environ, check=False,
                timeout=timeout or self.settings.pip_timeout,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            raise UpdateFailed("pip timed out") from None
        if done.returncode != 0:
            lines = [ln for ln in done.stderr.splitlines() if ln.strip()]
            raise UpdateFailed("pip: " + " | ".join(lines[-3:]))
        return done.stdout

    def _newest(self) -> dict[str, str]:
        """Versions the index offers, without downloading into the box (`--dry-run`)."""
        with tempfile.TemporaryDirectory() as tmp:
            report = Path(tmp) / "report.json"
            self._pip("install", "--dry-run", "--ignore-installed", "--no-deps", "--quiet",
                      "--report", str(report), *PACKAGES, timeout=120)  # fmt: skip
            try:
                doc = json.loads(report.read_text())
            except (OSError, ValueError):
                raise UpdateFailed("pip gave no report") from None
        found = {
            str(item["metadata"]["name"]).lower(): str(item["metadata"]["version"])
            for item in doc.get("install", [])
        }
        if "yt-dlp" not in found:
            raise UpdateFailed("the index offers no yt-dlp")
        return found

    def _install(self, wanted: dict[str, str]) -> YtdlpEnv:
        version = wanted["yt-dlp"]
        envs = self.store.envs
        assert envs is not None
        envs.mkdir(parents=True, exist_ok=True)
        final = envs / f"yt-dlp-{version}-{int(self.clock())}"
        staging = envs / f".staging-{final.name}"
        shutil.rmtree(staging, ignore_errors=True)
        pins = [f"{name}=={v}" for name, v in wanted.items()]
        try:
            # --no-deps: yt-dlp's libraries (requests, certifi, websockets...) and deno come
            # from the venv; only the parts YouTube breaks are replaced, a few MB a day.
            self._pip("install", "--target", str(staging), "--no-deps", "--no-cache-dir",
                      "--quiet", *pins)  # fmt: skip
            if not (staging / "yt_dlp" / "__init__.py").is_file():
                raise UpdateFailed("pip installed no yt_dlp package")
            os.replace(staging, final)
        except (UpdateFailed, OSError) as exc:
            shutil.rmtree(staging, ignore_errors=True)
            raise UpdateFailed(str(exc)) from None
        return YtdlpEnv(version, final)

    # -- canary and rollback -------------------------------------------------------------------

    def canary(self, new: YtdlpEnv, current: YtdlpEnv) -> str:
        """'' when `new` passes; else why not."""
        try:
            media = self._canary_media()
        except (OSError, subprocess.SubprocessError) as exc:
            return f"canary clip not made: {exc}"
        with _serve(media.parent) as base, tempfile.TemporaryDirectory(dir=self.root) as tmp:
            folder = Path(tmp)
            try:
                self.resolver.ytdlp.run(f"{base}/{media.name}",
                                        self.resolver.download_options(folder),
                                        download=True, env=new)  # fmt: skip
            except YtdlpError as exc:
                return f"local canary: {exc}"
            files = [p for p in folder.iterdir() if p.is_file() and not p.name.endswith(".part")]
            if not files or not probe(files[0]).get("duration"):
                return "local canary: no playable file"
        vid = self.settings.canary_youtube_id
        if vid and self._simulate(vid, new) and not self._simulate(vid, current):
            return f"YouTube canary {vid}: {self._simulate(vid, new)}"
        return ""

    def _simulate(self, video_id: str, env: YtdlpEnv) -> str:
        """'' when `env` resolves the video's formats (yt-dlp --simulate), else why not."""
        url = f"https://www.youtube.com/watch?v={video_id}" if len(video_id) == 11 else video_id
        try:
            self.resolver.ytdlp.run(url, self.resolver.options(format=FORMAT),
                                    download=False, env=env)  # fmt: skip
        except YtdlpError as exc:
            return str(exc)
        return ""

    def _canary_media(self) -> Path:
        clip = self.root / "canary" / "canary.mp4"
        if clip.is_file() and clip.stat().st_size > 0:
            return clip
        clip.parent.mkdir(parents=True, exist_ok=True)
        tmp = clip.with_suffix(".tmp.mp4")
        cmd = ["ffmpeg", "-nostdin", "-loglevel", "error", "-y",
               "-f", "lavfi", "-i", "sine=frequency=440:duration=2",
               "-f", "lavfi", "-i", "testsrc2=size=160x90:rate=10:duration=2",
               "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest",
               str(tmp)]  # fmt: skip
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)
        os.replace(tmp, clip)
        return clip

    def observe(self, video_id: str, ok: bool, reason: str) -> None:
        """A resolve's outcome (the resolver's `on_outcome`): the rollback watch."""
        if ok or is_permanent(reason) or reason == "stopping":
            self._fails = 0 if ok else self._fails
            return
        self._fails += 1
        previous = self.store.previous()
        if previous is None or self._fails < self.settings.rollback_after:
            return
        self.rollback(video_id, previous)

    def rollback(self, video_id: str, previous: YtdlpEnv) -> bool:
        """Switch back when the previous release resolves what the current one could not."""
        url = source_url(video_id)
        if url is None or not self._lock.acquire(blocking=False):
            return False
        try:
            current = self.store.active()
            if current.path is None or self._simulate(url, previous):
                self._fails = 0  # the old release fails too: the network, not the release
                return False
            self.store.switch(previous, None)
            self._refuse(current.version)
            self._fails = 0
            self._record("rolled_back", version=previous.version, **{"from": current.version},
                         video_id=video_id)  # fmt: skip
            return True
        finally:
            self._lock.release()


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class _serve:
    """The canary clip on a throwaway 127.0.0.1 server (yt-dlp's generic extractor)."""

    def __init__(self, folder: Path) -> None:
        handler = functools.partial(_Quiet, directory=str(folder))
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)
