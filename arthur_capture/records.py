"""A decoded, paired call, and its per-inference records and partner IDs.

:func:`pair` is the one place that decodes both sides of a call, pairs request
inference *i* with response inference *i* and checks the counts; :class:`Call` names
each inference's values and gives it Arthur's partner inference ID. A :class:`Reject`
is the other outcome: a line, or one inference, that was not emitted, and why.
"""

from __future__ import annotations

import base64
import binascii
import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, overload

from arthur_capture.decoders import (
    CSVDecoder,
    Decoder,
    DecoderRegistry,
    Inference,
    Payload,
    parse_media_type,
)
from arthur_capture.decoders.text_csv import Rows, rows_of, too_many_inferences
from arthur_capture.errors import (
    CaptureError,
    CountMismatchError,
    InvalidBase64Error,
    InvalidEventError,
    InvalidPayloadError,
    NameConflictError,
    PartnerIdTooLongError,
    Reason,
    UnknownContentTypeError,
)
from arthur_capture.events import CaptureEvent, CaptureSide, Encoding

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping
    from datetime import datetime

__all__ = [
    "MAX_PARTNER_ID_LENGTH",
    "Call",
    "InferenceRecord",
    "Reject",
    "SideDecoder",
    "check_partner_id",
    "expand",
    "named_values",
    "pair",
    "partner_inference_id",
]

MAX_PARTNER_ID_LENGTH: Final = 255
"""Arthur's limit on ``partner_inference_id``; longer IDs are rejected, never cut."""

_SNIFF_ORDER = ("application/json", "application/jsonlines", "text/csv")
_ENCODING_TYPES = {Encoding.CSV: "text/csv", Encoding.JSON: "application/json"}


@dataclass(frozen=True, slots=True, kw_only=True)
class InferenceRecord:
    """One inference of one call, ready to map to Arthur.

    Do not subclass. ``inputs`` and ``outputs`` keep the order the payload gave.
    """

    partner_inference_id: str
    """Arthur's ID: ``inferenceId`` or else ``eventId``, plus ``_<index>`` in a batch of several."""
    inference_timestamp: datetime
    """``eventMetadata.inferenceTime``, timezone-aware."""
    inputs: Mapping[str, Any]
    """Request values by name (``input_0``… for column-ordered values)."""
    outputs: Mapping[str, Any]
    """Response values by name (``output_0``… for column-ordered values)."""
    event_id: str
    """SageMaker's ``eventId`` of the call."""
    inference_id: str | None
    """The caller's ``inferenceId``, if any."""
    index: int
    """0-based position of this inference within the call."""
    batch_size: int
    """How many inferences the call held."""
    source: str
    """Where the line came from (a path, URI or name)."""
    line_number: int
    """1-based line number within the source."""
    custom_attributes: tuple[str, ...] = field(default=())
    """``eventMetadata.customAttributes``, as opaque strings."""

    def inference_data(self) -> dict[str, Any]:
        """Inputs and outputs in one map, as Arthur's ``inference_data``."""
        return {**self.inputs, **self.outputs}


@dataclass(frozen=True, slots=True, kw_only=True)
class Reject:
    """A line, or one inference of a call, that was not emitted, and why."""

    reason: Reason
    """The reason code (closed set)."""
    source: str
    """Where the line came from."""
    line_number: int
    """1-based line number."""
    offset: int
    """Byte offset of the line's start within the (decompressed) source."""
    message: str
    """What went wrong, in one sentence."""
    raw: bytes
    """The line's bytes (for an over-long line, its first 64 KiB)."""
    event_id: str | None = None
    """The call's ``eventId``, when the line got that far."""
    index: int | None = None
    """The inference's index within the call, for a reject of one inference."""

    def to_dict(self) -> dict[str, Any]:
        """The reject as a dead-letter JSON object; ``raw`` is base64 of the exact bytes."""
        return {
            "reason": str(self.reason),
            "source": self.source,
            "line": self.line_number,
            "offset": self.offset,
            "event_id": self.event_id,
            "index": self.index,
            "message": self.message,
            "raw": base64.b64encode(self.raw).decode("ascii"),
        }

    def describe(self) -> str:
        """``source:line: reason: message``, one line."""
        return f"{self.source}:{self.line_number}: {self.reason}: {self.message}"


def partner_inference_id(base: str, index: int, batch_size: int) -> str:
    """Arthur's partner inference ID: ``base`` for a single inference, else ``base_<index>``."""
    return base if batch_size == 1 else f"{base}_{index}"


