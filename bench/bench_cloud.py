"""Cloud link benchmarks through a real local mosquitto (all on this machine).

- remote -> LAN: a staff member on the remote console (`djamms console`, over MQTT)
  posts SET_VOLUME; time until the last of N websocket windows on the venue's LAN
  console holds the new volume (p50/p99);
- LAN -> remote: the same posted on the LAN console; time until the last of N windows
  on the remote console holds it;
- a normal hour of playback (17 tracks, the player's status every second and heartbeat
  every 5 s, 12 staff commands, 6 requests), replayed with a simulated clock: messages
  and bytes (topic + payload, MQTT framing not counted) the box publishes to the broker.
  Changes are paced 0.3 s apart so coalescing (0.25 s) never merges two of them: an
  upper bound for a real hour.

Prints the figures, then one JSON line per figure. Never fails on timing.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import requests  # noqa: E402

from appliance.bootstrap import build  # noqa: E402
from appliance.cloud.link import MqttLink  # noqa: E402
from appliance.cloud.settings import LinkSettings, Topics, parse_broker  # noqa: E402
from appliance.config import Config  # noqa: E402
from appliance.core import messages as m  # noqa: E402
from tests.support.mosquitto import Mosquitto, free_port  # noqa: E402
from tests.support.mqtt_probe import Probe  # noqa: E402
from tests.support.server import (  # noqa: E402
    REPO,
    STAFF_PIN,
    start_box_process,
    wait_until_serving,
)
from tests.support.wsclient import LiveClient  # noqa: E402

RESULTS: list[dict[str, Any]] = []
WINDOWS = 10
ROUNDS = 60
REMOTE_PIN = "97531"
PLAYER = m.Actor(user_id="player", role="admin", source="player")
STAFF = m.Actor(user_id="staff", role="admin", source="web")


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def record(metric: str, value: float, unit: str, target: float | None = None) -> None:
    RESULTS.append({"metric": metric, "value": round(value, 3), "unit": unit, "target": target})
    print(f"  {metric}: {value:.3f} {unit}" + (f" (target {target})" if target else ""))


def login(url: str, pin: str) -> requests.Session:
    s = requests.Session()
    r = s.post(url + "/api/auth/login", json={"pin": pin}, timeout=20)
    r.raise_for_status()
    s.headers["X-CSRF-Token"] = r.json()["csrfToken"]
    return s


def holds(volume: int) -> Any:
    def check(frames: list[dict[str, Any]]) -> bool:
        for f in reversed(frames):
            if f["type"] == "PLAYER_SETTINGS_UPDATE":
                return f["payload"]["player_settings"]["master_volume"] == volume
            if f["type"] == "SNAPSHOT":
                venue = f["payload"]["venue"] or {}
                return venue.get("player_settings", {}).get("master_volume") == volume
        return False

    return check


def arrival(window: LiveClient, volume: int) -> float:
    """When this window got the update that set `volume` (volumes differ round to round)."""
    for frame, at in zip(reversed(window.frames), reversed(window.arrivals), strict=False):
        if frame["type"] == "PLAYER_SETTINGS_UPDATE" and (
            frame["payload"]["player_settings"]["master_volume"] == volume
        ):
            return at
    raise RuntimeError("no such frame")


def propagation(sender: requests.Session, url: str, windows: list[LiveClient]) -> list[float]:
    times = []
    for i in range(ROUNDS):
        volume = 20 + i % 60
        t0 = time.perf_counter()
        r = sender.post(url + "/api/ui/command", json={"command": "SET_VOLUME", "value": volume},
                        timeout=30)  # fmt: skip
        r.raise_for_status()
        last = 0.0
        for w in windows:
            if not w.wait_for(holds(volume), timeout=30):
                raise RuntimeError("a window never got the change")
            last = max(last, arrival(w, volume))
        times.append((last - t0) * 1000)
    return times


def start_console(tmp: Path, broker: Mosquitto, venue_id: str) -> tuple[Any, str]:
    """`djamms console` in its own process, as the cloud side runs it."""
    port = free_port()
    args = [sys.executable, "-m", "appliance", "console", "--broker", broker.url("console"),
            "--venue", venue_id, "--port", str(port), "--pin", REMOTE_PIN,
            "--data-dir", str(tmp / "console")]  # fmt: skip
    proc = subprocess.Popen(args, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    wait_until_serving(url, 60, proc)
    return proc, url


def bench_latency(tmp: Path) -> None:
    """The box (`djamms run --broker`) and the remote console (`djamms console`) in their
    own processes, as deployed; the windows are websocket clients in this one."""
    first = build(Config(data_dir=tmp / "lan", admin_pin=STAFF_PIN, demo_media=False),
                  adapters=[])  # fmt: skip
    first.start()  # first start: the venue id exists before the broker knows it
    venue_id = first.runtime.state.venue.venue_id
    first.stop()
    broker = Mosquitto(tmp, users={venue_id: "venue-pw"})
    broker.start()
    lan = start_box_process(tmp / "lan", None, "--broker", broker.url(venue_id))
    console, remote_url = start_console(tmp, broker, venue_id)
    lan_staff, remote_staff = login(lan.url, STAFF_PIN), login(remote_url, REMOTE_PIN)
    cookie = "djamms_session=" + lan_staff.cookies.get("djamms_session", "")
    rcookie = "djamms_session=" + remote_staff.cookies.get("djamms_session", "")
    lan_windows = [LiveClient(lan.url, cookie).connect() for _ in range(WINDOWS)]
    remote_windows = [LiveClient(remote_url, rcookie).connect() for _ in range(WINDOWS)]
    try:
        r2l = propagation(remote_staff, remote_url, lan_windows)
        record("remote_cmd_to_lan_ws_p50", pct(r2l, 50), "ms")
        record("remote_cmd_to_lan_ws_p99", pct(r2l, 99), "ms", 50)
        l2r = propagation(lan_staff, lan.url, remote_windows)
        record("lan_cmd_to_remote_ws_p50", pct(l2r, 50), "ms")
        record("lan_cmd_to_remote_ws_p99", pct(l2r, 99), "ms", 50)
    finally:
        for w in lan_windows + remote_windows:
            w.close()
        console.terminate()
        console.wait(timeout=30)
        lan.stop()
        broker.stop()


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def bench_hour(tmp: Path) -> None:
    clock = Clock()
    box = build(Config(data_dir=tmp / "hour", admin_pin="1234", demo_media=False),
                clock=clock, adapters=[])  # fmt: skip
    box.start()
    rt = box.runtime
    venue_id = rt.state.venue.venue_id
    broker = Mosquitto(tmp / "hour-broker", users={venue_id: "venue-pw"})
    broker.start()
    tracks = [{"video_id": f"t{i}", "title": f"Track {i}", "artist": "Band", "duration": 210}
              for i in range(40)]  # fmt: skip
    pl = rt.submit(m.ManagePlaylist(action="create", params={"name": "House", "tracks": tracks},
                                    actor=STAFF))  # fmt: skip
    pid = pl.result["playlist"].playlist_id
    rt.submit(m.ManagePlaylist(action="load", params={"playlistId": pid}, actor=STAFF))
    settings = LinkSettings(broker=parse_broker(broker.url(venue_id)))
    link = MqttLink(rt, settings, tmp / "hour")
    link.start()
    link.wait_connected(30)
    probe = Probe(broker.port, *broker.console).wait_connected()
    probe.subscribe(f"{Topics(venue_id).base}/#")
    time.sleep(1.0)  # let the connect-time publishes (status, state, discovery) settle
    base_msgs, base_bytes = link.published, link.bytes_published

    def change(msg: m.Message) -> None:
        rt.submit(msg)
        time.sleep(0.3)  # one change per coalescing window: nothing merged

    commands_at = set(range(1, 17, 3)) | set(range(2, 17, 5))
    for n in range(17):
        np = rt.state.venue.now_playing
        change(m.TrackStarted(play_id=np.play_id, actor=PLAYER))
        change(m.PlayerStatus(play_id=np.play_id, state="playing", position=0.0, duration=210.0,
                              actor=PLAYER))  # fmt: skip
        for second in range(1, 211):
            clock.now += 1
            rt.submit(m.PlayerStatus(play_id=np.play_id, state="playing", position=second,
                                     duration=210.0, actor=PLAYER))  # fmt: skip
            if second % 5 == 0:
                rt.submit(m.Heartbeat(player_id="mpv", position=second, play_id=np.play_id,
                                      actor=PLAYER))  # fmt: skip
            if second == 100 and n in commands_at:
                change(m.UiCommand(command="SET_VOLUME", value=40 + n, actor=STAFF))
            if second == 120 and n % 3 == 0:
                change(m.AddToQueue(track=m.TrackInfo(f"req{n}", f"Request {n}"),
                                    actor=m.Actor(user_id=f"guest{n}", role="user")))  # fmt: skip
        change(m.TrackEnded(play_id=np.play_id, actor=PLAYER))
    time.sleep(1.0)  # the last coalesced pieces
    hours = (clock.now - 1_800_000_000.0) / 3600
    msgs = (link.published - base_msgs) / hours
    size = (link.bytes_published - base_bytes) / hours
    record("cloud_publishes_per_hour", msgs, "messages/h")
    record("cloud_bytes_per_hour", size / 1024, "KiB/h")
    record("cloud_publish_rate", msgs / 3600, "messages/s")
    seen = len(probe.messages)
    print(f"  (broker delivered {seen} messages to a subscriber on the venue's topics; "
          f"simulated {hours * 60:.0f} min)")  # fmt: skip
    probe.close()
    link.stop()
    box.stop()
    broker.stop()


def main() -> None:
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        print("cloud: remote <-> LAN propagation through a local mosquitto")
        bench_latency(tmp)
        print("cloud: a normal hour of playback")
        bench_hour(tmp)
    for r in RESULTS:
        print(json.dumps(r))


if __name__ == "__main__":
    main()
