"""`Jukebox`: a box for tests, built by `bootstrap.build` with the real library and mpv
mixer (vo=null) as its only adapters, a FileStore on a temp dir, optionally playing into
a `PulseServer`.

    box = Jukebox(tmp_path, media_dir=..., pulse=pulse).start()
    box.set("crossfade_time", 2)
    box.add("http://127.0.0.1:.../a.mp4")
    box.wait_for(lambda st: st.venue.now_playing is not None, timeout=30)
    box.command("EMERGENCY_STOP")
    box.stop()

`log_types()` lists the activity log's event types; `playing()` the current video id;
`events` every published (type, payload) since start.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from appliance.bootstrap import Box, build
from appliance.config import Config
from appliance.core import messages as m
from appliance.core.model import State, TrackInfo
from appliance.runtime import Reply
from appliance.wiring import wire_content, wire_display, wire_library, wire_player

STAFF = m.Actor(user_id="staff", role="admin", source="web")


class Jukebox:
    def __init__(
        self,
        root: Path,
        *,
        media_dir: Path | None = None,
        pulse: Any = None,
        player: dict[str, Any] | None = None,
        library: dict[str, Any] | None = None,
        cache_max_mb: int = 512,
        video: str = "null",
        content: bool = False,
        display: bool = False,
    ) -> None:
        self.root = Path(root)
        self.pulse = pulse
        media = media_dir if media_dir is not None else self.root / "media"
        media.mkdir(parents=True, exist_ok=True)
        self.config = Config(
            data_dir=self.root / "data",
            media_dir=media,
            audio="pulse" if pulse is not None else "null",
            video=video,
            demo_media=False,
            cache_max_mb=cache_max_mb,
            sections={
                "player": {**(player or {})},
                "display": {"vo": (player or {}).get("vo", "gpu,wlshm")},
                "library": {"attempts": 2, "backoff": 0.05, "socket_timeout": 3,
                            "scan_every": 0.5, **(library or {})},
            },
        )  # fmt: skip
        self.box: Box | None = None
        self.with_content = content  # the gallery too (announcement clips)
        self.with_display = display  # the TV (needs a Wayland compositor in the env)
        self._saved_env: dict[str, str | None] = {}

    def start(self) -> Jukebox:
        if self.pulse is not None:  # libpulse reads these when mpv opens its output
            for key, value in self.pulse.env.items():
                self._saved_env[key] = os.environ.get(key)
                os.environ[key] = value
        # The player and its library only: the console, panel and scheduler have rigs of
        # their own, and a console here would want the port.
        adapters = [wire_library, *([wire_display] if self.with_display else []), wire_player]
        adapters += [wire_content] if self.with_content else []
        self.box = build(self.config, adapters=adapters)
        self.events: list[tuple[str, dict[str, Any]]] = []  # every published event, in order
        self._events_sub = self.box.runtime.subscribe(maxsize=100_000, name="test-events")
        self._events_thread = threading.Thread(target=self._collect, daemon=True)
        self._events_thread.start()
        try:
            self.box.start()
        except BaseException:
            self.stop()
            raise
        return self

    def _collect(self) -> None:
        while (item := self._events_sub.get(timeout=None)) is not None:
            for event in getattr(item, "events", ()):
                self.events.append((event.type, dict(event.payload)))

    def stop(self) -> None:
        if self.box is not None:
            self.box.stop()  # closes the event subscription too
            self._events_thread.join(timeout=10)
            self.box = None
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    def __enter__(self) -> Jukebox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- parts -----------------------------------------------------------------------------

    @property
    def runtime(self) -> Any:
        assert self.box is not None
        return self.box.runtime

    @property
    def mixer(self) -> Any:
        assert self.box is not None
        return next(a for a in self.box.adapters if type(a).__name__ == "Mixer")

    @property
    def library(self) -> Any:
        assert self.box is not None
        return self.box.services.library

    @property
    def state(self) -> State:
        return self.runtime.state

    # -- commands --------------------------------------------------------------------------

    def submit(self, msg: m.Message) -> Reply:
        reply = self.runtime.submit(msg, timeout=30)
        assert reply.ok, reply.error
        return reply

    def set(self, setting: str, value: Any) -> Reply:
        return self.submit(m.UpdateSetting(setting=setting, value=value, actor=STAFF))

    def add(self, video_id: str, title: str = "") -> Reply:
        return self.submit(m.AddToQueue(track=TrackInfo(video_id, title), actor=STAFF))

    def command(self, command: str, value: Any = None) -> Reply:
        return self.submit(m.UiCommand(command=command, value=value, actor=STAFF))

    # -- observing -------------------------------------------------------------------------

    def wait_for(self, check: Callable[[State], Any], timeout: float = 30.0) -> Any:
        """Wait until `check(state)` is truthy (woken by each published change)."""
        sub = self.runtime.subscribe(maxsize=64, name="test")
        try:
            deadline = time.monotonic() + timeout
            while True:
                result = check(self.state)
                if result:
                    return result
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"condition not met in {timeout}s")
                sub.get(timeout=min(left, 0.25))
        finally:
            sub.close()

    def playing(self) -> str:
        venue = self.state.venue
        np = venue.now_playing if venue else None
        return np.video_id if np else ""

    def log_types(self) -> list[str]:
        return [e.event_type for e in self.state.activity_log]

    def log_entries(self, event_type: str) -> list[dict[str, Any]]:
        return [dict(e.event_data) for e in self.state.activity_log if e.event_type == event_type]
