"""Player benchmarks, measured on the recorded output of a private PulseAudio null sink
with the whole box (runtime, engine, library, two mpv decks) in the loop:

- emergency stop: command -> silence, p50/p99 over 20 trials (20 ms audio buffer);
- transitions: crossfade length error (crossfade_time = 2) and gapless gap (= 0);
- dead air after injected failures: a 404 + a truncated download, and a damaged file;
- CPU and memory of this process during steady playback of 720p video and of audio only.

Prints its figures, then one JSON line per figure. Never fails on timing.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the shared test support (pulse recorder, media, jukebox)

from tests.support.jukebox import Jukebox  # noqa: E402
from tests.support.media import MediaServer, make_track  # noqa: E402
from tests.support.pulse import (  # noqa: E402
    PulseServer,
    Recorder,
    dips,
    end_after,
    first_at_or_above,
    longest_gap,
    rms_db,
    silent_from,
    spans,
    steady_db,
    tone_db,
)

RESULTS: list[dict[str, object]] = []


def report(metric: str, value: float, unit: str, target: float) -> None:
    RESULTS.append({"metric": metric, "value": round(value, 2), "unit": unit, "target": target})
    print(f"{metric}: {value:.2f} {unit} (target {target})", flush=True)


def wait_audible(box: Jukebox, past: float, timeout: float = 30.0) -> None:
    def check(_s: object) -> bool:
        live = box.mixer.live
        return live is not None and live.started and live.deck.position() >= past

    box.wait_for(check, timeout)


def bench_emergency_stop(
    root: Path, pulse: PulseServer, buffer: float, label: str, trials: int = 20
) -> None:
    media = root / "media"
    make_track(media / "[estop, Bench, Long Tone].wav", freq=440, seconds=600)
    latencies = []
    player = {"audio_buffer": buffer}
    with Recorder(pulse) as rec, Jukebox(root, media_dir=media, pulse=pulse, player=player) as box:
        resume_at = 0.6
        for _ in range(trials):
            wait_audible(box, resume_at)
            t_cmd = time.monotonic()
            box.command("EMERGENCY_STOP")
            rec.wait_samples(rec.index_at(t_cmd) + int(rec.rate * 0.4), timeout=10)
            levels = rms_db(rec.samples[rec.index_at(t_cmd - 0.05) :], rec.rate, 0.002)
            silent = silent_from(levels, -60)
            start = rec.index_at(t_cmd - 0.05)
            latencies.append(rec.time_of(start + silent * int(rec.rate * 0.002)) - t_cmd)
            resume_at = box.state.venue.now_playing.position + 0.5
            box.command("RESUME")
    ms = sorted(x * 1000 for x in latencies)
    report(f"emergency_stop_p50{label}", statistics.median(ms), "ms", 50)
    p99 = ms[round(0.99 * (len(ms) - 1))]  # nearest rank
    report(f"emergency_stop_p99{label}", p99, "ms", 50)


def _alternating(root: Path, pulse: PulseServer, crossfade: int, transitions: int):
    media = root / "media"
    make_track(media / "[tone-a, Bench, Low].wav", freq=300, seconds=6)
    make_track(media / "[tone-b, Bench, High].wav", freq=2000, seconds=6)
    with Recorder(pulse) as rec, Jukebox(root, media_dir=media, pulse=pulse) as box:
        box.set("crossfade_time", crossfade)
        count = 0
        last = ""
        while count <= transitions:
            box.wait_for(lambda s, last=last: box.playing() not in ("", last), 60)
            last = box.playing()
            count += 1
        wait_audible(box, 3.0)
        return rec.samples, rec.rate


def _handovers(samples, rate: int) -> tuple[list[tuple[int, int]], float, list[list[float]]]:
    """Each hand-over between the two tones: (next onset, previous end) in 20 ms windows."""
    tones = [tone_db(samples, rate, 300, 0.02), tone_db(samples, rate, 2000, 0.02)]
    first = first_at_or_above(tones[0], -40)
    threshold = steady_db(tones[0], first + 10, first + 60) - 50
    out = []
    for a, b in (tones, tones[::-1]):
        for start, end in spans(b, threshold):
            if end - start >= 25 and start > first + 25:  # not a click, not the first track
                out.append((start, end_after(a, threshold, start)))
    return sorted(out), threshold, tones


def bench_transitions(root: Path, pulse: PulseServer) -> None:
    samples, rate = _alternating(root / "xfade", pulse, 2, 5)
    handovers, threshold, tones = _handovers(samples, rate)
    errors = [abs((end - on) * 0.02 - 2.0) * 1000 for on, end in handovers]
    first = first_at_or_above(tones[0], -40)
    report("crossfade_error_max", max(errors) if errors else float("nan"), "ms", 150)
    report("crossfade_transitions_measured", len(errors), "count", 4)
    report("dropouts_during_crossfade_run", sum(dips(t, threshold, first, len(t)) for t in tones),
           "count", 0)  # fmt: skip
    samples, rate = _alternating(root / "gapless", pulse, 0, 5)
    handovers, _, _ = _handovers(samples, rate)
    level = rms_db(samples, rate, 0.005)
    on = first_at_or_above(level, -40)
    steady = steady_db(level, on + 20, on + 200)
    # the longest quiet run within ±0.5 s of each hand-over (5 ms windows)
    gaps = [longest_gap(level, steady - 30, t * 4 - 100, t * 4 + 100) * 5 for t, _ in handovers]
    report("gapless_gap_max", max(gaps) if gaps else float("nan"), "ms", 50)
    report("gapless_transitions_measured", len(gaps), "count", 4)


def bench_dead_air(root: Path, pulse: PulseServer) -> None:
    served = root / "served"
    for name, freq in (("a.mp4", 300), ("gone.mp4", 800), ("cut.mp4", 800), ("b.mp4", 2000)):
        make_track(served / name, freq=freq, seconds=5)
    with MediaServer(served) as server, Recorder(pulse) as rec:
        server.fault("gone.mp4", "404")
        server.fault("cut.mp4", "truncate")
        with Jukebox(root / "downloads", pulse=pulse) as box:
            box.set("repeat_mode", "none")
            for name in ("a.mp4", "gone.mp4", "cut.mp4", "b.mp4"):
                box.add(server.url(name))
            box.wait_for(lambda s: box.playing() == server.url("b.mp4"), 60)
            wait_audible(box, 1.0)
            samples = rec.samples
    report("dead_air_after_failed_downloads", _dead_air(samples, rec.rate), "ms", 1000)
    media = root / "damaged-media"
    make_track(media / "[d1, Bench, Before].wav", freq=300, seconds=5)
    make_track(media / "[d2, Bench, Damaged].wav", freq=800, seconds=5)
    make_track(media / "[d3, Bench, After].wav", freq=2000, seconds=5)
    with Recorder(pulse) as rec:
        with Jukebox(root / "damaged", media_dir=media, pulse=pulse,
                     library={"scan_every": 3600}) as box:  # fmt: skip
            box.command("PAUSE")
            box.wait_for(lambda s: box.library.locate("d2") is not None, 30)
            box.library.locate("d2").write_bytes(b"\x00" * 4096)
            box.command("PLAY")
            box.wait_for(lambda s: box.playing() == "d3", 60)
            wait_audible(box, 1.0)
            samples = rec.samples
    report("dead_air_after_damaged_file", _dead_air(samples, rec.rate), "ms", 1000)


def _dead_air(samples, rate: int) -> float:
    low, high = tone_db(samples, rate, 300, 0.02), tone_db(samples, rate, 2000, 0.02)
    start = first_at_or_above(low, -40)
    end = first_at_or_above(high, -40, start)
    both = [max(a, b) for a, b in zip(low, high, strict=False)]
    return longest_gap(both, -40, start, end + 1) * 20.0


def _proc_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _proc_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _now_playing(data_dir: Path) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-m", "appliance", "state", "--data-dir", str(data_dir)],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    try:
        return json.loads(out.stdout)["venue"]["now_playing"] or {}
    except (ValueError, KeyError, TypeError):
        return {}


def bench_steady(root: Path, name: str, make: dict[str, object], seconds: float = 10.0) -> None:
    """`djamms run` as its own process (audio and video to null outputs), measured from
    /proc once a track has played for a few seconds."""
    media = root / "media"
    ext = make.pop("ext")
    make_track(media / f"[steady, Bench, {name}].{ext}", **make)  # type: ignore[arg-type]
    cmd = [
        sys.executable,
        "-m",
        "appliance",
        "run",
        "--data-dir",
        str(root / "data"),
        "--media-dir",
        str(media),
        "--audio",
        "null",
        "--video",
        "null",
        "--port",
        "0",
    ]
    env = {**os.environ, "DJAMMS_DEMO_MEDIA": "false", "DJAMMS_ADMIN_PIN": "1234"}
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and _now_playing(root / "data").get("state") != "playing":
            time.sleep(0.5)  # another process: polling its journal is all there is
        time.sleep(3.0)  # past the start-up work
        cpu0, t0 = _proc_cpu_seconds(proc.pid), time.monotonic()
        time.sleep(seconds)
        cpu = (_proc_cpu_seconds(proc.pid) - cpu0) / (time.monotonic() - t0) * 100
        rss = _proc_rss_mb(proc.pid)
        playing = _now_playing(root / "data").get("state") == "playing"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    report(f"cpu_{name}", cpu, "% of one core", 100)
    report(f"rss_{name}", rss, "MB", 300)
    report(f"still_playing_{name}", 1.0 if playing else 0.0, "bool", 1)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-player-") as tmp:
        root = Path(tmp)
        with PulseServer(root / "pulse") as pulse:
            bench_emergency_stop(root / "estop", pulse, 0.02, "")
            bench_emergency_stop(root / "estop-default", pulse, 0.2, "_buffer200ms")
            bench_transitions(root / "transitions", pulse)
            bench_dead_air(root / "dead-air", pulse)
        bench_steady(root / "video", "720p_video", {"ext": "mp4", "seconds": 20,
                                                      "size": "1280x720"})  # fmt: skip
        bench_steady(root / "audio", "audio_only", {"ext": "m4a", "seconds": 20})
    for row in RESULTS:
        print(json.dumps(row))


if __name__ == "__main__":
    main()
