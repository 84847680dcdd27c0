"""`wakes_after`: what a sender hands to subscribers and sinks is queued at once, in
order, but their threads wake only when the sender leaves it (after writing its answer);
`Only`: a sink is handed (and woken for) just the effects it acts on."""

from __future__ import annotations

import threading

from appliance.core.model import PlayerSettings, State
from appliance.core.outputs import ApplySettings, Effect, PlayTrack, Prefetch
from appliance.subscription import Inbox, Only, effects_for, wakes_after


def _consumer(inbox: Inbox[int], got: list[int], arrived: threading.Event) -> threading.Thread:
    def run() -> None:
        got.append(inbox.get())
        arrived.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_a_held_wake_is_given_on_leaving_and_the_item_was_queued_at_once() -> None:
    inbox: Inbox[int] = Inbox()
    got: list[int] = []
    arrived = threading.Event()
    thread = _consumer(inbox, got, arrived)
    with wakes_after():
        inbox.put(1)
        with wakes_after():  # nested: the outer one wakes
            inbox.put(2)
        # the consumer sleeps in get() until the sender leaves (a wake-up not given
        # cannot be waited for, so this looks a short while)
        assert not arrived.wait(0.05)
    assert arrived.wait(5)
    thread.join(5)
    assert got == [1] and inbox.get() == 2  # in order, nothing lost


def test_without_holding_a_put_wakes_the_consumer_at_once() -> None:
    inbox: Inbox[int] = Inbox()
    got: list[int] = []
    arrived = threading.Event()
    thread = _consumer(inbox, got, arrived)
    inbox.put(7)
    assert arrived.wait(5)
    thread.join(5)
    assert got == [7]


def test_a_sender_that_fails_still_wakes_what_it_held() -> None:
    inbox: Inbox[int] = Inbox()
    got: list[int] = []
    arrived = threading.Event()
    thread = _consumer(inbox, got, arrived)
    try:
        with wakes_after():
            inbox.put(3)
            raise RuntimeError("the answer could not be written")
    except RuntimeError:
        pass
    assert arrived.wait(5)
    thread.join(5)
    assert got == [3]


def test_a_sink_given_only_some_kinds_is_fed_those_alone_and_in_order() -> None:
    fed: list[tuple[Effect, ...]] = []
    only = Only((Prefetch, PlayTrack), lambda effects, state: fed.append(effects))
    first, second = Prefetch(items=()), Prefetch(items=())
    settings = ApplySettings(settings=PlayerSettings())
    assert effects_for(only, (settings,)) == ()  # nothing for it: its thread is not woken
    assert effects_for(only, (first, settings, second)) == (first, second)
    assert effects_for(print, (settings, first)) == (settings, first)  # a plain sink: all
    only((first,), State())
    assert fed == [(first,)]
