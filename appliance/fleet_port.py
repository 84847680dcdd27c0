"""The fleet as the web console sees it: one port, typed, so `web` serves the fleet
without importing the cloud adapter (`appliance.cloud.fleet.FleetWatcher` implements it;
`appliance.fleet_console` hands it over)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable


class VenueFeed(Protocol):
    closed: bool  # the fleet stopped (or the reader closed it): nothing more will come

    def get(self, timeout: float) -> set[str]:
        """The ids of venues that changed since the last call (empty after `timeout`)."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class FleetPort(Protocol):
    def venues(self) -> list[dict[str, Any]]:
        """Every venue seen on the broker, as cards (`GET /api/fleet`)."""
        ...

    def venue(self, venue_id: str) -> dict[str, Any] | None: ...

    def watch(self) -> VenueFeed: ...

    def command(
        self, venue_ids: Sequence[str], command: str, value: Any, actor: Mapping[str, str]
    ) -> list[dict[str, Any]]:
        """A UI command to each venue; `{"venue_id", "ok", "error"?}` per venue, in order."""
        ...

    def load_playlist(
        self, venue_ids: Sequence[str], name: str, actor: Mapping[str, str]
    ) -> list[dict[str, Any]]:
        """Load the playlist called `name` at each venue; `no_such_playlist` where none."""
        ...

    def apply_schedule(
        self, venue_ids: Sequence[str], schedule: Mapping[str, Any], actor: Mapping[str, str]
    ) -> list[dict[str, Any]]:
        """A schedule to each venue (`playlistName` in an entry resolved per venue)."""
        ...
