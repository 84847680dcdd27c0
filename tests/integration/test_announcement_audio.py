"""Announcements heard on a private PulseAudio null sink: the music (one tone) ducks by the
configured depth within the ramp, the clip (another tone) plays over it, the music comes
back after; the emergency stop silences both at once."""

from __future__ import annotations

import io
import time
from pathlib import Path

from appliance.core import messages as m
from tests.support.jukebox import STAFF, Jukebox
from tests.support.media import make_stereo_tone
from tests.support.pulse import (
    PulseServer,
    Recorder,
    first_at_or_above,
    pulse_fixture,  # noqa: F401 - the `pulse` fixture
    silent_from,
    steady_db,
    tone_db,
)

MUSIC, CLIP = 500.0, 1500.0
WIN = 0.02  # s per analysis window


def _status_seen(box: Jukebox, status: str) -> bool:
    return any(t == "SYSTEM_STATUS" and p.get("status") == status for t, p in box.events)


def _box(tmp_path: Path, pulse: PulseServer) -> tuple[Jukebox, str]:
    media = tmp_path / "media"
    media.mkdir()
    make_stereo_tone(
        media / "[music, Test_Tones, Music Tone].wav", freq=MUSIC, seconds=30.0, amplitude=0.15
    )
    box = Jukebox(tmp_path, media_dir=media, pulse=pulse, content=True).start()
    clip = make_stereo_tone(tmp_path / "clip.wav", freq=CLIP, seconds=2.0, amplitude=0.15)
    gallery = box.box.services.content  # type: ignore[union-attr]
    item = gallery.upload(io.BytesIO(clip.read_bytes()), "Last orders.wav", STAFF)
    return box, item.content_id


def _wait_music(box: Jukebox, past: float) -> None:
    def check(_s: object) -> bool:
        live = box.mixer.live
        return bool(live and live.started and live.deck.position() >= past)

    box.wait_for(check, timeout=40)


def test_a_clip_ducks_the_music_by_duck_db_and_it_comes_back(
    tmp_path: Path, pulse: PulseServer
) -> None:
    with Recorder(pulse) as rec:
        box, clip_id = _box(tmp_path, pulse)
        try:
            box.set("duck_db", 12)
            _wait_music(box, 2.0)
            t_cmd = time.monotonic()
            box.submit(m.PlayAnnouncement(content_id=clip_id, actor=STAFF))
            box.wait_for(lambda _s: _status_seen(box, "announcement_finished"), timeout=30)
            t_done = time.monotonic()
            rec.wait_samples(rec.index_at(t_done) + int(rec.rate * 1.5), timeout=20)
            samples = rec.samples
        finally:
            box.stop()
    music, clip = tone_db(samples, rec.rate, MUSIC, WIN), tone_db(samples, rec.rate, CLIP, WIN)
    cmd = int(rec.index_at(t_cmd) / (rec.rate * WIN))
    before = steady_db(music, cmd - 40, cmd - 2)
    clip_on = first_at_or_above(clip, before - 30, cmd)
    assert clip_on > cmd, "the clip was never heard"
    clip_end = silent_from(clip, before - 40, clip_on + 10)
    assert clip_end > clip_on, "the clip never ended"
    ducked = steady_db(music, clip_on + 5, clip_end - 5)
    depth = before - ducked
    # The music is down before the clip starts: the ramp ends at the clip's onset.
    ramp_s = (clip_on - cmd) * WIN
    after = steady_db(music, clip_end + 25, clip_end + 60)
    print(f"duck {depth:.1f} dB, clip after {ramp_s * 1000:.0f} ms, back to {after - before:+.1f}")
    assert abs(depth - 12.0) <= 1.5, f"ducked by {depth:.1f} dB, wanted 12"
    assert abs(after - before) <= 1.0, f"music came back at {after - before:+.1f} dB"
    assert ramp_s <= 1.0, f"the clip started {ramp_s:.2f}s after the command"
    assert abs(steady_db(clip, clip_on + 5, clip_end - 5) - ducked) >= 6.0  # clip over music


def test_emergency_stop_silences_the_clip_and_the_music(tmp_path: Path, pulse: PulseServer) -> None:
    with Recorder(pulse) as rec:
        box, clip_id = _box(tmp_path, pulse)
        try:
            _wait_music(box, 1.0)
            box.submit(m.PlayAnnouncement(content_id=clip_id, actor=STAFF))

            def clip_playing(_s: object) -> bool:
                deck = box.mixer.announcer.deck
                return bool(deck is not None and not deck.paused and deck.position() > 0.3)

            box.wait_for(clip_playing, timeout=20)
            t_cmd = time.monotonic()
            box.command("EMERGENCY_STOP")
            box.wait_for(lambda _s: _status_seen(box, "announcement_finished"), timeout=10)
            rec.wait_samples(rec.index_at(t_cmd) + int(rec.rate * 1.0), timeout=20)
            samples = rec.samples
        finally:
            box.stop()
    cmd = int(rec.index_at(t_cmd) / (rec.rate * WIN))
    for freq in (MUSIC, CLIP):
        levels = tone_db(samples, rec.rate, freq, WIN)
        silent = silent_from(levels, -60, cmd - 5)
        assert silent >= 0, f"{freq} Hz never went silent"
        assert (silent - cmd) * WIN <= 0.2, f"{freq} Hz silent {(silent - cmd) * WIN:.2f}s late"
