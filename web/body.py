"""JSON request bodies: size-limited, must be an object, typed field readers that raise
the house error. Every POST under /api reads its body through here."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from flask import request

from web.errors import ApiError

DEFAULT_LIMIT = 64 * 1024  # bytes; a playlist with thousands of tracks asks for more
LARGE_LIMIT = 8 * 1024 * 1024


def json_body(limit: int = DEFAULT_LIMIT) -> dict[str, Any]:
    """The request's JSON object, or ApiError (400/413/415). An empty body is `{}`."""
    length = request.content_length
    if length is not None and length > limit:
        raise ApiError("too_large", f"The body is larger than {limit} bytes.", 413)
    raw = (
        request.get_data(cache=True, as_text=False)
        if length is not None
        else (request.stream.read(limit + 1))
    )
    if len(raw) > limit:
        raise ApiError("too_large", f"The body is larger than {limit} bytes.", 413)
    if not raw.strip():
        return {}
    if not request.mimetype or "json" not in request.mimetype:
        raise ApiError("unsupported_media_type", "Send the body as application/json.", 415)
    return parse_object(raw)


def parse_object(raw: bytes | str) -> dict[str, Any]:
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ApiError("invalid_json", "The body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise ApiError("invalid_body", "The body must be a JSON object.")
    return data


def req_str(body: Mapping[str, Any], key: str, max_len: int = 200) -> str:
    value = body.get(key)
    if value is None:
        raise ApiError("missing_field", f"{key} is required.")
    if not isinstance(value, str) or not value.strip():
        raise ApiError("invalid_field", f"{key} must be non-empty text.")
    if len(value) > max_len:
        raise ApiError("invalid_field", f"{key} is longer than {max_len} characters.")
    return value.strip()


def opt_str(body: Mapping[str, Any], key: str, max_len: int = 200, default: str = "") -> str:
    value = body.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    return req_str(body, key, max_len)


def req_int(body: Mapping[str, Any], key: str, lo: int | None = None, hi: int | None = None) -> int:
    value = body.get(key)
    if value is None:
        raise ApiError("missing_field", f"{key} is required.")
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise ApiError("invalid_field", f"{key} must be a whole number.")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ApiError("out_of_range", f"{key} must be from {lo} to {hi}.")
    return int(value)


def opt_int(body: Mapping[str, Any], key: str, default: int, lo: int = 0, hi: int = 10**9) -> int:
    return default if body.get(key) is None else req_int(body, key, lo, hi)


def opt_number(body: Mapping[str, Any], key: str, default: float = 0.0) -> float:
    value = body.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ApiError("invalid_field", f"{key} must be a number of seconds.")
    return float(value)


def query_int(name: str, default: int, lo: int, hi: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError("invalid_field", f"{name} must be a whole number.") from None
    if not lo <= value <= hi:
        raise ApiError("out_of_range", f"{name} must be from {lo} to {hi}.")
    return value
