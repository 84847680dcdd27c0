"""YouTube search reuses one YoutubeDL (a fresh one per search leaked ~250 KB of native
memory each: the soak's main growth) and, once it failed, answers [] for a while rather
than make every phone wait on DNS again. A counting fake stands in for yt-dlp's
YoutubeDL (passed to the Resolver): no network in unit tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yt_dlp

from appliance.library.cache import MediaCache
from appliance.library.resolver import Resolver


class CountingYoutubeDL:
    made = 0
    asked = 0
    offline = False

    def __init__(self, opts: dict[str, Any]) -> None:
        type(self).made += 1

    def __enter__(self) -> CountingYoutubeDL:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def extract_info(self, url: str, download: bool = False) -> dict[str, Any]:
        type(self).asked += 1
        if type(self).offline:
            raise yt_dlp.utils.DownloadError("Failed to resolve 'www.youtube.com'")
        return {"entries": [{"id": "dQw4w9WgXcQ", "title": "Song", "duration": 200}]}


@pytest.fixture
def resolver(tmp_path: Path) -> Resolver:
    CountingYoutubeDL.made = CountingYoutubeDL.asked = 0
    CountingYoutubeDL.offline = False
    return Resolver(MediaCache(tmp_path, 10**8), search_client=CountingYoutubeDL)


def test_searches_share_one_youtubedl(resolver: Resolver) -> None:
    for _ in range(5):
        assert [t.video_id for t in resolver.search("song", 5)] == ["dQw4w9WgXcQ"]
    assert CountingYoutubeDL.asked == 5
    assert CountingYoutubeDL.made == 1


def test_a_failed_search_is_not_retried_at_once(resolver: Resolver) -> None:
    CountingYoutubeDL.offline = True
    assert resolver.search("song", 5) == []
    assert resolver.search("song", 5) == []
    assert CountingYoutubeDL.asked == 1
