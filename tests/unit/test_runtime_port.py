"""Both runtimes the adapters are given offer the one port, `RuntimePort`.

`isinstance` on a runtime-checkable Protocol sees only that the members exist; their
signatures are proved by mypy where each runtime is handed to an adapter
(`web.adapter`, `appliance.remote_console`, `hardware.panel`, `appliance.cloud.factory`).
"""

from __future__ import annotations

from appliance.cloud.remote import RemoteVenue, console_staff
from appliance.cloud.settings import LinkSettings, parse_broker
from appliance.memory_store import MemoryStore
from appliance.runtime import Runtime
from appliance.runtime_port import RuntimePort


def test_the_box_runtime_is_a_runtime_port() -> None:
    assert isinstance(Runtime(MemoryStore()), RuntimePort)


def test_the_remote_consoles_venue_is_a_runtime_port() -> None:
    venue = RemoteVenue(LinkSettings(broker=parse_broker("mqtt://h")), "v1", console_staff("1234"))
    try:
        assert isinstance(venue, RuntimePort)
    finally:
        venue.stop()


def test_a_part_of_the_port_is_not_the_port() -> None:
    class StateOnly:
        state = None

        def submit(self, msg: object, timeout: float = 10.0) -> None: ...

    assert not isinstance(StateOnly(), RuntimePort)
