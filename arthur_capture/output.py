"""Arthur inference objects as JSON: one serialiser for the CLI, files and tests."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from arthur_capture.records import InferenceRecord

__all__ = ["arthur_json", "dumps_json"]

_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


def _default(value: Any) -> Any:
    """Serialise what orjson does not know natively (big ints, decimals, sets)."""
    if isinstance(value, int):
        return float(value)
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
    """Turn integers beyond 64 bits into floats (the value orjson reads them as)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and not -(2**63) <= value <= 2**64 - 1:
        return float(value)
    if isinstance(value, dict):
        return {k: _widen(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_widen(v) for v in value]
    return value


def arthur_json(record: InferenceRecord) -> bytes:
    """One record as an Arthur inference JSON object (no trailing newline)."""
    return dumps_json(
        {
            "partner_inference_id": record.partner_inference_id,
            "inference_timestamp": record.inference_timestamp,
            "inference_data": {**record.inputs, **record.outputs},
        }
    )
