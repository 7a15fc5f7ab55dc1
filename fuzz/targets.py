"""The fuzz targets: each takes the fuzzer's bytes and raises only when it finds a bug.

A target returns normally for any input the library handles as promised. It raises when:

- an exception that is not a :class:`~arthur_capture.CaptureError` escapes the library (for
  the reader targets, any exception at all: the reader must turn every line into records or
  rejects);
- an invariant breaks (:class:`InvariantError`): the ledger does not balance, a record or
  reject cannot be written as JSON, a coerced value has the wrong type.

The targets read their input with :class:`Data`, a small deterministic byte consumer, so they
need no atheris: ``tests/test_fuzz_regressions.py`` replays the saved crashers anywhere.
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import io
import math
import struct
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Final, TypeVar

from arthur_capture import (
    Call,
    CaptureData,
    CaptureError,
    CaptureEvent,
    CaptureReader,
    CaptureResult,
    CaptureSide,
    Encoding,
    EventMetadata,
    InferenceRecord,
    Lines,
    Payload,
    Reason,
    Reject,
    RejectedError,
    default_registry,
    dumps_json,
    expand,
    read_records,
)
from arthur_capture.arthur.contract import MAX_PARTNER_ID_LENGTH, Stage, ValueType
from arthur_capture.arthur.mapping import SchemaMapper, coerce
from arthur_capture.arthur.schema import ModelSchema
from arthur_capture.decoders import MAX_DEPTH_LIMIT
from arthur_capture.decoders.application_json import JSONDecoder
from arthur_capture.decoders.application_jsonlines import JSONLinesDecoder
from arthur_capture.decoders.text_csv import CSVDecoder
from arthur_capture.records import SideDecoder
from arthur_capture.sinks.jsonl import arthur_json

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from arthur_capture.decoders import Decoder, Inference

__all__ = [
    "CHARSETS",
    "MEDIA_TYPES",
    "SCHEMAS",
    "SIDE_ENCODINGS",
    "TARGETS",
    "Data",
    "InvariantError",
    "encode_value",
    "run_one",
]

T = TypeVar("T")
Target = Callable[[bytes], None]


class InvariantError(AssertionError):
    """An invariant broke: the ledger, a record's shape, or a value's type."""


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise InvariantError(message)


# --------------------------------------------------------------------------------------------
# Reading the fuzzer's bytes
# --------------------------------------------------------------------------------------------


class Data:
    """Consumes the fuzzer's bytes from the front; past the end every byte reads as 0."""

    __slots__ = ("_data", "_pos")

    def __init__(self, data: bytes) -> None:
        """Wrap one input."""
        self._data = data
        self._pos = 0

    @property
    def exhausted(self) -> bool:
        """Whether every byte was consumed."""
        return self._pos >= len(self._data)

    def byte(self) -> int:
        """The next byte (0 past the end)."""
        if self._pos >= len(self._data):
            return 0
        value = self._data[self._pos]
        self._pos += 1
        return value

    def take(self, size: int) -> bytes:
        """The next ``size`` bytes (fewer at the end)."""
        chunk = self._data[self._pos : self._pos + size]
        self._pos += len(chunk)
        return chunk

    def rest(self) -> bytes:
        """Every byte left."""
        return self.take(len(self._data))

    def pick(self, options: Sequence[T]) -> T:
        """One of ``options``, chosen by the next byte."""
        return options[self.byte() % len(options)]


# --------------------------------------------------------------------------------------------
# Values (for the mapping targets): a tiny grammar over bytes, and its inverse for seeds
# --------------------------------------------------------------------------------------------

