"""The pi-gen stage cannot run here (it needs the internet and a chroot); check that its
scripts parse and agree with the overlay: the units it enables exist, the Debian packages
provide every binary the units start, and the venv installs the locked wheels."""

from __future__ import annotations

import re
import subprocess

import pytest

from .conftest import REPO

PIGEN = REPO / "provisioning/pi-gen"
STAGE = PIGEN / "stage-djamms"
UNIT_DIR = REPO / "provisioning/overlay/usr/lib/systemd/system"
SCRIPTS = [
    PIGEN / "build-image.sh",
    STAGE / "prerun.sh",
    STAGE / "01-djamms/00-run.sh",
    STAGE / "01-djamms/01-run-chroot.sh",
    REPO / "provisioning/build-wheelhouse.sh",
]
# Which Debian package ships each binary a unit or script runs.
PROVIDES = {
    "/usr/bin/pulseaudio": "pulseaudio",
    "nmcli": "network-manager",
    "iw": "iw",
    "rfkill": "rfkill",
    "python3 -m venv": "python3-venv",
}


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_scripts_parse_and_are_executable(script):
    assert script.stat().st_mode & 0o111, f"{script} is not executable"
    done = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_stage_enables_every_shipped_unit_and_only_those():
    chroot = (STAGE / "01-djamms/01-run-chroot.sh").read_text().replace("\\\n", " ")
    line = next(ln for ln in chroot.splitlines() if ln.strip().startswith("systemctl enable"))
    enabled = set(re.findall(r"(\S+\.service)", line))
    assert enabled == {p.name for p in UNIT_DIR.glob("*.service")}


def test_packages_provide_what_the_units_run():
    packages = set((STAGE / "00-packages/00-packages").read_text().split())
    used = "\n".join(p.read_text() for p in UNIT_DIR.glob("*.service"))
    used += (REPO / "appliance/setup_hotspot.py").read_text()
    used += (STAGE / "01-djamms/01-run-chroot.sh").read_text()
    for binary, package in PROVIDES.items():
        if binary in used:
            assert package in packages, f"{binary} needs {package}"
    assert {"mpv", "libmpv2", "ffmpeg", "python3-venv"} <= packages


def test_venv_installs_only_locked_hash_checked_wheels_offline():
    chroot = (STAGE / "01-djamms/01-run-chroot.sh").read_text().replace("\\\n", " ")
    installs = [ln for ln in chroot.splitlines() if "pip install" in ln]
    assert installs and all("--no-index" in ln for ln in installs)
    assert any("--require-hashes -r /opt/djamms/requirements.lock" in ln for ln in installs)
    assert (STAGE / "EXPORT_IMAGE").exists()
    assert "stage-djamms" in (PIGEN / "config").read_text()


def test_overlay_unpacks_without_touching_existing_directories():
    run = (STAGE / "01-djamms/00-run.sh").read_text()
    assert "--no-overwrite-dir" in run and "files/overlay.tar.gz" in run
    build = (PIGEN / "build-image.sh").read_text()
    assert "01-djamms/files/overlay.tar.gz" in build
