"""The item ids of a queue tuple, remembered beside it.

Finding an item by id in a 20,000-item queue means reading every item's `id`; once the
queue is shuffled the items lie scattered in memory and that read alone takes over a
millisecond. Searching a tuple of the ids themselves takes a tenth of that, and the queue
operations in `queue.py` derive the ids of the tuple they build from the ids of the one
they were given by the same slicing, which copies pointers and reads no item.

A memo keyed by the tuple's identity, pure in effect: the same tuple always has the same
ids, and an entry holds its tuple, so the identity cannot be reused while it is kept.
"""

from __future__ import annotations

from array import array
from collections import OrderedDict
from dataclasses import dataclass
from operator import attrgetter

from appliance.core.model import QueueItem

Items = tuple[QueueItem, ...]
Ids = tuple[str, ...]

SMALL = 256  # below this, reading the ids off the items is as cheap as remembering them
_KEPT = 4  # the last few long queues built: the current state's and a step's drafts
_ID = attrgetter("id")


@dataclass(frozen=True, slots=True)
class Ranks:
    """Where the shuffle's base order lists each item of a shuffled queue, so undoing the
    shuffle places items by number instead of looking 20,000 ids up. `base` is the base
    order these ranks stand for; a rank is an index into the base as it was when the
    queue was shuffled, with ids appended since numbered on from `next` (ids dropped from
    the base leave gaps, which keep the order); -1 for an item the base does not list."""

    base: Ids
    # never changed once made: each operation builds a new one. An array, not a list: its
    # slices copy machine words, where a list's touch 20,000 int objects (their refcounts)
    ranks: array[int]
    next: int


# OrderedDict: lookups, inserts and popitem are single C calls, safe when two runtimes
# step on two threads (tests do)
_MEMO: OrderedDict[int, tuple[Items, Ids, Ranks | None]] = OrderedDict()


def ids_of(items: Items) -> Ids:
    hit = _MEMO.get(id(items))
    if hit is not None and hit[0] is items:
        return hit[1]
    ids: Ids = tuple(map(_ID, items))
    return remember(items, ids)


def known(items: Items) -> tuple[Ids, Ranks | None] | None:
    """The ids (and ranks) if they are remembered, without reading the items."""
    hit = _MEMO.get(id(items))
    return (hit[1], hit[2]) if hit is not None and hit[0] is items else None


def known_ids(items: Items) -> Ids | None:
    hit = known(items)
    return None if hit is None else hit[0]


def ranks_of(items: Items, base: Ids) -> array[int] | None:
    """The ranks of `items` in `base`, if they are remembered for exactly that base."""
    hit = known(items)
    if hit is None or hit[1] is None or hit[1].base is not base:
        return None
    return hit[1].ranks


def remember(items: Items, ids: Ids, ranks: Ranks | None = None) -> Ids:
    if len(items) >= SMALL:
        _MEMO[id(items)] = (items, ids, ranks)
        while len(_MEMO) > _KEPT:
            try:
                _MEMO.popitem(last=False)
            except KeyError:  # emptied meanwhile by another thread
                break
    return ids