_NONE, _FALSE, _TRUE, _SMALL_INT, _BIG_INT, _FLOAT, _TEXT, _NUM_TEXT = range(8)
_LIST, _DICT, _DATETIME, _SPECIAL = range(8, 12)
_TAGS: Final = 12
_MAX_VALUE_DEPTH: Final = 6
_NUM_ALPHABET: Final = "0123456789.eE+- _:TZtrufalsenyoNIi\t\x1c\x1f\x85\xa0\u2028\u3000"
_SPECIALS: Final[tuple[Any, ...]] = (
    math.nan,
    math.inf,
    -math.inf,
    -0.0,
    2**63 - 1,
    2**63,
    -(2**63),
    -(2**63) - 1,
    2**64,
    10**400,
    10**5000,
    -(10**5000),
    1e308,
    5e-324,
    "",
    " ",
    "NaN",
    "-Infinity",
    "1e400",
    " 1 ",
    "1_000",
    "0x1F",
    "١٢٣",
    "true",
    "yes",
    "2024-01-19T19:27:57Z",
    "2024-01-19T19:27:57",
    "2024-01-19 19:27:57.123456+05:30",
    "\x00",
    "\u2028",
    [],
    {},
    ["a", "b"],
    ["a", 1],
)


def value(data: Data, depth: int = 0) -> Any:
    """One JSON-like value (plus datetimes and non-finite floats) read from ``data``."""
    tag = data.byte() % _TAGS
    if tag in (_LIST, _DICT) and depth >= _MAX_VALUE_DEPTH:
        tag = _NONE
    if tag == _NONE:
        return None
    if tag in (_FALSE, _TRUE):
        return tag == _TRUE
    if tag == _SMALL_INT:
        return data.byte() - 128
    if tag == _BIG_INT:
        return int.from_bytes(data.take(data.byte() % 24), "little", signed=True)
    if tag == _FLOAT:
        raw = data.take(8).ljust(8, b"\x00")
        return float(struct.unpack("<d", raw)[0])
    if tag == _TEXT:
        return data.take(data.byte()).decode("utf-8", "replace")
    if tag == _NUM_TEXT:
        return "".join(_NUM_ALPHABET[b % len(_NUM_ALPHABET)] for b in data.take(data.byte()))
    if tag == _LIST:
        return [value(data, depth + 1) for _ in range(data.byte() % 6)]
    if tag == _DICT:
        return {_name(data): value(data, depth + 1) for _ in range(data.byte() % 6)}
    if tag == _DATETIME:
        return _datetime(data)
    return data.pick(_SPECIALS)


def _name(data: Data) -> str:
    return data.take(data.byte() % 16).decode("utf-8", "replace")


def _datetime(data: Data) -> datetime:
    year = 1 + int.from_bytes(data.take(2).ljust(2, b"\x00"), "little") % 9999
    month, day = 1 + data.byte() % 12, 1 + data.byte() % 28
    hour, minute, second = data.byte() % 24, data.byte() % 60, data.byte() % 60
    micro = int.from_bytes(data.take(3).ljust(3, b"\x00"), "little") % 1_000_000
    zone = data.byte()
    tz: timezone | None = None
    if zone % 3 == 1:
        tz = UTC
    elif zone % 3 == 2:
        tz = timezone(timedelta(minutes=(zone * 17) % 2879 - 1439))
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=tz)


def encode_value(obj: Any) -> bytes:
    """The bytes :func:`value` reads back as ``obj`` (JSON values only; for seed corpora).

    Strings longer than 255 UTF-8 bytes, and lists or maps of more than five items, are cut.
    """
    if obj is None:
        return bytes([_NONE])
    if isinstance(obj, bool):
        return bytes([_TRUE if obj else _FALSE])
    if isinstance(obj, int):
        if -128 <= obj < 128:
            return bytes([_SMALL_INT, obj + 128])
        size = (obj.bit_length() + 8) // 8
        if size < 24:
            return bytes([_BIG_INT, size]) + obj.to_bytes(size, "little", signed=True)
        return bytes([_FLOAT]) + struct.pack("<d", float(obj))
    if isinstance(obj, float):
        return bytes([_FLOAT]) + struct.pack("<d", obj)
    if isinstance(obj, str):
        if obj and all(ch in _NUM_ALPHABET for ch in obj[:255]):
            text = obj[:255]
            return bytes([_NUM_TEXT, len(text)]) + bytes(_NUM_ALPHABET.index(c) for c in text)
        raw = obj.encode("utf-8")[:255]
        return bytes([_TEXT, len(raw)]) + raw
    if isinstance(obj, list):
        items = obj[:5]
        return bytes([_LIST, len(items)]) + b"".join(encode_value(v) for v in items)
    if isinstance(obj, dict):
        pairs = list(obj.items())[:5]
        out = bytearray([_DICT, len(pairs)])
        for key, item in pairs:
            name = str(key).encode("utf-8")[:15]
            out += bytes([len(name)]) + name + encode_value(item)
        return bytes(out)
    return bytes([_NONE])


