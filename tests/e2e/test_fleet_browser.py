"""Real browser (Debian's Chromium via Playwright) on the fleet page: two real venues on a
real mosquitto; log in, find a venue, act on both at once, and open one venue's console
(already logged in: it shares the fleet's sessions across ports)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect, sync_playwright

from appliance.core import messages as m
from tests.e2e.test_console_browser import CHROMIUM_ARGS, WAIT
from tests.integration.fleet_kit import FLEET_PIN, NAMES, STAFF, Fleet, fleet_rig

pytestmark = pytest.mark.e2e


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[Fleet]:
    yield from fleet_rig(tmp_path)


@pytest.fixture
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield b
        finally:
            b.close()


def test_the_fleet_page_finds_acts_on_and_opens_venues(fleet: Fleet, browser: Browser) -> None:
    a, b = fleet.venues
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.goto(fleet.url + "/fleet")
    page.fill("#pin", FLEET_PIN)
    page.click("#login-form button[type=submit]")
    expect(page.locator("#conn")).to_have_text("live", timeout=WAIT)
    cards = page.locator("#venues [data-venue]")
    expect(cards).to_have_count(2, timeout=WAIT)

    page.fill("#search", "anchor")
    expect(cards).to_have_count(1)
    expect(cards.first).to_contain_text(NAMES[0])
    page.fill("#search", "")

    # live: a change at a venue reaches the card without a reload
    assert b.box.runtime.submit(m.UiCommand(command="SET_VOLUME", value=66, actor=STAFF)).ok
    expect(page.locator(f'[data-venue="{b.venue_id}"]')).to_contain_text("Volume 66", timeout=WAIT)

    page.check("#select-all")
    expect(page.locator("#selected-count")).to_have_text("2 selected")
    page.locator("#bulk-volume").fill("28")
    page.click('[data-bulk="SET_VOLUME"]')
    expect(page.locator("#bulk-msg")).to_have_text("2 done", timeout=WAIT)
    assert a.volume == 28 and b.volume == 28
    for venue in (a, b):
        expect(page.locator(f'[data-venue="{venue.venue_id}"]')).to_contain_text(
            "Volume 28", timeout=WAIT
        )

    page.locator(f'[data-venue="{a.venue_id}"] a').click()
    expect(page.locator("#console")).to_be_visible(timeout=WAIT)  # no second login
    expect(page.locator("#venue-name")).to_have_text(NAMES[0], timeout=WAIT)
    assert page.url.endswith("/staff") and not page.url.startswith(fleet.url)
