"""The package's ways in: read, stream records, stream calls; a model schema by object or path.

Each function builds a :class:`~arthur_capture.CaptureReader` from its keywords and reads
the sources with it. ``schema`` (a :class:`~arthur_capture.ModelSchema` or the path of its
JSON file) maps every record onto the model's attributes; it loads the Arthur layer only
when given. An ``s3://bucket/key.jsonl`` or ``s3://bucket/prefix`` among the sources is read
from S3 (extra ``aws``): a prefix's ``.jsonl`` and ``.jsonl.gz`` objects in key order, each
record's ``source`` being its object's URI; the storage layer is loaded only then. To select
an endpoint, a variant or a time window of a prefix, pass
:func:`arthur_capture.storage.expand_sources` (``endpoint=``, ``variant=``, ``since=``,
``until=``) instead of the URI.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Unpack

from arthur_capture.reading import CaptureReader, CaptureResult, CaptureStream, ReaderOptions

if TYPE_CHECKING:
    from arthur_capture.arthur.schema import SchemaLike
    from arthur_capture.reading import Source
    from arthur_capture.records import Call, InferenceRecord, Reject

__all__ = ["iter_calls", "iter_records", "read_records", "reader"]


def _has_s3(sources: tuple[Any, ...] | list[Any]) -> bool:
    return any(
        (isinstance(item, str) and item.startswith("s3://"))
        or (isinstance(item, (list, tuple)) and _has_s3(item))
        for item in sources
    )


def _opened(sources: tuple[Source, ...]) -> tuple[Source, ...]:
    """The sources, with ``s3://`` URIs listed into objects (storage loaded only for them).

    Raises:
        StorageError: A prefix cannot be listed or holds no capture object.
    """
    if not _has_s3(sources):
        return sources
    from arthur_capture.storage import expand_sources  # noqa: PLC0415

    return tuple(expand_sources(sources))


def reader(schema: SchemaLike | None = None, **options: Unpack[ReaderOptions]) -> CaptureReader:
    """A :class:`~arthur_capture.CaptureReader` with ``options``, mapping onto ``schema`` if given.

    Raises:
        SchemaError: The schema file cannot be read or holds no usable schema.
    """
    if schema is not None:
        from arthur_capture.arthur.mapping import SchemaMapper  # noqa: PLC0415

        options["mapper"] = SchemaMapper.of(schema)
    return CaptureReader(**options)


def read_records(
    *sources: Source, schema: SchemaLike | None = None, **options: Unpack[ReaderOptions]
) -> CaptureResult:
    """Read sources into a :class:`~arthur_capture.CaptureResult` (records, rejects, ledger).

    Args:
        *sources: Paths, ``s3://`` objects or prefixes, bytes, binary file objects,
            :class:`~arthur_capture.Lines`, :class:`~arthur_capture.Named`, or lists of them.
        schema: An Arthur model schema, or the path of its JSON file.
        **options: :class:`~arthur_capture.CaptureReader` keywords.

    Raises:
        InvalidSourceError: An argument is not a source.
        SourceError: A source cannot be opened or read.
        StorageError: An ``s3://`` prefix cannot be listed or holds no capture object.
        SchemaError: The schema cannot be loaded.
        RejectedError: With ``strict=True``, at the first reject.
    """
    return reader(schema, **options).read(*_opened(sources))


def iter_records(
    *sources: Source, schema: SchemaLike | None = None, **options: Unpack[ReaderOptions]
) -> CaptureStream[InferenceRecord | Reject]:
    """Stream records and rejects, one item per inference (arguments as :func:`read_records`).

    Raises:
        InvalidSourceError: An argument is not a source.
        StorageError: An ``s3://`` prefix cannot be listed or holds no capture object.
        SchemaError: The schema cannot be loaded.
    """
    return reader(schema, **options).iter_records(*_opened(sources))


def iter_calls(
    *sources: Source, schema: SchemaLike | None = None, **options: Unpack[ReaderOptions]
) -> CaptureStream[Call | Reject]:
    """Stream decoded calls and line rejects, one item per line (as :func:`read_records`).

    Nothing is read until the stream is iterated; a bad argument or schema raises at once
    (so does an ``s3://`` prefix that cannot be listed: prefixes are listed at the call).
    """
    return reader(schema, **options).iter_calls(*_opened(sources))
