"""Arthur's inference contract, written once: what Arthur's v3 API takes and refuses.

Every part of the library that speaks to Arthur, or pretends to be Arthur, builds and
checks Arthur's objects here: the JSON-lines and Parquet writers, the uploader, the
Spark upload and the local Arthur server of :mod:`arthur_capture.testing`.

- The inference object (``NewInference``)::

      {"partner_inference_id": "...", "inference_timestamp": "2024-01-19T19:27:57+00:00",
       "inference_data": {...}, "batch_id": "..."}   # batch_id for batch models only

- The ground-truth update: ``partner_inference_id``, ``ground_truth_timestamp``,
  ``ground_truth_data``.
- The partner inference ID: at most :data:`MAX_PARTNER_ID_LENGTH` characters (the rule that
  builds it, :func:`~arthur_capture.records.partner_inference_id`, is the core's, since the
  reader names every inference).
- Times are timezone-aware (:func:`is_aware`, :func:`aware_time`).
- Reserved names (:data:`RESERVED_NAMES`): the inference object's own fields, and the names
  of the payload layouts Arthur's SageMaker integration reads.
- Attribute stages and value types (:class:`Stage`, :class:`ValueType`).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from arthur_capture.decoders import LAYOUT_NAMES
from arthur_capture.errors import CoercionError, brief
from arthur_capture.records import MAX_PARTNER_ID_LENGTH, check_partner_id

if TYPE_CHECKING:
    from collections.abc import Mapping

    from arthur_capture.records import InferenceRecord

__all__ = [
    "GROUND_TRUTH_FIELDS",
    "GROUND_TRUTH_STAGES",
    "INFERENCE_FIELDS",
    "LAYOUT_NAMES",
    "MAX_PARTNER_ID_LENGTH",
    "NEW_INFERENCE_FIELDS",
    "RESERVED_NAMES",
    "SEND_STAGES",
    "Stage",
    "ValueType",
    "aware_time",
    "check_partner_id",
    "ground_truth_update",
    "inference_object",
    "is_aware",
    "new_inference",
    "object_problem",
]

NEW_INFERENCE_FIELDS: Final = (
    "partner_inference_id",
    "inference_timestamp",
    "inference_data",
    "batch_id",
    "ground_truth_timestamp",
    "ground_truth_data",
)
"""The fields of Arthur's ``NewInference`` object, in the order Arthur documents them."""

INFERENCE_FIELDS: Final = frozenset(NEW_INFERENCE_FIELDS)
"""The top-level keys of Arthur's inference object, which no attribute may be named."""

GROUND_TRUTH_FIELDS: Final = ("partner_inference_id", "ground_truth_timestamp", "ground_truth_data")
"""The fields of one ground-truth update (an element of the ``PATCH`` body)."""

RESERVED_NAMES: Final = INFERENCE_FIELDS | LAYOUT_NAMES
"""Names Arthur refuses for an attribute or a value: its inference fields and the layouts."""


class Stage(enum.StrEnum):
    """An attribute's stage in Arthur's model."""

    PIPELINE_INPUT = "PIPELINE_INPUT"
    """A model input (a request value)."""
    PREDICT_FUNCTION_INPUT = "PREDICT_FUNCTION_INPUT"
    """An input of the predict function (not in captures)."""
    NON_INPUT_DATA = "NON_INPUT_DATA"
    """Extra data sent with an inference; optional here."""
    PREDICTED_VALUE = "PREDICTED_VALUE"
    """A model output (a response value)."""
    GROUND_TRUTH = "GROUND_TRUTH"
    """A label, sent later as ground truth."""
    GROUND_TRUTH_CLASS = "GROUND_TRUTH_CLASS"
    """A class label (single-column ground truth), sent later."""


SEND_STAGES: Final = (Stage.PIPELINE_INPUT, Stage.NON_INPUT_DATA, Stage.PREDICTED_VALUE)
"""The stages whose attributes are sent with an inference, in column order."""

GROUND_TRUTH_STAGES: Final = (Stage.GROUND_TRUTH, Stage.GROUND_TRUTH_CLASS)
"""The stages whose attributes are sent later, as ground truth."""


