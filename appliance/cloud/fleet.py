"""Every venue on the broker, seen from the cloud: one MQTT connection that reads the
venues' topics through a wildcard and keeps a `FleetDirectory` of cards, and sends a UI
command to many venues at once through each one's `cmd`/`cmd/ack`.

The payload of a command is the one the box's command desk reads
(`appliance.cloud.desk`): `{"commandId", "issuedAt", "command", "value", "actor"}`, the UI
shorthand of `/api/ui/command`. Windows follow the cards through `watch()`: a feed of the
ids of the venues that changed, which a slow reader cannot make grow past the fleet.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

import paho.mqtt.client as mqtt

from appliance.cloud.fleet_bulk import load_body, schedule_body
from appliance.cloud.fleet_directory import (
    TOPIC_PREFIX,
    FleetDirectory,
    Outcome,
    VenueCard,
    card_view,
)
from appliance.cloud.link import make_client
from appliance.cloud.settings import LinkSettings, Topics
from appliance.core.handling import iso

log = logging.getLogger(__name__)

COMMAND_TIMEOUT = 5.0  # seconds a venue has to answer a fleet command
SUBSCRIPTIONS = (
    f"{TOPIC_PREFIX}+/status",
    f"{TOPIC_PREFIX}+/state/now_playing",
    f"{TOPIC_PREFIX}+/state/settings",
    f"{TOPIC_PREFIX}+/events",
    f"{TOPIC_PREFIX}+/cmd/ack",
)
BodyFor = Callable[[VenueCard], dict[str, Any] | str]


class ChangeFeed:
    """The ids of venues that changed since the last `get`: a set, so bounded by the
    fleet however slowly it is read."""

    def __init__(self, on_close: Callable[[ChangeFeed], None]) -> None:
        self._ids: set[str] = set()
        self._cond = threading.Condition()
        self._on_close = on_close
        self.closed = False

    def offer(self, venue_id: str) -> None:
        with self._cond:
            self._ids.add(venue_id)
            self._cond.notify_all()

    def get(self, timeout: float) -> set[str]:
        """The changed ids (empty after `timeout` with none, or once closed)."""
        with self._cond:
            if not self._ids and not self.closed:
                self._cond.wait(timeout)
            ids, self._ids = self._ids, set()
        return ids

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()
        self._on_close(self)


class FleetWatcher:
    def __init__(
        self,
        settings: LinkSettings,
        *,
        command_timeout: float = COMMAND_TIMEOUT,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.command_timeout = command_timeout
        self._clock = clock
        self._lock = threading.Lock()
        self._directory = FleetDirectory()
        self._feeds: list[ChangeFeed] = []
        self._pending: dict[str, Future[dict[str, Any]]] = {}
        self._subscribed = threading.Event()
        self.spoofed = 0
        self.client: mqtt.Client | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        client = make_client(
            self.settings, f"djamms-fleet-{uuid.uuid4().hex[:12]}", self.settings.broker.username
        )
        client.on_connect = self._on_connect
        client.on_disconnect = lambda *_: self._subscribed.clear()
        client.on_subscribe = lambda *_: self._subscribed.set()
        client.on_message = self._on_message
        self.client = client
        b = self.settings.broker
        client.connect_async(b.host, b.port, self.settings.keepalive)
        client.loop_start()

    def stop(self) -> None:
        if self.client is not None:
            self.client.disconnect()
            self.client.loop_stop()
        for feed in list(self._feeds):
            feed.close()

    def wait_connected(self, timeout: float) -> bool:
        """True once the broker confirmed our subscriptions."""
        return self._subscribed.wait(timeout)

    # -- reading ---------------------------------------------------------------------------

    def venues(self) -> list[dict[str, Any]]:
        with self._lock:
            cards = self._directory.cards()
        return [card_view(c) for c in cards]

    def venue(self, venue_id: str) -> dict[str, Any] | None:
        with self._lock:
            card = self._directory.get(venue_id)
        return card_view(card) if card is not None else None

    def watch(self) -> ChangeFeed:
        feed = ChangeFeed(self._unwatch)
        with self._lock:
            self._feeds = [*self._feeds, feed]
        return feed

    def _unwatch(self, feed: ChangeFeed) -> None:
        with self._lock:
            self._feeds = [f for f in self._feeds if f is not feed]

    # -- commands --------------------------------------------------------------------------

    def command(
        self, venue_ids: Sequence[str], command: str, value: Any, actor: Mapping[str, str]
    ) -> list[dict[str, Any]]:
        """Send one UI command to each venue at once; a result per venue, in order, once
        every venue answered or its time ran out. Unknown and offline venues are not sent
        anything."""

        def body(card: VenueCard) -> dict[str, Any]:
            out: dict[str, Any] = {"command": command, "value": value}
            if command == "PLAY_NEXT":  # skip the track the card shows, not the one after
                play_id = (card.now_playing or {}).get("play_id")
                if isinstance(play_id, str) and play_id:
                    out["playId"] = play_id
            return out

        return self.send(venue_ids, body, actor)

    def load_playlist(
        self, venue_ids: Sequence[str], name: str, actor: Mapping[str, str]
    ) -> list[dict[str, Any]]:
        """Load the playlist called `name` at each venue (its own id for that name)."""
        return self.send(venue_ids, lambda card: load_body(card.playlists, name), actor)

    def apply_schedule(
        self, venue_ids: Sequence[str], schedule: Mapping[str, Any], actor: Mapping[str, str]
    ) -> list[dict[str, Any]]:
        """Replace each venue's schedule; `playlistName` in an entry is resolved per venue."""
        return self.send(venue_ids, lambda card: schedule_body(card.playlists, schedule), actor)

    def send(
        self, venue_ids: Sequence[str], build: BodyFor, actor: Mapping[str, str]
    ) -> list[dict[str, Any]]:
        """Each venue's `cmd` body from `build(card)` (or the error code it gives), sent at
        once; a result per venue, in order, once every venue answered or timed out."""
        sent: dict[str, tuple[str, Future[dict[str, Any]]]] = {}
        early: dict[str, dict[str, Any]] = {}
        for venue_id in dict.fromkeys(venue_ids):  # a venue named twice gets it once
            card, refusal = self._sendable(venue_id)
            body = build(card) if card is not None else refusal
            if isinstance(body, str) or body is None:
                early[venue_id] = {"venue_id": venue_id, "ok": False, "error": body or refusal}
                continue
            sent[venue_id] = self._send(venue_id, body, actor)
        deadline = time.monotonic() + self.command_timeout
        answers = {vid: _answer(vid, fut, deadline) for vid, (_, fut) in sent.items()}
        with self._lock:
            for command_id, _ in sent.values():
                self._pending.pop(command_id, None)
        return [early.get(vid) or answers[vid] for vid in venue_ids]

    def _sendable(self, venue_id: str) -> tuple[VenueCard | None, str | None]:
        with self._lock:
            card = self._directory.get(venue_id)
        if card is None:
            return None, "unknown_venue"
        if card.online is not True:
            return None, "offline"
        if self.client is None or not self._subscribed.is_set():
            return None, "cloud_unreachable"
        return card, None

    def _send(
        self, venue_id: str, body: Mapping[str, Any], actor: Mapping[str, str]
    ) -> tuple[str, Future[dict[str, Any]]]:
        assert self.client is not None
        command_id = uuid.uuid4().hex
        payload: dict[str, Any] = {
            "commandId": command_id,
            "issuedAt": iso(self._clock()),
            **body,
            "actor": dict(actor),
        }
        fut: Future[dict[str, Any]] = Future()
        with self._lock:
            self._pending[command_id] = fut
        self.client.publish(Topics(venue_id).cmd, json.dumps(payload, default=str), qos=1)
        return command_id, fut

    # -- MQTT (network thread) -------------------------------------------------------------

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
        if rc.is_failure:
            log.warning("fleet: broker refused us: %s", rc)
            return
        client.subscribe([(topic, 1) for topic in SUBSCRIPTIONS])

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        if msg.topic.endswith("/cmd/ack"):
            self._ack(bytes(msg.payload))
            return
        with self._lock:
            outcome = self._directory.apply(
                msg.topic, bytes(msg.payload), self._clock(), retained=bool(msg.retain)
            )
            feeds = self._feeds
        if outcome is Outcome.SPOOFED:
            self.spoofed += 1
            log.warning("fleet: ignored a message on %s that names another venue", msg.topic)
        elif outcome is Outcome.CHANGED:
            venue_id = msg.topic[len(TOPIC_PREFIX) :].split("/", 1)[0]
            for feed in feeds:
                feed.offer(venue_id)

    def _ack(self, payload: bytes) -> None:
        try:
            data = json.loads(payload)
        except (ValueError, UnicodeDecodeError, RecursionError):
            return
        if not isinstance(data, dict):
            return
        with self._lock:
            fut = self._pending.pop(str(data.get("commandId")), None)
        if fut is not None and not fut.done():
            fut.set_result(data)


def _answer(venue_id: str, fut: Future[dict[str, Any]], deadline: float) -> dict[str, Any]:
    try:
        ack = fut.result(timeout=max(0.0, deadline - time.monotonic()))
    except FutureTimeout:
        return {"venue_id": venue_id, "ok": False, "error": "timeout"}
    if ack.get("ok") is True:
        return {"venue_id": venue_id, "ok": True}
    given = ack.get("error")
    error: Mapping[str, Any] = given if isinstance(given, Mapping) else {}
    result = {"venue_id": venue_id, "ok": False, "error": str(error.get("code") or "refused")}
    if isinstance(error.get("message"), str):
        result["message"] = error["message"]
    return result
