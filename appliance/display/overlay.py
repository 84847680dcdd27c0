"""What the TV shows, from the venue's state: a pure function to ASS events, the text mpv's
`osd-overlay` draws on top of the picture (`deck_overlay`) or on the idle screen
(`idle_screen`), in a 1280x720 frame that mpv scales to the TV.
"""

from __future__ import annotations

from dataclasses import dataclass

from appliance.core import queue
from appliance.core.model import PlayerSettings, State
from appliance.display.qr import qr_drawing, qr_modules

WIDTH, HEIGHT = 1280, 720
COMING_UP = 3
WHITE, GREY, BLACK, AMBER, RED = "&HFFFFFF&", "&HC8C8C8&", "&H000000&", "&H00C8FF&", "&H3030FF&"


@dataclass(frozen=True)
class ScreenFacts:
    """What the shell knows that the state does not."""

    patron_url: str
    first_pin: str = ""  # shown until staff first log in
    setup_problem: str = ""  # a first-boot problem the owner must fix on the card
    hotspot: str = ""  # how to join the setup hotspot


@dataclass(frozen=True)
class Message:
    text: str
    colour: str = AMBER


@dataclass(frozen=True)
class TvPicture:
    venue_name: str
    title: str
    artist: str
    coming_up: tuple[tuple[str, str], ...]
    patron_url: str
    messages: tuple[Message, ...]
    show_qr: bool = True
    logo: str = ""  # a gallery image's content id


def picture_of(state: State, facts: ScreenFacts, announcing: bool = False) -> TvPicture:
    venue = state.venue
    messages: list[Message] = []
    if venue is not None and venue.transport == "emergency":
        messages.append(Message("Emergency stop", RED))
    if announcing:
        messages.append(Message("Announcement"))
    if venue is not None and not venue.request_rules.requests_open:
        messages.append(Message(venue.request_rules.closed_message or "Requests are closed"))
    staff_in = any(u.last_login_at for u in state.users.values() if u.role != "user")
    if facts.first_pin and not staff_in:
        messages.append(Message(f"Staff PIN (first start): {facts.first_pin}", WHITE))
    if facts.setup_problem:
        messages.append(Message(f"Setup problem: {facts.setup_problem}", RED))
    if facts.hotspot:
        messages.append(Message(facts.hotspot, WHITE))
    shown = venue.player_settings if venue else PlayerSettings()
    np = venue.now_playing if venue and shown.tv_now_playing else None
    upcoming = queue.upcoming(venue, COMING_UP) if venue and shown.tv_coming_up else ()
    return TvPicture(
        venue_name=venue.venue_name if venue else "DJAMMS",
        title=np.title if np else "",
        artist=np.artist if np else "",
        coming_up=tuple((i.title, i.artist) for i in upcoming),
        patron_url=facts.patron_url,
        messages=tuple(messages),
        show_qr=bool(facts.patron_url) and shown.tv_qr_code,
        logo=shown.tv_logo if shown.tv_logo in state.content else "",
    )


def plain(text: str) -> str:
    """Text as ASS shows it literally: braces open override tags and backslashes escape,
    so a title cannot restyle the screen."""
    return " ".join(text.replace("\\", "/").replace("{", "(").replace("}", ")").split())


def _text(x: int, y: int, align: int, size: int, body: str, colour: str = WHITE) -> str:
    return f"{{\\an{align}\\pos({x},{y})\\fs{size}\\bord2\\shad1\\3c{BLACK}\\1c{colour}}}{body}"


def _qr(x: int, y: int, url: str, px: int) -> list[str]:
    paper, dark = qr_drawing(qr_modules(url), px)
    style = "\\an7\\bord0\\shad0\\p1"
    return [
        f"{{\\pos({x},{y}){style}\\1c{WHITE}}}{paper}{{\\p0}}",
        f"{{\\pos({x},{y}){style}\\1c{BLACK}}}{dark}{{\\p0}}",
    ]


def _qr_side(url: str, px: int) -> int:
    return len(qr_modules(url)) * px


def _messages(p: TvPicture, y: int, size: int) -> list[str]:
    return [
        _text(WIDTH // 2, y + i * (size + 14), 8, size, plain(msg.text), msg.colour)
        for i, msg in enumerate(p.messages)
    ]


def _coming_up(p: TvPicture, x: int, y: int, align: int, size: int) -> list[str]:
    if not p.coming_up:
        return []
    lines = [
        f"{i}. {plain(t)}" + (f" - {plain(a)}" if a else "")
        for i, (t, a) in enumerate(p.coming_up, 1)
    ]
    head = f"{{\\fs{size + 4}}}Coming up{{\\fs{size}}}"
    return [_text(x, y, align, size, "\\N".join([head, *lines]), GREY)]


def deck_overlay(p: TvPicture) -> str:
    """Over the music video: now playing bottom left, coming up top right, the QR code
    bottom right, messages top centre."""
    events = _messages(p, 24, 30)
    if p.title:
        events.append(
            _text(
                40,
                HEIGHT - 36,
                1,
                30,
                plain(p.title) + (f"\\N{{\\fs22\\1c{GREY}}}{plain(p.artist)}" if p.artist else ""),
            )
        )
    events += _coming_up(p, WIDTH - 40, 24 + 44 * len(p.messages), 9, 20)
    if p.show_qr:
        px = 4
        side = _qr_side(p.patron_url, px)
        x, y = WIDTH - 40 - side, HEIGHT - 40 - side
        events += _qr(x, y, p.patron_url, px)
        events.append(_text(WIDTH - 40, HEIGHT - 14, 3, 16, plain(p.patron_url)))
    return "\n".join(events)


def idle_screen(p: TvPicture) -> str:
    """The calm screen when no video is up: the venue, what plays (an audio-only track),
    coming up, and a large QR code."""
    events = [_text(WIDTH // 2, 40, 8, 54, plain(p.venue_name))]
    events += _messages(p, 120, 32)
    left = 80
    if p.title:
        body = f"{{\\fs22\\1c{GREY}}}Now playing\\N{{\\fs40\\1c{WHITE}}}{plain(p.title)}"
        if p.artist:
            body += f"\\N{{\\fs28\\1c{GREY}}}{plain(p.artist)}"
        events.append(_text(left, 330, 4, 40, body))
    events += _coming_up(p, left, 470, 7, 24)
    if p.show_qr:
        px = 7
        side = _qr_side(p.patron_url, px)
        x, y = WIDTH - 90 - side, (HEIGHT - side) // 2 + 40
        events.append(_text(x + side // 2, y - 12, 2, 28, "Scan to request a song"))
        events += _qr(x, y, p.patron_url, px)
        events.append(_text(x + side // 2, y + side + 10, 8, 20, plain(p.patron_url)))
    return "\n".join(events)
