"""Demo media: a few short tracks made with ffmpeg (a tone under a test pattern), so a new
box with an empty media folder plays and shows something at once. Named in the DJAMMS
convention and tagged, titled as what they are."""

from __future__ import annotations

import logging
import shutil
import subprocess
import threading
import time
from pathlib import Path

log = logging.getLogger(__name__)

DEMO_TRACKS = (
    ("djamms-demo-1", "Test Tone 440 Hz (test pattern)", 440, "testsrc2"),
    ("djamms-demo-2", "Test Tone 660 Hz (colour bars)", 660, "smptehdbars"),
    ("djamms-demo-3", "Test Tone 880 Hz (colour sweep)", 880, "rgbtestsrc"),
)
ARTIST = "DJAMMS Demo"


def demo_name(video_id: str, title: str) -> str:
    return f"[{video_id}, {ARTIST.replace(' ', '_')}, {title}].mp4"


def make_demo_media(
    folder: Path,
    seconds: int = 20,
    size: str = "640x360",
    stop: threading.Event | None = None,
) -> list[Path]:
    """Write the demo tracks into `folder`; returns the files made (none without ffmpeg).
    Setting `stop` ends the work at once: encoding takes a while on a Pi, and a box asked
    to stop must not make systemd wait for it."""
    stop = stop or threading.Event()
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        log.warning("demo media: ffmpeg not found; the library stays empty")
        return []
    folder.mkdir(parents=True, exist_ok=True)
    made = []
    for video_id, title, freq, pattern in DEMO_TRACKS:
        target = folder / demo_name(video_id, title)
        tmp = folder / f".{video_id}.tmp.mp4"
        # A soft tone that fades in and out, so crossfades between demos are audible.
        tone = (
            f"aevalsrc=0.25*sin(2*PI*{freq}*t):s=48000:d={seconds},"
            f"afade=t=in:d=1,afade=t=out:st={seconds - 1}:d=1"
        )
        cmd = [ffmpeg, "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i", tone]
        cmd += ["-f", "lavfi", "-i", f"{pattern}=size={size}:rate=25:duration={seconds}"]
        cmd += ["-map", "1:v", "-map", "0:a", "-c:v", "libx264", "-preset", "veryfast"]
        cmd += ["-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "96k", "-ac", "2"]
        cmd += ["-metadata", f"title={title}", "-metadata", f"artist={ARTIST}"]
        cmd += ["-movflags", "+faststart", str(tmp)]
        try:
            finished = _encode(cmd, stop)
        except (OSError, subprocess.SubprocessError) as exc:
            log.warning("demo media: %s not made: %s", title, exc)
            tmp.unlink(missing_ok=True)
            continue
        if not finished:
            tmp.unlink(missing_ok=True)
            log.info("demo media: stopped before %s was made", title)
            break
        tmp.replace(target)
        made.append(target)
    log.info("demo media: made %d tracks in %s", len(made), folder)
    return made


def _encode(cmd: list[str], stop: threading.Event, timeout: float = 300.0) -> bool:
    """Run one ffmpeg encode; False when `stop` was set first (ffmpeg is killed)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                proc.wait(timeout=0.1)
                break
            except subprocess.TimeoutExpired:
                if stop.is_set() or time.monotonic() > deadline:
                    proc.kill()
                    proc.wait()
                    if stop.is_set():
                        return False
                    raise
    finally:
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        if proc.stderr:
            proc.stderr.close()
    if proc.returncode != 0:
        raise subprocess.CalledProcessError(proc.returncode, cmd, stderr=err)
    return True