def check_partner_id(partner_id: str) -> None:
    """Refuse a partner inference ID Arthur would refuse (over 255 characters).

    Raises:
        PartnerIdTooLongError: With reason ``id_too_long``; IDs are never cut, since cut IDs
            collide.
    """
    if len(partner_id) > MAX_PARTNER_ID_LENGTH:
        msg = f"partner_inference_id is {len(partner_id)} characters; Arthur allows "
        msg += str(MAX_PARTNER_ID_LENGTH)
        raise PartnerIdTooLongError(msg)


@functools.lru_cache(maxsize=1024)
def _column_names(prefix: str, width: int) -> tuple[str, ...]:
    return tuple(f"{prefix}{i}" for i in range(width))


def named_values(inference: Inference, prefix: str) -> dict[str, Any]:
    """An inference's values by name: a map as it is, column-ordered values as ``<prefix><i>``."""
    if isinstance(inference, dict):
        return inference
    # the names are made for this width, so the lengths always match (no strict= check)
    return dict(zip(_column_names(prefix, len(inference)), inference))  # noqa: B905


class SideDecoder:
    """Turns one captured side into inferences, through a decoder registry.

    Args:
        registry: Where decoders are looked up by content type.
        content_types: Media type → media type to use instead (e.g. ``{"text/html":
            "application/json"}`` for a container that mislabels its JSON).
        sniff: When no decoder matches, try JSON, then JSON Lines, then CSV.
    """

    __slots__ = ("content_types", "registry", "sniff")

    def __init__(
        self,
        registry: DecoderRegistry,
        *,
        content_types: Mapping[str, str] | None = None,
        sniff: bool = False,
    ) -> None:
        """Create a side decoder."""
        self.registry = registry
        self.content_types = {
            parse_media_type(k)[0]: parse_media_type(v)[0] for k, v in (content_types or {}).items()
        }
        self.sniff = sniff

    def decode(self, side: CaptureSide) -> list[Inference]:
        """Decode one side: undo the transport encoding, then dispatch on the content type.

        Raises:
            PayloadError: The body cannot be read (a subclass names the reason).
        """
        return list(self.decode_rows(side))

    def decode_rows(
        self, side: CaptureSide, *, max_inferences: int | None = None
    ) -> Sequence[Inference]:
        """:meth:`decode`, compactly: what :func:`pair` calls.

        The built-in CSV decoder's rows come as one :class:`~arthur_capture.decoders.
        text_csv.Rows` (rows made on demand); any other decoder's list as it gives it.

        Raises:
            PayloadError: The body cannot be read (a subclass names the reason), or holds
                more than ``max_inferences`` inferences (``too_many_inferences``).
        """
        media_type, params = parse_media_type(side.observed_content_type)  # cached inside
        media_type = self.content_types.get(media_type, media_type)
        if not media_type:
            media_type = _ENCODING_TYPES.get(side.encoding, "")
        body: str | bytes
        if side.encoding is Encoding.BASE64:
            try:
                body = base64.b64decode(side.data, validate=True)
            except (binascii.Error, ValueError) as exc:
                raise InvalidBase64Error(f"data is not valid base64: {exc}") from exc
        else:
            body = side.data
        payload = Payload(body, media_type, params)
        try:
            decoder = self.registry.get(media_type)
        except UnknownContentTypeError:
            if not self.sniff:
                raise
            return self._sniffed(body, params, max_inferences)
        return _decoded(decoder, payload, max_inferences)

    def _sniffed(
        self, body: str | bytes, params: Mapping[str, str], limit: int | None
    ) -> Sequence[Inference]:
        last: CaptureError | None = None
        for media_type in _SNIFF_ORDER:
            try:
                decoder = self.registry.get(media_type)
                return _decoded(decoder, Payload(body, media_type, params), limit)
            except CaptureError as exc:
                if exc.reason is Reason.TOO_MANY_INFERENCES:
                    raise  # read, but too big: no other decoder will do better
                last = exc
        msg = f"content sniffing found no decoder that reads the body (last error: {last})"
        raise UnknownContentTypeError(msg)


def _decoded(decoder: Decoder, payload: Payload, limit: int | None) -> Sequence[Inference]:
    """What ``decoder`` reads from ``payload``; the built-in CSV decoder's rows compactly."""
    if isinstance(decoder, CSVDecoder) and type(decoder).decode is CSVDecoder.decode:
        return decoder.decode_rows(payload, max_rows=limit)  # counted before it is parsed
    inferences = decoder.decode(payload)
    if limit is not None and len(inferences) > limit:
        raise too_many_inferences(len(inferences), limit)
    return inferences


