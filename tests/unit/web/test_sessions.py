"""Guest joins share the sessions file's rewrites (a flood of joins is one write at a
time, not one each); staff logins and every logout are on disk before the answer."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from web.sessions import SessionStore


def on_disk(path: Path) -> set[str]:
    return {row["sid_hash"] for row in json.loads(path.read_text())}


def test_guest_joins_share_writes_and_all_reach_the_file(tmp_path: Path) -> None:
    path = tmp_path / "sessions.json"
    store = SessionStore(path)
    made: list[str] = []
    lock = threading.Lock()

    def join(n: int) -> None:
        for i in range(25):
            sid, _ = store.create(f"guest-{n}-{i}", "user")
            with lock:
                made.append(sid)

    threads = [threading.Thread(target=join, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    store.close()
    assert store.saves < len(made)  # coalesced: one rewrite served many joins
    again = SessionStore(path)
    assert all(again.get(sid) is not None for sid in made)


def test_staff_logins_and_logouts_are_written_at_once(tmp_path: Path) -> None:
    path = tmp_path / "sessions.json"
    store = SessionStore(path)
    sid, staff = store.create("owner", "admin")
    assert staff.sid_hash in on_disk(path)  # no writer thread needed for that
    guest_sid, guest = store.create("guest-1", "user")
    assert store.delete(guest_sid) == guest.sid_hash
    assert guest.sid_hash not in on_disk(path)  # a logout never comes back after a restart
    store.close()
    assert SessionStore(path).get(guest_sid) is None and SessionStore(path).get(sid)
