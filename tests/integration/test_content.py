"""The content gallery with real ffmpeg: sniffing, limits, safe names, thumbnails."""

from __future__ import annotations

import io
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.content import ContentGallery
from appliance.content_files import ContentError
from appliance.core import messages as m
from appliance.memory_store import MemoryStore
from appliance.runtime import Runtime

STAFF = m.Actor(user_id="owner", role="admin", source="web")


def make_media(tmp: Path, name: str, *args: str) -> bytes:
    out = tmp / name
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y", *args, str(out)], check=True, timeout=60
    )
    return out.read_bytes()


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    tmp = tmp_path_factory.mktemp("media")
    return {
        "jpg": make_media(
            tmp, "a.jpg", "-f", "lavfi", "-i", "color=red:s=640x360", "-frames:v", "1"
        ),
        "png": make_media(
            tmp, "a.png", "-f", "lavfi", "-i", "color=blue:s=64x64", "-frames:v", "1"
        ),
        "mp4": make_media(
            tmp, "a.mp4", "-f", "lavfi", "-i", "testsrc=d=1:s=320x240:r=10", "-pix_fmt", "yuv420p"
        ),
    }


AUDIO = {  # announcement clips: (ffmpeg output options, mime type we must read from them)
    "clip.mp3": (("-c:a", "libmp3lame"), "audio/mpeg"),
    "clip.m4a": (("-c:a", "aac"), "audio/mp4"),
    "clip.ogg": (("-c:a", "libvorbis"), "audio/ogg"),
    "clip.wav": ((), "audio/wav"),
    "clip.flac": ((), "audio/flac"),
}


@pytest.fixture
def gallery(tmp_path: Path) -> Iterator[ContentGallery]:
    rt = Runtime(MemoryStore())
    rt.start()
    assert rt.submit(m.SetupVenue(owner_user_id="owner")).ok
    g = ContentGallery(rt, tmp_path / "content", max_bytes=2 * 1024 * 1024)
    g.start()
    yield g
    rt.stop()


def files(g: ContentGallery) -> list[str]:
    return sorted(p.name for p in g.dir.rglob("*") if p.is_file())


def test_upload_image_and_video_with_thumbnails(
    gallery: ContentGallery, media: dict[str, bytes]
) -> None:
    sub = gallery.runtime.subscribe()
    img = gallery.upload(io.BytesIO(media["jpg"]), "Logo (final).jpg", STAFF)
    vid = gallery.upload(io.BytesIO(media["mp4"]), "loop.bin", STAFF)  # the name says nothing
    assert (img.kind, img.mime_type) == ("image", "image/jpeg")
    assert (vid.kind, vid.mime_type) == ("video", "video/mp4")
    assert img.filename == "Logo (final).jpg" and img.size == len(media["jpg"])
    for item in (img, vid):
        thumb = gallery.thumb_path(item)
        assert thumb.read_bytes()[:3] == b"\xff\xd8\xff"  # a real JPEG thumbnail
        assert (
            gallery.media_path(item).read_bytes()[:12]
            == media["jpg" if item is img else "mp4"][:12]
        )
    assert set(gallery.runtime.state.content) == {img.content_id, vid.content_id}
    types = []
    while len(types) < 2 and (pub := sub.get(timeout=5)) is not None:
        types += [e.type for e in pub.events if e.type == "CONTENT_GALLERY_UPDATE"]
    sub.close()
    assert types == ["CONTENT_GALLERY_UPDATE"] * 2
    removed = gallery.delete([img.content_id], STAFF)
    assert [r.content_id for r in removed] == [img.content_id]
    assert not any(img.content_id in f for f in files(gallery))
    assert set(gallery.runtime.state.content) == {vid.content_id}


@pytest.mark.parametrize("name", sorted(AUDIO))
def test_audio_clips_are_read_from_their_contents(
    gallery: ContentGallery, tmp_path: Path, name: str
) -> None:
    options, mime = AUDIO[name]
    data = make_media(tmp_path, name, "-f", "lavfi", "-i", "sine=f=440:d=1", *options)
    item = gallery.upload(io.BytesIO(data), "announcement.bin", STAFF)  # the name says nothing
    assert (item.kind, item.mime_type) == ("audio", mime)
    assert gallery.thumb_path(item).read_bytes()[:3] == b"\xff\xd8\xff"  # its waveform
    assert gallery.runtime.state.content[item.content_id].kind == "audio"


@pytest.mark.parametrize(
    ("data", "name", "code"),
    [
        (b"#!/bin/sh\nrm -rf /\n" * 10, "holiday.jpg", "unsupported_type"),
        (b"<?php system($_GET['c']); ?>", "photo.png", "unsupported_type"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 4000, "broken.jpg", "unreadable_media"),
        (b"ID3\x04\x00" + b"\x00" * 4000, "jingle.mp3", "unreadable_media"),
        (b"\xff\xd8\xff" + b"x" * (3 * 1024 * 1024), "huge.jpg", "too_large"),
        (b"\xff\xd8\xff", "../../etc/cron.d/evil.jpg", "invalid_filename"),
        (b"\xff\xd8\xff", "..\\windows.jpg", "invalid_filename"),
        (b"", "empty.jpg", "empty_file"),
    ],
)
def test_bad_uploads_are_refused_and_leave_nothing(
    gallery: ContentGallery, data: bytes, name: str, code: str
) -> None:
    before = gallery.runtime.state.rev
    with pytest.raises(ContentError) as err:
        gallery.upload(io.BytesIO(data), name, STAFF)
    assert err.value.code == code and err.value.message and 400 <= err.value.status < 500
    assert files(gallery) == []
    assert gallery.runtime.state.content == {} and gallery.runtime.state.rev == before
    assert not (gallery.dir.parent / "etc").exists()


def test_patrons_cannot_upload_or_delete(gallery: ContentGallery, media: dict[str, bytes]) -> None:
    patron = m.Actor(user_id="g", role="user", source="web")
    with pytest.raises(ContentError) as err:
        gallery.upload(io.BytesIO(media["png"]), "a.png", patron)
    assert err.value.status == 403 and files(gallery) == []
    item = gallery.upload(io.BytesIO(media["png"]), "a.png", STAFF)
    with pytest.raises(ContentError) as err:
        gallery.delete([item.content_id], patron)
    assert err.value.status == 403 and gallery.media_path(item) is not None
    with pytest.raises(ContentError) as err:
        gallery.delete(["c-missing"], STAFF)
    assert err.value.status == 404


def test_sweep_removes_orphans_after_a_power_cut(gallery: ContentGallery) -> None:
    (gallery.dir / "cdeadbeef.jpg").write_bytes(b"half")
    (gallery.dir / ".incoming").mkdir(exist_ok=True)
    (gallery.dir / ".incoming" / "cpartial").write_bytes(b"x")
    assert gallery.sweep() == ["cdeadbeef.jpg"]
    assert files(gallery) == []
