"""A forged retained `state/settings` with a huge `rev` does not wedge the remote
console's view: the venue's next real piece, far below it, wins."""

from __future__ import annotations

from tests.integration.cloud_kit import VENUE_PASSWORD
from tests.integration.test_cloud_console import (  # noqa: F401 - `pair` is a fixture
    REMOTE_PIN,
    Pair,
    Session,
    pair,
)
from tests.support.mqtt_probe import Probe
from tests.support.server import STAFF_PIN
from tests.support.wsclient import LiveClient, replay


def volume(frames: list) -> int | None:
    return (replay(frames)[1] or {}).get("player_settings", {}).get("master_volume")


def test_a_forged_huge_rev_does_not_wedge_the_remote_view(pair: Pair) -> None:  # noqa: F811
    venue_id = pair.lan.runtime.state.venue.venue_id
    topic = f"djamms/v1/venues/{venue_id}/state/settings"
    forger = Probe(pair.broker.port, venue_id, VENUE_PASSWORD).wait_connected()
    lan = Session(pair.lan.url, STAFF_PIN)
    remote = Session(pair.remote.url, REMOTE_PIN)
    window = LiveClient(pair.remote.url, remote.cookie).connect()
    try:
        forger.subscribe(topic)
        piece = forger.latest(topic).json
        piece["rev"] = 2**62
        piece["payload"]["player_settings"]["master_volume"] = 3
        forger.publish(topic, piece, retain=True)
        assert window.wait_for(lambda fs: volume(fs) == 3)  # the forgery is seen once...
        r = lan.cmd("/api/ui/command", {"command": "SET_VOLUME", "value": 61})
        assert r.status_code == 200, r.text
        assert window.wait_for(lambda fs: volume(fs) == 61)  # ...and the venue's truth wins
    finally:
        window.close()
        forger.close()
