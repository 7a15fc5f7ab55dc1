"""The library's errors, every one of them, and the closed set of reason codes.

Every error this library raises is a :class:`CaptureError`. Each subclass also
inherits the matching built-in exception, so ``except ValueError`` keeps working::

    CaptureError(Exception)
    ├── LineError(CaptureError, ValueError)            a line cannot be read as a capture event
    │   ├── InvalidJSONError                          invalid_json, invalid_utf8, truncated_line,
    │   │                                             nesting_too_deep
    │   └── InvalidEventError                         invalid_event, unsupported_event_version
    ├── PayloadError(CaptureError, ValueError)         a side's ``data`` cannot be decoded
    │   ├── InvalidBase64Error                        invalid_base64
    │   ├── UnknownContentTypeError(…, LookupError)   unknown_content_type
    │   └── InvalidPayloadError                       invalid_payload, too_many_inferences,
    │                                                 non_finite_number
    ├── ExpansionError(CaptureError, ValueError)       sides do not pair into inferences
    │   ├── CountMismatchError                        count_mismatch
    │   ├── NameConflictError                         name_conflict
    │   └── PartnerIdTooLongError                     id_too_long
    ├── RejectedError(CaptureError, ValueError)        strict mode: a reject, raised
    ├── DecoderRegistryError(CaptureError, ValueError) registering or loading a decoder failed
    ├── SourceError(CaptureError, OSError)             a source could not be opened or read
    ├── InvalidSourceError(CaptureError, TypeError)    not something the reader can read
    ├── SchemaError(CaptureError, ValueError)          an Arthur model schema is unusable
    ├── MappingError(CaptureError, ValueError)         an inference does not fit the schema:
    │                                                  unknown_attribute, missing_attribute,
    │                                                  reserved_name, invalid_value, name_conflict
    ├── CoercionError(CaptureError, ValueError)        a value does not fit a value type
    ├── GroundTruthError(CaptureError, ValueError)     a ground-truth row cannot be joined
    ├── ParquetError(CaptureError, ValueError)         records cannot be written as Parquet
    ├── ExportError(CaptureError, ValueError)          an Arthur Engine export cannot be laid out
    ├── ConfigError(CaptureError, ValueError)          a deployment document (an endpoint's capture
    │                                                  config, a bucket's notifications) is unusable
    ├── StorageError(CaptureError, OSError)            an output or input location (a folder, an
    │                                                  S3 bucket) cannot be listed, read or written
    ├── MissingDependencyError(CaptureError, ImportError)  an optional extra is not installed
    └── ArthurError(CaptureError)                      talking to Arthur's API failed
        ├── ArthurAPIError                            a status that is not retried
        │   └── ArthurAuthError                       401 or 403
        └── ArthurUnavailableError(…, ConnectionError)  retries ran out

The ``ArthurError`` branch is defined by the layer that raises it,
:mod:`arthur_capture.arthur.errors` (its errors carry the upload's partial result); every
other class is defined here. A data error (a line, payload, expansion or mapping error)
never escapes the per-line loop of the reader: it becomes a :class:`~arthur_capture.Reject`.
"""

from __future__ import annotations

import enum
from typing import Any

__all__ = [
    "CaptureError",
    "CoercionError",
    "ConfigError",
    "CountMismatchError",
    "DecoderRegistryError",
    "ExpansionError",
    "ExportError",
    "GroundTruthError",
    "InvalidBase64Error",
    "InvalidEventError",
    "InvalidJSONError",
    "InvalidPayloadError",
    "InvalidSourceError",
    "LineError",
    "MappingError",
    "MissingDependencyError",
    "NameConflictError",
    "ParquetError",
    "PartnerIdTooLongError",
    "PayloadError",
    "Reason",
    "RejectedError",
    "SchemaError",
    "SourceError",
    "StorageError",
    "UnknownContentTypeError",
    "brief",
]


