"""A tiny HTTP server on 127.0.0.1 that serves fixed documents (playlists, feeds, pages)
for import tests. Start with `ListServer(routes)`, stop with `.stop()`."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class ListServer:
    def __init__(self, routes: dict[str, tuple[str, bytes]] | None = None) -> None:
        self.routes: dict[str, tuple[str, bytes]] = dict(routes or {})
        self.hits: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                server.hits.append(self.path)
                found = server.routes.get(self.path.split("?")[0])
                if found is None:
                    self.send_error(404)
                    return
                ctype, body = found
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=10)


def rss_feed(base: str, n: int, title: str = "Feed", bad: int = 0) -> bytes:
    """An RSS feed yt-dlp's generic extractor reads as a playlist of `n` links; `bad`
    extra items link to addresses the importer must refuse."""
    items = "".join(
        f"<item><title>Song {i}</title><link>{base}/media/t{i}.mp4</link></item>" for i in range(n)
    )
    items += "".join(
        f"<item><title>Bad {i}</title><link>ftp://127.0.0.1/x{i}.mp4</link></item>"
        for i in range(bad)
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel>'
        f"<title>{title}</title><link>{base}/</link>{items}</channel></rss>"
    ).encode()


def html5_page(base: str, n: int, title: str = "Page") -> bytes:
    """A web page with `n` <video> elements (yt-dlp's generic HTML5 media extraction)."""
    videos = "".join(f'<video src="{base}/media/v{i}.mp4"></video>' for i in range(n))
    return f"<html><head><title>{title}</title></head><body>{videos}</body></html>".encode()
