"""Reading capture files: sources, framing, the reader and its ledger.

:class:`CaptureReader` holds the options and reads sources three ways, over one stream:
:meth:`~CaptureReader.read` (records, rejects and ledger at once),
:meth:`~CaptureReader.iter_records` (one item per inference) and
:meth:`~CaptureReader.iter_calls` (one decoded call or reject per line: the stream the
JSON-lines, Parquet, DataFrame and Spark paths all consume). The package's
:func:`~arthur_capture.read_records`, :func:`~arthur_capture.iter_records` and
:func:`~arthur_capture.iter_calls` are the same, one call each.

Sources are paths, bytes, binary file objects, :class:`Lines` or :class:`Named`; a list or
tuple of sources is read in order.
"""

from __future__ import annotations

from arthur_capture.reading._framing import Frame, LineFramer, Status, frame_lines
from arthur_capture.reading._ledger import CaptureResult, Ledger
from arthur_capture.reading._reader import (
    DEFAULT_MAX_BLANK_LINES,
    DEFAULT_MAX_INFERENCES_PER_CALL,
    DEFAULT_MAX_LINE_BYTES,
    CaptureReader,
    CaptureStream,
    ReaderOptions,
    RecordMapper,
)
from arthur_capture.reading._sources import Lines, Named, Readable, Source

__all__ = [
    "DEFAULT_MAX_BLANK_LINES",
    "DEFAULT_MAX_INFERENCES_PER_CALL",
    "DEFAULT_MAX_LINE_BYTES",
    "CaptureReader",
    "CaptureResult",
    "CaptureStream",
    "Frame",
    "Ledger",
    "LineFramer",
    "Lines",
    "Named",
    "Readable",
    "ReaderOptions",
    "RecordMapper",
    "Source",
    "Status",
    "frame_lines",
]
