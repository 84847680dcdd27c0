"""Real media for tests, made with ffmpeg, and a local HTTP server to fetch it from.

    make_track(path, freq=440, seconds=4)             # tone; .mp4 adds a test-pattern video
    with MediaServer(folder) as server:               # 127.0.0.1, free port
        url = server.url("a.mp4")
        server.fault("a.mp4", "404")                  # or "403", "truncate", "hang"
        server.stop(); server.start()                 # same port again (internet down/up)

`truncate` announces the full Content-Length and closes the connection halfway, the way
a dropped download looks. `hang` sends the headers and then nothing.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from collections.abc import Iterator
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

FFMPEG = shutil.which("ffmpeg") or "ffmpeg"


def make_stereo_tone(
    path: Path, *, freq: float = 1000.0, seconds: float = 3.0, amplitude: float = 0.5
) -> Path:
    """A sine of `amplitude` on both channels (make_track's mono-to-stereo mix is 3 dB
    down): at 1 kHz its loudness is 20*log10(amplitude) LUFS, by BS.1770's own offset."""
    tone = f"{amplitude:.6f}*sin(2*PI*{freq}*t)"
    cmd = [FFMPEG, "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi",
           "-i", f"aevalsrc={tone}|{tone}:s=48000:d={seconds}", str(path)]  # fmt: skip
    subprocess.run(cmd, check=True, timeout=60)
    return path


def make_track(
    path: Path,
    *,
    freq: float = 440.0,
    seconds: float = 4.0,
    amplitude: float = 0.5,
    title: str = "",
    artist: str = "",
    size: str = "320x180",
    picture: str = "testsrc2",
) -> Path:
    """A sine tone of `seconds`. `.mp4` gets an H.264 video of lavfi's `picture` (a test
    pattern; "color=c=red" for a flat colour) with AAC audio,
    `.wav`/`.flac` are sample-exact audio, `.m4a` AAC audio. Tags set when given."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    audio = f"aevalsrc={amplitude}*sin(2*PI*{freq}*t):s=48000:d={seconds}"
    cmd = [FFMPEG, "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i", audio]
    suffix = path.suffix.lower()
    if suffix == ".mp4":
        joined = ":" if "=" in picture else "="  # "testsrc2=size=..", "color=c=red:size=.."
        source = f"{picture}{joined}size={size}:rate=25:duration={seconds}"
        cmd += ["-f", "lavfi", "-i", source]
        cmd += ["-map", "1:v", "-map", "0:a", "-c:v", "libx264", "-preset", "ultrafast"]
        cmd += ["-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k", "-movflags", "+faststart"]
    elif suffix == ".m4a":
        cmd += ["-c:a", "aac", "-b:a", "128k"]
    cmd += ["-ac", "2"]
    if title:
        cmd += ["-metadata", f"title={title}"]
    if artist:
        cmd += ["-metadata", f"artist={artist}"]
    subprocess.run([*cmd, str(path)], check=True, timeout=120)
    return path


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def do_HEAD(self) -> None:
        self._serve(body=False)

    def do_GET(self) -> None:
        self._serve(body=True)

    def _serve(self, body: bool) -> None:
        name = self.path.split("?", 1)[0].lstrip("/")
        owner = self.server.owner
        owner.requests.append(name)
        fault = owner.faults.get(name, "")
        file = owner.root / name
        if fault in ("404", "403") or not file.is_file() or ".." in name:
            code = HTTPStatus.FORBIDDEN if fault == "403" else HTTPStatus.NOT_FOUND
            self.send_error(code)
            return
        data = file.read_bytes()
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "video/mp4" if name.endswith(".mp4") else "audio/wav")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if not body:
            return
        if fault == "hang":
            owner.release.wait(timeout=60)
            return
        if fault == "truncate":
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(data)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: MediaServer


class MediaServer:
    """Serves files under `root` on 127.0.0.1; faults per file name."""

    def __init__(self, root: Path, port: int = 0) -> None:
        self.root = Path(root)
        self.port = port
        self.faults: dict[str, str] = {}
        self.requests: list[str] = []
        self.release = threading.Event()  # set to let "hang" requests finish
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> MediaServer:
        httpd = _Server(("127.0.0.1", self.port), _Handler)
        httpd.owner = self
        self.port = httpd.server_address[1]
        self.release.clear()
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}"

    def fault(self, name: str, kind: str) -> None:
        if kind not in ("404", "403", "truncate", "hang", ""):
            raise ValueError(f"unknown fault {kind!r}")
        self.faults[name] = kind

    def __enter__(self) -> MediaServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@pytest.fixture(name="media_server")
def media_server_fixture(tmp_path: Path) -> Iterator[MediaServer]:
    """Fixture `media_server`: a MediaServer over `tmp_path / "served"` (put files there),
    stopped afterwards. Import `media_server_fixture` into the test module to use it."""
    root = tmp_path / "served"
    root.mkdir(parents=True, exist_ok=True)
    server = MediaServer(root).start()
    yield server
    server.stop()
