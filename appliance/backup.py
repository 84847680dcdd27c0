"""Backup and restore of a venue: the state (the database: venue, users, playlists,
activity log, gallery records), the gallery's files and a readable settings summary;
never the media cache.

The archive is a gzipped tar streamed as it is written (bounded memory), with
`manifest.json` near its end: format, version, the state's rev and a SHA-256 and size for
every other member; and last `manifest.sig`, an HMAC-SHA256 of the manifest with a key only
this box holds (`<data-dir>/backup.key`). A backup that is unsigned or signed by another
box is restored only when the admin confirms it (`trust_foreign`): a stolen or crafted
archive cannot be slipped in unnoticed. Gallery records and files are checked as strictly
as an upload (names, types from the files' own bytes).

Restore is all-or-nothing. The upload is unpacked into a staging directory beside the
data (only expected names, size-capped), every checksum and the state itself are checked,
and only then: the gallery directory is swapped in by rename, and the state is replaced
through the single writer with a `RestoreState` message. The store keeps the backup's
state file and journals the message as its name, so `rev` keeps rising, every console
hears the change, and a power cut either side of it leaves the old or the new venue,
never a mix. If the core refuses, the old
gallery directory is renamed back.
"""

from __future__ import annotations

import gzip
import hashlib
import hmac
import json
import logging
import os
import queue
import secrets
import shutil
import tarfile
import threading
import uuid
import zlib
from collections.abc import Iterator
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
from appliance.content_files import ContentError, check_files, check_item
from appliance.core import messages as m
from appliance.core.codec import to_data
from appliance.core.model import State
from appliance.core.outputs import Rejected
from appliance.core.system_ops import restored_state
from appliance.runtime import Runtime

log = logging.getLogger(__name__)

KEY_FILE = "backup.key"
CHUNK = 1 << 16
GZIP_LEVEL = 6


class _Cancelled(Exception):
    pass


class _ChunkPipe:
    """A write-only file whose writes come out of a bounded queue as chunks."""

    def __init__(self, depth: int = 32) -> None:
        self.chunks: queue.Queue[bytes | BaseException | None] = queue.Queue(depth)
        self.cancelled = threading.Event()

    def write(self, data: bytes) -> int:
        while True:
            if self.cancelled.is_set():
                raise _Cancelled
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


