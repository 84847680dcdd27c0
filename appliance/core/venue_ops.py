"""Queue commands, votes, resolver facts and venue notices."""

from __future__ import annotations

from dataclasses import replace
from operator import attrgetter
from typing import Any

from appliance.core import messages as m
from appliance.core import queue
from appliance.core.handling import Step, require_staff, rule, table
from appliance.core.model import QueueItem, TrackInfo
from appliance.core.outputs import Rejected
from appliance.core.requests import check_request, wait_estimate
from appliance.core.transport import advance, queue_changed, venue_is_idle

MAX_VIDEO_ID = 2048
_VIDEO_ID = attrgetter("video_id")


def valid_track(track: TrackInfo) -> TrackInfo:
    vid = track.video_id
    if not isinstance(vid, str) or not vid.strip() or len(vid) > MAX_VIDEO_ID:
        raise Rejected("invalid_video_id", "videoId must be a non-empty string.")
    if not isinstance(track.duration, int) or track.duration < 0:
        raise Rejected("invalid_value", "duration must be a whole number of seconds.")
    return replace(track, video_id=vid.strip())


def item_view(item: QueueItem) -> dict[str, object]:
    return {"id": item.id, "video_id": item.video_id, "title": item.title}


def add_to_queue(s: Step, msg: m.AddToQueue) -> None:
    track = valid_track(msg.track)
    if msg.position not in ("end", "next"):
        raise Rejected("invalid_position", "position must be 'end' or 'next'.")
    actor = msg.actor
    venue = s.venue
    patron = not actor.is_staff
    if patron:
        check_request(venue, track, actor.user_id, s.now)
    item = QueueItem(
        id=s.next_id("q"),
        video_id=track.video_id,
        title=track.title,
        artist=track.artist,
        duration=track.duration,
        thumbnail=track.thumbnail,
        added_by_user_id=actor.user_id,
        added_at=s.now_iso,
        priority=1 if (patron or msg.position == "next") else 0,
    )
    if patron:
        s.set_venue(priority_queue=venue.priority_queue + (item,))
        where = "priority"
    elif msg.position == "next":
        s.set_venue(priority_queue=(item,) + venue.priority_queue)
        where = "priority"
    else:
        if venue.player_settings.shuffle_enabled:
            active, base = queue.append_listed(venue.active_queue, item, venue.base_order)
            s.set_venue(active_queue=active, base_order=base)
        else:
            s.set_venue(active_queue=queue.append(venue.active_queue, item))
        where = "active"
    s.log("track_added", video_id=item.video_id, queue_item_id=item.id, queue=where, request=patron)
    reply: dict[str, object] = {"item": item, "queue": where}
    if where == "priority":
        reply.update(wait_estimate(s.venue, item))
    if venue_is_idle(s.venue):
        advance(s, "cut")
    else:
        queue_changed(s)
    s.reply = reply


def remove_from_queue(s: Step, msg: m.RemoveFromQueue) -> None:
    venue = s.venue
    found: tuple[str, int] | None = None
    for name in ("priority", "active"):
        items: tuple[QueueItem, ...] = getattr(venue, f"{name}_queue")
        if msg.queue_item_id:
            i = queue.index_of(items, msg.queue_item_id, msg.index_hint)
        else:
            i = queue.index_of_video(items, msg.video_id) if msg.video_id else -1
        if i >= 0:
            found = (name, i)
            break
    if found is None:
        raise Rejected("not_found", "That track is not in the queue.", 404)
    name, i = found
    items = getattr(venue, f"{name}_queue")
    item = items[i]
    if not msg.actor.is_staff and item.added_by_user_id != msg.actor.user_id:
        raise Rejected("forbidden", "You can only remove your own requests.", 403)
    if name == "active" and venue.base_order:
        active, base = queue.remove_listed(items, i, venue.base_order)
        s.set_venue(active_queue=active, base_order=base)
    else:
        s.set_venue(**{f"{name}_queue": queue.remove_at(items, i)})
    s.log(
        "track_removed",
        video_id=item.video_id,
        queue_item_id=item.id,
        queue=name,
        request=name == "priority",
    )
    s.reply = {"removed": item_view(item), "queue": name}
    queue_changed(s)


def move_queue_item(s: Step, msg: m.MoveQueueItem) -> None:
    require_staff(s)
    if isinstance(msg.to_index, bool) or not isinstance(msg.to_index, int) or msg.to_index < 0:
        raise Rejected("invalid_value", "toIndex must be a whole number >= 0.")
    venue = s.venue
    for name in ("priority", "active"):
        items = getattr(venue, f"{name}_queue")
        idx = queue.index_of(items, msg.queue_item_id, msg.index_hint)
        if idx >= 0:
            s.set_venue(**{f"{name}_queue": queue.move_at(items, idx, msg.to_index)})
            s.log("track_moved", queue_item_id=msg.queue_item_id, to_index=msg.to_index, queue=name)
            s.reply = {"queue": name, "toIndex": min(msg.to_index, len(items) - 1)}
            queue_changed(s)
            return
    raise Rejected("not_found", "That track is not in the queue.", 404)


