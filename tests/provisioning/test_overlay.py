"""The root filesystem overlay: reproducible bytes, the expected files, modes and owners,
pinned dependencies, and the app's wheel."""

from __future__ import annotations

import re
import tarfile
import zipfile
from pathlib import Path

from provisioning.lock_requirements import MACHINES, target_requirements

from .conftest import EPOCH, REPO, build_overlay

EXPECTED_FILES = {
    "usr/lib/systemd/system/djamms.service",
    "usr/lib/systemd/system/djamms-firstboot.service",
    "usr/lib/systemd/system/djamms-audio.service",
    "usr/lib/systemd/system/djamms-wifi-setup.service",
    "usr/lib/sysusers.d/djamms.conf",
    "usr/lib/tmpfiles.d/djamms.conf",
    "etc/systemd/journald.conf.d/djamms.conf",
    "etc/djamms/djamms.toml",
    "etc/djamms/pulse/system.pa",
    "etc/NetworkManager/dnsmasq-shared.d/djamms-captive.conf",
    "boot/firmware/djamms.toml.example",
    "opt/djamms/requirements.lock",
}
ENABLED = ("djamms", "djamms-firstboot", "djamms-audio", "djamms-wifi-setup")


def test_builds_byte_identically_twice(tmp_path, wheelhouse):
    a = build_overlay(tmp_path / "a.tar.gz", EPOCH, wheelhouse)
    b = build_overlay(tmp_path / "b.tar.gz", EPOCH, wheelhouse)
    assert a.read_bytes() == b.read_bytes()
    c = build_overlay(tmp_path / "c.tar.gz", EPOCH + 1, wheelhouse)
    assert c.read_bytes() != a.read_bytes()  # the epoch really is what lands in the tar
    header = a.read_bytes()[:10]
    assert header[:2] == b"\x1f\x8b" and header[3] == 0, "gzip header names a file"
    assert header[4:8] == b"\0\0\0\0", "gzip header carries a time"


def test_paths_modes_owners(overlay_tar):
    with tarfile.open(overlay_tar) as tar:
        members = tar.getmembers()
    names = [m.name for m in members]
    assert names == sorted(names)
    assert EXPECTED_FILES <= set(names)
    assert any(re.fullmatch(r"opt/djamms/wheels/djamms-.*\.whl", n) for n in names)
    for m in members:
        assert (m.uid, m.gid, m.uname, m.gname) == (0, 0, "root", "root"), m.name
        assert m.mtime == EPOCH, m.name
        if m.isdir():
            assert m.mode == 0o755, m.name
        elif m.isfile():
            executable = m.name.startswith("usr/lib/djamms/")
            assert m.mode == (0o755 if executable else 0o644), m.name
        else:
            assert m.issym(), m.name
    links = {m.name: m.linkname for m in members if m.issym()}
    for unit in ENABLED:
        link = f"etc/systemd/system/multi-user.target.wants/{unit}.service"
        assert links[link] == f"/usr/lib/systemd/system/{unit}.service"
    for parent in {str(Path(n).parent) for n in names} - {"."}:
        assert parent in names, f"{parent} missing as a directory entry"


def _pins(lock: str) -> dict[str, str]:
    pins = {}
    for line in lock.splitlines():
        if line and not line.startswith("#"):
            m = re.fullmatch(
                r"([a-z0-9._-]+)==(\S+)(?: ; [^-]+)?(?: --hash=sha256:[0-9a-f]{64})+", line
            )
            assert m, f"not an exact, hashed pin: {line}"
            pins[m.group(1)] = m.group(2)
    return pins


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_lock_pins_every_runtime_dependency():
    pins = _pins((REPO / "provisioning/requirements.lock").read_text())
    # What the image needs, markers evaluated for each of its machines and its Python.
    deps = [d for m in MACHINES.values() for d in target_requirements(m)]
    names = {_norm(re.split(r"[<>=!~ \[;]", d, maxsplit=1)[0]) for d in deps}
    missing = names - {_norm(n) for n in pins}
    assert not missing, f"run python -m provisioning.lock_requirements: {sorted(missing)}"


def test_the_app_wheel_has_the_djamms_command_and_no_tests(wheelhouse):
    (wheel,) = wheelhouse.glob("djamms-*.whl")
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        entry = next(n for n in names if n.endswith("entry_points.txt"))
        assert "djamms = appliance.__main__:main" in z.read(entry).decode()
    assert "appliance/sdnotify.py" in names and "appliance/firstboot.py" in names
    assert not any(n.startswith(("tests/", "provisioning/")) for n in names)