class Backups:
    """Service (`Services.backup`)."""

    def __init__(self, runtime: Runtime, data_dir: Path, content_dir: Path | None = None) -> None:
        self.runtime = runtime
        self.data_dir = Path(data_dir)
        self.content_dir = Path(content_dir) if content_dir else self.data_dir / "content"
        self._lock = threading.Lock()  # one backup or restore at a time

    def start(self) -> None:
        for stale in self.data_dir.glob(".restore-*"):
            shutil.rmtree(stale, ignore_errors=True)

    def stop(self) -> None:
        pass

    def notice(self, status: str, **detail: Any) -> None:
        self.runtime.post(m.SystemNotice(status=status, detail=detail))

    # -- backup ----------------------------------------------------------------------------

    def stream(self) -> Iterator[bytes]:
        """The archive, chunk by chunk, from the state as it is now."""
        state = self.runtime.state
        pipe = _ChunkPipe()
        writer = threading.Thread(target=self._write, args=(state, pipe), daemon=True)
        self.notice("backup_in_progress", rev=state.rev)
        writer.start()
        try:
            while (chunk := pipe.chunks.get()) is not None:
                if isinstance(chunk, BaseException):
                    raise chunk
                yield chunk
            self.notice("backup_complete", rev=state.rev)
        finally:
            pipe.cancelled.set()
            while not pipe.chunks.empty():  # unblock the writer if the client went away
                pipe.chunks.get_nowait()
            writer.join(timeout=30)

    def _write(self, state: State, pipe: _ChunkPipe) -> None:
        try:
            self.write_archive(state, pipe)
            pipe.chunks.put(None)
        except _Cancelled:
            return
        except BaseException as exc:  # handed to the reading side
            log.exception("backup failed")
            self.notice("backup_failed", message=str(exc))
            pipe.chunks.put(exc)

    def write_archive(self, state: State, out: Any) -> None:
        hashing = _Hashing()
        # gzip outside tarfile: its stream mode cannot lower the (slow) level 9.
        with (
            gzip.GzipFile(fileobj=out, mode="wb", compresslevel=GZIP_LEVEL, mtime=0) as gz,
            tarfile.open(fileobj=gz, mode="w|") as tar,
        ):
            state_bytes = json.dumps(to_data(state), separators=(",", ":")).encode()
            hashing.add_bytes(tar, STATE, state_bytes)
            hashing.add_bytes(tar, SETTINGS, json.dumps(settings_summary(state), indent=1).encode())
            for item in state.content.values():
                for path in sorted(self.content_dir.glob(f"{item.content_id}.*")):
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
            hashing.add_bytes(tar, SIGNATURE, self._sign(manifest_bytes).encode())

    def _key(self) -> bytes:
        """This box's signing key, made on first use, readable by the box alone."""
        path = self.data_dir / KEY_FILE
        try:
            return path.read_bytes()
        except FileNotFoundError:
            pass
        key = secrets.token_bytes(32)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # made meanwhile by another backup
            return path.read_bytes()
        with os.fdopen(fd, "wb") as f:
            f.write(key)
            f.flush()
            os.fsync(f.fileno())
        return key

    def _sign(self, manifest: bytes) -> str:
        return hmac.new(self._key(), manifest, hashlib.sha256).hexdigest()

    # -- restore ---------------------------------------------------------------------------

    def restore(
        self, upload: IO[bytes], actor: m.Actor, *, trust_foreign: bool = False
    ) -> dict[str, Any]:
        """Restore an archive; one not signed by this box only with `trust_foreign`."""
        if actor.role != "admin":
            raise BackupError("forbidden", "Only an admin can restore a backup.", 403)
        if not self._lock.acquire(blocking=False):
            raise BackupError("busy", "A backup or restore is already running.", 409)
        staging = self.data_dir / f".restore-{uuid.uuid4().hex[:8]}"
        try:
            self.notice("restore_in_progress", phase="validating")
            state = self._stage(upload, staging, trust_foreign)
            self.notice("restore_in_progress", phase="applying")
            result = self._swap_and_apply(staging, state, actor)
            self.notice("restore_complete", rev=result["rev"])
            return result
        except BackupError as exc:
            self.notice("restore_failed", code=exc.code, message=exc.message)
            raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
            self._lock.release()

    def _stage(self, upload: IO[bytes], staging: Path, trust_foreign: bool) -> State:
        staging.mkdir(parents=True)
        (staging / "content").mkdir()
        digests = unpack(upload, staging)
        manifest = _read_json(staging / MANIFEST, "manifest")
        if manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
            raise BackupError("unsupported_backup", "This is not a DJAMMS backup we can read.")
        files = manifest.get("files")
        if not isinstance(files, dict) or set(files) != set(digests) - {MANIFEST, SIGNATURE}:
            raise BackupError("corrupt_backup", "The archive's files do not match its manifest.")
        for name, want in files.items():
            if not isinstance(want, dict) or want.get("sha256") != digests[name]["sha256"]:
                raise BackupError("corrupt_backup", f"Checksum mismatch for {name}.")
        if not trust_foreign and not self._signed_here(staging):
            raise BackupError(
                "unsigned_backup",
                "This backup was not made by this box (or is unsigned). Restore it only if "
                "you know where it came from, and confirm that you trust it.",
                409,
            )
        try:
            state = restored_state(_read_json(staging / STATE, "state"))
        except Rejected as exc:
            raise BackupError(exc.code, exc.message) from None
        for item in state.content.values():
            try:  # as strict as an upload: a crafted record must not name other files
                check_item(item)
                check_files(staging / "content", item)
            except ContentError as exc:
                msg = f"Gallery item refused: {exc.message}"
                raise BackupError("corrupt_backup", msg) from None
        return state

    def _signed_here(self, staging: Path) -> bool:
        try:
            signature = (staging / SIGNATURE).read_text().strip()
        except (OSError, UnicodeDecodeError):
            return False
        manifest = (staging / MANIFEST).read_bytes()
        return hmac.compare_digest(signature, self._sign(manifest))

    def _swap_and_apply(self, staging: Path, state: State, actor: m.Actor) -> dict:
        old = staging / "previous-content"
        had_content = self.content_dir.exists()
        if had_content:
            os.replace(self.content_dir, old)
        os.replace(staging / "content", self.content_dir)
        staged = self.runtime.store.adopt(staging / STATE)  # journaled by name, not as 24 MB
        restore = m.RestoreState(actor=actor, state=state, staged=staged)
        reply = self.runtime.submit(restore, timeout=120)
        if not reply.ok:
            shutil.rmtree(self.content_dir, ignore_errors=True)
            if had_content:
                os.replace(old, self.content_dir)
            err = reply.error or {}
            raise BackupError(str(err.get("code")), str(err.get("message")), reply.status)
        state = self.runtime.state
        return {
            "rev": reply.rev,
            "playlists": len(state.playlists),
            "content": len(state.content),
            "log_entries": len(state.activity_log),
        }


def _read_json(path: Path, what: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_bytes())
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


def build_backups(runtime: Runtime, data_dir: Path) -> Backups:
    return Backups(runtime, data_dir)
