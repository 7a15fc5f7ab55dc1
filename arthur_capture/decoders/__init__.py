"""Pluggable payload decoders, keyed by media type.

A decoder turns one side's body into an ordered list of inferences. Each inference
is either a ``list`` of column-ordered values or a ``dict`` of name → value.

Decoders are looked up by the side's ``observedContentType`` after normalising it:
parameters are dropped and the bare type is lower-cased (``"Text/CSV; charset=utf-8"``
→ ``"text/csv"``). Third-party decoders are registered in code with
:meth:`DecoderRegistry.register` or through the entry-point group
``arthur_capture.decoders``, which is read lazily, on the first lookup miss.

The built-in decoders, one module per media type: :class:`CSVDecoder` (``text/csv``),
:class:`JSONDecoder` (``application/json``) and :class:`JSONLinesDecoder`
(``application/jsonlines``). The layouts they read are in ``docs/decoders.md``.
"""

from __future__ import annotations

from arthur_capture.decoders._registry import (
    ENTRY_POINT_GROUP,
    Decoder,
    DecoderRegistry,
    Inference,
    Payload,
    parse_media_type,
)
from arthur_capture.decoders._shapes import DEFAULT_MAX_DEPTH, LAYOUT_NAMES, nests_deeper
from arthur_capture.decoders.application_json import JSONDecoder
from arthur_capture.decoders.application_jsonlines import JSONLinesDecoder
from arthur_capture.decoders.text_csv import CSVDecoder, Rows

__all__ = [
    "DEFAULT_MAX_DEPTH",
    "ENTRY_POINT_GROUP",
    "LAYOUT_NAMES",
    "MAX_DEPTH_LIMIT",
    "CSVDecoder",
    "Decoder",
    "DecoderRegistry",
    "Inference",
    "JSONDecoder",
    "JSONLinesDecoder",
    "Payload",
    "Rows",
    "default_registry",
    "nests_deeper",
    "parse_media_type",
]

MAX_DEPTH_LIMIT = 200
"""The largest ``max_depth`` the JSON decoders take: deeper values could not be written as
JSON (orjson writes at most 254 levels, and a value sits below an inference object and a
batch)."""


def default_registry(
    *, max_depth: int | None = None, csv_header: bool = False, csv_types: bool = True
) -> DecoderRegistry:
    """A new registry holding the built-in decoders, reading entry points lazily.

    Args:
        max_depth: How deep one JSON or JSON Lines value may nest (default 32, at most
            :data:`MAX_DEPTH_LIMIT`).
        csv_header: Read the first row of every CSV body as column names.
        csv_types: Type CSV fields as JSON numbers where they look like one; when false they
            stay text (for a model schema to type).

    Raises:
        ValueError: ``max_depth`` is out of range.
    """
    depth = DEFAULT_MAX_DEPTH if max_depth is None else max_depth
    if not 0 <= depth <= MAX_DEPTH_LIMIT:
        raise ValueError(f"max_depth must be between 0 and {MAX_DEPTH_LIMIT}")
    return DecoderRegistry(
        CSVDecoder(header=csv_header, infer_types=csv_types),
        JSONDecoder(max_depth=depth),
        JSONLinesDecoder(max_depth=depth),
        load_entry_points=True,
    )
