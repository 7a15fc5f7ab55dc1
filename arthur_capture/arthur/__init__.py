"""The Arthur layer: Arthur's contract, model schemas and mapping, ground truth, the uploader.

Light parts load at once (they need pydantic and orjson only): :mod:`.contract`,
:mod:`.schema`, :mod:`.mapping`, :mod:`.ground_truth`. The uploader (:mod:`.client`,
extra ``arthur-capture[arthur]``: httpx, tenacity) loads on first use of one of its names::

    from arthur_capture.arthur import ArthurClient, ModelSchema, SchemaMapper
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from arthur_capture.arthur.contract import (
    MAX_PARTNER_ID_LENGTH,
    NEW_INFERENCE_FIELDS,
    RESERVED_NAMES,
    Stage,
    ValueType,
    new_inference,
)
from arthur_capture.arthur.ground_truth import GroundTruth, GroundTruthJoiner
from arthur_capture.arthur.mapping import SchemaMapper, coerce
from arthur_capture.arthur.schema import Attribute, AttributeCategory, ModelSchema, SchemaLike

if TYPE_CHECKING:
    from arthur_capture.arthur._secret import Secret
    from arthur_capture.arthur.client import (
        DEFAULT_CHUNK_SIZE,
        MAX_CHUNK_SIZE,
        ArthurClient,
        ChunkFailure,
        FailedRecord,
        FileUploadResult,
        Refusal,
        RetryPolicy,
        UploadResult,
    )

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "MAX_CHUNK_SIZE",
    "MAX_PARTNER_ID_LENGTH",
    "NEW_INFERENCE_FIELDS",
    "RESERVED_NAMES",
    "ArthurClient",
    "Attribute",
    "AttributeCategory",
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
    "UploadResult",
    "ValueType",
    "coerce",
    "new_inference",
]

_CLIENT_NAMES = frozenset(
    {
        "DEFAULT_CHUNK_SIZE",
        "MAX_CHUNK_SIZE",
        "ArthurClient",
        "ChunkFailure",
        "FailedRecord",
        "FileUploadResult",
        "Refusal",
        "RetryPolicy",
        "UploadResult",
    }
)


def __getattr__(name: str) -> Any:
    """Load the uploader (and httpx) only when one of its names is first used."""
    if name in _CLIENT_NAMES:
        from arthur_capture.arthur import client  # noqa: PLC0415

        return getattr(client, name)
    if name == "Secret":
        from arthur_capture.arthur._secret import Secret  # noqa: PLC0415

        return Secret
    msg = f"module 'arthur_capture.arthur' has no attribute {name!r}"
    raise AttributeError(msg)
