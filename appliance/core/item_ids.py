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

from collections import OrderedDict
from operator import attrgetter

from appliance.core.model import QueueItem

Items = tuple[QueueItem, ...]
Ids = tuple[str, ...]

SMALL = 256  # below this, reading the ids off the items is as cheap as remembering them
_KEPT = 8  # the active and priority queues of the last few states
_ID = attrgetter("id")
# OrderedDict: lookups, inserts and popitem are single C calls, safe when two runtimes
# step on two threads (tests do)
_MEMO: OrderedDict[int, tuple[Items, Ids]] = OrderedDict()


def ids_of(items: Items) -> Ids:
    hit = _MEMO.get(id(items))
    if hit is not None and hit[0] is items:
        return hit[1]
    ids: Ids = tuple(map(_ID, items))
    return remember(items, ids)


def known_ids(items: Items) -> Ids | None:
    """The ids if they are remembered, without reading the items."""
    hit = _MEMO.get(id(items))
    return hit[1] if hit is not None and hit[0] is items else None


def remember(items: Items, ids: Ids) -> Ids:
    if len(items) >= SMALL:
        _MEMO[id(items)] = (items, ids)
        while len(_MEMO) > _KEPT:
            try:
                _MEMO.popitem(last=False)
            except KeyError:  # emptied meanwhile by another thread
                break
    return ids
