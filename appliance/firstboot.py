"""First boot: apply the owner's `djamms.toml` from the boot partition to the system.

`djamms firstboot --boot-dir /boot/firmware --root /` runs once, as root, before the
network and the app start. Every path it writes is under `--root`, so tests run it against
a temporary directory. On success it writes the app config, Wi-Fi, hostname and time zone
atomically, erases the secrets in the boot file and leaves a done-stamp. A file that fails
validation is left untouched; the reason goes to the journal (stderr) and to
STATUS_FILE, which the screen page shows.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from appliance.atomic_storage import fsync_dir
from appliance.bootconfig import (
    BootConfigError,
    BootSettings,
    Wifi,
    erase_secrets,
    parse_boot_config,
)

log = logging.getLogger("djamms.firstboot")

BOOT_FILE = "djamms.toml"
APP_CONFIG = "etc/djamms/djamms.toml"
DONE_STAMP = "etc/djamms/firstboot.done"
STATUS_FILE = "var/lib/djamms/firstboot.json"  # read by the screen page
WIFI_FILE = "etc/NetworkManager/system-connections/djamms-wifi.nmconnection"
COUNTRY_FILE = "etc/modprobe.d/djamms-wifi-country.conf"
SERVICE_GROUP = "djamms"

Runner = Callable[[Sequence[str]], object]


def write_atomic(path: Path, data: bytes, mode: int, uid: int = 0, gid: int = 0) -> None:
    """tmp + fsync + chmod/chown + rename + directory fsync: all or nothing, even on power loss."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        os.write(fd, data)
        os.fchown(fd, uid, gid)
        os.fchmod(fd, mode)  # after chown: chown clears set-id bits, and keeps it tight before
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    fsync_dir(path.parent)


def group_id(root: Path, name: str) -> int:
    """The gid of `name` in the root's own /etc/group (not the host's)."""
    try:
        for line in (root / "etc/group").read_text().splitlines():
            fields = line.split(":")
            if len(fields) >= 3 and fields[0] == name:
                return int(fields[2])
    except FileNotFoundError:
        pass
    raise RuntimeError(f"group {name!r} is missing from {root / 'etc/group'} (sysusers not run?)")


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)  # JSON string escapes are valid TOML


def app_config(s: BootSettings, source: str) -> str:
    box = {
        "venue_name": s.venue_name,
        "venue_id": s.venue_id,
        "timezone": s.timezone,
        "admin_pin": s.admin_pin,
        "broker": s.broker,
    }
    lines = [f"# Written at first boot from {source}. Paths come from the service unit.", "[box]"]
    lines += [f"{k} = {_toml_value(v)}" for k, v in box.items() if v]
    scalars = {k: v for k, v in s.panel.items() if not isinstance(v, dict)}
    if s.panel:
        lines += ["", "[panel]"] + [f"{k} = {_toml_value(v)}" for k, v in scalars.items()]
    if pins := s.panel.get("pins"):
        lines += ["", "[panel.pins]"] + [f"{k} = {_toml_value(v)}" for k, v in pins.items()]
    return "\n".join(lines) + "\n"


def _keyfile_escape(value: str) -> str:
    """GKeyFile value escaping, as NetworkManager's keyfile plugin reads it."""
    out = value.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t")
    return "\\s" + out[1:] if out.startswith(" ") else out


def _nm_ssid(ssid: str) -> str:
    """NetworkManager's own SSID form: printable ASCII as a string with ';' escaped,
    anything else as the list of its bytes."""
    raw = ssid.encode()
    if all(0x20 <= b < 0x7F for b in raw):
        return _keyfile_escape(ssid.replace(";", "\\;"))
    return "".join(f"{b};" for b in raw)


def nm_wifi_connection(wifi: Wifi) -> str:
    conn_uuid = uuid.uuid5(uuid.NAMESPACE_URL, f"djamms-wifi:{wifi.ssid}")
    lines = [
        "[connection]",
        "id=djamms-wifi",
        f"uuid={conn_uuid}",
        "type=wifi",
        "autoconnect=true",
        "autoconnect-priority=10",
        "autoconnect-retries=0",  # keep trying after a router restart, never give up
        "",
        "[wifi]",
        "mode=infrastructure",
        f"ssid={_nm_ssid(wifi.ssid)}",
        f"hidden={'true' if wifi.hidden else 'false'}",
        "",
    ]
    if wifi.psk:
        lines += ["[wifi-security]", "key-mgmt=wpa-psk", f"psk={_keyfile_escape(wifi.psk)}", ""]
    lines += ["[ipv4]", "method=auto", "", "[ipv6]", "method=auto", ""]
    return "\n".join(lines)


