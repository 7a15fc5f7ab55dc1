"""Capture lines made ready for Arthur's SageMaker endpoint, validated here first.

Arthur's ``POST /models/{id}/inferences/integrations/sagemaker_data_capture`` takes a capture
file as it is (multipart field ``inference_data``, a name ending ``.jsonl``), but refuses
``"encoding": "BASE64"`` sides, and reports a bad line only after the fact. This sink reads
the file with the library's reader first and keeps a line only when its whole call decoded
and paired, and none of its inferences was rejected (with a ``mapper``, a model schema checks
them too); any other line is held back whole, and its rejects are listed::

    from arthur_capture.sinks.forward import prepare_capture_file

    prepared = prepare_capture_file("capture.jsonl")
    client.send_capture_file(prepared.body, filename="capture.jsonl")

A kept line goes out byte for byte as it came, unless a side is ``BASE64``: that side is
re-encoded as the text its content type names (a CSV type: ``"encoding": "CSV"``; a JSON or
JSON Lines type: ``"encoding": "JSON"``; the body's ``charset`` is honoured) and the line is
written again as compact JSON, every other field (``eventMetadata``, ``eventVersion``, the
other side, unknown keys) as it was. A ``BASE64`` side of any other content type (e.g.
``application/x-npy``) has no such text: its line is held back as ``unsupported_encoding``.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Unpack

import orjson

from arthur_capture._json import dumps_json
from arthur_capture.decoders import Payload, parse_media_type
from arthur_capture.errors import CaptureError, Reason, RejectedError
from arthur_capture.events import Encoding
from arthur_capture.reading import CaptureReader, Ledger
from arthur_capture.records import Reject

if TYPE_CHECKING:
    from arthur_capture.events import CaptureSide
    from arthur_capture.reading import ReaderOptions, Source
    from arthur_capture.records import Call

__all__ = ["PreparedCapture", "prepare_capture_file", "text_encoding"]

_JSON_SUBTYPES: Final = frozenset(
    {"json", "jsonlines", "jsonl", "x-jsonlines", "x-jsonl", "ndjson", "x-ndjson"}
)
_SIDES: Final = (("endpointInput", "request"), ("endpointOutput", "response"))


@dataclass(frozen=True, slots=True)
class PreparedCapture:
    """What :func:`prepare_capture_file` made: the lines to send, and the lines held back."""

    body: bytes
    """The kept lines, each ending in ``\\n`` (``b""`` when none was kept)."""
    lines: int
    """How many lines :attr:`body` holds."""
    rejects: list[Reject]
    """Every reject of every line held back (a line with several rejected inferences has
    several), in order."""
    ledger: Ledger
    """The reader's ledger, with each held-back call line moved from ``events`` to
    ``rejected_lines`` (its inferences leave ``records`` and ``rejected_inferences``), so
    ``lines == blank_lines + events + rejected_lines`` and ``events ==`` :attr:`lines`;
    ``rejects_by_reason`` counts every reject listed."""

    @property
    def held_back(self) -> int:
        """How many lines were held back (blank lines are neither kept nor held back)."""
        return self.ledger.rejected_lines


def text_encoding(content_type: str | None) -> Encoding | None:
    """The text encoding a ``BASE64`` side of this content type can be re-encoded as.

    ``Encoding.CSV`` for ``*/csv`` and ``*/*+csv``, ``Encoding.JSON`` for JSON and JSON Lines
    types (``application/json``, ``application/jsonlines``, ``*/*+json``…), else ``None``.
    """
    media_type, _ = parse_media_type(content_type)
    subtype = media_type.partition("/")[2]
    if subtype == "csv" or subtype.endswith("+csv"):
        return Encoding.CSV
    if subtype in _JSON_SUBTYPES or subtype.endswith("+json"):
        return Encoding.JSON
    return None


class _HeldBack(Exception):  # noqa: N818 - internal control flow
    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def prepare_capture_file(
    *sources: Source,
    reader: CaptureReader | None = None,
    **reader_options: Unpack[ReaderOptions],
) -> PreparedCapture:
    """Validate capture lines and keep those Arthur's SageMaker endpoint can take whole.

    Args:
        sources: What to read: paths, bytes, binary streams, ``Named`` sources (as
            :meth:`CaptureReader.iter_calls <arthur_capture.reading.CaptureReader.iter_calls>`
            takes them). Gzip is undone: the body holds the decompressed lines.
        reader: The reader to validate with (its options, registry and ``mapper`` apply).
        reader_options: Options of a new :class:`~arthur_capture.reading.CaptureReader`,
            when no ``reader`` is given.

    Returns:
        The kept lines (``BASE64`` sides re-encoded as text), their count, the rejects of the
        lines held back, and the ledger.

    Raises:
        ValueError: Both ``reader`` and ``reader_options`` were given.
        InvalidSourceError: An argument is not a source.
        SourceError: A source cannot be opened or read.
        RejectedError: The reader is strict, at the first reject (this sink's own too).
    """
    if reader is not None and reader_options:
        raise ValueError("pass reader or reader options, not both")
    if reader is None:
        reader = CaptureReader(**reader_options)
    stream = reader.iter_calls(*sources)
    body = bytearray()
    rejects: list[Reject] = []
    kept = 0
    held: list[Call] = []
    own: list[Reject] = []
    for item in stream:
        if isinstance(item, Reject):
            rejects.append(item)
            continue
        refused = [o for o in item.outcomes or () if isinstance(o, Reject)]
        if not refused:
            try:
                line = _forwardable(item)
            except _HeldBack as exc:
                reject = _reject(item, exc.reason, exc.message)
                if reader.strict:
                    raise RejectedError(reject, reject.describe()) from None
                refused = [reject]
                own.append(reject)
            else:
                body += line
                body += b"\n"
                kept += 1
                continue
        rejects.extend(refused)
        held.append(item)
    ledger = stream.ledger
    for call in held:
        _move_to_rejected(ledger, call)
    for reject in own:
        ledger.rejects_by_reason[str(reject.reason)] += 1
    return PreparedCapture(body=bytes(body), lines=kept, rejects=rejects, ledger=ledger)


def _move_to_rejected(ledger: Ledger, call: Call) -> None:
    """Count a held-back call's line as rejected, and its inferences no more."""
    ledger.events -= 1
    ledger.rejected_lines += 1
    ledger.non_finite_values -= call.non_finite
    if call.outcomes is None:
        ledger.records -= call.count
        return
    refused = sum(1 for o in call.outcomes if isinstance(o, Reject))
    ledger.rejected_inferences -= refused
    ledger.records -= len(call.outcomes) - refused


def _reject(call: Call, reason: Reason, message: str) -> Reject:
    return Reject(
        reason=reason,
        source=call.source,
        line_number=call.line_number,
        offset=call.offset,
        message=message,
        raw=call.raw,
        event_id=call.event.event_metadata.event_id,
    )


def _forwardable(call: Call) -> bytes:
    """The call's line as it can be sent: as it came, or with its BASE64 sides as text.

    Raises:
        _HeldBack: A BASE64 side cannot be re-encoded as text.
    """
    capture = call.event.capture_data
    sides: list[tuple[str, str, CaptureSide]] = []
    for (key, name), side in zip(
        _SIDES, (capture.endpoint_input, capture.endpoint_output), strict=True
    ):
        if side is not None and side.encoding is Encoding.BASE64:
            sides.append((key, name, side))
    if not sides:
        return call.raw
    texts: list[tuple[str, str, Encoding]] = []
    for key, name, side in sides:
        encoding = text_encoding(side.observed_content_type)
        if encoding is None:
            shown = parse_media_type(side.observed_content_type)[0] or "no content type"
            msg = (
                f"the {name} is BASE64 ({shown}): Arthur's SageMaker endpoint refuses BASE64, "
                "and only a CSV or JSON content type can be re-encoded as text"
            )
            raise _HeldBack(Reason.UNSUPPORTED_ENCODING, msg)
        media_type, params = parse_media_type(side.observed_content_type)
        data = base64.b64decode(side.data, validate=True)  # the reader decoded it already
        try:
            text = Payload(data, media_type, params).text()
        except CaptureError as exc:
            raise _HeldBack(exc.reason or Reason.INVALID_PAYLOAD, exc.message) from None
        texts.append((key, text, encoding))
    obj = _loads(call.raw)
    wire_capture = _member(obj, "captureData")
    for key, text, encoding in texts:
        wire_side = _member(wire_capture, key)
        wire_side["data"] = text
        wire_side["encoding"] = str(encoding)
    return dumps_json(obj)


def _loads(raw: bytes) -> dict[str, Any]:
    """The line's JSON object (integers beyond 64 bits, which orjson refuses, kept exact)."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        value = json.loads(raw)
    if not isinstance(value, dict):  # pragma: no cover - the reader parsed it as an event
        raise TypeError("a capture line is a JSON object")
    return value


def _member(obj: dict[str, Any], camel: str) -> dict[str, Any]:
    """``obj[camel]``, or its snake_case spelling (the event model reads both)."""
    if camel in obj:
        value = obj[camel]
    else:
        value = obj["".join(f"_{c.lower()}" if c.isupper() else c for c in camel)]
    if not isinstance(value, dict):  # pragma: no cover - the reader parsed it as an event
        raise TypeError(f"{camel} is a JSON object")
    return value
