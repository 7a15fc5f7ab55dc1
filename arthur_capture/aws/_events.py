"""The S3 objects a Lambda event names: S3 notifications, SQS messages, EventBridge events.

Sans-IO and standard library only. Three shapes reach the handler:

- an S3 event notification (``{"Records": [{"eventSource": "aws:s3", ...}, ...]}``), with any
  number of records, keys URL-encoded as S3 sends them (``+`` for a space); S3's
  ``s3:TestEvent`` (sent when a notification is configured) names nothing;
- an SQS batch (``{"Records": [{"eventSource": "aws:sqs", "body": ...}, ...]}``) whose bodies
  are S3 notifications or EventBridge events, as JSON text (or an SNS notification whose
  ``Message`` is an S3 notification);
- an EventBridge "Object Created" event (``detail.bucket.name``, ``detail.object.key`` not
  encoded, ``version-id``, ``etag``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final, Literal
from urllib.parse import unquote_plus

__all__ = ["EventShapeError", "ObjectRef", "event_kind", "objects_of", "objects_of_body"]

EventKind = Literal["sqs", "s3", "eventbridge", "unknown"]

_CREATED: Final = "ObjectCreated"


class EventShapeError(ValueError):
    """An event, or an SQS message's body, is not a shape the handler reads."""


@dataclass(frozen=True, slots=True)
class ObjectRef:
    """One S3 object an event names."""

    bucket: str
    """The bucket's name."""
    key: str
    """The object's key, decoded."""
    version_id: str | None = None
    """Its version, in a versioned bucket."""
    etag: str | None = None
    """Its ETag, without quotes."""

    @property
    def uri(self) -> str:
        """``s3://bucket/key``."""
        return f"s3://{self.bucket}/{self.key}"

    def identity(self) -> dict[str, str]:
        """What names this object's content: bucket, key, and its version or else its ETag."""
        found = {"bucket": self.bucket, "key": self.key}
        if self.version_id:
            found["version"] = self.version_id
        elif self.etag:
            found["etag"] = self.etag
        return found


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise EventShapeError(f"{what} is missing or not a string")
    return value


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _optional(value: Any) -> str | None:
    return value.strip('"') if isinstance(value, str) and value else None


def event_kind(event: Any) -> EventKind:
    """Which shape ``event`` has (``"unknown"`` when none)."""
    if not isinstance(event, dict):
        return "unknown"
    records = event.get("Records")
    if isinstance(records, list):
        sources = {r.get("eventSource") for r in records if isinstance(r, dict)}
        if sources == {"aws:sqs"}:
            return "sqs"
        return "s3"
    if "detail" in event and event.get("source") == "aws.s3":
        return "eventbridge"
    if event.get("Event") == "s3:TestEvent":
        return "s3"
    return "unknown"


def _s3_record(record: Any) -> ObjectRef | None:
    if not isinstance(record, dict):
        raise EventShapeError("an S3 notification record is not an object")
    name = record.get("eventName")
    if isinstance(name, str) and not name.startswith(_CREATED):
        return None  # a deletion, a restore...: nothing to read
    s3 = record.get("s3")
    if not isinstance(s3, dict):
        raise EventShapeError("an S3 notification record has no 's3' object")
    bucket = _mapping(s3.get("bucket"))
    obj = _mapping(s3.get("object"))
    key = unquote_plus(_text(obj.get("key"), "s3.object.key"), encoding="utf-8")
    return ObjectRef(
        bucket=_text(bucket.get("name"), "s3.bucket.name"),
        key=key,
        version_id=_optional(obj.get("versionId")),
        etag=_optional(obj.get("eTag")),
    )


def _eventbridge(event: dict[str, Any]) -> list[ObjectRef]:
    if event.get("detail-type") not in (None, "Object Created"):
        return []
    detail = event.get("detail")
    if not isinstance(detail, dict):
        raise EventShapeError("an EventBridge event has no 'detail' object")
    bucket = _mapping(detail.get("bucket"))
    obj = _mapping(detail.get("object"))
    return [
        ObjectRef(
            bucket=_text(bucket.get("name"), "detail.bucket.name"),
            key=_text(obj.get("key"), "detail.object.key"),
            version_id=_optional(obj.get("version-id")),
            etag=_optional(obj.get("etag")),
        )
    ]


def objects_of(event: Any) -> list[ObjectRef]:
    """The objects an S3 notification or an EventBridge event names, in order.

    S3's test event and records of other event types name none.

    Raises:
        EventShapeError: It is neither, or a record lacks its bucket or key.
    """
    if not isinstance(event, dict):
        raise EventShapeError("the event is not a JSON object")
    if event.get("Event") == "s3:TestEvent":
        return []
    records = event.get("Records")
    if isinstance(records, list):
        found = [_s3_record(record) for record in records]
        return [ref for ref in found if ref is not None]
    if "detail" in event:
        return _eventbridge(event)
    raise EventShapeError("not an S3 notification or an EventBridge event")


def objects_of_body(body: Any) -> list[ObjectRef]:
    """The objects an SQS message's body names (an S3 notification or an EventBridge event).

    Raises:
        EventShapeError: The body is not JSON, or not one of these shapes.
    """
    if not isinstance(body, str):
        raise EventShapeError("the message has no body")
    try:
        value = json.loads(body)
        if isinstance(value, dict) and value.get("Type") == "Notification":
            value = json.loads(value.get("Message") or "")  # S3 -> SNS -> SQS
    except ValueError as exc:
        raise EventShapeError(f"the message body is not JSON: {exc}") from None
    return objects_of(value)
