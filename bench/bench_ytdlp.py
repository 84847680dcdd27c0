"""Benchmark of the daily yt-dlp self-update, offline: a newer yt-dlp wheel (built from the
venv's own, as the tests do) on a local index at 127.0.0.1, installed with real pip into a
side environment, checked by the canary (download + ffprobe of a clip on 127.0.0.1) and
switched to. Figures: the update's wall time, and the disk the side environments use
(active + previous kept). Run it under /work/shared/tools/pi-budget for a Pi-class figure.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from appliance.library.cache import MediaCache  # noqa: E402
from appliance.library.resolver import Resolver  # noqa: E402
from appliance.library.updater import Updater, UpdateSettings  # noqa: E402
from appliance.library.ytdlp_env import EnvStore, YtdlpRunner  # noqa: E402
from tests.support.wheels import PackageIndex, build_ejs_wheel, build_ytdlp_wheel  # noqa: E402


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        with PackageIndex(root / "index") as index:
            index.offer("yt-dlp", build_ytdlp_wheel(root / "wheels", "2099.1.1"))
            index.offer("yt-dlp-ejs", build_ejs_wheel(root / "wheels"))
            store = EnvStore(root / "ytdlp")
            resolver = Resolver(MediaCache(root / "cache", 10**9), runner=YtdlpRunner(store))
            settings = UpdateSettings(index_url=index.url, canary_youtube_id="")
            updater = Updater(store, resolver, settings)
            started = time.monotonic()
            result = updater.update()
            seconds = time.monotonic() - started
        if result["result"] != "applied":
            raise SystemExit(f"update did not apply: {result}")
        disk_mb = store.disk_bytes() / 1e6
        print(f"update applied in {seconds:.1f} s; side environments {disk_mb:.1f} MB")
        for metric, value, unit, target in (
            ("ytdlp_update_seconds", round(seconds, 1), "s", 300),
            ("ytdlp_side_env_disk", round(disk_mb, 1), "MB", 100),
        ):
            print(json.dumps({"metric": metric, "value": value, "unit": unit, "target": target}))


if __name__ == "__main__":
    main()
