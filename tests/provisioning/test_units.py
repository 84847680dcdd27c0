"""The units under systemd's own tools, against a root built from the overlay: verify
(no warnings), the security score, sysusers and tmpfiles."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

UNITS = ("djamms", "djamms-firstboot", "djamms-audio", "djamms-wifi-setup", "djamms-screen")
# Agreed ceiling for `systemd-analyze security` (0 = locked down, 10 = fully exposed;
# systemd calls < 2 "OK" and up to 4.5 "MEDIUM").
EXPOSURE_MAX = 2.5


@pytest.fixture(scope="module")
def system_root(tmp_path_factory, overlay_tar) -> Path:
    """Host's systemd units (targets the ours hang off) + the overlay + a real venv with the
    app installed from its wheel at the path ExecStart names + the Debian binaries pi-gen
    installs (pulseaudio: the real one, copied from this machine)."""
    root = tmp_path_factory.mktemp("root")
    units = root / "usr/lib/systemd/system"
    shutil.copytree("/usr/lib/systemd/system", units, symlinks=True)
    with tarfile.open(overlay_tar) as tar:
        tar.extractall(root, filter="tar")
    venv = root / "opt/djamms/venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    (wheel,) = (root / "opt/djamms/wheels").glob("djamms-*.whl")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(venv / "bin/python"), "install", "-q",
         "--no-deps", "--no-index", str(wheel)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    (root / "usr/bin").mkdir(parents=True, exist_ok=True)
    shutil.copy2("/usr/bin/pulseaudio", root / "usr/bin/pulseaudio")
    return root


def _verify(root: Path, unit: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["systemd-analyze", "verify", f"--root={root}", unit],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@pytest.mark.parametrize("unit", UNITS)
def test_verify_passes_without_warnings(system_root, unit):
    assert (system_root / "opt/djamms/venv/bin/djamms").stat().st_mode & 0o111
    done = _verify(system_root, f"{unit}.service")
    assert done.returncode == 0 and done.stderr == "", done.stderr


def test_verify_would_catch_a_broken_unit(system_root):
    """The check above can fail: a misspelt key and a missing binary are reported."""
    bad = system_root / "usr/lib/systemd/system/djamms-broken.service"
    text = (system_root / "usr/lib/systemd/system/djamms.service").read_text()
    bad.write_text(text.replace("NoNewPrivileges=", "NoNewPrivilege=").replace(
        "/opt/djamms/venv/bin/djamms", "/opt/djamms/venv/bin/missing"))  # fmt: skip
    try:
        done = _verify(system_root, "djamms-broken.service")
        assert "Unknown key 'NoNewPrivilege'" in done.stderr
        assert "missing" in done.stderr and done.returncode != 0
    finally:
        bad.unlink()


def test_security_exposure_under_the_threshold(system_root):
    done = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", f"--root={system_root}",
         "--no-pager", "djamms.service"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    m = re.search(r"Overall exposure level for djamms\.service: (\d+\.\d+)", done.stdout)
    assert m, done.stdout + done.stderr
    assert float(m.group(1)) <= EXPOSURE_MAX, done.stdout
    for must in ("PrivateTmp=", "ProtectSystem=", "NoNewPrivileges=", "SystemCallFilter=~@"):
        line = next(ln for ln in done.stdout.splitlines() if ln[2:].startswith(must))
        assert line.startswith("✓"), line


def test_sysusers_creates_the_user_in_its_groups(tmp_path, system_root):
    root = tmp_path / "root"
    shutil.copytree(system_root / "usr/lib/sysusers.d", root / "usr/lib/sysusers.d")
    (root / "etc").mkdir()
    # A Debian root already has audio (29) and video (44) from base-passwd.
    (root / "etc/group").write_text("root:x:0:\naudio:x:29:\nvideo:x:44:\n")
    (root / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
    done = subprocess.run(["systemd-sysusers", f"--root={root}"], capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    users = {
        ln.split(":")[0]: ln.split(":") for ln in (root / "etc/passwd").read_text().splitlines()
    }
    user = users["djamms"]
    assert user[5:] == ["/var/lib/djamms", "/usr/sbin/nologin"]
    assert 0 < int(user[2]) < 1000, "not a system user"
    groups = {
        ln.split(":")[0]: ln.split(":") for ln in (root / "etc/group").read_text().splitlines()
    }
    for name in ("audio", "video", "render", "gpio", "pulse-access"):
        assert "djamms" in groups[name][3].split(","), name
    assert groups["audio"][2] == "29" and groups["video"][2] == "44"  # existing ones kept
    assert groups["djamms"][2] == user[3]


def test_tmpfiles_makes_the_state_dirs_for_the_user(tmp_path, system_root):
    root = tmp_path / "root"
    shutil.copytree(system_root / "usr/lib/sysusers.d", root / "usr/lib/sysusers.d")
    shutil.copytree(system_root / "usr/lib/tmpfiles.d", root / "usr/lib/tmpfiles.d")
    (root / "etc").mkdir()
    subprocess.run(["systemd-sysusers", f"--root={root}"], check=True, capture_output=True)
    done = subprocess.run(["systemd-tmpfiles", "--create", f"--root={root}",
                           "djamms.conf"], capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr
    uid = next(ln.split(":")[2] for ln in (root / "etc/passwd").read_text().splitlines()
               if ln.startswith("djamms:"))  # fmt: skip
    for d in ("var/lib/djamms", "var/lib/djamms/media", "var/cache/djamms"):
        st = (root / d).stat()
        assert (st.st_mode & 0o7777, str(st.st_uid)) == (0o750, uid), d
