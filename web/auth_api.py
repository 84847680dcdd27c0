"""Sessions over HTTP: staff PIN login (rate-limited, locked out after repeated misses),
guest sessions for patrons, logout, who-am-I, and the admin's auth settings."""

from __future__ import annotations

import secrets
from typing import Any

from flask import Blueprint, Response, jsonify, request

from appliance.commands import opt_str
from appliance.core import messages as m
from appliance.core.codec import to_data
from appliance.pins import hash_pin, verify_pin
from web.auth import actor_for, admin_required, current_session, session_required
from web.body import json_body
from web.context import console
from web.errors import ApiError, reply_response
from web.lockout import DEVICE_COOKIE, DEVICE_TTL
from web.sessions import COOKIE, GUEST_TTL, STAFF_TTL, Session

bp = Blueprint("auth_api", __name__)


def _session_body(session: Session) -> dict[str, Any]:
    user = console().runtime.state.users.get(session.user_id)
    prefs = to_data(user.preferences) if user is not None else {}
    return {
        "userId": session.user_id,
        "role": session.role,
        "csrfToken": session.csrf_token,
        "preferences": prefs,
        "username": session.username,
    }


def _with_cookie(session: Session, sid: str) -> Response:
    resp = jsonify(_session_body(session))
    resp.set_cookie(
        COOKIE,
        sid,
        max_age=int(STAFF_TTL if session.is_staff else GUEST_TTL),
        httponly=True,
        samesite="Strict",
        path="/",
    )
    return resp


def _valid_pin(body: dict[str, Any]) -> str:
    pin = body.get("pin")
    if pin is None:
        raise ApiError("missing_field", "pin is required.")
    if not isinstance(pin, str) or not 4 <= len(pin) <= 64:
        raise ApiError("invalid_field", "pin must be text of 4-64 characters.")
    return pin


@bp.post("/api/auth/login")
def login() -> Response:
    c = console()
    address = request.remote_addr or "?"
    device = c.devices.known(request.cookies.get(DEVICE_COOKIE))
    # counted now, before the body is read and before scrypt: a burst of held requests
    # is judged one at a time against the limit, not all at once past it
    wait = c.logins.admit(address, device)
    if wait > 0:
        raise ApiError(
            "locked_out",
            f"Too many wrong PINs; try again in {int(wait) + 1} s.",
            429,
            retryAfter=int(wait) + 1,
        )
    pin = _valid_pin(json_body())
    staff = [u for u in c.runtime.state.users.values() if u.role in ("admin", "moderator")]
    user = next((u for u in staff if u.pin_hash and verify_pin(pin, u.pin_hash)), None)
    if user is None:
        if device and c.logins.exhausted(device):
            c.devices.forget(device)  # a copied token buys only a few guesses
        raise ApiError("wrong_pin", "That PIN is not right.", 401)
    c.logins.succeeded(address, device)
    sid, session = c.sessions.create(user.user_id, user.role, user.username)
    # the login itself is the session; recording it must not hold the answer up
    c.runtime.submit_async(m.UserLoggedIn(user_id=user.user_id, actor=actor_for(session, request)))
    if c.first_pin:  # staff are in: the screen page stops showing the first-start PIN
        c.first_pin = ""
        c.runtime.submit_async(m.SystemNotice(status="first_pin_used"))
        if c.first_pin_file is not None:
            c.first_pin_file.unlink(missing_ok=True)
    resp = _with_cookie(session, sid)
    if not device:
        resp.set_cookie(
            DEVICE_COOKIE,
            c.devices.issue(),
            max_age=DEVICE_TTL,
            httponly=True,
            samesite="Strict",
            path="/api/auth/",
        )
    return resp


@bp.post("/api/auth/guest")
def guest() -> Response:
    c = console()
    body = json_body()
    name = opt_str(body, "name", 40)
    existing = current_session()
    if existing is not None:
        return jsonify(_session_body(existing))
    if not c.guests.allow(request.remote_addr or "?"):
        raise ApiError("too_many_guests", "Too many new guests from this device; wait a bit.", 429)
    user_id = "guest-" + secrets.token_hex(8)
    actor = m.Actor(
        user_id=user_id, role="user", ip_address=request.remote_addr or "", source="web"
    )
    reply = c.runtime.submit(
        m.RegisterUser(user_id=user_id, role="user", username=name, actor=actor)
    )
    if not reply.ok:
        return reply_response(reply)
    sid, session = c.sessions.create(user_id, "user", name)
    return _with_cookie(session, sid)


@bp.post("/api/auth/logout")
@session_required
def logout() -> Response:
    c = console()
    ended = c.sessions.delete(request.cookies.get(COOKIE))
    if ended:  # its windows stop at once, staff-only frames included
        c.hub.drop_sessions({ended})
    resp = jsonify({"ok": True})
    resp.delete_cookie(COOKIE, path="/", samesite="Strict", httponly=True)
    return resp


@bp.get("/api/auth/session")
def whoami() -> Response:
    session = current_session()
    if session is None:
        return jsonify({"authenticated": False, "role": None})
    return jsonify({"authenticated": True, **_session_body(session)})


@bp.post("/api/auth/settings")
@admin_required
def auth_settings() -> Response:
    """`{"setting": "pin", "value": "<new PIN>"}` changes the admin's own PIN;
    `{"setting": "moderator", "value": {"username", "pin"}}` adds a moderator."""
    c = console()
    body = json_body()
    setting = body.get("setting")
    value = body.get("value")
    session = current_session()
    assert session is not None
    actor = actor_for(session, request)
    if setting == "pin":
        pin = _new_pin(value)
        user = c.runtime.state.users.get(session.user_id)
        msg = m.RegisterUser(
            user_id=session.user_id,
            role=session.role,
            username=user.username if user else "",
            pin_hash=hash_pin(pin),
            actor=actor,
        )
        reply = c.runtime.submit(msg)
        if reply.ok:  # a new PIN ends the user's other sessions (a lost tablet, say)
            c.hub.drop_sessions(c.sessions.end_user(session.user_id, keep=session.sid_hash))
        return reply_response(reply)
    elif setting == "moderator":
        if not isinstance(value, dict):
            raise ApiError("invalid_field", "value must be {username, pin}.")
        pin = _new_pin(value.get("pin"))
        name = opt_str(value, "username", 40, "moderator")
        msg = m.RegisterUser(
            user_id="staff-" + secrets.token_hex(6),
            role="moderator",
            username=name,
            pin_hash=hash_pin(pin),
            actor=actor,
        )
    else:
        raise ApiError("unknown_setting", "setting must be 'pin' or 'moderator'.")
    return reply_response(c.runtime.submit(msg))


def _new_pin(value: Any) -> str:
    if not isinstance(value, str) or not value.isdigit() or not 4 <= len(value) <= 12:
        raise ApiError("invalid_field", "A PIN is 4-12 digits.")
    staff = console().runtime.state.users.values()
    if any(u.pin_hash and verify_pin(value, u.pin_hash) for u in staff):
        raise ApiError("pin_in_use", "Another staff member already uses that PIN.", 409)
    return value