# --------------------------------------------------------------------------------------------
# Checks shared by the targets
# --------------------------------------------------------------------------------------------


def _writable(record: InferenceRecord) -> None:
    """A record the library emits can be written as Arthur JSON, with a valid partner ID."""
    _require(isinstance(record, InferenceRecord), f"not a record: a {type(record).__name__}")
    _require(
        len(record.partner_inference_id) <= MAX_PARTNER_ID_LENGTH,
        "an emitted partner inference ID is over 255 characters",
    )
    _require(record.inference_timestamp.utcoffset() is not None, "a naive timestamp was emitted")
    arthur_json(record)


def _dead_letter(reject: Reject) -> None:
    """A reject carries a closed-set reason and can be written to a dead-letter file."""
    _require(isinstance(reject, Reject), f"not a reject: a {type(reject).__name__}")
    _require(isinstance(reject.reason, Reason), "a reject's reason is not a Reason")
    _require(bool(reject.message), "a reject has no message")
    dumps_json(reject.to_dict())


def _depth(obj: Any) -> int:
    """How deep a value nests (a scalar is 0, ``[1]`` is 1); iterative."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(obj, 0)]
    while stack:
        current, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(current, dict):
            stack.extend((child, depth + 1) for child in current.values())
        elif isinstance(current, list):
            stack.extend((child, depth + 1) for child in current)
    return deepest


def _inferences(result: Any) -> list[Inference]:
    """A decoder's result is a non-empty list of lists and name → value maps."""
    _require(isinstance(result, list) and bool(result), f"decoder returned {type(result)}")
    for inference in result:
        _require(isinstance(inference, (list, dict)), f"an inference is a {type(inference)}")
        if isinstance(inference, dict):
            _require(all(isinstance(k, str) for k in inference), "a value name is not a string")
    return list(result)


def _bodies(data: Data, media_type: str) -> Payload:
    """A payload for ``media_type``: the rest of ``data`` as text, UTF-8 bytes or charset bytes."""
    form = data.byte() % 4
    charset = data.pick(CHARSETS)
    raw = data.rest()
    if form == 0:
        return Payload(raw.decode("utf-8", "replace"), media_type)
    if form == 1:
        return Payload(raw, media_type)
    return Payload(raw, media_type, {"charset": charset})


# --------------------------------------------------------------------------------------------
# (a) The reader: one line, and whole streams
# --------------------------------------------------------------------------------------------

_READERS: dict[int, CaptureReader] = {}
_CONTENT_TYPES: Final = {"text/html": "application/json", "application/octet-stream": "text/csv"}


def _schema(implicit: bool) -> ModelSchema:
    """A fixed model: one input per value type, outputs, non-input data and ground truth."""
    inputs = [
        {
            "name": f"in_{vt.name.lower()}",
            "stage": "PIPELINE_INPUT",
            "value_type": vt.value,
            "position": position,
        }
        for position, vt in enumerate(ValueType)
    ]
    outputs: list[dict[str, Any]] = [
        {"name": "score", "stage": "PREDICTED_VALUE", "value_type": "FLOAT", "position": 0},
        {"name": "label", "stage": "PREDICTED_VALUE", "value_type": "INTEGER", "position": 1},
        {"name": "when", "stage": "PREDICTED_VALUE", "value_type": "TIMESTAMP", "position": 2},
        {"name": "segment", "stage": "NON_INPUT_DATA", "value_type": "STRING"},
        {"name": "truth", "stage": "GROUND_TRUTH", "value_type": "INTEGER", "position": 0},
    ]
    if implicit:
        outputs[0] = {**outputs[0], "implicit": True}
    return ModelSchema.from_json([*inputs, *outputs])


