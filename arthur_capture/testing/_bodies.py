"""Reading request bodies as Arthur takes them: JSON arrays, multipart forms, Parquet files.

Each reader raises :class:`RequestError` with the status and message to answer.
"""

from __future__ import annotations

import email.parser
import email.policy
import io
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson

from arthur_capture._json import dumps_json
from arthur_capture.arthur.contract import (
    GROUND_TRUTH_STAGES,
    INFERENCE_FIELDS,
    SEND_STAGES,
    new_inference,
)
from arthur_capture.arthur.mapping import SchemaMapper
from arthur_capture.dependencies import require
from arthur_capture.errors import MissingDependencyError
from arthur_capture.events import Encoding
from arthur_capture.reading import CaptureReader, Named
from arthur_capture.records import Reject

if TYPE_CHECKING:
    from collections.abc import Mapping

    from arthur_capture.arthur.schema import Attribute, ModelSchema

__all__ = [
    "BASE64_REFUSED",
    "CapturedInference",
    "RequestError",
    "capture_inferences",
    "json_array",
    "json_value",
    "multipart",
    "parquet_rows",
]

BASE64_REFUSED = (
    'encoding "BASE64" is not supported by the SageMaker Data Capture integration; '
    "capture CSV or JSON content types (CaptureContentTypeHeader)"
)
"""The failure message of an event with a ``BASE64`` side (Arthur's endpoint refuses them)."""


class RequestError(Exception):
    """A request refused as a whole: the status and message to answer."""

    def __init__(self, status: int, message: str) -> None:
        """Keep the status and the message."""
        super().__init__(message)
        self.status = status
        self.message = message


def json_value(body: bytes) -> Any:
    """The JSON value of ``body`` (400 when it is not JSON)."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise RequestError(400, f"the body is not valid JSON: {exc}") from None


def json_array(body: bytes) -> list[Any]:
    """The JSON array of ``body`` (400 when it is something else)."""
    value = json_value(body)
    if not isinstance(value, list):
        raise RequestError(400, "the body must be a JSON array")
    return value


def multipart(content_type: str, body: bytes) -> dict[str, tuple[str | None, str, bytes]]:
    """``name → (filename, content type, bytes)`` of a ``multipart/form-data`` body."""
    if not content_type.lower().startswith("multipart/form-data"):
        raise RequestError(415, "the body must be multipart/form-data")
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    if not message.is_multipart():
        raise RequestError(400, "the multipart body cannot be read")
    fields: dict[str, tuple[str | None, str, bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        fields[name] = (part.get_filename(), part.get_content_type(), data)
    return fields


def parquet_rows(data: bytes, attributes: Mapping[str, Attribute]) -> list[Any]:
    """A Parquet file's rows as ``NewInference`` objects (415 without pyarrow, 400 if unreadable).

    A flat row's columns go where the model's ``attributes`` say: ``inference_data`` for the
    stages sent with an inference, ``ground_truth_data`` for ground truth; Arthur's own fields
    and unknown columns stay on top. Times become ISO 8601 text.
    """
    try:
        pq = require("pyarrow.parquet", "reading Parquet uploads")
    except MissingDependencyError:
        raise RequestError(415, "this server needs pyarrow to read Parquet") from None
    try:
        table = pq.read_table(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001 - pyarrow raises many kinds for bad files
        msg = f"inference_data is not a readable Parquet file: {exc}"
        raise RequestError(400, msg) from None
    return [_nest(row, attributes) for row in table.to_pylist()]


def _nest(row: dict[str, Any], attributes: Mapping[str, Attribute]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for name, value in row.items():
        attr = attributes.get(name)
        if isinstance(value, datetime):
            value = value.isoformat()  # noqa: PLW2901 - normalising in place
        if name in INFERENCE_FIELDS:
            obj[name] = value
        elif attr is not None and attr.stage in SEND_STAGES:
            obj.setdefault("inference_data", {})[name] = value
        elif attr is not None and attr.stage in GROUND_TRUTH_STAGES:
            obj.setdefault("ground_truth_data", {})[name] = value
        else:
            obj[name] = value
    obj.setdefault("inference_data", {})
    return obj


CapturedInference = tuple[Any, str | None, int | None]
"""One inference of a capture file: its ``NewInference`` object (as JSON reads it), its
``event_id`` and its ``inference_index_in_event``."""


def capture_inferences(
    data: bytes, schema: ModelSchema, filename: str
) -> tuple[list[CapturedInference], list[dict[str, Any]]]:
    """A SageMaker capture file as Arthur's endpoint reads it: the inferences, and the failures.

    Each line is read with the library's reader and its inferences mapped onto the model
    (as ``arthur-capture upload --schema`` maps them); partner IDs are the integration's
    (``inferenceId`` or ``eventId``, ``_<index>`` in a batch). An event with a ``BASE64`` side
    is refused whole (one failure, index 0); a line that cannot be read is one failure
    (index ``null``); an inference the model refuses, one failure with its index.
    """
    reader = CaptureReader(mapper=SchemaMapper(schema))
    inferences: list[CapturedInference] = []
    failures: list[dict[str, Any]] = []
    for item in reader.iter_calls(Named(data, filename)):
        if isinstance(item, Reject):
            failures.append(_capture_failure(item.event_id, item.index, item.message))
            continue
        event_id = item.event.event_metadata.event_id
        capture = item.event.capture_data
        if any(
            side is not None and side.encoding is Encoding.BASE64
            for side in (capture.endpoint_input, capture.endpoint_output)
        ):
            failures.append(_capture_failure(event_id, 0, BASE64_REFUSED))
            continue
        for outcome in item.items():
            if isinstance(outcome, Reject):
                failures.append(_capture_failure(event_id, outcome.index, outcome.message))
            else:
                obj = orjson.loads(dumps_json(new_inference(outcome)))  # as the wire gives it
                inferences.append((obj, event_id, outcome.index))
    return inferences, failures


def _capture_failure(event_id: str | None, index: int | None, message: str) -> dict[str, Any]:
    return {
        "message": message,
        "status": 400,
        "event_id": event_id,
        "inference_index_in_event": index,
    }
