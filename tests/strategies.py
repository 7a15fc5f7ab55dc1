"""Hypothesis strategies: inference values, payloads, capture events and whole capture files.

Everything here is built from the *documented* rules (docs/decoders.md), never by
calling the library: a generated event carries the records the reader must produce for it.

Value sets are per encoding, so that the documented typing rules round-trip exactly:

- JSON keeps ints (signed 64-bit), finite floats, strings, booleans and null.
- CSV has no booleans and cannot tell the string ``"1"`` from the number ``1``, nor ``""`` from
  a missing value: its strings are non-empty, are not JSON number literals and hold no NUL
  (the CSV decoder refuses NUL); ``None`` is written as an empty field.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

from hypothesis import strategies as st

Value = int | float | str | bool | None
"""One scalar inference value."""

Row = dict[str, Value]
"""One inference's values by name (``input_0``… for column-ordered values)."""

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

_JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
"""A JSON number literal (RFC 8259 §6), the rule the CSV decoder types fields by."""

_COLUMN_NAME = re.compile(r"(?:input|output)_[0-9]+")
LAYOUT_NAMES = frozenset({"instances", "predictions", "features", "probabilities"})
"""Names the item rules refuse in a name → value map (docs/decoders.md I4)."""

# --------------------------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------------------------

ints64 = st.integers(min_value=INT64_MIN, max_value=INT64_MAX)
finite_floats = st.floats(allow_nan=False, allow_infinity=False)
utf8_text = st.text(st.characters(codec="utf-8"), max_size=12)
"""Any text UTF-8 can carry (no lone surrogates), NUL and line separators included."""


def is_json_number(text: str) -> bool:
    """Whether ``text`` is a JSON number literal (CSV would read it back as a number)."""
    return _JSON_NUMBER.fullmatch(text) is not None


csv_strings = st.text(
    st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=12
).filter(lambda s: not is_json_number(s))
"""Strings CSV carries as strings: non-empty, not a number literal, no NUL."""

# A few awkward strings, drawn often, so quoting paths are always exercised.
_CSV_AWKWARD = st.sampled_from(
    ["a,b", 'say "hi"', "line\nbreak", "cr\rlf\r\n", " 1", "1 ", "+1", "01", "NaN", "true", ","]
)

json_values: st.SearchStrategy[Value] = st.one_of(
    st.none(), st.booleans(), ints64, finite_floats, utf8_text
)
"""Scalars a JSON payload round-trips exactly."""

json_list_values: st.SearchStrategy[Any] = st.lists(json_values, max_size=3)
"""A list value (a multiclass ``score``, ``probabilities``): kept whole, as one value."""

csv_values: st.SearchStrategy[Value] = st.one_of(
    st.none(), ints64, finite_floats, csv_strings, _CSV_AWKWARD
)
"""Scalars a CSV payload round-trips exactly under ``csv_value``."""

value_names = st.text(st.characters(codec="utf-8"), min_size=1, max_size=8).filter(
    lambda s: s not in LAYOUT_NAMES and _COLUMN_NAME.fullmatch(s) is None
)
"""Names for name → value maps: not reserved, never ``input_<i>``/``output_<i>``."""

# --------------------------------------------------------------------------------------------
# Payload encoders (the way a client, then SageMaker, would write the body)
# --------------------------------------------------------------------------------------------


