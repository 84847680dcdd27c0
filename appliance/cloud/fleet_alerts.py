"""What is wrong at a venue, as the fleet sees it: alerts derived from what the box
publishes, and nothing else. Pure: no I/O, no clock.

Which alert comes from which field (see `appliance.cloud.wire` and `.link`):

| alert                 | source                                                                |
|-----------------------|-----------------------------------------------------------------------|
| `offline`             | `status` (retained) is `offline`: the box's last will, or its clean   |
|                       | goodbye. This is the fleet's "cloud link down": a box whose link is   |
|                       | down cannot say so until it is back (its own `cloud_link_down` notice |
|                       | waits in its outbox), so the broker's will is the only live signal.   |
| `player_disconnected` | `state/now_playing` (retained) or a `NOW_PLAYING_UPDATE` event:       |
|                       | `payload.player_connected` is false.                                  |
| `emergency_stop`      | the same piece: `payload.transport` is `emergency`.                   |
| `storage_failed`      | a `SYSTEM_STATUS` event with `status: storage_failed`, until one with |
|                       | `storage_ok` (the runtime's store). Events are not retained: a fleet  |
|                       | console started after the failure learns of it at the next one.       |
| `ytdlp_failing`       | a `SYSTEM_STATUS` event `ytdlp_update_failed` or `ytdlp_rolled_back`  |
|                       | (the daily yt-dlp update, `appliance.library.updater`), until one     |
|                       | with `ytdlp_update_applied`. Not retained either.                     |
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

ALERTS: dict[str, str] = {
    "offline": "Offline (cloud link down)",
    "player_disconnected": "Player disconnected",
    "emergency_stop": "Emergency stop",
    "storage_failed": "Storage failed",
    "ytdlp_failing": "yt-dlp failing",
}

# SYSTEM_STATUS statuses that raise (True) or clear (False) a standing notice
NOTICE_SWITCHES: dict[str, tuple[str, bool]] = {
    "storage_failed": ("storage_failed", True),
    "storage_ok": ("storage_failed", False),
    "ytdlp_update_failed": ("ytdlp_failing", True),
    "ytdlp_rolled_back": ("ytdlp_failing", True),
    "ytdlp_update_applied": ("ytdlp_failing", False),
}


class AlertSource(Protocol):
    @property
    def online(self) -> bool | None: ...

    @property
    def player_connected(self) -> bool: ...

    @property
    def transport(self) -> str: ...

    @property
    def notices(self) -> frozenset[str]: ...


def switch_notices(notices: frozenset[str], status: str) -> frozenset[str]:
    """The standing notices after one SYSTEM_STATUS `status`."""
    switch = NOTICE_SWITCHES.get(status)
    if switch is None:
        return notices
    name, raised = switch
    return notices | {name} if raised else notices - {name}


def alerts_for(card: AlertSource) -> list[str]:
    """A venue's alert codes, in the order of `ALERTS`. An offline venue's player and
    transport are what it last said, so only `offline` and the standing notices count."""
    found: set[str] = set(card.notices)
    if card.online is False:
        found.add("offline")
    else:
        if not card.player_connected:
            found.add("player_disconnected")
        if card.transport == "emergency":
            found.add("emergency_stop")
    return ordered(found)


def ordered(codes: Iterable[str]) -> list[str]:
    wanted = set(codes)
    return [code for code in ALERTS if code in wanted]
