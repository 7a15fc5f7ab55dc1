"""Typed models of one SageMaker Data Capture line.

Wire names are camelCase (``captureData``), Python names snake_case (``capture_data``).
Unknown keys are kept (``model_extra``) and never break parsing.
"""

from __future__ import annotations

import enum
from typing import Annotated

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
)
from pydantic.alias_generators import to_camel

__all__ = [
    "CaptureData",
    "CaptureEvent",
    "CaptureSide",
    "Encoding",
    "EventMetadata",
]


class Encoding(enum.StrEnum):
    """How SageMaker stored a side's body in ``data``."""

    CSV = "CSV"
    """``data`` is the body's text (the content type was in ``CsvContentTypes``)."""
    JSON = "JSON"
    """``data`` is the body's text (the content type was in ``JsonContentTypes``)."""
    BASE64 = "BASE64"
    """``data`` is standard base64 of the body's bytes (every other content type)."""


class _WireModel(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="allow",
        frozen=True,
        str_strip_whitespace=False,
    )


class CaptureSide(_WireModel):
    """One side of a call: ``captureData.endpointInput`` or ``captureData.endpointOutput``."""

    observed_content_type: str | None = None
    """The request's or response's ``Content-Type``, parameters included; may be absent."""
    mode: str | None = None
    """``"INPUT"`` or ``"OUTPUT"``; repeats what the key says."""
    data: str
    """The body: text for ``CSV`` and ``JSON``, base64 for ``BASE64``."""
    encoding: Encoding
    """How ``data`` holds the body."""


class CaptureData(_WireModel):
    """The captured sides of a call; either may be missing (input-only or output-only capture)."""

    endpoint_input: CaptureSide | None = None
    """The request, when the capture mode includes ``Input``."""
    endpoint_output: CaptureSide | None = None
    """The response, when the capture mode includes ``Output``."""


def _not_a_number(value: object) -> object:
    """Refuse epoch numbers: ``inferenceTime`` is ISO 8601 text (pydantic would read numbers)."""
    if isinstance(value, (int, float)):
        msg = "inferenceTime must be an ISO 8601 string, not a number"
        raise ValueError(msg)  # noqa: TRY004 - pydantic turns ValueError into a validation error
    return value


class EventMetadata(_WireModel):
    """``eventMetadata``: the call's identity and time."""

    event_id: Annotated[str, StringConstraints(min_length=1)]
    """SageMaker's ID for the call (one per call, not per inference)."""
    inference_id: str | None = None
    """The caller's ``InferenceId``, free text, when the caller passed one."""
    inference_time: Annotated[AwareDatetime, BeforeValidator(_not_a_number)]
    """When the call was served; always timezone-aware."""
    custom_attributes: list[str] | None = None
    """The caller's ``CustomAttributes`` header, as opaque strings."""


class CaptureEvent(_WireModel):
    """One line of a capture file: one InvokeEndpoint call."""

    capture_data: CaptureData
    """The captured request and response."""
    event_metadata: EventMetadata
    """IDs and time of the call."""
    event_version: str = Field(default="0")
    """The line format's version; ``"0"`` in every known capture."""
