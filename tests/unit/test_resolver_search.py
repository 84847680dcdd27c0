"""Resolver rules with a fake of our own yt-dlp port (no network in unit tests): a search
that failed answers [] for a while rather than make every phone wait on DNS again; after a
403 from YouTube the next attempt asks as another player client; configured extractor
arguments (PO tokens) reach yt-dlp; every resolve's outcome is reported once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from appliance.library.cache import MediaCache
from appliance.library.resolver import ResolveError, Resolver, player_client_args
from appliance.library.ytdlp_env import YtdlpEnv, YtdlpError

YT = "https://www.youtube.com/watch?v=dQw4w9WgXcQ"


class FakeYtdlp:
    """Answers searches; refuses downloads with the scripted reasons, one per call."""

    def __init__(self, offline: bool = False, reasons: list[str] | None = None) -> None:
        self.offline = offline
        self.reasons = list(reasons or [])
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def active(self) -> YtdlpEnv:
        return YtdlpEnv("2099.1.1")

    def run(self, url: str, opts: dict[str, Any], *, download: bool, **kw: Any) -> dict[str, Any]:
        self.calls.append((url, opts))
        if self.offline:
            raise YtdlpError("Failed to resolve 'www.youtube.com'")
        if download:
            raise YtdlpError(self.reasons.pop(0) if self.reasons else "HTTP Error 500")
        return {"entries": [{"id": "dQw4w9WgXcQ", "title": "Song", "duration": 200}]}


def make(tmp_path: Path, fake: FakeYtdlp, **kw: Any) -> Resolver:
    return Resolver(MediaCache(tmp_path, 10**8), attempts=4, backoff=0.0, runner=fake, **kw)


def test_search_goes_through_the_port(tmp_path: Path) -> None:
    fake = FakeYtdlp()
    found = make(tmp_path, fake).search("song", 5)
    assert [t.video_id for t in found] == ["dQw4w9WgXcQ"]
    assert fake.calls[0][0] == "ytsearch5:song"
    assert fake.calls[0][1]["extract_flat"] == "in_playlist"


def test_a_failed_search_is_not_retried_at_once(tmp_path: Path) -> None:
    fake = FakeYtdlp(offline=True)
    resolver = make(tmp_path, fake)
    assert resolver.search("song", 5) == []
    assert resolver.search("song", 5) == []
    assert len(fake.calls) == 1


@pytest.mark.parametrize(
    ("url", "attempt", "reason", "client"),
    [
        (YT, 1, "", None),
        (YT, 2, "HTTP Error 403: Forbidden", "tv"),
        (YT, 3, "HTTP Error 403: Forbidden", "web_safari"),
        (YT, 5, "HTTP Error 403: Forbidden", "tv"),
        (YT, 2, "timed out", None),
        ("http://127.0.0.1/a.mp4", 2, "HTTP Error 403: Forbidden", None),
    ],
)
def test_another_player_client_after_a_403(
    url: str, attempt: int, reason: str, client: str | None
) -> None:
    args = player_client_args({}, url, attempt, reason, ("tv", "web_safari", "mweb"))
    assert args.get("youtube", {}).get("player_client") == ([client] if client else None)


def test_download_rotates_clients_and_keeps_the_po_token(tmp_path: Path) -> None:
    fake = FakeYtdlp(reasons=["HTTP Error 403: Forbidden"] * 4)
    outcomes: list[tuple[str, bool, str]] = []
    po = {"youtube": {"po_token": ["web.gvs+TOKEN"]}}
    resolver = make(tmp_path, fake, extractor_args=po, on_outcome=lambda *a: outcomes.append(a))
    with pytest.raises(ResolveError):
        resolver.download("dQw4w9WgXcQ")
    asked = [c[1]["extractor_args"]["youtube"] for c in fake.calls]
    assert [a.get("player_client") for a in asked] == [None, ["tv"], ["web_safari"], ["mweb"]]
    assert all(a["po_token"] == ["web.gvs+TOKEN"] for a in asked)
    assert outcomes == [("dQw4w9WgXcQ", False, "HTTP Error 403: Forbidden")]
    assert po == {"youtube": {"po_token": ["web.gvs+TOKEN"]}}  # the setting is not changed


def test_a_gone_video_is_not_retried(tmp_path: Path) -> None:
    fake = FakeYtdlp(reasons=["Video unavailable"])
    with pytest.raises(ResolveError) as err:
        make(tmp_path, fake).download("dQw4w9WgXcQ")
    assert err.value.attempts == 1 and len(fake.calls) == 1
