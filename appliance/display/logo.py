"""The venue's logo for the TV: a gallery image turned once into the raw BGRA pixels mpv's
`overlay-add` draws, fitted into LOGO_W x LOGO_H (transparent padding), cached by id."""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Callable
from pathlib import Path

from appliance.services import TV_LOGO_H as LOGO_H
from appliance.services import TV_LOGO_W as LOGO_W

log = logging.getLogger(__name__)


class LogoFiles:
    def __init__(self, source: Callable[[str], Path | None], cache_dir: Path) -> None:
        self._source = source  # content id -> the gallery's file
        self._dir = cache_dir

    def raw(self, content_id: str) -> Path | None:
        """The logo's BGRA file, made on first use; None if the image will not convert."""
        out = self._dir / f"logo-{content_id}.bgra"
        if out.is_file() and out.stat().st_size == LOGO_W * LOGO_H * 4:
            return out
        image = self._source(content_id)
        if image is None:
            return None
        self._dir.mkdir(parents=True, exist_ok=True)
        fit = (
            f"scale={LOGO_W}:{LOGO_H}:force_original_aspect_ratio=decrease,format=bgra,"
            f"pad={LOGO_W}:{LOGO_H}:(ow-iw)/2:(oh-ih)/2:color=0x00000000"
        )
        cmd = ["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-i", str(image), "-frames:v",
               "1", "-vf", fit, "-f", "rawvideo", "-pix_fmt", "bgra", str(out)]  # fmt: skip
        try:
            subprocess.run(cmd, check=True, timeout=30, capture_output=True)
        except (OSError, subprocess.SubprocessError) as exc:
            log.warning("the TV's logo %s did not convert: %s", content_id, exc)
            out.unlink(missing_ok=True)
            return None
        return out
