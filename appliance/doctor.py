"""`djamms doctor`: checks a box in the field, each check with a verdict and what to do.

Checks are plain functions of a `Probe` (the config plus the few ways to look at the
machine), so tests run them against real parts on a test machine and against prepared
directories, without patching anything.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse

from appliance.config import Config

OK, WARN, FAIL = "ok", "warn", "fail"


@dataclass(frozen=True)
class Verdict:
    check: str
    status: str  # ok|warn|fail
    detail: str
    advice: str = ""


@dataclass(frozen=True)
class Probe:
    config: Config
    run: Callable[[list[str]], tuple[int, str]]
    connect_timeout: float = 3.0
    today: datetime | None = None


def run_command(cmd: list[str]) -> tuple[int, str]:
    """Run a tool and return (exit code, output); a missing tool is exit 127."""
    if shutil.which(cmd[0]) is None:
        return 127, f"{cmd[0]}: not found"
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=15, check=False)
    except subprocess.TimeoutExpired:
        return 124, f"{cmd[0]}: timed out"
    return done.returncode, (done.stdout + done.stderr).strip()


def check_mpv(p: Probe) -> Verdict:
    try:
        import mpv  # python-mpv loads libmpv here
    except (ImportError, OSError) as exc:
        return Verdict(
            "mpv",
            FAIL,
            f"libmpv cannot be loaded: {exc}",
            "Install libmpv2 (apt-get install libmpv2) and python-mpv.",
        )
    try:
        player = mpv.MPV(vo="null", ao="null", idle=True)
        version = str(player.mpv_version)
        devices = player.audio_device_list or []
        player.terminate()
    except Exception as exc:  # noqa: BLE001 - any failure here is the verdict
        return Verdict("mpv", FAIL, f"mpv does not start: {exc}", "Reinstall mpv and libmpv2.")
    names = ", ".join(d.get("name", "?") for d in devices[:6])
    return Verdict("mpv", OK, f"{version}; audio devices: {names or 'none'}")


def check_audio(p: Probe) -> Verdict:
    mode = p.config.audio
    if mode == "null":
        return Verdict(
            "audio",
            WARN,
            "audio output is off (--audio null)",
            "Use --audio auto, pulse or alsa for a venue.",
        )
    code, out = p.run(["pactl", "info"])
    if code == 0:
        sink = next(
            (
                ln.split(":", 1)[1].strip()
                for ln in out.splitlines()
                if ln.startswith("Default Sink")
            ),
            "?",
        )
        return Verdict("audio", OK, f"PulseAudio/PipeWire server up; default sink {sink}")
    code, out = p.run(["aplay", "-l"])
    if code == 0 and "card" in out:
        return Verdict(
            "audio",
            WARN,
            "no sound server; ALSA cards present",
            "Two decks need a mixer: start PipeWire/PulseAudio or configure dmix.",
        )
    return Verdict(
        "audio",
        FAIL,
        "no sound server and no ALSA card found",
        "Check the HDMI/amplifier cable and `aplay -l`; enable the audio HAT overlay.",
    )


def ytdlp_report(p: Probe) -> tuple[str, str]:
    """(where, `yt-dlp -v` output) for the yt-dlp the box runs: the active side
    environment, else the venv's. `-v` without a URL prints yt-dlp's own view of its
    libraries and JS runtimes, offline."""
    from appliance.library.ytdlp_env import EnvStore

    section = p.config.section("library")
    env = EnvStore(Path(section.get("ytdlp_dir") or p.config.data_dir / "ytdlp")).active()
    where = "side environment" if env.path else "built in"
    cmd = ["env", "-u", "PYTHONPATH", sys.executable, "-m", "yt_dlp", "-v"]
    if env.path is not None:
        cmd = ["env", f"PYTHONPATH={env.path}", sys.executable, "-m", "yt_dlp", "-v"]
    return where, p.run(cmd)[1]


def _debug_line(out: str, key: str) -> str:
    for line in out.splitlines():
        if line.startswith(f"[debug] {key}"):
            return line.split(":", 1)[1].strip()
    return ""


def check_ytdlp(p: Probe) -> list[Verdict]:
    where, out = ytdlp_report(p)
    m = re.search(r"yt-dlp version \S*?@?(\d{4}\.\d{2}\.\d{2}\S*)", out)
    if m is None:
        return [Verdict("yt-dlp", FAIL, f"yt-dlp does not run: {out[-200:]}",
                        "Reinstall the box's software.")]  # fmt: skip
    version = m.group(1)
    out_v: list[Verdict] = []
    today = p.today or datetime.now(UTC)
    try:
        age = (today - datetime.strptime(version[:10], "%Y.%m.%d").replace(tzinfo=UTC)).days
    except ValueError:
        age = -1
    if age > 60:
        out_v.append(Verdict("yt-dlp", WARN, f"yt-dlp {version} ({where}) is {age} days old",
                             "YouTube changes often: see the update in System."))  # fmt: skip
    else:
        out_v.append(Verdict("yt-dlp", OK, f"yt-dlp {version} ({where})"))
    runtimes = _debug_line(out, "JS runtimes")
    if runtimes and runtimes != "none":
        out_v.append(Verdict("js-runtime", OK, f"JS runtimes: {runtimes}"))
    else:
        out_v.append(Verdict("js-runtime", FAIL, "yt-dlp finds no JavaScript runtime",
                             "Most YouTube videos fail without one: pip install deno "
                             "into the box's venv."))  # fmt: skip
    ejs = re.search(r"yt_dlp_ejs-(\S+?)(,|$)", _debug_line(out, "Optional libraries"))
    if ejs:
        out_v.append(Verdict("ejs", OK, f"EJS scripts: yt-dlp-ejs {ejs.group(1)}"))
    else:
        out_v.append(Verdict("ejs", FAIL, "yt-dlp's EJS scripts (yt-dlp-ejs) are missing",
                             "pip install yt-dlp-ejs into the box's venv."))  # fmt: skip
    if _tcp_reachable("www.youtube.com", 443, p.connect_timeout):
        out_v.append(Verdict("internet", OK, "YouTube reachable"))
    else:
        out_v.append(
            Verdict(
                "internet",
                WARN,
                "YouTube not reachable",
                "Cached and local tracks still play; check the venue's internet.",
            )
        )
    return out_v


def _tcp_reachable(host: str, port: int, timeout: float) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _dir_size(path: Path) -> tuple[int, int]:
    total = files = 0
    if path.is_dir():
        for f in path.rglob("*"):
            if f.is_file():
                files += 1
                total += f.stat().st_size
    return total, files


def check_disk(p: Probe) -> Verdict:
    path = p.config.data_dir
    probe_dir = path if path.exists() else path.parent
    free = shutil.disk_usage(probe_dir if probe_dir.exists() else Path(".")).free
    mb = free // (1024 * 1024)
    if mb < 200:
        return Verdict(
            "disk",
            FAIL,
            f"{mb} MB free under {path}",
            "Free space now: state can no longer be saved safely.",
        )
    if mb < 1024:
        return Verdict(
            "disk",
            WARN,
            f"{mb} MB free under {path}",
            "Lower the media cache quota or use a larger SD card.",
        )
    return Verdict("disk", OK, f"{mb} MB free under {path}")


def check_cache(p: Probe) -> Verdict:
    size, files = _dir_size(p.config.media_cache_dir)
    quota = p.config.cache_max_mb * 1024 * 1024
    detail = f"{files} files, {size // (1024 * 1024)} MB of {p.config.cache_max_mb} MB"
    if size > quota * 1.1:
        return Verdict(
            "cache",
            WARN,
            detail + " (over quota)",
            "Eviction is behind; check the box's log for cache errors.",
        )
    return Verdict("cache", OK, detail)


def check_state(p: Probe) -> Verdict:
    from appliance.runtime import Runtime
    from appliance.store import FileStore

    data = p.config.data_dir
    if not data.exists():
        return Verdict("state", WARN, f"no data yet in {data}", "Start the box once (djamms run).")
    store = FileStore(data, readonly=True)
    try:
        state = Runtime(store).replay_only()
    except Exception as exc:  # noqa: BLE001
        return Verdict(
            "state",
            FAIL,
            f"state cannot be loaded: {exc}",
            "Restore the last backup (console > System > Restore).",
        )
    notes = "; ".join(store.recovery_notes)
    venue = state.venue.venue_name if state.venue else "not set up"
    if notes:
        return Verdict(
            "state",
            WARN,
            f"venue {venue!r} rev {state.rev}; {notes}",
            "The box recovered from a damaged file; take a backup now.",
        )
    return Verdict("state", OK, f"venue {venue!r}, rev {state.rev}")


def check_broker(p: Probe) -> Verdict:
    url = p.config.broker
    if not url:
        return Verdict("broker", OK, "no cloud link configured")
    parsed = urlparse(url)
    port = parsed.port or (8883 if parsed.scheme == "mqtts" else 1883)
    host = parsed.hostname or ""
    if not _tcp_reachable(host, port, p.connect_timeout):
        return Verdict(
            "broker",
            FAIL,
            f"cannot reach {host}:{port}",
            "The venue keeps playing; check the internet and the broker address.",
        )
    return Verdict("broker", OK, f"{host}:{port} reachable")


def check_gpio(p: Probe) -> Verdict:
    chips = sorted(Path("/dev").glob("gpiochip*"))
    if not chips:
        return Verdict(
            "gpio",
            WARN,
            "no GPIO on this machine; the panel is off",
            "Normal on a laptop; on a Pi check the kernel and the gpio group.",
        )
    return Verdict("gpio", OK, "GPIO chips: " + ", ".join(c.name for c in chips))


def check_clock(p: Probe) -> Verdict:
    code, out = p.run(["timedatectl", "show", "-p", "NTPSynchronized", "--value"])
    if code == 0 and out.strip() == "yes":
        return Verdict("clock", OK, "clock synchronised (NTP)")
    if code == 0:
        return Verdict(
            "clock",
            WARN,
            "clock not synchronised",
            "Schedules follow the clock: check the internet or set the time.",
        )
    return Verdict(
        "clock",
        WARN,
        "cannot tell whether the clock is synchronised",
        "Install systemd-timesyncd or chrony.",
    )


def check_boot_file(p: Probe) -> Verdict:
    """What first boot made of the owner's `djamms.toml` (its record in the data dir)."""
    from appliance.firstboot import BOOT_FILE, read_setup_status

    record = read_setup_status(p.config.data_dir)["firstboot"]
    if record is None:
        return Verdict("bootfile", OK, f"no first-boot record (not set up from a {BOOT_FILE})")
    reason = str(record.get("reason", ""))
    where = str(record.get("file") or BOOT_FILE)
    if record.get("ok") is True:
        return Verdict("bootfile", OK, f"{where}: {reason}")
    if reason.startswith("no "):
        return Verdict(
            "bootfile", WARN, reason, f"To configure the box, put {BOOT_FILE} on the card's bootfs."
        )
    return Verdict(
        "bootfile",
        FAIL,
        f"{where} not applied, running on defaults: {reason}",
        f"Fix {BOOT_FILE} on the card's bootfs (it was kept as it is) and restart the box.",
    )


CHECKS: tuple[Callable[[Probe], Verdict | list[Verdict]], ...] = (
    check_mpv,
    check_audio,
    check_ytdlp,
    check_disk,
    check_cache,
    check_state,
    check_broker,
    check_gpio,
    check_clock,
    check_boot_file,
)


def diagnose(probe: Probe) -> list[Verdict]:
    out: list[Verdict] = []
    for check in CHECKS:
        result = check(probe)
        out.extend(result if isinstance(result, list) else [result])
    return out


def render(verdicts: list[Verdict], as_json: bool = False) -> str:
    if as_json:
        return json.dumps([asdict(v) for v in verdicts], indent=2)
    marks = {OK: "OK  ", WARN: "WARN", FAIL: "FAIL"}
    lines = []
    for v in verdicts:
        lines.append(f"[{marks[v.status]}] {v.check:<9} {v.detail}")
        if v.advice and v.status != OK:
            lines.append(f"{'':17}-> {v.advice}")
    return "\n".join(lines)
