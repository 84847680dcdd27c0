"""A backup archive's bytes: a gzipped tar written as a stream with a SHA-256 and size for
every member, and one unpacked under the archive's limits (only a backup's member names,
as plain files, each size and the free space checked before a byte is written).

The service around it (`appliance.backup`) runs the writer on its own thread, signs the
manifest and decides what an unpacked archive may restore.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import queue
import shutil
import tarfile
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from appliance.backup_format import (
    FORMAT,
    FREE_MARGIN,
    MANIFEST,
    MAX_RESTORE_BYTES,
    MEMBER_LIMITS,
    SETTINGS,
    SIGNATURE,
    STATE,
    VERSION,
    BackupError,
)
from appliance.core.codec import parse_json, to_data, to_json
from appliance.core.model import State

CHUNK = 1 << 16
GZIP_LEVEL = 6


class Cancelled(Exception):  # noqa: N818 - not an error: the reader went away
    pass


class ChunkPipe:
    """A write-only file whose writes come out of a bounded queue as chunks."""

    def __init__(self, depth: int = 32) -> None:
        self.chunks: queue.Queue[bytes | BaseException | None] = queue.Queue(depth)
        self.cancelled = threading.Event()

    def write(self, data: bytes) -> int:
        while True:
            if self.cancelled.is_set():
                raise Cancelled
            try:
                self.chunks.put(bytes(data), timeout=1.0)
                return len(data)
            except queue.Full:
                continue

    def flush(self) -> None:
        pass


@dataclass
class _Hashing:
    digests: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add_bytes(self, tar: tarfile.TarFile, name: str, data: bytes) -> None:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        info.mode = 0o600
        tar.addfile(info, _BytesReader(data))
        self.digests[name] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}

    def add_file(self, tar: tarfile.TarFile, name: str, path: Path) -> None:
        info = tarfile.TarInfo(name)
        info.size = path.stat().st_size
        info.mode = 0o600
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            tar.addfile(info, _HashingReader(f, digest))
        self.digests[name] = {"sha256": digest.hexdigest(), "size": info.size}


class _BytesReader:
    def __init__(self, data: bytes) -> None:
        self._view = memoryview(data)
        self._pos = 0

    def read(self, n: int = -1) -> bytes:
        end = len(self._view) if n < 0 else self._pos + n
        out = self._view[self._pos : end].tobytes()
        self._pos += len(out)
        return out


class _HashingReader:
    def __init__(self, f: IO[bytes], digest: Any) -> None:
        self._f = f
        self._digest = digest

    def read(self, n: int = -1) -> bytes:
        data = self._f.read(n)
        self._digest.update(data)
        return data


def settings_summary(state: State) -> dict[str, Any]:
    venue = state.venue
    if venue is None:
        return {}
    return {
        "venue_name": venue.venue_name,
        "player_settings": to_data(venue.player_settings),
        "request_rules": to_data(venue.request_rules),
        "schedule_data": to_data(venue.schedule_data),
        "default_playlist_id": venue.default_playlist_id,
    }


def write_archive(out: Any, state: State, content_dir: Path, sign: Callable[[bytes], str]) -> None:
    """The archive of `state` and the gallery files it names, written to `out` as it is
    made; `sign` signs the manifest."""
    hashing = _Hashing()
    # gzip outside tarfile: its stream mode cannot lower the (slow) level 9.
    with (
        gzip.GzipFile(fileobj=out, mode="wb", compresslevel=GZIP_LEVEL, mtime=0) as gz,
        tarfile.open(fileobj=gz, mode="w|") as tar,
    ):
        state_bytes = to_json(state)  # msgspec: a 24 MB venue in a tenth of the time
        hashing.add_bytes(tar, STATE, state_bytes)
        hashing.add_bytes(tar, SETTINGS, json.dumps(settings_summary(state), indent=1).encode())
        for item in state.content.values():
            for path in sorted(content_dir.glob(f"{item.content_id}.*")):
                hashing.add_file(tar, f"content/{path.name}", path)
        manifest = {
            "format": FORMAT,
            "version": VERSION,
            "rev": state.rev,
            "venue_id": state.venue.venue_id if state.venue else "",
            "files": hashing.digests,
        }
        manifest_bytes = json.dumps(manifest, indent=1).encode()
        hashing.add_bytes(tar, MANIFEST, manifest_bytes)
        hashing.add_bytes(tar, SIGNATURE, sign(manifest_bytes).encode())


def read_json(path: Path, what: str) -> dict[str, Any]:
    try:
        data = parse_json(path.read_bytes())
    except (OSError, ValueError):
        raise BackupError(
            "corrupt_backup", f"The archive's {what} is missing or unreadable."
        ) from None
    if not isinstance(data, dict):
        raise BackupError("corrupt_backup", f"The archive's {what} is not an object.")
    return data


def _allowed(name: str) -> bool:
    if name in (MANIFEST, SIGNATURE, STATE, SETTINGS):
        return True
    parts = name.split("/")
    return (
        len(parts) == 2
        and parts[0] == "content"
        and bool(parts[1])
        and not parts[1].startswith(".")
        and "\\" not in parts[1]
    )


def unpack(upload: IO[bytes], staging: Path) -> dict[str, dict[str, Any]]:
    """Unpack only the names a backup has, as plain files; their digests."""
    digests: dict[str, dict[str, Any]] = {}
    total = 0
    try:
        with tarfile.open(fileobj=upload, mode="r|gz") as tar:
            for member in tar:
                if not member.isfile() or not _allowed(member.name) or member.name in digests:
                    raise BackupError("corrupt_backup", f"Unexpected entry {member.name[:100]!r}.")
                total += member.size
                limit = MEMBER_LIMITS.get(member.name, MAX_RESTORE_BYTES)
                if total > MAX_RESTORE_BYTES or member.size > limit:
                    raise BackupError("too_large", "The archive is too large.", 413)
                if shutil.disk_usage(staging).free - member.size < FREE_MARGIN:
                    raise BackupError("no_space", "Not enough free space to restore.", 507)
                src = tar.extractfile(member)
                assert src is not None
                digest = hashlib.sha256()
                with open(staging / member.name, "wb") as out:
                    while chunk := src.read(CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
                digests[member.name] = {"sha256": digest.hexdigest(), "size": member.size}
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        msg = f"The archive is damaged or truncated ({exc})."
        raise BackupError("corrupt_backup", msg) from None
    if MANIFEST not in digests:
        raise BackupError("corrupt_backup", "The archive has no manifest (truncated?).")
    return digests