class ValueType(enum.StrEnum):
    """An attribute's value type in Arthur's model."""

    INTEGER = "INTEGER"
    """A 64-bit integer."""
    FLOAT = "FLOAT"
    """A finite float (non-finite values become null)."""
    STRING = "STRING"
    """A string."""
    BOOLEAN = "BOOLEAN"
    """``true`` or ``false``."""
    TIMESTAMP = "TIMESTAMP"
    """A timezone-aware ISO 8601 time."""
    UNSTRUCTURED_TEXT = "UNSTRUCTURED_TEXT"
    """Free text (NLP models)."""
    IMAGE = "IMAGE"
    """An image reference (passed through)."""
    BOUNDING_BOX = "BOUNDING_BOX"
    """Object-detection boxes (passed through)."""
    TOKENS = "TOKENS"
    """A list of tokens (passed through)."""
    TOKEN_LIKELIHOODS = "TOKEN_LIKELIHOODS"  # noqa: S105 - an enum value, not a secret
    """Token likelihoods (passed through)."""
    RANKED_LIST = "RANKED_LIST"
    """A ranked list (passed through)."""
    ARRAY_STRING = "ARRAY(STRING)"
    """A list of strings."""
    TIME_SERIES = "TIME_SERIES"
    """A list of ``{"timestamp", "value"}`` (passed through)."""


def aware_time(value: Any) -> datetime:
    """A timezone-aware time from a ``datetime`` or ISO 8601 text, as Arthur requires.

    Raises:
        CoercionError: The value is not a time, or it has no timezone.
    """
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            raise CoercionError(f"{brief(value)} is not an ISO 8601 TIMESTAMP") from None
    else:
        raise CoercionError(f"{brief(value)} is not a TIMESTAMP")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise CoercionError(f"{brief(value)} is a TIMESTAMP without a timezone")
    return moment


def is_aware(value: Any) -> bool:
    """Whether ``value`` is a timezone-aware ``datetime`` or ISO 8601 text (:func:`aware_time`)."""
    try:
        aware_time(value)
    except CoercionError:
        return False
    return True


def inference_object(
    partner_inference_id: str,
    inference_timestamp: Any,
    inference_data: Mapping[str, Any],
    *,
    batch_id: str | None = None,
) -> dict[str, Any]:
    """Arthur's ``NewInference`` object (``batch_id`` only when given)."""
    body: dict[str, Any] = {
        "partner_inference_id": partner_inference_id,
        "inference_timestamp": inference_timestamp,
        "inference_data": inference_data,
    }
    if batch_id is not None:
        body["batch_id"] = batch_id
    return body


def new_inference(record: InferenceRecord, *, batch_id: str | None = None) -> dict[str, Any]:
    """One record as Arthur's ``NewInference`` object (``batch_id`` only when given)."""
    return inference_object(
        record.partner_inference_id,
        record.inference_timestamp,
        {**record.inputs, **record.outputs},
        batch_id=batch_id,
    )


def ground_truth_update(
    partner_inference_id: str, ground_truth_timestamp: Any, ground_truth_data: Mapping[str, Any]
) -> dict[str, Any]:
    """One ground-truth update, an element of Arthur's ``PATCH`` body."""
    return {
        "partner_inference_id": partner_inference_id,
        "ground_truth_timestamp": ground_truth_timestamp,
        "ground_truth_data": ground_truth_data,
    }


def object_problem(obj: Mapping[str, Any], time_key: str, data_key: str) -> str | None:
    """Why Arthur would refuse ``obj`` outright, or ``None``.

    Checks the partner inference ID (a non-empty string within the limit), that ``time_key``
    holds a timezone-aware time, and that ``data_key`` holds an object.
    """
    partner_id = obj.get("partner_inference_id")
    if not isinstance(partner_id, str) or not partner_id:
        return "partner_inference_id is missing or not a string"
    if len(partner_id) > MAX_PARTNER_ID_LENGTH:
        return (
            f"partner_inference_id is {len(partner_id)} characters; Arthur allows "
            f"{MAX_PARTNER_ID_LENGTH}"
        )
    if time_key not in obj or obj[time_key] is None:
        return f"{time_key} is missing"
    if not is_aware(obj[time_key]):
        return f"{time_key} is not a timezone-aware ISO 8601 time"
    if not isinstance(obj.get(data_key), dict):
        return f"{data_key} is missing or not an object"
    return None
