"""JSON out, one way for the whole library: orjson, with NaN and ±Infinity as ``null``.

Integers beyond 64 bits, which orjson cannot write, are written with their exact digits.
"""

from __future__ import annotations

import decimal
import math
from typing import Any

import orjson

__all__ = ["dumps_json"]

_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


def _default(value: Any) -> Any:
    """Serialise what orjson does not know natively (sets, tuples, numpy-like scalars)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    to_python = getattr(value, "item", None)
    if callable(to_python):
        return to_python()
    msg = f"cannot serialise {type(value).__name__} as JSON"
    raise TypeError(msg)


def dumps_json(value: Any) -> bytes:
    """Serialise with orjson: NaN and ±Infinity become ``null``; datetimes keep their offset.

    An integer beyond 64 bits is written with all its digits (orjson refuses it, so such a
    value is written by a second, slower pass).
    """
    try:
        return orjson.dumps(value, default=_default, option=_OPTIONS)
    except orjson.JSONEncodeError as exc:
        if "64-bit" not in str(exc):
            raise
        return orjson.dumps(_exact(value), default=_default, option=_OPTIONS)


def _digits(value: int) -> orjson.Fragment:
    """An integer's exact digits, as JSON orjson writes as they are."""
    try:
        text = str(value)
    except ValueError:  # past sys.get_int_max_str_digits(): decimal has no such limit
        text = str(decimal.Decimal(value))
    return orjson.Fragment(text)


def _exact(value: Any) -> Any:
    """The value with every integer beyond 64 bits as its exact digits (an ``orjson.Fragment``)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if -(2**63) <= value <= 2**64 - 1 else _digits(value)
    if isinstance(value, dict):
        return {k: _exact(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_exact(v) for v in value]
    return value
