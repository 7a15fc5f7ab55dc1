"""The library's errors and the closed set of reason codes.

Every error this library raises is a :class:`CaptureError`. Each subclass also
inherits the matching built-in exception, so ``except ValueError`` keeps working::

    CaptureError(Exception)
    ├── LineError(CaptureError, ValueError)            a line cannot be read as a capture event
    │   ├── InvalidJSONError                          invalid_json, invalid_utf8, truncated_line,
    │   │                                             nesting_too_deep
    │   ├── LineTooLargeError                         line_too_large
    │   └── InvalidEventError                         invalid_event, unsupported_event_version
    ├── PayloadError(CaptureError, ValueError)         a side's ``data`` cannot be decoded
    │   ├── InvalidBase64Error                        invalid_base64
    │   ├── UnknownContentTypeError(…, LookupError)   unknown_content_type
    │   └── InvalidPayloadError                       invalid_payload
    ├── ExpansionError(CaptureError, ValueError)       sides do not pair into inferences
    │   ├── CountMismatchError                        count_mismatch
    │   └── NameConflictError                         name_conflict
    ├── RejectedError(CaptureError, ValueError)        strict mode: a reject, raised
    ├── DecoderRegistryError(CaptureError, ValueError) registering or loading a decoder failed
    └── SourceError(CaptureError, OSError)             a source could not be opened or read

A data error (anything but :class:`DecoderRegistryError` and :class:`SourceError`)
never escapes the per-line loop of the reader: it becomes a :class:`~arthur_capture.Reject`.
"""

from __future__ import annotations

import enum

__all__ = [
    "CaptureError",
    "CountMismatchError",
    "DecoderRegistryError",
    "ExpansionError",
    "InvalidBase64Error",
    "InvalidEventError",
    "InvalidJSONError",
    "InvalidPayloadError",
    "LineError",
    "LineTooLargeError",
    "NameConflictError",
    "PayloadError",
    "Reason",
    "RejectedError",
    "SourceError",
    "UnknownContentTypeError",
]


class Reason(enum.StrEnum):
    """Why a line or an inference was rejected. A closed set: new codes are a release note."""

    INVALID_JSON = "invalid_json"
    """The line is not one JSON value (syntax error, extra data, bad escape)."""
    INVALID_UTF8 = "invalid_utf8"
    """The line's bytes are not UTF-8 (a BOM is tolerated only at byte 0 of a file)."""
    TRUNCATED_LINE = "truncated_line"
    """The last line of a stream has no newline and is incomplete: cut off mid-write."""
    LINE_TOO_LARGE = "line_too_large"
    """The line is longer than the configured ``max_line_bytes``."""
    INVALID_COMPRESSION = "invalid_compression"
    """The gzip stream is corrupt; the lines before the corruption are kept."""
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
    INVALID_PAYLOAD = "invalid_payload"
    """The decoder for the content type could not read the payload."""
    COUNT_MISMATCH = "count_mismatch"
    """The request and the response hold different numbers of inferences."""
    NAME_CONFLICT = "name_conflict"
    """The same value name appears in the request and in the response."""
    ID_TOO_LONG = "id_too_long"
    """The partner inference ID is longer than Arthur's 255 characters (never cut)."""
    UNKNOWN_ATTRIBUTE = "unknown_attribute"
    """With a model schema: a value has no attribute (unknown name or position)."""
    MISSING_ATTRIBUTE = "missing_attribute"
    """With a model schema: an input or predicted attribute has no value."""
    RESERVED_NAME = "reserved_name"
    """With a model schema: a value uses a name Arthur reserves."""
    INVALID_VALUE = "invalid_value"
    """With a model schema: a value cannot be coerced to its attribute's value type."""


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


class LineTooLargeError(LineError):
    """The line is longer than the configured limit."""

    reason = Reason.LINE_TOO_LARGE


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
