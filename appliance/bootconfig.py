"""The venue owner's `djamms.toml` on the boot partition: parse, validate, erase secrets.

Validation either yields complete `BootSettings` or raises `BootConfigError` with a reason
written for the owner (it is shown on the screen page). Secrets are erased in place, byte
for byte, so the FAT clusters that held them are overwritten rather than orphaned.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

VENUE_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$")
COUNTRY = re.compile(r"^[A-Z]{2}$")
TIMEZONE = re.compile(r"^[A-Za-z0-9_+\-]+(/[A-Za-z0-9_+\-]+)*$")
PIN = re.compile(r"^[0-9]{4,12}$")
HEX_PSK = re.compile(r"^[0-9a-fA-F]{64}$")
ERASED = ord("*")
# (section, key) pairs erased from the boot file once applied.
SECRETS = (("venue", "admin_pin"), ("venue", "staff_pin"), ("wifi", "psk"), ("cloud", "password"))
KNOWN = {
    "venue": {"name", "id", "timezone", "admin_pin", "staff_pin"},
    "wifi": {"ssid", "psk", "country", "hidden"},
    "cloud": {"broker", "username", "password"},
}


class BootConfigError(ValueError):
    pass


@dataclass(frozen=True)
class Wifi:
    ssid: str
    psk: str  # empty: an open network
    country: str
    hidden: bool = False


@dataclass(frozen=True)
class BootSettings:
    venue_name: str
    venue_id: str
    timezone: str
    admin_pin: str
    wifi: Wifi | None
    country: str  # radio rules; also used by the setup hotspot when there is no Wi-Fi
    broker: str  # full URL with credentials, or empty
    panel: Mapping[str, Any] = field(default_factory=dict)

    @property
    def hostname(self) -> str:
        return f"djamms-{self.venue_id}"


def _text(table: Mapping[str, Any], key: str, where: str, *, required: bool = True) -> str:
    value = table.get(key, "")
    if not isinstance(value, str):
        raise BootConfigError(f"{where}.{key} must be text in quotes")
    if required and not value.strip():
        raise BootConfigError(f"{where}.{key} is missing")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise BootConfigError(f"{where}.{key} contains a control character")
    if value and set(value) == {"*"}:
        raise BootConfigError(
            f"{where}.{key} was erased after an earlier first boot; write it again to reconfigure"
        )
    return value.strip() if key != "psk" else value


def _venue(doc: Mapping[str, Any]) -> tuple[str, str, str, str]:
    venue = _table(doc, "venue", required=True)
    name = _text(venue, "name", "venue")
    if len(name) > 80:
        raise BootConfigError("venue.name is longer than 80 characters")
    venue_id = _text(venue, "id", "venue")
    if not VENUE_ID.match(venue_id):
        raise BootConfigError(
            f"venue.id {venue_id!r} is not valid: use 3-40 lowercase letters, digits and '-', "
            "starting and ending with a letter or digit"
        )
    if venue_id in ("console", "homeassistant"):  # the broker's own users, not venues
        raise BootConfigError(f"venue.id {venue_id!r} is reserved; choose another")
    tz = _text(venue, "timezone", "venue", required=False) or "UTC"
    if not TIMEZONE.match(tz) or ".." in tz:
        raise BootConfigError(f"venue.timezone {tz!r} is not a time zone name")
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise BootConfigError(f"venue.timezone {tz!r} is not a known time zone") from None
    # `staff_pin` is the name the README and the image use; `admin_pin` the earlier one
    pin = _text(venue, "staff_pin", "venue", required=False)
    old = _text(venue, "admin_pin", "venue", required=False)
    if pin and old and pin != old:
        raise BootConfigError("venue.staff_pin and venue.admin_pin differ: keep one")
    key = "staff_pin" if pin else "admin_pin"
    pin = pin or old
    if pin and not PIN.match(pin):
        raise BootConfigError(f"venue.{key} must be 4-12 digits")
    return name, venue_id, tz, pin


def _wifi(doc: Mapping[str, Any]) -> tuple[Wifi | None, str]:
    wifi = _table(doc, "wifi", required=False)
    country = _text(wifi, "country", "wifi", required=False).upper()
    if country and not COUNTRY.match(country):
        raise BootConfigError(f"wifi.country {country!r} must be a two-letter code like GB")
    if not wifi.get("ssid"):
        if wifi.get("psk"):
            raise BootConfigError("wifi.psk is set but wifi.ssid is missing")
        return None, country
    ssid = _text(wifi, "ssid", "wifi")
    if len(ssid.encode()) > 32:
        raise BootConfigError("wifi.ssid is longer than 32 bytes")
    psk = _text(wifi, "psk", "wifi", required=False)
    if psk and not (8 <= len(psk) <= 63 and psk.isascii()) and not HEX_PSK.match(psk):
        raise BootConfigError("wifi.psk must be 8-63 plain characters (or 64 hex digits)")
    if not country:
        raise BootConfigError("wifi.country is missing (two-letter code, e.g. GB, US, DE)")
    hidden = wifi.get("hidden", False)
    if not isinstance(hidden, bool):
        raise BootConfigError("wifi.hidden must be true or false")
    return Wifi(ssid, psk, country, hidden), country


def _broker(doc: Mapping[str, Any], venue_id: str) -> str:
    cloud = _table(doc, "cloud", required=False)
    url = _text(cloud, "broker", "cloud", required=False)
    if not url:
        return ""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        raise BootConfigError("cloud.broker must look like mqtts://broker.example.com:8883")
    if parts.username or parts.password:
        raise BootConfigError("put the broker password in cloud.password, not in the URL")
    try:
        port = parts.port
    except ValueError:
        raise BootConfigError("cloud.broker has an invalid port") from None
    password = _text(cloud, "password", "cloud")
    user = _text(cloud, "username", "cloud", required=False) or venue_id
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{parts.hostname}"
    return f"{parts.scheme}://{netloc}{f':{port}' if port else ''}"


def _panel(doc: Mapping[str, Any]) -> Mapping[str, Any]:
    """`[panel]` options and its `[panel.pins]` map are the panel's to interpret (it checks
    them again at start); here: BCM numbers 0-27, each pin used once."""
    panel = _table(doc, "panel", required=False)
    for key, value in panel.items():
        if isinstance(value, dict) and key != "pins":
            raise BootConfigError(f"panel.{key}: only [panel.pins] may be a table")
    pins = panel.get("pins", {})
    if not isinstance(pins, dict):
        raise BootConfigError("panel.pins must be a [panel.pins] section")
    used: dict[int, str] = {}
    for role, pin in pins.items():
        if isinstance(pin, bool) or not isinstance(pin, int) or not 0 <= pin <= 27:
            raise BootConfigError(f"panel.pins.{role} = {pin!r}: use a BCM GPIO number 0-27")
        if pin in used:
            raise BootConfigError(f"GPIO{pin} is used twice: {used[pin]} and {role}")
        used[pin] = role
    return {k: dict(v) if isinstance(v, dict) else v for k, v in panel.items()}


def _table(doc: Mapping[str, Any], name: str, *, required: bool) -> Mapping[str, Any]:
    table = doc.get(name)
    if table is None:
        if required:
            raise BootConfigError(f"the [{name}] section is missing")
        return {}
    if not isinstance(table, dict):
        raise BootConfigError(f"{name} must be a [{name}] section")
    unknown = set(table) - KNOWN[name] if name in KNOWN else set()
    if unknown:
        raise BootConfigError(_unknown([f"{name}.{k}" for k in unknown], KNOWN[name], name))
    return table


def _unknown(found: list[str], known: set[str], prefix: str = "") -> str:
    """Every unknown name, each with the known one it most looks like (a typo, usually)."""
    parts = []
    for item in sorted(found):
        near = difflib.get_close_matches(item.rsplit(".", 1)[-1], sorted(known), n=1)
        hint = f"{prefix}.{near[0]}" if prefix and near else (near[0] if near else "")
        parts.append(f"{item} (did you mean {hint}?)" if hint else item)
    return "unknown setting " + ", ".join(parts)


def parse_boot_config(raw: bytes) -> BootSettings:
    try:
        doc = tomllib.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise BootConfigError("the file is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise BootConfigError(f"the file is not valid TOML: {exc}") from None
    unknown = set(doc) - {*KNOWN, "panel"}
    if unknown:
        raise BootConfigError(_unknown(sorted(unknown), {*KNOWN, "panel"}))
    name, venue_id, tz, pin = _venue(doc)
    wifi, country = _wifi(doc)
    settings = BootSettings(
        venue_name=name,
        venue_id=venue_id,
        timezone=tz,
        admin_pin=pin,
        wifi=wifi,
        country=country,
        broker=_broker(doc, venue_id),
        panel=_panel(doc),
    )
    secret_spans(raw)  # a secret we could not erase later is a reason to refuse now
    return settings


_HEADER = re.compile(rb"^\s*\[\s*([A-Za-z0-9_-]+)\s*\]\s*(#.*)?$")
# key = "basic" or key = 'literal', then only a comment: no multi-line or inline tables.
_ASSIGN = re.compile(
    rb"^\s*([A-Za-z0-9_-]+)\s*=\s*(\"(?!\"\")(?:[^\"\\]|\\.)*\"|'(?!'')[^']*')\s*(#.*)?$"
)


def secret_spans(raw: bytes) -> list[tuple[int, int]]:
    """Byte ranges of the secret values (inside their quotes) in the boot file. A secret
    written any other way than `key = "value"` on one line is refused."""
    spans: list[tuple[int, int]] = []
    wanted = {(s.encode(), k.encode()) for s, k in SECRETS}
    section = b""
    offset = 0
    for line in raw.splitlines(keepends=True):
        if header := _HEADER.match(line):
            section = header.group(1)
        elif (assign := _ASSIGN.match(line)) and (section, assign.group(1)) in wanted:
            start, end = assign.span(2)
            spans.append((offset + start + 1, offset + end - 1))
            wanted.discard((section, assign.group(1)))
        offset += len(line)
    doc = tomllib.loads(raw.decode("utf-8-sig"))
    for section_b, key_b in sorted(wanted):
        section_name, key = section_b.decode(), key_b.decode()
        table = doc.get(section_name, {})
        if isinstance(table, dict) and table.get(key):
            raise BootConfigError(f'write {section_name}.{key} on one line as {key} = "..."')
    return spans


def erase_secrets(path: os.PathLike[str] | str) -> int:
    """Overwrite every secret value with '*' in place (same length, same file, fsynced).
    Returns how many values were erased."""
    fd = os.open(path, os.O_RDWR)
    try:
        raw = b""
        while chunk := os.read(fd, 65536):
            raw += chunk
        spans = secret_spans(raw)
        for start, end in spans:
            if end > start:
                os.pwrite(fd, bytes([ERASED]) * (end - start), start)
        os.fsync(fd)
    finally:
        os.close(fd)
    return len(spans)


def wifi_from_form(ssid: str, psk: str, country: str) -> Wifi:
    """The setup page's fields, checked by the same rules as the boot file's [wifi]."""
    wifi, _ = _wifi({"wifi": {"ssid": ssid, "psk": psk, "country": country}})
    if wifi is None:
        raise BootConfigError("choose a network")
    return wifi
