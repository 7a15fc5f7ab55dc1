"""JSON out, one way for the whole library: orjson, with NaN and ±Infinity as ``null``."""

from __future__ import annotations

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
    """Serialise with orjson: NaN and ±Infinity become ``null``; datetimes keep their offset."""
    try:
        return orjson.dumps(value, default=_default, option=_OPTIONS)
    except orjson.JSONEncodeError as exc:
        if "64-bit" not in str(exc):
            raise
        return orjson.dumps(_widen(value), default=_default, option=_OPTIONS)


def _widen(value: Any) -> Any:
    """Turn integers beyond 64 bits into floats (the value orjson reads them as).

    An integer beyond the float range is ±Infinity as a float, so it is written ``null``.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and not -(2**63) <= value <= 2**64 - 1:
        try:
            return float(value)
        except OverflowError:
            return math.inf if value > 0 else -math.inf
    if isinstance(value, dict):
        return {k: _widen(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_widen(v) for v in value]
    return value
