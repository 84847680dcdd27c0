"""The `djamms` command: `run` the box, print its `state`."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Sequence
from typing import Any

from appliance.config import AUDIO_MODES, PLAYERS, VIDEO_MODES, ConfigError, load_config


def _run_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", help="TOML config file")
    p.add_argument("--data-dir")
    p.add_argument("--media-dir")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--audio", choices=AUDIO_MODES)
    p.add_argument("--video", choices=VIDEO_MODES)
    p.add_argument("--player", choices=PLAYERS)
    p.add_argument("--admin-pin")
    p.add_argument("--broker")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="djamms", description="DJAMMS venue jukebox appliance")
    sub = p.add_subparsers(dest="command", required=True)
    _run_args(sub.add_parser("run", help="run the box"))
    st = sub.add_parser("state", help="print the current snapshot as JSON")
    st.add_argument("--config")
    st.add_argument("--data-dir")
    st.add_argument("--full", action="store_true", help="whole queues, not the first 50")
    fb = sub.add_parser("firstboot", help="apply djamms.toml from the boot partition (as root)")
    fb.add_argument("--boot-dir", default="/boot/firmware", help="where the boot partition is")
    fb.add_argument("--root", default="/", help="system root to write into (tests: a temp dir)")
    ws = sub.add_parser("wifi-setup", help="open the setup hotspot when offline (as root)")
    ws.add_argument("--root", default="/", help="system root to write into")
    ws.add_argument("--port", type=int, default=80)
    ws.add_argument("--grace", type=float, default=60.0, help="seconds to wait for a network")
    doc = sub.add_parser("doctor", help="check this box: audio, mpv, yt-dlp, disk, broker, ...")
    doc.add_argument("--config")
    doc.add_argument("--data-dir")
    doc.add_argument("--broker")
    doc.add_argument("--json", action="store_true")
    pt = sub.add_parser("panel-test", help="walk through every button, LED and relay")
    pt.add_argument("--config")
    pt.add_argument("--timeout", type=float, default=30.0, help="seconds to wait per press")
    sc = sub.add_parser("wait-for-screen", help="wait until the TV's compositor has a screen")
    sc.add_argument("socket", help="the compositor's Wayland socket")
    sc.add_argument("seconds", help="at most this long (exits 0 either way)")
    from appliance.remote_console import add_console_parser

    add_console_parser(sub)
    return p


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    keys = (
        "data_dir",
        "media_dir",
        "host",
        "port",
        "audio",
        "video",
        "player",
        "admin_pin",
        "broker",
    )
    return {k: getattr(args, k, None) for k in keys}


def cmd_run(args: argparse.Namespace) -> int:
    from appliance.bootstrap import build
    from appliance.stop_signal import StopSignal

    cfg = load_config(args.config, _overrides(args))
    logging.basicConfig(
        level=cfg.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    from appliance.logs_export import install_app_log

    install_app_log(cfg.data_dir)  # downloadable from the console (GET /api/logs/download)
    box = build(cfg)
    stop = StopSignal()
    box.start()
    logging.getLogger("djamms").info("running; console on http://%s:%s", cfg.host, cfg.port)
    stop.wait()
    began = time.monotonic()
    box.stop()
    logging.getLogger("djamms").info("stopped in %.2f s", time.monotonic() - began)
    return 0


def cmd_state(args: argparse.Namespace) -> int:
    from appliance.core.views import snapshot_payload
    from appliance.runtime import Runtime
    from appliance.store import FileStore

    cfg = load_config(args.config, _overrides(args))
    runtime = Runtime(FileStore(cfg.data_dir, readonly=True))
    state = runtime.replay_only()
    out = {"rev": state.rev, **snapshot_payload(state, None if args.full else 50)}
    json.dump(out, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")
    return 0


def cmd_firstboot(args: argparse.Namespace) -> int:
    from pathlib import Path

    from appliance.firstboot import run_firstboot

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    return run_firstboot(Path(args.boot_dir), Path(args.root))


def cmd_wifi_setup(args: argparse.Namespace) -> int:
    from pathlib import Path

    from appliance.firstboot import COUNTRY_FILE
    from appliance.setup_hotspot import nmcli, run_setup

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    root = Path(args.root)
    rule = root / COUNTRY_FILE
    country = rule.read_text().strip().rpartition("=")[2] if rule.exists() else ""
    return run_setup(root, nmcli, grace=args.grace, port=args.port, country=country)


def cmd_doctor(args: argparse.Namespace) -> int:
    from appliance.doctor import FAIL, Probe, diagnose, render, run_command

    cfg = load_config(args.config, _overrides(args))
    verdicts = diagnose(Probe(config=cfg, run=run_command))
    print(render(verdicts, as_json=args.json))
    return 1 if any(v.status == FAIL for v in verdicts) else 0


def cmd_panel_test(args: argparse.Namespace) -> int:
    from hardware.panel import detect_pin_factory
    from hardware.panel_test import run_panel_test

    cfg = load_config(args.config, _overrides(args))
    return run_panel_test(
        cfg.section("panel"),
        inp=sys.stdin,
        out=sys.stdout,
        load_factory=detect_pin_factory,
        timeout=args.timeout,
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.command == "run":
            return cmd_run(args)
        if args.command == "state":
            return cmd_state(args)
        if args.command == "firstboot":
            return cmd_firstboot(args)
        if args.command == "wifi-setup":
            return cmd_wifi_setup(args)
        if args.command == "doctor":
            return cmd_doctor(args)
        if args.command == "panel-test":
            return cmd_panel_test(args)
        if args.command == "wait-for-screen":
            from appliance.display.screen_probe import main as wait_main

            return wait_main([args.socket, args.seconds])
        if args.command == "console":
            from appliance.remote_console import cmd_console

            return cmd_console(args)
    except ConfigError as exc:
        print(f"djamms: configuration error: {exc}", file=sys.stderr)
        return 2
    return 1


if __name__ == "__main__":
    sys.exit(main())
