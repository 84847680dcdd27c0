"""Real browser (Debian's Chromium via Playwright) against `python -m appliance run`: two
staff windows and a patron's phone stay in step; a restart of the box is survived.
Screenshots of every page land in tests/artifacts/."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.integration.web.conftest import TRACKS, Api
from tests.support.server import STAFF_PIN, BoxProcess, start_box_process

pytestmark = pytest.mark.e2e
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WAIT = 20_000  # ms: generous, the box is shared with other test runs


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


def staff_window(browser: Browser, url: str) -> Page:
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.goto(url + "/staff")
    page.fill("#pin", STAFF_PIN)
    page.click("#login-form button[type=submit]")
    expect(page.locator("#console")).to_be_visible(timeout=WAIT)
    expect(page.locator("#conn")).to_have_text("live", timeout=WAIT)
    return page


def title_of_now_playing(api: Api) -> str:
    return api.state()["venue"]["now_playing"]["title"]


def test_two_staff_windows_and_a_phone_stay_in_step(browser: Browser, tmp_path: Path) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    box: BoxProcess = start_box_process(tmp_path / "data", media=TRACKS)
    try:
        api = Api(box.url).login()
        pid = api.cmd(
            "/api/playlist/manage", {"action": "create", "name": "Friday night", "tracks": TRACKS}
        ).json()
        api.cmd("/api/playlist/manage", {"action": "create", "name": "Chill", "tracks": TRACKS[:3]})
        api.cmd(
            "/api/playlist/manage",
            {"action": "load", "playlistId": pid["result"]["playlist"]["playlist_id"]},
        )
        a, b = staff_window(browser, box.url), staff_window(browser, box.url)
        phone = browser.new_context(
            viewport={"width": 390, "height": 844}, is_mobile=True
        ).new_page()
        phone.goto(box.url + "/patron")
        expect(phone.locator("#conn")).to_have_text("live", timeout=WAIT)

        # a request made on the phone appears in both staff windows
        phone.fill("#q", "daft")
        phone.click("#search-form button[type=submit]")
        phone.locator('#results li:has-text("Get Lucky") button').click()
        expect(phone.locator("#feedback")).to_contain_text("You are #1", timeout=WAIT)
        for page in (a, b):
            expect(page.locator('#priority li[data-video-id="vid003"]')).to_be_visible(timeout=WAIT)

        # a skip in one window updates the others
        playing = title_of_now_playing(api)
        expect(b.locator("#np-title")).to_have_text(playing, timeout=WAIT)
        a.click("#skip")
        expect(b.locator("#np-title")).to_have_text("Get Lucky", timeout=WAIT)
        expect(phone.locator("#np-title")).to_have_text("Get Lucky", timeout=WAIT)
        expect(a.locator("#np-title")).to_have_text("Get Lucky", timeout=WAIT)
        assert title_of_now_playing(api) == "Get Lucky"

        screen = browser.new_context(viewport={"width": 1280, "height": 720}).new_page()
        screen.goto(box.url + "/screen")
        expect(screen.locator("#np-title")).to_have_text("Get Lucky", timeout=WAIT)
        a.screenshot(path=str(ARTIFACTS / "staff.png"), full_page=True)
        phone.screenshot(path=str(ARTIFACTS / "patron.png"), full_page=True)
        screen.screenshot(path=str(ARTIFACTS / "screen.png"))

        # restart the box: every page reconnects and shows the state as it is now
        port = box.port
        assert box.stop() == 0
        for page in (a, b, phone):
            expect(page.locator("#conn")).not_to_have_text("live", timeout=WAIT)
        box = start_box_process(tmp_path / "data", port)
        api = Api(box.url).login()
        api.cmd("/api/ui/command", {"command": "PLAY_NEXT"})
        now = title_of_now_playing(api)
        assert now != "Get Lucky"
        for page in (a, b, phone, screen):
            expect(page.locator("#conn")).to_have_text("live", timeout=WAIT)
            expect(page.locator("#np-title")).to_have_text(now, timeout=WAIT)
        a.screenshot(path=str(ARTIFACTS / "staff-after-restart.png"), full_page=True)
        # the staff windows are still logged in: a command from the page works
        a.click('[data-cmd="MUTE_TOGGLE"]')
        expect(b.locator("#mute")).to_have_text("Muted", timeout=WAIT)
    finally:
        box.stop()


def test_pages_on_the_fallback_paths_follow_along(browser: Browser, tmp_path: Path) -> None:
    """Where websockets are blocked the same page runs on SSE or long-poll."""
    box = start_box_process(tmp_path / "data", media=TRACKS)
    try:
        api = Api(box.url).login()
        pid = api.cmd(
            "/api/playlist/manage", {"action": "create", "name": "F", "tracks": TRACKS}
        ).json()
        api.cmd(
            "/api/playlist/manage",
            {"action": "load", "playlistId": pid["result"]["playlist"]["playlist_id"]},
        )
        pages = {}
        for transport, badge in (("sse", "live (SSE)"), ("poll", "live (polling)")):
            page = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
            page.goto(f"{box.url}/patron?transport={transport}")
            expect(page.locator("#conn")).to_have_text(badge, timeout=WAIT)
            pages[transport] = page
        for _ in range(2):
            api.cmd("/api/ui/command", {"command": "PLAY_NEXT"})
            now = title_of_now_playing(api)
            for page in pages.values():
                expect(page.locator("#np-title")).to_have_text(now, timeout=WAIT)
        # a request from the long-poll page is applied and confirmed
        poll = pages["poll"]
        poll.fill("#q", "adele")
        poll.click("#search-form button[type=submit]")
        poll.locator('#results li:has-text("Rolling in the Deep") button').click()
        expect(poll.locator("#feedback")).to_contain_text("You are #1", timeout=WAIT)
        expect(pages["sse"].locator('#upnext li[data-video-id="vid004"]:has(.pill)')).to_be_visible(
            timeout=WAIT
        )
    finally:
        box.stop()


def test_client_resyncs_on_a_gap_and_a_lost_answer_is_not_a_second_tap(
    browser: Browser, tmp_path: Path
) -> None:
    box = start_box_process(tmp_path / "data", media=TRACKS)
    try:
        api = Api(box.url).login()
        pid = api.cmd(
            "/api/playlist/manage", {"action": "create", "name": "F", "tracks": TRACKS}
        ).json()
        api.cmd(
            "/api/playlist/manage",
            {"action": "load", "playlistId": pid["result"]["playlist"]["playlist_id"]},
        )
        page = staff_window(browser, box.url)
        # a frame whose `prev` is ahead of what the page holds: it must resync
        result = page.evaluate(
            """() => new Promise((resolve) => {
                const c = window.djammsClient; const held = c.rev; let gap = false;
                c.on((kind) => {
                    if (kind === 'gap') gap = true;
                    if (kind === 'snapshot' && gap) resolve({gap, rev: c.rev, held});
                });
                c.onFrame({type: 'QUEUE_UPDATE', rev: held + 10, prev: held + 9, payload: {}});
            })"""
        )
        assert result["gap"] is True and result["rev"] == api.state()["rev"]

        # the answer to a tap is lost on the way back: the client retries with the same
        # commandId (over HTTP, as when websockets are blocked) and the box applies it once
        sse = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        sse.goto(box.url + "/staff?transport=sse")
        sse.fill("#pin", STAFF_PIN)
        sse.click("#login-form button[type=submit]")
        expect(sse.locator("#conn")).to_have_text("live (SSE)", timeout=WAIT)
        attempts: list[str] = []

        def lose_first_answer(route) -> None:
            attempts.append(route.request.post_data or "")
            if len(attempts) == 1:
                route.fetch()  # the box gets it and applies it...
                route.abort("connectionreset")  # ...but the page never hears back
            else:
                route.continue_()

        sse.route("**/api/queue/add", lose_first_answer)
        sse.click('nav.tabs button[data-tab="search"]')
        sse.fill("#add-id", "tap-once")
        sse.click("#add-form button[type=submit]")
        expect(sse.locator("#toast")).to_contain_text("Added.", timeout=WAIT)  # the retry's answer
        expect(sse.locator('#active li[data-video-id="tap-once"]')).to_have_count(1, timeout=WAIT)
        assert len(attempts) >= 2
        ids = {json.loads(a)["commandId"] for a in attempts}
        assert len(ids) == 1  # every attempt carried the same commandId
        queued = [i for i in api.state()["venue"]["active_queue"] if i["video_id"] == "tap-once"]
        assert len(queued) == 1
    finally:
        box.stop()


def test_even_loudness_is_switched_in_one_window_and_shown_in_the_other(
    browser: Browser, tmp_path: Path
) -> None:
    box: BoxProcess = start_box_process(tmp_path / "data", media=TRACKS)
    try:
        api = Api(box.url).login()
        a, b = staff_window(browser, box.url), staff_window(browser, box.url)
        for page in (a, b):
            page.click('[data-tab="settings"]')
            expect(page.locator("#loudness")).to_be_checked(timeout=WAIT)  # on by default
            expect(page.locator("#loudness-target-val")).to_have_text("-16", timeout=WAIT)
        a.uncheck("#loudness")
        expect(b.locator("#loudness")).not_to_be_checked(timeout=WAIT)
        api.cmd("/api/settings/update", {"setting": "loudness_target", "value": -23})
        for page in (a, b):
            expect(page.locator("#loudness-target-val")).to_have_text("-23", timeout=WAIT)
        settings = api.state()["venue"]["player_settings"]
        assert settings["loudness_normalization"] is False and settings["loudness_target"] == -23
    finally:
        box.stop()


def test_an_announcement_from_one_window_is_seen_in_the_other_and_can_be_scheduled(
    browser: Browser, tmp_path: Path
) -> None:
    box: BoxProcess = start_box_process(tmp_path / "data", media=TRACKS)
    try:
        api = Api(box.url).login()
        clip = tmp_path / "jingle.wav"
        subprocess.run(
            ["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "sine=d=1",
             str(clip)],
            check=True, timeout=60,
        )  # fmt: skip
        r = api.post(
            box.url + "/api/content/upload",
            files={"file": ("Last orders.wav", clip.read_bytes(), "audio/wav")},
            headers={"X-CSRF-Token": api.csrf},
            timeout=30,
        )
        assert r.status_code == 200 and r.json()["item"]["kind"] == "audio", r.text
        a, b = staff_window(browser, box.url), staff_window(browser, box.url)
        a.click('[data-tab="content"]')
        a.locator("[data-announce]").click()
        expect(b.locator("#toast")).to_contain_text("Announcement: Last orders.wav", timeout=WAIT)
        a.click('[data-tab="schedule"]')
        expect(a.locator("#sched-clip")).to_have_value(r.json()["item"]["content_id"])
        a.fill("#sched-every", "15")
        a.click("#sched-announce")
        b.click('[data-tab="schedule"]')
        expect(b.locator("#sched-list")).to_contain_text(
            "announce Last orders.wav every 15 min", timeout=WAIT
        )
        rules = api.state()["venue"]["schedule_data"]["rules"]
        assert rules[-1]["action"] == "announcement" and rules[-1]["everyMinutes"] == 15
    finally:
        box.stop()
