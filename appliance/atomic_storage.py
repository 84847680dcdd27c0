"""Files that are either old or new, never half-written: temp file, fsync, rename, fsync
the directory. `AtomicJSONStorage` is TinyDB's storage on top of that."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
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
        self.write_chunks(_document_chunks(data))

    def write_chunks(self, chunks: Iterable[bytes]) -> None:
        """Write a document given as its bytes, in pieces, atomically."""
        tmp = self.path.with_suffix(".tmp")
        written = 0
        with open(tmp, "wb") as f:
            for chunk in chunks:
                f.write(chunk)
                written += len(chunk)
            f.flush()
            os.fsync(f.fileno())
        if self.keep_previous is not None and self.path.exists():
            self.keep_previous.unlink(missing_ok=True)
            os.link(self.path, self.keep_previous)
        os.replace(tmp, self.path)
        fsync_dir(self.path.parent)
        self.bytes_written += written

    def close(self) -> None:
        pass


_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def _document_chunks(data: dict[str, dict[str, Any]]) -> Iterator[bytes]:
    """The document as `json.dumps` would write it, a row at a time: one C-level dump of
    a 24 MB venue holds the GIL for half a second, and every console waits that long."""
    yield b"{"
    for i, (name, table) in enumerate(data.items()):
        head = _ENCODER.encode(name) + ":{"
        yield (head if i == 0 else "," + head).encode()
        if not isinstance(table, dict):
            raise TypeError(f"table {name!r} is not a dict")
        yield ",".join(
            _ENCODER.encode(str(key)) + ":" + _ENCODER.encode(row) for key, row in table.items()
        ).encode()
        yield b"}"
    yield b"}"
