"""Parquet files for Arthur's ``POST /inferences/file`` (extra: ``arthur-capture[parquet]``).

Arthur's file endpoint takes flat Parquet: one column per attribute, plus
``partner_inference_id``, ``inference_timestamp`` and, for batch models, ``batch_id``.
Files are chunked at a row count (Arthur's SDK uses at most 500,000 rows a file and
5,000-row groups); memory holds one chunk at a time.
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from arthur_capture.arthur.contract import SEND_STAGES, ValueType
from arthur_capture.dependencies import require
from arthur_capture.errors import ParquetError
from arthur_capture.storage._atomic import Staging

if TYPE_CHECKING:
    from collections.abc import Iterable

    import pyarrow as pa

    from arthur_capture.arthur.schema import ModelSchema
    from arthur_capture.records import InferenceRecord

__all__ = [
    "DEFAULT_CHUNK_ROWS",
    "DEFAULT_ROW_GROUP_SIZE",
    "chunk_path",
    "chunk_pattern",
    "stage_parquet",
    "write_parquet",
]

DEFAULT_CHUNK_ROWS: Final = 500_000
"""Rows per file, as Arthur's SDK chunks."""
DEFAULT_ROW_GROUP_SIZE: Final = 5_000
"""Rows per row group, as Arthur's SDK writes."""


def _arrow_type(pa: Any, value_type: ValueType) -> pa.DataType | None:
    return {
        ValueType.INTEGER: pa.int64(),
        ValueType.FLOAT: pa.float64(),
        ValueType.STRING: pa.string(),
        ValueType.UNSTRUCTURED_TEXT: pa.string(),
        ValueType.BOOLEAN: pa.bool_(),
        ValueType.TIMESTAMP: pa.timestamp("us", tz="UTC"),
        ValueType.ARRAY_STRING: pa.list_(pa.string()),
    }.get(value_type)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, list):
        return [_finite(v) for v in value]
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    return value


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


class _Chunk:
    """Column-wise buffer of at most ``limit`` records.

    With ``timestamps_as_text``, ``TIMESTAMP`` attributes are written as ISO 8601 text, so
    that ``inference_timestamp`` is the only timestamp column (the Arthur Engine takes the
    only timestamp column as the dataset's primary one).
    """

    def __init__(
        self, schema: ModelSchema | None, batch_id: str | None, *, timestamps_as_text: bool = False
    ) -> None:
        self.ids: list[str] = []
        self.times: list[Any] = []
        self.columns: dict[str, list[Any]] = {}
        self.batch_id = batch_id
        self.types: dict[str, Any] = {}
        self.timestamps_as_text = timestamps_as_text
        if schema is not None:
            for stage in SEND_STAGES:
                for attr in schema.stage(stage):
                    self.types[attr.name] = attr.value_type
                    if not attr.implicit:  # Arthur derives implicit ones; a column only if sent
                        self.columns[attr.name] = []

    def __len__(self) -> int:
        return len(self.ids)

    def add(self, record: InferenceRecord) -> None:
        row = len(self.ids)
        self.ids.append(record.partner_inference_id)
        self.times.append(record.inference_timestamp)
        data = {**record.inputs, **record.outputs}
        for name, column in self.columns.items():
            column.append(_finite(data.pop(name, None)))
        for name, value in data.items():
            # a name first seen in this record: earlier rows are null
            self.columns[name] = [None] * row + [_finite(value)]

    def table(self, pa: Any) -> pa.Table:
        arrays = {
            "partner_inference_id": pa.array(self.ids, pa.string()),
            "inference_timestamp": pa.array(self.times, pa.timestamp("us", tz="UTC")),
        }
        if self.batch_id is not None:
            arrays["batch_id"] = pa.array([self.batch_id] * len(self.ids), pa.string())
        for name, values in self.columns.items():
            if name in arrays:
                msg = f"attribute {name!r} clashes with an Arthur column of the same name"
                raise ParquetError(msg)
            value_type = self.types.get(name)
            if value_type is ValueType.TIMESTAMP and self.timestamps_as_text:
                value_type = ValueType.STRING
                values = [_iso(v) for v in values]  # noqa: PLW2901 - the column, as text
            arrow_type = _arrow_type(pa, value_type) if value_type is not None else None
            try:
                arrays[name] = pa.array(values, arrow_type)
            except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as exc:
                if isinstance(exc, OverflowError) or "too large" in str(exc):
                    problem = "it holds an integer beyond 64 bits, which Parquet cannot hold"
                else:
                    problem = "its values mix types"
                msg = (
                    f"column {name!r} cannot be written as Parquet ({exc}); {problem}:"
                    " pass a model schema (--schema) so values are coerced to one type"
                )
                raise ParquetError(msg) from exc
        return pa.table(arrays)


