"""Library parts on real files: folder scan (DJAMMS names, tags), LRU cache, search,
demo media, and the player settings -> mpv mapping."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from appliance.bootstrap import build
from appliance.config import Config
from appliance.core import messages as m
from appliance.core.model import PlayerSettings, TrackInfo, frozen_map
from appliance.library.cache import MediaCache
from appliance.library.demo import make_demo_media
from appliance.library.local import LocalLibrary, parse_convention
from appliance.library.service import LibraryService
from appliance.player.factory import deck_output
from appliance.player.tuning import audio_filters, display_properties, window_properties
from tests.support.media import make_track


def test_convention_names_give_id_artist_title() -> None:
    assert parse_convention("[dQw4w9WgXcQ, Rick_Astley, Never Gonna Give You Up]") == (
        "dQw4w9WgXcQ",
        "Rick Astley",
        "Never Gonna Give You Up",
    )
    assert parse_convention("[abc, AC_DC, Back In Black, Live]") == (
        "abc",
        "AC DC",
        "Back In Black, Live",
    )
    assert parse_convention("just a file") is None
    assert parse_convention("[only, two]") is None


def test_scan_reads_convention_names_tags_and_skips_non_media(tmp_path: Path) -> None:
    make_track(tmp_path / "[yt123456789, Some_Artist, Song-Title].mp4", seconds=2)
    make_track(tmp_path / "sub" / "tagged.m4a", seconds=3, title="Tagged", artist="Tagger")
    make_track(tmp_path / "plain_name.wav", seconds=1)
    (tmp_path / "notes.txt").write_text("not media")
    (tmp_path / "broken.mp4").write_bytes(b"garbage" * 100)
    library = LocalLibrary(tmp_path)
    tracks = {t.title: t for t in library.scan()}
    assert set(tracks) == {"Song-Title", "Tagged", "plain name"}
    named = tracks["Song-Title"]
    assert (named.video_id, named.artist, named.duration) == ("yt123456789", "Some Artist", 2)
    tagged = tracks["Tagged"]
    assert tagged.artist == "Tagger" and tagged.duration == 3
    assert tagged.video_id.startswith("local-")
    assert LocalLibrary(tmp_path).scan()[0].video_id in {t.video_id for t in tracks.values()}
    assert library.get(tagged.video_id).path.name == "tagged.m4a"
    assert not library.changed()
    make_track(tmp_path / "[new1, A, New].wav", seconds=1)
    assert library.changed()
    assert "new1" in {t.video_id for t in library.scan()}


def _admit(cache: MediaCache, vid: str, size: int) -> Path:
    folder = cache.partial_path(vid)
    (folder / "media.mp4").write_bytes(b"x" * size)
    return cache.admit(vid, folder / "media.mp4", TrackInfo(vid, title=vid.upper()))


def test_cache_evicts_least_recently_used_but_never_pinned(tmp_path: Path) -> None:
    cache = MediaCache(tmp_path, max_bytes=3000).open()
    for vid in ("a", "b", "c"):
        _admit(cache, vid, 1000)
    cache.get("a")  # a is now the most recently used
    cache.pin({"b"})
    _admit(cache, "d", 1000)  # over quota: c is the oldest unpinned
    assert {e.video_id for e in cache.entries()} == {"a", "b", "d"}
    assert cache.evict(1000) == 2000  # a and d go; pinned b stays
    assert [e.video_id for e in cache.entries()] == ["b"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [".partial", "index.json", cache.entry("b").file]
    )
    reopened = MediaCache(tmp_path, max_bytes=3000).open()
    assert reopened.get("b") is not None and reopened.entry("b").title == "B"
    assert reopened.stats()["items"] == 1


def test_cache_drops_partials_and_orphans_on_open(tmp_path: Path) -> None:
    cache = MediaCache(tmp_path, max_bytes=10**6).open()
    folder = cache.partial_path("half")
    (folder / "media.mp4.part").write_bytes(b"half")
    (tmp_path / "0123456789abcdef.mp4").write_bytes(b"orphan")
    MediaCache(tmp_path, max_bytes=10**6).open()
    assert list((tmp_path / ".partial").iterdir()) == []
    assert not (tmp_path / "0123456789abcdef.mp4").exists()


def test_search_lists_box_media_as_offline_and_refuses_bad_input(tmp_path: Path) -> None:
    media = tmp_path / "media"
    make_track(media / "[abcdefghijk, The_Band, Rainy Day].wav", seconds=1)
    posted: list[m.Message] = []
    service = LibraryService(posted.append, media, tmp_path / "cache", cache_max_bytes=10**9,
                             socket_timeout=2)  # fmt: skip
    service.cache.open()
    service.rescan()
    assert isinstance(posted[-1], m.LibraryScanned) and len(posted[-1].tracks) == 1
    found = service.search("rainy band", 5)
    assert found[0]["video_id"] == "abcdefghijk"
    assert found[0]["playable_offline"] is True and found[0]["source"] == "local"
    assert set(found[0]) >= {"video_id", "title", "artist", "duration", "thumbnail"}
    assert all(not r["playable_offline"] for r in found[1:])  # anything from YouTube
    for bad in ("", "   ", 42, "x" * 201):
        with pytest.raises(ValueError):
            service.search(bad, 5)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        service.search("rain", 0)
    assert service.preview_url("abcdefghijk") == "https://www.youtube.com/embed/abcdefghijk"
    assert service.preview_url("http://x.test/a.mp4") == "http://x.test/a.mp4"
    assert service.preview_url("local-123") is None
    assert service.resolve_metadata("abcdefghijk").title == "Rainy Day"
    assert service.local_path("abcdefghijk").suffix == ".wav"
    assert service.stats()["library"]["tracks"] == 1


def _start_library(tmp_path: Path, posted: list[m.Message]) -> None:
    service = LibraryService(posted.append, tmp_path / "media", tmp_path / "cache",
                             cache_max_bytes=10**9, demo_media=True, scan_every=3600)  # fmt: skip
    service.start()
    try:
        assert service.scanned.wait(120)
    finally:
        service.stop()


def test_demo_media_is_made_only_for_an_empty_folder(tmp_path: Path) -> None:
    posted: list[m.Message] = []
    _start_library(tmp_path, posted)
    scanned = [p for p in posted if isinstance(p, m.LibraryScanned)]
    assert len(scanned) == 1 and len(scanned[0].tracks) == 3
    assert {t.artist for t in scanned[0].tracks} == {"DJAMMS Demo"}
    assert all("Test Tone" in t.title and t.duration == 20 for t in scanned[0].tracks)
    files = sorted((tmp_path / "media").iterdir())
    _start_library(tmp_path, posted)  # a second start: the folder has media, nothing made
    assert sorted((tmp_path / "media").iterdir()) == files
    assert [f.stat().st_mtime_ns for f in files] == [
        f.stat().st_mtime_ns for f in sorted((tmp_path / "media").iterdir())
    ]
    assert make_demo_media(tmp_path / "more", seconds=1, size="160x90")[0].suffix == ".mp4"


def test_bootstrap_registers_library_services_and_picks_the_player(tmp_path: Path) -> None:
    config = Config(data_dir=tmp_path / "data", media_dir=tmp_path / "media", player="standin",
                    demo_media=False)  # fmt: skip
    box = build(config)
    assert isinstance(box.services.library, LibraryService)
    assert box.services.cache is box.services.library.cache
    names = [type(a).__name__ for a in box.adapters]
    assert names.index("LibraryService") < names.index("StandInAdapter")  # library first
    assert "Mixer" not in names
    mpv_box = build(replace(config, player="mpv", data_dir=tmp_path / "data2"))
    names = [type(a).__name__ for a in mpv_box.adapters]
    assert names.index("LibraryService") < names.index("Mixer") and "StandInAdapter" not in names
    mixer = next(a for a in mpv_box.adapters if type(a).__name__ == "Mixer")
    assert mixer.source is mpv_box.services.library


def test_settings_map_to_mpv_filters_and_properties() -> None:
    flat = PlayerSettings()
    assert audio_filters(flat) == ""
    eq = PlayerSettings(eq_settings=frozen_map({"60": 6, "910": -12.5, "14000": 0}),
                        dynamic_compressor_enabled=True)  # fmt: skip
    af = audio_filters(eq)
    assert af.startswith("lavfi=[") and "equalizer=f=60:t=o:w=2:g=6" in af
    assert "f=910:t=o:w=2:g=-12" in af and "f=14000" not in af and "acompressor" in af
    sliders = PlayerSettings(display_sliders=frozen_map({"brightness": 20, "gamma": -300}))
    assert display_properties(sliders) == {
        "brightness": 20, "contrast": 0, "saturation": 0, "gamma": -100,
    }  # fmt: skip
    window = PlayerSettings(player_size=frozen_map({"width": 800, "height": 450}),
                            player_position=frozen_map({"x": 10, "y": 20}),
                            is_fullscreen=False)  # fmt: skip
    assert window_properties(window) == {"geometry": "800x450+10+20", "fullscreen": False}


def test_audio_output_follows_the_config() -> None:
    pulse = deck_output(Config(audio="pulse"), {"PULSE_SINK": "venue"})
    assert pulse.mpv_options()["ao"] == "pulse" and pulse.audio_device == "pulse/venue"
    alsa = deck_output(Config(audio="alsa", sections={"player": {"alsa_device": "dmix"}}), {})
    assert alsa.audio_device == "alsa/dmix" and alsa.mpv_options()["ao"] == "alsa"
    auto = deck_output(Config(audio="auto", video="null"), {})
    assert "ao" not in auto.mpv_options() and auto.mpv_options()["vo"] == "null"
    assert deck_output(Config(audio="null"), {}).mpv_options()["ao"] == "null"


def test_demo_media_stops_at_once_when_the_box_stops(tmp_path: Path) -> None:
    """Encoding demo media takes minutes on a Pi; a stop must not wait for it (systemd
    kills a service that takes longer than its stop timeout)."""
    import threading
    import time

    from appliance.library.demo import make_demo_media

    stop = threading.Event()
    stop.set()
    started = time.monotonic()
    made = make_demo_media(tmp_path / "media", stop=stop)
    assert made == []
    assert time.monotonic() - started < 5
    assert list((tmp_path / "media").iterdir()) == []  # no half-encoded file left behind
