"""Benchmark of the TV on a headless cage compositor, with the real mixer and the display
adapter as shipped (GL through the compositor; here, with no GPU, Mesa's llvmpipe software
renderer, as on the image under QEMU or a mini-PC without a GPU):

- the picture switch against the audio crossfade's midpoint (screenshots with grim, about
  every 60-100 ms, so the figure is good to that step);
- frames each deck dropped during a 720p crossfade (mpv's frame-drop-count plus
  decoder-frame-drop-count);
- RSS and CPU of the display stack: the compositor, and the box's process (Python, the
  idle surface and both decks) on the idle screen and while a 720p video plays.

Run it as is and under /work/shared/tools/pi-budget (the compositor is a child: the budget
covers it too). Prints one JSON object.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.compositor import centre_colour, headless_tv  # noqa: E402
from tests.support.jukebox import Jukebox  # noqa: E402
from tests.support.media import make_track  # noqa: E402

CROSSFADE = 4
HZ = os.sysconf("SC_CLK_TCK")


def _blue(c: tuple[int, ...]) -> bool:
    return c[2] > 180 and c[0] < 80 and c[1] < 80


def _proc_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / HZ


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _cage_pid() -> int:
    out = subprocess.run(["pgrep", "-n", "-x", "cage"], capture_output=True, text=True)
    return int(out.stdout.split()[0])


def _usage(seconds: float, cage: int) -> dict[str, float]:
    me, c0, t0 = os.getpid(), _proc_cpu(_cage_pid()), time.monotonic()
    b0 = _proc_cpu(me)
    time.sleep(seconds)
    wall = time.monotonic() - t0
    return {
        "cage_cpu_pct": round(100 * (_proc_cpu(cage) - c0) / wall, 1),
        "box_cpu_pct": round(100 * (_proc_cpu(me) - b0) / wall, 1),
        "cage_rss_mb": round(_rss_mb(cage), 1),
        "box_rss_mb": round(_rss_mb(me), 1),
    }


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        media = root / "media"
        make_track(media / "[tv-red, Bench, Red].mp4", seconds=14, picture="testsrc2",
                   size="1280x720")  # fmt: skip
        make_track(media / "[tv-blue, Bench, Blue].mp4", seconds=14,
                   picture="color=c=blue", size="1280x720")  # fmt: skip
        with headless_tv(root) as tv:
            os.environ.update(tv.environ)
            cage = _cage_pid()
            box = Jukebox(root, media_dir=media, video="auto", display=True)
            with box:
                box.set("crossfade_time", CROSSFADE)
                box.wait_for(lambda s: box.playing() == "tv-red", timeout=60)
                time.sleep(2)
                playing = _usage(5.0, cage)
                begun: list[float] = []
                drops: dict[str, int] = {}
                stop = threading.Event()

                def watch() -> None:
                    while not stop.is_set():
                        for slot in list(box.mixer.slots):
                            try:
                                n = int(slot.deck.mpv["frame-drop-count"] or 0)
                                n += int(slot.deck.mpv["decoder-frame-drop-count"] or 0)
                            except Exception:  # a deck between files has no counter
                                n = 0
                            drops[slot.deck.name] = max(drops.get(slot.deck.name, 0), n)
                        live = box.mixer.live
                        if not begun and live is not None and live.video_id == "tv-blue" \
                                and live.started:  # fmt: skip
                            begun.append(time.monotonic())
                        stop.wait(0.005)

                watcher = threading.Thread(target=watch, daemon=True)
                watcher.start()
                seen = None
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:
                    image = tv.grab()
                    if _blue(centre_colour(image)):
                        seen = time.monotonic()
                        break
                time.sleep(CROSSFADE)
                stop.set()
                watcher.join()
                box.command("FADE_OUT_STOP")
                time.sleep(3)
                idle = _usage(5.0, cage)
        midpoint = begun[0] + CROSSFADE / 2 if begun else None
        print(json.dumps({
            "crossfade_s": CROSSFADE,
            "switch_vs_midpoint_s": round(seen - midpoint, 3) if seen and midpoint else None,
            "switch_after_incoming_start_s": round(seen - begun[0], 3) if seen and begun
            else None,
            "frames_dropped_per_deck": drops,
            "screenshots": tv.taken,
            "playing_720p": playing,
            "idle_screen": idle,
        }))  # fmt: skip


if __name__ == "__main__":
    main()