def _single_row_split(
    inputs: Sequence[Inference], outputs: Sequence[Inference]
) -> Sequence[Inference] | None:
    """The pre-2022 XGBoost CSV case: N>1 requests answered by one row of exactly N scalars."""
    if len(inputs) > 1 and len(outputs) == 1:
        row = outputs[0]
        if (
            isinstance(row, list)
            and len(row) == len(inputs)
            and not any(isinstance(v, (list, dict)) for v in row)
        ):
            return rows_of(list(row), 1)
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class Call:
    """One capture line decoded and paired: the unit every consumer of the reader reads.

    ``inputs[i]`` pairs with ``outputs[i]``; either side is ``None`` when it was not
    captured. :meth:`records` names the values and gives each inference its partner ID.

    ``outcomes`` is ``None`` when every inference is emitted exactly as :meth:`records`
    makes it (the common case, which fast paths build on). A reader that checks or maps
    inferences one by one (a partner ID over the limit, a model schema) sets it to one item
    per inference: its record as mapped, or a :class:`Reject` with ``index``.
    """

    event: CaptureEvent
    """The parsed line."""
    inputs: Sequence[Inference] | None
    """Request inferences, or ``None`` for an output-only capture.

    A sequence of inferences, not always a ``list``: a CSV body's rows are kept as one
    compact :class:`~arthur_capture.decoders.text_csv.Rows` whose rows are made on demand."""
    outputs: Sequence[Inference] | None
    """Response inferences (already split by the XGBoost rule), or ``None``."""
    count: int
    """How many inferences the call held."""
    source: str = "<memory>"
    """Where the line came from (a path, URI or name)."""
    line_number: int = 1
    """1-based line number within the source."""
    offset: int = 0
    """Byte offset of the line's start within the (decompressed) source."""
    raw: bytes = b""
    """The line's bytes, for rejects of single inferences."""
    outcomes: tuple[InferenceRecord | Reject, ...] | None = None
    """One record or reject per inference, when they were checked one by one."""
    non_finite: int = 0
    """How many non-finite numbers (``NaN``, ``Infinity``, ``1e400``…) the sides held, read as
    ``null`` (a decoder reports them as ``non_finite`` on the list it returns)."""

    @property
    def base_id(self) -> str:
        """The partner ID base: ``inferenceId`` when present and non-empty, else ``eventId``."""
        meta = self.event.event_metadata
        return meta.inference_id or meta.event_id

    @property
    def longest_id(self) -> int:
        """The length of the call's longest partner inference ID (that of its last index)."""
        count = self.count
        return len(self.base_id) + (len(str(count - 1)) + 1 if count > 1 else 0)

    def iter_records(self) -> Iterator[InferenceRecord]:
        """Name each paired inference's values and make it a record, one at a time.

        A call of millions of inferences streams in flat memory: each record is made when
        it is asked for.
        """
        meta = self.event.event_metadata
        inputs, outputs, count = self.inputs, self.outputs, self.count
        base = self.base_id
        attributes = tuple(meta.custom_attributes or ())
        when, event_id, inference_id = meta.inference_time, meta.event_id, meta.inference_id
        source, line_number = self.source, self.line_number
        for index in range(count):
            yield InferenceRecord(
                partner_inference_id=partner_inference_id(base, index, count),
                inference_timestamp=when,
                inputs=named_values(inputs[index], "input_") if inputs is not None else {},
                outputs=named_values(outputs[index], "output_") if outputs is not None else {},
                event_id=event_id,
                inference_id=inference_id,
                index=index,
                batch_size=count,
                source=source,
                line_number=line_number,
                custom_attributes=attributes,
            )

    def record(self, index: int) -> InferenceRecord:
        """The record of inference ``index`` alone (as :meth:`iter_records` makes it).

        Raises:
            IndexError: ``index`` is not one of the call's inferences.
        """
        count = self.count
        if index < 0:
            index += count
        if not 0 <= index < count:
            raise IndexError("inference index out of range")
        meta = self.event.event_metadata
        return InferenceRecord(
            partner_inference_id=partner_inference_id(self.base_id, index, count),
            inference_timestamp=meta.inference_time,
            inputs=named_values(self.inputs[index], "input_") if self.inputs is not None else {},
            outputs=(
                named_values(self.outputs[index], "output_") if self.outputs is not None else {}
            ),
            event_id=meta.event_id,
            inference_id=meta.inference_id,
            index=index,
            batch_size=count,
            source=self.source,
            line_number=self.line_number,
            custom_attributes=tuple(meta.custom_attributes or ()),
        )

    def records(self) -> list[InferenceRecord]:
        """Every record of :meth:`iter_records`, in a list."""
        return list(self.iter_records())

    def items(self) -> Sequence[InferenceRecord | Reject]:
        """One item per inference: :attr:`outcomes` when set, else the records.

        The records come as a lazy sequence (``len``, indexing, iteration) that makes each
        record when it is asked for: iterating a call of millions of inferences holds one.
        """
        return self.outcomes if self.outcomes is not None else _CallRecords(self)


