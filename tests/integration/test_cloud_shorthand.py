"""The `{command, value}` shorthand over MQTT keeps the guards a LAN window's COMMAND keeps:
`playId` names the track a skip is for, `expectedRev`/`expectedPlayId` refuse stale ones,
`venueId` must be the box's own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from appliance.core import messages as m
from appliance.core.model import TrackInfo
from tests.integration.cloud_kit import Rig, command, rig
from tests.support.mqtt_probe import Probe

STAFF = m.Actor(user_id="lan-staff", role="admin", source="web")
OWNER = {"userId": "owner", "role": "admin"}


@pytest.fixture
def cloud(tmp_path: Path) -> Iterator[Rig]:
    yield from rig(tmp_path)


@pytest.fixture
def playing(cloud: Rig) -> str:
    """Two tracks queued on an idle venue: the first starts; its play_id."""
    for n in (1, 2):
        track = TrackInfo(video_id=f"short-{n}", title=f"Short {n}")
        assert cloud.box.runtime.submit(m.AddToQueue(track=track, actor=STAFF)).ok
    np = cloud.box.runtime.state.venue.now_playing
    assert np is not None and np.video_id == "short-1"
    return np.play_id


def ack(probe: Probe, r: Rig, **fields: Any) -> dict[str, Any]:
    cmd = command(actor=OWNER, **fields)
    probe.publish(r.topics.cmd, cmd)
    return probe.wait_for(
        lambda: next(
            (x.json for x in probe.on(r.topics.ack) if x.json["commandId"] == cmd["commandId"]),
            None,
        ),
        f"the ack for {fields}",
    )


def test_a_skip_naming_a_track_already_gone_skips_nothing(cloud: Rig, playing: str) -> None:
    probe = cloud.console(cloud.topics.ack)
    answer = ack(probe, cloud, command="PLAY_NEXT", playId="p-long-gone")
    assert answer["ok"] and answer["result"]["skipped"] is False
    assert cloud.box.runtime.state.venue.now_playing.play_id == playing

    answer = ack(probe, cloud, command="PLAY_NEXT", playId=playing)
    assert answer["ok"] and answer["result"] == {"skipped": True, "from": playing}
    assert cloud.box.runtime.state.venue.now_playing.video_id == "short-2"
    probe.close()


def test_stale_guards_are_refused_and_change_nothing(cloud: Rig, playing: str) -> None:
    probe = cloud.console(cloud.topics.ack)
    rev = cloud.box.runtime.state.rev
    answer = ack(probe, cloud, command="PLAY_NEXT", expectedRev=rev - 1)
    assert not answer["ok"] and answer["status"] == 409
    assert answer["error"]["code"] == "stale_rev"

    answer = ack(probe, cloud, command="SET_VOLUME", value=5, expectedPlayId="p-other")
    assert not answer["ok"] and answer["error"]["code"] == "stale_play_id"

    answer = ack(probe, cloud, command="SET_VOLUME", value=5, venueId="another-venue")
    assert not answer["ok"] and answer["status"] == 404
    assert answer["error"]["code"] == "unknown_venue"

    state = cloud.box.runtime.state
    assert state.rev == rev and state.venue.now_playing.play_id == playing
    assert state.venue.player_settings.master_volume != 5
    probe.close()
