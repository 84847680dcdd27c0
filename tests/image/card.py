"""The card from the outside, as a venue's laptop or the test bench sees it: partitions,
files on the FAT `bootfs` (mtools), the ext4 root (debugfs, dumpe2fs), without mounting."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

SECTOR = 512


@dataclass(frozen=True)
class Partition:
    start: int  # bytes
    size: int  # bytes
    type: str
    uuid: str


def _run(*cmd: str | Path, input: str | None = None) -> str:
    res = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, input=input,
                         timeout=300)  # fmt: skip
    if res.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed: {res.stderr.strip()}")
    return res.stdout


def table(image: Path) -> dict:
    return json.loads(_run("sfdisk", "--json", image))["partitiontable"]


def partitions(image: Path) -> list[Partition]:
    return [
        Partition(p["start"] * SECTOR, p["size"] * SECTOR, p["type"], p.get("uuid", ""))
        for p in table(image)["partitions"]
    ]


def _fat(image: Path) -> str:
    return f"{image}@@{partitions(image)[0].start}"


def boot_files(image: Path) -> list[str]:
    out = _run("mdir", "-b", "-i", _fat(image), "::/")
    return sorted(line.removeprefix("::/").rstrip("/") for line in out.splitlines() if line)


def read_boot_file(image: Path, name: str) -> bytes:
    res = subprocess.run(["mtype", "-i", _fat(image), f"::{name}"], capture_output=True,
                         timeout=60)  # fmt: skip
    if res.returncode != 0:
        raise FileNotFoundError(name)
    return res.stdout


def write_boot_file(image: Path, name: str, data: bytes, tmp: Path) -> None:
    local = tmp / Path(name).name
    local.write_bytes(data)
    _run("mcopy", "-o", "-i", _fat(image), local, f"::{name}")


def fat_label(image: Path) -> str:
    return _run("mlabel", "-s", "-i", _fat(image), "::").split("is", 1)[-1].strip()


def _root(image: Path) -> str:
    # e2fsprogs opens a file system at an offset inside a disk image with `?offset=`.
    return f"{image}?offset={partitions(image)[1].start}"


def read_root_file(image: Path, path: str) -> str:
    return _run("debugfs", "-R", f"cat {path}", _root(image))


def root_symlink(image: Path, path: str) -> str:
    out = _run("debugfs", "-R", f"stat {path}", _root(image))
    for line in out.splitlines():
        if "link dest:" in line:
            return line.split("link dest:", 1)[1].strip().strip('"')
    raise RuntimeError(f"{path} is not a symbolic link")


def root_listing(image: Path, path: str) -> list[str]:
    out = _run("debugfs", "-R", f"ls -p {path}", _root(image))
    names = []
    for line in out.splitlines():
        fields = line.strip().split("/")
        if len(fields) > 5 and fields[5] not in (".", ".."):
            names.append(fields[5])
    return sorted(names)


def root_block_count(image: Path) -> int:
    for line in _run("dumpe2fs", "-h", _root(image)).splitlines():
        if line.startswith("Block count:"):
            return int(line.split(":")[1])
    raise RuntimeError("no block count")


def copy_sparse(src: Path, dst: Path, grow_bytes: int = 0) -> Path:
    subprocess.run(["cp", "--sparse=always", str(src), str(dst)], check=True, timeout=600)
    if grow_bytes:
        # As a bigger card looks after flashing: the image's table, room after it.
        with open(dst, "r+b") as f:
            f.truncate(dst.stat().st_size + grow_bytes)
    return dst


def have_tools() -> list[str]:
    tools = ("sfdisk", "mtype", "mcopy", "debugfs", "dumpe2fs", "socat")
    return [t for t in tools if shutil.which(t) is None]
