"""Assemble a bootable disk image from two directories, without loop devices or mounts.

Partition 1 is FAT32 labelled `bootfs` (the Pi firmware on arm64, the EFI system partition
on amd64), partition 2 an ext4 root labelled `rootfs`. arm64 uses an MBR (the Pi 3's boot
ROM reads nothing else), amd64 a GPT (what UEFI firmware on mini-PCs expects). Each file
system is made in its own file (`mkfs.vfat -C` + `mcopy`, `mke2fs -d`) and the two are
joined with `dd` behind a table written by `sfdisk`. The identifiers are fixed so that
`cmdline.txt`, the loader entry and `/etc/fstab` can name partitions before they exist.
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

MIB = 1024 * 1024
START_MIB = 4  # first partition offset, as Raspberry Pi OS (and 1 MiB-aligned for GPT)
GPT_TAIL_MIB = 1  # room for the backup GPT at the end of the disk
FAT_SERIAL = "d7a3e5c1"
ROOT_FS_UUID = "8f4b0c1e-2d3a-4b5c-9e6f-7a8b9c0d1e2f"


@dataclass(frozen=True)
class Layout:
    """How a partition is named from the kernel command line and /etc/fstab."""

    table: str  # "dos" (MBR) or "gpt"
    disk_id: str
    boot_partuuid: str
    root_partuuid: str


MBR = Layout("dos", "0xd7a3e5c1", "d7a3e5c1-01", "d7a3e5c1-02")
GPT = Layout(
    "gpt",
    "6d1f3c52-8b0e-4a47-9e3d-2c5b7f1a9e60",
    "b3e1c7a4-5d2f-4e8b-9a61-0c4d2e7f8a13",
    "4f68bce3-e8cd-4db1-96e7-fbcaf984b709",
)
LAYOUTS = {"arm64": MBR, "amd64": GPT}


def _run(*cmd: str | Path) -> None:
    res = subprocess.run([str(c) for c in cmd], capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed ({res.returncode}): {res.stderr.strip()[-2000:]}")


def tree_bytes(root: Path) -> int:
    return sum(p.lstat().st_size for p in root.rglob("*"))


def make_fat(src: Path, image: Path, size_mib: int) -> None:
    image.unlink(missing_ok=True)
    _run("mkfs.vfat", "-C", "-F", "32", "-n", "bootfs", "-i", FAT_SERIAL, image, size_mib * 1024)
    files = sorted(src.iterdir())
    if files:
        _run("mcopy", "-i", image, "-s", "-p", "-m", *files, "::/")


def make_ext4(src: Path, image: Path, size_mib: int) -> None:
    image.unlink(missing_ok=True)
    # 1% reserved (not 5%): the app, not root, is what needs the room on a small card.
    _run(
        "mke2fs", "-q", "-t", "ext4", "-L", "rootfs", "-U", ROOT_FS_UUID, "-m", "1",
        "-E", "root_owner=0:0", "-d", src, image, f"{size_mib}M",
    )  # fmt: skip


def _table(layout: Layout, boot_mib: int, root_mib: int) -> str:
    boot = f"start={START_MIB * 2048}, size={boot_mib * 2048}"
    root = f"start={(START_MIB + boot_mib) * 2048}, size={root_mib * 2048}"
    if layout.table == "dos":
        head = f"label: dos\nlabel-id: {layout.disk_id}\nunit: sectors\n"
        return f"{head}{boot}, type=c\n{root}, type=83\n"
    return (
        f"label: gpt\nlabel-id: {layout.disk_id}\nunit: sectors\n"
        f'{boot}, type=uefi, uuid={layout.boot_partuuid}, name="bootfs"\n'
        f'{root}, type=linux, uuid={layout.root_partuuid}, name="rootfs"\n'
    )


def assemble(out: Path, layout: Layout, boot_img: Path, root_img: Path) -> None:
    boot_mib = boot_img.stat().st_size // MIB
    root_mib = root_img.stat().st_size // MIB
    tail = GPT_TAIL_MIB if layout.table == "gpt" else 0
    out.unlink(missing_ok=True)
    with open(out, "wb") as f:
        f.truncate((START_MIB + boot_mib + root_mib + tail) * MIB)
    table = _table(layout, boot_mib, root_mib)
    res = subprocess.run(["sfdisk", "-q", str(out)], input=table, text=True, capture_output=True)
    if res.returncode != 0:
        raise RuntimeError(f"sfdisk failed: {res.stderr.strip()}")
    for img, at in ((boot_img, START_MIB), (root_img, START_MIB + boot_mib)):
        _run("dd", f"if={img}", f"of={out}", "bs=1M", f"seek={at}", "conv=notrunc,sparse",
             "status=none")  # fmt: skip


def build_disk(out: Path, layout: Layout, bootfs: Path, rootfs: Path, *, boot_mib: int) -> Path:
    """Both file systems from their directories, joined into one raw disk image at `out`."""
    # ext4 metadata (inode tables, journal) plus room for the first boot's writes; the
    # partition grows to the card's size on first boot anyway.
    root_mib = int(tree_bytes(rootfs) * 1.15 / MIB) + 256
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="djamms-disk-", dir=out.parent) as tmp:
        work = Path(tmp)
        make_fat(bootfs, work / "boot.img", boot_mib)
        make_ext4(rootfs, work / "root.img", root_mib)
        assemble(out, layout, work / "boot.img", work / "root.img")
    return out
