"""Build the DJAMMS disk image from Debian's packages and PyPI's wheels only.

    python -m provisioning.image --arch arm64|amd64 [--out build/djamms-ARCH.img]

1. wheels: the app's wheel and the locked dependencies for the target (provisioning.wheelhouse);
2. overlay: our units, configs and scripts (provisioning.build_overlay);
3. root: `mmdebstrap` of Debian 13 (trixie) with the packages below; foreign-architecture
   maintainer scripts run through qemu-user (binfmt); then provisioning/chroot-setup.sh;
4. boot: arm64 keeps what Debian's raspi-firmware put in /boot/firmware (Pi firmware,
   kernel, initrd, config.txt, cmdline.txt); amd64 gets an EFI system partition with
   systemd-boot as the removable-media loader, the kernel and initrd, and one entry;
5. disk: provisioning.disk joins a FAT32 `bootfs` and an ext4 root.
Runs as root (mmdebstrap's root mode); about 3 minutes for amd64, 10-15 for arm64.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from appliance.library.demo import make_demo_media
from provisioning import disk
from provisioning.build_overlay import build_overlay, default_epoch
from provisioning.wheelhouse import build_wheelhouse

HERE = Path(__file__).resolve().parent
SUITE = "trixie"
COMPONENTS = "main,non-free-firmware"
COMMON = (
    "systemd", "systemd-sysv", "systemd-timesyncd", "udev", "dbus", "kmod", "iproute2",
    "netbase", "procps", "ca-certificates", "tzdata", "python3", "python3-venv",
    "mpv", "libmpv2", "ffmpeg", "pulseaudio", "alsa-utils", "network-manager",
    "dnsmasq-base", "iw", "rfkill", "wireless-regdb", "avahi-daemon", "fonts-dejavu-core",
    "cage", "xwayland", "libpam-systemd",
    "cloud-guest-utils", "e2fsprogs", "initramfs-tools", "zstd",
)  # fmt: skip
PER_ARCH = {
    "arm64": ("linux-image-arm64", "raspi-firmware", "firmware-brcm80211"),
    "amd64": (
        "linux-image-amd64", "systemd-boot-efi", "firmware-intel-sound",
        "firmware-sof-signed", "firmware-realtek", "firmware-iwlwifi",
    ),
}  # fmt: skip
BOOT_MIB = {"arm64": 256, "amd64": 256}
FOREIGN_BINFMT = {"arm64": "qemu-aarch64", "amd64": "qemu-x86_64"}
HOST_TOOLS = ("mmdebstrap", "mkfs.vfat", "mcopy", "mke2fs", "sfdisk", "dd", "ffmpeg")


class BuildError(RuntimeError):
    """A clear reason the image could not be built."""


def packages(arch: str, extra: tuple[str, ...] = ()) -> list[str]:
    return [*COMMON, *PER_ARCH[arch], *extra]


def check_host(arch: str) -> None:
    missing = [t for t in HOST_TOOLS if shutil.which(t) is None]
    if missing:
        raise BuildError(
            f"missing host tools: {', '.join(missing)} "
            "(apt-get install mmdebstrap dosfstools mtools e2fsprogs fdisk ffmpeg)"
        )
    if os.geteuid() != 0:
        raise BuildError("the image build runs as root (mmdebstrap root mode, file owners)")
    host = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True)
    if host.stdout.strip() != arch:
        binfmt = Path("/proc/sys/fs/binfmt_misc") / FOREIGN_BINFMT[arch]
        if not binfmt.exists() or "enabled" not in binfmt.read_text():
            raise BuildError(
                f"building {arch} on {host.stdout.strip()} needs qemu-user-static with "
                f"binfmt_misc ({binfmt} missing): apt-get install qemu-user-static "
                f"binfmt-support && update-binfmts --enable {FOREIGN_BINFMT[arch]}"
            )


def _missing_packages(log: str) -> list[str]:
    found = re.findall(r"Unable to locate package (\S+)", log)
    found += re.findall(r"Package '?([\w.+-]+)'? has no installation candidate", log)
    return sorted(set(found))


def mmdebstrap(arch: str, rootfs: Path, hooks: list[str], extra: tuple[str, ...]) -> None:
    cmd = [
        "mmdebstrap", "--mode=root", "--variant=minbase", f"--architectures={arch}",
        f"--components={COMPONENTS}", f"--include={','.join(packages(arch, extra))}",
        "--aptopt=Acquire::Retries 3", "--dpkgopt=path-exclude=/usr/share/doc/*",
        "--dpkgopt=path-include=/usr/share/doc/*/copyright",
        "--dpkgopt=path-exclude=/usr/share/man/*", "--dpkgopt=path-exclude=/usr/share/info/*",
        *(f"--customize-hook={h}" for h in hooks), SUITE, str(rootfs),
    ]  # fmt: skip
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        missing = _missing_packages(res.stdout + res.stderr)
        if missing:
            raise BuildError(
                f"Debian {SUITE} ({COMPONENTS}) has no package {', '.join(missing)} for {arch}"
            )
        raise BuildError(f"mmdebstrap failed:\n{(res.stdout + res.stderr)[-4000:]}")


def unmount_below(root: Path) -> list[str]:
    """Unmount whatever is still mounted inside `root`, deepest first. mmdebstrap unmounts
    its /proc, /sys and /dev itself, but has been seen to leave /sys mounted when another
    build ran beside it; mke2fs would then copy the live kernel tree into the image."""
    prefix = str(root.resolve()) + "/"
    with open("/proc/self/mounts") as f:
        points = [line.split()[1] for line in f]
    left = sorted((p for p in points if p.startswith(prefix)), key=len, reverse=True)
    for point in left:
        subprocess.run(["umount", "-l", point], check=False, capture_output=True)
    return left


def esp_tree(rootfs: Path, bootfs: Path, layout: disk.Layout) -> None:
    """systemd-boot as the removable-media loader: no NVRAM entry needed on any PC."""
    boot = rootfs / "boot"
    kernel = sorted(boot.glob("vmlinuz-*"))[-1]
    initrd = boot / kernel.name.replace("vmlinuz-", "initrd.img-")
    efi = bootfs / "EFI/BOOT"
    efi.mkdir(parents=True)
    shutil.copy(rootfs / "usr/lib/systemd/boot/efi/systemd-bootx64.efi", efi / "BOOTX64.EFI")
    shutil.copy(kernel, bootfs / "vmlinuz")
    shutil.copy(initrd, bootfs / "initrd.img")
    entries = bootfs / "loader/entries"
    entries.mkdir(parents=True)
    (bootfs / "loader/loader.conf").write_text("default djamms.conf\ntimeout 0\neditor no\n")
    (entries / "djamms.conf").write_text(
        f"title DJAMMS\nlinux /vmlinuz\ninitrd /initrd.img\n"
        f"options root=PARTUUID={layout.root_partuuid} rw quiet panic=10 "
        "console=tty0 console=ttyS0,115200\n"
    )


def build_image(arch: str, out: Path, *, extra: tuple[str, ...] = ()) -> dict[str, float]:
    """Build the image at `out`; returns the seconds each step took."""
    check_host(arch)
    layout = disk.LAYOUTS[arch]
    epoch = default_epoch()  # the overlay's file times: reproducible
    built = int(time.time())  # the clock floor: a fresh card never starts before this
    times: dict[str, float] = {}
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"djamms-{arch}-", dir=out.parent) as tmp:
        work = Path(tmp)
        t0 = time.monotonic()
        build_wheelhouse(arch, work / "wheels")
        build_overlay(work / "overlay.tar.gz", epoch=epoch)
        # Made here, not on the box: a first boot plays at once instead of spending minutes
        # of a Pi's CPU on encoding.
        if not make_demo_media(work / "demo"):
            raise BuildError("the demo media could not be made (is ffmpeg installed?)")
        times["wheels_s"] = time.monotonic() - t0
        hooks = [
            f'tar -C "$1" --no-overwrite-dir -xzf {work / "overlay.tar.gz"}',
            f'cp -r {work / "wheels"} "$1/opt/djamms/wheels"',
            f'cp {HERE / "chroot-setup.sh"} "$1/tmp/chroot-setup.sh"',
            f'chroot "$1" sh /tmp/chroot-setup.sh {arch} {layout.root_partuuid} {built}',
            'rm -f "$1/tmp/chroot-setup.sh"',
            'mkdir -p "$1/var/lib/djamms/media"',
            f'cp {work / "demo"}/*.mp4 "$1/var/lib/djamms/media/"',
            'chroot "$1" chown -R djamms:djamms /var/lib/djamms',
        ]
        rootfs = work / "rootfs"
        t0 = time.monotonic()
        try:
            mmdebstrap(arch, rootfs, hooks, extra)
        finally:
            unmount_below(rootfs)
        times["rootfs_s"] = time.monotonic() - t0
        t0 = time.monotonic()
        bootfs = work / "bootfs"
        shutil.move(rootfs / "boot/firmware", bootfs)
        (rootfs / "boot/firmware").mkdir()  # the mount point stays
        if arch == "amd64":
            esp_tree(rootfs, bootfs, layout)
        disk.build_disk(out, layout, bootfs, rootfs, boot_mib=BOOT_MIB[arch])
        times["disk_s"] = time.monotonic() - t0
    return times


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", choices=sorted(disk.LAYOUTS), required=True)
    ap.add_argument("--out", type=Path)
    ap.add_argument("--extra-package", action="append", default=[], help="add a package")
    args = ap.parse_args(argv)
    out = args.out or Path("build") / f"djamms-{args.arch}.img"
    start = time.monotonic()
    try:
        times = build_image(args.arch, out, extra=tuple(args.extra_package))
    except BuildError as exc:
        print(f"image build failed: {exc}", file=sys.stderr)
        return 2
    total = time.monotonic() - start
    steps = ", ".join(f"{k} {v:.0f}" for k, v in times.items())
    print(f"{out}: {out.stat().st_size / 2**20:.0f} MiB in {total:.0f} s ({steps})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