def _csv_field(value: Value, quote_all: bool) -> str:
    if value is None:
        text = ""
    elif isinstance(value, float):
        text = repr(value)
    else:
        text = str(value)
    if quote_all or any(c in text for c in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def encode_csv(rows: list[list[Value]], *, newline: str, trailing: bool, quote_all: bool) -> str:
    """csv.writer-style (QUOTE_MINIMAL or QUOTE_ALL) CSV, quoting every field holding CR or LF.

    A row holding one empty field is written ``""``, as csv.writer does, so it is not a blank line.
    """
    lines = []
    for row in rows:
        fields = [_csv_field(v, quote_all) for v in row]
        if fields == [""]:
            fields = ['""']
        lines.append(",".join(fields))
    return newline.join(lines) + (newline if trailing else "")


def _dumps(value: Any, ascii_only: bool) -> str:
    return json.dumps(value, ensure_ascii=ascii_only, allow_nan=False)


# --------------------------------------------------------------------------------------------
# One side of a call
# --------------------------------------------------------------------------------------------

Layout = Literal[
    "csv",
    "json_instances",
    "json_predictions_maps",
    "json_map_list",
    "json_list_of_lists",
    "json_columns",
    "json_scalars",
    "json_scalar",
    "jsonl_features",
    "jsonl_lists",
    "jsonl_maps",
    "jsonl_scalars",
]
NAMED_LAYOUTS = frozenset({"json_predictions_maps", "json_map_list", "json_columns", "jsonl_maps"})
SINGLE_WIDTH_LAYOUTS = frozenset({"json_scalars", "json_scalar", "jsonl_scalars"})

_CONTENT_TYPES: dict[str, list[str]] = {
    "csv": ["text/csv", "text/csv; charset=utf-8", "Text/CSV", "text/CSV; label_size=0"],
    "json": ["application/json", "application/json; charset=utf-8", "APPLICATION/JSON"],
    "jsonl": [
        "application/jsonlines",
        "application/jsonlines; charset=utf-8",
        "application/JSONLINES",
        "application/x-ndjson",
    ],
}


@dataclass(frozen=True)
class GeneratedSide:
    """One side as SageMaker writes it, and the inferences it must decode to."""

    wire: dict[str, Any]
    """``endpointInput`` / ``endpointOutput`` object."""
    rows: list[Row]
    """Per inference: the named values the reader must produce."""
    layout: str
    transport: str


def _family(layout: str) -> str:
    if layout == "csv":
        return "csv"
    return "jsonl" if layout.startswith("jsonl") else "json"


def _body(
    draw: st.DrawFn, layout: str, values: list[list[Value]], names: list[str], ascii_only: bool
) -> str:
    n = len(values)
    if layout == "csv":
        return encode_csv(
            values,
            newline=draw(st.sampled_from(["\n", "\r\n"])),
            trailing=draw(st.booleans()),
            quote_all=draw(st.booleans()),
        )
    if layout.startswith("jsonl"):
        items: list[Any]
        if layout == "jsonl_features":
            items = [{"features": row} for row in values]
        elif layout == "jsonl_lists":
            items = list(values)
        elif layout == "jsonl_maps":
            items = [dict(zip(names, row, strict=True)) for row in values]
        else:
            items = [row[0] for row in values]
        newline = draw(st.sampled_from(["\n", "\r\n"]))
        lines = [_dumps(i, ascii_only) for i in items]
        if draw(st.booleans()):  # blank lines between items are skipped
            lines.insert(draw(st.integers(0, len(lines))), "")
        return newline.join(lines) + (newline if draw(st.booleans()) else "")
    doc: Any
    if layout == "json_instances":
        doc = {"instances": [{"features": row} for row in values]}
    elif layout == "json_predictions_maps":
        key = draw(st.sampled_from(["predictions", "instances"]))
        doc = {key: [dict(zip(names, row, strict=True)) for row in values]}
    elif layout == "json_map_list":
        doc = [dict(zip(names, row, strict=True)) for row in values]
    elif layout == "json_list_of_lists":
        doc = [list(row) for row in values]
        if draw(st.booleans()):
            doc = {draw(st.sampled_from(["predictions", "instances", "scores"])): doc}
    elif layout == "json_columns":
        doc = {name: [values[i][j] for i in range(n)] for j, name in enumerate(names)}
    elif layout == "json_scalars":
        doc = [row[0] for row in values]
        if draw(st.booleans()):
            doc = {draw(st.sampled_from(["predictions", "instances"])): doc}
    else:  # json_scalar
        doc = values[0][0]
    text = _dumps(doc, ascii_only)
    if draw(st.booleans()):
        text = draw(st.sampled_from([" ", "\n", "\r\n", "\t"])) + text + "\n"
    return text


@st.composite
def sides(
    draw: st.DrawFn,
    *,
    role: Literal["input", "output"],
    batch_size: int,
    taken: frozenset[str] = frozenset(),
    one_row: bool = False,
) -> GeneratedSide:
    """One side holding ``batch_size`` inferences of a fixed width, in any layout and encoding.

    ``taken`` are names already used by the other side (a name on both sides is a conflict).
    ``one_row`` writes a response of one value per inference as a single CSV row, the way
    XGBoost did before April 2022 (docs/decoders.md §7); it decodes only next to a request.
    """
    layouts: list[str] = [
        "csv",
        "json_instances",
        "json_predictions_maps",
        "json_map_list",
        "json_list_of_lists",
        "json_columns",
        "json_scalars",
        "jsonl_features",
        "jsonl_lists",
        "jsonl_maps",
        "jsonl_scalars",
    ]
    if batch_size == 1:
        layouts.append("json_scalar")
    layout = "csv" if one_row else draw(st.sampled_from(layouts))
    width = 1 if layout in SINGLE_WIDTH_LAYOUTS or one_row else draw(st.integers(1, 4))
    value_strategy: st.SearchStrategy[Any] = json_values
    if layout == "csv" or one_row:
        value_strategy = csv_values
    elif layout not in SINGLE_WIDTH_LAYOUTS and (layout != "json_columns" or width > 1):
        # A list value stays one value, except where it would read as a batch: a lone
        # column of lists is a wrapper (D2), and a lone scalar per item is not a list.
        value_strategy = json_values | json_list_values
    values = [
        draw(st.lists(value_strategy, min_size=width, max_size=width)) for _ in range(batch_size)
    ]
    if layout in NAMED_LAYOUTS:
        names = draw(
            st.lists(
                value_names.filter(lambda s: s not in taken),
                min_size=width,
                max_size=width,
                unique=True,
            )
        )
    else:
        names = [f"{role}_{i}" for i in range(width)]
    ascii_only = draw(st.booleans())
    if one_row:
        body = encode_csv(
            [[row[0] for row in values]],
            newline="\n",
            trailing=draw(st.booleans()),
            quote_all=draw(st.booleans()),
        )
    else:
        body = _body(draw, layout, values, names, ascii_only)
    family = _family(layout)
    native = "CSV" if family == "csv" else "JSON"
    transport = draw(st.sampled_from([native, "BASE64"]))
    content_type: str | None = draw(st.sampled_from(_CONTENT_TYPES[family]))
    if transport == "BASE64":
        data = base64.b64encode(body.encode("utf-8")).decode("ascii")
    else:
        data = body
        if family != "jsonl" and draw(st.integers(0, 5)) == 0:
            content_type = None  # the encoding then names the decoder
    wire: dict[str, Any] = {}
    if content_type is not None:
        wire["observedContentType"] = content_type
    wire["mode"] = role.upper()
    wire["data"] = data
    wire["encoding"] = transport
    rows = [dict(zip(names, row, strict=True)) for row in values]
    return GeneratedSide(wire=wire, rows=rows, layout=layout, transport=transport)


# --------------------------------------------------------------------------------------------
# Events
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExpectedRecord:
    """What one :class:`~arthur_capture.InferenceRecord` must hold (source not included)."""

    partner_inference_id: str
    inference_timestamp: datetime
    inputs: Row
    outputs: Row
    event_id: str
    inference_id: str | None
    index: int
    batch_size: int
    line_number: int
    custom_attributes: tuple[str, ...]


@dataclass(frozen=True)
class GeneratedEvent:
    """One capture line (without its newline) and the records it must give."""

    line: bytes
    records: tuple[ExpectedRecord, ...]
    wire: dict[str, Any] = field(repr=False)

    def at_line(self, line_number: int) -> tuple[ExpectedRecord, ...]:
        """The expected records, numbered as line ``line_number`` of a file."""
        return tuple(replace(r, line_number=line_number) for r in self.records)


timestamps = st.datetimes(
    min_value=datetime(2015, 1, 1),  # noqa: DTZ001 - naive bounds, UTC attached below
    max_value=datetime(2035, 12, 31),  # noqa: DTZ001
).map(lambda d: d.replace(tzinfo=UTC))

free_text_ids = st.text(st.characters(codec="utf-8"), min_size=1, max_size=20)
"""Caller-chosen ``inferenceId``: free text with spaces, commas, unicode, NUL."""

event_ids = st.one_of(
    st.uuids().map(str),
    st.text(st.characters(codec="utf-8"), min_size=1, max_size=12),
)

custom_attribute_values = st.lists(
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=30), max_size=3
)


