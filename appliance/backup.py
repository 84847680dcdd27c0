"""Backup and restore of a venue: the state (the database: venue, users, playlists,
activity log, gallery records), the gallery's files and a readable settings summary;
never the media cache. The archive's bytes are written and unpacked by
`appliance.backup_archive`; its names and limits are `appliance.backup_format`'s.

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

import hashlib
import hmac
import logging
import os
import secrets
import shutil
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from appliance.backup_archive import Cancelled, ChunkPipe, read_json, unpack, write_archive
from appliance.backup_format import FORMAT, MANIFEST, SIGNATURE, STATE, VERSION, BackupError
from appliance.content_files import ContentError, check_files, check_item
from appliance.core import messages as m
from appliance.core.model import State
from appliance.core.outputs import Rejected
from appliance.core.system_ops import restored_state
from appliance.runtime import Runtime

log = logging.getLogger(__name__)

KEY_FILE = "backup.key"


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
        pipe = ChunkPipe()
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

    def _write(self, state: State, pipe: ChunkPipe) -> None:
        try:
            write_archive(pipe, state, self.content_dir, self._sign)
            pipe.chunks.put(None)
        except Cancelled:
            return
        except BaseException as exc:  # handed to the reading side
            log.exception("backup failed")
            self.notice("backup_failed", message=str(exc))
            pipe.chunks.put(exc)

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
        manifest = read_json(staging / MANIFEST, "manifest")
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
            state = restored_state(read_json(staging / STATE, "state"))
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


def build_backups(runtime: Runtime, data_dir: Path) -> Backups:
    return Backups(runtime, data_dir)