def hosts_file(current: str, hostname: str) -> str:
    kept = [ln for ln in current.splitlines() if not ln.startswith("127.0.1.1")]
    if not any(ln.startswith("127.0.0.1") for ln in kept):
        kept.insert(0, "127.0.0.1\tlocalhost")
    return "\n".join([*kept, f"127.0.1.1\t{hostname}"]) + "\n"


def live_commands(s: BootSettings) -> list[list[str]]:
    """What a running system needs on top of the files (the root being `/`)."""
    cmds = [["hostname", s.hostname]]
    if s.country:
        cmds += [["iw", "reg", "set", s.country], ["rfkill", "unblock", "wifi"]]
    return cmds


def apply(s: BootSettings, root: Path, source: str) -> list[Path]:
    """Write every setting under `root`. Returns the files written."""
    gid = group_id(root, SERVICE_GROUP)
    written: list[tuple[str, bytes, int, int]] = [
        (APP_CONFIG, app_config(s, source).encode(), 0o640, gid),
        ("etc/hostname", f"{s.hostname}\n".encode(), 0o644, 0),
        ("etc/timezone", f"{s.timezone}\n".encode(), 0o644, 0),
    ]
    hosts = root / "etc/hosts"
    current = hosts.read_text() if hosts.exists() else ""
    written.append(("etc/hosts", hosts_file(current, s.hostname).encode(), 0o644, 0))
    if s.wifi is not None:
        written.append((WIFI_FILE, nm_wifi_connection(s.wifi).encode(), 0o600, 0))
    if s.country:
        rule = f"options cfg80211 ieee80211_regdom={s.country}\n".encode()
        written.append((COUNTRY_FILE, rule, 0o644, 0))
    for rel, data, mode, group in written:
        write_atomic(root / rel, data, mode, 0, group)
    localtime = root / "etc/localtime"
    tmp_link = localtime.with_name(".localtime.tmp")
    tmp_link.unlink(missing_ok=True)
    tmp_link.symlink_to(f"/usr/share/zoneinfo/{s.timezone}")
    os.replace(tmp_link, localtime)
    fsync_dir(localtime.parent)
    return [root / rel for rel, *_ in written] + [localtime]


def write_status(root: Path, ok: bool, reason: str, source: str) -> None:
    status = {"ok": ok, "reason": reason, "file": source, "at": int(time.time())}
    data = (json.dumps(status, ensure_ascii=False) + "\n").encode()
    write_atomic(root / STATUS_FILE, data, 0o644)


def _run_live(cmds: list[list[str]], runner: Runner) -> None:
    for cmd in cmds:
        try:
            runner(cmd)
        except (OSError, subprocess.SubprocessError) as exc:  # a missing tool must not stop boot
            log.warning("%s failed: %s", " ".join(cmd), exc)


def _default_runner(cmd: Sequence[str]) -> object:
    return subprocess.run(cmd, check=True, capture_output=True, timeout=30)


def run_firstboot(boot_dir: Path, root: Path, *, runner: Runner | None = None) -> int:
    """0: applied, or nothing to do. 1: the boot file is invalid (left untouched)."""
    if (root / DONE_STAMP).exists():
        log.info("first boot already done (%s); nothing to do", root / DONE_STAMP)
        return 0
    boot_file = boot_dir / BOOT_FILE
    source = str(boot_file)
    try:
        settings = parse_boot_config(boot_file.read_bytes())
    except FileNotFoundError:
        reason = f"no {BOOT_FILE} on the boot partition: running with defaults"
        log.warning("%s", reason)
        write_status(root, False, reason, source)
        return 0
    except BootConfigError as exc:
        log.error("%s is invalid, nothing applied: %s", source, exc)
        write_status(root, False, str(exc), source)
        return 1
    apply(settings, root, source)
    if root.resolve() == Path("/"):
        _run_live(live_commands(settings), runner or _default_runner)
    # Stamp before erasing: a power cut in between leaves secrets behind, never a box
    # that refuses its own (already applied, erased) file on the next boot.
    stamp = f"applied {source} at {int(time.time())}\n".encode()
    write_atomic(root / DONE_STAMP, stamp, 0o644)
    erased = erase_secrets(boot_file)
    write_status(root, True, f"applied; {erased} secret(s) erased from {BOOT_FILE}", source)
    log.info("first boot applied for venue %s (%s)", settings.venue_id, settings.hostname)
    return 0


def read_setup_status(data_dir: Path) -> dict[str, Any]:
    """For the screen page: {"firstboot": {ok, reason, file, at} | None,
    "hotspot": {ssid, password, url, message} | None}. The files sit in the app's data dir
    (/var/lib/djamms on the box); a missing or unreadable one reads as None."""
    out: dict[str, Any] = {}
    for key, name in (("firstboot", "firstboot.json"), ("hotspot", "hotspot.json")):
        try:
            value = json.loads((data_dir / name).read_text())
        except (OSError, ValueError):
            value = None
        out[key] = value if isinstance(value, dict) else None
    return out