def clear_queue(s: Step, msg: m.ClearQueue) -> None:
    require_staff(s)
    cleared = len(s.venue.active_queue)
    s.set_venue(active_queue=(), base_order=())
    s.log("queue_cleared", cleared=cleared)
    s.reply = {"cleared": cleared}
    queue_changed(s)


def vote(s: Step, msg: m.Vote) -> None:
    np = s.venue.now_playing
    if np is None or np.video_id != msg.video_id:
        raise Rejected("not_playing", "You can only vote on the song that is playing.", 409)
    user = msg.actor.user_id
    if msg.vote_type in ("like", "unlike"):
        likers = tuple(x for x in np.likers if x != user)
        if msg.vote_type == "like":
            likers += (user,)
        np = replace(np, likers=likers, vote_count=len(likers), is_liked=bool(likers))
        s.set_venue(now_playing=np)
        s.emit("NOW_PLAYING_UPDATE")
        s.log("track_voted", video_id=np.video_id, vote_type=msg.vote_type)
        s.reply = {"vote_count": np.vote_count, "is_liked": np.is_liked}
        return
    if msg.vote_type != "skip":
        raise Rejected("invalid_vote", "voteType must be like, unlike or skip.")
    threshold = s.venue.request_rules.vote_skip_threshold
    if threshold <= 0:
        raise Rejected("vote_skip_off", "Vote-to-skip is off at this venue.", 403)
    voters = np.skip_voters if user in np.skip_voters else np.skip_voters + (user,)
    s.set_venue(now_playing=replace(np, skip_voters=voters))
    s.log("skip_voted", video_id=np.video_id, votes=len(voters), needed=threshold)
    if len(voters) >= threshold:
        advance(s, "skip")
        s.reply = {"skipped": True, "votes": len(voters), "needed": threshold}
    else:
        s.emit("NOW_PLAYING_UPDATE")
        s.reply = {"skipped": False, "votes": len(voters), "needed": threshold}


def _update_items(
    items: tuple[QueueItem, ...], video_id: str, **changes: Any
) -> tuple[QueueItem, ...]:
    videos = list(map(_VIDEO_ID, items))  # C-level scan: cheap on a 20,000-item queue
    out = list(items)
    start = 0
    while True:
        try:
            i = videos.index(video_id, start)
        except ValueError:
            break
        out[i] = replace(items[i], **changes)
        start = i + 1
    return items if start == 0 else queue.same_ids(tuple(out), items)


def track_resolved(s: Step, msg: m.TrackResolved) -> None:
    t = msg.track
    meta: dict[str, Any] = {
        "title": t.title,
        "artist": t.artist,
        "duration": t.duration,
        "thumbnail": t.thumbnail,
        "unplayable": False,
    }
    meta = {k: v for k, v in meta.items() if v or k == "unplayable"}
    venue = s.venue
    active = _update_items(venue.active_queue, t.video_id, **meta)
    priority = _update_items(venue.priority_queue, t.video_id, **meta)
    np = venue.now_playing
    if np is not None and np.video_id == t.video_id:
        np_meta = {k: v for k, v in meta.items() if k != "unplayable" and not getattr(np, k)}
        np = replace(np, **np_meta) if np_meta else np
    if (
        active == venue.active_queue
        and priority == venue.priority_queue
        and np is venue.now_playing
    ):
        s.durable = False
        return
    s.set_venue(active_queue=active, priority_queue=priority, now_playing=np)
    s.emit("QUEUE_UPDATE")
    if np is not venue.now_playing:
        s.emit("NOW_PLAYING_UPDATE")


def track_unplayable(s: Step, msg: m.TrackUnplayable) -> None:
    venue = s.venue
    active = _update_items(venue.active_queue, msg.video_id, unplayable=True)
    priority = _update_items(venue.priority_queue, msg.video_id, unplayable=True)
    if active == venue.active_queue and priority == venue.priority_queue:
        # already known: no change, no new prefetch (which would report it again, forever)
        s.durable = False
        return
    s.set_venue(active_queue=active, priority_queue=priority)
    s.log("track_unplayable", video_id=msg.video_id, reason=msg.reason)
    queue_changed(s)


def record_log(s: Step, msg: m.RecordLog) -> None:
    s.log(msg.event_type, **dict(msg.event_data))


def system_notice(s: Step, msg: m.SystemNotice) -> None:
    s.emit("SYSTEM_STATUS", status=msg.status, **dict(msg.detail))
    s.durable = False  # a notice is news, not state


def update_schedule(s: Step, msg: m.UpdateSchedule) -> None:
    require_staff(s)
    from appliance.core.schedule import validate_schedule

    data = validate_schedule(msg.schedule_data)
    s.set_venue(schedule_data=data)
    s.emit("SCHEDULE_DATA_UPDATE")
    s.log("schedule_updated")
    s.reply = {"schedule_data": data}


HANDLERS = table(
    rule(m.AddToQueue, add_to_queue),
    rule(m.RemoveFromQueue, remove_from_queue),
    rule(m.MoveQueueItem, move_queue_item),
    rule(m.ClearQueue, clear_queue),
    rule(m.Vote, vote),
    rule(m.TrackResolved, track_resolved),
    rule(m.TrackUnplayable, track_unplayable),
    rule(m.RecordLog, record_log),
    rule(m.SystemNotice, system_notice),
    rule(m.UpdateSchedule, update_schedule),
)
