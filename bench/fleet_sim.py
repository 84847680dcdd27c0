"""A venue simulator for the fleet bench: N venues, each its own MQTT connection with the
box's last will, publishing the retained topics a box publishes (`status`,
`state/now_playing`, `state/settings`: payloads built by `appliance.cloud.wire` from a
real `State`, so they are byte for byte what a box sends).

paho waits on its sockets with `select()`, which stops at file descriptor 1024 (about
340 clients, three descriptors each), so a large fleet runs as several processes: `python
-m bench.fleet_sim PORT PASSWORD FIRST COUNT` simulates venues FIRST..FIRST+COUNT-1,
prints `ready` once all are connected, answers each `count` line on stdin with
`<messages> <bytes>` published so far, and stops at the end of stdin.

Each venue changes every `mean_gap` seconds on average (uniform 0.5x-1.5x: a new track or
a volume change), and every `burst_every` seconds a `burst_share` of the fleet changes at
once (a chain-wide volume change, opening time). Counts what it publishes.
"""

from __future__ import annotations

import random
import socket
import sys
import threading
import time
from dataclasses import dataclass, field, replace

import paho.mqtt.client as mqtt

from appliance.cloud.settings import Topics
from appliance.cloud.wire import encode, piece_payload
from appliance.core.model import NowPlaying, State, Venue

KEEPALIVE = 10  # seconds; mosquitto sends the will after 1.5x this of silence


@dataclass
class Traffic:
    messages: int = 0
    bytes: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, topic: str, payload: bytes) -> None:
        with self.lock:
            self.messages += 1
            self.bytes += len(topic) + len(payload)


class SimVenue:
    def __init__(
        self, venue_id: str, name: str, port: int, password: str, traffic: Traffic
    ) -> None:
        self.topics = Topics(venue_id)
        self.traffic = traffic
        venue = Venue(venue_id=venue_id, owner_id="owner", venue_name=name, transport="playing")
        self.state = State(venue=venue, rev=1)
        self.ready = threading.Event()
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=f"djamms-{venue_id}",
            protocol=mqtt.MQTTv5,
        )  # fmt: skip
        self.client.username_pw_set(venue_id, password)
        self.client.will_set(self.topics.status, "offline", qos=1, retain=True)
        self.client.on_connect = self._on_connect
        self.client.connect_async("127.0.0.1", port, KEEPALIVE)
        self._lock = threading.Lock()
        self._n = 0
        self.client.loop_start()

    def _on_connect(
        self, client: mqtt.Client, _u: object, _f: object, rc: object, _p: object
    ) -> None:
        self._publish(self.topics.status, b"online")
        self.publish("now_playing")
        self.publish("settings")
        self.ready.set()

    def _publish(self, topic: str, payload: bytes) -> None:
        self.client.publish(topic, payload, qos=1, retain=True)
        self.traffic.add(topic, payload)

    def publish(self, piece: str) -> None:
        with self._lock:
            self._publish(getattr(self.topics, piece), encode(piece_payload(piece, self.state, 50)))

    def change(self, rng: random.Random, title: str | None = None) -> None:
        """A new track (or the track called `title`), or a volume change."""
        with self._lock:
            self._n += 1
            venue = self.state.venue
            assert venue is not None
            now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            if title is not None or rng.random() < 0.7:
                track = NowPlaying(
                    video_id=f"v{self._n}", title=title or f"Song {self._n}", artist="Band",
                    duration=200, state="playing", play_id=f"p{self._n}",
                )  # fmt: skip
                venue, piece = replace(venue, now_playing=track, last_updated=now), "now_playing"
            else:
                ps = replace(venue.player_settings, master_volume=rng.randint(10, 90))
                venue, piece = replace(venue, player_settings=ps), "settings"
            self.state = replace(self.state, venue=venue, rev=self.state.rev + 1)
        self.publish(piece)

    def kill(self) -> float:
        """Gone without a DISCONNECT: the socket closes, the broker sends the will.
        Returns when (perf_counter) the socket closed."""
        sock = self.client.socket()
        self.client.loop_stop()
        when = time.perf_counter()
        if isinstance(sock, socket.socket):
            sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        return when

    def go_silent(self) -> None:
        """Unplugged: the socket stays open but nothing more is sent; the broker gives
        up after 1.5x the keepalive and sends the will."""
        self.client.loop_stop()

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class Simulator:
    def __init__(
        self,
        indexes: range,
        port: int,
        password: str,
        *,
        mean_gap: float = 20.0,
        burst_every: float = 30.0,
        burst_share: float = 0.1,
        seed: int = 21,
    ) -> None:
        self.traffic = Traffic()
        self.rng = random.Random(seed + indexes.start)
        self.venues: list[SimVenue] = []
        for start in range(0, len(indexes), 25):  # 25 at a time, as boxes come up
            batch = [
                SimVenue(f"sim-{i:04d}", f"Venue {i:04d}", port, password, self.traffic)
                for i in indexes[start : start + 25]
            ]
            for v in batch:
                v.ready.wait(30)
            self.venues += batch
        self.mean_gap, self.burst_every, self.burst_share = mean_gap, burst_every, burst_share
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.paused: set[str] = set()  # venues the bench drives itself (or killed)

    def wait_ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        return all(v.ready.wait(max(0.0, deadline - time.monotonic())) for v in self.venues)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        now = time.monotonic()
        due = {v.topics.venue_id: now + self.rng.uniform(0, self.mean_gap) for v in self.venues}
        by_id = {v.topics.venue_id: v for v in self.venues}
        next_burst = now + self.burst_every
        while not self._stop.is_set():
            now = time.monotonic()
            for vid, when in due.items():
                if when <= now:
                    if vid not in self.paused:
                        by_id[vid].change(self.rng)
                    due[vid] = now + self.mean_gap * self.rng.uniform(0.5, 1.5)
            if now >= next_burst:
                k = int(len(self.venues) * self.burst_share)
                for v in self.rng.sample(self.venues, k):
                    if v.topics.venue_id not in self.paused:
                        v.change(self.rng)
                next_burst = now + self.burst_every
            self._stop.wait(0.05)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
        for v in self.venues:
            v.stop()


def serve(argv: list[str]) -> None:
    port, password, first, count = int(argv[0]), argv[1], int(argv[2]), int(argv[3])
    sim = Simulator(range(first, first + count), port, password)
    ok = all(v.ready.is_set() for v in sim.venues)
    print("ready" if ok else "not ready", flush=True)
    sim.start()
    try:
        for line in sys.stdin:
            if line.strip() == "count":
                print(sim.traffic.messages, sim.traffic.bytes, flush=True)
    finally:
        sim.stop()


if __name__ == "__main__":
    serve(sys.argv[1:])
