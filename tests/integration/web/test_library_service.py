"""With a library service on the box (here a fake of that port), search merges its results
with the venue's playlists, preview asks it, and a patron may request what it knows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from appliance.core.model import TrackInfo
from tests.integration.web.conftest import TRACKS, Api
from tests.support.server import running_box


class FakeLibrary:
    def __init__(self) -> None:
        self.tracks = {"lib-daft": TrackInfo("lib-daft", "Around the World", "Daft Punk", 240)}

    def search(self, query: str, limit: int = 20) -> list[dict[str, Any]]:
        q = query.lower()
        return [
            {
                "video_id": t.video_id,
                "title": t.title,
                "artist": t.artist,
                "duration": t.duration,
                "thumbnail": "",
            }
            for t in self.tracks.values()
            if q in f"{t.title} {t.artist}".lower()
        ][:limit]

    def preview_url(self, video_id: str) -> str | None:
        return f"/media/{video_id}.mp4" if video_id in self.tracks else None

    def resolve_metadata(self, video_id: str) -> TrackInfo | None:
        return self.tracks.get(video_id)


def test_search_preview_and_requests_use_the_library(tmp_path: Path) -> None:
    with running_box(tmp_path / "data", services={"library": FakeLibrary()}) as box:
        staff = Api(box.url).login()
        pid = staff.cmd(
            "/api/playlist/manage", {"action": "create", "name": "F", "tracks": TRACKS}
        ).json()
        staff.cmd(
            "/api/playlist/manage",
            {"action": "load", "playlistId": pid["result"]["playlist"]["playlist_id"]},
        )
        patron = Api(box.url).guest()
        found = patron.get(box.url + "/api/search?q=daft").json()["results"]
        assert [t["video_id"] for t in found] == ["lib-daft", "vid003"]
        preview = patron.get(box.url + "/api/preview?videoId=lib-daft").json()
        assert preview["url"] == "/media/lib-daft.mp4"
        r = patron.cmd("/api/queue/add", {"videoId": "lib-daft"})
        assert r.status_code == 200, r.text
        assert r.json()["result"]["item"]["title"] == "Around the World"
