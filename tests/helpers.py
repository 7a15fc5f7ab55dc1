"""Small builders shared by the decoder tests."""

from __future__ import annotations

import base64

from arthur_capture import CaptureSide


def captured_side(data: str, content_type: str | None, encoding: str = "BASE64") -> CaptureSide:
    """One captured side, as SageMaker writes it (BASE64 unless told otherwise)."""
    return CaptureSide.model_validate(
        {"observedContentType": content_type, "data": data, "encoding": encoding}
    )


def b64(raw: bytes) -> str:
    """Standard base64 of ``raw``, as text."""
    return base64.b64encode(raw).decode("ascii")
