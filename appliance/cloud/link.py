"""The cloud link: the venue's state and events to an MQTT broker, commands back.

Three threads, none of them the runtime's:
- paho's network thread connects, reconnects with backoff and hands incoming messages
  over without waiting on anything;
- the publisher reads a bounded runtime subscription, renders events (same envelopes as
  the websocket) into the ordered outbox, and publishes retained state pieces at most
  once per `coalesce_interval` per topic;
- the command thread checks each `cmd`, submits it, and acks it on `cmd/ack`.

The runtime never waits on the link: a subscriber that falls behind is given a Resync
(we publish a SNAPSHOT event and every state piece); the link posts SystemNotices, which
never block.
"""

from __future__ import annotations

import logging
import queue
import socket
import threading
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from appliance.cloud.desk import CommandDesk, ha_message
from appliance.cloud.discovery import discovery_messages
from appliance.cloud.freshness import Freshness
from appliance.cloud.outbox import Outbox
from appliance.cloud.settings import LinkSettings, Topics
from appliance.cloud.wire import PIECES, encode, envelope, piece_payload
from appliance.commands import CommandError
from appliance.core import messages as m
from appliance.core.codec import to_data
from appliance.core.events import pieces_of, render_event
from appliance.core.model import State
from appliance.core.views import snapshot_payload
from appliance.runtime import Published, Resync, Runtime

log = logging.getLogger(__name__)

OUTBOX_BATCH = 200
ALL_PLAYLISTS = "*"
_HANDED_OFF = (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN)  # paho keeps qos1 for a reconnect


def session_properties(expiry: int) -> Properties:
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = expiry
    return props


def _no_delay(_client: mqtt.Client, _userdata: Any, sock: Any) -> None:
    """Small messages leave at once: Nagle's algorithm against the peer's delayed ACKs
    adds ~40 ms to a command's trip."""
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except (AttributeError, OSError):  # not a TCP socket (websockets wrapper): leave it
        pass


def make_client(settings: LinkSettings, client_id: str, username: str) -> mqtt.Client:
    b = settings.broker
    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5
    )
    client.username_pw_set(username, b.password or None)
    if b.tls:
        client.tls_set(ca_certs=settings.ca_file or None)
    client.reconnect_delay_set(settings.reconnect_min, settings.reconnect_max)  # type: ignore[arg-type]
    client.on_socket_open = _no_delay
    return client


