"""Server-side sessions. The browser holds only a random id (HttpOnly, SameSite=Strict
cookie); the box keeps who that is, the role and the CSRF token. Sessions are kept in a
small JSON file under the data dir, keyed by a hash of the id, so a staff tablet stays
logged in across a restart and a copied file does not hand out live cookies."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

log = logging.getLogger(__name__)

COOKIE = "djamms_session"
STAFF_TTL = 12 * 3600  # a shift
GUEST_TTL = 7 * 24 * 3600
MAX_SESSIONS = 20_000


@dataclass(frozen=True)
class Session:
    sid_hash: str
    user_id: str
    role: str  # admin|moderator|user
    csrf_token: str
    username: str = ""
    expires_at: float = 0.0

    @property
    def is_staff(self) -> bool:
        return self.role in ("admin", "moderator")


def _hash(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


class SessionStore:
    """Staff changes and every logout reach the file before the answer goes out. A guest's
    join is written by a writer thread, and joins arriving while it writes share the next
    write: a flood of joins costs one rewrite at a time, not one each."""

    def __init__(self, path: Path | None, clock: Callable[[], float] = time.time) -> None:
        self._path = path
        self._clock = clock
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()  # one writer of the file; orders the writes
        self._sessions: dict[str, Session] = {}
        self._dirty = threading.Event()
        self._closed = False
        self._writer: threading.Thread | None = None
        self.saves = 0
        self._load()

    def _load(self) -> None:
        if self._path is None or not self._path.exists():
            return
        try:
            rows = json.loads(self._path.read_text())
            now = self._clock()
            for row in rows:
                s = Session(**row)
                if s.expires_at > now:
                    self._sessions[s.sid_hash] = s
        except (OSError, ValueError, TypeError):
            log.warning("console sessions file unreadable; everyone logs in again")

    def _save(self) -> None:
        """Write every session now; call without `_lock` held."""
        if self._path is None:
            return
        with self._write_lock:
            with self._lock:  # the copy written is the one taken under the writer's lock
                data = json.dumps([asdict(s) for s in self._sessions.values()])
            self._write(self._path, data)
            self.saves += 1

    def _save_soon(self) -> None:
        if self._path is None or self._closed:
            return
        with self._lock:
            if self._writer is None:
                self._writer = threading.Thread(
                    target=self._write_loop, name="sessions-writer", daemon=True
                )
                self._writer.start()
        self._dirty.set()

    def _write_loop(self) -> None:
        while not self._closed:
            self._dirty.wait()
            self._dirty.clear()
            self._save()

    def close(self) -> None:
        """Stop the writer, writing what it had not yet."""
        self._closed = True
        self._dirty.set()
        if self._writer is not None:
            self._writer.join(timeout=10)
            self._save()

    @staticmethod
    def _write(path: Path, data: str) -> None:
        tmp = path.with_suffix(".tmp")
        try:
            with open(tmp, "w") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, path)
        except OSError:
            log.exception("could not save console sessions")

    def create(self, user_id: str, role: str, username: str = "") -> tuple[str, Session]:
        """A new session; returns the raw id (for the cookie) and the session."""
        sid = secrets.token_urlsafe(32)
        ttl = STAFF_TTL if role in ("admin", "moderator") else GUEST_TTL
        session = Session(
            sid_hash=_hash(sid),
            user_id=user_id,
            role=role,
            csrf_token=secrets.token_urlsafe(24),
            username=username,
            expires_at=self._clock() + ttl,
        )
        with self._lock:
            self._expire()
            self._sessions[session.sid_hash] = session
        if session.is_staff:
            self._save()
        else:
            self._save_soon()
        return sid, session

    def get(self, sid: str | None) -> Session | None:
        if not sid or len(sid) > 100:
            return None
        session = self._sessions.get(_hash(sid))
        if session is None or session.expires_at <= self._clock():
            return None
        return session

    def alive(self, sid_hash: str) -> bool:
        """Still logged in and not expired: checked on every websocket message."""
        session = self._sessions.get(sid_hash)
        return session is not None and session.expires_at > self._clock()

    def delete(self, sid: str | None) -> str:
        """End the session; its hash ("" if there was none)."""
        if not sid:
            return ""
        key = _hash(sid)
        with self._lock:
            if self._sessions.pop(key, None) is None:
                return ""
        self._save()  # before the answer: a logged-out session must not come back
        return key

    def end_user(self, user_id: str, keep: str = "") -> set[str]:
        """End every session of `user_id` but `keep` (a hash); the hashes ended."""
        with self._lock:
            gone = {k for k, s in self._sessions.items() if s.user_id == user_id and k != keep}
            for k in gone:
                del self._sessions[k]
        if gone:
            self._save()
        return gone

    def expire(self, now: float | None = None) -> int:
        """Drop the sessions past their time (the maintenance job, every few minutes), so
        the file does not keep them; how many went."""
        with self._lock:
            before = len(self._sessions)
            self._expire(now)
            gone = before - len(self._sessions)
        if gone:
            self._save()
        return gone

    def _expire(self, now: float | None = None) -> None:
        now = self._clock() if now is None else now
        dead = [k for k, s in self._sessions.items() if s.expires_at <= now]
        for k in dead:
            del self._sessions[k]
        while len(self._sessions) >= MAX_SESSIONS:  # oldest-expiring guests go first
            oldest = min(self._sessions.values(), key=lambda s: (s.is_staff, s.expires_at))
            del self._sessions[oldest.sid_hash]
