"""The reader: capture lines in, one stream of decoded calls and rejects out, with a ledger.

Sans-IO at heart: :meth:`CaptureReader.read_line` takes the bytes of one line. The streams
frame sources (:mod:`~arthur_capture.reading._sources`, :mod:`~arthur_capture.reading._framing`)
and keep count. What sits above the core plugs in through :class:`RecordMapper` (a model
schema's mapping, for one): the reader never imports it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Final, Generic, Protocol, TypedDict, TypeVar, runtime_checkable

import orjson
import pydantic

from arthur_capture.decoders import DecoderRegistry, default_registry
from arthur_capture.errors import (
    CaptureError,
    InvalidEventError,
    InvalidJSONError,
    InvalidPayloadError,
    Reason,
    RejectedError,
)
from arthur_capture.events import CaptureEvent
from arthur_capture.reading._duplicates import SeenIds
from arthur_capture.reading._framing import Frame, Status
from arthur_capture.reading._ledger import CaptureResult, Ledger
from arthur_capture.reading._sources import frames_of, name_of, sources_of
from arthur_capture.records import (
    MAX_PARTNER_ID_LENGTH,
    Call,
    InferenceRecord,
    Reject,
    SideDecoder,
    check_partner_id,
    pair,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping

    from arthur_capture.reading._sources import Source

__all__ = [
    "DEFAULT_MAX_BLANK_LINES",
    "DEFAULT_MAX_INFERENCES_PER_CALL",
    "DEFAULT_MAX_LINE_BYTES",
    "CaptureReader",
    "CaptureStream",
    "ReaderOptions",
    "RecordMapper",
]

DEFAULT_MAX_LINE_BYTES: Final = 64 * 1024 * 1024
"""Longest line read (64 MiB): two BASE64 sides of ~6 MB bodies fit with room to spare."""

DEFAULT_MAX_INFERENCES_PER_CALL: Final = 2_000_000
"""Most inferences one side of a call may hold; more is ``too_many_inferences``.

Calls stream one inference at a time, so this bounds what a call costs where it must be held
whole: its decoded rows (a CSV side's values are kept flat: about 8 bytes a small integer,
40 a float), a model schema's checked records (about 0.7 KiB each) and a DataFrame's rows.
An all-numeric CSV side is counted before it is parsed. Converting 2,000,000 one-value rows
a side (a 12 MB line) peaks at about 130 MiB of the reader's own."""

DEFAULT_MAX_BLANK_LINES: Final = 100_000
"""Most blank lines in a row before the rest of a source is rejected ``too_many_blank_lines``.

SageMaker writes none; a gzip bomb of newlines is caught after this many framed lines."""

_BOM: Final = b"\xef\xbb\xbf"

_T = TypeVar("_T")


@runtime_checkable
class RecordMapper(Protocol):
    """Maps or refuses each record as it is read: how a layer above plugs into the reader.

    :class:`~arthur_capture.arthur.SchemaMapper` is one: it renames values to a model's
    attributes and coerces them.
    """

    types_values: bool
    """Whether the mapper types values itself, so CSV fields reach it as text.

    A mapper may also have ``map_call(call, checked)``, which maps a whole call at once: it
    returns the call's outcomes exactly as ``checked(record, call)`` (the reader's check of
    the partner ID, then :meth:`map`, a :class:`~arthur_capture.records.Reject` for an error)
    gives them for each of ``call.iter_records()``.
    """

    def map(self, record: InferenceRecord) -> InferenceRecord:
        """The record as it should be emitted.

        Raises:
            CaptureError: The record is refused; the error's ``reason`` says why.
        """
        ...


class ReaderOptions(TypedDict, total=False):
    """The keywords :class:`CaptureReader` takes, for functions that pass them on."""

    registry: DecoderRegistry
    strict: bool
    max_line_bytes: int
    max_inferences_per_call: int
    max_blank_lines: int
    max_depth: int
    csv_header: bool
    sniff: bool
    content_types: Mapping[str, str]
    event_versions: Iterable[str]
    mapper: RecordMapper
    reject_non_finite: bool
    reject_duplicates: bool


