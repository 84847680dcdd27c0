"""Answers the whole console shares: `X-Content-Type-Options: nosniff` on every response
(an upload is never sniffed into HTML), and a Host check on the API and the websocket,
so a page elsewhere cannot rebind its own name to the box (DNS rebinding) and call it.
Accepted names: IP literals, `localhost`, `*.local` (mDNS), this machine's name, and
`[web] allowed_hosts`. Pages stay reachable by any name: the setup hotspot answers every
name a joining phone tries."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable

from flask import Flask, Response, request

from web.errors import error_response


def allowed_host(host: str, extra: Iterable[str] = ()) -> bool:
    name = host.strip().lower()
    if name.startswith("["):  # [v6]:port
        name = name[1 : name.find("]")] if "]" in name else name
    elif name.count(":") == 1:
        name = name.rsplit(":", 1)[0]
    try:
        ipaddress.ip_address(name)
        return True
    except ValueError:
        pass
    name = name.rstrip(".")
    mine = {"localhost", socket.gethostname().lower(), *(e.lower() for e in extra)}
    return bool(name) and (name in mine or name.endswith(".local"))


def register(app: Flask, extra_hosts: Iterable[str] = ()) -> None:
    extra = tuple(extra_hosts)

    @app.before_request
    def _check_host() -> Response | None:
        if not (request.path.startswith("/api") or request.path == "/ws"):
            return None
        if allowed_host(request.host or "", extra):
            return None
        return error_response("bad_host", "Use the box's address or name.", 400)

    @app.after_request
    def _nosniff(resp: Response) -> Response:
        resp.headers["X-Content-Type-Options"] = "nosniff"
        return resp
