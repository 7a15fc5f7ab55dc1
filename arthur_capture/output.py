"""Arthur inference objects as JSON: one serialiser for the CLI, files, uploads and tests.

The ``NewInference`` shape Arthur's ``POST /inferences`` takes, and that its
``/inferences/file`` endpoint takes as JSON::

    {"partner_inference_id": "...", "inference_timestamp": "2024-01-19T19:27:57+00:00",
     "inference_data": {...}, "batch_id": "..."}   # batch_id for batch models only
"""

from __future__ import annotations

import math
from typing import IO, TYPE_CHECKING, Any, Literal, Self

import orjson

from arthur_capture.records import named_values, partner_inference_id

if TYPE_CHECKING:
    from arthur_capture.records import Expansion, InferenceRecord

__all__ = ["InferenceWriter", "arthur_json", "dumps_json", "expansion_json", "new_inference"]

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


def new_inference(record: InferenceRecord, *, batch_id: str | None = None) -> dict[str, Any]:
    """One record as Arthur's ``NewInference`` object (``batch_id`` only when given)."""
    body: dict[str, Any] = {
        "partner_inference_id": record.partner_inference_id,
        "inference_timestamp": record.inference_timestamp,
        "inference_data": {**record.inputs, **record.outputs},
    }
    if batch_id is not None:
        body["batch_id"] = batch_id
    return body


def arthur_json(record: InferenceRecord, *, batch_id: str | None = None) -> bytes:
    """One record as ``NewInference`` JSON (no trailing newline); NaN/±Infinity → null."""
    return dumps_json(new_inference(record, batch_id=batch_id))


def expansion_json(expansion: Expansion, *, batch_id: str | None = None) -> list[bytes]:
    """The ``NewInference`` JSON of every inference of a paired call, without records.

    Byte for byte what :func:`arthur_json` gives for each of
    :func:`~arthur_capture.records.records_of` ``(expansion)``, built without the records:
    the streaming fast path of ``arthur-capture convert``.
    """
    meta = expansion.event.event_metadata
    when = meta.inference_time
    base = expansion.base_id
    count = expansion.count
    inputs = expansion.inputs
    outputs = expansion.outputs
    lines: list[bytes] = []
    for index in range(count):
        data = named_values(inputs[index], "input_") if inputs is not None else {}
        if outputs is not None:
            data = {**data, **named_values(outputs[index], "output_")}
        body: dict[str, Any] = {
            "partner_inference_id": partner_inference_id(base, index, count),
            "inference_timestamp": when,
            "inference_data": data,
        }
        if batch_id is not None:
            body["batch_id"] = batch_id
        lines.append(dumps_json(body))
    return lines


class InferenceWriter:
    """Streams ``NewInference`` objects to a binary file, as JSON lines or as one JSON array.

    Holds one record at a time, so memory stays flat however many records pass.

    Args:
        out: A binary file object (opened ``"wb"``).
        format: ``"jsonl"`` (one object per line) or ``"json"`` (one array, what
            ``POST /inferences`` and the JSON form of ``/inferences/file`` take).
        batch_id: Added to every object, for batch models.
    """

    __slots__ = ("_batch_id", "_format", "_out", "count")

    def __init__(
        self,
        out: IO[bytes],
        *,
        format: Literal["jsonl", "json"] = "jsonl",  # noqa: A002 - the natural name here
        batch_id: str | None = None,
    ) -> None:
        """Start writing to ``out``."""
        if format not in ("jsonl", "json"):
            msg = f"format must be 'jsonl' or 'json', not {format!r}"
            raise ValueError(msg)
        self._out = out
        self._format = format
        self._batch_id = batch_id
        self.count = 0
        """How many records were written."""

    def write(self, record: InferenceRecord) -> None:
        """Write one record."""
        self.write_json(arthur_json(record, batch_id=self._batch_id))

    def write_json(self, data: bytes) -> None:
        """Write one ``NewInference`` object already serialised (see :func:`expansion_json`)."""
        if self._format == "jsonl":
            self._out.write(data + b"\n")
        else:
            self._out.write((b"[" if self.count == 0 else b",\n") + data)
        self.count += 1

    def close(self) -> None:
        """Finish the output (closes the JSON array); does not close the file."""
        if self._format == "json":
            self._out.write(b"]\n" if self.count else b"[]\n")

    def __enter__(self) -> Self:
        """Use as a context manager; :meth:`close` runs on exit."""
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Finish the output."""
        self.close()
