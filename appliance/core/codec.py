"""State and messages to plain JSON data and back, driven by the dataclasses' type hints.

Used by the store (snapshots, journal) and by the adapters that need the seed's names on
the wire. `from_data(cls, to_data(x)) == x` for every model and message type.

`to_json` and `from_json` do the same between values and JSON bytes in C (msgspec): a
venue with 100,000 log entries is written about seven times and read about four times
faster than through `to_data`/`from_data` and the json module.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from functools import cache, partial
from itertools import repeat
from operator import attrgetter
from types import MappingProxyType
from typing import Any, cast

import msgspec

from appliance.core import messages as m


@cache
def _fields(cls: type) -> tuple[tuple[str, Any], ...]:
    hints = typing.get_type_hints(cls)
    return tuple((f.name, hints[f.name]) for f in dataclasses.fields(cls))


# Both directions are compiled once per type into small closures: a venue's state holds
# 100,000 log entries, and walking type hints per value made a snapshot or a backup cost
# seconds on the writer thread.
_PLAIN = frozenset({str, int, float, bool, type(None)})


def to_data(value: Any) -> Any:
    """Plain JSON-able data: dataclasses -> dicts, tuples -> lists, mappings -> dicts."""
    tp: type = type(value)
    if tp in _PLAIN:
        return value
    return _encoder(tp)(value)


def to_dict(value: object) -> dict[str, Any]:
    """`to_data` of a dataclass or a mapping: always a dict."""
    return cast(dict[str, Any], to_data(value))


@cache
def _encoder(tp: type) -> Callable[[Any], Any]:
    if dataclasses.is_dataclass(tp):
        names = tuple(f.name for f in dataclasses.fields(tp))
        return lambda v: {name: to_data(getattr(v, name)) for name in names}
    if issubclass(tp, tuple | list):
        return lambda v: [to_data(x) for x in v]
    if issubclass(tp, Mapping):
        return lambda v: {str(k): to_data(x) for k, x in v.items()}
    return _same


def _same(value: Any) -> Any:
    return value


def from_data(tp: Any, data: Any) -> Any:
    return _decoder(tp)(data)


class _DataclassDecoder:
    """Resolves its fields on first use, so a type that refers to itself still compiles."""

    def __init__(self, tp: type) -> None:
        self.tp = tp
        self.fields: tuple[tuple[str, Callable[[Any], Any]], ...] | None = None

    def __call__(self, data: Any) -> Any:
        if not isinstance(data, Mapping):
            raise ValueError(f"{self.tp.__name__}: expected an object")
        if self.fields is None:
            self.fields = tuple((name, _decoder(ftp)) for name, ftp in _fields(self.tp))
        return self.tp(**{name: dec(data[name]) for name, dec in self.fields if name in data})


@cache
def _decoder(tp: Any) -> Callable[[Any], Any]:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (types.UnionType, typing.Union):
        inner = [a for a in args if a is not type(None)]
        if len(inner) != 1:
            return _same
        dec = _decoder(inner[0])
        return lambda d: None if d is None else dec(d)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _DataclassDecoder(tp)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            item = _decoder(args[0])
            return lambda d: tuple([item(v) for v in d])
        return tuple
    if origin in (Mapping, dict, typing.Mapping) or tp in (Mapping, dict):
        value = _decoder(args[1] if len(args) == 2 else Any)
        if value is _same:
            return lambda d: MappingProxyType(dict(d))
        return lambda d: MappingProxyType({k: value(v) for k, v in d.items()})
    if tp is float:
        return lambda d: float(d) if isinstance(d, int) else d
    return _same


# --- JSON bytes, through msgspec ----------------------------------------------------------


def _mapping_as_dict(value: Any) -> Any:
    if isinstance(value, Mapping):  # the model's read-only mappings
        return dict(value)
    # msgspec hands every type it cannot encode to this hook; the error is the caller's
    raise TypeError(f"cannot encode {type(value).__name__}")


_ENCODER = msgspec.json.Encoder(enc_hook=_mapping_as_dict)


def to_json(value: Any) -> bytes:
    """The JSON of `to_data(value)`. Unlike the json module, NaN and infinities are written
    as null (no field of ours may hold one: the web and MQTT edges refuse them)."""
    return _ENCODER.encode(value)


def parse_json(raw: bytes | str) -> Any:
    """Plain data from JSON; what msgspec refuses (the NaN and Infinity tokens the json
    module writes and reads) is read by the json module."""
    try:
        return msgspec.json.decode(raw)
    except msgspec.DecodeError:
        return json.loads(raw)


def from_json(tp: Any, raw: bytes | str) -> Any:
    """`from_data(tp, parse_json(raw))`, typed in C. msgspec checks types strictly; data it
    refuses (an int where a str belongs, which `from_data` lets through) is read the lax way."""
    try:
        value = _typed_decoder(tp).decode(raw)
    except msgspec.DecodeError:
        return from_data(tp, parse_json(raw))
    freeze = _freezer(tp)
    return value if freeze is None else freeze(value)


@cache
def _typed_decoder(tp: Any) -> msgspec.json.Decoder[Any]:
    return msgspec.json.Decoder(tp)


@cache
def _freezer(tp: Any) -> Callable[[Any], Any] | None:
    """What turns the dicts msgspec builds for `Mapping` fields into the read-only mappings
    `from_data` gives; None when a `tp` holds no mapping (a queue item: nothing to walk)."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (types.UnionType, typing.Union):
        inner = [a for a in args if a is not type(None)]
        some = _freezer(inner[0]) if len(inner) == 1 else None
        return None if some is None else (lambda v: None if v is None else some(v))
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        fixes = tuple((name, f) for name, ftp in _fields(tp) if (f := _freezer(ftp)) is not None)
        return None if not fixes else partial(_freeze_fields, fixes)
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        item = _freezer(args[0])
        if isinstance(item, partial) and item.func is _freeze_fields:
            return partial(_freeze_each, item.args[0])
        return None if item is None else partial(_freeze_items, item)
    if origin in (Mapping, dict, typing.Mapping) or tp in (Mapping, dict):
        value = _freezer(args[1]) if len(args) == 2 else None
        if value is None:
            return MappingProxyType
        if isinstance(value, partial) and value.func is _freeze_fields:
            return partial(_freeze_values, value.args[0])
        return lambda d: MappingProxyType({k: value(v) for k, v in d.items()})
    return None


