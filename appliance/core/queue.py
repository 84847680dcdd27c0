"""Pure queue rules: what plays next, shuffle, moves. Functions on tuples, no Step."""

from __future__ import annotations

import zlib
from array import array
from collections import OrderedDict
from dataclasses import replace
from functools import partial
from itertools import compress, repeat
from operator import attrgetter, eq, itemgetter, ne
from typing import Any, Protocol, TypeVar

from appliance.core import permutation
from appliance.core.item_ids import Ids, Items, Ranks, ids_of, known, remember
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
            changes: dict[str, Any] = {f"{source}_queue": remove_at(queue, i)}
            if source == "active" and venue.base_order:
                rest, base = remove_listed(queue, i, venue.base_order)
                changes = {"active_queue": rest, "base_order": base}
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
    ahead = _kept(_SHUFFLED, items, seed)
    return _shuffle(items, seed) if ahead is None else ahead


def _shuffle(items: Items, seed: int) -> Items:
    return _reorder(items, permutation.permutation(len(items), seed), ranks=True)


def next_seed(venue: Venue) -> int:
    """The seed the next shuffle uses: chosen when shuffle was last turned off, or for a
    venue never shuffled, one from its id. Known ahead either way, so it can be drawn."""
    seed = venue.player_settings.shuffle_seed
    return seed or zlib.crc32(venue.venue_id.encode()) & 0x7FFFFFFF or 1


def ahead_pending(venue: Venue) -> bool:
    """Whether `draw_ahead` has work to do (O(1)): the runtime wakes for it only then."""
    items = venue.active_queue
    if len(items) < permutation.AHEAD_MIN:
        return False
    if venue.player_settings.shuffle_enabled:
        return not _has(_RESTORED, items, venue.base_order)
    return not _has(_SHUFFLED, items, next_seed(venue))


def draw_ahead(venue: Venue) -> None:
    """Work the next SHUFFLE_TOGGLE out now, at idle: while shuffle is off, the queue
    shuffled with the next seed (kept in the settings), and that permutation (see
    `permutation.py`: it still serves a queue changed since); while on, the queue restored
    to its base order. A lookup when already done."""
    settings = venue.player_settings
    items = venue.active_queue
    if len(items) < permutation.AHEAD_MIN:
        return
    if not settings.shuffle_enabled:
        seed = next_seed(venue)
        if _kept(_SHUFFLED, items, seed) is None:
            permutation.draw_ahead(len(items), seed)
            _keep(_SHUFFLED, items, seed, _shuffle(items, seed))
    elif _kept(_RESTORED, items, venue.base_order) is None:
        _keep(_RESTORED, items, venue.base_order, _restore(items, venue.base_order))


# Toggles worked out ahead, by the identity of the queue they start from (which an entry
# holds, so the identity is not reused while kept): (queue, seed or base, the result, its
# ids and ranks). Pure in effect, as `item_ids`' memo; an OrderedDict's calls are safe
# across threads (tests run two runtimes).
_Kept = OrderedDict[int, tuple[Items, object, Items, Ids, Ranks | None]]
_SHUFFLED: _Kept = OrderedDict()
_RESTORED: _Kept = OrderedDict()
_KEPT = 1  # the box's one venue (two runtimes in tests just take turns)


def _has(memo: _Kept, items: Items, why: int | Ids) -> bool:
    hit = memo.get(id(items))
    return hit is not None and hit[0] is items and (hit[1] is why or hit[1] == why)


def _kept(memo: _Kept, items: Items, why: int | Ids) -> Items | None:
    hit = memo.get(id(items))
    if hit is None or hit[0] is not items or not (hit[1] is why or hit[1] == why):
        return None
    remember(hit[2], hit[3], hit[4])  # the ids memo may have let them go since
    return hit[2]


def _keep(memo: _Kept, items: Items, why: int | Ids, out: Items) -> None:
    hit = known(out)
    if hit is None:
        return
    memo[id(items)] = (items, why, out, *hit)
    while len(memo) > _KEPT:
        try:
            memo.popitem(last=False)
        except KeyError:  # emptied meanwhile by another thread
            break


def _reorder(items: Items, order: list[int], ranks: bool = False) -> Items:
    """`items` at the positions `order` lists, with their ids remembered alongside (one
    itemgetter call builds each tuple: a third of the time of a map). With `ranks` (a
    shuffle of a queue whose ids are its base order), where base lists each item too."""
    if len(order) < 2:  # itemgetter of one gives the item, not a tuple
        return tuple(items[i] for i in order)
    pick = itemgetter(*order)
    out: Items = pick(items)
    ids = ids_of(items)
    remember(out, pick(ids), Ranks(ids, array("l", order), len(ids)) if ranks else None)
    return out


def _reorder_from_one(items: Items, order: list[int]) -> Items:
    """`_reorder` with positions counted from 1: picked from the items behind a dummy."""
    if len(order) < 2:
        return tuple(items[i - 1] for i in order)
    pick = itemgetter(*order)
    out: Items = pick(items[:1] + items)
    ids = ids_of(items)
    remember(out, pick(ids[:1] + ids))
    return out


