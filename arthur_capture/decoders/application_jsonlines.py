"""``application/jsonlines`` and its aliases: one inference per non-empty line."""

from __future__ import annotations

from typing import TYPE_CHECKING

from arthur_capture.decoders._shapes import DEFAULT_MAX_DEPTH, Inferences, item
from arthur_capture.decoders.application_json import loads_counted
from arthur_capture.errors import InvalidPayloadError, Reason

if TYPE_CHECKING:
    from arthur_capture.decoders._registry import Inference, Payload

__all__ = ["JSONLinesDecoder"]


class JSONLinesDecoder:
    """Decode JSON Lines: split on ``\\n`` only, skip blank lines, read each line as one item.

    Numbers are read as by :func:`~arthur_capture.decoders.application_json.loads_counted`
    (non-finite ones as ``null``, counted in the :class:`~arthur_capture.decoders._shapes.
    Inferences` returned; integers beyond 64 bits exactly).

    Args:
        max_depth: How deep one value may nest before the payload is refused.
    """

    media_types: tuple[str, ...] = (
        "application/jsonlines",
        "application/x-jsonlines",
        "application/jsonl",
        "application/x-jsonl",
        "application/json-lines",
        "application/x-ndjson",
        "application/ndjson",
        "text/jsonl",
    )

    def __init__(self, *, max_depth: int = DEFAULT_MAX_DEPTH) -> None:
        """Create the decoder."""
        self.max_depth = max_depth

    def decode(self, payload: Payload) -> list[Inference]:
        """Read each non-blank line as one inference."""
        inferences: list[Inference] = []
        non_finite = 0
        for number, line in enumerate(payload.text().split("\n"), start=1):
            if not line.strip(" \t\r"):
                continue
            try:
                value, line_non_finite = loads_counted(payload, line)
            except InvalidPayloadError as exc:
                msg = f"JSON Lines line {number}: {exc.message}"
                raise InvalidPayloadError(msg, exc.reason or Reason.INVALID_PAYLOAD) from exc
            non_finite += line_non_finite
            inferences.append(item(value, self.max_depth))
        if not inferences:
            raise InvalidPayloadError("the JSON Lines body has no line: it holds no inference")
        return Inferences.counted(inferences, non_finite)

    def __repr__(self) -> str:
        """Name the decoder and its limit."""
        return f"JSONLinesDecoder(max_depth={self.max_depth})"
