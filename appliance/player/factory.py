"""Which player the box runs: the mpv mixer, or the stand-in where there is no mpv."""

from __future__ import annotations

from typing import TYPE_CHECKING

from appliance.player.standin import StandInPlayer

if TYPE_CHECKING:
    from appliance.bootstrap import Box


class StandInAdapter:
    def __init__(self, box: Box) -> None:
        self.player = StandInPlayer(box.runtime.post)
        box.runtime.add_effect_sink(self.player, "standin-player")

    def start(self) -> None:
        pass

    def stop(self) -> None:
        self.player.stop()


def build_player(box: Box) -> StandInAdapter:
    return StandInAdapter(box)
