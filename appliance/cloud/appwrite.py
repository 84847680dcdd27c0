"""Appwrite mirror (off by default): the venue document in the seed's schema and new
`activity_log` entries, pushed to an Appwrite project through its REST API.

Endpoints (Appwrite Databases, server side, API key):
- `POST  {endpoint}/databases/{db}/collections/{col}/documents`
  body `{"documentId", "data"}`, 201 with the document; 409 `document_already_exists`;
- `PATCH {endpoint}/databases/{db}/collections/{col}/documents/{documentId}`
  body `{"data"}`, 200 with the document; 404 `document_not_found`;
with headers `X-Appwrite-Project`, `X-Appwrite-Key` and `Content-Type: application/json`.

The seed's JSON-object fields are sent as JSON text (Appwrite attributes are scalar).
Batched (one flush every `flush_interval`, at most `batch` log entries), retried with
backoff, and offline tolerant: pending entries wait in a bounded queue (the oldest go
first when it is full; `dropped` counts them). Log documents have ids derived from the
venue and the entry, so a retry after a lost answer is a 409, taken as done.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from dataclasses import dataclass
from typing import Any

from appliance.config import Config, ConfigError
from appliance.core.codec import to_data
from appliance.core.model import LogEntry, State
from appliance.core.views import now_playing_view
from appliance.runtime import Resync
from appliance.runtime_port import RuntimePort

log = logging.getLogger(__name__)

QUEUE_LIMIT = 500  # items per queue in the venue document (Appwrite text size)


@dataclass(frozen=True)
class AppwriteSettings:
    endpoint: str  # e.g. https://cloud.appwrite.io/v1
    project: str
    api_key: str
    database_id: str
    venues_collection_id: str = "venues"
    activity_collection_id: str = "activity_log"
    flush_interval: float = 5.0
    batch: int = 50
    timeout: float = 10.0
    max_pending: int = 10_000
    backoff_max: float = 300.0

    @classmethod
    def from_config(cls, config: Config) -> AppwriteSettings | None:
        t = config.section("appwrite")
        if not t.get("enabled", False):
            return None
        missing = [k for k in ("endpoint", "project", "api_key", "database_id") if not t.get(k)]
        if missing:
            raise ConfigError(f"[appwrite] needs {', '.join(missing)}")
        return cls(
            endpoint=str(t["endpoint"]).rstrip("/"),
            project=str(t["project"]),
            api_key=str(t["api_key"]),
            database_id=str(t["database_id"]),
            venues_collection_id=str(t.get("venues_collection_id", "venues")),
            activity_collection_id=str(t.get("activity_collection_id", "activity_log")),
            flush_interval=float(t.get("flush_interval", 5.0)),
            batch=int(t.get("batch", 50)),
        )


def _json_text(value: Any) -> str:
    return json.dumps(to_data(value), separators=(",", ":"), default=str)


def venue_document(state: State) -> dict[str, Any]:
    v = state.venue
    assert v is not None
    return {
        "venue_id": v.venue_id,
        "venue_name": v.venue_name,
        "owner_id": v.owner_id,
        "active_player_instance_id": v.active_player_instance_id,
        "now_playing": _json_text(now_playing_view(v)),
        "active_queue": _json_text(v.active_queue[:QUEUE_LIMIT]),
        "priority_queue": _json_text(v.priority_queue[:QUEUE_LIMIT]),
        "player_settings": _json_text(v.player_settings),
        "schedule_data": _json_text(v.schedule_data),
        "last_heartbeat_at": v.last_heartbeat_at,
        "last_updated": v.last_updated,
        "created_at": v.created_at,
    }


def log_document(entry: LogEntry) -> dict[str, Any]:
    data = to_data(entry)
    data["event_data"] = _json_text(entry.event_data)
    return data


def log_document_id(venue_id: str, log_id: str) -> str:
    """At most 36 of a-z0-9, stable for one entry (Appwrite's id rules)."""
    return hashlib.sha1(f"{venue_id}/{log_id}".encode()).hexdigest()[:36]


class AppwriteError(Exception):
    def __init__(self, status: int, kind: str, message: str) -> None:
        super().__init__(f"{status} {kind}: {message}")
        self.status = status
        self.kind = kind


class AppwriteClient:
    def __init__(self, settings: AppwriteSettings) -> None:
        self.s = settings

    def _call(self, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        req = urllib.request.Request(
            self.s.endpoint + path,
            data=json.dumps(body).encode(),
            method=method,
            headers={
                "Content-Type": "application/json",
                "X-Appwrite-Project": self.s.project,
                "X-Appwrite-Key": self.s.api_key,
            },
        )
        try:
            with urllib.request.urlopen(req, timeout=self.s.timeout) as resp:
                return json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as exc:
            try:
                err = json.loads(exc.read() or b"{}")
            except ValueError:
                err = {}
            kind, message = str(err.get("type", "")), str(err.get("message", ""))
            raise AppwriteError(exc.code, kind, message) from None

    def _docs(self, collection: str) -> str:
        return f"/databases/{self.s.database_id}/collections/{collection}/documents"

    def create(self, collection: str, document_id: str, data: dict[str, Any]) -> dict[str, Any]:
        return self._call("POST", self._docs(collection), {"documentId": document_id, "data": data})

    def update(self, collection: str, document_id: str, data: dict[str, Any]) -> dict[str, Any]:
        return self._call("PATCH", f"{self._docs(collection)}/{document_id}", {"data": data})


class AppwriteMirror:
    def __init__(self, runtime: RuntimePort, settings: AppwriteSettings) -> None:
        self._runtime = runtime
        self.settings = settings
        self.client = AppwriteClient(settings)
        self._pending: deque[LogEntry] = deque()
        self._venue_dirty = True
        self._state: State = State()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._backoff = 0.0
        self._next_try = 0.0
        self.dropped = 0
        self.pushed_logs = 0
        self.venue_pushes = 0
        self.failures = 0

    def start(self) -> None:
        self._state = self._runtime.state
        self._sub = self._runtime.subscribe(maxsize=1024, name="appwrite")
        self._thread = threading.Thread(target=self._loop, name="appwrite", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.settings.timeout * 3)
            self._thread = None
        self._sub.close()

    @property
    def pending(self) -> int:
        return len(self._pending)

    def _loop(self) -> None:
        last_flush = 0.0
        while not self._stop.is_set():
            item = self._sub.get(timeout=min(1.0, self.settings.flush_interval))
            while item is not None:
                self._take(item)
                item = self._sub.get(timeout=0)
            now = time.monotonic()
            if now - last_flush >= self.settings.flush_interval and now >= self._next_try:
                last_flush = now
                self._flush()
        self._flush()  # one last try; what fails waits for the next start

    def _take(self, item: Any) -> None:
        self._state = item.state
        self._venue_dirty = True
        if isinstance(item, Resync):  # fell behind: everything after the last one we hold
            last = self._pending[-1].log_id if self._pending else None
            entries = item.state.activity_log
            ids = [e.log_id for e in entries]
            start = ids.index(last) + 1 if last in ids else max(0, len(entries) - 100)
            for entry in entries[start:]:
                self._queue(entry)
            return
        for event in item.events:
            logged = event.payload.get("entry") if event.type == "LOG_ENTRY" else None
            if isinstance(logged, LogEntry):
                self._queue(logged)

    def _queue(self, entry: LogEntry) -> None:
        self._pending.append(entry)
        if len(self._pending) > self.settings.max_pending:
            self._pending.popleft()
            self.dropped += 1

    def _flush(self) -> None:
        try:
            if self._venue_dirty and self._state.venue is not None:
                self._push_venue()
            sent = 0
            while self._pending and sent < self.settings.batch:
                self._push_log(self._pending[0])
                self._pending.popleft()
                sent += 1
            self._backoff = 0.0
        except (OSError, AppwriteError) as exc:
            self.failures += 1
            self._backoff = min(self.settings.backoff_max, max(1.0, self._backoff * 2))
            self._next_try = time.monotonic() + self._backoff
            log.warning("appwrite: push failed (%s); retrying in %.1f s", exc, self._backoff)

    def _push_venue(self) -> None:
        s, doc = self.settings, venue_document(self._state)
        self._venue_dirty = False
        try:
            try:
                self.client.update(s.venues_collection_id, doc["venue_id"], doc)
            except AppwriteError as exc:
                if exc.status != 404:
                    raise
                self.client.create(s.venues_collection_id, doc["venue_id"], doc)
        except BaseException:
            self._venue_dirty = True
            raise
        self.venue_pushes += 1

    def _push_log(self, entry: LogEntry) -> None:
        s = self.settings
        doc_id = log_document_id(entry.venue_id or self._venue_id(), entry.log_id)
        try:
            self.client.create(s.activity_collection_id, doc_id, log_document(entry))
        except AppwriteError as exc:
            if exc.status == 409:  # sent before, the answer was lost: done
                pass
            elif 400 <= exc.status < 500 and exc.status not in (401, 403, 408, 429):
                log.warning("appwrite: log %s refused for good (%s)", entry.log_id, exc)
            else:
                raise
        self.pushed_logs += 1

    def _venue_id(self) -> str:
        return self._state.venue.venue_id if self._state.venue else ""
