"""The OpenAPI document lists every route the app registers, with a body schema for
every command path, and the seed's example bodies validate against it."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest

from appliance.config import Config
from appliance.memory_store import MemoryStore
from appliance.runtime import Runtime
from web import create_app
from web.commands import ROUTES


@pytest.fixture
def doc(tmp_path: Path) -> dict:
    app = create_app(Runtime(MemoryStore()), Config(data_dir=tmp_path))
    resp = app.test_client().get("/api/openapi.json")
    assert resp.status_code == 200
    return {"app": app, "doc": resp.get_json()}


def test_every_registered_route_is_described(doc: dict) -> None:
    app, paths = doc["app"], doc["doc"]["paths"]
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        path = rule.rule.replace("<", "{").replace(">", "}")
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            assert method.lower() in paths[path], f"{method} {path} missing"


def test_command_paths_have_body_schemas(doc: dict) -> None:
    paths = doc["doc"]["paths"]
    for path in ROUTES:
        schema = paths[path]["post"]["requestBody"]["content"]["application/json"]["schema"]
        assert schema.get("properties"), path
        assert "commandId" in schema["properties"], path


@pytest.mark.parametrize(
    ("path", "body", "valid"),
    [
        ("/api/ui/command", {"command": "SET_VOLUME", "value": 40}, True),
        ("/api/ui/command", {"command": "DANCE"}, False),
        ("/api/queue/add", {"videoId": "dQw4w9WgXcQ", "position": "next"}, True),
        ("/api/queue/add", {"position": "end"}, False),
        (
            "/api/playlist/manage",
            {"action": "create", "name": "x", "tracks": [{"video_id": "a"}]},
            True,
        ),
        ("/api/playlist/manage", {"action": "explode"}, False),
        ("/api/player/error", {"errorCode": 403}, True),
    ],
)
def test_bodies_validate(doc: dict, path: str, body: dict, valid: bool) -> None:
    schema = doc["doc"]["paths"][path]["post"]["requestBody"]["content"]["application/json"][
        "schema"
    ]
    errors = list(jsonschema.Draft4Validator(schema).iter_errors(body))
    assert (not errors) == valid, errors
