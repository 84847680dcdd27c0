"""Build the root filesystem overlay as a reproducible tarball.

    python -m provisioning.build_overlay --out build/overlay.tar.gz [--wheelhouse DIR]

Same inputs, same bytes: names sorted, owner root:root (0:0), fixed modes, every mtime
= SOURCE_DATE_EPOCH (default: the last commit's time), gzip header without name or time.
Contents: provisioning/overlay/ (units, sysusers.d, tmpfiles.d, journald, audio, setup
hotspot), the units' enable links, the pinned requirements, the owner's example config on
the boot partition and, with --wheelhouse, the wheels the image builds its venv from.
"""

from __future__ import annotations

import argparse
import gzip
import io
import os
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
OVERLAY = HERE / "overlay"
UNIT_DIR = "usr/lib/systemd/system"
ENABLED = {
    "multi-user.target.wants": (
        "djamms.service",
        "djamms-firstboot.service",
        "djamms-audio.service",
        "djamms-wifi-setup.service",
        "djamms-display.service",
    ),
}
EXECUTABLE_DIRS = ("usr/lib/djamms/",)


@dataclass(frozen=True)
class Entry:
    name: str  # relative, no leading slash
    mode: int
    data: bytes | None = None  # None: a directory, unless `link` is set
    link: str = ""


def _file_mode(rel: str) -> int:
    return 0o755 if rel.startswith(EXECUTABLE_DIRS) else 0o644


def overlay_entries(wheelhouse: Path | None = None) -> list[Entry]:
    """Every file, directory and link of the overlay, in tar order."""
    files: dict[str, Entry] = {}
    for path in sorted(OVERLAY.rglob("*")):
        rel = path.relative_to(OVERLAY).as_posix()
        if path.is_file():
            files[rel] = Entry(rel, _file_mode(rel), path.read_bytes())
    for target, units in ENABLED.items():
        for unit in units:
            rel = f"etc/systemd/system/{target}/{unit}"
            files[rel] = Entry(rel, 0o777, link=f"/{UNIT_DIR}/{unit}")
    files["opt/djamms/requirements.lock"] = Entry(
        "opt/djamms/requirements.lock", 0o644, (HERE / "requirements.lock").read_bytes()
    )
    example = (HERE / "djamms.toml.example").read_bytes()
    files["boot/firmware/djamms.toml.example"] = Entry(
        "boot/firmware/djamms.toml.example", 0o644, example
    )
    if wheelhouse is not None:
        for whl in sorted(wheelhouse.glob("*.whl")):
            rel = f"opt/djamms/wheels/{whl.name}"
            files[rel] = Entry(rel, 0o644, whl.read_bytes())
    dirs = {str(Path(rel).parent.as_posix()) for rel in files}
    for d in list(dirs):
        parts = d.split("/")
        dirs.update("/".join(parts[:i]) for i in range(1, len(parts)))
    dirs.discard(".")
    entries = [Entry(d, 0o755) for d in dirs] + list(files.values())
    return sorted(entries, key=lambda e: e.name)


def default_epoch() -> int:
    if "SOURCE_DATE_EPOCH" in os.environ:
        return int(os.environ["SOURCE_DATE_EPOCH"])
    try:
        out = subprocess.run(
            ["git", "log", "-1", "--format=%ct"], cwd=HERE, capture_output=True, text=True
        )
        return int(out.stdout.strip())
    except (OSError, ValueError):
        return 0


def _tarinfo(entry: Entry, epoch: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(entry.name)
    info.mode, info.mtime = entry.mode, epoch
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    if entry.link:
        info.type, info.linkname = tarfile.SYMTYPE, entry.link
    elif entry.data is None:
        info.type = tarfile.DIRTYPE
    else:
        info.size = len(entry.data)
    return info


def build_overlay(out: Path, *, epoch: int, wheelhouse: Path | None = None) -> Path:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for entry in overlay_entries(wheelhouse):
            data = io.BytesIO(entry.data) if entry.data is not None and not entry.link else None
            tar.addfile(_tarinfo(entry, epoch), data)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    with open(tmp, "wb") as f, gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0) as gz:
        gz.write(raw.getvalue())
    os.replace(tmp, out)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("build/overlay.tar.gz"))
    ap.add_argument("--wheelhouse", type=Path, help="directory of wheels to ship")
    ap.add_argument("--epoch", type=int, help="mtime of every entry (SOURCE_DATE_EPOCH)")
    args = ap.parse_args(argv)
    epoch = default_epoch() if args.epoch is None else args.epoch
    path = build_overlay(args.out, epoch=epoch, wheelhouse=args.wheelhouse)
    print(f"{path} ({path.stat().st_size} bytes, mtime {epoch})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
