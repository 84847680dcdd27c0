"""The offline test disk image: partition table, boot files on FAT, a clean ext4 root with
the units enabled and the service user present."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REPO

MIB = 1024 * 1024


def _run(*cmd: str | Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, check=check,
                          timeout=300)  # fmt: skip


@pytest.fixture(scope="module")
def image(tmp_path_factory, overlay_tar) -> tuple[Path, list[dict]]:
    out = tmp_path_factory.mktemp("img") / "djamms-test.img"
    subprocess.run(
        [sys.executable, "-m", "provisioning.build_test_image", "--overlay", str(overlay_tar),
         "--out", str(out)], cwd=REPO, check=True, capture_output=True, timeout=300)  # fmt: skip
    table = json.loads(_run("sfdisk", "--json", out).stdout)["partitiontable"]
    return out, table


def _partition(image: Path, part: dict, dest: Path) -> Path:
    with open(image, "rb") as src, open(dest, "wb") as dst:
        src.seek(part["start"] * 512)
        remaining = part["size"] * 512
        while remaining:
            chunk = src.read(min(remaining, 4 * MIB))
            dst.write(chunk)
            remaining -= len(chunk)
    return dest


def test_partition_table_like_raspberry_pi_os(image):
    path, table = image
    assert table["label"] == "dos" and table["id"] == "0xd7a3e5c1"
    boot, root = table["partitions"]
    assert boot["start"] == 8192 and boot["type"] == "c"  # FAT32 (LBA) at 4 MiB
    assert root["type"] == "83" and root["start"] == boot["start"] + boot["size"]
    assert path.stat().st_size == (root["start"] + root["size"]) * 512


def test_boot_partition_has_the_config_example_and_a_cmdline_for_the_root(image, tmp_path):
    path, table = image
    fat = _partition(path, table["partitions"][0], tmp_path / "boot.img")
    assert _run("fsck.vfat", "-n", fat).returncode == 0
    listing = _run("mdir", "-b", "-i", fat, "::/").stdout.split()
    assert {"::/djamms.toml.example", "::/cmdline.txt", "::/config.txt"} <= set(listing)
    example = _run("mtype", "-i", fat, "::/djamms.toml.example").stdout
    assert example == (REPO / "provisioning/djamms.toml.example").read_text()
    cmdline = _run("mtype", "-i", fat, "::/cmdline.txt").stdout
    assert "root=PARTUUID=d7a3e5c1-02" in cmdline


@pytest.fixture(scope="module")
def rootfs(image, tmp_path_factory) -> Path:
    path, table = image
    return _partition(path, table["partitions"][1], tmp_path_factory.mktemp("p") / "root.img")


def _debugfs(fs: Path, request: str) -> str:
    return _run("debugfs", "-R", request, fs).stdout


def test_root_filesystem_is_clean_ext4(rootfs):
    done = _run("e2fsck", "-fn", rootfs, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "rootfs" in _run("e2label", rootfs).stdout


def test_units_are_enabled_in_the_root(rootfs):
    wants = _debugfs(rootfs, "ls -p /etc/systemd/system/multi-user.target.wants")
    for unit in ("djamms", "djamms-firstboot", "djamms-audio", "djamms-wifi-setup"):
        assert f"/{unit}.service/" in wants
        target = _debugfs(
            rootfs, f"stat /etc/systemd/system/multi-user.target.wants/{unit}.service"
        )
        assert f'Fast link dest: "/usr/lib/systemd/system/{unit}.service"' in target
        unit_file = _debugfs(rootfs, f"stat /usr/lib/systemd/system/{unit}.service")
        assert "Type: regular    Mode:  0644" in unit_file and "User:     0" in unit_file


def test_root_has_the_service_user_the_wheels_and_an_empty_boot_mount(rootfs):
    assert "djamms:x:" in _debugfs(rootfs, "cat /etc/passwd")
    assert ".whl" in _debugfs(rootfs, "ls /opt/djamms/wheels")
    assert "djamms.toml" not in _debugfs(rootfs, "ls /boot/firmware")
    assert "/boot/firmware  vfat" in _debugfs(rootfs, "cat /etc/fstab")
