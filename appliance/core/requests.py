"""Patron request rules. Each rejection has its own code and words a patron understands.
Staff (admin, moderator) bypass the caps; the blocklist and duplicates apply to patrons."""

from __future__ import annotations

from appliance.core.model import QueueItem, TrackInfo, Venue
from appliance.core.outputs import Rejected


def check_request(venue: Venue, track: TrackInfo, user_id: str, now: float) -> None:
    rules = venue.request_rules
    if not rules.requests_open:
        msg = rules.closed_message or "Requests are closed right now."
        raise Rejected("requests_closed", msg, 403)
    if track.video_id in rules.blocked_video_ids:
        raise Rejected("blocked", "Sorry, that song can't be requested here.", 403)
    blocked_artists = {a.casefold() for a in rules.blocked_artists}
    if track.artist and track.artist.casefold() in blocked_artists:
        raise Rejected("blocked", f"Sorry, {track.artist} can't be requested here.", 403)
    np = venue.now_playing
    if np is not None and np.video_id == track.video_id:
        raise Rejected("now_playing", "That song is playing right now.", 409)
    if any(i.video_id == track.video_id for i in venue.priority_queue):
        raise Rejected("already_queued", "That song is already in the queue.", 409)
    pending = sum(1 for i in venue.priority_queue if i.added_by_user_id == user_id)
    if pending >= rules.max_pending_per_user:
        raise Rejected(
            "too_many_requests",
            f"You have {pending} requests waiting; wait until one has played.",
            429,
        )
    if len(venue.priority_queue) >= rules.priority_cap:
        raise Rejected("queue_full", "The request queue is full; try again soon.", 429)
    cooldown = rules.cooldown_minutes * 60
    for entry in reversed(venue.history):
        if now - entry.played_at_epoch > cooldown:
            break
        if entry.item.video_id == track.video_id:
            minutes = max(1, int((cooldown - (now - entry.played_at_epoch)) // 60))
            raise Rejected(
                "recently_played",
                f"That song played recently; it can be requested again in {minutes} min.",
                409,
            )
    if track.duration and track.duration > rules.max_duration_seconds:
        raise Rejected(
            "too_long",
            f"That song is too long (limit {rules.max_duration_seconds // 60} min).",
            400,
        )


def wait_estimate(venue: Venue, item: QueueItem) -> dict[str, int]:
    """Where a new request stands: its place and the minutes until it plays."""
    seconds = 0
    np = venue.now_playing
    if np is not None and np.duration:
        seconds += max(0, int(np.duration - np.position))
    for i, queued in enumerate(venue.priority_queue):
        if queued.id == item.id:
            return {"position": i + 1, "eta_minutes": round(seconds / 60)}
        seconds += queued.duration or 210
    return {"position": 0, "eta_minutes": 0}
