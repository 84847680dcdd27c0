"""`schedule_data`: weekly rules and one-off events in the venue's timezone, and the pure
question "what should be in force at time t".

Shape (all times are the venue's wall clock, `timezone` an IANA name, default: the box's):

    {"timezone": "Europe/London",
     "rules":  [{"id": "r1", "days": ["fri", "sat"], "start": "18:00", "end": "22:00",
                 "action": "playlist", "playlistId": "pl3", "priority": 0}],
     "events": [{"id": "e1", "start": "2026-12-31T20:00", "end": "2027-01-01T02:00",
                 "action": "event_mode", "message": "Private party"}]}

Actions: `playlist` (playlistId), `volume` (volume 0-100), `audio_hours` (music plays
inside, fades out outside every audio_hours slot), `silence` (no music, beats audio_hours),
`event_mode` (patron requests closed with `message`), `announcement` (the gallery clip
`contentId`, played at the slot's start, or every `everyMinutes` from its start until its
end; these are moments, not states, see `announcements_due`). A rule whose `end` is not after its
`start` runs past midnight into the next day; "24:00" is midnight at the end of the day.

Precedence when slots of the same kind overlap: a one-off event beats a weekly rule; then
the higher `priority`; then the slot that started later; then the later entry in its list.
Kinds are independent (a volume rule never hides a playlist rule). Wall-clock times are
turned into instants with zoneinfo, so a slot keeps its local hours across DST changes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from appliance.core.model import frozen_map
from appliance.core.outputs import Rejected

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ACTIONS = ("playlist", "volume", "audio_hours", "silence", "event_mode", "announcement")
KIND = {
    "playlist": "playlist",
    "volume": "volume",
    "audio_hours": "audio",
    "silence": "audio",
    "event_mode": "event_mode",
    "announcement": "announcement",
}
MAX_ENTRIES = 500
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$|^24:00$")


@dataclass(frozen=True)
class Slot:
    """One occurrence of a rule or event, as instants (epoch seconds)."""

    entry_id: str
    action: str
    start: float
    end: float
    params: Mapping[str, Any]
    source: str  # rule|event
    priority: int = 0
    order: int = 0

    @property
    def key(self) -> tuple[Any, ...]:
        """Identifies this occurrence and what it asks for: a change means "apply again"."""
        return (self.entry_id, self.start, tuple(sorted(self.params.items())))

    def rank(self) -> tuple[int, int, float, int]:
        return (self.source == "event", self.priority, self.start, self.order)


@dataclass(frozen=True)
class InForce:
    playlist: Slot | None = None
    volume: Slot | None = None
    audio: Slot | None = None  # the audio_hours or silence slot that decides, if any
    audio_on: bool | None = None  # None: the schedule says nothing about audio hours
    event_mode: Slot | None = None


# --- validation -----------------------------------------------------------------------


def _bad(message: str) -> Rejected:
    return Rejected("invalid_schedule", message)


def _zone(name: Any) -> ZoneInfo:
    if not isinstance(name, str) or not name:
        raise _bad("scheduleData.timezone must be an IANA name such as Europe/London.")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise _bad(f"Unknown timezone {name!r}.") from None


def _params(where: str, entry: Mapping[str, Any]) -> dict[str, Any]:
    action = entry.get("action")
    if action not in ACTIONS:
        raise _bad(f"{where}.action must be one of {', '.join(ACTIONS)}.")
    out: dict[str, Any] = {}
    if action == "playlist":
        pid = entry.get("playlistId", entry.get("playlist_id"))
        if not isinstance(pid, str) or not pid or len(pid) > 100:
            raise _bad(f"{where}.playlistId is required for a playlist slot.")
        out["playlistId"] = pid
    elif action == "volume":
        vol = entry.get("volume")
        if isinstance(vol, bool) or not isinstance(vol, int) or not 0 <= vol <= 100:
            raise _bad(f"{where}.volume must be a whole number from 0 to 100.")
        out["volume"] = vol
    elif action == "announcement":
        cid = entry.get("contentId")
        if not isinstance(cid, str) or not cid or len(cid) > 100:
            raise _bad(f"{where}.contentId is required for an announcement.")
        out["contentId"] = cid
        every = entry.get("everyMinutes")
        if every is not None:
            if isinstance(every, bool) or not isinstance(every, int) or not 1 <= every <= 1440:
                raise _bad(f"{where}.everyMinutes must be a whole number from 1 to 1440.")
            out["everyMinutes"] = every
    elif action == "event_mode":
        msg = entry.get("message", "")
        if not isinstance(msg, str) or len(msg) > 200:
            raise _bad(f"{where}.message must be text of up to 200 characters.")
        out["message"] = msg
    return out


def _common(where: str, entry: Any, index: int) -> dict[str, Any]:
    if not isinstance(entry, Mapping):
        raise _bad(f"{where} must be an object.")
    eid = entry.get("id", f"{where.split('[')[0][0]}{index + 1}")
    if not isinstance(eid, str) or not eid or len(eid) > 64:
        raise _bad(f"{where}.id must be text of up to 64 characters.")
    priority = entry.get("priority", 0)
    if isinstance(priority, bool) or not isinstance(priority, int) or not -100 <= priority <= 100:
        raise _bad(f"{where}.priority must be a whole number from -100 to 100.")
    enabled = entry.get("enabled", True)
    if not isinstance(enabled, bool):
        raise _bad(f"{where}.enabled must be true or false.")
    label = entry.get("label", "")
    if not isinstance(label, str) or len(label) > 120:
        raise _bad(f"{where}.label must be text of up to 120 characters.")
    out = {"id": eid, "action": entry.get("action"), "priority": priority, "enabled": enabled}
    if label:
        out["label"] = label
    out.update(_params(where, entry))
    return out


def _rule(i: int, entry: Any) -> dict[str, Any]:
    where = f"rules[{i}]"
    out = _common(where, entry, i)
    days = entry.get("days", list(DAYS))
    if not isinstance(days, list) or not days or any(d not in DAYS for d in days):
        raise _bad(f"{where}.days must be a non-empty list of {', '.join(DAYS)}.")
    for key in ("start", "end"):
        if not isinstance(entry.get(key), str) or not _HHMM.match(entry[key]):
            raise _bad(f"{where}.{key} must be a time HH:MM (00:00-24:00).")
    if entry["start"] == "24:00":
        raise _bad(f"{where}.start must be before 24:00.")
    out.update(days=[d for d in DAYS if d in days], start=entry["start"], end=entry["end"])
    return out


def _local(where: str, value: Any) -> str:
    try:
        parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None:
        raise _bad(f"{where} must be a date and time, e.g. 2026-12-31T20:00.")
    return parsed.isoformat(timespec="minutes")


def _event(i: int, entry: Any) -> dict[str, Any]:
    where = f"events[{i}]"
    out = _common(where, entry, i)
    start, end = (
        _local(f"{where}.start", entry.get("start")),
        _local(f"{where}.end", entry.get("end")),
    )
    a, b = datetime.fromisoformat(start), datetime.fromisoformat(end)
    if (a.tzinfo is None) != (b.tzinfo is None) or b <= a:
        raise _bad(f"{where}.end must be after its start.")
    out.update(start=start, end=end)
    return out


def validate_schedule(data: Any) -> Mapping[str, Any]:
    """The normalised schedule, or `Rejected` naming the first problem."""
    if not isinstance(data, Mapping):
        raise _bad("scheduleData must be an object.")
    unknown = [k for k in data if k not in ("timezone", "rules", "events")]
    if unknown:
        raise _bad(f"scheduleData: unknown key {unknown[0]!r}.")
    out: dict[str, Any] = {}
    if "timezone" in data:
        _zone(data["timezone"])
        out["timezone"] = data["timezone"]
    for key, check in (("rules", _rule), ("events", _event)):
        entries = data.get(key, [])
        if not isinstance(entries, list):
            raise _bad(f"scheduleData.{key} must be a list.")
        if len(entries) > MAX_ENTRIES:
            raise _bad(f"scheduleData.{key} holds at most {MAX_ENTRIES} entries.")
        out[key] = [check(i, e) for i, e in enumerate(entries)]
        ids = [e["id"] for e in out[key]]
        if len(set(ids)) != len(ids):
            raise _bad(f"scheduleData.{key}: ids must be unique.")
    return frozen_map(out)


# --- what is in force -------------------------------------------------------------------


def _at(day: date, hhmm: str, tz: ZoneInfo) -> datetime:
    if hhmm == "24:00":
        return datetime.combine(day + timedelta(days=1), time(0, 0), tz)
    h, m = int(hhmm[:2]), int(hhmm[3:])
    return datetime.combine(day, time(h, m), tz)


def _rule_slots(rule: Mapping[str, Any], order: int, t: float, tz: ZoneInfo) -> list[Slot]:
    """Occurrences of a weekly rule that started today or yesterday and cover `t`."""
    today = datetime.fromtimestamp(t, tz).date()
    out = []
    for day in (today - timedelta(days=1), today):
        if DAYS[day.weekday()] not in rule["days"]:
            continue
        start = _at(day, rule["start"], tz).timestamp()
        end_dt = _at(day, rule["end"], tz)
        if rule["end"] != "24:00" and rule["end"] <= rule["start"]:
            end_dt = _at(day + timedelta(days=1), rule["end"], tz)
        if start <= t < end_dt.timestamp():
            out.append(_slot(rule, "rule", order, start, end_dt.timestamp()))
    return out


def _event_slot(event: Mapping[str, Any], order: int, t: float, tz: ZoneInfo) -> Slot | None:
    a, b = datetime.fromisoformat(event["start"]), datetime.fromisoformat(event["end"])
    start = (a if a.tzinfo else a.replace(tzinfo=tz)).timestamp()
    end = (b if b.tzinfo else b.replace(tzinfo=tz)).timestamp()
    return _slot(event, "event", order, start, end) if start <= t < end else None


def _slot(entry: Mapping[str, Any], source: str, order: int, start: float, end: float) -> Slot:
    keys = ("playlistId", "volume", "message", "contentId", "everyMinutes")
    params = {k: entry[k] for k in keys if k in entry}
    return Slot(
        entry_id=f"{source}:{entry['id']}",
        action=entry["action"],
        start=start,
        end=end,
        params=frozen_map(params),
        source=source,
        priority=int(entry.get("priority", 0)),
        order=order,
    )


def zone_of(data: Mapping[str, Any], default_tz: str = "UTC") -> ZoneInfo:
    try:
        return ZoneInfo(str(data.get("timezone") or default_tz))
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def active_slots(data: Mapping[str, Any], t: float, default_tz: str = "UTC") -> list[Slot]:
    tz = zone_of(data, default_tz)
    slots: list[Slot] = []
    for i, rule in enumerate(data.get("rules", ())):
        if rule.get("enabled", True):
            slots.extend(_rule_slots(rule, i, t, tz))
    for i, event in enumerate(data.get("events", ())):
        if event.get("enabled", True) and (slot := _event_slot(event, i, t, tz)):
            slots.append(slot)
    return slots


def announcements_due(
    data: Mapping[str, Any], since: float, until: float, default_tz: str = "UTC"
) -> list[tuple[str, str, float]]:
    """Announcements whose moment falls in (since, until]: (occurrence key, contentId, at).
    A slot without `everyMinutes` plays once, at its start."""
    due = []
    for slot in active_slots(data, until, default_tz):
        if slot.action != "announcement":
            continue
        every = slot.params.get("everyMinutes")
        step = float(every) * 60 if every else None
        at = slot.start
        if step is not None and at <= since:  # the first moment after `since`
            at += ((since - at) // step + 1) * step
        while since < at <= until and at < slot.end:
            due.append((f"{slot.entry_id}@{at:.0f}", str(slot.params["contentId"]), at))
            if step is None:
                break
            at += step
    return sorted(due, key=lambda d: d[2])


def in_force(data: Mapping[str, Any], t: float, default_tz: str = "UTC") -> InForce:
    """What the schedule asks for at instant `t` (pure; see the module's precedence)."""
    best: dict[str, Slot] = {}
    silence: Slot | None = None
    for slot in active_slots(data, t, default_tz):
        if slot.action == "silence":
            if silence is None or slot.rank() > silence.rank():
                silence = slot
            continue
        kind = KIND[slot.action]
        if kind not in best or slot.rank() > best[kind].rank():
            best[kind] = slot
    has_audio_rules = any(
        e.get("action") in ("audio_hours", "silence")
        for key in ("rules", "events")
        for e in data.get(key, ())
        if e.get("enabled", True)
    )
    audio = silence or best.get("audio")
    audio_on = None if not has_audio_rules else (silence is None and "audio" in best)
    return InForce(
        playlist=best.get("playlist"),
        volume=best.get("volume"),
        audio=audio,
        audio_on=audio_on,
        event_mode=best.get("event_mode"),
    )
