"""Announcements in the core: staff only, an audio clip from the gallery, the duck depth
from the settings, every console told; the emergency stop comes first."""

from __future__ import annotations

from appliance.core import messages as m
from appliance.core.model import ContentItem
from appliance.core.outputs import Announce
from tests.unit.engine_kit import ADMIN, MOD, PLAYER, Driver, effects_of, patron, playing_venue


def _gallery(d: Driver) -> None:
    for cid, kind, mime in (("c-clip", "audio", "audio/mpeg"), ("c-logo", "image", "image/png")):
        item = ContentItem(content_id=cid, filename=cid + ".bin", mime_type=mime, kind=kind)
        d.do(m.AddContent(item=item, actor=ADMIN))


def _status(out: object, status: str) -> dict:
    events = [e for e in out.events if e.type == "SYSTEM_STATUS"]  # type: ignore[attr-defined]
    found = [dict(e.payload) for e in events if e.payload.get("status") == status]
    assert found, events
    return found[0]


def test_staff_announce_a_clip_and_the_music_ducks_by_the_setting() -> None:
    d = playing_venue(3)
    _gallery(d)
    d.setting("duck_db", 18)
    out = d.do(m.PlayAnnouncement(content_id="c-clip", actor=MOD))
    assert effects_of(out, Announce) == [Announce("c-clip", 18.0)]
    assert _status(out, "announcement_started")["content_id"] == "c-clip"
    assert d.state.activity_log[-1].event_type == "announcement_played"
    done = d.do(m.AnnouncementFinished(content_id="c-clip", reason="eof", actor=PLAYER))
    assert _status(done, "announcement_finished")["reason"] == "eof"


def test_patrons_cannot_announce_and_bad_clips_are_refused() -> None:
    d = playing_venue(3)
    _gallery(d)
    d.reject(m.PlayAnnouncement(content_id="c-clip", actor=patron(1)), "forbidden", 403)
    d.reject(m.PlayAnnouncement(content_id="c-none", actor=ADMIN), "not_found", 404)
    d.reject(m.PlayAnnouncement(content_id="c-logo", actor=ADMIN), "not_audio", 409)


def test_no_announcement_during_an_emergency_stop() -> None:
    d = playing_venue(3)
    _gallery(d)
    d.ui("EMERGENCY_STOP")
    d.reject(m.PlayAnnouncement(content_id="c-clip", actor=ADMIN), "emergency_stop", 409)
