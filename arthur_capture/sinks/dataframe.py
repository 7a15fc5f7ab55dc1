"""pandas frames: one row per inference. The only module that imports pandas.

Two ways in, one way out. :func:`to_dataframe` reads sources by the columnar path: it takes
each decoded call from the reader's one stream (:meth:`CaptureReader.iter_calls`, so
exactly the reader's rules) and files the decoded rows by their layout without naming them
or building records. :func:`records_to_dataframe` adds records row by row. Both feed the
same :class:`_Columns` builder, which makes every column in one step from an object array
and types it by the rules of :mod:`arthur_capture.sinks._dtypes` (by the schema's value
types when there is one), so the two paths give equal frames (``tests/test_fast_paths.py``
checks it on every fixture and on generated files).
"""

from __future__ import annotations

import array
import itertools
from typing import TYPE_CHECKING, Any, NamedTuple, Unpack

from arthur_capture.decoders.text_csv import Rows
from arthur_capture.dependencies import require
from arthur_capture.reading import CaptureReader
from arthur_capture.records import InferenceRecord, Reject, partner_inference_id

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from datetime import datetime

    import pandas as pd

    from arthur_capture.arthur.contract import ValueType
    from arthur_capture.arthur.schema import SchemaLike
    from arthur_capture.reading import Ledger, ReaderOptions, Source
    from arthur_capture.records import Call
    from arthur_capture.sinks._dtypes import Part

__all__ = ["CaptureFrame", "records_to_dataframe", "to_dataframe"]

_FIXED = ("partner_inference_id", "inference_timestamp")
_CHUNK_ROWS = 65_536
"""Rows filed before their values are typed into compact columns and the decoded values let go
(peak memory: the values of one chunk as Python objects, not of the whole frame)."""
_PROVENANCE = ("source", "line_number", "event_id", "index")


class _Group:
    """Rows of one layout (the same value names in the same order) on one side.

    ``runs`` hold the values row after row: one list per row, or one flat list for a
    whole compact :class:`~arthur_capture.decoders.text_csv.Rows`.
    """

    __slots__ = ("count", "names", "positions", "runs")

    def __init__(self, names: tuple[str, ...]) -> None:
        self.names = names
        self.runs: list[Any] = []
        self.count = 0
        self.positions = array.array("q")