_Fixes = tuple[tuple[str, Callable[[Any], Any]], ...]


def _freeze_fields(fixes: _Fixes, obj: Any) -> Any:
    for name, fix in fixes:  # on a value just decoded, not yet shared: safe to set
        object.__setattr__(obj, name, fix(getattr(obj, name)))
    return obj


def _freeze_each(fixes: _Fixes, objs: Sequence[Any]) -> Sequence[Any]:
    """`_freeze_fields` on many dataclasses, a field at a time: for 100,000 log entries
    these C-level maps take a third of the time of a Python call per entry."""
    for name, fix in fixes:
        fixed = map(fix, map(attrgetter(name), objs))
        deque(map(object.__setattr__, objs, repeat(name), fixed), maxlen=0)
    return objs


def _freeze_values(fixes: _Fixes, d: dict[str, Any]) -> Mapping[str, Any]:
    _freeze_each(fixes, list(d.values()))
    return MappingProxyType(d)


def _freeze_items(fix: Callable[[Any], Any], items: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(map(fix, items))


# --- messages --------------------------------------------------------------------------

MESSAGE_TYPES: dict[str, type[m.Message]] = {
    cls.__name__: cls
    for cls in vars(m).values()
    if isinstance(cls, type) and issubclass(cls, m.Message) and cls is not m.Message
}


def message_to_data(msg: m.Message) -> dict[str, Any]:
    data = to_dict(msg)
    data["type"] = type(msg).__name__
    return data


def message_to_json(msg: m.Message) -> bytes:
    """The JSON of `message_to_data(msg)`, the type last, encoded in C (a journal line is
    built on the runtime's writer thread, before the command is answered)."""
    body = to_json(msg)
    head = b"{" if body == b"{}" else body[:-1] + b","
    return head + b'"type":' + to_json(type(msg).__name__) + b"}"


def message_from_data(data: Mapping[str, Any]) -> m.Message:
    cls = MESSAGE_TYPES.get(str(data.get("type")))
    if cls is None:
        raise ValueError(f"unknown message type {data.get('type')!r}")
    msg: m.Message = from_data(cls, {k: v for k, v in data.items() if k != "type"})
    return msg