class Reason(enum.StrEnum):
    """Why a line or an inference was rejected. A closed set: new codes are a release note."""

    INVALID_JSON = "invalid_json"
    """The line is not one JSON value (syntax error, extra data, bad escape)."""
    INVALID_UTF8 = "invalid_utf8"
    """The line's bytes are not UTF-8 (a BOM is tolerated only at byte 0 of a file)."""
    TRUNCATED_LINE = "truncated_line"
    """The last line of a stream has no newline and is incomplete: cut off mid-write.

    Also a gzip stream that ends early (cut before its trailer). The reject is on the last
    line the stream holds: the partial line the cut fell in, or, when the cut falls between
    lines, the last whole line, which is rejected in its place (its bytes in ``raw``), so
    ``lines`` stays what ``wc -l`` counts on the decompressed data. A stream cut before its
    first line is line 1. The lines before it are kept."""
    LINE_TOO_LARGE = "line_too_large"
    """The line is longer than the configured ``max_line_bytes``."""
    TOO_MANY_BLANK_LINES = "too_many_blank_lines"
    """More blank lines in a row than ``max_blank_lines`` (a gzip bomb of newlines).

    The reject is the first blank line past the limit; the rest of that source is not read
    (other sources are), and ``lines`` counts only the lines read."""
    INVALID_COMPRESSION = "invalid_compression"
    """The gzip stream is corrupt (a bad CRC or length in its trailer, or bad deflate data).

    Placed as for a gzip stream cut early (``truncated_line``): on the last line the stream
    holds, which is rejected in place of the corruption; the lines before it are kept."""
    NESTING_TOO_DEEP = "nesting_too_deep"
    """The line, or a value inside a payload, nests deeper than ``max_depth``."""
    INVALID_EVENT = "invalid_event"
    """The line is JSON but not a capture event (a field is missing or of the wrong type)."""
    UNSUPPORTED_EVENT_VERSION = "unsupported_event_version"
    """``eventVersion`` is not one this library knows (``"0"``)."""
    UNKNOWN_CONTENT_TYPE = "unknown_content_type"
    """No decoder is registered for the side's content type."""
    INVALID_BASE64 = "invalid_base64"
    """A ``BASE64`` side's ``data`` is not strict standard base64."""
    UNSUPPORTED_ENCODING = "unsupported_encoding"
    """Forwarding a capture file to Arthur's SageMaker endpoint (which refuses ``BASE64``): a
    ``BASE64`` side whose content type is neither CSV nor JSON (e.g. ``application/x-npy``)
    has no text to re-encode it as, so its line is held back."""
    INVALID_PAYLOAD = "invalid_payload"
    """The decoder for the content type could not read the payload."""
    TOO_MANY_INFERENCES = "too_many_inferences"
    """A side holds more inferences than ``max_inferences_per_call``: the line is rejected."""
    NON_FINITE_NUMBER = "non_finite_number"
    """With ``reject_non_finite``: a JSON side holds ``NaN``, ``Infinity``, ``-Infinity`` or a
    number that overflows to infinity (``1e400``). Without it they are read as ``null`` and
    counted (``non_finite_values`` in the ledger)."""
    COUNT_MISMATCH = "count_mismatch"
    """The request and the response hold different numbers of inferences."""
    NAME_CONFLICT = "name_conflict"
    """The same value name appears in the request and in the response."""
    ID_TOO_LONG = "id_too_long"
    """The partner inference ID is longer than Arthur's 255 characters (never cut)."""
    DUPLICATE_PARTNER_ID = "duplicate_partner_id"
    """With ``reject_duplicates``: the partner inference ID was already read earlier in the
    run (a redelivered file, a reused ``inferenceId``); the first is kept, each repeat is
    rejected on its own (with ``index``). Without it repeats are counted
    (``duplicate_partner_ids`` in the ledger) and emitted."""
    UNKNOWN_ATTRIBUTE = "unknown_attribute"
    """With a model schema: a value has no attribute (unknown name or position)."""
    MISSING_ATTRIBUTE = "missing_attribute"
    """With a model schema: an input or predicted attribute has no value."""
    RESERVED_NAME = "reserved_name"
    """With a model schema: a value uses a name Arthur reserves."""
    INVALID_VALUE = "invalid_value"
    """With a model schema: a value cannot be coerced to its attribute's value type."""


def brief(value: Any) -> str:
    """A value as an error message shows it: its ``repr``, cut to 60 characters."""
    try:
        text = repr(value)
    except ValueError:  # an integer past Python's limit on digits printed (4300)
        text = f"<{type(value).__name__} too long to print>"
    return text if len(text) <= 60 else text[:57] + "..."


class CaptureError(Exception):
    """Base of every error raised by arthur_capture.

    Attributes:
        reason: The reason code, when the error is about data.
        message: The human-readable message (also ``str(error)``).
    """

    reason: Reason | None = None

    def __init__(self, message: str) -> None:
        """Create the error with a message."""
        super().__init__(message)
        self.message = message