class _Columns:
    """Accumulates rows, then builds every column at once."""

    def __init__(self, *, provenance: bool, schema: SchemaLike | None = None) -> None:
        self.types: dict[str, ValueType] = {}
        if schema is not None:
            from arthur_capture.arthur.schema import ModelSchema  # noqa: PLC0415
            from arthur_capture.sinks._dtypes import schema_types  # noqa: PLC0415

            self.types = schema_types(ModelSchema.of(schema))
        self.count = 0
        self.ids: list[str] = []
        self.times: list[datetime] = []
        self.repeats: list[int] = []
        self.provenance = provenance
        self.sources: list[str] = []
        self.line_numbers: list[int] = []
        self.event_ids: list[str] = []
        self.indexes: list[int] = []
        self.groups: tuple[dict[Any, _Group], dict[Any, _Group]] = ({}, {})
        self.names: tuple[dict[str, None], dict[str, None]] = ({}, {})
        self.flushed = 0
        """Rows already typed into :attr:`parts`."""
        self.chunks: list[int] = []
        """How many rows each typed chunk holds."""
        self.parts: dict[str, dict[int, Part]] = {}
        """Per column, its typed values by chunk (a chunk where it has no value is absent)."""

    def _group(self, side: int, inference: Any, prefix: str) -> tuple[_Group, Any]:
        if type(inference) is dict:
            key: Any = tuple(inference)
            values: Any = list(inference.values())
        else:
            key = len(inference)
            values = inference
        group = self.groups[side].get(key)
        if group is None:
            names = key if type(key) is tuple else tuple(f"{prefix}{i}" for i in range(key))
            group = self.groups[side][key] = _Group(names)
            self.names[side].update(dict.fromkeys(names))
        return group, values

    def _add_side(self, side: int, inferences: Sequence[Any], prefix: str) -> None:
        start = self.count
        if isinstance(inferences, Rows):  # one run of values, no list per row
            group, _ = self._group(side, inferences[0], prefix)
            group.runs.append(inferences.flat)
            group.count += len(inferences)
            group.positions.extend(range(start, start + len(inferences)))
            return
        if inferences and self._add_regular(side, inferences, prefix, start):
            return
        for offset, inference in enumerate(inferences):
            group, values = self._group(side, inference, prefix)
            group.runs.append(values)
            group.count += 1
            group.positions.append(start + offset)

    def _add_regular(self, side: int, inferences: Sequence[Any], prefix: str, start: int) -> bool:
        """File a side whose inferences all have one shape as one group.

        Rows of one width, or maps with the same keys in the same order: no lookup per
        inference. Anything else is left to the general loop (``False``).
        """
        first = inferences[0]
        if type(first) is list:
            width = len(first)
            if not all(type(row) is list and len(row) == width for row in inferences):
                return False
            runs: Any = inferences
        elif type(first) is dict:
            keys = tuple(first)
            if not all(type(row) is dict and tuple(row) == keys for row in inferences):
                return False
            runs = map(dict.values, inferences)
        else:
            return False
        group, _ = self._group(side, first, prefix)
        group.runs.extend(runs)
        group.count += len(inferences)
        group.positions.extend(range(start, start + len(inferences)))
        return True

    def _add_meta(
        self, count: int, when: datetime, source: str, line_number: int, event_id: str
    ) -> None:
        self.times.append(when)
        self.repeats.append(count)
        if self.provenance:
            self.sources.extend([source] * count)
            self.line_numbers.extend([line_number] * count)
            self.event_ids.extend([event_id] * count)

    def add_call(self, call: Call) -> None:
        """File one decoded call's rows (ids as :func:`partner_inference_id` makes them)."""
        count = call.count
        base = call.base_id
        if count == 1:
            self.ids.append(base)
        else:
            self.ids.extend([partner_inference_id(base, i, count) for i in range(count)])
        meta = call.event.event_metadata
        self._add_meta(count, meta.inference_time, call.source, call.line_number, meta.event_id)
        if self.provenance:
            self.indexes.extend(range(count))
        if call.inputs is not None:
            self._add_side(0, call.inputs, "input_")
        if call.outputs is not None:
            self._add_side(1, call.outputs, "output_")
        self.count += count
        if self.count - self.flushed >= _CHUNK_ROWS:
            self._flush()

    def add_record(self, record: InferenceRecord) -> None:
        """File one record as one row."""
        self.ids.append(record.partner_inference_id)
        self._add_meta(
            1, record.inference_timestamp, record.source, record.line_number, record.event_id
        )
        if self.provenance:
            self.indexes.append(record.index)
        if record.inputs:
            self._add_side(0, [dict(record.inputs)], "input_")
        if record.outputs:
            self._add_side(1, [dict(record.outputs)], "output_")
        self.count += 1
        if self.count - self.flushed >= _CHUNK_ROWS:
            self._flush()

    def _flush(self) -> None:
        """Type the values of the rows filed since the last chunk, and let them go."""
        numpy = require("numpy", "A DataFrame")
        from arthur_capture.sinks._dtypes import compact  # noqa: PLC0415

        rows, base, chunk = self.count - self.flushed, self.flushed, len(self.chunks)
        value_columns: dict[str, Any] = {}
        for side in (0, 1):
            for group in self.groups[side].values():
                positions = numpy.asarray(group.positions, dtype=numpy.intp)
                if base:
                    positions -= base
                count, width = group.count, len(group.names)
                # One C pass: every value of the group, row after row, as objects (a value
                # that is itself a list stays one object), then a column is a strided view.
                table = numpy.fromiter(
                    itertools.chain.from_iterable(group.runs), dtype=object, count=count * width
                ).reshape(count, width)
                group.runs = []  # the rows' lists go now (the values stay in the table)
                for j, name in enumerate(group.names):
                    column = value_columns.get(name)
                    if column is None:
                        column = value_columns[name] = numpy.full(rows, None, dtype=object)
                    column[positions] = table[:, j]
                del table
        self.groups = ({}, {})
        for name in list(value_columns):
            self.parts.setdefault(name, {})[chunk] = compact(value_columns.pop(name))
        self.chunks.append(rows)
        self.flushed = self.count

    def frame(self) -> pd.DataFrame:
        """The frame of every row filed (once: building it lets go of the rows)."""
        numpy = require("numpy", "A DataFrame")
        pandas = require("pandas", "A DataFrame")
        from arthur_capture.sinks._dtypes import (  # noqa: PLC0415
            Part,
            combine,
            typed_strings,
            typed_times,
        )

        count = self.count
        columns: dict[str, Any] = {}
        columns["partner_inference_id"] = typed_strings(numpy.array(self.ids, dtype=object))
        times = typed_times(numpy.array(self.times, dtype=object))
        columns["inference_timestamp"] = times.repeat(self.repeats).reset_index(drop=True)
        self._flush()
        names = dict.fromkeys(self.types) | self.names[0] | self.names[1]
        for name in names:
            if name in _FIXED or (self.provenance and name in _PROVENANCE):
                msg = f"a value is named {name!r}, which is a column of the frame itself"
                raise ValueError(msg)
        for name in names:
            # Column by column, each one's parts let go once it is built.
            by_chunk = self.parts.pop(name, {})
            parts = [
                by_chunk.get(chunk) or Part("empty", numpy.full(rows, None, dtype=object), None)
                for chunk, rows in enumerate(self.chunks)
            ]
            columns[name] = combine(parts, self.types.get(name))
        if self.provenance:
            columns["source"] = typed_strings(numpy.array(self.sources, dtype=object))
            columns["line_number"] = pandas.Series(self.line_numbers, dtype="int64")
            columns["event_id"] = typed_strings(numpy.array(self.event_ids, dtype=object))
            columns["index"] = pandas.Series(self.indexes, dtype="int64")
        frame: pd.DataFrame = pandas.DataFrame(columns, index=pandas.RangeIndex(count))
        return frame


