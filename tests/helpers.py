"""Small builders shared by the tests."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

from arthur_capture import CaptureSide, InferenceRecord

UPLOAD_TIME = datetime(2024, 1, 19, 19, 27, 57, tzinfo=UTC)
"""The inference time of :func:`upload_record`'s records."""


def captured_side(data: str, content_type: str | None, encoding: str = "BASE64") -> CaptureSide:
    """One captured side, as SageMaker writes it (BASE64 unless told otherwise)."""
    return CaptureSide.model_validate(
        {"observedContentType": content_type, "data": data, "encoding": encoding}
    )


def b64(raw: bytes) -> str:
    """Standard base64 of ``raw``, as text."""
    return base64.b64encode(raw).decode("ascii")


def upload_record(
    i: int,
    *,
    prefix: str = "evt-",
    inputs: dict[str, Any] | None = None,
    outputs: dict[str, Any] | None = None,
) -> InferenceRecord:
    """Record ``i`` of an upload: partner ID ``<prefix><i>``, line ``i + 1`` of capture.jsonl."""
    return InferenceRecord(
        partner_inference_id=f"{prefix}{i}",
        inference_timestamp=UPLOAD_TIME,
        inputs={"age": float(i)} if inputs is None else inputs,
        outputs={"score": 0.5} if outputs is None else outputs,
        event_id=f"{prefix}{i}",
        inference_id=None,
        index=0,
        batch_size=1,
        source="capture.jsonl",
        line_number=i + 1,
    )
