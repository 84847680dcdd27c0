"""The content gallery's files: images and videos for the screen's idle loop and branding.

An upload is streamed to a temp file under a size limit, its type is taken from its first
bytes (never from its name), ffmpeg must be able to decode it (it makes the thumbnail),
and only then is it moved to its stored name (`<content id><ext>`, chosen here) and
recorded in the core. Any refusal leaves nothing behind.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import IO

from appliance.config import Config
from appliance.content_files import CONTENT_ID, ContentError, Sniffed, sniff
from appliance.core import messages as m
from appliance.core.model import ContentItem
from appliance.runtime import Runtime

log = logging.getLogger(__name__)

CHUNK = 1 << 16
DEFAULT_MAX_BYTES = 200 * 1024 * 1024
THUMB_WIDTH = 320
INCOMING = ".incoming"


def display_name(filename: str) -> str:
    """The name people gave the file, for display only; refused if it tries to be a path."""
    name = (filename or "").strip()
    if not name:
        raise ContentError("invalid_filename", "The file needs a name.")
    if "/" in name or "\\" in name or ".." in name or name.startswith("."):
        raise ContentError("invalid_filename", "A file name must not contain a path.")
    if any(ord(c) < 32 or ord(c) == 127 for c in name) or len(name) > 200:
        raise ContentError("invalid_filename", "A file name must be plain text (<= 200 chars).")
    return name


class ContentGallery:
    """Adapter and service (`Services.content`)."""

    def __init__(
        self,
        runtime: Runtime,
        content_dir: Path,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        ffmpeg: str = "ffmpeg",
    ) -> None:
        self.runtime = runtime
        self.dir = Path(content_dir)
        self.max_bytes = max_bytes
        self.ffmpeg = ffmpeg

    def start(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.sweep()

    def stop(self) -> None:
        pass

    # -- paths -----------------------------------------------------------------------------

    # paths come from the id alone (checked), never from a record's own file names

    def media_path(self, item: ContentItem) -> Path | None:
        if not CONTENT_ID.fullmatch(item.content_id):
            return None
        for p in self.dir.glob(f"{item.content_id}.*"):
            if not p.name.endswith(".thumb.jpg"):
                return p
        return None

    def thumb_path(self, item: ContentItem) -> Path | None:
        if not CONTENT_ID.fullmatch(item.content_id):
            return None
        return self.dir / f"{item.content_id}.thumb.jpg"

    # -- upload ----------------------------------------------------------------------------

    def upload(self, stream: IO[bytes], filename: str, actor: m.Actor) -> ContentItem:
        name = display_name(filename)
        if not actor.is_staff:
            raise ContentError("forbidden", "Only staff can upload content.", 403)
        incoming = self.dir / INCOMING
        incoming.mkdir(parents=True, exist_ok=True)
        cid = "c" + uuid.uuid4().hex[:16]
        tmp = incoming / cid
        try:
            size, head = self._receive(stream, tmp)
            kind = sniff(head)
            if kind is None:
                raise ContentError(
                    "unsupported_type",
                    "Only JPEG, PNG, GIF, WebP images and MP4, MOV, WebM, MKV videos are "
                    "accepted (the file's contents decide, not its name).",
                    415,
                )
            thumb = incoming / f"{cid}.thumb.jpg"
            self._thumbnail(tmp, thumb, kind)
            item = ContentItem(
                content_id=cid,
                filename=name,
                mime_type=kind.mime,
                size=size,
                kind=kind.kind,
                thumbnail=f"{cid}.thumb.jpg",
            )
            stored = self.dir / f"{cid}{kind.ext}"
            os.replace(thumb, self.dir / item.thumbnail)
            os.replace(tmp, stored)
        except BaseException:
            for p in incoming.glob(f"{cid}*"):
                p.unlink(missing_ok=True)
            raise
        reply = self.runtime.submit(m.AddContent(actor=actor, item=item))
        if not reply.ok:
            self._remove_files(cid)
            err = reply.error or {}
            raise ContentError(str(err.get("code")), str(err.get("message")), reply.status)
        return reply.result["item"]

    def _receive(self, stream: IO[bytes], tmp: Path) -> tuple[int, bytes]:
        size = 0
        head = b""
        with open(tmp, "wb") as out:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if size > self.max_bytes:
                    raise ContentError(
                        "too_large",
                        f"The file is larger than the limit of {self.max_bytes // 1048576} MB.",
                        413,
                    )
                if len(head) < 64:
                    head += chunk[: 64 - len(head)]
                out.write(chunk)
        if size == 0:
            raise ContentError("empty_file", "The file is empty.")
        return size, head

    def _thumbnail(self, src: Path, dst: Path, kind: Sniffed) -> None:
        vf = f"scale={THUMB_WIDTH}:-2"
        if kind.kind == "video":
            vf = "thumbnail," + vf
        elif kind.kind == "audio":  # a clip's picture is its waveform (and proves it decodes)
            vf = f"showwavespic=s={THUMB_WIDTH}x{THUMB_WIDTH * 9 // 16}:colors=white"
        cmd = [self.ffmpeg, "-nostdin", "-v", "error", "-y", "-i", str(src)]
        if kind.kind == "audio":
            cmd += ["-filter_complex", vf, "-frames:v", "1", "-f", "image2", str(dst)]
        else:
            cmd += ["-frames:v", "1", "-vf", vf, "-f", "image2", str(dst)]
        try:
            done = subprocess.run(cmd, capture_output=True, timeout=60, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            msg = f"The file could not be read: {exc}"
            raise ContentError("unreadable_media", msg, 422) from None
        if done.returncode != 0 or not dst.exists() or dst.stat().st_size == 0:
            raise ContentError(
                "unreadable_media", "The file looks like media but could not be decoded.", 422
            )

    # -- delete and housekeeping -----------------------------------------------------------

    def delete(self, content_ids: Iterable[str], actor: m.Actor) -> list[ContentItem]:
        ids = tuple(content_ids)
        reply = self.runtime.submit(m.RemoveContent(actor=actor, content_ids=ids))
        if not reply.ok:
            err = reply.error or {}
            raise ContentError(str(err.get("code")), str(err.get("message")), reply.status)
        for cid in ids:
            self._remove_files(cid)
        return list(reply.result["removed"])

    def _remove_files(self, cid: str) -> None:
        for p in self.dir.glob(f"{cid}.*"):
            p.unlink(missing_ok=True)

    def sweep(self) -> list[str]:
        """Remove files no gallery record names (an upload cut off by a power cut)."""
        known = set(self.runtime.state.content)
        removed = []
        shutil.rmtree(self.dir / INCOMING, ignore_errors=True)
        for p in self.dir.iterdir() if self.dir.exists() else ():
            if p.is_file() and p.name.split(".")[0] not in known:
                p.unlink(missing_ok=True)
                removed.append(p.name)
        return removed


def build_content(config: Config, runtime: Runtime) -> ContentGallery:
    section = config.section("content")
    return ContentGallery(
        runtime,
        config.data_dir / "content",
        max_bytes=int(section.get("max_mb", DEFAULT_MAX_BYTES // 1048576)) * 1024 * 1024,
    )
