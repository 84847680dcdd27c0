"""List entries to video ids, YouTube ids/URLs, flat yt-dlp entries."""

from __future__ import annotations

import pytest

from appliance.library.importer import entry_track
from appliance.library.playlist_formats import ImportRefused, normalize_ref, playlist_url


@pytest.mark.parametrize(
    ("ref", "want"),
    [
        ("dQw4w9WgXcQ", "dQw4w9WgXcQ"),
        ("https://www.youtube.com/watch?v=dQw4w9WgXcQ&list=PLx", "dQw4w9WgXcQ"),
        ("https://youtu.be/dQw4w9WgXcQ", "dQw4w9WgXcQ"),
        ("  https://example.org/a.mp4 ", "https://example.org/a.mp4"),
        ("local-0123456789a", "local-0123456789a"),
    ],
)
def test_good_refs(ref: str, want: str) -> None:
    assert normalize_ref(ref) == want


@pytest.mark.parametrize(
    "ref", ["", "file:///etc/passwd", "/etc/passwd", "C:\\music\\a.mp3", "ftp://x/a", "hello"]
)
def test_bad_refs(ref: str) -> None:
    with pytest.raises(ValueError):
        normalize_ref(ref)


def test_playlist_ids_become_youtube_urls() -> None:
    pid = "PLFgquLnL59alCl_2TQvOiD5Vgm1hCaGSI"
    assert playlist_url(pid) == f"https://www.youtube.com/playlist?list={pid}"
    assert playlist_url("https://example.org/feed.xml") == "https://example.org/feed.xml"
    with pytest.raises(ImportRefused):
        playlist_url("not a playlist")


def test_flat_youtube_entry_keeps_the_id() -> None:
    entry = {
        "_type": "url",
        "ie_key": "Youtube",
        "id": "dQw4w9WgXcQ",
        "url": "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
        "title": "Never Gonna Give You Up",
        "channel": "Rick Astley",
        "duration": 213.0,
        "thumbnails": [{"url": "https://i.ytimg.com/a.jpg"}],
    }
    track = entry_track(entry)
    assert track == {
        "video_id": "dQw4w9WgXcQ",
        "title": "Never Gonna Give You Up",
        "artist": "Rick Astley",
        "duration": 213,
        "thumbnail": "https://i.ytimg.com/a.jpg",
    }
    with pytest.raises(ValueError):
        entry_track({"title": "no address"})
