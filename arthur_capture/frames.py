"""pandas preview: one row per inference. The only core module that imports pandas."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from arthur_capture.reading import CaptureResult, read_records
from arthur_capture.records import InferenceRecord

if TYPE_CHECKING:
    from collections.abc import Iterable

    import pandas as pd

    from arthur_capture.reading import Source

__all__ = ["to_dataframe"]


def to_dataframe(
    data: CaptureResult | Iterable[InferenceRecord] | Source,
    *,
    provenance: bool = False,
    **options: Any,
) -> pd.DataFrame:
    """Build a DataFrame with one row per inference.

    Columns: ``partner_inference_id``, ``inference_timestamp`` (UTC ``datetime64``), then
    the input columns and the output columns in first-seen order. With ``provenance``,
    ``source``, ``line_number``, ``event_id`` and ``index`` follow.

    Args:
        data: A :class:`CaptureResult`, records, or a source to read (with ``options``).
        provenance: Add the columns that say where each row came from.
        **options: Passed to :class:`~arthur_capture.CaptureReader` when ``data`` is a source.

    Raises:
        ImportError: pandas is not installed (``pip install 'arthur-capture[pandas]'``).
    """
    try:
        import pandas as pd  # noqa: PLC0415
    except ImportError as exc:  # pragma: no cover - depends on the environment
        msg = "to_dataframe needs pandas: pip install 'arthur-capture[pandas]'"
        raise ImportError(msg) from exc

    records: Iterable[InferenceRecord]
    if isinstance(data, CaptureResult):
        records = data.records
    elif isinstance(data, (str, bytes, bytearray, os.PathLike)) or hasattr(data, "read"):
        records = read_records(data, **options).records
    else:
        items = list(data)
        if all(isinstance(item, InferenceRecord) for item in items):
            records = items
        else:
            records = read_records(items, **options).records
    rows = list(records)
    input_names: dict[str, None] = {}
    output_names: dict[str, None] = {}
    for record in rows:
        input_names.update(dict.fromkeys(record.inputs))
        output_names.update(dict.fromkeys(record.outputs))
    columns: dict[str, Any] = {
        "partner_inference_id": [r.partner_inference_id for r in rows],
        "inference_timestamp": pd.to_datetime([r.inference_timestamp for r in rows], utc=True),
    }
    for name in input_names:
        # A name is never on both sides of one record, but may be across records.
        columns[name] = [r.inputs.get(name, r.outputs.get(name)) for r in rows]
    for name in output_names:
        if name not in columns:
            columns[name] = [r.outputs.get(name) for r in rows]
    if provenance:
        columns["source"] = [r.source for r in rows]
        columns["line_number"] = [r.line_number for r in rows]
        columns["event_id"] = [r.event_id for r in rows]
        columns["index"] = [r.index for r in rows]
    frame = pd.DataFrame(columns)
    return frame.infer_objects()
