"""The Appwrite mirror against a local HTTP server.

Appwrite cannot run on our machines, so `FakeAppwrite` implements exactly the two
endpoints the mirror uses, with request and response bodies as Appwrite's Databases REST
documentation gives them:
- `POST /v1/databases/{databaseId}/collections/{collectionId}/documents` with
  `{"documentId", "data", "permissions"?}` -> 201 and the document (`$id`,
  `$collectionId`, `$databaseId`, `$createdAt`, `$updatedAt`, `$permissions` + the data);
  an existing id -> 409 `{"message", "code": 409, "type": "document_already_exists"}`;
- `PATCH /v1/databases/{databaseId}/collections/{collectionId}/documents/{documentId}`
  with `{"data"}` -> 200 and the document; unknown id -> 404 `document_not_found`;
- a missing/wrong `X-Appwrite-Project` or `X-Appwrite-Key` -> 401 `general_unauthorized_scope`.
It can also answer 503 for a while, or be down altogether, to test retries.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from appliance.cloud.appwrite import AppwriteMirror, AppwriteSettings, log_document_id
from appliance.core import messages as m
from tests.integration.cloud_kit import make_box

PROJECT, KEY, DB = "djamms-project", "secret-key", "djamms-db"
DOCS = re.compile(r"^/v1/databases/([^/]+)/collections/([^/]+)/documents(?:/([^/]+))?$")
STAFF = m.Actor(user_id="staff", role="admin", source="web")


class FakeAppwrite(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.docs: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.requests: list[tuple[str, str]] = []
        self.failing = False
        self.lock = threading.Condition()
        self.thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.1})
        self.thread.start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def collection(self, name: str) -> dict[str, dict[str, Any]]:
        with self.lock:
            return {k[2]: v for k, v in self.docs.items() if k[:2] == (DB, name)}

    def wait_for(self, predicate: Any, timeout: float = 30.0) -> Any:
        deadline = time.monotonic() + timeout
        with self.lock:
            while not (got := predicate()):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("timed out waiting on the fake Appwrite")
                # woken by each request; the short wait also re-checks the mirror's counters
                self.lock.wait(min(left, 0.05))
            return got

    def close(self) -> None:
        self.shutdown()
        self.server_close()
        self.thread.join(timeout=5)


def _error(code: int, kind: str, message: str) -> dict[str, Any]:
    return {"message": message, "code": code, "type": kind, "version": "1.6.0"}


class _Handler(BaseHTTPRequestHandler):
    server: FakeAppwrite

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        self._handle("POST")

    def do_PATCH(self) -> None:  # noqa: N802
        self._handle("PATCH")

    def _handle(self, method: str) -> None:
        srv = self.server
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        match = DOCS.match(self.path)
        with srv.lock:
            srv.requests.append((method, self.path))
            srv.lock.notify_all()
        if srv.failing:
            return self._send(503, _error(503, "general_server_error", "Server error"))
        if self.headers.get("X-Appwrite-Project") != PROJECT or (
            self.headers.get("X-Appwrite-Key") != KEY
        ):
            return self._send(401, _error(401, "general_unauthorized_scope", "Missing scope"))
        if match is None or self.headers.get("Content-Type") != "application/json":
            return self._send(404, _error(404, "general_route_not_found", "Route not found"))
        db, col, doc_id = match.groups()
        now = datetime.now(UTC).isoformat()
        with srv.lock:
            if method == "POST" and doc_id is None:
                key = (db, col, str(body["documentId"]))
                if key in srv.docs:
                    return self._send(409, _error(409, "document_already_exists", "Exists"))
                doc = {"$id": key[2], "$collectionId": col, "$databaseId": db,
                       "$createdAt": now, "$updatedAt": now,
                       "$permissions": body.get("permissions", []), **body["data"]}  # fmt: skip
                srv.docs[key] = doc
                srv.lock.notify_all()
                return self._send(201, doc)
            if method == "PATCH" and doc_id is not None:
                key = (db, col, doc_id)
                if key not in srv.docs:
                    return self._send(404, _error(404, "document_not_found", "Not found"))
                srv.docs[key] = {**srv.docs[key], **body["data"], "$updatedAt": now}
                srv.lock.notify_all()
                return self._send(200, srv.docs[key])
        return self._send(404, _error(404, "general_route_not_found", "Route not found"))


@pytest.fixture
def appwrite() -> Iterator[FakeAppwrite]:
    server = FakeAppwrite()
    yield server
    server.close()


def settings_for(server: FakeAppwrite, **changes: Any) -> AppwriteSettings:
    return AppwriteSettings(endpoint=server.endpoint, project=PROJECT, api_key=KEY,
                            database_id=DB, flush_interval=0.2, **changes)  # fmt: skip


def test_mirror_pushes_the_venue_and_new_log_entries(tmp_path: Path, appwrite: FakeAppwrite):
    box = make_box(tmp_path / "box")
    mirror = AppwriteMirror(box.runtime, settings_for(appwrite))
    mirror.start()
    try:
        venue_id = box.runtime.state.venue.venue_id
        box.runtime.submit(m.UiCommand(command="SET_VOLUME", value=58, actor=STAFF))
        doc = appwrite.wait_for(lambda: appwrite.collection("venues").get(venue_id))
        appwrite.wait_for(
            lambda: json.loads(appwrite.collection("venues")[venue_id]["player_settings"])[
                "master_volume"
            ] == 58
        )  # fmt: skip
        assert doc["venue_id"] == venue_id and doc["owner_id"]
        assert isinstance(doc["active_queue"], str)  # JSON text, as Appwrite stores it
        entry = next(e for e in box.runtime.state.activity_log if e.event_type == "ui_command")
        doc_id = log_document_id(venue_id, entry.log_id)
        logged = appwrite.wait_for(lambda: appwrite.collection("activity_log").get(doc_id))
        assert logged["event_type"] == "ui_command" and logged["timestamp"] == entry.timestamp
        assert json.loads(logged["event_data"])["value"] == 58
    finally:
        mirror.stop()
        box.stop()


def test_mirror_retries_through_an_outage_without_duplicates(
    tmp_path: Path, appwrite: FakeAppwrite
) -> None:
    box = make_box(tmp_path / "box")
    mirror = AppwriteMirror(box.runtime, settings_for(appwrite, backoff_max=0.5))
    mirror.start()
    try:
        appwrite.wait_for(lambda: appwrite.collection("venues"))
        appwrite.failing = True
        for volume in range(1, 11):
            box.runtime.submit(m.UiCommand(command="SET_VOLUME", value=volume, actor=STAFF))
        appwrite.wait_for(lambda: mirror.failures >= 1 or None)
        assert mirror.pending >= 10
        appwrite.failing = False
        logs = [e for e in box.runtime.state.activity_log if e.event_type == "ui_command"]
        assert len(logs) == 10
        venue_id = box.runtime.state.venue.venue_id
        want = {log_document_id(venue_id, e.log_id) for e in logs}
        appwrite.wait_for(lambda: want <= set(appwrite.collection("activity_log")))
        appwrite.wait_for(lambda: mirror.pending == 0 or None)
        posted = [p for meth, p in appwrite.requests if meth == "POST" and "activity_log" in p]
        assert len(posted) >= len(want)  # retried requests are allowed; documents are unique
        assert len(appwrite.collection("activity_log")) == len(want)
        venue = appwrite.collection("venues")[venue_id]
        assert json.loads(venue["player_settings"])["master_volume"] == 10
    finally:
        mirror.stop()
        box.stop()


def test_mirror_is_off_by_default(tmp_path: Path) -> None:
    from appliance.config import Config

    assert AppwriteSettings.from_config(Config(data_dir=tmp_path)) is None
