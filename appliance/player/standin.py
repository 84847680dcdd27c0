"""`StandInPlayer`: reports tracks as played without making a sound.

For machines with no mpv and for tests of everything but audio. It executes the engine's
effects the way the real mixer does at the level of facts: a started track is reported
`TrackStarted`, and `TrackEnded` follows after the track's duration divided by `speed`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from appliance.core import messages as m
from appliance.core.model import State
from appliance.core.outputs import (
    Effect,
    EmergencyStop,
    FadeOutStop,
    Pause,
    PlayTrack,
    Resume,
    StopPlayback,
)

PLAYER = m.Actor(user_id="player", role="admin", source="player")


class StandInPlayer:
    def __init__(
        self,
        post: Callable[[m.Message], None],
        *,
        speed: float = 1.0,
        default_duration: float = 30.0,
    ) -> None:
        self._post = post
        self.speed = speed
        self.default_duration = default_duration
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()
        self.played: list[str] = []  # play_ids started, in order

    def __call__(self, effects: tuple[Effect, ...], state: State) -> None:
        for effect in effects:
            if isinstance(effect, PlayTrack):
                self._start(effect)
            elif isinstance(effect, Pause | EmergencyStop | FadeOutStop | StopPlayback):
                self._cancel()
            elif isinstance(effect, Resume):
                np = state.venue.now_playing if state.venue else None
                if np is not None:
                    self._schedule(
                        np.play_id, max(0.0, (np.duration or self.default_duration) - np.position)
                    )

    def _start(self, effect: PlayTrack) -> None:
        self.played.append(effect.play_id)
        if effect.paused:
            self._cancel()
            return
        self._post(m.TrackStarted(play_id=effect.play_id, actor=PLAYER))
        length = (effect.item.duration or self.default_duration) - effect.start_at
        self._schedule(effect.play_id, max(0.0, length))

    def _schedule(self, play_id: str, seconds: float) -> None:
        self._cancel()
        timer = threading.Timer(
            seconds / self.speed, self._post, args=(m.TrackEnded(play_id=play_id, actor=PLAYER),)
        )
        timer.daemon = True
        with self._lock:
            self._timer = timer
        timer.start()

    def _cancel(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

    def stop(self) -> None:
        self._cancel()
