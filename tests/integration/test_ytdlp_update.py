"""The daily yt-dlp self-update against a local package index (real pip, real yt-dlp, the
real deno; media served on 127.0.0.1; nothing reaches the internet): the box updates to a
good newer release, refuses a broken one at the canary, rolls back a switched release whose
resolves then fail, and a dead index, a wheel that does not install or a full disk leave the
running yt-dlp working, the failure recorded, and nothing half-installed behind."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from appliance.library.cache import MediaCache
from appliance.library.resolver import ResolveError, Resolver
from appliance.library.updater import Updater, UpdateSettings
from appliance.library.ytdlp_env import EnvStore, YtdlpRunner, builtin_env
from tests.support.media import MediaServer, make_track
from tests.support.tmpfs import small_tmpfs
from tests.support.wheels import PackageIndex, build_ejs_wheel, build_ytdlp_wheel

SOUR = """
import os as _os
from .YoutubeDL import YoutubeDL as _Y
from .utils import DownloadError as _E
_extract = _Y.extract_info
def _sour(self, url, *a, **k):
    if _os.path.exists({marker!r}):
        raise _E('HTTP Error 403: Forbidden (this release went sour)')
    return _extract(self, url, *a, **k)
_Y.extract_info = _sour
"""


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("wheels")
    marker = out / "sour-now"
    bad = out / "bad"
    bad.mkdir()
    corrupt = bad / "yt_dlp-2099.1.4-py3-none-any.whl"
    corrupt.write_bytes(b"PK\x03\x04 this is not a zip")
    return {
        "good": build_ytdlp_wheel(out, "2099.1.1"),
        "sour": build_ytdlp_wheel(out, "2099.1.2", tail=SOUR.format(marker=str(marker))),
        "broken": build_ytdlp_wheel(out, "2099.1.3", tail="raise ImportError('broken release')"),
        "corrupt": corrupt,
        # reads fine (pip's dry run accepts it), refused at install: a file outside the target
        "escaping": build_ytdlp_wheel(bad, "2099.1.5", extra={"../escape.py": b""}),
        "ejs": build_ejs_wheel(out),
        "marker": marker,
    }


@pytest.fixture
def served(tmp_path: Path) -> Iterator[MediaServer]:
    make_track(tmp_path / "served" / "song.mp4", seconds=2)
    with MediaServer(tmp_path / "served") as server:
        yield server


@pytest.fixture
def index(tmp_path: Path, wheels: dict[str, Path]) -> Iterator[PackageIndex]:
    with PackageIndex(tmp_path / "index") as idx:
        idx.offer("yt-dlp-ejs", wheels["ejs"])
        yield idx


def leftovers(store: EnvStore) -> list[str]:
    assert store.envs is not None
    return sorted(p.name for p in store.envs.iterdir()) if store.envs.is_dir() else []


class Box:
    def __init__(self, root: Path, cache: Path, index_url: str, **settings: Any) -> None:
        self.notices: list[tuple[str, dict[str, Any]]] = []
        self.store = EnvStore(root)
        self.resolver = Resolver(
            MediaCache(cache, 10**9), attempts=1, runner=YtdlpRunner(self.store)
        )
        conf = UpdateSettings(index_url=index_url, canary_youtube_id="", **settings)
        self.updater = Updater(self.store, self.resolver, conf,
                               notify=lambda s, d: self.notices.append((s, d)))  # fmt: skip
        self.resolver.on_outcome = self.updater.observe

    def resolve(self, url: str) -> str:
        """Download through the resolver; the yt-dlp version that did it."""
        path, _ = self.resolver.download(url)
        assert path.is_file()
        return self.resolver.ytdlp.run(url, self.resolver.options(), download=False)[
            "ytdlp_version"
        ]


def test_updates_to_a_good_release(
    tmp_path: Path, index: PackageIndex, wheels: dict[str, Path], served: MediaServer
) -> None:
    index.offer("yt-dlp", wheels["good"])
    box = Box(tmp_path / "ytdlp", tmp_path / "cache", index.url)
    assert box.resolve(served.url("song.mp4")) == builtin_env().version
    result = box.updater.update(local_date="2026-12-03")
    assert result["result"] == "applied", result
    assert box.store.active().version == "2099.1.1"
    assert box.resolve(served.url("song.mp4")) == "2099.1.1"
    status = box.updater.status()
    assert status["side_environment"] and status["previous"] == builtin_env().version
    assert status["last_update"]["result"] == "applied" and status["disk_bytes"] > 1_000_000
    assert [s for s, _ in box.notices] == ["ytdlp_update_applied"]
    assert not box.updater.due(datetime(2026, 12, 3, 4, 30))
    again = box.updater.update()
    assert again["result"] == "up_to_date"
    # the runtime is found by the real yt-dlp of the side environment, offline
    env = dict(os.environ, PYTHONPATH=str(box.store.active().path))
    out = subprocess.run([sys.executable, "-m", "yt_dlp", "-v"], env=env,
                         capture_output=True, text=True, timeout=60)  # fmt: skip
    assert "[debug] yt-dlp version" in out.stderr and "2099.1.1" in out.stderr
    assert "yt_dlp_ejs-" in out.stderr
    assert "[debug] JS runtimes: deno-" in out.stderr


def test_refuses_a_broken_release_at_the_canary(
    tmp_path: Path, index: PackageIndex, wheels: dict[str, Path], served: MediaServer
) -> None:
    index.offer("yt-dlp", wheels["broken"])
    box = Box(tmp_path / "ytdlp", tmp_path / "cache", index.url)
    result = box.updater.update()
    assert result["result"] == "refused" and "broken release" in result["error"]
    assert box.store.active() == builtin_env()
    assert box.store.envs is not None and leftovers(box.store) == []
    assert [s for s, _ in box.notices] == ["ytdlp_update_refused"]
    assert box.resolve(served.url("song.mp4")) == builtin_env().version
    assert box.updater.update()["result"] == "up_to_date"  # not tried again


def test_rolls_back_a_release_whose_resolves_fail(
    tmp_path: Path, index: PackageIndex, wheels: dict[str, Path], served: MediaServer
) -> None:
    index.offer("yt-dlp", wheels["sour"])
    box = Box(tmp_path / "ytdlp", tmp_path / "cache", index.url, rollback_after=2)
    assert box.updater.update()["result"] == "applied"
    assert box.store.active().version == "2099.1.2"
    wheels["marker"].touch()  # YouTube changed: this release now fails every resolve
    try:
        for name in ("a", "b"):
            with pytest.raises(ResolveError, match="went sour"):
                box.resolver.download(served.url("song.mp4") + f"?{name}")
        assert box.store.active() == builtin_env(), "not rolled back"
        assert [s for s, _ in box.notices] == ["ytdlp_update_applied", "ytdlp_rolled_back"]
        assert box.resolve(served.url("song.mp4")) == builtin_env().version
        assert box.updater.status()["last_update"]["result"] == "rolled_back"
    finally:
        wheels["marker"].unlink()


def test_a_dead_index_or_a_bad_wheel_changes_nothing(
    tmp_path: Path, index: PackageIndex, wheels: dict[str, Path], served: MediaServer
) -> None:
    dead = Box(tmp_path / "ytdlp", tmp_path / "cache", "http://127.0.0.1:9/simple")
    result = dead.updater.update()
    assert result["result"] == "failed" and result["error"].startswith("pip")
    index.offer("yt-dlp", wheels["corrupt"])
    box = Box(tmp_path / "ytdlp", tmp_path / "cache", index.url)
    result = box.updater.update()
    assert result["result"] == "failed", result
    assert box.store.active() == builtin_env()
    assert box.store.envs is not None and leftovers(box.store) == []
    assert [s for s, _ in box.notices] == ["ytdlp_update_failed"]
    assert box.resolve(served.url("song.mp4")) == builtin_env().version


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    with small_tmpfs(tmp_path / "disk", "4m") as mount:
        yield mount


def test_a_full_disk_during_the_install_changes_nothing(
    tmp_path: Path, small_disk: Path, index: PackageIndex, wheels: dict[str, Path],
    served: MediaServer,
) -> None:  # fmt: skip
    index.offer("yt-dlp", wheels["good"])
    box = Box(small_disk / "ytdlp", tmp_path / "cache", index.url)
    result = box.updater.update()
    assert result["result"] == "failed" and "No space left" in result["error"], result
    assert box.store.active() == builtin_env()
    assert box.store.envs is not None and leftovers(box.store) == []
    assert box.resolve(served.url("song.mp4")) == builtin_env().version
