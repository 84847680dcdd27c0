"""Where phones on the venue's network reach the box: its LAN address and the patron
page's address, for the console's QR code and the TV's."""

from __future__ import annotations

import socket

from appliance.config import Config


def lan_address() -> str:
    """The address this box uses toward the LAN (no packet is sent)."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("10.255.255.255", 1))
        return str(probe.getsockname()[0])
    except OSError:
        return "127.0.0.1"
    finally:
        probe.close()


def patron_url(config: Config, port: int | None = None) -> str:
    """The patron page as a phone opens it: `[web] public_url` when set, else this box's
    LAN address; "" while the box has no network (a QR code to 127.0.0.1 would send
    phones nowhere)."""
    configured = config.section("web").get("public_url")
    if configured:
        return str(configured).rstrip("/") + "/patron"
    address = lan_address()
    if address.startswith("127."):
        return ""
    return f"http://{address}:{port or config.port}/patron"