SCHEMAS: Final = (_schema(implicit=False), _schema(implicit=True))
"""The fixed schemas the mapping targets map onto."""


def _line_reader(flags: int) -> CaptureReader:
    """A reader for one combination of the option bits (cached: readers hold no run state)."""
    key = flags & 0x1F
    reader = _READERS.get(key)
    if reader is None:
        sniff, with_schema, csv_header = bool(key & 1), bool(key & 2), bool(key & 4)
        deep, content_types = bool(key & 8), _CONTENT_TYPES if key & 0x10 else None
        mapper = SchemaMapper(SCHEMAS[0]) if with_schema else None
        if csv_header:
            registry = default_registry()
            registry.register(CSVDecoder(header=True, infer_types=not with_schema), replace=True)
            reader = CaptureReader(
                registry=registry, mapper=mapper, sniff=sniff, content_types=content_types
            )
        else:
            reader = CaptureReader(
                mapper=mapper,
                sniff=sniff,
                content_types=content_types,
                max_depth=MAX_DEPTH_LIMIT if deep else None,
            )
        _READERS[key] = reader
    return reader


def reader_line(data: bytes) -> None:
    """``CaptureReader.read_line``: any line gives records or one reject, never an exception.

    Byte 0 picks the options (sniff, schema, CSV header, deepest ``max_depth``, content-type
    mapping, unterminated last line); the rest is the line.
    """
    feed = Data(data)
    flags = feed.byte()
    line = feed.rest()
    result = _line_reader(flags).read_line(line, terminated=not flags & 0x20)
    if isinstance(result, Reject):
        _dead_letter(result)
        _require(result.index is None, "a whole-line reject has an inference index")
        _require(result.raw == line, "a line reject does not keep the line's bytes")
        return
    _require(isinstance(result, Call), f"read_line gave a {type(result).__name__}")
    items = result.items()
    _require(bool(items), "an event line gave no inference")
    _require(len(items) == result.count, "a call's items do not match its count")
    for position, item in enumerate(items):
        if isinstance(item, Reject):
            _dead_letter(item)
            _require(item.index == position, "an inference reject has the wrong index")
        else:
            _writable(item)
            _require(item.index == position, "a record has the wrong index")
            _require(item.batch_size == len(items), "a record has the wrong batch size")


class ShortReads(io.RawIOBase):
    """A raw stream (no ``peek``) that returns at most ``step`` bytes per read."""

    def __init__(self, data: bytes, step: int) -> None:
        self._data = memoryview(data)
        self._step = step

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        size = min(len(buffer), self._step, len(self._data))
        buffer[:size] = self._data[:size]
        self._data = self._data[size:]
        return size


def _count_lines(body: bytes) -> int:
    """Lines in a byte stream, split on ``\\n`` only (an unterminated last line counts)."""
    if body.startswith(b"\xef\xbb\xbf"):
        body = body[3:]
    if not body:
        return 0
    return body.count(b"\n") + (0 if body.endswith(b"\n") else 1)


def _count_items(items: Iterable[bytes | str]) -> int:
    """Lines in an iterable of lines: each item is a line; one holding ``\\n`` splits there."""
    total = 0
    for item in items:
        newline = "\n" if isinstance(item, str) else b"\n"
        total += item.count(newline) + (0 if item.endswith(newline) else 1)  # type: ignore[arg-type]
    return total


def _chunks(body: bytes, size: int) -> list[bytes]:
    return [body[i : i + size] for i in range(0, len(body), size)] or [b""]


_GZIP_MAGIC: Final = b"\x1f\x8b"


