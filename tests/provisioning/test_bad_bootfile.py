"""A bad `djamms.toml` on the card never bricks the box: first boot applies nothing and
keeps the file, the box runs on defaults, and the reason is on its screen page and in
`djamms doctor` (text and --json). Real processes throughout."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from markupsafe import escape

from appliance import firstboot as fb
from appliance.bootconfig import parse_boot_config
from tests.faults.boxproc import BoxProcess
from tests.provisioning.test_firstboot import GOOD, REPO, _run

BAD = {
    "syntax": (GOOD.replace('name = "The Crown', "name = The Crown"), "not valid TOML"),
    "unknown key": (
        GOOD.replace('timezone = "Europe/London"', 'timezon = "Europe/London"'),
        "unknown setting venue.timezon (did you mean venue.timezone?)",
    ),
    "short pin": (
        GOOD.replace('admin_pin = "482913"', 'staff_pin = "12"'),
        "staff_pin must be 4-12 digits",
    ),
    "bad time zone": (GOOD.replace("Europe/London", "Europe/Atlantis"), "not a known time zone"),
}


def doctor(data_dir: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "appliance", "doctor", "--data-dir", str(data_dir), *extra],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_boot_file_is_kept_reported_and_the_box_runs_on_defaults(
    system: tuple[Path, Path], tmp_path: Path, case: str
) -> None:
    text, why = BAD[case]
    boot, root = system
    (boot / "djamms.toml").write_text(text)
    done = _run(boot, root)
    assert done.returncode == 1 and why in done.stderr, done.stderr
    assert (boot / "djamms.toml").read_text() == text  # kept, secrets and all, to be fixed
    assert not (root / fb.APP_CONFIG).exists() and not (root / fb.DONE_STAMP).exists()
    data_dir = root / "var/lib/djamms"
    reason = fb.read_setup_status(data_dir)["firstboot"]["reason"]
    assert why in reason

    report = doctor(data_dir)
    line = next(ln for ln in report.stdout.splitlines() if " bootfile " in ln)
    assert line.startswith("[FAIL]") and why in line and "running on defaults" in line
    assert report.returncode == 1
    verdicts = {v["check"]: v for v in json.loads(doctor(data_dir, "--json").stdout)}
    assert verdicts["bootfile"]["status"] == "fail" and why in verdicts["bootfile"]["detail"]
    assert "Fix djamms.toml" in verdicts["bootfile"]["advice"]

    box = BoxProcess(tmp_path / "box", data_dir=data_dir).start()  # defaults, no app config
    try:
        page = requests.get(box.url + "/screen", timeout=30).text
        assert f"Setup problem: {escape(reason)}" in page
        assert box.state()["venue"]["venue_name"] != "The Crown & Anchor"
    finally:
        assert box.stop() == 0


def test_fixing_the_file_applies_it_on_the_next_boot(system: tuple[Path, Path]) -> None:
    boot, root = system
    (boot / "djamms.toml").write_text(BAD["bad time zone"][0])
    assert _run(boot, root).returncode == 1
    (boot / "djamms.toml").write_text(GOOD.replace("admin_pin", "staff_pin"))
    assert _run(boot, root).returncode == 0
    status = fb.read_setup_status(root / "var/lib/djamms")["firstboot"]
    assert status["ok"] is True
    verdicts = {v["check"]: v for v in json.loads(doctor(root / "var/lib/djamms", "--json").stdout)}
    assert verdicts["bootfile"]["status"] == "ok"
    assert b"482913" not in (boot / "djamms.toml").read_bytes()  # staff_pin erased too


def test_staff_pin_is_the_pin_and_must_agree_with_admin_pin() -> None:
    assert parse_boot_config(GOOD.replace("admin_pin", "staff_pin").encode()).admin_pin == "482913"
    both = GOOD.replace('admin_pin = "482913"', 'admin_pin = "482913"\nstaff_pin = "1111"')
    with pytest.raises(ValueError, match="differ"):
        parse_boot_config(both.encode())
