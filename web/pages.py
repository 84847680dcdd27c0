"""The pages: staff console, patron page, the venue's screen, and the QR code (SVG, made
on the box) that opens the patron page. No CDN: everything is served from here."""

from __future__ import annotations

import io

from flask import Blueprint, Response, redirect, render_template, request
from werkzeug.wrappers import Response as WerkzeugResponse

from appliance.firstboot import read_setup_status
from appliance.lan import lan_address
from web.context import console

bp = Blueprint("pages", __name__)

LOOPBACK = ("127.0.0.1", "::1")


def patron_url() -> str:
    """The address a phone should open. A page opened on the box itself (localhost) would
    hand phones a useless address, so then the LAN address is used."""
    c = console()
    configured = c.config.section("web").get("public_url")
    if configured:
        return str(configured).rstrip("/") + "/patron"
    host = request.host.split(":")[0]
    if host in ("localhost", "127.0.0.1", "[::1]"):
        port = request.host.rsplit(":", 1)[1] if ":" in request.host else "80"
        return f"http://{lan_address()}:{port}/patron"
    return request.host_url.rstrip("/") + "/patron"


def _venue_name() -> str:
    venue = console().runtime.state.venue
    return venue.venue_name if venue else "DJAMMS"


@bp.get("/")
def index() -> WerkzeugResponse:
    return redirect("/staff")


@bp.get("/staff")
def staff() -> str:
    return render_template("staff.html", venue_name=_venue_name())


@bp.get("/patron")
def patron() -> str:
    return render_template("patron.html", venue_name=_venue_name())


@bp.get("/p")
def patron_short() -> WerkzeugResponse:
    return redirect("/patron")


@bp.get("/screen")
def screen() -> str:
    # The first-start PIN, a first-boot problem and the setup hotspot's password only on
    # the box's own screen, never to a phone on the Wi-Fi.
    own_screen = request.remote_addr in LOOPBACK
    c = console()
    setup = read_setup_status(c.config.data_dir) if own_screen else {}
    firstboot = setup.get("firstboot") or {}
    return render_template(
        "screen.html",
        venue_name=_venue_name(),
        patron_url=patron_url(),
        first_pin=c.first_pin if own_screen else "",
        setup_problem=firstboot.get("reason", "") if firstboot.get("ok") is False else "",
        hotspot=setup.get("hotspot"),
    )


@bp.get("/api/qr.svg")
def qr_svg() -> Response:
    import qrcode
    import qrcode.image.svg

    img = qrcode.make(
        patron_url(), image_factory=qrcode.image.svg.SvgPathFillImage, box_size=10, border=2
    )
    out = io.BytesIO()
    img.save(out)
    resp = Response(out.getvalue(), mimetype="image/svg+xml")
    resp.headers["Cache-Control"] = "no-cache"
    return resp