@st.composite
def request_response(
    draw: st.DrawFn, *, batch_size: int | None = None
) -> tuple[GeneratedSide | None, GeneratedSide | None]:
    """A request and a response of the same batch size; one of them may be absent."""
    n = batch_size if batch_size is not None else draw(st.integers(1, 10))
    present = draw(st.sampled_from(["both", "both", "both", "input", "output"]))
    request = response = None
    taken: frozenset[str] = frozenset()
    if present in ("both", "input"):
        request = draw(sides(role="input", batch_size=n))
        taken = frozenset(request.rows[0])
    if present in ("both", "output"):
        one_row = present == "both" and n > 1 and draw(st.integers(0, 5)) == 0
        response = draw(sides(role="output", batch_size=n, taken=taken, one_row=one_row))
    return request, response


@st.composite
def capture_events(draw: st.DrawFn, *, batch_size: int | None = None) -> GeneratedEvent:
    """A whole capture line, encoded as SageMaker writes it, with its expected records."""
    request, response = draw(request_response(batch_size=batch_size))
    event_id = draw(event_ids)
    inference_id = draw(st.none() | free_text_ids)
    when = draw(timestamps)
    millis = draw(st.booleans())
    if millis:
        when = when.replace(microsecond=when.microsecond // 1000 * 1000)
        time_text = when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"
    else:
        when = when.replace(microsecond=0)
        time_text = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    attributes = draw(st.none() | custom_attribute_values)

    meta_items: list[tuple[str, Any]] = [("eventId", event_id), ("inferenceTime", time_text)]
    if inference_id is not None:
        meta_items.append(("inferenceId", inference_id))
    if attributes is not None:
        meta_items.append(("customAttributes", attributes))
    meta = dict(draw(st.permutations(meta_items)))
    capture: dict[str, Any] = {}
    if request is not None:
        capture["endpointInput"] = request.wire
    if response is not None:
        capture["endpointOutput"] = response.wire
    wire = {"captureData": capture, "eventMetadata": meta, "eventVersion": "0"}
    compact = draw(st.booleans())
    line = json.dumps(
        wire,
        ensure_ascii=draw(st.booleans()),
        separators=(",", ":") if compact else (", ", ": "),
    ).encode("utf-8")

    sized = request if request is not None else response
    assert sized is not None
    n = len(sized.rows)
    base = inference_id or event_id
    records = tuple(
        ExpectedRecord(
            partner_inference_id=base if n == 1 else f"{base}_{i}",
            inference_timestamp=when,
            inputs=request.rows[i] if request is not None else {},
            outputs=response.rows[i] if response is not None else {},
            event_id=event_id,
            inference_id=inference_id,
            index=i,
            batch_size=n,
            line_number=1,
            custom_attributes=tuple(attributes or ()),
        )
        for i in range(n)
    )
    return GeneratedEvent(line=line, records=records, wire=wire)


# --------------------------------------------------------------------------------------------
# Whole files
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaptureFile:
    """The bytes of a capture file and what reading it must give."""

    data: bytes
    lines: tuple[bytes, ...]
    """Physical lines, without terminators (``\\r`` of CRLF removed)."""
    records: tuple[ExpectedRecord, ...]
    events: int
    blank_lines: int
    event_lines: tuple[int, ...]
    """1-based numbers of the lines holding events."""

    @property
    def line_count(self) -> int:
        return len(self.lines)


@st.composite
def capture_files(
    draw: st.DrawFn, *, max_events: int = 4, trailing: bool | None = None
) -> CaptureFile:
    """A capture file: events (and maybe blank lines), LF or CRLF, trailing newline optional."""
    events = draw(st.lists(capture_events(), min_size=1, max_size=max_events))
    slots: list[GeneratedEvent | bytes] = list(events)
    for _ in range(draw(st.integers(0, 2))):
        blank = draw(st.sampled_from([b"", b" ", b"\t", b"  "]))
        slots.insert(draw(st.integers(0, len(slots))), blank)
    if not isinstance(slots[-1], GeneratedEvent) and draw(st.booleans()):
        slots.append(events[-1])  # usually end on an event (unterminated blank lines are odd)
    crlf = draw(st.booleans())
    end_with_newline = draw(st.booleans()) if trailing is None else trailing
    chunks: list[bytes] = []
    lines: list[bytes] = []
    records: list[ExpectedRecord] = []
    event_lines: list[int] = []
    blanks = 0
    for number, slot in enumerate(slots, start=1):
        body = slot.line if isinstance(slot, GeneratedEvent) else slot
        lines.append(body)
        terminator = b"\r\n" if crlf else b"\n"
        if number == len(slots) and not end_with_newline:
            terminator = b""
        chunks.append(body + terminator)
        if isinstance(slot, GeneratedEvent):
            records.extend(slot.at_line(number))
            event_lines.append(number)
        else:
            blanks += 1
    data = b"".join(chunks)
    if not end_with_newline and isinstance(slots[-1], bytes) and not slots[-1]:
        # an unterminated empty last "line" is no line at all
        lines.pop()
        blanks -= 1
    return CaptureFile(
        data=data,
        lines=tuple(lines),
        records=tuple(records),
        events=len(event_lines),
        blank_lines=blanks,
        event_lines=tuple(event_lines),
    )


# --------------------------------------------------------------------------------------------
# Arbitrary (hostile) input
# --------------------------------------------------------------------------------------------


def _json_containers(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    keys = st.sampled_from(
        ["features", "predictions", "instances", "data", "values", "keys", "shape", "a"]
    )
    return st.lists(children, max_size=4) | st.dictionaries(
        keys | st.text(max_size=4), children, max_size=4
    )


json_anything: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(st.characters(codec="utf-8"), max_size=10),
    _json_containers,
    max_leaves=12,
)
"""Any JSON value (NaN and ±Infinity included: ``json.dumps`` writes them as tokens)."""

content_types_any = st.one_of(
    st.sampled_from(
        [
            "text/csv",
            "application/json",
            "application/jsonlines",
            "application/x-ndjson",
            "text/csv; charset=utf-16",
            "application/json; charset=latin-1",
            "application/json; charset=undefined",
            "application/jsonlines; charset=undefined",
            "text/csv; charset=\x00",
            "text/csv; charset=idna",
            "application/json; charset=utf-7",
            "text/csv; charset=unicode_escape",
            "application/json; charset=rot13",
            "application/jsonlines; charset=bogus",
            'text/csv; charset="UTF-8"',
            "application/x-npy",
            "text/html; charset=utf-8",
            "",
            ";",
            "text/csv;;charset",
        ]
    ),
    st.text(max_size=20),
)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


payload_data = st.one_of(
    st.text(max_size=40),
    st.text(st.sampled_from(',"\r\n 1.-eaé\x00'), max_size=30),
    json_anything.map(json.dumps),
    st.lists(json_anything, min_size=1, max_size=3).map(
        lambda vs: "\n".join(json.dumps(v) for v in vs)
    ),
    st.binary(max_size=30).map(_b64),
    json_anything.map(lambda v: _b64(json.dumps(v).encode("utf-8"))),
    st.text(st.sampled_from("QUJD=!/+ \n"), max_size=12),
)
"""``data`` values: text, CSV-ish text, JSON, JSON Lines, base64 (valid or not)."""


_charset_content_types = st.sampled_from(
    ["text/csv", "application/json", "application/jsonlines"]
).flatmap(
    lambda media: st.sampled_from(
        [
            "utf-8",
            "utf-16",
            "latin-1",
            "undefined",
            "idna",
            "utf-7",
            "unicode_escape",
            "rot13",
            "\x00",
        ]
    ).map(lambda charset: f"{media}; charset={charset}")
)

_base64_bodies = st.one_of(
    st.binary(max_size=30),
    json_anything.map(lambda v: json.dumps(v).encode("utf-8")),
    st.text(st.sampled_from(',"\r\n 1.-eaé'), max_size=20).map(lambda t: t.encode("utf-8")),
).map(_b64)


@st.composite
def arbitrary_sides(draw: st.DrawFn) -> dict[str, Any]:
    """A side with any ``data`` under any encoding and content type (or a broken side).

    Half the time the side is well-formed at the transport level (valid base64 for
    ``BASE64``), so that the charset and decoder paths behind it are reached.
    """
    if draw(st.booleans()):
        encoding = draw(st.sampled_from(["CSV", "JSON", "BASE64"]))
        data = draw(_base64_bodies if encoding == "BASE64" else payload_data)
        side: dict[str, Any] = {"data": data, "encoding": encoding}
        content_type: str | None = draw(_charset_content_types | content_types_any)
    else:
        side = {
            "data": draw(payload_data),
            "encoding": draw(st.sampled_from(["CSV", "JSON", "BASE64", "base64", "XML"])),
        }
        content_type = draw(st.none() | content_types_any)
    if content_type is not None:
        side["observedContentType"] = content_type
    if draw(st.integers(0, 9)) == 0:
        side[draw(st.sampled_from(["data", "encoding"]))] = draw(json_anything)
    return side


@st.composite
def arbitrary_payload_lines(draw: st.DrawFn) -> bytes:
    """A well-formed envelope around arbitrary sides."""
    capture: dict[str, Any] = {}
    if draw(st.booleans()):
        capture["endpointInput"] = draw(arbitrary_sides())
    if draw(st.booleans()) or not capture:
        capture["endpointOutput"] = draw(arbitrary_sides())
    meta: dict[str, Any] = {"eventId": str(uuid.UUID(int=draw(st.integers(0, 2**128 - 1))))}
    meta["inferenceTime"] = draw(
        st.sampled_from(["2024-01-19T19:27:57Z", "2024-01-19T19:27:57.123Z", "yesterday"])
    )
    if draw(st.booleans()):
        meta["inferenceId"] = draw(free_text_ids)
    wire = {"captureData": capture, "eventMetadata": meta, "eventVersion": "0"}
    return json.dumps(wire, ensure_ascii=draw(st.booleans())).encode("utf-8")


def _paths(value: Any, prefix: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    found: list[tuple[str | int, ...]] = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found.extend(_paths(child, (*prefix, key)))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found.extend(_paths(child, (*prefix, index)))
    return found


@st.composite
def mutated_event_lines(draw: st.DrawFn) -> bytes:
    """A valid capture line with one part replaced by an arbitrary JSON value (or removed)."""
    event = draw(capture_events(batch_size=draw(st.integers(1, 3))))
    wire = json.loads(json.dumps(event.wire))
    path = draw(st.sampled_from(_paths(wire)[1:]))
    parent: Any = wire
    for part in path[:-1]:
        parent = parent[part]
    if isinstance(parent, dict) and draw(st.booleans()):
        del parent[path[-1]]
    else:
        parent[path[-1]] = draw(json_anything)
    return json.dumps(wire).encode("utf-8")


hostile_lines = st.one_of(
    st.binary(max_size=60).map(lambda b: b.replace(b"\n", b"")),
    st.text(max_size=40).map(lambda t: t.replace("\n", "").encode("utf-8")),
    json_anything.map(lambda v: json.dumps(v).encode("utf-8")),
    arbitrary_payload_lines(),
    mutated_event_lines(),
)
"""One line (no ``\\n``) of anything: bytes, text, JSON, envelopes with hostile payloads."""