def restore_order(items: Items, base: Ids) -> Items:
    """Undo a shuffle: items in `base` order first (an id listed twice counts where it is
    listed last), anything added since after them, in queue order."""
    ahead = _kept(_RESTORED, items, base)
    return _restore(items, base) if ahead is None else ahead


def _restore(items: Items, base: Ids) -> Items:
    hit = known(items)
    if hit is not None and hit[1] is not None and hit[1].base is base:
        return _reorder_from_one(items, _by_rank(hit[1]))
    ids = ids_of(items)
    where = dict(zip(ids, range(len(ids)), strict=True))
    if len(where) != len(items):  # an id twice in the queue: rank each item by hand
        rank = {item_id: i for i, item_id in enumerate(base)}
        known_items = sorted((it for it in items if it.id in rank), key=lambda it: rank[it.id])
        return tuple(known_items) + tuple(it for it in items if it.id not in rank)
    # Taking each position out of `where` as `base` (read from its end) names it leaves
    # there exactly the items base does not know, still in queue order.
    order = list(filter(_LISTED, map(where.pop, reversed(base), repeat(-1))))
    order.reverse()
    order += where.values()
    return _reorder(items, order)


def _by_rank(r: Ranks) -> list[int]:
    """Positions + 1 in rank order, then the unlisted ones in queue order: each position
    is put in its rank's slot (a counting sort). The plain loop beats a map over
    `slots.__setitem__` by a third (3.11 specializes the list store); + 1 lets an empty
    slot (a rank dropped from the base) be 0, skipped by `filter(None, ...)` in C."""
    ranks = r.ranks.tolist()
    slots = [0] * (r.next + 1)  # the extra last slot is where the unlisted (-1) land
    for at, rank in enumerate(ranks, 1):
        slots[rank] = at
    unlisted = slots.pop()
    if not unlisted and len(ranks) == r.next:  # every slot filled: nothing to skip
        return slots
    order = list(filter(None, slots))
    if unlisted:
        order += compress(range(1, len(ranks) + 1), map(_UNLISTED, ranks))
    return order


_LISTED = partial(ne, -1)
_UNLISTED = partial(eq, -1)


def move(items: Items, item_id: str, to_index: int) -> Items:
    return move_at(items, index_of(items, item_id), to_index)


# Each operation below builds the new tuple and, when the old one's ids (and ranks) are
# remembered, the new one's by the same slicing of those: pointers copied, no item read.


def move_at(items: Items, idx: int, to_index: int) -> Items:
    def moved(xs: _Seq) -> _Seq:
        rest = xs[:idx] + xs[idx + 1 :]
        return rest[:to_index] + xs[idx : idx + 1] + rest[to_index:]

    to_index = max(0, min(to_index, len(items) - 1))
    return _carry(moved(items), items, moved)


def remove_at(items: Items, idx: int) -> Items:
    def cut(xs: _Seq) -> _Seq:
        return xs[:idx] + xs[idx + 1 :]

    return _carry(cut(items), items, cut)


def same_ids(items: Items, source: Items) -> Items:
    """`items` has the ids of `source`, in order (items replaced by updated copies)."""
    return _carry(items, source, _same)


_Seq = TypeVar("_Seq", Items, Ids, "array[int]")


def _same(xs: _Seq) -> _Seq:
    return xs


class _Edit(Protocol):
    """The same slicing, applied to the items, their ids and their ranks alike."""

    def __call__(self, xs: _Seq, /) -> _Seq: ...


def _carry(out: Items, items: Items, edit: _Edit) -> Items:
    hit = known(items)
    if hit is not None:
        ids, r = hit
        ranks = None if r is None else Ranks(r.base, edit(r.ranks), r.next)
        remember(out, edit(ids), ranks)
    return out


def append(items: Items, *new: QueueItem) -> Items:
    """`items` then `new`, which the shuffle's base order does not list."""
    out = items + new
    hit = known(items)
    if hit is not None:
        remember(out, hit[0] + tuple(map(item_id, new)))
    return out


def append_listed(items: Items, item: QueueItem, base: Ids) -> tuple[Items, Ids]:
    """`item` added at the end of both the (shuffled) queue and its base order."""
    out, new_base = items + (item,), base + (item.id,)
    hit = known(items)
    if hit is not None:
        ids, r = hit
        ranks = None
        if r is not None and r.base is base:
            ranks = Ranks(new_base, r.ranks + array("l", (r.next,)), r.next + 1)
        remember(out, ids + (item.id,), ranks)
    return out, new_base


def remove_listed(items: Items, idx: int, base: Ids) -> tuple[Items, Ids]:
    """The item at `idx` out of the queue and out of its base order (its first listing)."""
    out = remove_at(items, idx)
    new_base = drop_id(base, items[idx].id)
    hit = known(out)
    if hit is not None and hit[1] is not None and hit[1].base is base:
        remember(out, hit[0], Ranks(new_base, hit[1].ranks, hit[1].next))
    return out, new_base


def prepend(item: QueueItem, items: Items) -> Items:
    out = (item,) + items
    hit = known(items)
    if hit is not None:
        ids, r = hit
        ranks = None
        if r is not None and item.id not in r.base:  # listed, it would need its rank
            ranks = Ranks(r.base, array("l", (-1,)) + r.ranks, r.next)
        remember(out, (item.id,) + ids, ranks)
    return out


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