def chunk_path(target: str | Path, index: int) -> Path:
    """The name of the ``index``-th file when records are chunked: ``<stem>-00000<suffix>``."""
    path = Path(target)
    return path.with_name(f"{path.stem}-{index:05d}{path.suffix or '.parquet'}")


def chunk_pattern(target: str | Path) -> re.Pattern[str]:
    """What the names of ``target``'s chunk files match (in ``target``'s directory)."""
    path = Path(target)
    return re.compile(rf"{re.escape(path.stem)}-\d{{5,}}{re.escape(path.suffix or '.parquet')}")


def write_parquet(
    records: Iterable[InferenceRecord],
    path: str | Path,
    *,
    schema: ModelSchema | None = None,
    batch_id: str | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    row_group_size: int = DEFAULT_ROW_GROUP_SIZE,
) -> list[Path]:
    """Write records as flat Parquet files ready for Arthur's ``/inferences/file``.

    One file holds at most ``chunk_rows`` rows. When everything fits in one file it is
    written to ``path``; otherwise to ``<stem>-00000<suffix>``, ``<stem>-00001<suffix>``, ….
    With a ``schema``, columns are the model's input, non-input and predicted attributes
    (an ``implicit`` one only when a record carries it), typed by their value types;
    without one, columns follow the records and pyarrow infers types. NaN and ±Infinity
    become null.

    Every file is written under a temporary name beside it (``.<name>.<random>.tmp``) and
    renamed into place only once all of them are complete: when anything fails (a column
    that cannot be typed, a full disk, an interrupt), the temporary files are removed and
    nothing at ``path`` or at the chunk names is replaced or deleted.

    Returns:
        The files written, in order (none when there were no records).

    Raises:
        ParquetError: A column cannot be given one Arrow type.
        OSError: A file cannot be written.
        ValueError: ``chunk_rows`` or ``row_group_size`` is not positive.
    """
    with Staging() as staging:
        written = stage_parquet(
            records,
            path,
            staging,
            schema=schema,
            batch_id=batch_id,
            chunk_rows=chunk_rows,
            row_group_size=row_group_size,
        )
        staging.commit()
    return written


def stage_parquet(
    records: Iterable[InferenceRecord],
    path: str | Path,
    staging: Staging,
    *,
    schema: ModelSchema | None = None,
    batch_id: str | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    row_group_size: int = DEFAULT_ROW_GROUP_SIZE,
) -> list[Path]:
    """:func:`write_parquet` into temporary files that ``staging.commit()`` puts in place.

    For writers of several outputs that appear together (the command line's ``convert``
    also writes dead letters and a summary). Until the commit, nothing at the returned
    paths exists or changes.

    Returns:
        The files that the commit will put in place, in order.
    """
    if chunk_rows < 1 or row_group_size < 1:
        raise ValueError("chunk_rows and row_group_size must be positive")
    pa = require("pyarrow", "Parquet output")
    pq = require("pyarrow.parquet", "Parquet output")
    target = Path(path)
    written: list[Path] = []

    def flush(chunk: _Chunk, destination: Path) -> None:
        table = chunk.table(pa)
        file = staging.add(destination)
        # pyarrow gets an open file, never a path: on a failure it removes the path it was given
        pq.write_table(table, file.open(), row_group_size=row_group_size)
        file.finish()
        written.append(destination)

    chunk = _Chunk(schema, batch_id)
    for record in records:
        if len(chunk) == chunk_rows:
            flush(chunk, chunk_path(target, len(written)))
            chunk = _Chunk(schema, batch_id)
        chunk.add(record)
    if written:
        flush(chunk, chunk_path(target, len(written)))
    elif len(chunk):
        flush(chunk, target)
    return written
