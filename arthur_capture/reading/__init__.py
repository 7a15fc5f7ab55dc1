"""Reading capture files: sources, framing, the reader and its ledger.

Three ways in, one stream under them:

- :func:`read_records` reads everything into a :class:`CaptureResult` (records, rejects,
  ledger);
- :func:`iter_records` streams records and rejects, one item per inference;
- :func:`iter_calls` streams decoded calls and rejects, one item per line: the stream the
  JSON-lines, Parquet, DataFrame and Spark paths all consume.

:class:`CaptureReader` holds options for reuse. Sources are paths, bytes, binary file
objects, :class:`Lines` or :class:`Named`; a list or tuple of sources is read in order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Unpack

from arthur_capture.reading._framing import Frame, LineFramer, Status, frame_lines
from arthur_capture.reading._ledger import CaptureResult, Ledger
from arthur_capture.reading._reader import (
    DEFAULT_MAX_LINE_BYTES,
    CaptureReader,
    CaptureStream,
    ReaderOptions,
    RecordMapper,
)
from arthur_capture.reading._sources import Lines, Named, Source

if TYPE_CHECKING:
    from arthur_capture.records import Call, InferenceRecord, Reject

__all__ = [
    "DEFAULT_MAX_LINE_BYTES",
    "CaptureReader",
    "CaptureResult",
    "CaptureStream",
    "Frame",
    "Ledger",
    "LineFramer",
    "Lines",
    "Named",
    "ReaderOptions",
    "RecordMapper",
    "Source",
    "Status",
    "frame_lines",
    "iter_calls",
    "iter_records",
    "read_records",
]


def read_records(*sources: Source, **options: Unpack[ReaderOptions]) -> CaptureResult:
    """Read sources into a :class:`CaptureResult`; ``options`` are :class:`CaptureReader`'s.

    Raises:
        InvalidSourceError: An argument is not a source.
        SourceError: A source cannot be opened or read.
        RejectedError: With ``strict=True``, at the first reject.
    """
    return CaptureReader(**options).read(*sources)


def iter_records(
    *sources: Source, **options: Unpack[ReaderOptions]
) -> CaptureStream[InferenceRecord | Reject]:
    """Stream the records and rejects of sources; ``options`` are :class:`CaptureReader`'s.

    Raises:
        InvalidSourceError: An argument is not a source.
    """
    return CaptureReader(**options).iter_records(*sources)


def iter_calls(*sources: Source, **options: Unpack[ReaderOptions]) -> CaptureStream[Call | Reject]:
    """Stream the decoded calls and line rejects of sources (:meth:`CaptureReader.iter_calls`).

    Raises:
        InvalidSourceError: An argument is not a source.
    """
    return CaptureReader(**options).iter_calls(*sources)
