"""`Tv`: a listener of the runtime that keeps the TV's overlay in step with the venue.

Each published change is turned into a `TvPicture`; only a picture that differs is drawn,
on the idle surface (`idle_screen`) and on the player's decks (`deck_overlay`). The facts
the state does not hold (the patron address, the first-start PIN, setup problems) are read
again every `facts_every` seconds.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from appliance.core.model import State
from appliance.display.overlay import (
    ScreenFacts,
    TvPicture,
    deck_overlay,
    idle_screen,
    picture_of,
)
from appliance.runtime_port import RuntimePort
from appliance.subscription import Published

log = logging.getLogger(__name__)


class Surface(Protocol):
    def show_overlay(self, ass_events: str) -> None: ...

    def show_logo(self, raw: Path | None) -> None: ...


class Tv:
    def __init__(
        self,
        feed: RuntimePort,
        facts: Callable[[], ScreenFacts],
        idle: Surface,
        decks: Callable[[], Surface | None],
        *,
        logo_file: Callable[[str], Path | None] = lambda _id: None,
        facts_every: float = 10.0,
    ) -> None:
        self._feed = feed
        self._facts = facts
        self._idle = idle
        self._decks = decks  # the player's, once it runs
        self._facts_every = facts_every
        self._logo_file = logo_file  # gallery id -> raw pixels for the overlay
        self._picture: TvPicture | None = None
        self._deck_picture: TvPicture | None = None
        self._announcing = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.drawn = 0  # pictures drawn (for tests and the figures)

    def start(self) -> None:
        self._sub = self._feed.subscribe(name="tv")
        self._thread = threading.Thread(target=self._run, name="tv", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._sub.close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        facts, read_at = self._facts(), time.monotonic()
        self.draw(self._feed.state, facts)
        while not self._stop.is_set():
            item = self._sub.get(timeout=self._facts_every if self._deck_picture else 1.0)
            if time.monotonic() - read_at >= self._facts_every:
                facts, read_at = self._facts(), time.monotonic()
            if isinstance(item, Published):
                for event in item.events:
                    if event.type == "SYSTEM_STATUS":
                        status = event.payload.get("status")
                        if status == "announcement_started":
                            self._announcing = True
                        elif status == "announcement_finished":
                            self._announcing = False
            state = item.state if item is not None else self._feed.state
            try:
                self.draw(state, facts)
            except Exception:  # the TV must never take the box down
                log.exception("drawing the TV failed")

    def draw(self, state: State, facts: ScreenFacts) -> None:
        picture = picture_of(state, facts, self._announcing)
        # a logo is added or removed only when it changes: removing one never shown is an
        # error to some mpv versions
        if picture != self._picture:
            logo_changed = picture.logo != (self._picture.logo if self._picture else "")
            self._picture = picture
            self._idle.show_overlay(idle_screen(picture))
            if logo_changed:
                self._idle.show_logo(self._logo(picture))
            self.drawn += 1
        decks = self._decks()  # None until the player runs; it may start after us
        if decks is not None and picture != self._deck_picture:
            if picture.logo != (self._deck_picture.logo if self._deck_picture else ""):
                decks.show_logo(self._logo(picture))
            self._deck_picture = picture
            decks.show_overlay(deck_overlay(picture))

    def _logo(self, picture: TvPicture) -> Path | None:
        return self._logo_file(picture.logo) if picture.logo else None
