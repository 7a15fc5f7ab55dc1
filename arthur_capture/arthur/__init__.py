"""The Arthur layer: Arthur's contract, model schemas and mapping, ground truth, the uploader.

Light parts load at once (they need pydantic and orjson only): :mod:`.contract`,
:mod:`.schema`, :mod:`.mapping`, :mod:`.ground_truth`, and the uploader's errors (from
:mod:`arthur_capture.errors`). The uploader's other names load on first use, each from its
own module: the results (:mod:`.results`, plain data) and the chunk sizes (:mod:`._items`)
without any extra; :class:`RetryPolicy` (:mod:`._retry`) with tenacity; :class:`ArthurClient`
(:mod:`.client`) with the ``arthur-capture[arthur]`` extra (httpx, tenacity)::

    from arthur_capture.arthur import ArthurClient, ModelSchema, SchemaMapper
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from arthur_capture._lazy import lazy_attributes as _lazy_attributes
from arthur_capture.arthur.contract import (
    MAX_PARTNER_ID_LENGTH,
    NEW_INFERENCE_FIELDS,
    RESERVED_NAMES,
    Stage,
    ValueType,
    new_inference,
)
from arthur_capture.arthur.errors import (
    ArthurAPIError,
    ArthurAuthError,
    ArthurError,
    ArthurUnavailableError,
    UploadInterrupted,
)
from arthur_capture.arthur.ground_truth import GroundTruth, GroundTruthJoiner
from arthur_capture.arthur.mapping import SchemaMapper, coerce
from arthur_capture.arthur.schema import Attribute, AttributeCategory, ModelSchema, SchemaLike

if TYPE_CHECKING:
    from arthur_capture.arthur._items import DEFAULT_CHUNK_SIZE, MAX_CHUNK_SIZE
    from arthur_capture.arthur._retry import RetryPolicy
    from arthur_capture.arthur._secret import Secret
    from arthur_capture.arthur.client import ArthurClient
    from arthur_capture.arthur.results import (
        CaptureFileResult,
        ChunkFailure,
        FailedRecord,
        FileUploadResult,
        Refusal,
        UploadResult,
    )

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "MAX_CHUNK_SIZE",
    "MAX_PARTNER_ID_LENGTH",
    "NEW_INFERENCE_FIELDS",
    "RESERVED_NAMES",
    "ArthurAPIError",
    "ArthurAuthError",
    "ArthurClient",
    "ArthurError",
    "ArthurUnavailableError",
    "Attribute",
    "AttributeCategory",
    "CaptureFileResult",
    "ChunkFailure",
    "FailedRecord",
    "FileUploadResult",
    "GroundTruth",
    "GroundTruthJoiner",
    "ModelSchema",
    "Refusal",
    "RetryPolicy",
    "SchemaLike",
    "SchemaMapper",
    "Secret",
    "Stage",
    "UploadInterrupted",
    "UploadResult",
    "ValueType",
    "coerce",
    "new_inference",
]

_LAZY: Final = {
    "ArthurClient": "arthur_capture.arthur.client",
    "RetryPolicy": "arthur_capture.arthur._retry",
    "DEFAULT_CHUNK_SIZE": "arthur_capture.arthur._items",
    "MAX_CHUNK_SIZE": "arthur_capture.arthur._items",
    "CaptureFileResult": "arthur_capture.arthur.results",
    "ChunkFailure": "arthur_capture.arthur.results",
    "FailedRecord": "arthur_capture.arthur.results",
    "FileUploadResult": "arthur_capture.arthur.results",
    "Refusal": "arthur_capture.arthur.results",
    "UploadResult": "arthur_capture.arthur.results",
    "Secret": "arthur_capture.arthur._secret",
}
"""Names loaded on first use, and the module (in this package) each comes from."""


__getattr__ = _lazy_attributes(__name__, _LAZY)
