"""`djamms doctor` against real parts of this machine and prepared data directories."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from appliance.config import Config
from appliance.core import messages as m
from appliance.doctor import (
    FAIL,
    OK,
    WARN,
    Probe,
    check_audio,
    check_broker,
    check_clock,
    check_mpv,
    check_state,
    check_ytdlp,
    diagnose,
    render,
    run_command,
)
from appliance.runtime import Runtime
from appliance.snapshot import SNAPSHOT
from appliance.store import FileStore

ROOT = Path(__file__).resolve().parents[2]


def probe(tmp_path: Path, **cfg: object) -> Probe:
    config = Config(data_dir=tmp_path / "data", **cfg)  # type: ignore[arg-type]
    return Probe(config=config, run=run_command, connect_timeout=0.5)


def make_venue(data: Path) -> None:
    rt = Runtime(FileStore(data))
    rt.start(boot=False)
    assert rt.submit(m.SetupVenue(owner_user_id="owner", venue_name="Doc Bar")).ok
    rt.stop()


def test_mpv_loads_and_lists_audio_devices(tmp_path: Path) -> None:
    v = check_mpv(probe(tmp_path))
    assert v.status == OK
    assert v.detail.startswith("mpv ")


def test_state_ok_then_recovered_from_a_damaged_snapshot(tmp_path: Path) -> None:
    p = probe(tmp_path)
    assert check_state(p).status == WARN  # no data yet
    make_venue(p.config.data_dir)
    v = check_state(p)
    assert v.status == OK and "Doc Bar" in v.detail
    (p.config.data_dir / SNAPSHOT).write_text("{ not json")
    v = check_state(p)
    assert v.status == WARN
    assert "unreadable" in v.detail and "Doc Bar" in v.detail  # replayed from the journal
    assert (p.config.data_dir / SNAPSHOT).read_text() == "{ not json"  # doctor repairs nothing


def test_broker_reachable_and_unreachable(tmp_path: Path) -> None:
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen()
        port = srv.getsockname()[1]
        assert check_broker(probe(tmp_path, broker=f"mqtt://v:pw@127.0.0.1:{port}")).status == OK
    assert check_broker(probe(tmp_path, broker=f"mqtt://v:pw@127.0.0.1:{port}")).status == FAIL
    assert check_broker(probe(tmp_path)).status == OK  # no link configured is fine


def test_verdicts_follow_what_the_tools_say(tmp_path: Path) -> None:
    config = Config(data_dir=tmp_path)

    def tools(answers: dict[str, tuple[int, str]]) -> Probe:
        return Probe(config=config, run=lambda cmd: answers.get(cmd[0], (127, "missing")))

    assert check_clock(tools({"timedatectl": (0, "yes\n")})).status == OK
    assert check_clock(tools({"timedatectl": (0, "no\n")})).status == WARN
    synced = tools({"pactl": (0, "Server Name: pulse\nDefault Sink: amp\n")})
    assert check_audio(synced).detail.endswith("default sink amp")
    assert check_audio(tools({"aplay": (0, "card 0: Headphones")})).status == WARN
    assert check_audio(tools({})).status == FAIL


def test_old_ytdlp_is_flagged(tmp_path: Path) -> None:
    later = Probe(
        config=Config(data_dir=tmp_path),
        run=run_command,
        connect_timeout=0.2,
        today=datetime(2099, 1, 1, tzinfo=UTC),
    )
    verdicts = {v.check: v for v in check_ytdlp(later)}
    assert verdicts["yt-dlp"].status == WARN and "days old" in verdicts["yt-dlp"].detail


def test_render_json_and_cli_exit_code(tmp_path: Path) -> None:
    verdicts = diagnose(probe(tmp_path, audio="null"))
    data = json.loads(render(verdicts, as_json=True))
    assert {d["check"] for d in data} >= {"mpv", "audio", "disk", "state", "clock", "gpio",
                                          "js-runtime", "ejs"}  # fmt: skip
    failing = subprocess.run(
        [
            sys.executable,
            "-m",
            "appliance",
            "doctor",
            "--data-dir",
            str(tmp_path / "d"),
            "--broker",
            "mqtt://x:y@127.0.0.1:1",
            "--json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert failing.returncode == 1
    result = {d["check"]: d["status"] for d in json.loads(failing.stdout)}
    assert result["broker"] == FAIL


def test_ytdlp_reports_its_js_runtime_and_ejs_scripts(tmp_path: Path) -> None:
    """The real yt-dlp of this venv finds the real deno and yt-dlp-ejs, offline."""
    verdicts = {v.check: v for v in check_ytdlp(probe(tmp_path))}
    assert verdicts["js-runtime"].status == OK and "deno-" in verdicts["js-runtime"].detail
    assert verdicts["ejs"].status == OK and "yt-dlp-ejs" in verdicts["ejs"].detail
    assert "built in" in verdicts["yt-dlp"].detail


def test_a_ytdlp_without_runtime_or_scripts_fails(tmp_path: Path) -> None:
    bare = (
        "[debug] yt-dlp version stable@2026.10.26 from yt-dlp/yt-dlp [c91f8de0b] (pip)\n"
        "[debug] Optional libraries: certifi-2026.10.19, requests-2.34.2\n"
        "[debug] JS runtimes: none\n"
    )
    old = Probe(config=Config(data_dir=tmp_path), run=lambda cmd: (2, bare),
                connect_timeout=0.2, today=datetime(2026, 11, 1, tzinfo=UTC))  # fmt: skip
    verdicts = {v.check: v for v in check_ytdlp(old)}
    assert verdicts["yt-dlp"].status == OK and "2026.10.26" in verdicts["yt-dlp"].detail
    assert verdicts["js-runtime"].status == FAIL and "deno" in verdicts["js-runtime"].advice
    assert verdicts["ejs"].status == FAIL
    broken = Probe(config=Config(data_dir=tmp_path), run=lambda cmd: (1, "ImportError: x"))
    assert check_ytdlp(broken)[0].status == FAIL
