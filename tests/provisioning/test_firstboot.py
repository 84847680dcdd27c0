"""First boot against a temporary root: what gets written, with which modes, and what not."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from appliance import firstboot as fb
from appliance.bootconfig import BootConfigError, parse_boot_config
from appliance.config import load_config

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "provisioning" / "djamms.toml.example"

GOOD = """\
[venue]
name = "The Crown & Anchor"
id = "crown-anchor-01"
timezone = "Europe/London"
admin_pin = "482913"

[wifi]
ssid = "Crown Staff"
psk = "correct horse battery"
country = "gb"

[cloud]
broker = "mqtts://broker.example.com:8883"
password = "s3cr#t/pass"

[panel]
volume_step = 3
[panel.pins]
emergency_stop = 17
skip = 22
"""


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.lstat().st_mode)


def _run(boot: Path, root: Path) -> subprocess.CompletedProcess[str]:
    cmd = [
        sys.executable,
        "-m",
        "appliance",
        "firstboot",
        "--boot-dir",
        str(boot),
        "--root",
        str(root),
    ]
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120)


def test_happy_path_writes_settings_with_tight_modes(system):
    boot, root = system
    (boot / "djamms.toml").write_text(GOOD)
    done = _run(boot, root)
    assert done.returncode == 0, done.stderr

    app = root / fb.APP_CONFIG
    assert _mode(app) == 0o640 and app.stat().st_gid == 990 and app.stat().st_uid == 0
    cfg = load_config(app, environ={})  # the app itself accepts what first boot wrote
    assert cfg.venue_name == "The Crown & Anchor" and cfg.venue_id == "crown-anchor-01"
    assert cfg.admin_pin == "482913" and cfg.timezone == "Europe/London"
    assert cfg.broker == "mqtts://crown-anchor-01:s3cr%23t%2Fpass@broker.example.com:8883"
    assert dict(cfg.section("panel")) == {
        "volume_step": 3,
        "pins": {"emergency_stop": 17, "skip": 22},
    }

    wifi = root / fb.WIFI_FILE
    assert _mode(wifi) == 0o600 and wifi.stat().st_uid == 0
    text = wifi.read_text()
    assert "ssid=Crown Staff\n" in text and "psk=correct horse battery\n" in text
    assert (root / fb.COUNTRY_FILE).read_text() == "options cfg80211 ieee80211_regdom=GB\n"
    assert (root / "etc/hostname").read_text() == "djamms-crown-anchor-01\n"
    hosts = (root / "etc/hosts").read_text()
    assert "127.0.1.1\tdjamms-crown-anchor-01" in hosts and "raspberrypi" not in hosts
    assert os.readlink(root / "etc/localtime") == "/usr/share/zoneinfo/Europe/London"
    assert (root / "etc/timezone").read_text() == "Europe/London\n"
    for p in (root / "etc/hostname", root / "etc/hosts", root / fb.DONE_STAMP):
        assert _mode(p) == 0o644
    status = json.loads((root / fb.STATUS_FILE).read_text())
    assert status["ok"] is True and "3 secret(s) erased" in status["reason"]
    assert not list(root.rglob(".*.tmp")), "temp files left behind"


def test_secrets_are_erased_in_place_and_the_rest_kept(system):
    boot, root = system
    path = boot / "djamms.toml"
    path.write_text(GOOD)
    inode, size = path.stat().st_ino, path.stat().st_size
    assert _run(boot, root).returncode == 0
    after = path.read_text()
    assert path.stat().st_ino == inode and path.stat().st_size == size  # same bytes rewritten
    for secret in ("482913", "correct horse battery", "s3cr#t/pass"):
        assert secret not in after
    assert 'psk = "*********************"' in after
    assert 'ssid = "Crown Staff"' in after and 'id = "crown-anchor-01"' in after
    with pytest.raises(BootConfigError, match="erased after an earlier first boot"):
        parse_boot_config(path.read_bytes())


def test_second_run_does_nothing(system):
    boot, root = system
    (boot / "djamms.toml").write_text(GOOD)
    assert _run(boot, root).returncode == 0
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in root.rglob("*") if p.is_file()}
    boot_before = (boot / "djamms.toml").read_bytes()
    (boot / "djamms.toml").write_text(GOOD.replace("crown-anchor-01", "other-venue"))
    second = _run(boot, root)
    assert second.returncode == 0 and "already done" in second.stderr
    after = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in root.rglob("*") if p.is_file()}
    assert after == before
    assert (boot / "djamms.toml").read_bytes() != boot_before  # the new file was not erased
    assert "other-venue" in (boot / "djamms.toml").read_text()


@pytest.mark.parametrize(
    ("bad_id", "why"),
    [("Crown_Anchor", "not valid"), ("ab", "not valid"), ("-crown", "not valid")],
)
def test_invalid_venue_id_changes_nothing_and_says_why(system, bad_id, why):
    boot, root = system
    raw = GOOD.replace('id = "crown-anchor-01"', f'id = "{bad_id}"').encode()
    (boot / "djamms.toml").write_bytes(raw)
    etc_before = sorted(p.relative_to(root) for p in root.rglob("*"))
    done = _run(boot, root)
    assert done.returncode == 1
    assert "venue.id" in done.stderr and why in done.stderr  # the journal gets the reason
    assert (boot / "djamms.toml").read_bytes() == raw  # untouched, secrets included
    status = json.loads((root / fb.STATUS_FILE).read_text())
    assert status["ok"] is False and "venue.id" in status["reason"]
    assert status["file"] == str(boot / "djamms.toml")
    new = set(p.relative_to(root) for p in root.rglob("*")) - set(etc_before)
    assert new == {Path("var"), Path("var/lib"), Path("var/lib/djamms"), Path(fb.STATUS_FILE)}


def test_missing_file_runs_with_defaults_and_tries_again_next_boot(system):
    boot, root = system
    done = _run(boot, root)
    assert done.returncode == 0
    status = json.loads((root / fb.STATUS_FILE).read_text())
    assert status["ok"] is False and "no djamms.toml" in status["reason"]
    assert not (root / fb.DONE_STAMP).exists()
    assert not (root / fb.APP_CONFIG).exists()
    (boot / "djamms.toml").write_text(GOOD)
    assert _run(boot, root).returncode == 0
    assert (root / fb.DONE_STAMP).exists()


def test_missing_service_group_is_an_error_not_a_world_readable_file(system):
    boot, root = system
    (root / "etc/group").write_text("root:x:0:\n")
    (boot / "djamms.toml").write_text(GOOD)
    with pytest.raises(RuntimeError, match="group 'djamms'"):
        fb.run_firstboot(boot, root)
    assert not (root / fb.APP_CONFIG).exists()


def test_without_wifi_no_connection_file_and_no_psk_needed(system):
    boot, root = system
    text = GOOD.split("[wifi]")[0] + '[wifi]\ncountry = "DE"\n'
    (boot / "djamms.toml").write_text(text)
    assert fb.run_firstboot(boot, root) == 0
    assert not (root / fb.WIFI_FILE).exists()
    assert "regdom=DE" in (root / fb.COUNTRY_FILE).read_text()


def test_the_shipped_example_is_valid():
    s = parse_boot_config(EXAMPLE.read_bytes())
    assert s.venue_id == "crown-anchor-01" and s.wifi is not None and s.country == "GB"


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (
            lambda t: t.replace('timezone = "Europe/London"', 'timezone = "Mars/Base"'),
            "not a known time zone",
        ),
        (lambda t: t.replace('"482913"', '"12ab"'), "4-12 digits"),
        (lambda t: t.replace('"482913"', "482913"), "text in quotes"),
        (lambda t: t.replace('"correct horse battery"', '"short"'), "8-63"),
        (lambda t: t.replace('country = "gb"\n', ""), "wifi.country is missing"),
        (lambda t: t.replace("mqtts://broker", "mqtts://u:p@broker"), "not in the URL"),
        (lambda t: t.replace("mqtts://", "http://"), "cloud.broker"),
        (lambda t: t.replace("emergency_stop = 17", "emergency_stop = 40"), "0-27"),
        (lambda t: t.replace("emergency_stop = 17", "emergency_stop = 22"), "GPIO22 is used twice"),
        (lambda t: t.replace("emergency_stop = 17", 'emergency_stop = "GPIO17"'), "BCM"),
        (lambda t: t.split("[panel.pins]")[0] + "pins = 5\n", "panel.pins must be"),
        (lambda t: t.replace("[panel.pins]", "[panel.x]"), "only \\[panel.pins\\]"),
        (lambda t: t + "\n[extra]\nx = 1\n", "unknown"),
        (lambda t: t.replace("[venue]", "[venue]\nnmae = 'x'"), "unknown setting venue.nmae"),
        (
            lambda t: t.replace(
                'psk = "correct horse battery"', 'psk = """correct horse battery"""'
            ),
            "on one line",
        ),
        (lambda t: t.replace("[venue]", "[venue"), "not valid TOML"),
    ],
)
def test_validation_reasons(edit, reason):
    with pytest.raises(BootConfigError, match=reason):
        parse_boot_config(edit(GOOD).encode())


def test_live_commands_only_for_a_real_root():
    s = parse_boot_config(GOOD.encode())
    assert fb.live_commands(s) == [
        ["hostname", "djamms-crown-anchor-01"],
        ["iw", "reg", "set", "GB"],
        ["rfkill", "unblock", "wifi"],
    ]


def test_app_config_round_trips_awkward_text(system):
    boot, root = system
    (boot / "djamms.toml").write_text(GOOD.replace("The Crown & Anchor", 'Zoë\'s \\\\ \\"Bar\\"'))
    assert fb.run_firstboot(boot, root) == 0
    doc = tomllib.loads((root / fb.APP_CONFIG).read_text())
    assert doc["box"]["venue_name"] == 'Zoë\'s \\ "Bar"'


def test_windows_line_endings_and_comments_after_secrets(system):
    boot, root = system
    text = GOOD.replace('psk = "correct horse battery"', 'psk = "correct horse battery" # pw')
    (boot / "djamms.toml").write_bytes(text.replace("\n", "\r\n").encode())
    assert fb.run_firstboot(boot, root) == 0
    after = (boot / "djamms.toml").read_bytes()
    assert b"correct horse" not in after and b"482913" not in after and b"# pw\r\n" in after


def test_screen_page_reads_the_failure_reason_from_the_data_dir(system):
    boot, root = system
    (boot / "djamms.toml").write_text(GOOD.replace('"482913"', '"12"'))
    assert fb.run_firstboot(boot, root) == 1
    data_dir = root / "var/lib/djamms"  # the service's DJAMMS_DATA_DIR
    status = fb.read_setup_status(data_dir)
    assert status["firstboot"]["ok"] is False and "4-12 digits" in status["firstboot"]["reason"]
    assert status["hotspot"] is None
    (data_dir / "hotspot.json").write_text("{broken")
    assert fb.read_setup_status(data_dir)["hotspot"] is None


def test_the_app_starts_with_what_first_boot_wrote(system, tmp_path):
    """The venue id and name from the SD card become the core's venue on first start."""
    import socket
    import time

    boot, root = system
    (boot / "djamms.toml").write_text(GOOD.split("[panel]")[0])
    assert fb.run_firstboot(boot, root) == 0
    data = tmp_path / "data"
    notify = tmp_path / "n.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(notify))
    sock.settimeout(60)
    env = {**os.environ, "NOTIFY_SOCKET": str(notify), "DJAMMS_BROKER": "",
           "DJAMMS_DEMO_MEDIA": "false", "DJAMMS_DATA_DIR": str(data),
           "DJAMMS_MEDIA_DIR": str(tmp_path / "media")}  # fmt: skip
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "appliance", "run", "--config", str(root / fb.APP_CONFIG),
         "--player", "standin", "--host", "127.0.0.1", "--port", str(port)],
        cwd=REPO, env=env, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and b"READY=1" not in sock.recv(4096):
            pass
        proc.terminate()
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        sock.close()
    state = subprocess.run(
        [sys.executable, "-m", "appliance", "state", "--data-dir", str(data)],
        cwd=REPO, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    venue = json.loads(state.stdout)["venue"]
    assert venue["venue_id"] == "crown-anchor-01"
    assert venue["venue_name"] == "The Crown & Anchor"


def test_staff_pin_is_the_documented_name_and_is_erased_like_admin_pin(system):
    boot, root = system
    path = boot / "djamms.toml"
    path.write_text(GOOD.replace('admin_pin = "482913"', 'staff_pin = "482913"'))
    assert parse_boot_config(path.read_bytes()).admin_pin == "482913"
    assert _run(boot, root).returncode == 0
    assert "482913" not in path.read_text() and 'staff_pin = "******"' in path.read_text()


def test_a_short_staff_pin_is_refused_by_its_own_name():
    text = GOOD.replace('admin_pin = "482913"', 'staff_pin = "12"')
    with pytest.raises(BootConfigError, match="venue.staff_pin must be 4-12 digits"):
        parse_boot_config(text.encode())