class LineError(CaptureError, ValueError):
    """A line cannot be read as a capture event."""


class InvalidJSONError(LineError):
    """The line is not valid JSON (or not UTF-8, or cut off)."""

    def __init__(self, message: str, reason: Reason = Reason.INVALID_JSON) -> None:
        """Create the error with a message and one of the JSON-level reasons."""
        super().__init__(message)
        self.reason = reason


class InvalidEventError(LineError):
    """The line is JSON but does not have the capture event's shape."""

    def __init__(self, message: str, reason: Reason = Reason.INVALID_EVENT) -> None:
        """Create the error with a message and an event-level reason."""
        super().__init__(message)
        self.reason = reason


class PayloadError(CaptureError, ValueError):
    """A side's ``data`` cannot be decoded into inferences."""

    reason = Reason.INVALID_PAYLOAD


class InvalidBase64Error(PayloadError):
    """A ``BASE64`` side holds data that is not strict base64."""

    reason = Reason.INVALID_BASE64


class UnknownContentTypeError(PayloadError, LookupError):
    """No decoder is registered for a content type."""

    reason = Reason.UNKNOWN_CONTENT_TYPE


class InvalidPayloadError(PayloadError):
    """The decoder could not read the payload."""

    def __init__(self, message: str, reason: Reason = Reason.INVALID_PAYLOAD) -> None:
        """Create the error with a message (and, for depth, a specific reason)."""
        super().__init__(message)
        self.reason = reason


class ExpansionError(CaptureError, ValueError):
    """The two sides of a call do not pair into inferences."""


class CountMismatchError(ExpansionError):
    """The request and the response hold different numbers of inferences."""

    reason = Reason.COUNT_MISMATCH


class NameConflictError(ExpansionError):
    """A value name appears on both sides of a call."""

    reason = Reason.NAME_CONFLICT


class PartnerIdTooLongError(ExpansionError):
    """A partner inference ID is longer than Arthur allows (IDs are never cut: cut IDs collide)."""

    reason = Reason.ID_TOO_LONG


class RejectedError(CaptureError, ValueError):
    """Raised in strict mode for the first reject; ``reject`` holds all its details."""

    def __init__(self, reject: object, message: str) -> None:
        """Create the error from a reject record."""
        super().__init__(message)
        self.reject = reject


class DecoderRegistryError(CaptureError, ValueError):
    """Registering, replacing or loading a decoder failed."""


class SourceError(CaptureError, OSError):
    """A source could not be opened or read (an environment error, not a data error)."""


class InvalidSourceError(CaptureError, TypeError):
    """The object is not a source the reader takes (a path, bytes, a binary file, lines)."""


class SchemaError(CaptureError, ValueError):
    """A model schema cannot be loaded or is not usable (names, positions, JSON shape)."""


class CoercionError(CaptureError, ValueError):
    """A value cannot be coerced to an attribute's value type."""

    reason = Reason.INVALID_VALUE


class MappingError(CaptureError, ValueError):
    """An inference does not fit the model schema; ``reason`` says how."""

    def __init__(self, message: str, reason: Reason) -> None:
        """Create the error with a message and a mapping reason."""
        super().__init__(message)
        self.reason = reason


class GroundTruthError(CaptureError, ValueError):
    """A ground-truth row cannot be turned into an update (unknown call, bad value, …)."""


class ParquetError(CaptureError, ValueError):
    """Records cannot be written as Parquet (e.g. one column mixes strings and numbers)."""


class ExportError(CaptureError, ValueError):
    """An Arthur Engine export cannot be laid out (e.g. a source's endpoint is unknown)."""


class ConfigError(CaptureError, ValueError):
    """A deployment document cannot be checked: not JSON, or not the shape the check reads.

    Raised by :mod:`arthur_capture.aws.checks` for a file that is not a SageMaker capture
    configuration or a bucket notification configuration (a broken rule is not an error: it
    is a :class:`~arthur_capture.aws.checks.Problem`); and by the Lambda handler
    (:mod:`arthur_capture.aws.handler`) when its environment is missing or malformed, or the
    token or schema it names cannot be had.
    """


class StorageError(CaptureError, OSError):
    """A location (a local folder, an S3 bucket or object) cannot be listed, read or written."""


class MissingDependencyError(CaptureError, ImportError):
    """An optional dependency is not installed; the message names the ``pip install`` to run."""
