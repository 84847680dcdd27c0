"""Setup hotspot: with no Wi-Fi and no cable, the box opens its own network, DJAMMS-Setup,
and a captive page where the owner picks the venue's Wi-Fi.

`djamms wifi-setup` runs as root after NetworkManager. It waits a grace period for a
connection; if none comes it scans, raises a WPA2 access point (password shown on the TV
through HOTSPOT_FILE) and serves the page on port 80. Every DNS name resolves to the box
(overlay: NetworkManager/dnsmasq-shared.d), so phones open the page on their own. A
submitted network is written as the same NetworkManager keyfile first boot writes, the
hotspot goes down and the box joins it; if that fails the hotspot comes back with the reason.
"""

from __future__ import annotations

import html
import json
import logging
import secrets
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

from appliance.bootconfig import BootConfigError, Wifi, wifi_from_form
from appliance.firstboot import COUNTRY_FILE, WIFI_FILE, nm_wifi_connection, write_atomic

log = logging.getLogger("djamms.hotspot")

HOTSPOT_CON = "djamms-setup"
WIFI_CON = "djamms-wifi"
HOTSPOT_IP = "10.42.0.1"  # NetworkManager's address in "shared" mode
HOTSPOT_SSID = "DJAMMS-Setup"
HOTSPOT_FILE = "var/lib/djamms/hotspot.json"  # the screen page shows ssid + password

Runner = Callable[[Sequence[str]], str]  # runs a command, returns stdout, raises on failure


def nmcli(cmd: Sequence[str]) -> str:
    done = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=60)
    return done.stdout


def _split_terse(line: str) -> list[str]:
    """nmcli -t separates fields with ':' and escapes ':' and '\\' inside them."""
    fields: list[str] = []
    cur, escaped = "", False
    for ch in line:
        if escaped:
            cur, escaped = cur + ch, False
        elif ch == "\\":
            escaped = True
        elif ch == ":":
            fields, cur = [*fields, cur], ""
        else:
            cur += ch
    return [*fields, cur]


def is_online(device_table: str) -> bool:
    """From `nmcli -t -f TYPE,STATE device`: a connected cable or Wi-Fi (not our hotspot)."""
    for line in device_table.splitlines():
        fields = _split_terse(line)
        if len(fields) >= 2 and fields[0] in ("ethernet", "wifi") and fields[1] == "connected":
            return True
    return False


def parse_scan(scan: str) -> list[str]:
    """From `nmcli -t -f SSID,SIGNAL device wifi list`: names, strongest first, once each."""
    best: dict[str, int] = {}
    for line in scan.splitlines():
        fields = _split_terse(line)
        if len(fields) < 2 or not fields[0] or not fields[1].isdigit():
            continue
        best[fields[0]] = max(best.get(fields[0], 0), int(fields[1]))
    return sorted(best, key=lambda name: (-best[name], name))


def hotspot_commands(password: str, ifname: str = "wlan0") -> list[list[str]]:
    add = [
        "nmcli", "connection", "add", "type", "wifi", "ifname", ifname,
        "con-name", HOTSPOT_CON, "autoconnect", "no", "ssid", HOTSPOT_SSID,
        "mode", "ap", "802-11-wireless.band", "bg", "ipv4.method", "shared",
        "ipv4.addresses", f"{HOTSPOT_IP}/24", "ipv6.method", "disabled",
        "wifi-sec.key-mgmt", "wpa-psk", "wifi-sec.psk", password,
    ]  # fmt: skip
    return [add, ["nmcli", "connection", "up", HOTSPOT_CON]]


def join_commands() -> list[list[str]]:
    return [
        ["nmcli", "connection", "delete", HOTSPOT_CON],
        ["nmcli", "connection", "reload"],
        ["nmcli", "--wait", "45", "connection", "up", WIFI_CON],
    ]


PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>DJAMMS setup</title>
<style>body{{font-family:sans-serif;max-width:28em;margin:2em auto;padding:0 1em}}
label,select,input,button{{display:block;width:100%;margin:.4em 0;font-size:1.1em}}
.err{{color:#b00}}</style></head><body><h1>Connect the box to your Wi-Fi</h1>{message}
<form method="post" action="/connect">
<label>Network <select name="ssid">{options}</select></label>
<label>Or type its name <input name="ssid_typed" maxlength="32"></label>
<label>Password <input name="psk" type="password" maxlength="64"></label>
<label>Country (two letters) <input name="country" value="{country}" maxlength="2"></label>
<button type="submit">Connect</button></form></body></html>"""


class SetupPortal:
    """The captive page. Serves until a valid network is submitted (`submitted` is set)."""

    def __init__(
        self, root: Path, networks: list[str], *, country: str = "", message: str = ""
    ) -> None:
        self.root = root
        self.networks = networks
        self.country = country
        self.message = message
        self.submitted = threading.Event()
        self.chosen: Wifi | None = None
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def page(self, message: str = "") -> bytes:
        options = "".join(f"<option>{html.escape(n)}</option>" for n in ["", *self.networks])
        note = f'<p class="err">{html.escape(message)}</p>' if message else ""
        return PAGE.format(
            message=note, options=options, country=html.escape(self.country)
        ).encode()

    def submit(self, form: dict[str, list[str]]) -> str:
        """Validate and write the network; returns the reason it was refused, or ""."""
        field = {k: v[0] if v else "" for k, v in form.items()}
        ssid = field.get("ssid_typed", "").strip() or field.get("ssid", "")
        try:
            wifi = wifi_from_form(ssid, field.get("psk", ""), field.get("country", "").upper())
        except BootConfigError as exc:
            return str(exc).replace("wifi.", "")
        write_atomic(self.root / WIFI_FILE, nm_wifi_connection(wifi).encode(), 0o600)
        rule = f"options cfg80211 ieee80211_regdom={wifi.country}\n".encode()
        write_atomic(self.root / COUNTRY_FILE, rule, 0o644)
        self.chosen = wifi
        return ""

    def start(self, host: str, port: int) -> int:
        portal = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:  # every path: phones probe /generate_204 etc.
                self._answer(200, portal.page(portal.message))

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if self.path != "/connect" or not 0 < length <= 4096:
                    self._answer(400, portal.page("Please use the form."))
                    return
                form = parse_qs(self.rfile.read(length).decode("utf-8", "replace"))
                reason = portal.submit(form)
                if reason:
                    self._answer(400, portal.page(reason))
                    return
                name = html.escape(portal.chosen.ssid if portal.chosen else "")
                # The answer goes out before the hotspot (the phone's network) goes down.
                self._answer(
                    200,
                    f"<p>Joining {name}. This network closes now; the TV "
                    "shows the box's address when it is connected.</p>".encode(),
                )
                portal.submitted.set()

            def log_message(self, fmt: str, *args: object) -> None:
                log.debug(fmt, *args)

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self._server.server_address[1]

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def _run_all(runner: Runner, cmds: list[list[str]]) -> str:
    """Run in order; the first failure's message, or "" when all succeeded."""
    for cmd in cmds:
        try:
            runner(cmd)
        except (OSError, subprocess.SubprocessError) as exc:
            return f"{' '.join(cmd[:4])}: {getattr(exc, 'stderr', '') or exc}"
    return ""


def wait_online(runner: Runner, grace: float, poll: float = 5.0) -> bool:
    """Poll NetworkManager until connected or the grace period is over (no event to wait on)."""
    deadline = time.monotonic() + grace
    while True:
        try:
            if is_online(runner(["nmcli", "-t", "-f", "TYPE,STATE", "device"])):
                return True
        except (OSError, subprocess.SubprocessError) as exc:
            log.warning("nmcli device: %s", exc)
        if time.monotonic() >= deadline:
            return False
        time.sleep(poll)


def run_setup(
    root: Path, runner: Runner, *, grace: float = 60.0, host: str = "0.0.0.0", port: int = 80,
    country: str = "", retry: float = 300.0,
    on_portal: Callable[[SetupPortal, int], None] | None = None,
) -> int:  # fmt: skip
    """Open the hotspot when offline; return once the box has joined a network."""
    if wait_online(runner, grace):
        log.info("online; no setup hotspot needed")
        return 0
    message = ""
    password = "".join(secrets.choice("0123456789") for _ in range(8))  # stable while shown
    while True:
        try:
            scan = runner(["nmcli", "-t", "-f", "SSID,SIGNAL", "device", "wifi", "list"])
        except (OSError, subprocess.SubprocessError):
            scan = ""
        status = {"ssid": HOTSPOT_SSID, "password": password, "url": f"http://{HOTSPOT_IP}/",
                  "message": message}  # fmt: skip
        write_atomic(root / HOTSPOT_FILE, json.dumps(status).encode(), 0o644)
        _run_all(runner, [["nmcli", "connection", "delete", HOTSPOT_CON]])  # a stale one
        if failed := _run_all(runner, hotspot_commands(password)):
            log.error("setup hotspot failed: %s", failed)
            return 1
        portal = SetupPortal(root, parse_scan(scan), country=country, message=message)
        bound = portal.start(host, port)
        log.warning("no network: setup hotspot %s is open (page on port %s)", HOTSPOT_SSID, bound)
        if on_portal is not None:
            on_portal(portal, bound)
        # Nobody came: the venue's router may be back (power cut at closing), so retry
        # the network we already know now and then.
        while not portal.submitted.wait(retry) and not (root / WIFI_FILE).exists():
            pass
        portal.stop()
        failed = _run_all(runner, join_commands())
        if not failed:
            (root / HOTSPOT_FILE).unlink(missing_ok=True)
            return 0
        if portal.chosen is None:
            message = ""
            log.info("known network still unreachable: %s", failed)
            continue
        message = f"Could not join {portal.chosen.ssid}: check the password and try again."
        log.error("joining %s failed: %s", portal.chosen.ssid, failed)
