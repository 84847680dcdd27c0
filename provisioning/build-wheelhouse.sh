#!/usr/bin/env bash
# The wheels the image installs its venv from: this project's wheel plus every pinned
# dependency in requirements.lock, for aarch64 / CPython 3.11 (Raspberry Pi OS Bookworm).
# Needs PyPI. Usage: provisioning/build-wheelhouse.sh [DIR]   (default build/wheels)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-build/wheels}
py=${PYTHON:-python3}
rm -rf "$out" && mkdir -p "$out"
"$py" -m pip wheel --no-deps -q -w "$out" .
"$py" -m pip download -q --no-deps --require-hashes -r provisioning/requirements.lock -d "$out" \
  --only-binary=:all: --implementation cp --python-version 3.11 --abi cp311 \
  --platform manylinux2014_aarch64 --platform manylinux_2_28_aarch64 \
  --platform manylinux_2_31_aarch64 --platform manylinux_2_34_aarch64 \
  --platform manylinux_2_35_aarch64 --platform manylinux_2_36_aarch64 --platform linux_aarch64
ls -1 "$out" | wc -l | xargs echo "wheels:"
du -sh "$out"
