"""Streaming reader: capture files in, records and rejects out, with a ledger of every line.

Sans-IO at heart: :meth:`CaptureReader.read_line` takes the bytes of one line; the
iteration helpers only split streams on ``\\n`` (never text-mode newlines), undo gzip,
and keep count.
"""

from __future__ import annotations

import base64
import gzip
import io
import os
import zlib
from collections import Counter
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any, Final, NamedTuple

import orjson
import pydantic

from arthur_capture.decoders import DecoderRegistry, default_registry
from arthur_capture.decoders._shapes import DEFAULT_MAX_DEPTH
from arthur_capture.decoders.text_csv import CSVDecoder
from arthur_capture.errors import (
    CaptureError,
    InvalidEventError,
    InvalidJSONError,
    Reason,
    RejectedError,
    SourceError,
)
from arthur_capture.events import CaptureEvent
from arthur_capture.records import Expansion, InferenceRecord, SideDecoder, pair, records_of
from arthur_capture.schema import (
    MAX_PARTNER_ID_LENGTH,
    MappingError,
    ModelSchema,
    SchemaMapper,
    check_partner_id,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping

__all__ = [
    "DEFAULT_MAX_DEPTH",
    "DEFAULT_MAX_LINE_BYTES",
    "MAX_DEPTH_LIMIT",
    "CaptureReader",
    "CaptureResult",
    "Ledger",
    "Reject",
    "Source",
    "SourceLine",
    "iter_records",
    "read_records",
]

DEFAULT_MAX_LINE_BYTES: Final = 64 * 1024 * 1024
"""Longest line read (64 MiB): two BASE64 sides of ~6 MB bodies fit with room to spare."""

MAX_DEPTH_LIMIT: Final = 200
"""The largest ``max_depth`` a reader takes: deeper values could not be written as JSON
(orjson writes at most 254 levels, and a value sits below an inference object and a batch)."""

_RAW_KEEP: Final = 64 * 1024
"""How much of an over-long line a reject keeps in ``raw``."""

_GZIP_MAGIC: Final = b"\x1f\x8b"
_BOM: Final = b"\xef\xbb\xbf"
_READ_CHUNK: Final = 1 << 20

Source = str | os.PathLike[str] | bytes | bytearray | IO[bytes] | Any
"""What the reader takes: a path, the bytes of a file, a binary file object, or an
iterable of lines (``bytes`` or ``str``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Reject:
    """A line, or an inference, that was not emitted, and why."""

    reason: Reason
    """The reason code (closed set)."""
    source: str
    """Where the line came from."""
    line: int
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
            "line": self.line,
            "offset": self.offset,
            "event_id": self.event_id,
            "index": self.index,
            "message": self.message,
            "raw": base64.b64encode(self.raw).decode("ascii"),
        }


@dataclass(slots=True)
class Ledger:
    """Counts that account for every line and every inference.

    ``lines == blank_lines + events + rejected_lines``: a line is an *event* when it was
    read and expanded into inferences, even if some (or all) of those inferences were then
    rejected one by one; it is *rejected* when it could not be expanded.
    ``inferences == records + rejected_inferences`` over the event lines.
    """

    lines: int = 0
    """Lines read (split on ``\\n``; an unterminated last line counts)."""
    blank_lines: int = 0
    """Empty or whitespace-only lines, skipped on purpose."""
    events: int = 0
    """Lines whose inferences were emitted."""
    records: int = 0
    """Inferences emitted."""
    rejected_inferences: int = 0
    """Inferences of event lines rejected one by one (each with a :class:`Reject` and ``index``)."""
    rejected_lines: int = 0
    """Lines rejected, each with a :class:`Reject`."""
    rejects_by_reason: Counter[str] = field(default_factory=Counter)
    """Rejects per reason code."""
    sources: int = 0
    """Sources read."""

    @property
    def inferences(self) -> int:
        """Inferences found in event lines: emitted plus rejected one by one."""
        return self.records + self.rejected_inferences

    @property
    def balanced(self) -> bool:
        """Whether every line is accounted for."""
        return self.lines == self.blank_lines + self.events + self.rejected_lines

    def add(self, other: Ledger) -> None:
        """Add another ledger's counts to this one."""
        self.lines += other.lines
        self.blank_lines += other.blank_lines
        self.events += other.events
        self.records += other.records
        self.rejected_inferences += other.rejected_inferences
        self.rejected_lines += other.rejected_lines
        self.rejects_by_reason.update(other.rejects_by_reason)
        self.sources += other.sources

    def to_dict(self) -> dict[str, Any]:
        """The ledger as the JSON summary the CLI writes."""
        return {
            "sources": self.sources,
            "lines": self.lines,
            "blank_lines": self.blank_lines,
            "events": self.events,
            "records": self.records,
            "rejected_inferences": self.rejected_inferences,
            "rejected_lines": self.rejected_lines,
            "rejects_by_reason": dict(sorted(self.rejects_by_reason.items())),
            "balanced": self.balanced,
        }


@dataclass(slots=True)
class CaptureResult:
    """Everything read from one or more sources."""

    records: list[InferenceRecord] = field(default_factory=list)
    """Emitted inferences, in input order."""
    rejects: list[Reject] = field(default_factory=list)
    """Rejected lines and inferences, in input order."""
    ledger: Ledger = field(default_factory=Ledger)
    """The counts."""

    def raise_for_rejects(self) -> None:
        """Raise an ``ExceptionGroup`` of :class:`RejectedError` if anything was rejected."""
        if self.rejects:
            errors = [RejectedError(r, _describe(r)) for r in self.rejects]
            msg = f"{len(errors)} reject(s)"
            raise ExceptionGroup(msg, errors)


def _describe(reject: Reject) -> str:
    return f"{reject.source}:{reject.line}: {reject.reason}: {reject.message}"


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
            # A cut inside a multi-byte character is a cut, not bad text (BAD_INPUTS.md §7).
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
    """Reads capture lines into records and rejects, keeping a ledger.

    Args:
        registry: Decoders by content type (default: the built-ins plus entry points).
        strict: Raise :class:`RejectedError` at the first reject instead of collecting it.
        max_line_bytes: Longer lines are rejected with ``line_too_large`` (memory stays bounded).
        sniff: For a content type with no decoder, try JSON, then JSON Lines, then CSV.
        content_types: Media type → media type to decode it as (e.g. ``{"text/html":
            "application/json"}``).
        event_versions: The ``eventVersion`` values accepted.
        schema: An Arthur model schema: records are mapped onto its attributes and values
            coerced; an inference that does not fit is rejected on its own (with ``index``).
            Without an explicit ``registry``, CSV fields then stay text for the schema to type.
        max_depth: How deep one JSON or JSON Lines value may nest (default 32, at most
            :data:`MAX_DEPTH_LIMIT`); deeper payloads are rejected ``nesting_too_deep``. It
            configures the default registry's decoders, so it cannot go with ``registry``.
    """

    def __init__(
        self,
        *,
        registry: DecoderRegistry | None = None,
        strict: bool = False,
        max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
        sniff: bool = False,
        content_types: Mapping[str, str] | None = None,
        event_versions: Iterable[str] = ("0",),
        schema: ModelSchema | None = None,
        max_depth: int | None = None,
    ) -> None:
        """Configure a reader."""
        if max_line_bytes < 1:
            raise ValueError("max_line_bytes must be positive")
        if max_depth is not None and not 0 <= max_depth <= MAX_DEPTH_LIMIT:
            raise ValueError(f"max_depth must be between 0 and {MAX_DEPTH_LIMIT}")
        if max_depth is not None and registry is not None:
            raise ValueError("max_depth configures the default registry; pass one or the other")
        if registry is None:
            registry = default_registry(max_depth=max_depth)
            if schema is not None:
                registry.register(CSVDecoder(infer_types=False), replace=True)
        self.registry = registry
        self.schema = schema
        self._mapper = SchemaMapper(schema) if schema is not None else None
        self.strict = strict
        self.max_line_bytes = max_line_bytes
        self.event_versions = frozenset(event_versions)
        self._sides = SideDecoder(self.registry, content_types=content_types, sniff=sniff)

    def read_line(
        self,
        line: bytes,
        *,
        source: str = "<memory>",
        line_number: int = 1,
        offset: int = 0,
        terminated: bool = True,
    ) -> list[InferenceRecord | Reject] | Reject:
        """Turn one line (without its ``\\n``) into records, or a reject. Never raises for data.

        Returns a single :class:`Reject` when the line cannot be expanded, else one item per
        inference: its record, or a :class:`Reject` with ``index`` when that inference alone
        was refused (partner ID too long, or it does not fit the schema).

        ``terminated`` is false for a stream's last line when it had no newline; an
        incomplete value there is ``truncated_line`` rather than ``invalid_json``.
        """
        expansion = self.expand_line(
            line, source=source, line_number=line_number, offset=offset, terminated=terminated
        )
        if isinstance(expansion, Reject):
            return expansion
        return self.records_from(
            expansion, line, source=source, line_number=line_number, offset=offset
        )

    def expand_line(
        self,
        line: bytes,
        *,
        source: str = "<memory>",
        line_number: int = 1,
        offset: int = 0,
        terminated: bool = True,
    ) -> Expansion | Reject:
        """Parse one line and pair its sides (:func:`arthur_capture.records.pair`), or reject it."""
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
            return pair(event, self._sides)
        except CaptureError as exc:
            reason = exc.reason or Reason.INVALID_EVENT
            message = exc.message
        except RecursionError:
            reason, message = Reason.NESTING_TOO_DEEP, "a value nests too deeply to process"
        return Reject(
            reason=reason,
            source=source,
            line=line_number,
            offset=offset,
            message=message,
            raw=line,
            event_id=event_id,
        )

    def records_from(
        self,
        expansion: Expansion,
        line: bytes,
        *,
        source: str = "<memory>",
        line_number: int = 1,
        offset: int = 0,
    ) -> list[InferenceRecord | Reject]:
        """The records of an expanded line, each mapped (schema) and checked (partner ID)."""
        records = records_of(expansion, source=source, line_number=line_number)
        return [self._checked(record, line, offset) for record in records]

    def _checked(
        self, record: InferenceRecord, line: bytes, offset: int
    ) -> InferenceRecord | Reject:
        try:
            if self._mapper is not None:
                return self._mapper.map(record)
            check_partner_id(record.partner_inference_id)
        except MappingError as exc:
            return Reject(
                reason=exc.reason or Reason.INVALID_VALUE,
                source=record.source,
                line=record.line_number,
                offset=offset,
                message=f"inference {record.index} ({record.partner_inference_id}): {exc.message}",
                raw=line,
                event_id=record.event_id,
                index=record.index,
            )
        return record

    def lines(
        self, source: Source, *, name: str | None = None, ledger: Ledger | None = None
    ) -> Iterator[SourceLine | Reject]:
        """A source's non-blank lines, or framing rejects; counts lines and blanks in ``ledger``.

        Raises:
            SourceError: The source cannot be opened or read.
        """
        ledger = ledger if ledger is not None else Ledger()
        ledger.sources += 1
        label = name if name is not None else _source_name(source)
        for line_number, offset, raw, status in _framed_lines(source, self.max_line_bytes):
            ledger.lines += 1
            if status is _Status.OK or status is _Status.UNTERMINATED:
                if not raw.strip(b" \t\r"):
                    ledger.blank_lines += 1
                    continue
                yield SourceLine(
                    raw[:-1] if raw.endswith(b"\r") else raw,
                    label,
                    line_number,
                    offset,
                    status is _Status.OK,
                )
            else:
                yield _framing_reject(status, raw, label, line_number, offset, self)

    def account(self, ledger: Ledger, result: list[InferenceRecord | Reject] | Reject) -> None:
        """Count one line's outcome in ``ledger``; in strict mode, raise at a reject.

        Raises:
            RejectedError: In strict mode, for the first reject of the line.
        """
        if isinstance(result, Reject):
            ledger.rejected_lines += 1
            ledger.rejects_by_reason[str(result.reason)] += 1
            if self.strict:
                raise RejectedError(result, _describe(result))
            return
        ledger.events += 1
        for item in result:
            if isinstance(item, Reject):
                ledger.rejected_inferences += 1
                ledger.rejects_by_reason[str(item.reason)] += 1
                if self.strict:
                    raise RejectedError(item, _describe(item))
            else:
                ledger.records += 1

    def iter_expansions(
        self,
        source: Source,
        *,
        name: str | None = None,
        ledger: Ledger | None = None,
    ) -> Iterator[tuple[Expansion, SourceLine] | InferenceRecord | Reject]:
        """Like :meth:`iter_source`, but hands over whole paired calls where it can.

        A line whose inferences need no per-inference step (no schema to map onto, every
        partner ID within Arthur's limit) comes as ``(expansion, line)``: its records would
        be exactly :func:`~arthur_capture.records.records_of` of it. Every other line comes
        as records and rejects, as from :meth:`iter_source`. The ledger counts both the same
        way. This is what the columnar and streaming fast paths build on.

        Raises:
            SourceError: The source cannot be opened or read.
            RejectedError: In strict mode, at the first reject.
        """
        ledger = ledger if ledger is not None else Ledger()
        for line in self.lines(source, name=name, ledger=ledger):
            if isinstance(line, Reject):
                self.account(ledger, line)
                yield line
                continue
            expansion = self.expand_line(
                line.raw,
                source=line.source,
                line_number=line.number,
                offset=line.offset,
                terminated=line.terminated,
            )
            if isinstance(expansion, Reject):
                self.account(ledger, expansion)
                yield expansion
                continue
            count = expansion.count
            longest = len(expansion.base_id) + (len(str(count - 1)) + 1 if count > 1 else 0)
            if self._mapper is None and longest <= MAX_PARTNER_ID_LENGTH:
                ledger.events += 1
                ledger.records += count
                yield expansion, line
                continue
            items = self.records_from(
                expansion, line.raw, source=line.source, line_number=line.number, offset=line.offset
            )
            self.account(ledger, items)
            yield from items

    def iter_source(
        self,
        source: Source,
        *,
        name: str | None = None,
        ledger: Ledger | None = None,
    ) -> Iterator[InferenceRecord | Reject]:
        """Yield the records and rejects of one source, in order, updating ``ledger``.

        Raises:
            SourceError: The source cannot be opened or read.
            RejectedError: In strict mode, at the first reject.
        """
        for item in self.iter_expansions(source, name=name, ledger=ledger):
            if isinstance(item, tuple):
                expansion, line = item
                yield from records_of(expansion, source=line.source, line_number=line.number)
            else:
                yield item

    def read(self, *sources: Source) -> CaptureResult:
        """Read every source into one :class:`CaptureResult`."""
        result = CaptureResult()
        for source in sources:
            for item in self.iter_source(source, ledger=result.ledger):
                if isinstance(item, Reject):
                    result.rejects.append(item)
                else:
                    result.records.append(item)
        return result


class SourceLine(NamedTuple):
    """One non-blank line of a source, ready for :meth:`CaptureReader.expand_line`."""

    raw: bytes
    source: str
    number: int
    offset: int
    terminated: bool


class _Status:
    """Framing outcomes for one physical line (sentinels, compared by identity)."""

    OK = object()
    UNTERMINATED = object()
    TOO_LARGE = object()
    TRUNCATED_GZIP = object()
    BAD_GZIP = object()
    BAD_TEXT = object()


def _framing_reject(
    status: object, raw: bytes, source: str, line: int, offset: int, reader: CaptureReader
) -> Reject:
    if status is _Status.TOO_LARGE:
        reason = Reason.LINE_TOO_LARGE
        message = f"line is longer than the limit of {reader.max_line_bytes} bytes"
    elif status is _Status.TRUNCATED_GZIP:
        reason = Reason.TRUNCATED_LINE
        message = "the gzip stream ends early: the file was cut off; lines before the cut are kept"
    elif status is _Status.BAD_GZIP:
        reason = Reason.INVALID_COMPRESSION
        message = "the gzip stream is corrupt; lines before the corruption are kept"
    else:
        reason = Reason.INVALID_UTF8
        message = "line is a str with characters that cannot be encoded as UTF-8"
    return Reject(reason=reason, source=source, line=line, offset=offset, message=message, raw=raw)


def _source_name(source: Source) -> str:
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    if isinstance(source, (bytes, bytearray)):
        return "<bytes>"
    name = getattr(source, "name", None)
    return name if isinstance(name, str) else "<stream>"


def _framed_lines(source: Source, max_line_bytes: int) -> Iterator[tuple[int, int, bytes, object]]:
    """Yield ``(line_number, offset, bytes_without_newline, status)`` for each physical line."""
    if isinstance(source, (str, os.PathLike)):
        try:
            handle = open(source, "rb")  # noqa: SIM115, PTH123 - closed below, in the generator
        except OSError as exc:
            raise SourceError(f"cannot open {os.fspath(source)}: {exc.strerror or exc}") from exc
        with handle:
            yield from _stream_lines(handle, max_line_bytes)
    elif isinstance(source, (bytes, bytearray)):
        yield from _stream_lines(io.BytesIO(bytes(source)), max_line_bytes)
    elif hasattr(source, "read"):
        yield from _stream_lines(source, max_line_bytes)
    else:
        yield from _iterable_lines(source, max_line_bytes)


class _Gunzip(io.RawIOBase):
    """gzip as a raw stream that returns what one decompression step gives.

    ``GzipFile.read(n)`` keeps reading until it has ``n`` bytes, so a stream cut short raises
    ``EOFError`` and drops everything it had decompressed; ``read1`` hands it over first, so
    the lines before a cut are kept.
    """

    def __init__(self, fileobj: IO[bytes]) -> None:
        self._gzip = gzip.GzipFile(fileobj=fileobj, mode="rb")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._gzip.read1(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class _Prefixed(io.RawIOBase):
    """A stream whose first bytes were already read, with them put back in front."""

    def __init__(self, head: bytes, rest: Any) -> None:
        self._head = head
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._head:
            size = min(len(buffer), len(self._head))
            buffer[:size] = self._head[:size]
            self._head = self._head[size:]
            return size
        read = getattr(self._rest, "read1", None) or self._rest.read
        data = read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _sniff(buffered: Any) -> tuple[bytes, Any]:
    """The stream's first three bytes (for the gzip magic and the BOM), and the stream to read.

    ``peek`` gives what one raw read returned, which may be fewer bytes (a pipe, a socket,
    an HTTP body, a gzip step): then the bytes are read in full and put back in front.
    """
    head = bytes(buffered.peek(3)[:3])
    if len(head) < 3:
        head = buffered.read(3)
        if head:
            buffered = io.BufferedReader(_Prefixed(head, buffered), buffer_size=_READ_CHUNK)
    return head, buffered


def _stream_lines(
    stream: IO[bytes], max_line_bytes: int
) -> Iterator[tuple[int, int, bytes, object]]:
    buffered: Any = stream if hasattr(stream, "peek") else io.BufferedReader(stream)
    try:
        head, buffered = _sniff(buffered)
    except OSError as exc:
        raise SourceError(f"cannot read source: {exc}") from exc
    if head[:2] == _GZIP_MAGIC:
        buffered = io.BufferedReader(_Gunzip(buffered), buffer_size=_READ_CHUNK)
        try:
            head, buffered = _sniff(buffered)
        except EOFError:  # cut inside the gzip header or before any data: not silently empty
            yield 1, 0, b"", _Status.TRUNCATED_GZIP
            return
        except (gzip.BadGzipFile, zlib.error) as exc:
            yield 1, 0, str(exc).encode(), _Status.BAD_GZIP
            return
        except OSError as exc:
            raise SourceError(f"cannot read source: {exc}") from exc
    offset = 0
    line_number = 0
    if head == _BOM:
        buffered.read(3)
        offset = 3
    limit = max_line_bytes + 1
    while True:
        try:
            chunk, too_large = _read_line(buffered, limit)
        except EOFError:
            line_number += 1
            yield line_number, offset, b"", _Status.TRUNCATED_GZIP
            return
        except (gzip.BadGzipFile, zlib.error) as exc:
            line_number += 1
            yield line_number, offset, str(exc).encode(), _Status.BAD_GZIP
            return
        except OSError as exc:
            raise SourceError(f"cannot read source: {exc}") from exc
        if not chunk:
            return
        line_number += 1
        start = offset
        offset += limit if too_large else len(chunk)
        if not too_large and chunk.endswith(b"\n"):
            yield line_number, start, chunk[:-1], _Status.OK
        elif not too_large:
            yield line_number, start, chunk, _Status.UNTERMINATED
        else:
            kept = chunk
            while True:
                try:
                    rest = buffered.readline(_READ_CHUNK)
                except (EOFError, gzip.BadGzipFile, zlib.error):
                    rest = b""
                offset += len(rest)
                if not rest or rest.endswith(b"\n"):
                    break
            yield line_number, start, kept, _Status.TOO_LARGE


def _read_line(buffered: Any, limit: int) -> tuple[bytes, bool]:
    """Read one line of at most ``limit`` bytes, in pieces of at most 1 MiB.

    Returns ``(line, False)``, or ``(its first 64 KiB, True)`` when ``limit`` bytes hold no
    newline: the pieces of an over-long line are never joined, so memory peaks near
    ``max_line_bytes``, not twice that.
    """
    piece = buffered.readline(min(limit, _READ_CHUNK))
    if len(piece) < _READ_CHUNK or piece.endswith(b"\n"):
        too_large = len(piece) == limit and not piece.endswith(b"\n")
        return (piece[:_RAW_KEEP], True) if too_large else (piece, False)
    pieces = [piece]
    size = len(piece)
    while size < limit:
        piece = buffered.readline(min(limit - size, _READ_CHUNK))
        if not piece:
            break
        pieces.append(piece)
        size += len(piece)
        if piece.endswith(b"\n"):
            break
    if size == limit and not pieces[-1].endswith(b"\n"):
        return pieces[0][:_RAW_KEEP], True
    return b"".join(pieces), False


def _iterable_lines(
    lines: Iterable[bytes | str], max_line_bytes: int
) -> Iterator[tuple[int, int, bytes, object]]:
    offset = 0
    line_number = 0
    for item in lines:
        status = _Status.OK
        if isinstance(item, str):
            try:
                data = item.encode("utf-8")
            except UnicodeEncodeError:
                data = item.encode("utf-8", "surrogatepass")
                status = _Status.BAD_TEXT
        else:
            data = bytes(item)
        if line_number == 0 and data.startswith(_BOM):
            data = data[3:]
            offset += 3
        parts = data.split(b"\n")
        if len(parts) > 1 and parts[-1] == b"":
            parts.pop()
        for part in parts:
            line_number += 1
            size = len(part) + 1
            if len(part) > max_line_bytes:
                yield line_number, offset, part[:_RAW_KEEP], _Status.TOO_LARGE
            else:
                yield line_number, offset, part, status
            offset += size


def iter_records(
    source: Source, *, name: str | None = None, ledger: Ledger | None = None, **options: Any
) -> Iterator[InferenceRecord | Reject]:
    """Stream the records and rejects of one source. ``options`` go to :class:`CaptureReader`."""
    return CaptureReader(**options).iter_source(source, name=name, ledger=ledger)


def read_records(*sources: Source, **options: Any) -> CaptureResult:
    """Read sources into a :class:`CaptureResult`. ``options`` go to :class:`CaptureReader`."""
    return CaptureReader(**options).read(*sources)
