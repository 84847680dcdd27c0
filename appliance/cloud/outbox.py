"""A bounded, persisted, ordered outbox for event messages the broker has not taken yet.

Events are held in memory while the link is up (they leave within milliseconds); while it
is down each new one is also appended to `outbox.jsonl`, so a restart during an outage
still replays them. The file is emptied once everything has left. When the outbox is
full the oldest entries go first and `dropped` counts them: the venue's own state is
never at risk, only the cloud's history of it.

Delivery is at least once: after a crash in the middle of a replay some events may be sent
again. Each carries its `rev`, so a reader can tell.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections import deque
from pathlib import Path

log = logging.getLogger(__name__)


class Outbox:
    def __init__(self, path: Path, max_items: int = 10_000) -> None:
        self.path = path
        self.max_items = max_items
        self._items: deque[tuple[str, bytes]] = deque()
        self._lock = threading.Lock()
        self._persisted = 0  # how many of the oldest items are already in the file
        self._file_lines = 0
        self.dropped = 0
        self._load()

    def _load(self) -> None:
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return
        except OSError as exc:
            log.warning("outbox: cannot read %s (%s); starting empty", self.path, exc)
            return
        for line in lines[-self.max_items :]:
            try:
                rec = json.loads(line)
                self._items.append((str(rec["t"]), str(rec["p"]).encode()))
            except (ValueError, KeyError, TypeError):
                continue  # a torn last line after a power cut
        self._persisted = len(self._items)
        self._file_lines = len(lines)

    def __len__(self) -> int:
        return len(self._items)

    def push(self, topic: str, payload: bytes, *, persist: bool) -> None:
        with self._lock:
            self._items.append((topic, payload))
            if len(self._items) > self.max_items:
                self._items.popleft()
                self.dropped += 1
                self._persisted = max(0, self._persisted - 1)
            if persist:
                self._persist_locked()

    def persist(self) -> None:
        """Write whatever is held but not yet in the file (the link just went down)."""
        with self._lock:
            self._persist_locked()

    def _persist_locked(self) -> None:
        pending = list(self._items)[self._persisted :]
        if not pending:
            return
        try:
            with open(self.path, "a", encoding="utf-8") as f:
                for topic, payload in pending:
                    f.write(json.dumps({"t": topic, "p": payload.decode()}) + "\n")
            self._persisted = len(self._items)
            self._file_lines += len(pending)
        except OSError as exc:
            log.warning("outbox: cannot write %s (%s)", self.path, exc)
        if self._file_lines > 2 * self.max_items:  # a long outage: drop what memory dropped
            self._rewrite_locked()

    def _rewrite_locked(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        try:
            with open(tmp, "w", encoding="utf-8") as f:
                for topic, payload in self._items:
                    f.write(json.dumps({"t": topic, "p": payload.decode()}) + "\n")
            os.replace(tmp, self.path)
            self._persisted = self._file_lines = len(self._items)
        except OSError as exc:
            log.warning("outbox: cannot rewrite %s (%s)", self.path, exc)

    def peek(self, n: int) -> list[tuple[str, bytes]]:
        with self._lock:
            return [self._items[i] for i in range(min(n, len(self._items)))]

    def pop(self, n: int) -> None:
        """The first `n` left: forget them, and empty the file once nothing is held."""
        with self._lock:
            for _ in range(min(n, len(self._items))):
                self._items.popleft()
            self._persisted = max(0, self._persisted - n)
            if not self._items and self.path.exists():
                try:
                    self.path.unlink()
                    self._file_lines = 0
                except OSError as exc:
                    log.warning("outbox: cannot remove %s (%s)", self.path, exc)
