"""The box's main thread wakes for systemd's stop even when another thread takes the signal."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

CHILD = """
import signal, sys, threading, time
sys.path.insert(0, sys.argv[1])
from appliance.stop_signal import StopSignal
stop = StopSignal()
# the main thread blocks SIGTERM, so the kernel must hand it to this other thread
threading.Thread(target=time.sleep, args=(60,), daemon=True).start()
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
print("waiting", flush=True)
stop.wait()
print("stopped", flush=True)
"""


def test_a_stop_taken_by_another_thread_still_ends_the_wait() -> None:
    repo = str(Path(__file__).resolve().parents[2])
    child = subprocess.Popen([sys.executable, "-c", CHILD, repo], stdout=subprocess.PIPE,
                             text=True)  # fmt: skip
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "waiting"
        sent = time.monotonic()
        child.send_signal(signal.SIGTERM)
        out, _ = child.communicate(timeout=10)
        assert out.strip() == "stopped" and child.returncode == 0
        assert time.monotonic() - sent < 5
    finally:
        child.kill()
        child.wait()
