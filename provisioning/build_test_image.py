"""Assemble a TEST disk image offline, without mounting anything.

    python -m provisioning.build_test_image --overlay build/overlay.tar.gz --out build/test.img

Lays out the card the way Raspberry Pi OS does (MBR; FAT32 "bootfs" at 4 MiB; ext4
"rootfs" after it) but the root holds only our overlay plus the users sysusers creates:
it exists so the layout, the boot files and the enabled units can be checked here. The
real image comes from pi-gen (provisioning/pi-gen/). Tools: mkfs.vfat + mcopy (dosfstools,
mtools), mke2fs -d (e2fsprogs), sfdisk (fdisk); partitions are joined with dd.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

MIB = 1024 * 1024
START_MIB = 4  # first partition offset, as Raspberry Pi OS
DISK_ID = "0xd7a3e5c1"  # fixed, so cmdline.txt's PARTUUID is known in advance
BOOT_DIR = "boot/firmware"


def _run(*cmd: str | Path) -> None:
    subprocess.run([str(c) for c in cmd], check=True, capture_output=True)


def _tree_size(root: Path) -> int:
    return sum(p.lstat().st_size for p in root.rglob("*"))


def stage(overlay: Path, work: Path) -> tuple[Path, Path]:
    """Unpack the overlay; split the boot partition's files from the root's."""
    rootfs, bootfs = work / "rootfs", work / "bootfs"
    rootfs.mkdir()
    with tarfile.open(overlay) as tar:
        tar.extractall(rootfs, filter="tar")  # keeps modes, owner 0 (we run as root)
    (rootfs / BOOT_DIR).rename(bootfs)
    (rootfs / BOOT_DIR).mkdir()  # the mount point stays
    partuuid = DISK_ID[2:]
    (bootfs / "cmdline.txt").write_text(
        f"console=tty1 root=PARTUUID={partuuid}-02 rootfstype=ext4 fsck.repair=yes rootwait\n"
    )
    (bootfs / "config.txt").write_text("# test image: layout only, not bootable\n")
    (rootfs / "etc/fstab").write_text(
        f"PARTUUID={partuuid}-01  /boot/firmware  vfat  defaults  0  2\n"
        f"PARTUUID={partuuid}-02  /  ext4  defaults,noatime  0  1\n"
    )
    _run("systemd-sysusers", f"--root={rootfs}")  # the djamms user and its groups
    return bootfs, rootfs


def make_fat(bootfs: Path, image: Path, size_mib: int) -> None:
    image.unlink(missing_ok=True)
    _run("mkfs.vfat", "-C", "-F", "32", "-n", "BOOTFS", "-i", "d7a3e5c1", image, size_mib * 1024)
    files = sorted(p for p in bootfs.iterdir())
    _run("mcopy", "-i", image, "-s", "-p", "-m", *files, "::/")


def make_ext4(rootfs: Path, image: Path, size_mib: int) -> None:
    image.unlink(missing_ok=True)
    _run(
        "mke2fs", "-q", "-t", "ext4", "-L", "rootfs", "-U", "8f4b0c1e-2d3a-4b5c-9e6f-7a8b9c0d1e2f",
        "-E", "root_owner=0:0", "-d", rootfs, image, f"{size_mib}M",
    )  # fmt: skip


def assemble(out: Path, boot_img: Path, root_img: Path) -> None:
    boot_mib = boot_img.stat().st_size // MIB
    root_mib = root_img.stat().st_size // MIB
    total = START_MIB + boot_mib + root_mib
    out.unlink(missing_ok=True)
    with open(out, "wb") as f:
        f.truncate(total * MIB)
    table = (
        f"label: dos\nlabel-id: {DISK_ID}\nunit: sectors\n"
        f"start={START_MIB * 2048}, size={boot_mib * 2048}, type=c\n"
        f"start={(START_MIB + boot_mib) * 2048}, size={root_mib * 2048}, type=83\n"
    )
    subprocess.run(["sfdisk", "-q", str(out)], input=table.encode(), check=True,
                   capture_output=True)  # fmt: skip
    for img, at in ((boot_img, START_MIB), (root_img, START_MIB + boot_mib)):
        _run("dd", f"if={img}", f"of={out}", "bs=1M", f"seek={at}", "conv=notrunc,fsync")


def build_test_image(overlay: Path, out: Path, *, boot_mib: int = 64) -> Path:
    with tempfile.TemporaryDirectory(prefix="djamms-img-") as tmp:
        work = Path(tmp)
        bootfs, rootfs = stage(overlay, work)
        root_mib = max(32, int(_tree_size(rootfs) * 1.5 / MIB) + 24)  # ext4 metadata + slack
        make_fat(bootfs, work / "boot.img", boot_mib)
        make_ext4(rootfs, work / "root.img", root_mib)
        out.parent.mkdir(parents=True, exist_ok=True)
        assemble(out, work / "boot.img", work / "root.img")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--overlay", type=Path, default=Path("build/overlay.tar.gz"))
    ap.add_argument("--out", type=Path, default=Path("build/djamms-test.img"))
    ap.add_argument("--boot-mib", type=int, default=64)
    args = ap.parse_args(argv)
    path = build_test_image(args.overlay, args.out, boot_mib=args.boot_mib)
    print(f"{path} ({path.stat().st_size // MIB} MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
