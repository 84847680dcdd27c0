"""The box stops within a few seconds of SIGTERM whatever its sound output does (real
`djamms run`, real mpv): systemd must never have to wait out TimeoutStopSec and SIGKILL.

- stuck: the output's server accepts the connection and never answers (ALSA's pulse
  plugin, as on a box whose sound service hangs): every call into the mpv core blocks;
- working: a private PulseAudio with a null sink: the decks close cleanly and the sound
  stops.
"""

from __future__ import annotations

import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.boxproc import BoxProcess
from tests.faults.conftest import media_box
from tests.support.pulse import PulseServer, Recorder, rms_db

CONFIG = """
demo_media = false
[web]
mdns = false
[player]
alsa_device = "pulse"
"""
STOP_WITHIN = 5.0
HEARD_DB = -40.0


class SilentServer:
    """A unix socket that accepts connections and never answers: a hung sound server."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.bind(str(path))
        self.sock.listen(16)
        self.connected = threading.Event()
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:  # closed
                return
            self.held.append(conn)
            self.connected.set()

    def close(self) -> None:
        self.sock.close()
        for conn in self.held:
            conn.close()


def sigterm_and_time(box: BoxProcess) -> tuple[float, int | None]:
    assert box.proc is not None
    started = time.monotonic()
    box.proc.send_signal(signal.SIGTERM)
    try:
        box.proc.wait(30)
    finally:
        took = time.monotonic() - started
        print(f"stop took {took:.2f} s")
    return took, box.proc.returncode


@pytest.fixture
def silent(tmp_path: Path) -> Iterator[SilentServer]:
    server = SilentServer(tmp_path / "hung-pulse")
    yield server
    server.close()


def test_a_box_whose_sound_output_hangs_stops_within_seconds(
    tmp_path: Path, short_tracks: list[Path], silent: SilentServer
) -> None:
    box = media_box(
        tmp_path / "box", short_tracks, player="mpv", config=CONFIG,
        env={"PULSE_SERVER": f"unix:{silent.path}"}, args=("--audio", "alsa", "--video", "null"),
    )  # fmt: skip
    box.start()
    try:
        assert silent.connected.wait(60), "mpv never tried to open its output"
        took, code = sigterm_and_time(box)
    finally:
        box.stop()
    assert code == 0, box.tail()
    assert took < STOP_WITHIN, box.tail()
    assert "did not close in time; left to the exit" in box.tail(10**6), box.tail()


def test_a_box_with_working_sound_stops_its_decks_and_exits(
    tmp_path: Path, short_tracks: list[Path]
) -> None:
    pulse = PulseServer(tmp_path / "pulse").start()
    box = media_box(
        tmp_path / "box", short_tracks, player="mpv", config=CONFIG, env=pulse.env,
        args=("--audio", "pulse", "--video", "null"),
    )  # fmt: skip
    try:
        box.start()
        with Recorder(pulse) as rec:
            deadline = time.monotonic() + 60
            while max(rms_db(rec.samples[-4800:], rec.rate, 0.01) or [-99.0]) < HEARD_DB:
                assert time.monotonic() < deadline, "never heard the box"
                time.sleep(0.1)  # the recording grows on its own thread
            took, code = sigterm_and_time(box)
            after_exit = rec.now_index
            assert rec.wait_samples(after_exit + rec.rate // 2, 10)
            tail = rec.samples[after_exit + rec.rate // 10 :]
        assert code == 0, box.tail()
        assert took < STOP_WITHIN, box.tail()
        assert "player: 2 deck(s) closed" in box.tail(10**6), box.tail()
        assert max(rms_db(tail, rec.rate, 0.01)) < HEARD_DB  # and the music stopped
    finally:
        box.stop()
        pulse.stop()