class MqttLink:
    def __init__(
        self,
        runtime: Runtime,
        settings: LinkSettings,
        data_dir: Path,
        *,
        library: Any = None,
        freshness: Freshness | None = None,
    ) -> None:
        self._runtime = runtime
        self.settings = settings
        self.outbox = Outbox(data_dir / "cloud-outbox.jsonl", settings.outbox_max)
        self.desk = CommandDesk(runtime, settings, freshness, library)
        self._inbox: queue.Queue[tuple[str, bytes]] = queue.Queue(maxsize=1000)
        self._connected = threading.Event()
        self._subscribed = threading.Event()  # the broker confirmed our subscriptions
        self._stopping = threading.Event()
        self._lock = threading.Lock()  # dirty pieces and discovery flag
        self._dirty: set[str] = set(PIECES)
        self._discovery_due = settings.homeassistant
        self._playlists_due: set[str] = {ALL_PLAYLISTS}
        self._last_sent: dict[str, float] = {}
        self._link_up: bool | None = None
        self._state: State = State()
        self._threads: list[threading.Thread] = []
        self.client: mqtt.Client | None = None
        self.topics: Topics | None = None
        self.published = 0
        self.bytes_published = 0
        self.connects = 0

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        venue = self._runtime.state.venue
        if venue is None:
            raise RuntimeError("the cloud link needs a venue (start the runtime first)")
        self.topics = t = Topics(venue.venue_id)
        self._state = self._runtime.state
        username = self.settings.broker.username or venue.venue_id
        if username != venue.venue_id:
            log.warning(
                "cloud: broker user %r is not the venue id %s; the broker's ACL "
                "will refuse our topics",
                username,
                venue.venue_id,
            )
        self._sub = self._runtime.subscribe(maxsize=1024, name="cloud")
        client = make_client(
            self.settings, self.settings.client_id or f"djamms-{venue.venue_id}", username
        )
        client.will_set(t.status, "offline", qos=1, retain=True)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_connect_fail = lambda *_: self._set_link(False)
        client.on_message = self._on_message
        client.on_subscribe = lambda *_: self._subscribed.set()
        self.client = client
        b = self.settings.broker
        client.connect_async(
            b.host,
            b.port,
            self.settings.keepalive,
            clean_start=False,
            properties=session_properties(self.settings.session_expiry),
        )
        client.loop_start()
        for name, target in (
            ("cloud-publish", self._publish_loop),
            ("cloud-commands", self._command_loop),
        ):
            th = threading.Thread(target=target, name=name, daemon=True)
            th.start()
            self._threads.append(th)

    def stop(self) -> None:
        self._stopping.set()
        for th in self._threads:
            th.join(timeout=10)
        self._threads = []
        client = self.client
        if client is not None and self.topics is not None:
            if self._connected.is_set():  # a clean goodbye; the will is for crashes
                info = client.publish(self.topics.status, "offline", qos=1, retain=True)
                info.wait_for_publish(timeout=3)
            client.disconnect()
            client.loop_stop()
        self.outbox.persist()
        if getattr(self, "_sub", None) is not None:
            self._sub.close()

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def wait_connected(self, timeout: float) -> bool:
        """True once connected and subscribed (a command sent now reaches us)."""
        return self._subscribed.wait(timeout)

    # -- paho callbacks (network thread: never block) --------------------------------------

    def _on_connect(self, client: mqtt.Client, _u: Any, flags: Any, rc: Any, _p: Any) -> None:
        if rc.is_failure:
            log.warning("cloud: broker refused the connection: %s", rc)
            self._set_link(False)
            return
        t = self.topics
        assert t is not None
        client.subscribe(
            [(t.cmd, 1), (t.ha_command("+"), 1), (f"{self.settings.discovery_prefix}/status", 1)]
        )
        client.publish(t.status, "online", qos=1, retain=True)
        with self._lock:
            self._dirty = set(PIECES)
            self._discovery_due = self.settings.homeassistant
            self._playlists_due = {ALL_PLAYLISTS}
        self.connects += 1
        self._connected.set()
        self._set_link(True)

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
        self._connected.clear()
        self._subscribed.clear()
        self.outbox.persist()
        if not self._stopping.is_set():
            log.warning("cloud: link down (%s); reconnecting with backoff", rc)
            self._set_link(False)

    def _on_message(self, client: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        t = self.topics
        assert t is not None
        if msg.topic == f"{self.settings.discovery_prefix}/status":
            if msg.payload.strip() == b"online":  # Home Assistant restarted: tell it again
                with self._lock:
                    self._discovery_due = self.settings.homeassistant
            return
        try:
            self._inbox.put_nowait((msg.topic, bytes(msg.payload)))
        except queue.Full:
            log.warning("cloud: command inbox full; dropping a message on %s", msg.topic)

    def _set_link(self, up: bool) -> None:
        if up != self._link_up:
            self._link_up = up
            status = "cloud_link_up" if up else "cloud_link_down"
            self._runtime.post(m.SystemNotice(status=status))

    # -- commands --------------------------------------------------------------------------

    def _command_loop(self) -> None:
        t = self.topics
        assert t is not None and self.client is not None
        ha_prefix, ha_suffix = f"{t.base}/ha/", "/set"
        while not self._stopping.is_set():
            try:
                topic, payload = self._inbox.get(timeout=0.5)
            except queue.Empty:
                continue
            try:
                if topic == t.cmd:
                    ack = self.desk.handle(payload)
                    self._publish(t.ack, encode(ack))
                elif topic.startswith(ha_prefix) and topic.endswith(ha_suffix):
                    self._home_assistant(topic[len(ha_prefix) : -len(ha_suffix)], payload)
            except Exception:  # one bad command must not stop the others
                log.exception("cloud: command on %s failed", topic)

    def _home_assistant(self, entity: str, payload: bytes) -> None:
        try:
            msg = ha_message(
                entity, payload.decode(errors="replace"), self._runtime.state, self.settings
            )
        except CommandError as exc:
            log.info("cloud: Home Assistant %s refused: %s", entity, exc.message)
            return
        reply = self._runtime.submit(msg, timeout=15.0)
        if not reply.ok:
            log.info("cloud: Home Assistant %s refused: %s", entity, reply.error)

    # -- publishing ------------------------------------------------------------------------

    def _publish(self, topic: str, payload: bytes, retain: bool = False) -> bool:
        assert self.client is not None
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        if info.rc not in _HANDED_OFF:
            return False
        self.published += 1
        self.bytes_published += len(topic) + len(payload)
        return True

    def _publish_loop(self) -> None:
        while not self._stopping.is_set():
            item = self._sub.get(timeout=self._wait_time())
            while item is not None:
                self._take(item)
                item = self._sub.get(timeout=0)
            if self._connected.is_set():
                try:
                    self._flush()
                except Exception:  # keep the link alive; the next round retries
                    log.exception("cloud: publishing failed")

    def _wait_time(self) -> float:
        with self._lock:
            if not self._dirty or not self._connected.is_set():
                return 0.5
            now = time.monotonic()
            due = min(
                self._last_sent.get(p, 0.0) + self.settings.coalesce_interval for p in self._dirty
            )
        return min(0.5, max(0.0, due - now))

    def _take(self, item: Published | Resync) -> None:
        t = self.topics
        assert t is not None
        self._state = item.state
        persist = not self._connected.is_set()
        window = self.settings.queue_window
        if isinstance(item, Resync):
            snap = envelope("SNAPSHOT", item.rev, snapshot_payload(item.state, window))
            self.outbox.push(t.events, encode(snap), persist=persist)
            with self._lock:
                self._dirty = set(PIECES)
                self._playlists_due = {ALL_PLAYLISTS}
            return
        for event in item.events:
            env = envelope(event.type, item.rev, render_event(event, item.state, window))
            self.outbox.push(t.events, encode(env), persist=persist)
            with self._lock:
                self._dirty.update(pieces_of(event.type))
                if event.type == "PLAYLIST_CONTENT_UPDATE":
                    self._discovery_due = self.settings.homeassistant
                    self._playlists_due.add(str(event.payload.get("playlist_id", "")))
            self._panel_trigger(event)

    def _panel_trigger(self, event: Any) -> None:
        """A panel button press as a Home Assistant device trigger (live only)."""
        if event.type != "LOG_ENTRY" or not self._connected.is_set():
            return
        entry = event.payload.get("entry")
        if getattr(entry, "user_id", "") == "panel" and entry.event_type == "ui_command":
            command = str(entry.event_data.get("command", "")).lower()
            assert self.topics is not None and self.client is not None
            self.client.publish(self.topics.ha_panel, command, qos=0)

    def _flush(self) -> None:
        t = self.topics
        assert t is not None
        while len(self.outbox):
            batch = self.outbox.peek(OUTBOX_BATCH)
            sent = 0
            for topic, payload in batch:
                if not self._connected.is_set() or not self._publish(topic, payload):
                    break
                sent += 1
            self.outbox.pop(sent)
            if sent < len(batch):
                return
        now = time.monotonic()
        with self._lock:
            due = [
                p
                for p in self._dirty
                if now - self._last_sent.get(p, -1e9) >= self.settings.coalesce_interval
            ]
            self._dirty.difference_update(due)
            discovery, self._discovery_due = self._discovery_due, False
            playlists, self._playlists_due = self._playlists_due, set()
        state = self._state
        if state.venue is None:
            return
        for piece in due:
            payload = encode(piece_payload(piece, state, self.settings.queue_window))
            self._publish(t.state_topic(piece), payload, retain=True)
            self._last_sent[piece] = now
        self._publish_playlists(state, playlists)
        if discovery:
            for topic, config in discovery_messages(state, t, self.settings.discovery_prefix):
                self._publish(topic, encode(config), retain=True)

    def _publish_playlists(self, state: State, ids: set[str]) -> None:
        """Each playlist whole, retained on its own topic (the console's playlist view);
        an empty retained message clears a deleted one."""
        t = self.topics
        assert t is not None
        if ALL_PLAYLISTS in ids:
            ids = set(state.playlists)
        for pid in ids:
            pl = state.playlists.get(pid)
            body = encode(envelope("PLAYLIST", state.rev, to_data(pl))) if pl else b""
            self._publish(t.playlist(pid), body, retain=True)
