"""PIN guessing is counted when an attempt arrives, before its body is read and before
scrypt, so held requests released together cannot slip past the limit; strangers filling
the venue-wide ceiling never lock out a device that logged staff in before."""

from __future__ import annotations

from tests.integration.web.conftest import Api
from tests.support.rawhttp import answered_early, hold, post
from tests.support.server import STAFF_PIN
from web.lockout import GLOBAL_LIMIT, PER_ADDRESS

LOGIN = "/api/auth/login"


def test_held_logins_are_counted_before_their_bodies(box) -> None:
    # 150 attempts from 30 addresses, each held at its last byte
    addresses = [f"127.0.0.{2 + n}" for n in range(30)]
    held = [hold(box.port, LOGIN, {"pin": f"{n:04d}"}, a) for n in range(5) for a in addresses]
    judged = min(GLOBAL_LIMIT, PER_ADDRESS * len(addresses))
    early = answered_early(held, len(held) - judged, timeout=60)
    assert len(early) == len(held) - judged  # refused before their bodies were complete
    for h in early:
        status, body = h.read()
        assert status == 429 and body["error"]["code"] == "locked_out"
    rest = [h for h in held if not h.done]
    for h in rest:
        h.release()
    assert [h.read()[0] for h in rest] == [401] * judged
    # the right PIN from a stranger is refused while the limits hold
    assert post(box.port, LOGIN, {"pin": STAFF_PIN}, "127.0.0.2")[0] == 429
    assert post(box.port, LOGIN, {"pin": STAFF_PIN}, "127.0.0.77")[0] == 429


def test_a_short_pin_is_an_attempt_too(box) -> None:
    codes = [post(box.port, LOGIN, {"pin": "1"})[0] for _ in range(PER_ADDRESS)]
    assert codes == [400] * PER_ADDRESS
    status, body = post(box.port, LOGIN, {"pin": STAFF_PIN})
    assert status == 429 and body["error"]["retryAfter"] > 0


def test_strangers_cannot_lock_staff_out(box) -> None:
    staff = Api(box.url).login()
    device = staff.cookies.get("djamms_device")
    assert device
    assert staff.cmd("/api/auth/logout").status_code == 200
    # five addresses guess until the venue-wide ceiling closes logins for strangers
    codes = [
        post(box.port, LOGIN, {"pin": f"{n:04d}"}, f"127.0.0.{2 + n % 5}")[0] for n in range(40)
    ]
    assert codes.count(401) == GLOBAL_LIMIT and codes[-1] == 429
    assert post(box.port, LOGIN, {"pin": STAFF_PIN}, "127.0.0.9")[0] == 429
    # the staff device gets in, even from an address that guessed
    cookie = f"djamms_device={device}"
    status, body = post(box.port, LOGIN, {"pin": STAFF_PIN}, "127.0.0.2", Cookie=cookie)
    assert status == 200 and body["role"] == "admin"


def test_a_copied_device_token_buys_only_a_few_guesses(box) -> None:
    staff = Api(box.url).login()
    cookie = f"djamms_device={staff.cookies.get('djamms_device')}"
    codes = [post(box.port, LOGIN, {"pin": f"{n:04d}"}, Cookie=cookie)[0] for n in range(12)]
    # its own budget, then the token is forgotten and the address's limit applies
    assert codes[:PER_ADDRESS] == [401] * PER_ADDRESS
    assert codes[-1] == 429
    assert post(box.port, LOGIN, {"pin": STAFF_PIN}, Cookie=cookie)[0] == 429


def test_the_right_pin_on_the_last_try_leaves_the_address_open(box) -> None:
    codes = [post(box.port, LOGIN, {"pin": f"{n:04d}"})[0] for n in range(PER_ADDRESS - 1)]
    assert codes == [401] * (PER_ADDRESS - 1)
    assert post(box.port, LOGIN, {"pin": STAFF_PIN})[0] == 200
    assert post(box.port, LOGIN, {"pin": STAFF_PIN})[0] == 200
