"""arthur_capture: SageMaker Data Capture files in, the inference rows Arthur ingests out.

The core is sans-IO and light: importing it loads pydantic and orjson, never pandas,
boto3 or an HTTP client. :func:`to_dataframe` imports pandas when called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from arthur_capture.decoders import (
    Decoder,
    DecoderRegistry,
    Inference,
    Payload,
    default_registry,
    parse_media_type,
)
from arthur_capture.errors import (
    CaptureError,
    CountMismatchError,
    DecoderRegistryError,
    ExpansionError,
    InvalidBase64Error,
    InvalidEventError,
    InvalidJSONError,
    InvalidPayloadError,
    LineError,
    LineTooLargeError,
    NameConflictError,
    PayloadError,
    Reason,
    RejectedError,
    SourceError,
    UnknownContentTypeError,
)
from arthur_capture.events import CaptureData, CaptureEvent, CaptureSide, Encoding, EventMetadata
from arthur_capture.output import arthur_json, dumps_json
from arthur_capture.reading import (
    DEFAULT_MAX_LINE_BYTES,
    CaptureReader,
    CaptureResult,
    Ledger,
    Reject,
    iter_records,
    read_records,
)
from arthur_capture.records import InferenceRecord, expand, partner_inference_id

if TYPE_CHECKING:
    from arthur_capture.frames import to_dataframe

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_MAX_LINE_BYTES",
    "CaptureData",
    "CaptureError",
    "CaptureEvent",
    "CaptureReader",
    "CaptureResult",
    "CaptureSide",
    "CountMismatchError",
    "Decoder",
    "DecoderRegistry",
    "DecoderRegistryError",
    "Encoding",
    "EventMetadata",
    "ExpansionError",
    "Inference",
    "InferenceRecord",
    "InvalidBase64Error",
    "InvalidEventError",
    "InvalidJSONError",
    "InvalidPayloadError",
    "Ledger",
    "LineError",
    "LineTooLargeError",
    "NameConflictError",
    "Payload",
    "PayloadError",
    "Reason",
    "Reject",
    "RejectedError",
    "SourceError",
    "UnknownContentTypeError",
    "__version__",
    "arthur_json",
    "default_registry",
    "dumps_json",
    "expand",
    "iter_records",
    "parse_media_type",
    "partner_inference_id",
    "read_records",
    "to_dataframe",
]


def __getattr__(name: str) -> Any:
    """Load :func:`to_dataframe` (and pandas) only when it is first used."""
    if name == "to_dataframe":
        from arthur_capture.frames import to_dataframe  # noqa: PLC0415

        return to_dataframe
    msg = f"module 'arthur_capture' has no attribute {name!r}"
    raise AttributeError(msg)
