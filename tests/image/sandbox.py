"""Commands run inside the booted image under djamms.service's own sandbox (user, syscall
filter, read-only system, device policy) with `systemd-run`, so what the service can do is
checked, not what root can."""

from __future__ import annotations

import shlex

from .machine import Machine

# What the service's own unit sets up for it, but does not describe its sandbox; and its
# RuntimeDirectory, which a transient unit would remove from under the service when it ends.
_NOT_SANDBOX = {"Type", "NotifyAccess", "ExecStart", "WatchdogSec", "Restart", "RestartSec",
                "TimeoutStartSec", "TimeoutStopSec", "RuntimeDirectory"}  # fmt: skip


def service_sandbox(unit_text: str) -> list[str]:
    """The [Service] settings of djamms.service that make its sandbox, as `-p` values."""
    props, section = [], ""
    for line in unit_text.splitlines():
        line = line.strip()
        if line.startswith("["):
            section = line
        elif section == "[Service]" and "=" in line and not line.startswith("#"):
            if line.split("=", 1)[0] not in _NOT_SANDBOX:
                props.append(line)
    return props


def run_as_service(m: Machine, script: str, timeout: float) -> str:
    """`script` (sh) under the service's sandbox; its output (stdout and stderr)."""
    code, unit = m.sh("cat /usr/lib/systemd/system/djamms.service")
    assert code == 0, unit
    sandbox = service_sandbox(unit)
    assert "User=djamms" in sandbox and any(p.startswith("SystemCallFilter=") for p in sandbox)
    props = " ".join("-p " + shlex.quote(p) for p in sandbox)
    code, out = m.sh(
        # stdin from /dev/null: --pipe on the debug shell's terminal waits for it forever.
        f"timeout {int(timeout)} systemd-run --wait --pipe --quiet --collect {props} -- "
        f"/bin/sh -c {shlex.quote(script)} </dev/null",
        timeout=timeout + 60,
    )
    return out


def check_ytdlp_js_runtime(m: Machine, timeout: float) -> None:
    """YouTube needs yt-dlp's JavaScript runtime: yt-dlp must find deno and the EJS scripts
    offline, and deno must run under the service's user and syscall filter."""
    out = run_as_service(
        m,
        "/opt/djamms/venv/bin/python -m yt_dlp -v; "
        'NO_COLOR=1 /opt/djamms/venv/bin/deno eval "console.log(6 * 7)"',
        timeout,
    )
    runtimes = next((ln for ln in out.splitlines() if "[debug] JS runtimes:" in ln), "")
    assert "deno-" in runtimes, out[-1500:]
    libraries = next((ln for ln in out.splitlines() if "[debug] Optional libraries:" in ln), "")
    assert "yt_dlp_ejs-" in libraries, out[-1500:]
    assert out.splitlines()[-1].strip() == "42", f"deno did not run in the sandbox: {out[-800:]}"
    # Its code cache goes to the service's cache directory, which the sandbox lets it write.
    assert "Failed to open cache" not in out, out[-800:]