class CaptureStream(Generic[_T]):
    """An iterator over what a reader reads, with the :class:`Ledger` of what it has read so far.

    The ledger is complete once the iterator is exhausted.
    """

    __slots__ = ("_items", "ledger")

    def __init__(self, items: Iterator[_T], ledger: Ledger) -> None:
        """Wrap an iterator and the ledger it updates."""
        self._items = items
        self.ledger = ledger
        """The counts so far."""

    def __iter__(self) -> CaptureStream[_T]:
        """The stream itself."""
        return self

    def __next__(self) -> _T:
        """The next item.

        Raises:
            SourceError: A source cannot be opened or read.
            RejectedError: In strict mode, at the first reject.
        """
        return next(self._items)


def _pydantic_error(
    exc: pydantic.ValidationError, line: bytes, *, terminated: bool
) -> CaptureError:
    errors = exc.errors(include_url=False, include_input=False)
    first = errors[0]
    if first["type"] == "json_invalid":
        detail = str(first.get("ctx", {}).get("error", first["msg"]))
        try:
            line.decode("utf-8")
        except UnicodeDecodeError as ude:
            # A cut inside a multi-byte character is a cut, not bad text (docs/decoders.md).
            cut_mid_character = (
                not terminated
                and ude.end == len(line)
                and ude.reason == "unexpected end of data"
                and "EOF while parsing" in detail
            )
            if not cut_mid_character:
                return InvalidJSONError(
                    f"line is not valid UTF-8 at byte {ude.start}: {ude.reason}",
                    Reason.INVALID_UTF8,
                )
        if line.startswith(_BOM):
            return InvalidJSONError(
                "line starts with a UTF-8 BOM, which is tolerated only at byte 0 of a source",
                Reason.INVALID_UTF8,
            )
        if "recursion limit" in detail:
            return InvalidJSONError(f"line nests too deeply: {detail}", Reason.NESTING_TOO_DEEP)
        if not terminated and "EOF while parsing" in detail:
            return InvalidJSONError(
                f"last line has no newline and ends mid-value ({detail}): the file was cut off",
                Reason.TRUNCATED_LINE,
            )
        return InvalidJSONError(f"line is not valid JSON: {detail}")
    problems = []
    for error in errors[:3]:
        path = ".".join(_wire_name(part) for part in error["loc"]) or "(line)"
        problems.append(f"{path}: {error['msg']}")
    more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
    return InvalidEventError("not a capture event: " + "; ".join(problems) + more)


def _salvage_event_id(line: bytes) -> str | None:
    """The ``eventId`` of a line that is JSON but not a valid event, when it has a usable one."""
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    meta = value.get("eventMetadata") if isinstance(value, dict) else None
    event_id = meta.get("eventId") if isinstance(meta, dict) else None
    return event_id if isinstance(event_id, str) and event_id else None


def _wire_name(part: str | int) -> str:
    if isinstance(part, int):
        return str(part)
    head, *rest = part.split("_")
    return head + "".join(word.title() for word in rest)


