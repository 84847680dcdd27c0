"""`Decks`: the mixer's state around its two slots — which one is live, which are idle,
and the transport the engine asked for (playing, paused, stopped or emergency).

`stops`, `ticks` and `recovery` work on this object (and on what else they are handed:
a post callable, the time, settings values), not on the `Mixer`.
"""

from __future__ import annotations

from appliance.player.deck_port import Deck
from appliance.player.slot import Slot


class Decks:
    def __init__(self, slots: list[Slot] | None = None) -> None:
        self.slots: list[Slot] = list(slots or [])
        self.live: Slot | None = None
        self.transport = "stopped"

    def idle(self) -> list[Slot]:
        """The slots that are not live (a deck still fading out among them)."""
        return [s for s in self.slots if s is not self.live]

    def others(self, slot: Slot) -> list[Slot]:
        return [s for s in self.slots if s is not slot]

    def slot_of(self, deck: Deck) -> Slot | None:
        return next((s for s in self.slots if s.deck is deck), None)

    def swap(self, incoming: Slot) -> Slot | None:
        """`incoming` is live now; the slot that was live is returned (None if none, or
        if it was `incoming` itself)."""
        outgoing = self.live
        self.live = incoming
        return outgoing if outgoing is not incoming else None

    def pause_all(self) -> None:
        for slot in self.slots:
            slot.deck.pause()

    def stop_all(self) -> None:
        """Every deck silenced and unloaded, nothing live."""
        for slot in self.slots:
            slot.deck.stop()
            slot.clear()
        self.live = None

    def take(self) -> list[Slot]:
        """Hand the slots over (the mixer is closing), leaving none."""
        slots, self.slots = self.slots, []
        return slots
