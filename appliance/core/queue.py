"""Pure queue rules: what plays next, shuffle, moves. Functions on tuples, no Step."""

from __future__ import annotations

import random
from dataclasses import replace
from functools import partial
from itertools import repeat
from operator import attrgetter, itemgetter, mod, ne
from typing import Any

from appliance.core.item_ids import Ids, Items, ids_of, known_ids, remember
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
            rest = remove_at(queue, i)
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


def shuffled(items: Items, seed: int) -> Items:
    """Same seed, same order, in every window and after every replay."""
    return _reorder(items, _permutation(len(items), seed))


def _permutation(n: int, seed: int) -> list[int]:
    """Fisher-Yates (inside-out) over positions, with its draws made in C: `random.shuffle`
    calls a Python function per item (2.7 ms for 20,000). 30-bit draws keep `%` on one
    machine digit; the modulo bias is under n / 2**30."""
    order = list(range(n))
    draws = map(mod, map(random.Random(seed).getrandbits, repeat(30, n - 1)), range(2, n + 1))
    for i, j in enumerate(draws, 1):  # j is uniform in 0..i
        order[i] = order[j]
        order[j] = i
    return order


def _reorder(items: Items, order: list[int]) -> Items:
    """`items` at the positions `order` lists, with their ids remembered alongside (one
    itemgetter call builds each tuple: a third of the time of a map)."""
    if len(order) < 2:
        return tuple(items[i] for i in order)
    pick = itemgetter(*order)
    out: Items = pick(items)
    remember(out, pick(ids_of(items)))
    return out


def restore_order(items: Items, base: Ids) -> Items:
    """Undo a shuffle: items in `base` order first (an id listed twice counts where it is
    listed last), anything added since after them, in queue order."""
    ids = ids_of(items)
    where = dict(zip(ids, range(len(ids)), strict=True))
    if len(where) != len(items):  # an id twice in the queue: rank each item by hand
        rank = {item_id: i for i, item_id in enumerate(base)}
        known = sorted((it for it in items if it.id in rank), key=lambda it: rank[it.id])
        return tuple(known) + tuple(it for it in items if it.id not in rank)
    # Taking each position out of `where` as `base` (read from its end) names it leaves
    # there exactly the items base does not know, still in queue order.
    order = list(filter(_FOUND, map(where.pop, reversed(base), repeat(-1))))
    order.reverse()
    order += where.values()
    return _reorder(items, order)


_FOUND = partial(ne, -1)


def move(items: Items, item_id: str, to_index: int) -> Items:
    return move_at(items, index_of(items, item_id), to_index)


def move_at(items: Items, idx: int, to_index: int) -> Items:
    rest = items[:idx] + items[idx + 1 :]
    to_index = max(0, min(to_index, len(rest)))
    out = rest[:to_index] + (items[idx],) + rest[to_index:]
    ids = known_ids(items)
    if ids is not None:
        rest_ids = ids[:idx] + ids[idx + 1 :]
        remember(out, rest_ids[:to_index] + (ids[idx],) + rest_ids[to_index:])
    return out


def remove_at(items: Items, idx: int) -> Items:
    out = items[:idx] + items[idx + 1 :]
    ids = known_ids(items)
    if ids is not None:
        remember(out, ids[:idx] + ids[idx + 1 :])
    return out


def append(items: Items, *new: QueueItem) -> Items:
    out = items + new
    ids = known_ids(items)
    if ids is not None:
        remember(out, ids + tuple(map(item_id, new)))
    return out


def prepend(item: QueueItem, items: Items) -> Items:
    out = (item,) + items
    ids = known_ids(items)
    if ids is not None:
        remember(out, (item.id,) + ids)
    return out


def same_ids(items: Items, source: Items) -> Items:
    """`items` has the ids of `source`, in order (items replaced by updated copies)."""
    ids = known_ids(source)
    if ids is not None:
        remember(items, ids)
    return items


item_id = attrgetter("id")
_VIDEO_ID = attrgetter("video_id")


def index_of(items: Items, item_id: str, hint: int = -1) -> int:
    """Where `item_id` is, or -1. A right `hint` (the index a client saw) answers at once."""
    if isinstance(hint, int) and 0 <= hint < len(items) and items[hint].id == item_id:
        return hint
    try:
        return ids_of(items).index(item_id)
    except ValueError:
        return -1


def index_of_video(items: Items, video_id: str) -> int:
    try:
        return list(map(_VIDEO_ID, items)).index(video_id)
    except ValueError:
        return -1


def drop_id(ids: Ids, item_id: str) -> Ids:
    """`ids` without `item_id` (the shuffle's base order), by a C-level search."""
    try:
        i = ids.index(item_id)
    except ValueError:
        return ids
    return ids[:i] + ids[i + 1 :]


def without(items: Items, item_id: str) -> Items:
    idx = index_of(items, item_id)
    return items if idx < 0 else remove_at(items, idx)
