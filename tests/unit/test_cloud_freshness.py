"""Remote-command freshness on a box without a synced clock (appliance.cloud.freshness),
with injected wall and monotonic clocks."""

from __future__ import annotations

import json
from typing import Any

import pytest

from appliance.cloud.desk import CommandDesk
from appliance.cloud.freshness import Freshness
from appliance.cloud.settings import LinkSettings, parse_broker
from appliance.commands import CommandError
from appliance.config import Config, ConfigError
from tests.unit.test_cloud_parts import FakeRuntime, stamp, venue_state

REAL_NOW = 1_800_000_000.0  # the senders' (correct) time
YEARS_BEHIND = REAL_NOW - 3 * 365 * 86_400  # a Pi that booted with a stale clock


class Clocks:
    """The box's clocks: monotonic seconds since boot, a wall clock that is wrong."""

    def __init__(self, wall_offset: float, synced: bool = False) -> None:
        self.mono = 100.0
        self.real = REAL_NOW  # what a correct clock reads at the same instant
        self.wall_offset = wall_offset
        self.synced = synced

    def advance(self, seconds: float) -> None:
        self.mono += seconds
        self.real += seconds

    def freshness(self, **kw: Any) -> Freshness:
        return Freshness(
            30.0,
            2.0,
            wall=lambda: self.real + self.wall_offset,
            monotonic=lambda: self.mono,
            synced=lambda: self.synced,
            **kw,
        )


def code(fresh: Freshness, sender: str, issued_at: float) -> str:
    try:
        fresh.check(sender, issued_at)
    except CommandError as exc:
        return exc.code
    return "ok"


def test_box_clock_years_behind_accepts_commands_from_a_correct_sender() -> None:
    clocks = Clocks(wall_offset=YEARS_BEHIND - REAL_NOW)
    fresh = clocks.freshness()
    for _ in range(5):
        assert code(fresh, "remote:a", clocks.real - 0.2) == "ok"  # 0.2 s on the wire
        clocks.advance(60)


def test_a_held_back_command_is_expired_and_later_ones_still_pass() -> None:
    clocks = Clocks(wall_offset=YEARS_BEHIND - REAL_NOW)
    fresh = clocks.freshness()
    assert code(fresh, "remote:a", clocks.real - 0.1) == "ok"
    clocks.advance(10)
    held = clocks.real  # issued now, delivered 45 s later
    clocks.advance(45)
    assert code(fresh, "remote:a", held) == "expired"
    assert code(fresh, "remote:a", clocks.real - 0.3) == "ok"
    clocks.advance(5)
    assert code(fresh, "remote:a", clocks.real - 29) == "ok"  # slow, but within the age


def test_one_senders_wrong_clock_does_not_lock_out_another() -> None:
    clocks = Clocks(wall_offset=-1e8)
    fresh = clocks.freshness()
    assert code(fresh, "remote:ahead", clocks.real + 3600) == "ok"  # clock an hour fast
    assert code(fresh, "remote:b", clocks.real) == "ok"
    clocks.advance(20)
    assert code(fresh, "remote:b", clocks.real - 1) == "ok"
    assert code(fresh, "remote:ahead", clocks.real + 3600) == "ok"


def test_a_sender_whose_clock_steps_back_is_refused_only_until_its_base_expires() -> None:
    clocks = Clocks(wall_offset=0.0)
    fresh = clocks.freshness(window=300.0)
    assert code(fresh, "remote:a", clocks.real) == "ok"
    step_back = 120.0  # the sender's clock now reads two minutes early
    clocks.advance(10)
    assert code(fresh, "remote:a", clocks.real - step_back) == "expired"
    outcomes = []
    for _ in range(12):  # 12 x 60 s: past two windows
        clocks.advance(60)
        outcomes.append(code(fresh, "remote:a", clocks.real - step_back))
    assert outcomes[0] == "expired" and outcomes[-1] == "ok"
    assert outcomes.index("ok") <= 10  # at most two windows (600 s) after the step
    assert set(outcomes[outcomes.index("ok") :]) == {"ok"}


def test_a_synced_box_keeps_the_wall_clock_rules() -> None:
    clocks = Clocks(wall_offset=0.0, synced=True)
    fresh = clocks.freshness()
    assert code(fresh, "remote:new", clocks.real - 31) == "expired"  # first one judged too
    assert code(fresh, "remote:new", clocks.real + 10) == "from_future"
    assert code(fresh, "remote:new", clocks.real + 1) == "ok"  # within the skew
    assert code(fresh, "remote:new", clocks.real - 29) == "ok"


def test_an_unsynced_box_does_not_apply_the_wall_clock_rules() -> None:
    clocks = Clocks(wall_offset=YEARS_BEHIND - REAL_NOW, synced=False)
    fresh = clocks.freshness()
    assert code(fresh, "remote:a", clocks.real) == "ok"  # "years in the future" to the box
    clocks.synced = True  # the sync flag alone switches the wall-clock rules on
    assert code(fresh, "remote:a", clocks.real) == "from_future"


def test_the_sender_table_is_bounded() -> None:
    clocks = Clocks(wall_offset=0.0)
    fresh = clocks.freshness(max_senders=3)
    assert code(fresh, "remote:a", clocks.real) == "ok"
    for name in ("b", "c", "d"):
        assert code(fresh, f"remote:{name}", clocks.real) == "ok"
    assert len(fresh._bases) == 3 and "remote:a" not in fresh._bases


def test_the_desk_keys_senders_by_actor_and_refuses_held_back_commands() -> None:
    clocks = Clocks(wall_offset=YEARS_BEHIND - REAL_NOW)
    runtime = FakeRuntime(venue_state())
    desk = CommandDesk(runtime, LinkSettings(broker=parse_broker("mqtt://h")), clocks.freshness())

    def send(cid: str, issued: float, user: str) -> dict[str, Any]:
        body = {"commandId": cid, "issuedAt": stamp(issued), "command": "PLAY"}
        return desk.handle(json.dumps({**body, "actor": {"userId": user}}).encode())

    assert send("c1", clocks.real, "ann")["ok"]
    clocks.advance(60)
    assert send("c2", clocks.real - 60, "ann")["error"]["code"] == "expired"
    assert send("c3", clocks.real - 60, "bob")["ok"]  # bob's first: nothing to judge by
    assert [x.command_id for x in runtime.submitted] == ["mqtt:c1", "mqtt:c3"]


@pytest.mark.parametrize("window", [30.0, 100_000.0])
def test_settings_bound_the_sender_window(window: float) -> None:
    cfg = Config(broker="mqtt://h", sections={"cloud": {"sender_window": window}})
    with pytest.raises(ConfigError):
        LinkSettings.from_config(cfg)
