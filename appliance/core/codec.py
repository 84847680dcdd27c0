"""State and messages to plain JSON data and back, driven by the dataclasses' type hints.

Used by the store (snapshots, journal) and by the adapters that need the seed's names on
the wire. `from_data(cls, to_data(x)) == x` for every model and message type.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from functools import cache
from typing import Any

from appliance.core import messages as m
from appliance.core.model import frozen_map


@cache
def _fields(cls: type) -> tuple[tuple[str, Any], ...]:
    hints = typing.get_type_hints(cls)
    return tuple((f.name, hints[f.name]) for f in dataclasses.fields(cls))


def to_data(value: Any) -> Any:
    """Plain JSON-able data: dataclasses -> dicts, tuples -> lists, mappings -> dicts."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {name: to_data(getattr(value, name)) for name, _ in _fields(type(value))}
    if isinstance(value, tuple | list):
        return [to_data(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): to_data(v) for k, v in value.items()}
    return value


def from_data(tp: Any, data: Any) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (types.UnionType, typing.Union):
        if data is None:
            return None
        inner = [a for a in args if a is not type(None)]
        return from_data(inner[0], data) if len(inner) == 1 else data
    if dataclasses.is_dataclass(tp):
        if not isinstance(data, Mapping):
            raise ValueError(f"{tp.__name__}: expected an object")
        kwargs = {name: from_data(ftp, data[name]) for name, ftp in _fields(tp) if name in data}
        return tp(**kwargs)
    if origin is tuple:
        if args and len(args) == 2 and args[1] is Ellipsis:
            return tuple(from_data(args[0], v) for v in data)
        return tuple(data)
    if origin in (Mapping, dict, typing.Mapping) or tp in (Mapping, dict):
        vt = args[1] if len(args) == 2 else Any
        return frozen_map({k: from_data(vt, v) for k, v in data.items()})
    if tp is float and isinstance(data, int):
        return float(data)
    return data


# --- messages --------------------------------------------------------------------------

MESSAGE_TYPES: dict[str, type[m.Message]] = {
    cls.__name__: cls
    for cls in vars(m).values()
    if isinstance(cls, type) and issubclass(cls, m.Message) and cls is not m.Message
}


def message_to_data(msg: m.Message) -> dict[str, Any]:
    data = to_data(msg)
    data["type"] = type(msg).__name__
    return data


def message_from_data(data: Mapping[str, Any]) -> m.Message:
    cls = MESSAGE_TYPES.get(str(data.get("type")))
    if cls is None:
        raise ValueError(f"unknown message type {data.get('type')!r}")
    return from_data(cls, {k: v for k, v in data.items() if k != "type"})