class CaptureReader:
    """Reads capture lines into decoded calls and rejects, keeping a ledger.

    Args:
        registry: Decoders by content type (default: the built-ins plus entry points).
        strict: Raise :class:`RejectedError` at the first reject instead of collecting it.
        max_line_bytes: Longer lines are rejected with ``line_too_large`` (memory stays bounded).
        max_inferences_per_call: A call whose request or response holds more inferences is
            rejected ``too_many_inferences`` (an all-numeric CSV body is counted before it
            is parsed).
        max_blank_lines: After this many blank lines in a row, the next blank line is
            rejected ``too_many_blank_lines`` and the rest of its source is not read.
        max_depth: How deep one JSON or JSON Lines value may nest (default 32, at most
            :data:`~arthur_capture.decoders.MAX_DEPTH_LIMIT`); deeper payloads are rejected
            ``nesting_too_deep``. It configures the default registry, so it cannot go with
            ``registry``.
        csv_header: Read the first row of every CSV body as column names (configures the
            default registry, so it cannot go with ``registry``).
        sniff: For a content type with no decoder, try JSON, then JSON Lines, then CSV.
        content_types: Media type → media type to decode it as (e.g. ``{"text/html":
            "application/json"}``).
        event_versions: The ``eventVersion`` values accepted.
        mapper: Maps each record (a model schema's :class:`~arthur_capture.arthur.SchemaMapper`);
            an inference it refuses is rejected on its own (with ``index``). When it types
            values itself, the default registry leaves CSV fields as text.
        reject_non_finite: Reject a call whose JSON payload holds ``NaN``, ``Infinity``,
            ``-Infinity`` or a number overflowing to infinity (``non_finite_number``). By
            default they are read as ``null`` and counted (``Ledger.non_finite_values``).
        reject_duplicates: Reject each inference whose partner ID was already read earlier
            in the same run (``iter_calls``/``iter_records``/``read`` over all their
            sources) as ``duplicate_partner_id``, keeping the first. Repeats are always
            counted (``Ledger.duplicate_partner_ids``, with examples).
    """

    def __init__(
        self,
        *,
        registry: DecoderRegistry | None = None,
        strict: bool = False,
        max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
        max_inferences_per_call: int = DEFAULT_MAX_INFERENCES_PER_CALL,
        max_blank_lines: int = DEFAULT_MAX_BLANK_LINES,
        max_depth: int | None = None,
        csv_header: bool = False,
        sniff: bool = False,
        content_types: Mapping[str, str] | None = None,
        event_versions: Iterable[str] = ("0",),
        mapper: RecordMapper | None = None,
        reject_non_finite: bool = False,
        reject_duplicates: bool = False,
    ) -> None:
        """Configure a reader.

        Raises:
            ValueError: An option is out of range, or ``registry`` comes with an option that
                configures the default registry.
        """
        if max_line_bytes < 1:
            raise ValueError("max_line_bytes must be positive")
        if max_inferences_per_call < 1:
            raise ValueError("max_inferences_per_call must be positive")
        if max_blank_lines < 0:
            raise ValueError("max_blank_lines must not be negative")
        if registry is None:
            csv_types = mapper is None or not mapper.types_values
            registry = default_registry(
                max_depth=max_depth, csv_header=csv_header, csv_types=csv_types
            )
        elif max_depth is not None or csv_header:
            msg = "max_depth and csv_header configure the default registry; pass them or registry"
            raise ValueError(msg)
        self.registry = registry
        """The decoders in use."""
        self.mapper = mapper
        """The record mapper, if any."""
        self.strict = strict
        """Whether the first reject is raised."""
        self.max_line_bytes = max_line_bytes
        """The longest line read."""
        self.max_inferences_per_call = max_inferences_per_call
        """The most inferences one side of a call may hold."""
        self.max_blank_lines = max_blank_lines
        """The most blank lines in a row a source may hold."""
        self.event_versions = frozenset(event_versions)
        """The ``eventVersion`` values accepted."""
        self.reject_non_finite = reject_non_finite
        """Whether a call holding non-finite numbers is rejected."""
        self.reject_duplicates = reject_duplicates
        """Whether a repeated partner inference ID is rejected."""
        self._sides = SideDecoder(self.registry, content_types=content_types, sniff=sniff)

    def read_line(
        self,
        line: bytes,
        *,
        source: str = "<memory>",
        line_number: int = 1,
        offset: int = 0,
        terminated: bool = True,
    ) -> Call | Reject:
        """One line (without its ``\\n``) as a decoded call or a reject; never raises for data.

        The call's :attr:`~arthur_capture.records.Call.outcomes` are set when inferences were
        checked one by one (a partner ID over Arthur's limit, or a mapper): then each is its
        record or a :class:`Reject` with ``index``.

        ``terminated`` is false for a stream's last line when it had no newline; an
        incomplete value there is ``truncated_line`` rather than ``invalid_json``.
        """
        event_id: str | None = None
        try:
            try:
                event = CaptureEvent.model_validate_json(line)
            except pydantic.ValidationError as exc:
                error = _pydantic_error(exc, line, terminated=terminated)
                if error.reason is Reason.INVALID_EVENT:
                    event_id = _salvage_event_id(line)
                raise error from None
            event_id = event.event_metadata.event_id
            if event.event_version not in self.event_versions:
                msg = f"eventVersion {event.event_version!r} is not supported (known: "
                msg += ", ".join(sorted(self.event_versions)) + ")"
                raise InvalidEventError(msg, Reason.UNSUPPORTED_EVENT_VERSION)
            call = pair(
                event,
                self._sides,
                source=source,
                line_number=line_number,
                offset=offset,
                raw=line,
                max_inferences=self.max_inferences_per_call,
            )
            if call.non_finite and self.reject_non_finite:
                msg = f"the payloads hold {call.non_finite} non-finite number(s) (NaN, Infinity, "
                msg += "-Infinity or a number overflowing to infinity; reject_non_finite)"
                raise InvalidPayloadError(msg, Reason.NON_FINITE_NUMBER)
        except CaptureError as exc:
            reason = exc.reason or Reason.INVALID_EVENT
            message = exc.message
        except RecursionError:
            reason, message = Reason.NESTING_TOO_DEEP, "a value nests too deeply to process"
        else:
            if self.mapper is None and call.longest_id <= MAX_PARTNER_ID_LENGTH:
                return call
            map_call = getattr(self.mapper, "map_call", None)
            if map_call is not None:  # the whole call at once: what _checked gives for each
                return replace(call, outcomes=map_call(call, self._checked))
            outcomes = tuple(self._checked(r, call) for r in call.iter_records())
            return replace(call, outcomes=outcomes)
        return Reject(
            reason=reason,
            source=source,
            line_number=line_number,
            offset=offset,
            message=message,
            raw=line,
            event_id=event_id,
        )

    def _checked(self, record: InferenceRecord, call: Call) -> InferenceRecord | Reject:
        try:
            check_partner_id(record.partner_inference_id)
            if self.mapper is not None:
                return self.mapper.map(record)
        except CaptureError as exc:
            return Reject(
                reason=exc.reason or Reason.INVALID_VALUE,
                source=record.source,
                line_number=record.line_number,
                offset=call.offset,
                message=f"inference {record.index} ({record.partner_inference_id}): {exc.message}",
                raw=call.raw,
                event_id=record.event_id,
                index=record.index,
            )
        return record

    def iter_calls(self, *sources: Source) -> CaptureStream[Call | Reject]:
        """Stream the decoded calls and line rejects of the sources, in order.

        This is the stream every consumer reads (JSON lines, the DataFrame, Parquet, Spark).
        A call's inferences are :meth:`Call.items() <arthur_capture.records.Call.items>`.

        Raises:
            InvalidSourceError: An argument is not a source (checked before anything is read).
        """
        checked = list(sources_of(sources))
        ledger = Ledger()
        return CaptureStream(self._calls(checked, ledger), ledger)

    def iter_records(self, *sources: Source) -> CaptureStream[InferenceRecord | Reject]:
        """Stream the records and rejects of the sources, in order (one item per inference).

        Raises:
            InvalidSourceError: An argument is not a source.
        """
        calls = self.iter_calls(*sources)
        return CaptureStream(_flattened(calls), calls.ledger)

    def read(self, *sources: Source) -> CaptureResult:
        """Read every source into one :class:`CaptureResult`.

        Raises:
            InvalidSourceError: An argument is not a source.
            SourceError: A source cannot be opened or read.
            RejectedError: In strict mode, at the first reject.
        """
        stream = self.iter_records(*sources)
        result = CaptureResult(ledger=stream.ledger)
        for item in stream:
            if isinstance(item, Reject):
                result.rejects.append(item)
            else:
                result.records.append(item)
        return result

    def _calls(self, sources: list[Source], ledger: Ledger) -> Iterator[Call | Reject]:
        seen = SeenIds(reject=self.reject_duplicates)  # partner IDs across every source of the run
        for source in sources:
            name = name_of(source)
            ledger.sources += 1
            frames = frames_of(source, self.max_line_bytes)
            try:
                seen.begin(name)
                yield from self._source_calls(frames, name, ledger, seen)
            finally:
                frames.close()  # a source left early (blank lines, strict) is closed now

    def _source_calls(
        self, frames: Iterator[Frame], name: str, ledger: Ledger, seen: SeenIds
    ) -> Iterator[Call | Reject]:
        blank_run = 0
        for frame in frames:
            ledger.lines += 1
            status = frame.status
            if status is Status.OK or status is Status.UNTERMINATED:
                raw = frame.raw
                if not raw.strip(b" \t\r"):
                    if blank_run < self.max_blank_lines:
                        blank_run += 1
                        ledger.blank_lines += 1
                        continue
                    reject = self._blank_lines_reject(frame, name)
                    self._account(ledger, reject)
                    yield reject
                    return  # the rest of the source is not read
                blank_run = 0
                item = self.read_line(
                    raw[:-1] if raw.endswith(b"\r") else raw,
                    source=name,
                    line_number=frame.line_number,
                    offset=frame.offset,
                    terminated=status is Status.OK,
                )
            else:
                blank_run = 0
                item = self._framing_reject(frame, name)
            if not isinstance(item, Reject):
                item = seen.check(item, ledger)
            self._account(ledger, item)
            yield item

    def _blank_lines_reject(self, frame: Frame, source: str) -> Reject:
        """The first blank line past ``max_blank_lines`` in a row: it stands for the unread rest."""
        message = (
            f"more than {self.max_blank_lines} blank lines in a row (max_blank_lines): "
            "the rest of the source is not read"
        )
        return Reject(
            reason=Reason.TOO_MANY_BLANK_LINES,
            source=source,
            line_number=frame.line_number,
            offset=frame.offset,
            message=message,
            raw=frame.raw,
        )

    def _account(self, ledger: Ledger, item: Call | Reject) -> None:
        """Count one line's outcome; in strict mode, raise at a reject."""
        if isinstance(item, Reject):
            ledger.rejected_lines += 1
            ledger.rejects_by_reason[str(item.reason)] += 1
            if self.strict:
                raise RejectedError(item, item.describe())
            return
        ledger.events += 1
        ledger.non_finite_values += item.non_finite
        outcomes = item.outcomes
        if outcomes is None:
            ledger.records += item.count
            return
        for outcome in outcomes:
            if isinstance(outcome, Reject):
                ledger.rejected_inferences += 1
                ledger.rejects_by_reason[str(outcome.reason)] += 1
                if self.strict:
                    raise RejectedError(outcome, outcome.describe())
            else:
                ledger.records += 1

    def _framing_reject(self, frame: Frame, source: str) -> Reject:
        status = frame.status
        if status is Status.TOO_LARGE:
            reason = Reason.LINE_TOO_LARGE
            message = f"line is longer than the limit of {self.max_line_bytes} bytes"
        elif status is Status.TRUNCATED_GZIP:
            reason = Reason.TRUNCATED_LINE
            message = (
                "the gzip stream ends early (the file was cut off); the last line it holds is "
                "rejected in place of the cut, the lines before it are kept"
            )
        elif status is Status.BAD_GZIP:
            reason = Reason.INVALID_COMPRESSION
            message = (
                f"the gzip stream is corrupt ({frame.detail}); the last line it holds is "
                "rejected in place of the corruption, the lines before it are kept"
            )
        else:
            reason = Reason.INVALID_UTF8
            message = "line is a str with characters that cannot be encoded as UTF-8"
        return Reject(
            reason=reason,
            source=source,
            line_number=frame.line_number,
            offset=frame.offset,
            message=message,
            raw=frame.raw,
        )


def _flattened(calls: Iterable[Call | Reject]) -> Iterator[InferenceRecord | Reject]:
    for item in calls:
        if isinstance(item, Reject):
            yield item
        else:
            yield from item.items()
