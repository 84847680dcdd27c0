"""A booted DJAMMS image under QEMU (TCG), driven as a venue and as a test bench would.

The box sees: a virtio disk (the image), virtio-gpu (its TV), an Intel HDA sound card whose
output QEMU records to a WAV (what the venue hears), and QEMU's user network with
`restrict=on`, so it reaches nothing but what is forwarded: the console on a loopback port
of this machine, and one host port (a test media server) as HOST_ALIAS (QEMU keeps
10.0.2.2, the usual name of the host, for unrestricted guests only). QMP gives the power
switch (`quit` is a power cut) and screendumps. For the test only, a
root shell on a virtio console (systemd's debug shell, switched on from the kernel command
line of the test's copy) lets a test restart a service or read the clock; the shipped image
has no login at all.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HOST_ALIAS = "10.0.2.100"
OVMF_CODE = Path("/usr/share/OVMF/OVMF_CODE_4M.fd")
OVMF_VARS = Path("/usr/share/OVMF/OVMF_VARS_4M.fd")
PANIC = b"Kernel panic - not syncing"


def kernel_panicked(serial_log: Path) -> bool:
    try:
        return PANIC in serial_log.read_bytes()
    except FileNotFoundError:
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Boot:
    """What one power-on needs: the disk and, for direct kernel boot, the kernel."""

    arch: str
    disk: Path
    workdir: Path
    kernel: Path | None = None  # arm64: the image's own kernel, booted directly
    initrd: Path | None = None
    append: str = ""
    media_port: int | None = None  # host port seen by the guest as HOST_ALIAS:<port>
    rtc_base: str = "utc"
    # The smallest x86 mini-PC a venue would buy: with no GPU here (TCG), the TV draws with
    # Mesa's software renderer, whose three GL contexts need more than 1 GiB beside yt-dlp
    memory_mib: int = 2048
    extra: list[str] = field(default_factory=list)


class Qmp:
    """QEMU's machine protocol: one JSON command, one answer (events skipped)."""

    def __init__(self, path: Path, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX)
                self.sock.connect(str(path))
                break
            except OSError:
                self.sock.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        self.sock.settimeout(timeout)
        self.reader = self.sock.makefile("rb")
        json.loads(self.reader.readline())  # greeting
        self.execute("qmp_capabilities")

    def execute(self, command: str, **arguments: Any) -> Any:
        msg: dict[str, Any] = {"execute": command}
        if arguments:
            msg["arguments"] = arguments
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            line = self.reader.readline()
            if not line:
                raise ConnectionError("QMP closed")
            answer = json.loads(line)
            if "event" in answer:
                continue
            if "error" in answer:
                raise RuntimeError(f"QMP {command}: {answer['error']}")
            return answer.get("return")

    def close(self) -> None:
        self.reader.close()
        self.sock.close()


