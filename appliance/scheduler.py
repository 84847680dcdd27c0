"""The scheduler: on every tick, make the box do what `schedule_data` says should be in
force now, and run the maintenance jobs that are due.

It acts only when what is in force changes (a slot begins or ends, the schedule is
edited), so staff can override a slot by hand and the scheduler leaves them alone until
the next change. After a restart or a clock jump nothing is "known applied", so the
current slots are applied at once: booting at 20:30 inside an 18:00-22:00 playlist slot
plays that slot's playlist. Time comes from an injectable clock; tests drive `tick()`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from appliance.config import Config
from appliance.core import messages as m
from appliance.core.model import State
from appliance.core.schedule import InForce, Slot, announcements_due, in_force
from appliance.runtime import Reply, Runtime

if TYPE_CHECKING:
    from appliance.maintenance import Maintenance

log = logging.getLogger(__name__)

ACTOR = m.Actor(user_id="scheduler", role="admin", source="scheduler")
# Playlist before audio: entering audio hours then starts with the slot's playlist.
KINDS = ("event_mode", "volume", "playlist", "audio")


def _epoch(stamp: str) -> float:
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


class Scheduler:
    """Adapter: `start()` runs `tick()` every `tick_every` seconds on its own thread."""

    def __init__(
        self,
        runtime: Runtime,
        *,
        clock: Callable[[], float] = time.time,
        timezone: str = "UTC",
        tick_every: float = 5.0,
        heartbeat_timeout: float = 15.0,
        maintenance: Maintenance | None = None,
    ) -> None:
        self.runtime = runtime
        self.clock = clock
        self.timezone = timezone
        self.tick_every = tick_every
        self.heartbeat_timeout = heartbeat_timeout
        self.maintenance = maintenance
        self.applied: dict[str, Any] = {}  # kind -> key of what was last applied; empty at boot
        # Announcements are moments: those since the last pass play; none from before boot.
        self._announced_until: float | None = None
        self.failures: list[dict[str, Any]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="scheduler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:  # one bad tick must not end the schedule
                log.exception("scheduler tick failed")
            self._stop.wait(self.tick_every)

    # -- one pass --------------------------------------------------------------------------

    def tick(self) -> InForce | None:
        now = self.clock()
        self.runtime.post(m.Tick(heartbeat_timeout=self.heartbeat_timeout))
        force = self.apply(now)
        if self.maintenance is not None:
            self.maintenance.run(now)
        return force

    def apply(self, now: float) -> InForce | None:
        state = self.runtime.state
        if state.venue is None:
            return None
        force = in_force(state.venue.schedule_data, now, self.timezone)
        self._announce(state, now)
        for kind in KINDS:
            key = self._key(kind, force)
            if kind in self.applied and self.applied[kind] == key:
                continue
            self._apply_kind(kind, force, self.runtime.state)
            self.applied[kind] = key
        return force

    @staticmethod
    def _key(kind: str, force: InForce) -> Any:
        if kind == "audio":
            return (force.audio_on, force.audio.key if force.audio else None)
        slot: Slot | None = getattr(force, kind)
        return slot.key if slot else None

    def _apply_kind(self, kind: str, force: InForce, state: State) -> None:
        if kind == "playlist" and force.playlist is not None:
            self._load_playlist(force.playlist, state)
        elif kind == "volume" and force.volume is not None:
            volume = force.volume.params["volume"]
            if state.venue and state.venue.player_settings.master_volume != volume:
                self._submit(m.UiCommand(command="SET_VOLUME", value=volume), force.volume)
        elif kind == "audio" and force.audio_on is not None:
            self._audio(force.audio_on, force.audio, state)
        elif kind == "event_mode":
            self._event_mode(force.event_mode, state)

    # -- actions ---------------------------------------------------------------------------

    def _announce(self, state: State, now: float) -> None:
        since, self._announced_until = self._announced_until, now
        if since is None or state.venue is None:
            return
        due = announcements_due(state.venue.schedule_data, since, now, self.timezone)
        if due:  # after a stall several may be due: the latest stands for them
            _key, content_id, _at = due[-1]
            self._submit(m.PlayAnnouncement(content_id=content_id), None)

    def _load_playlist(self, slot: Slot, state: State) -> None:
        pid = slot.params["playlistId"]
        playlist = state.playlists.get(pid)
        if playlist is not None and _epoch(playlist.last_played_at) >= slot.start:
            return  # already loaded in this occurrence (a restart inside the slot)
        reply = self._submit(m.ManagePlaylist(action="load", params={"playlistId": pid}), slot)
        venue = self.runtime.state.venue
        np = venue.now_playing if venue else None
        if reply is not None and reply.ok and np is not None and np.source == "active":
            # The slot's playlist starts now; a request that is playing is never cut.
            self._submit(m.UiCommand(command="PLAY_NEXT", play_id=np.play_id), slot)

    def _audio(self, on: bool, slot: Slot | None, state: State) -> None:
        transport = state.venue.transport if state.venue else "playing"
        if on and transport in ("stopped", "paused"):
            self._submit(m.UiCommand(command="PLAY"), slot)
        elif not on and transport == "playing":
            self._submit(m.UiCommand(command="FADE_OUT_STOP"), slot)

    def _event_mode(self, slot: Slot | None, state: State) -> None:
        rules = state.venue.request_rules if state.venue else None
        if rules is None:
            return
        if slot is not None:
            message = slot.params.get("message", "")
            if rules.requests_open or rules.closed_message != message:
                value = {"requests_open": False, "closed_message": message}
                self._submit(m.UpdateSetting(setting="request_rules", value=value), slot)
            return
        if rules.requests_open:
            return
        # Reopen only what the schedule closed: after a restart that is recognised by the
        # message an event_mode entry sets, so a manual close is left alone.
        if "event_mode" not in self.applied and not self._closed_by_schedule(state):
            return
        value = {"requests_open": True, "closed_message": ""}
        self._submit(m.UpdateSetting(setting="request_rules", value=value), None)

    @staticmethod
    def _closed_by_schedule(state: State) -> bool:
        venue = state.venue
        if venue is None:
            return False
        data = venue.schedule_data
        messages = {
            e.get("message", "")
            for key in ("rules", "events")
            for e in data.get(key, ())
            if e.get("action") == "event_mode"
        }
        return venue.request_rules.closed_message in messages

    def _submit(self, msg: m.Message, slot: Slot | None) -> Reply | None:
        msg = replace(msg, actor=ACTOR)
        try:
            reply = self.runtime.submit(msg, timeout=30)
        except TimeoutError:
            reply = None
        if reply is None or not reply.ok:
            failure = {
                "message": type(msg).__name__,
                "entry": slot.entry_id if slot else "",
                "error": reply.error if reply else {"code": "timeout"},
            }
            self.failures.append(failure)
            del self.failures[:-50]
            log.warning("schedule: %s failed: %s", failure["message"], failure["error"])
            self.runtime.post(
                m.RecordLog(actor=ACTOR, event_type="schedule_failed", event_data=failure)
            )
        return reply


def build_scheduler(config: Config, runtime: Runtime, maintenance: Maintenance) -> Scheduler | None:
    """The scheduler with the box's maintenance jobs; None when `[scheduler] enabled = false`."""
    section = config.section("scheduler")
    if section.get("enabled", True) is False:
        return None
    return Scheduler(
        runtime,
        clock=runtime.clock,
        timezone=str(section.get("timezone", config.timezone)),
        tick_every=float(section.get("tick_seconds", 5.0)),
        heartbeat_timeout=float(section.get("heartbeat_timeout", 15.0)),
        maintenance=maintenance,
    )
