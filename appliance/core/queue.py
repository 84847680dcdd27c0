"""Pure queue rules: what plays next, shuffle, moves. Functions on tuples, no Step."""

from __future__ import annotations

import random
from dataclasses import replace
from operator import attrgetter
from typing import Any

from appliance.core.model import QueueItem, Venue


def next_item(venue: Venue) -> tuple[QueueItem | None, str, Venue]:
    """Pop the next playable item: priority queue first (oldest first), then active.
    Unplayable items are passed over (left in place, so they keep their spot in the
    rotation in case they recover). Returns (item, source, venue without it)."""
    for source in ("priority", "active"):
        queue: tuple[QueueItem, ...] = getattr(venue, f"{source}_queue")
        for i, item in enumerate(queue):
            if item.unplayable:
                continue
            rest = queue[:i] + queue[i + 1 :]
            changes: dict[str, Any] = {f"{source}_queue": rest}
            if source == "active" and venue.base_order:
                changes["base_order"] = drop_id(venue.base_order, item.id)
            return item, source, replace(venue, **changes)
    return None, "", venue


def upcoming(venue: Venue, n: int) -> tuple[QueueItem, ...]:
    """The next `n` items in play order (what prefetch should resolve)."""
    out: list[QueueItem] = []
    for queue in (venue.priority_queue, venue.active_queue):
        for item in queue:
            if len(out) >= n:
                return tuple(out)
            if not item.unplayable:
                out.append(item)
    return tuple(out)


def shuffled(items: tuple[QueueItem, ...], seed: int) -> tuple[QueueItem, ...]:
    """Same seed, same order, in every window and after every replay."""
    order = list(items)
    random.Random(seed).shuffle(order)
    return tuple(order)


def restore_order(items: tuple[QueueItem, ...], base: tuple[str, ...]) -> tuple[QueueItem, ...]:
    """Undo a shuffle: items in `base` order first, anything added since after them."""
    rank = {item_id: i for i, item_id in enumerate(base)}
    known = sorted((it for it in items if it.id in rank), key=lambda it: rank[it.id])
    return tuple(known) + tuple(it for it in items if it.id not in rank)


def move(items: tuple[QueueItem, ...], item_id: str, to_index: int) -> tuple[QueueItem, ...]:
    return move_at(items, index_of(items, item_id), to_index)


def move_at(items: tuple[QueueItem, ...], idx: int, to_index: int) -> tuple[QueueItem, ...]:
    rest = items[:idx] + items[idx + 1 :]
    to_index = max(0, min(to_index, len(rest)))
    return rest[:to_index] + (items[idx],) + rest[to_index:]


_ID = item_id = attrgetter("id")
_VIDEO_ID = attrgetter("video_id")


def index_of(items: tuple[QueueItem, ...], item_id: str, hint: int = -1) -> int:
    """Where `item_id` is, or -1. A right `hint` (the index a client saw) answers at once."""
    if isinstance(hint, int) and 0 <= hint < len(items) and items[hint].id == item_id:
        return hint
    # map + list.index run in C: a 20,000-item queue is searched in about a millisecond
    try:
        return list(map(_ID, items)).index(item_id)
    except ValueError:
        return -1


def index_of_video(items: tuple[QueueItem, ...], video_id: str) -> int:
    try:
        return list(map(_VIDEO_ID, items)).index(video_id)
    except ValueError:
        return -1


def drop_id(ids: tuple[str, ...], item_id: str) -> tuple[str, ...]:
    """`ids` without `item_id` (the shuffle's base order), by a C-level search."""
    try:
        i = ids.index(item_id)
    except ValueError:
        return ids
    return ids[:i] + ids[i + 1 :]


def without(items: tuple[QueueItem, ...], item_id: str) -> tuple[QueueItem, ...]:
    idx = index_of(items, item_id)
    return items if idx < 0 else items[:idx] + items[idx + 1 :]
