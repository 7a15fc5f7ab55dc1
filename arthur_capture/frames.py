"""pandas preview: one row per inference. The only core module that imports pandas.

Two ways in, one way out. Records (a :class:`CaptureResult` or any iterable of
:class:`InferenceRecord`) are added row by row; a source is read by the columnar path,
which takes each paired call from the reader (:meth:`CaptureReader.expand_line`, so
exactly the reader's rules) and files the decoded rows by their layout without naming
them or building records. Both feed the same :class:`_Columns` builder, which makes every
column in one step from an object array (``infer_objects``), so the two paths give equal
frames (``tests/test_frames_columnar.py`` checks it on every fixture and on generated files).
"""

from __future__ import annotations

import itertools
import os
from typing import TYPE_CHECKING, Any

from arthur_capture.reading import CaptureReader, CaptureResult, Ledger, Reject
from arthur_capture.records import InferenceRecord, partner_inference_id

if TYPE_CHECKING:
    from collections.abc import Iterable
    from datetime import datetime

    import pandas as pd

    from arthur_capture.reading import Source
    from arthur_capture.records import Expansion

__all__ = ["to_dataframe"]

_FIXED = ("partner_inference_id", "inference_timestamp")
_PROVENANCE = ("source", "line_number", "event_id", "index")


class _Group:
    """Rows of one layout (the same value names in the same order) on one side."""

    __slots__ = ("names", "positions", "rows")

    def __init__(self, names: tuple[str, ...]) -> None:
        self.names = names
        self.rows: list[Any] = []
        self.positions: list[int] = []


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

    def _add_side(self, side: int, inferences: list[Any], prefix: str) -> None:
        start = self.count
        for offset, inference in enumerate(inferences):
            group, values = self._group(side, inference, prefix)
            group.rows.append(values)
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

    def add_expansion(self, expansion: Expansion, source: str, line_number: int) -> None:
        """File one paired call's rows (ids as :func:`partner_inference_id` makes them)."""
        count = expansion.count
        base = expansion.base_id
        if count == 1:
            self.ids.append(base)
        else:
            self.ids.extend([partner_inference_id(base, i, count) for i in range(count)])
        meta = expansion.event.event_metadata
        self._add_meta(count, meta.inference_time, source, line_number, meta.event_id)
        if self.provenance:
            self.indexes.extend(range(count))
        if expansion.inputs is not None:
            self._add_side(0, expansion.inputs, "input_")
        if expansion.outputs is not None:
            self._add_side(1, expansion.outputs, "output_")
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
        import numpy as np  # noqa: PLC0415
        import pandas as pd  # noqa: PLC0415

        count = self.count
        columns: dict[str, Any] = {}
        columns["partner_inference_id"] = self._infer(pd, np.array(self.ids, dtype=object))
        times = pd.to_datetime(pd.Series(self.times, dtype=object), utc=True)
        columns["inference_timestamp"] = times.repeat(self.repeats).reset_index(drop=True)
        value_columns: dict[str, Any] = {}
        for side in (0, 1):
            for name in self.names[side]:
                if name not in value_columns:
                    value_columns[name] = np.full(count, None, dtype=object)
            for group in self.groups[side].values():
                positions = np.asarray(group.positions, dtype=np.intp)
                rows, width = len(group.rows), len(group.names)
                # One C pass: every value of the group, row after row, as objects (a value
                # that is itself a list stays one object), then a column is a strided view.
                table = np.fromiter(
                    itertools.chain.from_iterable(group.rows), dtype=object, count=rows * width
                ).reshape(rows, width)
                for j, name in enumerate(group.names):
                    value_columns[name][positions] = table[:, j]
        for name, values in value_columns.items():
            if name in _FIXED or (self.provenance and name in _PROVENANCE):
                msg = f"a value is named {name!r}, which is a column of the frame itself"
                raise ValueError(msg)
            columns[name] = self._infer(pd, values)
        if self.provenance:
            columns["source"] = self._infer(pd, np.array(self.sources, dtype=object))
            columns["line_number"] = pd.Series(self.line_numbers, dtype="int64")
            columns["event_id"] = self._infer(pd, np.array(self.event_ids, dtype=object))
            columns["index"] = pd.Series(self.indexes, dtype="int64")
        return pd.DataFrame(columns, index=pd.RangeIndex(count))

    @staticmethod
    def _infer(pd: Any, values: Any) -> Any:
        return pd.Series(values, dtype=object).infer_objects()


def _read_columnar(source: Source, columns: _Columns, options: dict[str, Any]) -> None:
    ledger: Ledger = options.pop("ledger", None) or Ledger()
    rejects: list[Reject] | None = options.pop("rejects", None)
    for item in CaptureReader(**options).iter_expansions(source, ledger=ledger):
        if isinstance(item, tuple):
            expansion, line = item
            columns.add_expansion(expansion, line.source, line.number)
        elif isinstance(item, Reject):
            if rejects is not None:
                rejects.append(item)
        else:
            columns.add_record(item)


def to_dataframe(
    data: CaptureResult | Iterable[InferenceRecord] | Source,
    *,
    provenance: bool = False,
    **options: Any,
) -> pd.DataFrame:
    """Build a DataFrame with one row per inference.

    Columns: ``partner_inference_id``, ``inference_timestamp`` (UTC ``datetime64``), then
    the input columns and the output columns in first-seen order, each typed by pandas
    from its values (``infer_objects``; missing values are null). With ``provenance``,
    ``source``, ``line_number``, ``event_id`` and ``index`` follow.

    A source is read straight into columns (the fast path). Its rejects are not rows:
    pass ``rejects=[]`` (a list to fill) and ``ledger=Ledger()`` to get them; the frame's
    ``attrs["arthur_capture"]`` also holds the ledger.

    Args:
        data: A :class:`CaptureResult`, records, or a source to read.
        provenance: Add the columns that say where each row came from.
        **options: For a source: ``rejects``, ``ledger`` and :class:`CaptureReader` options.

    Raises:
        ImportError: pandas is not installed (``pip install 'arthur-capture[pandas]'``).
        ValueError: A value is named like one of the frame's own columns.
    """
    try:
        import pandas as pd  # noqa: PLC0415, F401
    except ImportError as exc:  # pragma: no cover - depends on the environment
        msg = "to_dataframe needs pandas: pip install 'arthur-capture[pandas]'"
        raise ImportError(msg) from exc

    columns = _Columns(provenance=provenance)
    ledger: Ledger | None = None
    if isinstance(data, CaptureResult):
        for record in data.records:
            columns.add_record(record)
        ledger = data.ledger
    elif isinstance(data, (str, bytes, bytearray, os.PathLike)) or hasattr(data, "read"):
        ledger = options.setdefault("ledger", Ledger())
        _read_columnar(data, columns, dict(options))
    else:
        items = list(data)
        if all(isinstance(item, InferenceRecord) for item in items):
            for item in items:
                columns.add_record(item)
        else:
            ledger = options.setdefault("ledger", Ledger())
            _read_columnar(items, columns, dict(options))
    frame = columns.frame()
    if ledger is not None:
        frame.attrs["arthur_capture"] = {"ledger": ledger.to_dict()}
    return frame