def reader_stream(data: bytes) -> None:
    """``read_records`` over a whole stream: every line accounted for, the ledger balanced.

    Byte 0: bits 0-2 the source's form (bytes, gzip, gzip cut short, corrupt gzip, ``Lines``
    of byte lines, of str lines, a stream with short reads, a bytearray); bits 3-4
    ``max_line_bytes`` (default, 8, 64, 1024); bit 5 sniff; bit 6 strict. Byte 1 sets the cut,
    the corrupt byte, the chunk size or the read size. The rest is the file.
    """
    feed = Data(data)
    flags, param = feed.byte(), feed.byte()
    body = feed.rest()
    form = flags & 7
    max_line_bytes = (64 * 1024 * 1024, 8, 64, 1024)[(flags >> 3) & 3]
    options: dict[str, Any] = {
        "max_line_bytes": max_line_bytes,
        "sniff": bool(flags & 0x20),
        "strict": bool(flags & 0x40),
    }
    expected: int | None = None
    source: Any
    if form == 0:
        source = body
        expected = None if body.startswith(_GZIP_MAGIC) else _count_lines(body)
    elif form == 1:
        source = gzip.compress(body, mtime=0)
        expected = _count_lines(body)
    elif form == 2:
        packed = gzip.compress(body, mtime=0)
        source = packed[: param * len(packed) // 256]
    elif form == 3:
        corrupt = bytearray(gzip.compress(body, mtime=0))
        corrupt[param % len(corrupt)] ^= 0x55
        source = bytes(corrupt)
    elif form == 4:
        lines: list[bytes] | list[str] = _chunks(body, param + 1)
        source = Lines(lines)
        expected = _count_items(lines)
    elif form == 5:
        lines = [
            piece.decode("utf-8", "surrogateescape") for piece in _chunks(body, param % 64 + 1)
        ]
        source = Lines(lines)
        expected = _count_items(lines)
    elif form == 6:
        source = ShortReads(body, param % 17 + 1)
        expected = None if body.startswith(_GZIP_MAGIC) else _count_lines(body)
    else:
        source = bytearray(body)
        expected = None if body.startswith(_GZIP_MAGIC) else _count_lines(body)
    try:
        result = read_records(source, **options)
    except RejectedError:
        _require(bool(flags & 0x40), "RejectedError escaped outside strict mode")
        return
    ledger = result.ledger
    _require(ledger.balanced, f"the ledger does not balance: {ledger.to_dict()}")
    _require(ledger.sources == 1, "one source was not counted once")
    _require(len(result.records) == ledger.records, "records and ledger.records differ")
    _require(
        len(result.rejects) == ledger.rejected_lines + ledger.rejected_inferences,
        "rejects and the ledger's rejected counts differ",
    )
    _require(
        sum(ledger.rejects_by_reason.values()) == len(result.rejects),
        "rejects_by_reason does not add up to the rejects",
    )
    if expected is not None and not ledger.rejects_by_reason.get("too_many_blank_lines"):
        _require(ledger.lines == expected, f"read {ledger.lines} lines; the stream has {expected}")
    elif expected is not None:  # the rest of the source after too many blank lines is not read
        _require(ledger.lines <= expected, f"read {ledger.lines} lines; the stream has {expected}")
    for record in result.records:
        _writable(record)
        _require(1 <= record.line_number <= ledger.lines, "a record's line number is off")
    for reject in result.rejects:
        _dead_letter(reject)
        _require(1 <= reject.line_number <= max(ledger.lines, 1), "a reject's line number is off")
    if form in (1, 6, 7) and not body.startswith(_GZIP_MAGIC):
        # The same bytes gzipped, read in short pieces or as a bytearray: the same outcome.
        _require(
            _outcome(result) == _outcome(read_records(body, **options)),
            f"form {form} of the same bytes gives a different outcome than plain bytes",
        )


def _outcome(result: CaptureResult) -> tuple[list[bytes], list[tuple[Any, ...]], dict[str, Any]]:
    """What a read produced, comparably: records as Arthur JSON, rejects, the ledger."""
    records = [arthur_json(r) for r in result.records]
    rejects = [
        (r.reason, r.line_number, r.offset, r.index, r.event_id, r.raw) for r in result.rejects
    ]
    ledger = result.ledger.to_dict()
    # examples name their source ("<bytes>:8", "<stream>:8"): compare the line numbers only
    ledger["duplicate_examples"] = [
        (e["partner_inference_id"], e["first"].rpartition(":")[2], e["repeat"].rpartition(":")[2])
        for e in ledger["duplicate_examples"]
    ]
    return records, rejects, ledger


# --------------------------------------------------------------------------------------------
# (b) Decoders, alone and through SideDecoder
# --------------------------------------------------------------------------------------------

CHARSETS: Final = (
    "utf-8",
    "UTF-8",
    "utf8",
    "latin-1",
    "iso-8859-15",
    "cp1252",
    "ascii",
    "utf-16",
    "utf-16-le",
    "utf-32",
    "utf-7",
    "utf-8-sig",
    "shift_jis",
    "gb18030",
    "koi8-r",
    "idna",
    "punycode",
    "unicode_escape",
    "raw_unicode_escape",
    "hex",
    "base64",
    "rot13",
    "zlib",
    "undefined",
    "mbcs",
    "",
    "bogus-charset",
    "utf-8\x00",
    '"utf-8"',
    "UTF_8",
)
_CSV_DECODERS: Final = (
    CSVDecoder(),
    CSVDecoder(infer_types=False),
    CSVDecoder(header=True),
    CSVDecoder(header=True, infer_types=False),
)
_INT64: Final = (-(2**63), 2**64 - 1)


def decoder_csv(data: bytes) -> None:
    """``CSVDecoder`` (typed, untyped, with a header): rows of equal width, typed by the rule."""
    feed = Data(data)
    decoder = feed.pick(_CSV_DECODERS)
    payload = _bodies(feed, "text/csv")
    try:
        rows = _inferences(decoder.decode(payload))
    except CaptureError:
        return
    widths = {len(row) for row in rows}
    _require(len(widths) == 1, f"CSV rows of different widths: {sorted(widths)}")
    for row in rows:
        _require(isinstance(row, dict) == decoder.header, "a CSV row has the wrong form")
        values = list(row.values()) if isinstance(row, dict) else row
        for field in values:
            if not decoder.infer_types:
                _require(isinstance(field, str), "an untyped CSV field is not a string")
            elif isinstance(field, int):
                # of any size, exact end to end: written with all its digits
                if not _INT64[0] <= field <= _INT64[1]:
                    _require(
                        dumps_json(field) == str(field).encode(),
                        "a CSV integer beyond 64 bits is not written exactly",
                    )
            elif isinstance(field, float):
                _require(math.isfinite(field), "a CSV float is not finite")
            else:
                _require(
                    field is None or isinstance(field, str),
                    f"a typed CSV field is a {type(field).__name__}",
                )


_DEPTHS: Final = (0, 1, 2, 32, MAX_DEPTH_LIMIT)


def _json_like(data: bytes, make: Callable[[int], Decoder], media_type: str) -> None:
    feed = Data(data)
    max_depth = feed.pick(_DEPTHS)
    payload = _bodies(feed, media_type)
    try:
        inferences = _inferences(make(max_depth).decode(payload))
    except CaptureError:
        return
    for inference in inferences:
        values = inference.values() if isinstance(inference, dict) else inference
        for item in values:
            _require(_depth(item) <= max_depth, f"a value nests past max_depth={max_depth}")
        dumps_json(inference)


def decoder_json(data: bytes) -> None:
    """``JSONDecoder``: any body gives inferences within ``max_depth``, or InvalidPayloadError."""
    _json_like(data, lambda depth: JSONDecoder(max_depth=depth), "application/json")


def decoder_jsonlines(data: bytes) -> None:
    """``JSONLinesDecoder``: the same promise, one inference per non-blank line."""
    _json_like(data, lambda depth: JSONLinesDecoder(max_depth=depth), "application/jsonlines")


MEDIA_TYPES: Final = (
    None,
    "",
    "text/csv",
    "application/json",
    "application/jsonlines",
    "application/x-ndjson",
    "TEXT/CSV",
    "text/html",
    "application/octet-stream",
    "application/x-npy",
    "image/jpeg",
    " ; ",
    "text/json",
)
_SIDE_DECODERS: Final = (
    SideDecoder(default_registry()),
    SideDecoder(default_registry(), sniff=True),
    SideDecoder(default_registry(), content_types=_CONTENT_TYPES, sniff=True),
)
_WHEN: Final = datetime(2024, 1, 19, 19, 27, 57, tzinfo=UTC)


SIDE_ENCODINGS: Final = ("CSV", "JSON", "BASE64", "BASE64 (raw text)")
"""How :func:`side` reads a side's first setting byte (the last one puts the body's text
itself in a ``BASE64`` side, so mostly invalid base64)."""


def _side(feed: Data, body: bytes) -> CaptureSide:
    """One side: its encoding, content type and charset from ``feed``, its body ``body``."""
    encoding = feed.byte() % len(SIDE_ENCODINGS)
    media_type = feed.pick(MEDIA_TYPES)
    charset = feed.byte()
    content_type = media_type
    if charset < len(CHARSETS) and media_type is not None:
        content_type = f"{media_type}; charset={CHARSETS[charset]}"
    if encoding == 2:
        text = base64.b64encode(body).decode("ascii")
    else:
        text = body.decode("utf-8", "replace")
    return CaptureSide(
        data=text,
        encoding=(Encoding.CSV, Encoding.JSON, Encoding.BASE64, Encoding.BASE64)[encoding],
        observed_content_type=content_type,
    )


def side(data: bytes) -> None:
    """``SideDecoder`` (BASE64, charsets, sniffing, content-type mapping) and ``expand``.

    Byte 0 picks the side decoder (plain, sniffing, sniffing with a content-type mapping);
    bytes 1-3 describe the request (encoding, content type, charset), 4-6 the response;
    bytes 7-8 (little-endian) are where the rest is split into the request and response bodies.
    """
    feed = Data(data)
    sides = feed.pick(_SIDE_DECODERS)
    settings = feed.take(3)
    out_settings = feed.take(3)
    split = int.from_bytes(feed.take(2).ljust(2, b"\x00"), "little")
    rest = feed.rest()
    cut = min(split, len(rest))
    request = _side(Data(settings), rest[:cut])
    response = _side(Data(out_settings), rest[cut:])
    for one in (request, response):
        with contextlib.suppress(CaptureError):
            _inferences(sides.decode(one))
    event = CaptureEvent(
        capture_data=CaptureData(endpoint_input=request, endpoint_output=response),
        event_metadata=EventMetadata(event_id="fuzz-event", inference_time=_WHEN),
    )
    try:
        records = expand(event, sides)
    except CaptureError:
        return
    _require(bool(records), "an expanded call gave no record")
    for record in records:
        _writable(record)


# --------------------------------------------------------------------------------------------
# (c) The Arthur mapping
# --------------------------------------------------------------------------------------------

_MAPPERS: dict[tuple[bool, bool, bool], SchemaMapper] = {}
_NAMES: Final = (
    *(a.name for a in SCHEMAS[0].attributes),
    "input_0",
    "input_13",
    "output_0",
    "output_1",
    "output_2",
    "output_3",
    "instances",
    "partner_inference_id",
    "",
)
_SENT: Final = frozenset({Stage.PIPELINE_INPUT, Stage.NON_INPUT_DATA, Stage.PREDICTED_VALUE})


def _values(feed: Data, count: int, prefix: str, named: bool) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for position in range(count):
        if named:
            name = _name(feed) if feed.byte() % 8 == 0 else feed.pick(_NAMES)
        else:
            name = f"{prefix}{position}"
        values[name] = value(feed)
    return values


def mapping(data: bytes) -> None:
    """``SchemaMapper.map`` on records of fuzzed values against the fixed schemas.

    Byte 0: require inputs, require outputs, has inputs, has outputs, named inputs, named
    outputs, implicit first output, an over-long partner ID. Bytes 1-2: the counts. Then the
    names and values.
    """
    feed = Data(data)
    flags = feed.byte()
    n_in, n_out = feed.byte() % 15, feed.byte() % 5
    key = (bool(flags & 0x40), bool(flags & 1), bool(flags & 2))
    mapper = _MAPPERS.get(key)
    if mapper is None:
        mapper = SchemaMapper(SCHEMAS[key[0]], require_inputs=key[1], require_outputs=key[2])
        _MAPPERS[key] = mapper
    inputs = _values(feed, n_in, "input_", bool(flags & 0x10)) if flags & 4 else {}
    outputs = _values(feed, n_out, "output_", bool(flags & 0x20)) if flags & 8 else {}
    partner_id = "p" * (250 + feed.byte() % 10) if flags & 0x80 else "fuzz"
    record = InferenceRecord(
        partner_inference_id=partner_id,
        inference_timestamp=_WHEN,
        inputs=inputs,
        outputs=outputs,
        event_id="fuzz-event",
        inference_id=None,
        index=0,
        batch_size=1,
        source="<fuzz>",
        line_number=1,
    )
    try:
        mapped = mapper.map(record)
    except CaptureError:
        return
    attributes = mapper.schema.by_name()
    for values in (mapped.inputs, mapped.outputs):
        for name, coerced in values.items():
            attribute = attributes.get(name)
            _require(attribute is not None, f"mapped to {name!r}, which is not an attribute")
            assert attribute is not None  # for mypy; _require raised otherwise
            _require(attribute.stage in _SENT, f"mapped a value to {attribute.stage} {name!r}")
            _check_coerced(coerced, attribute.value_type)
    _writable(mapped)


_PASS_THROUGH: Final = frozenset(
    {
        ValueType.IMAGE,
        ValueType.BOUNDING_BOX,
        ValueType.TOKENS,
        ValueType.TOKEN_LIKELIHOODS,
        ValueType.RANKED_LIST,
        ValueType.TIME_SERIES,
    }
)


def _check_coerced(result: Any, value_type: ValueType) -> None:
    """A coerced value has its type's Python type, is stable when coerced again, writes as JSON."""
    if value_type is ValueType.INTEGER:
        ok = result is None or (
            isinstance(result, int) and not isinstance(result, bool) and -(2**63) <= result < 2**63
        )
    elif value_type is ValueType.FLOAT:
        ok = result is None or (isinstance(result, float) and math.isfinite(result))
    elif value_type is ValueType.BOOLEAN:
        ok = result is None or isinstance(result, bool)
    elif value_type in (ValueType.STRING, ValueType.UNSTRUCTURED_TEXT):
        ok = result is None or isinstance(result, str)
    elif value_type is ValueType.TIMESTAMP:
        ok = isinstance(result, datetime) and result.utcoffset() is not None
    elif value_type is ValueType.ARRAY_STRING:
        ok = result is None or (
            isinstance(result, list) and all(isinstance(v, str) for v in result)
        )
    else:
        ok = value_type in _PASS_THROUGH
    if not ok:
        raise InvariantError(f"coerce(…, {value_type}) gave a {type(result).__name__}")
    if value_type not in _PASS_THROUGH:
        again = coerce(result, value_type)
        if again != result or type(again) is not type(result):
            raise InvariantError(f"coerce is not stable for {value_type} ({type(result).__name__})")
    dumps_json({"v": result})


def coerce_all(data: bytes) -> None:
    """``coerce`` of one fuzzed value to every ``ValueType``: a value of that type, or an error."""
    feed = Data(data)
    fuzzed = value(feed)
    for value_type in ValueType:
        try:
            result = coerce(fuzzed, value_type)
        except CaptureError:
            continue
        _check_coerced(result, value_type)


TARGETS: Final[dict[str, Target]] = {
    "reader_line": reader_line,
    "reader_stream": reader_stream,
    "decoder_csv": decoder_csv,
    "decoder_json": decoder_json,
    "decoder_jsonlines": decoder_jsonlines,
    "side": side,
    "mapping": mapping,
    "coerce": coerce_all,
}
"""Every target by name (the names are the folders of ``fuzz/crashers`` and the corpora)."""


def run_one(name: str, data: bytes) -> Exception | None:
    """Run one target on one input; the exception that escaped (a bug), or ``None``."""
    try:
        TARGETS[name](data)
    except Exception as exc:  # noqa: BLE001 - anything escaping a target is the finding
        return exc
    return None
