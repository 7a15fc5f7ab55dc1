"""``application/json``: one JSON document per body (the documented and the wild layouts)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import orjson

from arthur_capture.decoders._shapes import DEFAULT_MAX_DEPTH, document_inferences
from arthur_capture.errors import InvalidPayloadError, Reason

if TYPE_CHECKING:
    from arthur_capture.decoders._registry import Inference, Payload

__all__ = ["JSONDecoder", "loads_payload"]


def loads_payload(payload: Payload, text: str | None = None) -> object:
    """Parse JSON from a payload (or from ``text``) with orjson, translating its errors.

    orjson is strict: it refuses NaN/Infinity, numbers that overflow, lone surrogates,
    a BOM and invalid UTF-8, which is the behaviour we want for payloads.
    """
    try:
        if text is not None:
            return orjson.loads(text)
        if payload.charset.lower().replace("_", "-") in ("utf-8", "utf8"):
            return orjson.loads(payload.bytes())
        return orjson.loads(payload.text())
    except orjson.JSONDecodeError as exc:
        deep = "depth limit" in str(exc)
        reason = Reason.NESTING_TOO_DEEP if deep else Reason.INVALID_PAYLOAD
        raise InvalidPayloadError(f"body is not valid JSON: {exc}", reason) from exc


class JSONDecoder:
    """Decode ``application/json`` bodies by the rules in :func:`document_inferences`.

    Args:
        max_depth: How deep one value may nest before the payload is refused.
    """

    media_types: tuple[str, ...] = ("application/json", "text/json")

    def __init__(self, *, max_depth: int = DEFAULT_MAX_DEPTH) -> None:
        """Create the decoder."""
        self.max_depth = max_depth

    def decode(self, payload: Payload) -> list[Inference]:
        """Parse the body and read it as a list of inferences."""
        return document_inferences(loads_payload(payload), self.max_depth)

    def __repr__(self) -> str:
        """Name the decoder and its limit."""
        return f"JSONDecoder(max_depth={self.max_depth})"
