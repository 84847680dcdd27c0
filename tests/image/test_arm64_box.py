"""The Raspberry Pi image. QEMU 7.2's raspi4b model cannot boot Debian's kernel, so the Pi's
own boot path (firmware -> config.txt -> kernel) is checked statically on bootfs, and the
rest (the image's own kernel, initrd, root file system and everything on it) is booted in
`qemu-system-aarch64 -M virt` (TCG) with the command line from the card's cmdline.txt, until
the console answers with the venue from the card's djamms.toml."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from . import card
from .conftest import VENUE_TOML, built_image
from .figures import record
from .machine import Boot, Machine

# What a Pi 3B+, 4, 400 and CM4 read from the FAT before the kernel: the GPU firmware and
# the device trees of the boards the README names, by their mainline kernel names (the
# firmware looks for those with `upstream_kernel=1`).
PI_FIRMWARE = ("start4.elf", "fixup4.dat", "start.elf", "fixup.dat", "bootcode.bin")
PI_DTBS = (
    "bcm2711-rpi-4-b.dtb", "bcm2711-rpi-400.dtb", "bcm2711-rpi-cm4-io.dtb",
    "bcm2837-rpi-3-b-plus.dtb",
)  # fmt: skip


@pytest.fixture(scope="module")
def image() -> Path:
    return built_image("arm64")


def test_the_card_is_an_mbr_with_fat_bootfs_and_ext4_root(image: Path) -> None:
    t = card.table(image)
    assert t["label"] == "dos"
    boot, root = card.partitions(image)
    assert boot.type == "c" and root.type == "83"
    assert boot.start == 4 * 1024 * 1024  # as Raspberry Pi OS
    assert card.fat_label(image).lower() == "bootfs"
    assert card.root_listing(image, "/opt/djamms/venv/bin").count("djamms") == 1


def test_bootfs_holds_what_a_pi_needs(image: Path) -> None:
    files = set(card.boot_files(image))
    missing = [f for f in (*PI_FIRMWARE, *PI_DTBS, "config.txt", "cmdline.txt") if f not in files]
    assert not missing, f"bootfs lacks {missing}"
    assert "djamms.toml.example" in files
    config = card.read_boot_file(image, "config.txt").decode()
    assert re.search(r"^arm_64bit=1\s*$", config, re.M), config
    assert re.search(r"^upstream_kernel=1\s*$", config, re.M), config
    kernel = re.search(r"^kernel=(\S+)", config, re.M)
    initramfs = re.search(r"^initramfs (\S+)", config, re.M)
    assert kernel and kernel.group(1) in files, config
    assert initramfs and initramfs.group(1) in files, config


def test_cmdline_names_partition_two_of_this_card(image: Path) -> None:
    cmdline = card.read_boot_file(image, "cmdline.txt").decode()
    disk_id = card.table(image)["id"].removeprefix("0x")
    assert f"root=PARTUUID={disk_id}-02" in cmdline.split(), cmdline


@pytest.fixture(scope="module")
def booted(image: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Machine]:
    work = tmp_path_factory.mktemp("arm64")
    disk = card.copy_sparse(image, work / "card.img")
    card.write_boot_file(disk, "djamms.toml", VENUE_TOML.encode(), work)
    config = card.read_boot_file(disk, "config.txt").decode()
    kernel_name = re.search(r"^kernel=(\S+)", config, re.M)
    initrd_name = re.search(r"^initramfs (\S+)", config, re.M)
    assert kernel_name and initrd_name
    kernel, initrd = work / "vmlinuz", work / "initrd.img"
    kernel.write_bytes(card.read_boot_file(disk, kernel_name.group(1)))
    initrd.write_bytes(card.read_boot_file(disk, initrd_name.group(1)))
    # The card's own command line; only the console moves to the virt board's UART.
    args = [a for a in card.read_boot_file(disk, "cmdline.txt").decode().split()
            if not a.startswith("console=")]  # fmt: skip
    append = " ".join([*args, "console=ttyAMA0"])
    machine = Machine(Boot("arm64", disk, work / "boot1", kernel=kernel, initrd=initrd,
                           append=append, memory_mib=1024))  # fmt: skip
    machine.start()
    yield machine
    machine.kill()


def test_the_image_boots_to_the_console_with_the_venue_from_the_card(booted: Machine) -> None:
    seconds = booted.wait_console(timeout=1500)
    record("arm64_virt_power_on_to_console", seconds, "s", emulated=True)
    state = requests.get(booted.url + "/api/state", timeout=60).json()
    assert state["venue"]["venue_name"] == "The Test Arms"
