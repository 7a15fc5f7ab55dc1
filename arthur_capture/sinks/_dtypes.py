"""The dtype rules of the frames: one place that turns a column of values into a typed Series.

Imported only once a frame is built (it imports pandas). The rules, also in
:func:`arthur_capture.sinks.dataframe.to_dataframe`'s docstring:

- with a schema, an attribute's column takes the dtype of its value type, whatever its
  values (so an empty frame is typed like a full one);
- without one, a column is typed by its non-null values: all ``int`` (64-bit) → ``int64``,
  or ``Int64`` when some are missing; all ``float``, or ``int`` and ``float`` → ``float64``;
  all ``bool`` → ``bool``, or ``boolean`` when some are missing; all ``str`` → ``string``;
  all ``datetime`` → ``datetime64[ns, UTC]``; anything else (lists, maps, mixed kinds, no
  value at all) → ``object``.

Strings use pandas' string dtype with Python storage (:data:`STRING`) whether or not
pyarrow is installed, so a frame has the same dtypes with the ``pandas`` extra alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final, NamedTuple

import numpy as np
import pandas as pd

from arthur_capture.arthur.contract import SEND_STAGES, ValueType

if TYPE_CHECKING:
    from arthur_capture.arthur.schema import ModelSchema

__all__ = [
    "STRING",
    "TIMESTAMP",
    "Part",
    "combine",
    "compact",
    "objects",
    "schema_types",
    "typed",
    "typed_strings",
    "typed_times",
]

STRING: Final = pd.StringDtype("python")
"""The dtype of text columns (missing text is ``pd.NA``)."""
TIMESTAMP: Final = "datetime64[ns, UTC]"
"""The dtype of time columns."""

_BY_VALUE_TYPE: Final[dict[ValueType, Any]] = {
    ValueType.INTEGER: "Int64",
    ValueType.FLOAT: "float64",
    ValueType.BOOLEAN: "boolean",
    ValueType.STRING: STRING,
    ValueType.UNSTRUCTURED_TEXT: STRING,
    ValueType.TIMESTAMP: TIMESTAMP,
}
"""Schema value types with a dtype of their own; every other value type is ``object``."""


def schema_types(schema: ModelSchema) -> dict[str, ValueType]:
    """The value columns a schema gives a frame, in order, with their value types.

    The attributes sent with an inference (not implicit ones, which Arthur derives): the
    ``PIPELINE_INPUT`` attributes by position, the ``NON_INPUT_DATA`` ones, then the
    ``PREDICTED_VALUE`` ones by position.
    """
    return {
        attribute.name: attribute.value_type
        for stage in SEND_STAGES
        for attribute in schema.stage(stage)
        if not attribute.implicit
    }


def typed_strings(values: Any) -> pd.Series:
    """Text (``None`` where missing) as a string column."""
    return pd.Series(pd.array(values, dtype=STRING), copy=False)


def typed_times(values: Any) -> pd.Series:
    """Datetimes (``None`` where missing) as a UTC time column in nanoseconds."""
    times = pd.to_datetime(pd.Series(values, dtype=object), utc=True)
    return times.astype(TIMESTAMP)


def typed(values: np.ndarray[Any, Any], value_type: ValueType | None = None) -> pd.Series:
    """An object array of values (``None`` where missing) as a typed column.

    With a ``value_type``, by the schema; a value that does not fit it (records not mapped
    by that schema) leaves the column typed by its values.
    """
    if value_type is not None:
        dtype = _BY_VALUE_TYPE.get(value_type, object)
        if dtype is object:
            return pd.Series(values, dtype=object)
        by_schema = _by_schema(values, dtype)
        if by_schema is not None:
            return by_schema
    missing = values == None  # noqa: E711 - elementwise, and only None (NaN is a value)
    gaps = bool(missing.any())
    present = values[~missing] if gaps else values
    kind = pd.api.types.infer_dtype(present, skipna=False) if len(present) else "empty"
    try:
        if kind == "integer":
            if gaps:
                return pd.Series(pd.array(values, dtype="Int64"), copy=False)
            return pd.Series(np.array(values, dtype=np.int64), copy=False)
        if kind in ("floating", "mixed-integer-float", "integer-na"):  # NaN is a float
            return pd.Series(_floats(values, missing, gaps), copy=False)
        if kind == "boolean":
            if gaps:
                return pd.Series(pd.array(values, dtype="boolean"), copy=False)
            return pd.Series(np.array(values, dtype=bool), copy=False)
        if kind == "string":
            return typed_strings(values)
        if kind == "datetime":
            return typed_times(values)
    except (TypeError, ValueError, OverflowError):
        pass  # integers past 64 bits, a datetime pandas cannot hold: kept as they are
    return pd.Series(values, dtype=object)


def _floats(values: Any, missing: Any, gaps: bool) -> Any:
    if not gaps:
        return np.array(values, dtype=np.float64)
    filled = values.copy()
    filled[missing] = np.nan
    return np.array(filled, dtype=np.float64)


def _by_schema(values: Any, dtype: Any) -> pd.Series | None:
    """The column in a schema's dtype, or ``None`` when a value does not fit it."""
    try:
        if dtype == TIMESTAMP:  # datetimes only: text or numbers are not guessed at
            return typed_times(values) if _kind(values) in ("datetime", "empty") else None
        if dtype == "float64":
            if not _numeric(values):
                return None
            missing = values == None  # noqa: E711
            return pd.Series(_floats(values, missing, bool(missing.any())), copy=False)
        return pd.Series(pd.array(values, dtype=dtype), copy=False)
    except (TypeError, ValueError, OverflowError):
        return None


