"""Files that are either old or new, never half-written: temp file, fsync, rename, fsync
the directory. `AtomicJSONStorage` is TinyDB's storage on top of that."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from tinydb.storages import Storage


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class AtomicJSONStorage(Storage):
    """TinyDB storage that never leaves a half-written file behind."""

    def __init__(self, path: str, keep_previous: str | None = None, **_: Any) -> None:
        self.path = Path(path)
        self.keep_previous = Path(keep_previous) if keep_previous else None
        self.bytes_written = 0

    def read(self) -> dict[str, dict[str, Any]] | None:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return None
        if not raw.strip():
            raise ValueError(f"{self.path} is empty")
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise ValueError(f"{self.path} is not a TinyDB document")
        return data

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        raw = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "wb") as f:
            f.write(raw)
            f.flush()
            os.fsync(f.fileno())
        if self.keep_previous is not None and self.path.exists():
            self.keep_previous.unlink(missing_ok=True)
            os.link(self.path, self.keep_previous)
        os.replace(tmp, self.path)
        fsync_dir(self.path.parent)
        self.bytes_written += len(raw)

    def close(self) -> None:
        pass
