"""The wheels an image builds its venv from: this project's wheel plus every pinned
dependency in requirements.lock, for the image's machine and Python.

    python -m provisioning.wheelhouse --arch arm64|amd64 [--out build/wheels-ARCH]

Needs PyPI (or a pip configuration that reaches it); hash-checked against the lock, binary
wheels only, so the image never compiles anything.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from provisioning.lock_requirements import LOCK, MACHINES, REPO, target_args


def build_app_wheel(out: Path) -> Path:
    """The app's wheel, offline, from a copy of just its sources: building in the checkout
    would make setuptools walk build/ (whole root file systems while an image builds)."""
    with tempfile.TemporaryDirectory(prefix="djamms-src-") as tmp:
        src = Path(tmp)
        for name in ("pyproject.toml", "README.md"):
            shutil.copy2(REPO / name, src / name)
        for pkg in ("appliance", "web", "hardware"):
            if (REPO / pkg).is_dir():
                shutil.copytree(REPO / pkg, src / pkg, ignore=shutil.ignore_patterns("__pycache__"))
        cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
               "--no-index", "-q", "-w", str(out), str(src)]  # fmt: skip
        subprocess.run(cmd, check=True, capture_output=True, timeout=300)
    (wheel,) = out.glob("djamms-*.whl")
    return wheel


def build_wheelhouse(arch: str, out: Path) -> list[Path]:
    machine = MACHINES[arch]
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.whl"):
        old.unlink()
    pip = [sys.executable, "-m", "pip"]
    build_app_wheel(out)
    # `pip download` evaluates the lock's markers for this machine, not the target's: a
    # marker-less copy of just the target's lines keeps arch-only pins (lgpio) right.
    lines = [
        line for line in LOCK.read_text().splitlines()
        if line and not line.startswith("#")
        and (" ; " not in line or f"'{machine}'" in line)
    ]  # fmt: skip
    target_lock = out / "requirements.target.txt"
    target_lock.write_text("\n".join(_strip_marker(line) for line in lines) + "\n")
    subprocess.run(
        [*pip, "download", "-q", "--no-deps", "--require-hashes", "-r", str(target_lock),
         "-d", str(out), *target_args(machine)],
        check=True,
    )  # fmt: skip
    target_lock.unlink()
    return sorted(out.glob("*.whl"))


def _strip_marker(line: str) -> str:
    if " ; " not in line:
        return line
    req, rest = line.split(" ; ", 1)
    return req + " " + rest[rest.index("--hash") :]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", choices=sorted(MACHINES), required=True)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    out = args.out or Path("build") / f"wheels-{args.arch}"
    wheels = build_wheelhouse(args.arch, out)
    size = sum(w.stat().st_size for w in wheels)
    print(f"{out}: {len(wheels)} wheels, {size / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
