"""Announcements: a gallery audio clip played over the music, which ducks under it.

Staff only. The core checks the clip and tells the player (`Announce`); the player ducks
the music, plays the clip and answers `AnnouncementFinished`. Every console hears of both
through SYSTEM_STATUS (`announcement_started` / `announcement_finished`)."""

from __future__ import annotations

from appliance.core import messages as m
from appliance.core.engine import Step, handles, require_staff
from appliance.core.outputs import Announce, Rejected


@handles(m.PlayAnnouncement)
def play_announcement(s: Step) -> None:
    msg = s.msg
    assert isinstance(msg, m.PlayAnnouncement)
    require_staff(s)
    item = s.state.content.get(msg.content_id)
    if item is None:
        raise Rejected("not_found", f"No content item {msg.content_id!r}.", 404)
    if item.kind != "audio":
        raise Rejected("not_audio", "Only an audio clip can be announced.", 409)
    venue = s.venue
    if venue.transport == "emergency":
        raise Rejected("emergency_stop", "The emergency stop is on: clear it first.", 409)
    s.effect(Announce(item.content_id, float(venue.player_settings.duck_db)))
    s.emit("SYSTEM_STATUS", status="announcement_started", content_id=item.content_id,
           filename=item.filename)  # fmt: skip
    s.log("announcement_played", content_id=item.content_id, filename=item.filename)
    s.reply = {"content_id": item.content_id}


@handles(m.AnnouncementFinished)
def announcement_finished(s: Step) -> None:
    msg = s.msg
    assert isinstance(msg, m.AnnouncementFinished)
    s.emit("SYSTEM_STATUS", status="announcement_finished", content_id=msg.content_id,
           reason=msg.reason)  # fmt: skip
