"""A command retried with its commandId after a restart is answered with its first rev,
even when a snapshot was written after it (found by the kill -9 series: the retry was
applied again and an old volume overwrote a newer one)."""

from __future__ import annotations

from pathlib import Path

from appliance.core import messages as m
from appliance.runtime import Runtime
from appliance.store import FileStore

STAFF = m.Actor(user_id="owner", role="admin", session_id="s1")


def volume(value: int, command_id: str) -> m.UiCommand:
    return m.UiCommand(command="SET_VOLUME", value=value, actor=STAFF, command_id=command_id)


def test_retry_after_snapshot_and_crash_is_answered_not_applied(tmp_path: Path) -> None:
    first = Runtime(FileStore(tmp_path))
    first.start(boot=False)
    assert first.submit(m.SetupVenue(owner_user_id="owner", venue_name="v", pin_hash="x")).ok
    early = first.submit(volume(20, "s1:c1"))
    store = first.store
    assert isinstance(store, FileStore)
    store.request_snapshot()
    assert first.submit(volume(30, "s1:c2")).ok  # the writer takes requests in order
    assert store.snapshots_written == 1
    # power cut: the runtime is never stopped, nothing more is written

    second = Runtime(FileStore(tmp_path))
    second.start(boot=False)
    try:
        retry = second.submit(volume(20, "s1:c1"))
        assert retry.ok and retry.rev == early.rev
        assert second.state.venue is not None
        assert second.state.venue.player_settings.master_volume == 30
    finally:
        second.stop()