class _CallRecords(Sequence[InferenceRecord]):
    """A call's records, made when asked for (what :meth:`Call.items` gives)."""

    __slots__ = ("_call",)

    def __init__(self, call: Call) -> None:
        self._call = call

    def __len__(self) -> int:
        return self._call.count

    @overload
    def __getitem__(self, index: int) -> InferenceRecord: ...
    @overload
    def __getitem__(self, index: slice) -> list[InferenceRecord]: ...
    def __getitem__(self, index: int | slice) -> InferenceRecord | list[InferenceRecord]:
        if isinstance(index, slice):
            return [self._call.record(i) for i in range(*index.indices(self._call.count))]
        return self._call.record(index)

    def __iter__(self) -> Iterator[InferenceRecord]:
        return self._call.iter_records()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, (str, bytes, bytearray)):
            return len(other) == len(self) and all(a == b for a, b in zip(self, other))  # noqa: B905
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<{self._call.count} record(s) of {self._call.source}:{self._call.line_number}>"


def _value_names(inference: Inference, prefix: str) -> Iterable[str]:
    if isinstance(inference, dict):
        return inference.keys()
    return _column_names(prefix, len(inference))


def _side(
    sides: SideDecoder, side: CaptureSide | None, name: str, limit: int | None
) -> Sequence[Inference] | None:
    """One side decoded (``None`` when not captured); a limit breach names the side."""
    if side is None:
        return None
    try:
        return sides.decode_rows(side, max_inferences=limit)
    except InvalidPayloadError as exc:
        if exc.reason is not Reason.TOO_MANY_INFERENCES:
            raise
        raise InvalidPayloadError(f"the {name} {exc.message}", exc.reason) from None


def pair(
    event: CaptureEvent,
    sides: SideDecoder,
    *,
    source: str = "<memory>",
    line_number: int = 1,
    offset: int = 0,
    raw: bytes = b"",
    max_inferences: int | None = None,
) -> Call:
    """Decode both sides of a call and pair them (counts, the XGBoost rule, name conflicts).

    With ``max_inferences``, a side holding more inferences is refused as soon as it is
    decoded (the request before the response is decoded).

    Raises:
        InvalidEventError: The event has neither side.
        PayloadError: A side cannot be decoded, or holds more than ``max_inferences``
            inferences (reason ``too_many_inferences``).
        CountMismatchError: The sides hold different numbers of inferences.
        NameConflictError: A value name is used on both sides of one inference.
    """
    capture = event.capture_data
    request = capture.endpoint_input
    response = capture.endpoint_output
    if request is None and response is None:
        msg = "captureData has neither endpointInput nor endpointOutput"
        raise InvalidEventError(msg)
    inputs = _side(sides, request, "request", max_inferences)
    outputs = _side(sides, response, "response", max_inferences)
    non_finite = getattr(inputs, "non_finite", 0) + getattr(outputs, "non_finite", 0)
    if inputs is not None and outputs is not None:
        if len(inputs) != len(outputs):
            split = _single_row_split(inputs, outputs)
            if split is None:
                msg = (
                    f"the request holds {len(inputs)} inference(s) but the response holds "
                    f"{len(outputs)}"
                )
                raise CountMismatchError(msg)
            outputs = split
        both_rows = isinstance(inputs, Rows) and isinstance(outputs, Rows)
        for index, (request_values, response_values) in enumerate(
            () if both_rows else zip(inputs, outputs, strict=True)
        ):
            if type(request_values) is list and type(response_values) is list:
                continue  # input_<i> and output_<j> never meet
            names_in = _value_names(request_values, "input_")
            names_out = _value_names(response_values, "output_")
            if not set(names_in).isdisjoint(names_out):
                both = ", ".join(sorted(set(names_in).intersection(names_out)))
                msg = (
                    f"inference {index}: the name(s) {both} appear in both the request "
                    "and the response"
                )
                raise NameConflictError(msg)
    count = len(inputs) if inputs is not None else len(outputs or ())
    return Call(
        event=event,
        inputs=inputs,
        outputs=outputs,
        count=count,
        source=source,
        line_number=line_number,
        offset=offset,
        raw=raw,
        non_finite=non_finite,
    )


def expand(
    event: CaptureEvent,
    sides: SideDecoder,
    *,
    source: str = "<memory>",
    line_number: int = 1,
) -> list[InferenceRecord]:
    """Decode both sides of a call and pair them into records (:func:`pair`, :meth:`Call.records`).

    Raises:
        InvalidEventError: The event has neither side.
        PayloadError: A side cannot be decoded.
        CountMismatchError: The sides hold different numbers of inferences.
        NameConflictError: A value name is used on both sides.
    """
    return pair(event, sides, source=source, line_number=line_number).records()
