"""Where phones on the venue's network reach the box: its LAN address and the patron
page's address, for the console's QR code and the TV's."""

from __future__ import annotations

import fcntl
import socket
import struct

from appliance.config import Config

SIOCGIFADDR = 0x8915  # Linux: an interface's IPv4 address


def interface_addresses() -> list[str]:
    """Every IPv4 address of this box's interfaces but loopback, in interface order."""
    found: list[str] = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        for _index, name in socket.if_nameindex():
            try:
                packed = fcntl.ioctl(
                    probe.fileno(), SIOCGIFADDR, struct.pack("256s", name[:15].encode())
                )
            except OSError:  # down, or no IPv4 address
                continue
            address = socket.inet_ntoa(packed[20:24])
            if not address.startswith("127."):
                found.append(address)
    return found


def lan_address() -> str:
    """The address this box uses toward the LAN (no packet is sent): the one the default
    route leaves from, else (a venue network with no gateway) the first interface's."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("10.255.255.255", 1))
        return str(probe.getsockname()[0])
    except OSError:
        pass
    finally:
        probe.close()
    addresses = interface_addresses()
    return addresses[0] if addresses else "127.0.0.1"


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
