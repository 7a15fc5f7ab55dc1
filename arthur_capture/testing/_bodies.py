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

from arthur_capture.arthur.contract import GROUND_TRUTH_STAGES, INFERENCE_FIELDS, SEND_STAGES
from arthur_capture.dependencies import require
from arthur_capture.errors import MissingDependencyError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from arthur_capture.arthur.schema import Attribute

__all__ = ["RequestError", "json_array", "json_value", "multipart", "parquet_rows"]


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
