"""pandas frames: one row per inference. The only module that imports pandas.

Two ways in, one way out. :func:`to_dataframe` reads sources by the columnar path: it takes
each decoded call from the reader's one stream (:meth:`CaptureReader.iter_calls`, so
exactly the reader's rules) and files the decoded rows by their layout without naming them
or building records. :func:`records_to_dataframe` adds records row by row. Both feed the
same :class:`_Columns` builder, which makes every column in one step from an object array
(``infer_objects``), so the two paths give equal frames (``tests/test_fast_paths.py``
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

    from arthur_capture.arthur.schema import SchemaLike
    from arthur_capture.reading import Ledger, ReaderOptions, Source
    from arthur_capture.records import Call

__all__ = ["CaptureFrame", "records_to_dataframe", "to_dataframe"]

_FIXED = ("partner_inference_id", "inference_timestamp")
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

    def __init__(self, *, provenance: bool) -> None:
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
        for offset, inference in enumerate(inferences):
            group, values = self._group(side, inference, prefix)
            group.runs.append(values)
            group.count += 1
            group.positions.append(start + offset)

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

    def frame(self) -> pd.DataFrame:
        numpy = require("numpy", "A DataFrame")
        pandas = require("pandas", "A DataFrame")

        count = self.count
        columns: dict[str, Any] = {}
        columns["partner_inference_id"] = self._infer(pandas, numpy.array(self.ids, dtype=object))
        times = pandas.to_datetime(pandas.Series(self.times, dtype=object), utc=True)
        columns["inference_timestamp"] = times.repeat(self.repeats).reset_index(drop=True)
        value_columns: dict[str, Any] = {}
        for side in (0, 1):
            for name in self.names[side]:
                if name not in value_columns:
                    value_columns[name] = numpy.full(count, None, dtype=object)
            for group in self.groups[side].values():
                positions = numpy.asarray(group.positions, dtype=numpy.intp)
                rows, width = group.count, len(group.names)
                # One C pass: every value of the group, row after row, as objects (a value
                # that is itself a list stays one object), then a column is a strided view.
                table = numpy.fromiter(
                    itertools.chain.from_iterable(group.runs), dtype=object, count=rows * width
                ).reshape(rows, width)
                for j, name in enumerate(group.names):
                    value_columns[name][positions] = table[:, j]
        for name, values in value_columns.items():
            if name in _FIXED or (self.provenance and name in _PROVENANCE):
                msg = f"a value is named {name!r}, which is a column of the frame itself"
                raise ValueError(msg)
            columns[name] = self._infer(pandas, values)
        if self.provenance:
            columns["source"] = self._infer(pandas, numpy.array(self.sources, dtype=object))
            columns["line_number"] = pandas.Series(self.line_numbers, dtype="int64")
            columns["event_id"] = self._infer(pandas, numpy.array(self.event_ids, dtype=object))
            columns["index"] = pandas.Series(self.indexes, dtype="int64")
        frame: pd.DataFrame = pandas.DataFrame(columns, index=pandas.RangeIndex(count))
        return frame

    @staticmethod
    def _infer(pd: Any, values: Any) -> Any:
        return pd.Series(values, dtype=object).infer_objects()


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

    Columns: ``partner_inference_id``, ``inference_timestamp`` (UTC ``datetime64``), then
    the input columns and the output columns in first-seen order, each typed by pandas
    from its values (``infer_objects``; missing values are null). With ``provenance``,
    ``source``, ``line_number``, ``event_id`` and ``index`` follow.

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
    columns = _Columns(provenance=provenance)
    rejects: list[Reject] = []
    if schema is not None:
        from arthur_capture.arthur.mapping import SchemaMapper  # noqa: PLC0415

        options["mapper"] = SchemaMapper.of(schema)
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
    records: Iterable[InferenceRecord], *, provenance: bool = False
) -> pd.DataFrame:
    """A DataFrame of records already read (``read_records(...).records``), one row each.

    The columns are those of :func:`to_dataframe`.

    Raises:
        MissingDependencyError: pandas is not installed.
    """
    columns = _Columns(provenance=provenance)
    for record in records:
        columns.add_record(record)
    return columns.frame()
