"""The shuffle's permutation, and the next one drawn ahead of the command that needs it.

Drawing 20,000 positions costs about 1.5 ms, most of the 2 ms a step may take; but the
permutation depends only on (seed, n), and the seed of the next shuffle is kept in the
state while shuffle is off. So the runtime draws it at idle (`draw_ahead`) and the toggle
finds it here. Inside-out Fisher-Yates builds P(n) as a prefix of the steps of P(N): a kept
P(N) gives P(n) for a queue that has since grown (run the further steps, continuing the
same draw stream) or shrunk (undo the last steps), identical to a fresh draw.

A memo keyed by seed, pure in effect: same (seed, n), same list, whoever drew it. Entries
are never changed once kept (callers get a copy); an OrderedDict's get/set/popitem are
single C calls, safe when two runtimes step on two threads (tests do).
"""

from __future__ import annotations

import random
from array import array
from collections import OrderedDict
from dataclasses import dataclass
from itertools import repeat
from operator import mod

AHEAD_MIN = 1000  # below this a fresh draw is cheap enough on the command path
_KEPT = 1  # the venue's next shuffle (two runtimes in tests just take turns)


@dataclass(frozen=True, slots=True)
class _Drawn:
    # P(n), never changed once kept; an array: a list's 20,000 int objects would be 0.5 MB
    order: array[int]
    draws: array[int]  # j of step i at [i - 1]: what undoing step i needs
    after: tuple[object, ...]  # the generator's state after those draws


_MEMO: OrderedDict[int, _Drawn] = OrderedDict()


def permutation(n: int, seed: int) -> list[int]:
    """Fisher-Yates (inside-out) over positions, with its draws made in C: `random.shuffle`
    calls a Python function per item (2.7 ms for 20,000). 30-bit draws keep `%` on one
    machine digit; the modulo bias is under n / 2**30."""
    kept = _MEMO.get(seed)
    if kept is not None:
        have = len(kept.order)
        if have == n:
            return kept.order.tolist()
        if n > have:
            return _extend(kept, n)
        if have - n < n:  # undoing more steps than a fresh draw makes would be slower
            return _undo(kept, n)
    return _draw(n, seed)


def _steps(rng: random.Random, start: int, n: int) -> map[int]:
    """The j of steps start..n-1 (j uniform in 0..i), drawn from `rng`."""
    return map(mod, map(rng.getrandbits, repeat(30, max(0, n - start))), range(start + 1, n + 1))


def _draw(n: int, seed: int) -> list[int]:
    order = list(range(n))
    for i, j in enumerate(_steps(random.Random(seed), 1, n), 1):
        order[i] = order[j]
        order[j] = i
    return order


def _extend(kept: _Drawn, n: int) -> list[int]:
    order = kept.order.tolist()
    rng = random.Random()
    rng.setstate(kept.after)
    start = len(order)
    order.extend(range(start, n))
    for i, j in enumerate(_steps(rng, start, n), start):
        order[i] = order[j]
        order[j] = i
    return order


def _undo(kept: _Drawn, n: int) -> list[int]:
    """Step i set order[i] = order[j], order[j] = i: undone, order[j] takes back what
    order[i] holds (nothing to do when j == i), and order[i] goes."""
    order = kept.order.tolist()
    draws = kept.draws
    for i in range(len(order) - 1, n - 1, -1):
        j = draws[i - 1]
        if j != i:
            order[j] = order[i]
    del order[n:]
    return order


def draw_ahead(n: int, seed: int) -> None:
    """Keep P(n) for `seed`, unless it is kept already (then this is a dict lookup)."""
    if n < AHEAD_MIN or not seed:
        return
    kept = _MEMO.get(seed)
    if kept is not None and len(kept.order) == n:
        return
    order = list(range(n))
    rng = random.Random(seed)
    draws = array("l", _steps(rng, 1, n))
    for i, j in enumerate(draws, 1):
        order[i] = order[j]
        order[j] = i
    _MEMO.pop(seed, None)  # to the end: the newest is kept longest
    _MEMO[seed] = _Drawn(array("l", order), draws, rng.getstate())
    while len(_MEMO) > _KEPT:
        try:
            _MEMO.popitem(last=False)
        except KeyError:  # emptied meanwhile by another thread
            break


def drawn(n: int, seed: int) -> bool:
    """Whether P(n) for `seed` is kept (for tests and the bench)."""
    kept = _MEMO.get(seed)
    return kept is not None and len(kept.order) == n
