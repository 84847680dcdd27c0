"""step() on a venue whose active queue holds 20,000 tracks.

Figures: p50/p99 per command over a realistic mix (target p99 <= 2 ms), per-kind p99,
and loading a 20,000-track playlist (target <= 200 ms). Pure core, one thread, no I/O.
Then SHUFFLE_TOGGLE and remove/move without an index hint, each timed a few hundred times
between ordinary edits (target p99 <= 2 ms), plain and again under the Pi budget
(../shared/tools/pi-budget: 25 % of one core) when it can be used.
Ends with one JSON line per figure.

    python bench/bench_core.py [--targeted] [--capped]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

if __package__ in (None, ""):  # run as a script from anywhere: import this checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from appliance.core import messages as m  # noqa: E402
from appliance.core import queue  # noqa: E402
from appliance.core.engine import step  # noqa: E402
from appliance.core.model import State, TrackInfo  # noqa: E402
from appliance.core.outputs import Rejected  # noqa: E402

N_TRACKS = 20_000
N_COMMANDS = 5_000
N_TARGETED = 300  # timings per targeted figure
PI_BUDGET = Path(__file__).resolve().parents[2] / "shared" / "tools" / "pi-budget"
MACHINE = f"{os.cpu_count()}-core {os.uname().machine}"
ADMIN = m.Actor(
    user_id="owner",
    role="admin",
    session_id="s",
    ip_address="10.0.0.2",
    user_agent="bench",
    source="web",
)
PLAYER = m.Actor(user_id="player", role="admin", source="player")


class Venue:
    def __init__(self) -> None:
        self.state = State()
        self.now = 1_700_000_000.0
        self.pid = ""  # the 20,000-track playlist

    def do(self, msg: m.Message) -> float:
        """Apply msg; returns the seconds step() took (refusals count too)."""
        self.now += 1.0
        t0 = time.perf_counter()
        try:
            out = step(self.state, msg, self.now)
        except Rejected:
            return time.perf_counter() - t0
        elapsed = time.perf_counter() - t0
        new = out.state
        if out.durable and new is not self.state:
            new = replace(new, rev=self.state.rev + 1)
        self.state = new
        return elapsed

    def idle(self) -> None:
        """What the runtime does at idle, after an answer: the next shuffle drawn ahead."""
        assert self.state.venue is not None
        queue.draw_ahead(self.state.venue)


def build() -> tuple[Venue, str]:
    v = Venue()
    v.do(m.SetupVenue(owner_user_id="owner"))
    tracks = [
        {
            "video_id": f"yt{i:06d}",
            "title": f"Song {i}",
            "artist": f"Artist {i % 900}",
            "duration": 180 + i % 120,
        }
        for i in range(N_TRACKS)
    ]
    v.do(m.ManagePlaylist(action="create", params={"name": "Big", "tracks": tracks}, actor=ADMIN))
    pid = next(iter(v.state.playlists))
    return v, pid


def time_loads(v: Venue, pid: str, runs: int = 7) -> list[float]:
    msg = m.ManagePlaylist(action="load", params={"playlistId": pid}, actor=ADMIN)
    return [v.do(msg) for _ in range(runs)]


# Messages per hour at a busy venue (the same hour bench_store.py simulates, plus the
# staff's and patrons' taps), and a staff-heavy mix where queue edits are 10x as common.
VENUE_HOUR = {
    "Heartbeat": 720,
    "PlayerStatus": 60,
    "TrackEnded": 17,
    "TrackStarted": 17,
    "AddToQueue(request)": 30,
    "Vote": 20,
    "SET_VOLUME": 10,
    "PLAY_PAUSE": 4,
    "PLAY_NEXT": 4,
    "AddToQueue(staff)": 10,
    "RemoveFromQueue": 5,
    "MoveQueueItem": 5,
    "PLAY_PREVIOUS": 1,
    "SHUFFLE_TOGGLE": 0.5,
    "UpdateSetting": 2,
}
STAFF_HEAVY = {
    **VENUE_HOUR,
    "RemoveFromQueue": 50,
    "MoveQueueItem": 50,
    "PLAY_NEXT": 40,
    "AddToQueue(staff)": 100,
    "PLAY_PREVIOUS": 10,
    "SHUFFLE_TOGGLE": 2,
    "RemoveFromQueue(no hint)": 20,
    "MoveQueueItem(no hint)": 20,
}
FACTS = {"Heartbeat", "PlayerStatus", "TrackEnded", "TrackStarted"}


def make(kind: str, v: Venue, rng: random.Random) -> m.Message:
    venue = v.state.venue
    assert venue is not None
    np = venue.now_playing
    pid = np.play_id if np else ""
    patron = m.Actor(user_id=f"g{rng.randrange(200)}", role="user", source="web")
    at = rng.randrange(len(venue.active_queue))
    builders: dict[str, Callable[[], m.Message]] = {
        "Heartbeat": lambda: m.Heartbeat(position=rng.random() * 200, play_id=pid),
        "PlayerStatus": lambda: m.PlayerStatus(
            play_id=pid, state=rng.choice(["playing", "paused"]), position=rng.random() * 200
        ),
        "TrackEnded": lambda: m.TrackEnded(play_id=pid, actor=PLAYER),
        "TrackStarted": lambda: m.TrackStarted(play_id=pid, actor=PLAYER),
        "AddToQueue(request)": lambda: m.AddToQueue(
            track=TrackInfo(f"req{rng.randrange(5000)}", duration=200), actor=patron
        ),
        "AddToQueue(staff)": lambda: m.AddToQueue(
            track=TrackInfo(f"st{rng.randrange(5000)}"), actor=ADMIN
        ),
        # the console sends the index it shows as a hint; a stale hint falls back to a scan
        "RemoveFromQueue": lambda: m.RemoveFromQueue(
            queue_item_id=venue.active_queue[at].id, index_hint=at, actor=ADMIN
        ),
        "RemoveFromQueue(no hint)": lambda: m.RemoveFromQueue(
            queue_item_id=venue.active_queue[at].id, actor=ADMIN
        ),
        "MoveQueueItem": lambda: m.MoveQueueItem(
            queue_item_id=venue.active_queue[at].id,
            to_index=rng.randrange(len(venue.active_queue)),
            index_hint=at,
            actor=ADMIN,
        ),
        "MoveQueueItem(no hint)": lambda: m.MoveQueueItem(
            queue_item_id=venue.active_queue[at].id,
            to_index=rng.randrange(len(venue.active_queue)),
            actor=ADMIN,
        ),
        "SET_VOLUME": lambda: m.UiCommand(
            command="SET_VOLUME", value=rng.randrange(101), actor=ADMIN
        ),
        "PLAY_PAUSE": lambda: m.UiCommand(command="PLAY_PAUSE", actor=ADMIN),
        "PLAY_NEXT": lambda: m.UiCommand(command="PLAY_NEXT", play_id=pid, actor=ADMIN),
        "Vote": lambda: m.Vote(video_id=np.video_id if np else "", actor=patron),
        "PLAY_PREVIOUS": lambda: m.UiCommand(command="PLAY_PREVIOUS", actor=ADMIN),
        "SHUFFLE_TOGGLE": lambda: m.UiCommand(command="SHUFFLE_TOGGLE", actor=ADMIN),
        "UpdateSetting": lambda: m.UpdateSetting(
            setting="crossfade_time", value=rng.randrange(13), actor=ADMIN
        ),
    }
    return builders[kind]()


def run_mix(
    v: Venue, weights: dict[str, float], n: int, rng: random.Random
) -> dict[str, list[float]]:
    kinds, w = list(weights), list(weights.values())
    by_kind: dict[str, list[float]] = defaultdict(list)
    for kind in rng.choices(kinds, w, k=n):
        by_kind[kind].append(v.do(make(kind, v, rng)))
    return by_kind


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def report(title: str, by_kind: dict[str, list[float]]) -> None:
    print(title)
    for name, xs in sorted(by_kind.items()):
        print(
            f"  {name:22s} n={len(xs):5d}  p50={pct(xs, 50) * 1e3:7.3f} ms  "
            f"p99={pct(xs, 99) * 1e3:7.3f} ms  max={max(xs) * 1e3:7.3f} ms"
        )


def targeted(v: Venue, rng: random.Random) -> dict[str, list[float]]:
    """SHUFFLE_TOGGLE, and remove/move without an index hint, each between the edits a
    busy venue makes anyway (a staff add, a hinted remove, a track change), half of them
    on the shuffled queue. Before each toggle the runtime's idle work is done as on the
    box (`queue.draw_ahead`: the next shuffle drawn ahead); every other iteration's two
    toggles are timed without it, cold, as the first toggle after a restart or a queue
    change with no idle moment between."""
    out: dict[str, list[float]] = defaultdict(list)
    between = ("AddToQueue(staff)", "RemoveFromQueue", "TrackEnded", "TrackStarted")
    for i in range(N_TARGETED):
        cold = i % 2 == 1
        for half in (0, 1):  # toggle on, then off
            for kind in between:
                v.do(make(kind, v, rng))
            if not cold:
                v.idle()
            name = "SHUFFLE_TOGGLE(cold)" if cold else "SHUFFLE_TOGGLE"
            direction = "on" if half == 0 else "off"
            took = v.do(make("SHUFFLE_TOGGLE", v, rng))
            out[name].append(took)
            out[f"{name} {direction}"].append(took)
            if half == i % 2:  # the no-hint edits: half of them on the shuffled queue
                out["RemoveFromQueue(no hint)"].append(
                    v.do(make("RemoveFromQueue(no hint)", v, rng))
                )
                out["MoveQueueItem(no hint)"].append(v.do(make("MoveQueueItem(no hint)", v, rng)))
        if i % 50 == 49:  # keep the queue near 20,000 tracks
            v.do(m.ManagePlaylist(action="load", params={"playlistId": v.pid}, actor=ADMIN))
    return out


def targeted_figures(v: Venue, capped: bool) -> list[dict[str, object]]:
    by_kind = targeted(v, random.Random(7))
    report(f"targeted ({'pi-budget' if capped else 'plain'}):", by_kind)
    names = {
        "SHUFFLE_TOGGLE": "shuffle_toggle",
        "SHUFFLE_TOGGLE(cold)": "shuffle_toggle_cold",
        "RemoveFromQueue(no hint)": "remove_no_hint",
        "MoveQueueItem(no hint)": "move_no_hint",
    }
    lines = []
    for kind, name in names.items():
        for p in (50, 99):
            lines.append(
                {
                    "metric": f"core.{name}_20k_p{p}",
                    "value": round(pct(by_kind[kind], p) * 1e3, 3),
                    "unit": "ms",
                    "target": 2 if p == 99 and kind != "SHUFFLE_TOGGLE(cold)" else None,
                    "capped": capped,
                    "machine": MACHINE,
                }
            )
    return lines


def capped_run() -> list[str]:
    """This script's targeted figures, run again under the Pi budget (needs root)."""
    if not PI_BUDGET.exists() or os.geteuid() != 0:
        print("pi-budget not usable here: no capped figures")
        return []
    cmd = [str(PI_BUDGET), "--", sys.executable, __file__, "--targeted", "--capped"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=True).stdout
    lines = out.splitlines()
    print("\n".join(line for line in lines if not line.startswith("{")))
    return [line for line in lines if line.startswith("{")]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--targeted", action="store_true", help="only the targeted figures")
    ap.add_argument("--capped", action="store_true", help="label figures as capped")
    args = ap.parse_args()
    if args.targeted:
        v, pid = build()
        v.pid = pid
        time_loads(v, pid, runs=1)
        run_mix(v, STAFF_HEAVY, 300, random.Random(1))  # warm-up
        for line in targeted_figures(v, args.capped):
            print(json.dumps(line))
        return
    mixes()


