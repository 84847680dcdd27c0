"""A recording MQTT client for tests: subscribes, keeps every message, waits on them."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties


@dataclass(frozen=True)
class Received:
    topic: str
    payload: bytes
    retain: bool
    at: float

    @property
    def json(self) -> Any:
        return json.loads(self.payload)


class Probe:
    def __init__(
        self,
        port: int,
        user: str,
        password: str,
        *,
        client_id: str = "",
        persistent: bool = False,
    ) -> None:
        self.messages: list[Received] = []
        self.suback: list[Any] = []
        self._cond = threading.Condition()
        self.refused: Any = None
        self.connected = threading.Event()
        self.answered = threading.Event()
        self._subs: list[tuple[str, int]] = []
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5
        )
        self.client.username_pw_set(user, password)
        self.client.reconnect_delay_set(0.1, 0.5)  # type: ignore[arg-type]
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = 3600 if persistent else 0
        self.client.connect_async(
            "127.0.0.1", port, keepalive=10, clean_start=not persistent, properties=props
        )
        self.client.loop_start()

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
        if rc.is_failure:
            self.refused = rc
        else:
            if self._subs:
                client.subscribe(self._subs)
            self.connected.set()
        self.answered.set()

    def _on_disconnect(self, *_: Any) -> None:
        with self._cond:
            self.connected.clear()
            self._cond.notify_all()

    def _on_subscribe(self, _c: Any, _u: Any, _mid: int, codes: Any, _p: Any) -> None:
        with self._cond:
            self.suback.append(codes)
            self._cond.notify_all()

    def _on_message(self, _c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        with self._cond:
            self.messages.append(Received(msg.topic, msg.payload, msg.retain, time.monotonic()))
            self._cond.notify_all()

    def wait_connected(self, timeout: float = 20.0) -> Probe:
        if not self.connected.wait(timeout):
            raise AssertionError(f"probe did not connect (refused: {self.refused})")
        return self

    def subscribe(self, *topics: str, qos: int = 1) -> Probe:
        """Subscribe and wait for the broker's SUBACK."""
        self._subs.extend((t, qos) for t in topics)
        with self._cond:
            before = len(self.suback)
        self.client.subscribe([(t, qos) for t in topics])
        self.wait_for(lambda: len(self.suback) > before, "suback")
        return self

    def publish(self, topic: str, payload: Any, qos: int = 1, retain: bool = False) -> None:
        data = payload if isinstance(payload, bytes | str) else json.dumps(payload)
        self.client.publish(topic, data, qos=qos, retain=retain).wait_for_publish(10)

    def wait_for(self, predicate: Callable[[], Any], what: str = "", timeout: float = 20.0) -> Any:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                got = predicate()
                if got:
                    return got
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out waiting for {what}")
                self._cond.wait(left)

    def on(self, topic: str) -> list[Received]:
        with self._cond:
            return [r for r in self.messages if r.topic == topic]

    def latest(self, topic: str, timeout: float = 20.0) -> Received:
        return self.wait_for(lambda: (self.on(topic) or [None])[-1], topic, timeout)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
