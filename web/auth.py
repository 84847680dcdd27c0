"""Who is asking: the session from the cookie, the `Actor` it becomes, CSRF checks on
cookie-authenticated POSTs, and the decorators routes use. Importable by any blueprint:

    from web.auth import staff_required, current_actor
    @bp.post("/api/thing")
    @staff_required
    def thing(): ...

Every decorator answers in the house error format: 401 without a session, 403 for the
wrong role or a missing/wrong `X-CSRF-Token` header.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Request, current_app, g, request
from werkzeug.http import parse_cookie

from appliance.core.messages import Actor
from web.errors import ApiError
from web.lockout import DEVICE_COOKIE
from web.sessions import COOKIE, Session, SessionStore

F = TypeVar("F", bound=Callable[..., Any])
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def session_store() -> SessionStore:
    return current_app.extensions["djamms"].sessions


def current_session() -> Session | None:
    if "djamms_session" not in g:
        g.djamms_session = session_store().get(request.cookies.get(COOKIE))
    return g.djamms_session


def staff_environ(console: Any, environ: Mapping[str, Any]) -> bool:
    """A request (before Flask sees it) from staff: a staff session, or a device that
    logged staff in before (it is about to log in). Decides the reserved connections."""
    cookies = parse_cookie(environ.get("HTTP_COOKIE", ""))
    session = console.sessions.get(cookies.get(COOKIE))
    if session is not None:
        return session.is_staff
    return bool(console.devices.known(cookies.get(DEVICE_COOKIE)))


def actor_for(session: Session | None, req: Request, source: str = "web") -> Actor:
    """The core's `Actor` for a request: anonymous visitors are role `user` with no id."""
    ip = req.remote_addr or ""
    agent = (req.headers.get("User-Agent") or "")[:200]
    if session is None:
        return Actor(user_id="", role="user", ip_address=ip, user_agent=agent, source=source)
    return Actor(
        user_id=session.user_id,
        role=session.role,
        session_id=session.sid_hash[:16],
        ip_address=ip,
        user_agent=agent,
        source=source,
    )


def current_actor(source: str = "web") -> Actor:
    return actor_for(current_session(), request, source)


def same_origin(req: Request) -> bool:
    """True when the request has no Origin (not a browser) or it names this host."""
    origin = req.headers.get("Origin")
    if not origin:
        return True
    if origin == "null":
        return False
    return urlsplit(origin).netloc.lower() == (req.host or "").lower()


def check_csrf(session: Session) -> None:
    if request.method in SAFE_METHODS:
        return
    if not same_origin(request):
        raise ApiError("bad_origin", "Requests must come from the console's own pages.", 403)
    token = request.headers.get("X-CSRF-Token", "")
    if not token or not hmac.compare_digest(token, session.csrf_token):
        raise ApiError("csrf", "Missing or wrong X-CSRF-Token header; reload the page.", 403)


def _require(check: Callable[[Session], None]) -> Callable[[F], F]:
    def decorate(fn: F) -> F:
        @wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            session = current_session()
            if session is None:
                raise ApiError("unauthorized", "Please log in (or join as a guest) first.", 401)
            check(session)
            check_csrf(session)
            return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def _any(session: Session) -> None:
    return None


def _staff(session: Session) -> None:
    if not session.is_staff:
        raise ApiError("forbidden", "Only staff can do that.", 403)


def _admin(session: Session) -> None:
    if session.role != "admin":
        raise ApiError("forbidden", "Only an admin can do that.", 403)


session_required = _require(_any)  # any session, guests included
staff_required = _require(_staff)
admin_required = _require(_admin)

ROLE_CHECKS: dict[str, Callable[[Session], None]] = {
    "guest": _any,
    "staff": _staff,
    "admin": _admin,
}
