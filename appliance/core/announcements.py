"""Announcements: a gallery audio clip played over the music, which ducks under it.

Staff only. The core checks the clip and tells the player (`Announce`); the player ducks
the music, plays the clip and answers `AnnouncementFinished`. Every console hears of both
through SYSTEM_STATUS (`announcement_started` / `announcement_finished`)."""

from __future__ import annotations

from appliance.core import messages as m
from appliance.core.handling import Step, require_staff, rule, table
from appliance.core.outputs import Announce, Rejected


def play_announcement(s: Step, msg: m.PlayAnnouncement) -> None:
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


def announcement_finished(s: Step, msg: m.AnnouncementFinished) -> None:
    s.emit("SYSTEM_STATUS", status="announcement_finished", content_id=msg.content_id,
           reason=msg.reason)  # fmt: skip


HANDLERS = table(
    rule(m.PlayAnnouncement, play_announcement),
    rule(m.AnnouncementFinished, announcement_finished),
)
