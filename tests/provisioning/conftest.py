"""Builds shared by the provisioning tests: the app's wheel and the overlay (once per run)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from provisioning.wheelhouse import build_app_wheel

REPO = Path(__file__).resolve().parents[2]
EPOCH = 1_700_000_000


def build_wheel(dest: Path) -> Path:
    """The app's wheel, offline, from a copy of the sources (parallel runs share no build/)."""
    return build_app_wheel(dest / "wheels")


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    wheel = build_wheel(tmp_path_factory.mktemp("wheel"))
    return wheel.parent


def build_overlay(out: Path, epoch: int, wheelhouse: Path) -> Path:
    """Through the build script's command line, as the image build runs it. (The tests'
    package is also called `provisioning`, so the product package is not imported here.)"""
    cmd = [sys.executable, "-m", "provisioning.build_overlay", "--out", str(out),
           "--epoch", str(epoch), "--wheelhouse", str(wheelhouse)]  # fmt: skip
    subprocess.run(cmd, cwd=REPO, check=True, capture_output=True, timeout=300)
    return out


@pytest.fixture(scope="session")
def overlay_tar(tmp_path_factory: pytest.TempPathFactory, wheelhouse: Path) -> Path:
    return build_overlay(tmp_path_factory.mktemp("overlay") / "overlay.tar.gz", EPOCH, wheelhouse)


@pytest.fixture
def system(tmp_path: Path) -> tuple[Path, Path]:
    """A boot partition and a root that already ran sysusers (has the djamms group)."""
    boot, root = tmp_path / "boot", tmp_path / "root"
    boot.mkdir()
    (root / "etc").mkdir(parents=True)
    (root / "etc/group").write_text("root:x:0:\naudio:x:29:\ndjamms:x:990:\n")
    (root / "etc/hosts").write_text("127.0.0.1\tlocalhost\n127.0.1.1\traspberrypi\n")
    return boot, root
