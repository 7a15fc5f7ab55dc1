"""arthur_capture: SageMaker Data Capture files in, the inference rows Arthur ingests out.

The core (events, decoders, records, reading) is sans-IO and light: importing it loads
pydantic and orjson, never pandas, pyarrow, boto3 or an HTTP client, nor the layers above
it. Those load when first used: :func:`to_dataframe` (pandas), :class:`ModelSchema`,
:class:`SchemaMapper` and the ``ArthurError`` family (:mod:`arthur_capture.arthur`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from arthur_capture._api import iter_calls, iter_records, read_records
from arthur_capture._json import dumps_json
from arthur_capture._lazy import lazy_attributes as _lazy_attributes
from arthur_capture._version import __version__
from arthur_capture.decoders import (
    CSVDecoder,
    Decoder,
    DecoderRegistry,
    Inference,
    JSONDecoder,
    JSONLinesDecoder,
    Payload,
    default_registry,
    parse_media_type,
)
from arthur_capture.errors import (
    CaptureError,
    CoercionError,
    ConfigError,
    CountMismatchError,
    DecoderRegistryError,
    ExpansionError,
    ExportError,
    GroundTruthError,
    InvalidBase64Error,
    InvalidEventError,
    InvalidJSONError,
    InvalidPayloadError,
    InvalidSourceError,
    LineError,
    MappingError,
    MissingDependencyError,
    NameConflictError,
    ParquetError,
    PartnerIdTooLongError,
    PayloadError,
    Reason,
    RejectedError,
    SchemaError,
    SourceError,
    StorageError,
    UnknownContentTypeError,
)
from arthur_capture.events import CaptureData, CaptureEvent, CaptureSide, Encoding, EventMetadata
from arthur_capture.reading import (
    DEFAULT_MAX_LINE_BYTES,
    CaptureReader,
    CaptureResult,
    CaptureStream,
    Ledger,
    Lines,
    Named,
    ReaderOptions,
    RecordMapper,
    Source,
)
from arthur_capture.records import (
    MAX_PARTNER_ID_LENGTH,
    Call,
    InferenceRecord,
    Reject,
    expand,
    partner_inference_id,
)

if TYPE_CHECKING:
    from arthur_capture.arthur.errors import (
        ArthurAPIError,
        ArthurAuthError,
        ArthurError,
        ArthurUnavailableError,
    )
    from arthur_capture.arthur.mapping import SchemaMapper
    from arthur_capture.arthur.schema import ModelSchema
    from arthur_capture.sinks.dataframe import CaptureFrame, records_to_dataframe, to_dataframe


__all__ = [
    "DEFAULT_MAX_LINE_BYTES",
    "MAX_PARTNER_ID_LENGTH",
    "ArthurAPIError",
    "ArthurAuthError",
    "ArthurError",
    "ArthurUnavailableError",
    "CSVDecoder",
    "Call",
    "CaptureData",
    "CaptureError",
    "CaptureEvent",
    "CaptureFrame",
    "CaptureReader",
    "CaptureResult",
    "CaptureSide",
    "CaptureStream",
    "CoercionError",
    "ConfigError",
    "CountMismatchError",
    "Decoder",
    "DecoderRegistry",
    "DecoderRegistryError",
    "Encoding",
    "EventMetadata",
    "ExpansionError",
    "ExportError",
    "GroundTruthError",
    "Inference",
    "InferenceRecord",
    "InvalidBase64Error",
    "InvalidEventError",
    "InvalidJSONError",
    "InvalidPayloadError",
    "InvalidSourceError",
    "JSONDecoder",
    "JSONLinesDecoder",
    "Ledger",
    "LineError",
    "Lines",
    "MappingError",
    "MissingDependencyError",
    "ModelSchema",
    "NameConflictError",
    "Named",
    "ParquetError",
    "PartnerIdTooLongError",
    "Payload",
    "PayloadError",
    "ReaderOptions",
    "Reason",
    "RecordMapper",
    "Reject",
    "RejectedError",
    "SchemaError",
    "SchemaMapper",
    "Source",
    "SourceError",
    "StorageError",
    "UnknownContentTypeError",
    "__version__",
    "default_registry",
    "dumps_json",
    "expand",
    "iter_calls",
    "iter_records",
    "parse_media_type",
    "partner_inference_id",
    "read_records",
    "records_to_dataframe",
    "to_dataframe",
]

_LAZY = {
    "ArthurError": "arthur_capture.arthur.errors",
    "ArthurAPIError": "arthur_capture.arthur.errors",
    "ArthurAuthError": "arthur_capture.arthur.errors",
    "ArthurUnavailableError": "arthur_capture.arthur.errors",
    "to_dataframe": "arthur_capture.sinks.dataframe",
    "records_to_dataframe": "arthur_capture.sinks.dataframe",
    "CaptureFrame": "arthur_capture.sinks.dataframe",
    "ModelSchema": "arthur_capture.arthur.schema",
    "SchemaMapper": "arthur_capture.arthur.mapping",
}
"""Names of the layers above the core, loaded (with pandas, for the frames) on first use."""

__getattr__ = _lazy_attributes(__name__, _LAZY)
