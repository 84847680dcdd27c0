"""The broker's own users are not venues: `add-venue console` is refused (it would replace
the cloud console's password; `--console` makes that user on purpose), and so is a box
whose first-boot file names itself `console`."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from appliance.bootconfig import BootConfigError, parse_boot_config
from tests.integration.test_cloud_provisioning import BROKER_DIR


def add_venue(passwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BROKER_DIR / "add-venue"), *args],
        env={**os.environ, "PASSWD": str(passwd)},
        capture_output=True,
        text=True,
        timeout=30,
    )


@pytest.mark.parametrize("name", ["console", "CONSOLE", "homeassistant"])
def test_add_venue_refuses_reserved_names(tmp_path: Path, name: str) -> None:
    passwd = tmp_path / "passwd"
    made = add_venue(passwd, "--console", "127.0.0.1", "console-pw")
    assert made.returncode == 0 and made.stdout.startswith("mqtts://console:console-pw@")
    before = passwd.read_bytes()
    refused = add_venue(passwd, name, "127.0.0.1", "attacker-pw")
    assert refused.returncode == 2 and "reserved" in refused.stderr
    assert passwd.read_bytes() == before  # the console's password is untouched
    assert add_venue(passwd, "the-anchor", "127.0.0.1", "pw").returncode == 0


def test_first_boot_refuses_console_as_a_venue_id() -> None:
    ok = parse_boot_config(b'[venue]\nname = "The Anchor"\nid = "the-anchor"\n')
    assert ok.venue_id == "the-anchor"
    with pytest.raises(BootConfigError, match="reserved"):
        parse_boot_config(b'[venue]\nname = "The Anchor"\nid = "console"\n')
