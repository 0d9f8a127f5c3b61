"""Typed JSON: build dataclasses from parsed JSON, checked against their own field types.

One generic walk over ``dataclasses.fields`` and ``typing.get_type_hints`` instead of a second,
hand-written schema: a field added to a record dataclass is validated the moment it exists.
Writing is strict JSON (RFC 8259): a non-finite float is written as ``null``; reading takes
``null`` back as NaN where the field is a plain ``float``, and still accepts the bare ``NaN``
and ``Infinity`` that older records contain.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from typing import Any, Literal, Union


class ShapeError(ValueError):
    """Parsed JSON that does not have the shape of the dataclass asked for."""

    def __init__(self, where: str, expected: str, value: Any):
        shown = repr(value)
        shown = shown if len(shown) <= 40 else shown[:37] + "..."
        super().__init__(f"{where}: expected {expected}, got {shown}")


def build(cls: type, data: Any, where: str = "") -> Any:
    """An instance of dataclass ``cls`` from ``data``; ShapeError names the first bad value.

    Unknown keys are an error unless the class sets ``IGNORES_UNKNOWN_FIELDS`` (for fields
    that older versions wrote and that have since gone).
    """
    return _convert(cls, data, where or cls.__name__)


def to_json_data(value: Any) -> Any:
    """``value`` (dataclasses, dicts, lists, numbers) as strict-JSON-ready data: every
    non-finite float becomes None."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_json_data(dataclasses.asdict(value))
    if isinstance(value, dict):
        return {key: to_json_data(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json_data(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _convert(kind: Any, value: Any, where: str) -> Any:
    if dataclasses.is_dataclass(kind):
        return _dataclass(kind, value, where)
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if kind is Any:
        return value
    if origin in (Union, types.UnionType):
        return _union(args, value, where)
    if origin is Literal:
        if value not in args or isinstance(value, bool):
            raise ShapeError(where, "one of " + ", ".join(map(repr, args)), value)
        return value
    if origin is list or kind is list:
        if not isinstance(value, list):
            raise ShapeError(where, "a list", value)
        item = args[0] if args else Any
        return [_convert(item, v, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict or kind is dict:
        if not isinstance(value, dict):
            raise ShapeError(where, "an object", value)
        item = args[1] if args else Any
        return {k: _convert(item, v, f"{where}.{k}") for k, v in value.items()}
    return _scalar(kind, value, where)


def _dataclass(cls: type, value: Any, where: str) -> Any:
    if not isinstance(value, dict):
        raise ShapeError(where, f"an object ({cls.__name__})", value)
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(value) - set(known))
    if unknown and not getattr(cls, "IGNORES_UNKNOWN_FIELDS", False):
        raise ShapeError(f"{where}.{unknown[0]}", "no such field", value[unknown[0]])
    missing = [name for name, f in known.items() if name not in value
               and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    if missing:
        raise ShapeError(f"{where}.{missing[0]}", "a value (the field is required)", None)
    return cls(**{name: _convert(hints[name], value[name], f"{where}.{name}")
                  for name in known if name in value})


def _union(args: tuple, value: Any, where: str) -> Any:
    if value is None:
        if type(None) in args:
            return None
        raise ShapeError(where, " or ".join(_name(a) for a in args), value)
    options = [a for a in args if a is not type(None)]
    if len(options) == 1:  # X | None: the error of X names the innermost bad value
        return _convert(options[0], value, where)
    for option in options:
        try:
            return _convert(option, value, where)
        except ShapeError:
            continue
    raise ShapeError(where, " or ".join(_name(a) for a in args), value)


def _scalar(kind: Any, value: Any, where: str) -> Any:
    if kind is float:
        if value is None:
            return math.nan  # how a non-finite float is written
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif kind in (bool, str):
        if isinstance(value, kind):
            return value
    else:
        raise TypeError(f"{where}: typed_json cannot check the type {kind!r}")
    raise ShapeError(where, _NAMES[kind], value)


_NAMES = {type(None): "null", float: "a number", int: "an integer", bool: "a boolean",
          str: "a string"}


def _name(kind: Any) -> str:
    return _NAMES.get(kind, getattr(kind, "__name__", str(kind)))