def _kind(values: Any) -> str:
    kind: str = pd.api.types.infer_dtype(values, skipna=True)
    return kind


def _numeric(values: Any) -> bool:
    return _kind(values) in ("floating", "integer", "mixed-integer-float", "empty")


class Part(NamedTuple):
    """One column's values over one chunk of rows, kept compact once typed.

    ``kind`` is ``integer`` (64-bit), ``floating`` or ``boolean`` (``data`` is then a
    numpy array of that type, ``missing`` the mask of the ``None`` values or ``None``), or
    ``object`` / ``empty`` (``data`` is the object array itself).
    """

    kind: str
    data: np.ndarray[Any, Any]
    missing: np.ndarray[Any, Any] | None


_COMPACT: Final[dict[str, Any]] = {
    "integer": np.int64,
    "floating": np.float64,
    "boolean": np.bool_,
}


def compact(values: np.ndarray[Any, Any]) -> Part:
    """An object array of values (``None`` where missing) as a :class:`Part`.

    Only columns of one kind are made compact (every value an ``int`` in 64 bits, a
    ``float``, a ``bool``), so :func:`objects` gives back exactly the values given.
    """
    missing = values == None  # noqa: E711
    gaps = bool(missing.any())
    present = values[~missing] if gaps else values
    if not len(present):
        return Part("empty", values, None)
    kind = pd.api.types.infer_dtype(present, skipna=False)
    target = _COMPACT.get(kind)
    if target is None:
        return Part("object", values, None)
    try:
        if gaps:
            filled = values.copy()
            filled[missing] = 0
            return Part(kind, np.array(filled, dtype=target), missing)
        return Part(kind, np.array(values, dtype=target), None)
    except (OverflowError, TypeError, ValueError):
        return Part("object", values, None)


def objects(part: Part) -> np.ndarray[Any, Any]:
    """The part's values as objects again (Python ints, floats, bools; ``None`` where missing)."""
    if part.kind in ("object", "empty"):
        return part.data
    values = part.data.astype(object)
    if part.missing is not None:
        values[part.missing] = None
    return values


def _mask(part: Part) -> np.ndarray[Any, Any]:
    if part.kind == "empty":
        return np.ones(len(part.data), dtype=bool)
    if part.missing is None:
        return np.zeros(len(part.data), dtype=bool)
    return part.missing


def _numbers(part: Part, dtype: Any) -> np.ndarray[Any, Any]:
    if part.kind == "empty":
        return np.zeros(len(part.data), dtype=dtype)
    return part.data.astype(dtype, copy=False)


def combine(parts: list[Part], value_type: ValueType | None = None) -> pd.Series:
    """The typed column of a column's parts, chunk after chunk.

    What :func:`typed` gives for all their values at once, without making the values
    objects again when they are numbers or booleans of one kind.
    """
    kinds = {part.kind for part in parts if len(part.data)} - {"empty"}
    gaps = any(
        len(part.data) and (part.kind == "empty" or part.missing is not None) for part in parts
    )
    if kinds == {"integer"} and value_type in (None, ValueType.INTEGER):
        values = np.concatenate([_numbers(p, np.int64) for p in parts])
        if value_type is None and not gaps:
            return pd.Series(values, copy=False)
        mask = np.concatenate([_mask(p) for p in parts])
        return pd.Series(pd.arrays.IntegerArray(values, mask), copy=False)
    if (
        kinds
        and kinds <= {"integer", "floating"}
        and ((value_type is None and "floating" in kinds) or value_type is ValueType.FLOAT)
    ):
        values = np.concatenate([_numbers(p, np.float64) for p in parts])
        if gaps:
            values[np.concatenate([_mask(p) for p in parts])] = np.nan
        return pd.Series(values, copy=False)
    if kinds == {"boolean"} and value_type in (None, ValueType.BOOLEAN):
        values = np.concatenate([_numbers(p, np.bool_) for p in parts])
        if value_type is None and not gaps:
            return pd.Series(values, copy=False)
        mask = np.concatenate([_mask(p) for p in parts])
        return pd.Series(pd.arrays.BooleanArray(values, mask), copy=False)
    every = np.concatenate([objects(p) for p in parts]) if parts else np.empty(0, dtype=object)
    return typed(every, value_type)
