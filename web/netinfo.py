"""Where phones can reach the box: its LAN address, and an mDNS announcement
(`djamms.local`, service `_http._tcp`) so they can use the name."""

from __future__ import annotations

import logging
import socket
from typing import Any

from appliance.lan import lan_address

log = logging.getLogger(__name__)


class MdnsAnnouncer:
    def __init__(self, port: int, hostname: str = "djamms", name: str = "DJAMMS") -> None:
        self.port = port
        self.hostname = hostname
        self.name = name
        self._zc: Any = None
        self._info: Any = None

    def start(self) -> None:
        try:
            from zeroconf import ServiceInfo, Zeroconf

            address = lan_address()
            self._info = ServiceInfo(
                "_http._tcp.local.",
                f"{self.name}._http._tcp.local.",
                addresses=[socket.inet_aton(address)],
                port=self.port,
                properties={"path": "/patron"},
                server=f"{self.hostname}.local.",
            )
            self._zc = Zeroconf()
            self._zc.register_service(self._info, allow_name_change=True)
            log.info("announced http://%s.local:%s on the LAN", self.hostname, self.port)
        except Exception:  # no multicast on this network: the address still works
            log.warning("mDNS announcement failed; phones must use the address", exc_info=True)
            self._zc = None

    def stop(self) -> None:
        if self._zc is None:
            return
        try:
            self._zc.unregister_service(self._info)
        finally:
            self._zc.close()
            self._zc = None
