"""The runtime as its adapters see it: one port, typed.

The LAN console (`web`), the panel (`hardware`) and the cloud's command desk and mirror
(`appliance.cloud`) reach the box's state only through these four members, so the same
adapter runs over the box's single writer (`appliance.runtime.Runtime`) or over a venue
seen from the cloud (`appliance.cloud.remote.RemoteVenue`); mypy checks both where they
are handed over (`web.create_app`, `hardware.panel.Panel`, `MqttLink`). Parts that live
only on the box and need more of it (`post` for facts, `clock`, effect sinks) take the
concrete `Runtime`, or just the two of its members named below (`Post`, `AddEffectSink`)
when that is all they use.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from typing import Protocol, runtime_checkable

from appliance.core.messages import Message
from appliance.core.model import State
from appliance.core.outputs import Effect
from appliance.runtime import Reply
from appliance.subscription import Subscription


@runtime_checkable
class RuntimePort(Protocol):
    @property
    def state(self) -> State:
        """The latest immutable state (the remote console's: as the venue last told it)."""
        ...

    def submit(self, msg: Message, timeout: float = 10.0) -> Reply:
        """Apply a core message and wait until it is durable (or refused). Thread-safe."""
        ...

    def submit_async(self, msg: Message) -> Future[Reply]:
        """The same, without waiting: the future holds the reply."""
        ...

    def subscribe(self, maxsize: int = 256, name: str = "") -> Subscription:
        """A bounded feed of `Published` changes (a `Resync` once it falls behind)."""
        ...


# `Runtime.post`: hand the single writer a fact (a player's, a notice) without waiting.
Post = Callable[[Message], None]
# An actuator: `sink(effects, state)` on its own thread for every outcome with effects.
EffectSink = Callable[[tuple[Effect, ...], State], None]
# `Runtime.add_effect_sink(sink, name)`: how an actuator (the player, the library) is fed.
AddEffectSink = Callable[[EffectSink, str], None]