class CaptureFrame(NamedTuple):
    """What :func:`to_dataframe` gives: the frame, the rejects and the ledger.

    Unpack it (``frame, rejects, ledger = to_dataframe(...)``) or use the names.
    """

    frame: pd.DataFrame
    """One row per inference emitted."""
    rejects: list[Reject]
    """Rejected lines and inferences, in input order (they are not rows)."""
    ledger: Ledger
    """The counts that account for every line and inference."""


def to_dataframe(
    *sources: Source,
    schema: SchemaLike | None = None,
    provenance: bool = False,
    **options: Unpack[ReaderOptions],
) -> CaptureFrame:
    """Read sources into a DataFrame with one row per inference.

    Columns: ``partner_inference_id``, ``inference_timestamp``, then the value columns,
    then with ``provenance`` ``source``, ``line_number``, ``event_id`` and ``index``.
    Without a schema the value columns are the input columns and then the output columns
    in first-seen order. With a schema they are its attributes sent with an inference
    (``PIPELINE_INPUT`` by position, ``NON_INPUT_DATA``, ``PREDICTED_VALUE`` by position;
    not implicit ones), each present even when no row has it, then any other value seen.

    Dtypes (strings are ``pd.StringDtype("python")``, whether or not pyarrow is installed;
    missing values are ``pd.NA``, ``NaN`` or ``NaT`` as the dtype has it):

    | Column | Dtype |
    | --- | --- |
    | `partner_inference_id`, `source`, `event_id` | `string` |
    | `inference_timestamp` | `datetime64[ns, UTC]` |
    | `line_number`, `index` | `int64` |
    | schema `INTEGER` attribute | `Int64` (nullable), always |
    | schema `FLOAT` attribute | `float64` (missing: `NaN`) |
    | schema `BOOLEAN` attribute | `boolean` (nullable), always |
    | schema `STRING`, `UNSTRUCTURED_TEXT` attribute | `string` |
    | schema `TIMESTAMP` attribute | `datetime64[ns, UTC]` (any offset, shown in UTC) |
    | schema attribute of another value type | `object` |
    | no schema, every value an `int` | `int64`; `Int64` when a value is missing |
    | no schema, `float` values (or `int` and `float`) | `float64` (missing: `NaN`) |
    | no schema, every value a `bool` | `bool`; `boolean` when a value is missing |
    | no schema, every value a `str` | `string` |
    | no schema, every value a `datetime` | `datetime64[ns, UTC]` |
    | anything else: lists, maps, mixed kinds, no value, integers past 64 bits | `object` |

    With a schema, dtypes come from the attributes, not the values, so an empty frame has
    the columns and dtypes of a full one. Without a schema, ISO 8601 text stays text: only
    ``datetime`` values (as a schema's mapping makes them) become times.

    Args:
        *sources: Paths, bytes, binary file objects, :class:`~arthur_capture.Lines`, or
            lists of them.
        schema: An Arthur model schema, or the path of its JSON file: values are mapped onto
            its attributes (an inference that does not fit is a reject).
        provenance: Add the columns that say where each row came from.
        **options: :class:`~arthur_capture.CaptureReader` options.

    Raises:
        InvalidSourceError: An argument is not a source.
        SourceError: A source cannot be opened or read.
        SchemaError: The schema cannot be loaded.
        MissingDependencyError: pandas is not installed.
    """
    require("pandas", "A DataFrame")
    rejects: list[Reject] = []
    if schema is not None:
        from arthur_capture.arthur.mapping import SchemaMapper  # noqa: PLC0415

        mapper = SchemaMapper.of(schema)
        options["mapper"] = mapper
        schema = mapper.schema
    columns = _Columns(provenance=provenance, schema=schema)
    stream = CaptureReader(**options).iter_calls(*sources)
    for item in stream:
        if isinstance(item, Reject):
            rejects.append(item)
        elif item.outcomes is None:
            columns.add_call(item)
        else:
            for outcome in item.outcomes:
                if isinstance(outcome, Reject):
                    rejects.append(outcome)
                else:
                    columns.add_record(outcome)
    frame = columns.frame()
    frame.attrs["arthur_capture"] = {"ledger": stream.ledger.to_dict()}
    return CaptureFrame(frame, rejects, stream.ledger)


def records_to_dataframe(
    records: Iterable[InferenceRecord],
    *,
    provenance: bool = False,
    schema: SchemaLike | None = None,
) -> pd.DataFrame:
    """A DataFrame of records already read (``read_records(...).records``), one row each.

    The columns and dtypes are those of :func:`to_dataframe`. ``schema`` only types the
    columns (and adds the columns of attributes no record has): map the records with it
    when reading them (``read_records(..., mapper=SchemaMapper.of(schema))``).

    Raises:
        SchemaError: The schema cannot be loaded.
        MissingDependencyError: pandas is not installed.
    """
    require("pandas", "A DataFrame")
    columns = _Columns(provenance=provenance, schema=schema)
    for record in records:
        columns.add_record(record)
    return columns.frame()
