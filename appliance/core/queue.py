"""Pure queue rules: what plays next, shuffle, moves. Functions on tuples, no Step."""

from __future__ import annotations

import random
from dataclasses import replace

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
            changes: dict[str, object] = {f"{source}_queue": rest}
            if source == "active" and venue.base_order:
                changes["base_order"] = tuple(x for x in venue.base_order if x != item.id)
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
    idx = index_of(items, item_id)
    rest = items[:idx] + items[idx + 1 :]
    to_index = max(0, min(to_index, len(rest)))
    return rest[:to_index] + (items[idx],) + rest[to_index:]


def index_of(items: tuple[QueueItem, ...], item_id: str) -> int:
    for i, item in enumerate(items):
        if item.id == item_id:
            return i
    return -1


def without(items: tuple[QueueItem, ...], item_id: str) -> tuple[QueueItem, ...]:
    idx = index_of(items, item_id)
    return items if idx < 0 else items[:idx] + items[idx + 1 :]