class Machine:
    def __init__(self, boot: Boot) -> None:
        self.boot = boot
        self.dir = boot.workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.console_port = free_port()
        self.qmp_path = self.dir / "qmp.sock"
        self.shell_path = self.dir / "shell.sock"
        self.serial_log = self.dir / "serial.log"
        self.wav = self.dir / "sound.wav"
        self.proc: subprocess.Popen[bytes] | None = None
        self.qmp: Qmp | None = None
        self.started_at = 0.0
        self.panics_survived = 0
        self._shell: socket.socket | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.console_port}"

    def _netdev(self) -> str:
        net = f"user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:{self.console_port}-:8080"
        if self.boot.media_port:
            port = self.boot.media_port
            # One relay per connection; restrict=on lets nothing else out of the guest.
            net += f",guestfwd=tcp:{HOST_ALIAS}:{port}-cmd:socat - TCP:127.0.0.1:{port}"
        return net

    def command(self) -> list[str]:
        b = self.boot
        common = [
            "-m", str(b.memory_mib), "-smp", "2", "-accel", "tcg", "-display", "none",
            "-drive", f"file={b.disk},format=raw,if=virtio,cache=unsafe",
            "-netdev", self._netdev(), "-device", "virtio-net-pci,netdev=n0",
            "-qmp", f"unix:{self.qmp_path},server=on,wait=off",
            "-serial", f"file:{self.serial_log}",
            "-device", "virtio-serial-pci",
            "-chardev", f"socket,id=sh,path={self.shell_path},server=on,wait=off",
            "-device", "virtconsole,chardev=sh",
            "-rtc", f"base={b.rtc_base},clock=host",
            "-no-reboot",
        ]  # fmt: skip
        if b.arch == "amd64":
            vars_copy = self.dir / "OVMF_VARS.fd"
            if not vars_copy.exists():
                shutil.copy(OVMF_VARS, vars_copy)
            return [
                "qemu-system-x86_64", "-machine", "q35",
                "-drive", f"if=pflash,format=raw,readonly=on,file={OVMF_CODE}",
                "-drive", f"if=pflash,format=raw,file={vars_copy}",
                "-vga", "none", "-device", "virtio-gpu-pci",
                "-audiodev", f"wav,id=snd0,path={self.wav}",
                "-device", "intel-hda", "-device", "hda-output,audiodev=snd0",
                *common, *b.extra,
            ]  # fmt: skip
        assert b.kernel and b.initrd
        return [
            "qemu-system-aarch64", "-machine", "virt", "-cpu", "max,pauth-impdef=on",
            "-kernel", str(b.kernel), "-initrd", str(b.initrd), "-append", b.append,
            "-device", "virtio-gpu-pci",
            *common, *b.extra,
        ]  # fmt: skip

    def start(self) -> Machine:
        for p in (self.qmp_path, self.shell_path):
            p.unlink(missing_ok=True)
        log = open(self.dir / "qemu.log", "ab")  # noqa: SIM115 - lives as long as QEMU
        self.started_at = time.monotonic()
        self.proc = subprocess.Popen(self.command(), stdout=log, stderr=log,
                                     stdin=subprocess.DEVNULL)  # fmt: skip
        log.close()
        self.qmp = Qmp(self.qmp_path)
        return self

    # --- the power switch ---------------------------------------------------------------

    def power_cut(self) -> None:
        """Pull the plug: QEMU stops at once, the guest gets no shutdown."""
        if self.qmp is not None:
            try:
                self.qmp.execute("quit")
            except (ConnectionError, OSError):
                pass
            self.qmp.close()
            self.qmp = None
        self._close_shell()
        if self.proc is not None:
            self.proc.wait(timeout=60)
            self.proc = None

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)
        self.proc = None
        if self.qmp is not None:
            self.qmp.close()
            self.qmp = None
        self._close_shell()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    # --- the venue's view -----------------------------------------------------------------

    def wait_console(self, timeout: float) -> float:
        """Seconds from power-on until the console answers /api/state."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._power_on_again_after_a_panic():
                continue
            if not self.alive():
                raise RuntimeError(f"QEMU exited; see {self.dir}/qemu.log and serial.log")
            try:
                with urllib.request.urlopen(self.url + "/api/state", timeout=5) as r:
                    if r.status == 200:
                        return time.monotonic() - self.started_at
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(1.0)
        raise TimeoutError(f"console not answering after {timeout:.0f} s; see {self.dir}")

    def _power_on_again_after_a_panic(self) -> bool:
        """Once per machine: the guest kernel can panic while it patches its own code
        (`Oops: int3`, seen once in systemd-random-seed) under TCG's translation on two
        vCPUs, before any unit of ours has started. That is the emulator, not the image:
        power on again, as a venue would, with the log kept and a warning. A second panic
        is the image's and fails the wait."""
        if self.panics_survived or not kernel_panicked(self.serial_log):
            return False
        self.panics_survived += 1
        kept = self.dir / "serial-panic.log"
        warnings.warn(f"guest kernel panicked before the console answered; powered on again "
                      f"(log kept: {kept})", stacklevel=3)  # fmt: skip
        self.kill()
        self.serial_log.rename(kept)
        self.start()
        return True

    def screendump(self, path: Path) -> Path:
        assert self.qmp is not None
        self.qmp.execute("screendump", filename=str(path))
        return path

    # --- the test's root shell ------------------------------------------------------------

    def _open_shell(self, timeout: float) -> socket.socket:
        if self._shell is None:
            s = socket.socket(socket.AF_UNIX)
            s.connect(str(self.shell_path))
            self._shell = s
        self._shell.settimeout(timeout)
        return self._shell

    def _close_shell(self) -> None:
        if self._shell is not None:
            self._shell.close()
            self._shell = None

    def sh(self, cmd: str, timeout: float = 120.0) -> tuple[int, str]:
        """Run `cmd` in the guest's root shell; its exit status and output."""
        sock = self._open_shell(timeout)
        tag = os.urandom(6).hex()
        # The marker is printed from pieces, so an echoed command line never matches it.
        sock.sendall(f"{{ {cmd}; }} 2>&1; printf '\\n%s%s %d\\n' '@@' '{tag}' $?\n".encode())
        buf = b""
        marker = f"@@{tag} ".encode()
        deadline = time.monotonic() + timeout
        while marker not in buf or b"\n" not in buf.split(marker, 1)[1]:
            if time.monotonic() > deadline:
                raise TimeoutError(f"guest shell: {cmd!r} gave no answer: {buf[-500:]!r}")
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("guest shell closed")
            buf += chunk
        head, tail = buf.split(marker, 1)
        status = int(tail.split(b"\n", 1)[0].strip())
        return status, head.decode(errors="replace").replace("\r", "").strip()

    def send_to_shell(self, cmd: str) -> None:
        """`cmd` to the guest's root shell without waiting for an answer (one that never
        comes, as for a crash)."""
        self._open_shell(10.0).sendall(f"{cmd}\n".encode())

    def wait_shell(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                # No echo, no prompt, no bracketed paste: answers come back bare.
                self.sh("stty -echo; PS1=''; PS2=''; bind 'set enable-bracketed-paste off'",
                        timeout=10)  # fmt: skip
                code, out = self.sh("echo ready", timeout=10)
                if code == 0 and out == "ready":
                    return
            except (OSError, TimeoutError, ConnectionError):
                self._close_shell()
            if time.monotonic() > deadline:
                raise TimeoutError("the guest's debug shell never answered")
            time.sleep(2)
