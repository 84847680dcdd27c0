"""The content gallery's files as the box keeps them: the types it shows (taken from a
file's first bytes, never from its name), a record's checks and the error a refused
upload, delete or restored item raises. Shared by the gallery (uploads), the backups
(which check a restored gallery as strictly as an upload) and the console (which serves
only these types)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from appliance.core.model import ContentItem


class ContentError(Exception):
    """An upload or delete refused: `code`, a message for people, an HTTP status."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Sniffed:
    kind: str  # image|video
    mime: str
    ext: str


def sniff(head: bytes) -> Sniffed | None:
    """The media type from a file's first bytes, or None if it is not one we show."""
    if head.startswith(b"\xff\xd8\xff"):
        return Sniffed("image", "image/jpeg", ".jpg")
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return Sniffed("image", "image/png", ".png")
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return Sniffed("image", "image/gif", ".gif")
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return Sniffed("image", "image/webp", ".webp")
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return Sniffed("audio", "audio/wav", ".wav")
    if head.startswith(b"fLaC"):
        return Sniffed("audio", "audio/flac", ".flac")
    if head.startswith(b"OggS"):
        return Sniffed("audio", "audio/ogg", ".ogg")
    if head.startswith(b"ID3") or (
        len(head) > 1 and head[0] == 0xFF and head[1] & 0xE6 in (0xE2, 0xE4, 0xE6)
    ):
        return Sniffed("audio", "audio/mpeg", ".mp3")  # MPEG audio frame sync, layer I-III
    if len(head) > 1 and head[0] == 0xFF and head[1] & 0xF6 == 0xF0:
        return Sniffed("audio", "audio/aac", ".aac")  # ADTS: the sync with layer 0
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"M4A ", b"M4B "):
            return Sniffed("audio", "audio/mp4", ".m4a")
        if brand == b"qt  ":
            return Sniffed("video", "video/quicktime", ".mov")
        return Sniffed("video", "video/mp4", ".mp4")
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        if b"webm" in head[:64]:
            return Sniffed("video", "video/webm", ".webm")
        return Sniffed("video", "video/x-matroska", ".mkv")
    return None


# every type `sniff` can find: what the gallery serves, and nothing else
SHOWN_TYPES = {
    "image/jpeg": "image", "image/png": "image", "image/gif": "image", "image/webp": "image",
    "video/mp4": "video", "video/quicktime": "video", "video/webm": "video",
    "video/x-matroska": "video",
    "audio/wav": "audio", "audio/flac": "audio", "audio/ogg": "audio", "audio/mpeg": "audio",
    "audio/aac": "audio", "audio/mp4": "audio",
}  # fmt: skip
CONTENT_ID = re.compile(r"c[0-9a-f]{16}")


def check_item(item: ContentItem) -> None:
    """A gallery record as an upload makes it: our id, our thumbnail name, a shown type."""
    if not CONTENT_ID.fullmatch(item.content_id):
        raise ContentError("invalid_item", f"{item.content_id[:40]!r} is not a content id.")
    if item.thumbnail != f"{item.content_id}.thumb.jpg":
        raise ContentError("invalid_item", f"{item.content_id}: its thumbnail is not its own.")
    if SHOWN_TYPES.get(item.mime_type) != item.kind:
        raise ContentError("invalid_item", f"{item.content_id}: {item.mime_type!r} is not shown.")


def _head(path: Path) -> bytes:
    with open(path, "rb") as f:
        return f.read(64)


def check_files(folder: Path, item: ContentItem) -> None:
    """The item's files in `folder` are what the record says, by their own bytes."""
    files = [p for p in folder.glob(f"{item.content_id}.*") if p.is_file()]
    media = [p for p in files if not p.name.endswith(".thumb.jpg")]
    thumb = folder / item.thumbnail
    if len(media) != 1 or not thumb.is_file():
        raise ContentError("invalid_item", f"{item.content_id}: a file is missing.")
    kind = sniff(_head(media[0]))
    if kind is None or kind.mime != item.mime_type or media[0].suffix != kind.ext:
        raise ContentError("invalid_item", f"{item.content_id}: the file is not {item.mime_type}.")
    if (sniff(_head(thumb)) or Sniffed("", "", "")).mime != "image/jpeg":
        raise ContentError("invalid_item", f"{item.content_id}: the thumbnail is not a JPEG.")
