"""Leading-edge debounce against a stand-in for gpiozero's Button (its when_pressed /
when_released hooks and is_pressed), on a manual clock."""

from __future__ import annotations

import threading
from collections.abc import Callable

from hardware.debounce import DebouncedButton


class Contact:
    """What gpiozero's Button offers the debouncer: hooks fired on each raw edge."""

    def __init__(self) -> None:
        self.when_pressed: Callable[[], None] | None = None
        self.when_released: Callable[[], None] | None = None
        self.is_pressed = False

    def down(self) -> None:
        self.is_pressed = True
        if self.when_pressed:
            self.when_pressed()

    def up(self) -> None:
        self.is_pressed = False
        if self.when_released:
            self.when_released()


class Clock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def rig(seconds: float = 0.02) -> tuple[Contact, Clock, DebouncedButton, list[str]]:
    contact, clock, seen = Contact(), Clock(), []
    button = DebouncedButton(
        contact,
        seconds,
        on_press=lambda: seen.append("press"),
        on_release=lambda: seen.append("release"),
        clock=clock,
    )
    return contact, clock, button, seen


def test_the_first_edge_acts_at_once_and_bounces_are_ignored() -> None:
    contact, clock, button, seen = rig(seconds=10.0)  # a window no test thread outlives
    contact.down()
    assert seen == ["press"]  # no waiting for the contact to settle
    for _ in range(5):
        contact.up()
        contact.down()
    assert seen == ["press"]
    assert button.ignored == 5
    clock.now += 11.0
    contact.up()
    assert seen == ["press", "release"]
    button.close()


def test_edges_after_the_window_all_count() -> None:
    contact, clock, button, seen = rig()
    for _ in range(3):
        contact.down()
        clock.now += 0.1
        contact.up()
        clock.now += 0.1
    assert seen == ["press", "release"] * 3
    assert button.accepted == 6 and button.ignored == 0
    button.close()


def test_a_tap_inside_the_window_is_caught_up_when_it_ends() -> None:
    contact, clock, button, seen = rig(seconds=0.02)
    released = threading.Event()
    button.on_release = lambda: (seen.append("release"), released.set())
    contact.down()
    contact.up()  # 0 s later on the clock: inside the window, ignored for now
    assert seen == ["press"]
    assert released.wait(10.0), "the release was lost"
    assert seen == ["press", "release"]
    assert button.pressed is False
    button.close()


def test_close_unhooks_the_button() -> None:
    contact, clock, button, seen = rig()
    button.close()
    assert contact.when_pressed is None and contact.when_released is None
    contact.down()
    assert seen == []
