"""The data dir's JSON is read and written by msgspec now; what the json module wrote
before (snapshots, journal lines, restore files) still loads to the same state, and what
is written now is the same document."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType

import pytest

from appliance.atomic_storage import AtomicJSONStorage
from appliance.core import messages as m
from appliance.core.codec import (
    from_data,
    from_json,
    message_to_data,
    message_to_json,
    parse_json,
    to_data,
    to_json,
)
from appliance.core.model import LogEntry, State, TrackInfo, User, frozen_map
from appliance.snapshot import SNAPSHOT, document_chunks, read_snapshot, state_to_tables
from appliance.store import FileStore
from tests.integration.runtime_kit import ADMIN, ok, running, set_up_playing


def _busy_state(data_dir: Path) -> State:
    """A venue with a queue, a playing track, users, a playlist and log entries."""
    with running(data_dir) as (rt, _store):
        set_up_playing(rt)
        for i in range(5):
            ok(rt.submit(m.AddToQueue(track=TrackInfo(f"x{i}", title="Ünïcode ♫"), actor=ADMIN)))
        ok(rt.submit(m.UiCommand(command="SHUFFLE_TOGGLE", actor=ADMIN)))
        ok(rt.submit(m.RecordLog(event_type="note", event_data={"nested": {"a": [1, 2.5]}})))
        state = rt.state
    users = dict(state.users)
    users["u2"] = User(user_id="u2", username="Zoë")
    return replace(state, users=frozen_map(users), recent_commands=(("c1", 3),))


def _old_writer(data_dir: Path, state: State, journal_seq: int) -> None:
    """The snapshot writer before msgspec: to_data, then the json module."""
    AtomicJSONStorage(str(data_dir / SNAPSHOT)).write(state_to_tables(state, journal_seq))


def test_a_snapshot_written_by_the_json_module_loads_to_the_same_state(tmp_path: Path) -> None:
    state = _busy_state(tmp_path / "src")
    _old_writer(tmp_path, state, 7)
    loaded, seq = read_snapshot(tmp_path / SNAPSHOT)
    assert (loaded, seq) == (state, 7)
    entry = loaded.activity_log[-1]
    assert isinstance(entry.event_data, MappingProxyType)  # read-only, as from_data made it
    assert isinstance(loaded.users, MappingProxyType)
    assert isinstance(loaded.venue and loaded.venue.player_settings.eq_settings, MappingProxyType)


def test_the_snapshot_written_now_is_the_same_document(tmp_path: Path) -> None:
    state = _busy_state(tmp_path / "src")
    new = json.loads(b"".join(document_chunks(state, 9)))
    assert new == json.loads(json.dumps(state_to_tables(state, 9)))


def test_a_snapshot_of_many_chunks_round_trips(tmp_path: Path) -> None:
    log = tuple(LogEntry(f"l{i}", "t", "e", event_data=frozen_map({"i": i})) for i in range(4500))
    state = replace(State(), activity_log=log, log_retention=5000, rev=4, seq=10)
    (tmp_path / SNAPSHOT).write_bytes(b"".join(document_chunks(state, 3)))
    assert read_snapshot(tmp_path / SNAPSHOT) == (state, 3)


def test_an_ill_typed_snapshot_field_loads_the_lax_way_as_before(tmp_path: Path) -> None:
    # the lax decoder let an int through where a str belongs; such a file must still load
    state = _busy_state(tmp_path / "src")
    tables = state_to_tables(state, 2)
    tables["venues"]["1"]["venue_name"] = 42
    AtomicJSONStorage(str(tmp_path / SNAPSHOT)).write(tables)
    loaded, _ = read_snapshot(tmp_path / SNAPSHOT)
    assert loaded.venue is not None and loaded.venue.venue_name == 42
    assert loaded.activity_log == state.activity_log


def test_a_journal_written_by_the_json_module_replays(tmp_path: Path) -> None:
    state = _busy_state(tmp_path / "src")
    _old_writer(tmp_path, state, 0)
    (tmp_path / "journal").mkdir()
    lines = [
        {"n": 1, "t": 1.7e9, "m": m_data(m.UiCommand(command="SET_VOLUME", value=33))},
        {"n": 2, "t": 1.7e9 + 1, "m": m_data(m.UiCommand(command="SEEK", value=float("inf")))},
    ]
    raw = "".join(json.dumps(e, separators=(",", ":")) + "\n" for e in lines)
    assert "Infinity" in raw  # a token msgspec refuses: the json module reads it
    (tmp_path / "journal" / "000000000001.jsonl").write_text(raw)
    loaded, entries = FileStore(tmp_path).load()
    assert loaded == state
    assert [msg for msg, _ in entries] == [
        m.UiCommand(command="SET_VOLUME", value=33),
        m.UiCommand(command="SEEK", value=float("inf")),
    ]


def m_data(msg: m.Message) -> dict[str, object]:
    data = to_data(msg)
    data["type"] = type(msg).__name__
    return data


@pytest.mark.parametrize("raw", [b'{"a": NaN}', b'{"a": Infinity}'])
def test_parse_json_reads_what_the_json_module_wrote(raw: bytes) -> None:
    assert parse_json(raw).keys() == {"a"}


def test_to_json_is_the_json_of_to_data(tmp_path: Path) -> None:
    state = _busy_state(tmp_path / "src")
    assert json.loads(to_json(state)) == to_data(state)
    assert from_json(State, to_json(state)) == state == from_data(State, json.loads(to_json(state)))


@pytest.mark.parametrize(
    "msg",
    [
        m.UiCommand(command="SET_VOLUME", value=33, actor=ADMIN, command_id="c9"),
        m.AddToQueue(track=TrackInfo("v1", title="Ünïcode ♫", duration=200), actor=ADMIN),
        m.Heartbeat(position=12.5, play_id="p3"),
        m.RecordLog(event_type="note", event_data=frozen_map({"a": [1, {"b": None}]})),
        m.RestoreState(state=State(), staged="x.json"),
    ],
)
def test_a_journal_message_is_the_json_of_its_data_with_the_type_last(msg: m.Message) -> None:
    data = json.loads(message_to_json(msg))
    assert data == message_to_data(msg)
    assert list(data)[-1] == "type"