def mixes() -> None:
    v, pid = build()
    v.pid = pid
    loads = time_loads(v, pid)
    rng = random.Random(1)
    run_mix(v, STAFF_HEAVY, 300, rng)  # warm-up
    hour = run_mix(v, VENUE_HOUR, N_COMMANDS, rng)
    heavy = run_mix(v, STAFF_HEAVY, N_COMMANDS, rng)
    venue = v.state.venue
    assert venue is not None
    print(
        f"active queue: {len(venue.active_queue)} tracks, activity_log: "
        f"{len(v.state.activity_log)} entries; {N_COMMANDS} messages per mix"
    )
    report("venue-hour mix:", hour)
    report("staff-heavy mix:", heavy)
    print(f"load 20k playlist: {', '.join(f'{x * 1e3:.1f}' for x in loads)} ms")
    all_hour = [t for xs in hour.values() for t in xs]
    commands = [t for k, xs in heavy.items() if k not in FACTS for t in xs]
    shuffle = hour.get("SHUFFLE_TOGGLE", []) + heavy.get("SHUFFLE_TOGGLE", [])
    figures = [
        ("core.step_p50_20k_venue_hour_mix", pct(all_hour, 50) * 1e3, "ms", 2),
        ("core.step_p99_20k_venue_hour_mix", pct(all_hour, 99) * 1e3, "ms", 2),
        ("core.step_p99_20k_staff_commands", pct(commands, 99) * 1e3, "ms", 2),
        ("core.step_p99_20k_remove", pct(heavy["RemoveFromQueue"], 99) * 1e3, "ms", 2),
        ("core.step_p99_20k_move", pct(heavy["MoveQueueItem"], 99) * 1e3, "ms", 2),
        (
            "core.step_p99_20k_remove_no_hint",
            pct(heavy["RemoveFromQueue(no hint)"], 99) * 1e3,
            "ms",
            2,
        ),
        ("core.step_p99_20k_move_no_hint", pct(heavy["MoveQueueItem(no hint)"], 99) * 1e3, "ms", 2),
        ("core.step_median_20k_shuffle_toggle", statistics.median(shuffle or [0]) * 1e3, "ms", 2),
        ("core.load_playlist_20k_median", statistics.median(loads) * 1e3, "ms", 200),
        ("core.load_playlist_20k_max", max(loads) * 1e3, "ms", 200),
    ]
    samples = {
        "core.step_p99_20k_venue_hour_mix": all_hour,
        "core.step_p99_20k_staff_commands": commands,
    }
    for metric, value, unit, target in figures:
        line = {"metric": metric, "value": round(value, 3), "unit": unit, "target": target}
        if metric in samples:  # raw latencies (ms) for the report's distribution plot
            line["samples"] = [round(t * 1e3, 4) for t in samples[metric]]
        print(json.dumps(line))
    extra = [json.dumps(line) for line in targeted_figures(v, capped=False)]
    extra += capped_run()
    print("\n".join(extra))


if __name__ == "__main__":
    main()
