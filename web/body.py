"""JSON request bodies: size-limited, must be an object. Every POST under /api reads its
body through here; the typed field readers for what is inside are the command table's
(`appliance.commands.req_str`, `opt_str`, ...), so a field means the same everywhere."""

from __future__ import annotations

import json
import math
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


def _not_a_number(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999 reads as infinity
        raise ValueError(f"{text} is out of range")
    return value


def loads(raw: bytes | str) -> Any:
    """JSON as RFC 8259 has it: Python's reader also takes NaN and Infinity, which no
    field of ours can hold (int(nan) raises deep inside a handler)."""
    try:
        return json.loads(raw, parse_constant=_not_a_number, parse_float=_finite)
    except RecursionError:  # a nesting bomb ([[[[...]]]]) is bad input, not a fault
        raise ValueError("nested too deeply") from None


def parse_object(raw: bytes | str) -> dict[str, Any]:
    try:
        data = loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ApiError("invalid_json", "The body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise ApiError("invalid_body", "The body must be a JSON object.")
    return data


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
