"""Property tests: round trip, ledger, truncation, concatenation,
determinism, isolation of corrupt lines, and "only our errors escape"."""

from __future__ import annotations

import base64
import contextlib
import gzip
import json
import zlib
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from arthur_capture import (
    CaptureError,
    CaptureReader,
    CaptureResult,
    InferenceRecord,
    Lines,
    Reason,
    Reject,
    RejectedError,
    read_records,
)
from arthur_capture.sinks.jsonl import arthur_json
from tests.strategies import (
    CaptureFile,
    ExpectedRecord,
    GeneratedEvent,
    capture_events,
    capture_files,
    hostile_lines,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence


READER = CaptureReader()
"""Readers hold no per-run state, so one serves every example (keeps examples cheap)."""

BOM = b"\xef\xbb\xbf"
GZIP_MAGIC = b"\x1f\x8b"

# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _canon_value(value: Any) -> tuple[str, str]:
    """Type and repr: ``1``, ``1.0``, ``True`` and ``-0.0``/``0.0`` all differ."""
    return type(value).__name__, repr(value)


def _canon_row(row: Mapping[str, Any]) -> tuple[tuple[str, str, str], ...]:
    return tuple((name, *_canon_value(value)) for name, value in row.items())


def key(record: InferenceRecord | ExpectedRecord) -> tuple[Any, ...]:
    """A record as a strictly comparable tuple (value types and name order included)."""
    stamp = record.inference_timestamp
    assert stamp.utcoffset() is not None
    return (
        record.partner_inference_id,
        stamp,
        stamp.utcoffset(),
        _canon_row(record.inputs),
        _canon_row(record.outputs),
        record.event_id,
        record.inference_id,
        record.index,
        record.batch_size,
        record.line_number,
        tuple(record.custom_attributes),
    )


def keys(records: Iterable[InferenceRecord | ExpectedRecord]) -> list[tuple[Any, ...]]:
    return [key(r) for r in records]


def physical_lines(data: bytes) -> int | None:
    """Lines as the reader counts them: ``\\n``s, plus an unterminated tail (BOM at 0 skipped).

    ``None`` for data that starts with the gzip magic: it is read as gzip, not as lines.
    """
    if data.startswith(GZIP_MAGIC):
        return None
    data = data.removeprefix(BOM)
    return data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)


def check_ledger(result: CaptureResult, *, lines: int | None = None) -> None:
    """Every line accounted for; records match the batch sizes of the accepted lines.

    A line-level reject has no ``index``; an inference refused on its own has one, and its
    line still counts as an event.
    """
    ledger = result.ledger
    assert ledger.balanced
    assert ledger.lines == ledger.blank_lines + ledger.events + ledger.rejected_lines
    if lines is not None:
        assert ledger.lines == lines
    line_rejects = [r for r in result.rejects if r.index is None]
    inference_rejects = [r for r in result.rejects if r.index is not None]
    assert ledger.records == len(result.records)
    assert ledger.rejected_lines == len(line_rejects)
    assert ledger.rejected_inferences == len(inference_rejects)
    assert sum(ledger.rejects_by_reason.values()) == len(result.rejects)
    batches: dict[tuple[str, int], int] = {}
    found: dict[tuple[str, int], int] = {}
    for record in result.records:
        where = (record.source, record.line_number)
        assert batches.setdefault(where, record.batch_size) == record.batch_size
        found[where] = found.get(where, 0) + 1
    for reject in inference_rejects:
        where = (reject.source, reject.line_number)
        found[where] = found.get(where, 0) + 1
    for where, size in batches.items():
        assert found[where] == size, where
    assert ledger.events == len(found)
    assert ledger.records + ledger.rejected_inferences == sum(found.values())
    if not inference_rejects:
        assert ledger.records == sum(batches.values())
    rejected = {(r.source, r.line_number) for r in line_rejects}
    assert rejected.isdisjoint(found)


def check_outcome(result: CaptureResult) -> None:
    """Only records and reason-coded rejects come out, and both serialise."""
    for record in result.records:
        assert isinstance(record, InferenceRecord)
        arthur_json(record)
    for reject in result.rejects:
        assert isinstance(reject, Reject)
        assert isinstance(reject.reason, Reason)
        assert reject.reason in set(Reason)
        json.dumps(reject.to_dict())


def check_strict(source: Any, relaxed: CaptureResult, **options: Any) -> None:
    """Strict mode raises only library errors, and exactly when there is a reject."""
    reader = CaptureReader(strict=True, **options)
    if relaxed.rejects:
        with pytest.raises(RejectedError) as info:
            reader.read(source)
        assert isinstance(info.value, CaptureError)
        assert info.value.reject == relaxed.rejects[0]
    else:
        assert keys(reader.read(source).records) == keys(relaxed.records)


def by_line(records: Iterable[InferenceRecord]) -> dict[int, list[tuple[Any, ...]]]:
    grouped: dict[int, list[tuple[Any, ...]]] = {}
    for record in records:
        grouped.setdefault(record.line_number, []).append(key(record))
    return grouped


def _gzip(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


# --------------------------------------------------------------------------------------------
# Mixed files: generated events, blank lines and hostile lines
# --------------------------------------------------------------------------------------------


@st.composite
def mixed_files(draw: st.DrawFn) -> tuple[bytes, dict[int, GeneratedEvent]]:
    """A file of events, blank lines and hostile lines; also the events by line number."""
    slots = draw(
        st.lists(
            st.one_of(
                capture_events(batch_size=draw(st.integers(1, 3))),
                hostile_lines,
                st.sampled_from([b"", b" ", b"\r"]),
            ),
            min_size=1,
            max_size=5,
        )
    )
    newline = draw(st.sampled_from([b"\n", b"\r\n"]))
    raw = [s.line if isinstance(s, GeneratedEvent) else s for s in slots]
    data = newline.join(raw) + (newline if draw(st.booleans()) else b"")
    # A BOM at the start of a hostile first line is the file's BOM, and the gzip magic there
    # makes the whole file (corrupt) gzip: no event is expected then.
    events = {
        number: slot
        for number, slot in enumerate(slots, start=1)
        if isinstance(slot, GeneratedEvent)
        and not (number == 1 and data.startswith(BOM))
        and not data.startswith(GZIP_MAGIC)
    }
    return data, events


def check_known_events(result: CaptureResult, events: Mapping[int, GeneratedEvent]) -> None:
    grouped = by_line(result.records)
    for number, event in events.items():
        assert grouped.get(number) == keys(event.at_line(number)), f"line {number}"


# --------------------------------------------------------------------------------------------
# Round trip
# --------------------------------------------------------------------------------------------


@given(capture_files())
def test_round_trip(file: CaptureFile) -> None:
    result = READER.read(file.data)
    assert result.rejects == []
    assert keys(result.records) == keys(file.records)
    assert {r.source for r in result.records} == {"<bytes>"}
    ledger = result.ledger
    assert ledger.lines == file.line_count == physical_lines(file.data)
    assert ledger.blank_lines == file.blank_lines
    assert ledger.events == file.events
    assert ledger.records == len(file.records)
    check_ledger(result)


@given(capture_files(max_events=2))
def test_round_trip_other_sources(file: CaptureFile) -> None:
    """The same records from a gzip file and from an iterable of lines."""
    expected = keys(file.records)
    assert keys(READER.read(_gzip(file.data)).records) == expected
    from_lines = READER.read(Lines([line.decode("utf-8") for line in file.lines]))
    assert keys(from_lines.records) == expected
    check_ledger(from_lines, lines=file.line_count)


@given(capture_events(batch_size=1), capture_events(batch_size=2))
def test_partner_ids(single: GeneratedEvent, batch: GeneratedEvent) -> None:
    """``inferenceId`` else ``eventId``; ``_<i>`` only when the call held several inferences."""
    result = read_records(Lines([single.line, batch.line]))
    first, *rest = result.records
    meta = single.wire["eventMetadata"]
    assert first.partner_inference_id == (meta.get("inferenceId") or meta["eventId"])
    meta = batch.wire["eventMetadata"]
    base = meta.get("inferenceId") or meta["eventId"]
    assert [r.partner_inference_id for r in rest] == [f"{base}_0", f"{base}_1"]


# --------------------------------------------------------------------------------------------
# Ledger
# --------------------------------------------------------------------------------------------


@given(mixed_files(), st.booleans())
@example((b"\x1f\x8b\nnull", {}), False)  # gzip magic, then no gzip
@example((b"\x1f\x8b\x08\x00", {}), False)  # cut inside the gzip header
def test_ledger_balances(mixed: tuple[bytes, dict[int, GeneratedEvent]], compressed: bool) -> None:
    data, events = mixed
    result = READER.read(_gzip(data) if compressed else data)
    check_ledger(result, lines=physical_lines(data))
    check_outcome(result)
    check_known_events(result, events)


# --------------------------------------------------------------------------------------------
# Truncation at every byte offset of a fixed file
# --------------------------------------------------------------------------------------------


def _line(
    request: dict[str, Any] | None,
    response: dict[str, Any] | None,
    meta: dict[str, Any],
    *,
    ascii_only: bool = True,
) -> bytes:
    capture: dict[str, Any] = {}
    if request is not None:
        capture["endpointInput"] = {"mode": "INPUT", **request}
    if response is not None:
        capture["endpointOutput"] = {"mode": "OUTPUT", **response}
    wire = {"captureData": capture, "eventMetadata": meta, "eventVersion": "0"}
    return json.dumps(wire, ensure_ascii=ascii_only, separators=(",", ":")).encode("utf-8")


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


TRUNCATION_FILE = b"".join(
    [
        _line(
            {"observedContentType": "text/csv", "data": "0.56,0.30,1", "encoding": "CSV"},
            {
                "observedContentType": "application/json",
                "data": '{"predictions": [{"score": 0.0126, "predicted_label": 0}]}',
                "encoding": "JSON",
            },
            {
                "eventId": "28cc8646-bb47-4a96-92fc-d04fc2651286",
                "inferenceId": "shadow test, index 7",
                "inferenceTime": "2021-11-30T04:32:05Z",
            },
        )
        + b"\n",
        _line(
            {
                "observedContentType": "application/json",
                "data": '{"instances":[{"features":[1,2]},{"features":[3,4]},{"features":[5,6]}]}',
                "encoding": "JSON",
            },
            {
                "observedContentType": "application/json",
                "data": '{"predictions":[{"s":0.1},{"s":0.2},{"s":0.3}]}',
                "encoding": "JSON",
            },
            {
                "inferenceTime": "2024-01-19T19:27:57.123Z",
                "eventId": "9066ac80-0000-4000-8000-000000000001",
                "customAttributes": ['{"app": "DEMO"}'],
            },
        )
        + b"\n",
        _line(
            {
                "observedContentType": "application/jsonlines; charset=utf-8",
                "data": _b64('{"features":["é",2]}\n{"features":["日本",4]}\n'),
                "encoding": "BASE64",
            },
            {"observedContentType": "text/csv", "data": _b64("0.1\n0.7\n"), "encoding": "BASE64"},
            {
                "eventId": "e1",
                "inferenceId": "idé 🙂, x",
                "inferenceTime": "2024-01-19T19:27:58Z",
            },
            ascii_only=False,
        )
        + b"\n",
        b"\n",
        _line(
            None,
            {"observedContentType": "text/csv", "data": '"naïve, yes",2\r\n', "encoding": "CSV"},
            {"eventId": "ünï", "inferenceTime": "2024-01-19T19:28:00Z"},
            ascii_only=False,
        )
        + b"\r\n",
        _line(
            {"observedContentType": "text/csv", "data": '1,"a\r\nb"\n2,c', "encoding": "CSV"},
            {"observedContentType": "text/csv", "data": "0.9,0.8", "encoding": "CSV"},
            {"eventId": "e3", "inferenceTime": "2024-01-19T19:28:01Z"},
        )
        + b"\n",
    ]
)
"""Six lines: CSV/JSON single, JSON batch of 3, BASE64 JSON Lines + BASE64 CSV batch of 2 with
raw multi-byte characters, a blank line, an output-only CRLF line, and a CSV batch answered by
one row (pre-2022 XGBoost)."""


def _line_ends(data: bytes) -> list[int]:
    """Offsets just past each ``\\n``."""
    return [i + 1 for i, byte in enumerate(data) if byte == 0x0A]


def test_truncation_file_reads_fully() -> None:
    result = READER.read(TRUNCATION_FILE)
    assert result.rejects == []
    assert [len(v) for v in by_line(result.records).values()] == [1, 3, 2, 1, 2]
    assert result.ledger.blank_lines == 1


def _check_cut(
    result: CaptureResult, full: Mapping[int, list[tuple[Any, ...]]], complete: int, label: str
) -> None:
    """Lines 1..complete as in the full run; at most one more line, cut or whole."""
    check_ledger(result)
    got = by_line(result.records)
    for number in range(1, complete + 1):
        assert got.get(number) == full.get(number), f"{label}: line {number}"
    extra = set(got) - set(range(1, complete + 1))
    assert extra <= {complete + 1}, label
    for number in extra:  # a cut that leaves a complete JSON line is accepted whole
        assert got[number] == full[number], label
    assert len(result.rejects) <= 1, label
    for reject in result.rejects:
        assert reject.line_number == complete + 1, label
        assert not extra, label


@pytest.mark.parametrize("strict", [False, True])
def test_truncation_at_every_offset(strict: bool) -> None:
    reader = CaptureReader(strict=strict)
    full = by_line(READER.read(TRUNCATION_FILE).records)
    ends = _line_ends(TRUNCATION_FILE)
    for cut in range(len(TRUNCATION_FILE) + 1):
        data = TRUNCATION_FILE[:cut]
        complete = sum(1 for end in ends if end <= cut)
        label = f"cut at {cut}"
        if strict:
            with contextlib.suppress(RejectedError):
                reader.read(data)
            continue
        result = reader.read(data)
        _check_cut(result, full, complete, label)
        assert result.ledger.lines == physical_lines(data), label
        for reject in result.rejects:
            assert reject.reason is Reason.TRUNCATED_LINE, (label, reject)
            assert reject.raw == data[ends[complete - 1] if complete else 0 :].rstrip(b"\r"), label
        tail = data[ends[complete - 1] if complete else 0 :]
        whole = tail.rstrip(b"\r") in {b"", TRUNCATION_FILE.split(b"\n")[complete].rstrip(b"\r")}
        if not whole:
            assert len(result.rejects) == 1, label


def test_gzip_truncation_at_every_offset() -> None:
    packed = _gzip(TRUNCATION_FILE)
    full = by_line(READER.read(TRUNCATION_FILE).records)
    for cut in range(len(packed) + 1):
        data = packed[:cut]
        label = f"gzip cut at {cut}"
        result = READER.read(data)
        check_ledger(result)
        check_outcome(result)
        if cut < 2:  # not yet recognisable as gzip: read as (junk) text
            continue
        available = zlib.decompressobj(wbits=31).decompress(data)
        complete = available.count(b"\n")
        partial = bool(available) and not available.endswith(b"\n")
        if cut < len(packed):
            assert result.ledger.lines == max(complete + partial, 1), label  # as wc -l, no more
            if complete and not partial:  # between lines: the last whole line stands for the error
                complete -= 1
        _check_cut(result, full, complete, label)
        assert not set(by_line(result.records)) - set(range(1, complete + 1)), label
        if cut < len(packed):
            assert len(result.rejects) == 1, label
        for reject in result.rejects:
            assert reject.reason in {Reason.TRUNCATED_LINE, Reason.INVALID_COMPRESSION}, label


# --------------------------------------------------------------------------------------------
# Concatenation, determinism, isolation
# --------------------------------------------------------------------------------------------


def _shifted(reject: Reject, lines: int, offset: int) -> Reject:
    return Reject(
        reason=reject.reason,
        source=reject.source,
        line_number=reject.line_number + lines,
        offset=reject.offset + offset,
        message=reject.message,
        raw=reject.raw,
        event_id=reject.event_id,
        index=reject.index,
    )


@given(mixed_files(), mixed_files())
@example((b"", {}), (b"\x1f\x8b", {}))
@example((b"\x1f\x8b", {}), (b"\n", {}))
def test_concatenation(
    first: tuple[bytes, dict[int, GeneratedEvent]], second: tuple[bytes, dict[int, GeneratedEvent]]
) -> None:
    a, _ = first
    b, _ = second
    if not a.endswith(b"\n"):
        a += b"\n"
    if a.startswith(GZIP_MAGIC):
        a = b"\n" + a  # the gzip magic counts only at byte 0 of a source
    if b.startswith((BOM, GZIP_MAGIC)):
        b = b"\n" + b  # so do a BOM and the gzip magic
    both = READER.read(a + b)
    left = READER.read(a)
    right = READER.read(b)
    shift = left.ledger.lines
    expected_records = keys(left.records) + [
        (*k[:9], k[9] + shift, k[10]) for k in keys(right.records)
    ]
    assert keys(both.records) == expected_records
    assert both.rejects == left.rejects + [_shifted(r, shift, len(a)) for r in right.rejects]
    assert both.ledger.lines == left.ledger.lines + right.ledger.lines
    check_ledger(both)


@given(mixed_files(), st.booleans())
def test_determinism(mixed: tuple[bytes, dict[int, GeneratedEvent]], compressed: bool) -> None:
    data = _gzip(mixed[0]) if compressed else mixed[0]
    one = CaptureReader().read(data)
    two = CaptureReader().read(data)
    assert keys(one.records) == keys(two.records)
    assert [arthur_json(r) for r in one.records] == [arthur_json(r) for r in two.records]
    assert one.rejects == two.rejects
    assert [r.to_dict() for r in one.rejects] == [r.to_dict() for r in two.rejects]
    assert one.ledger.to_dict() == two.ledger.to_dict()


@given(capture_files(), st.data())
def test_corrupt_line_is_isolated(file: CaptureFile, data: st.DataObject) -> None:
    victim = data.draw(st.sampled_from(file.event_lines))
    junk = data.draw(
        st.binary(max_size=80) | hostile_lines,
    ).replace(b"\n", b"")
    if victim == 1 and junk.startswith(GZIP_MAGIC):
        junk = b"x" + junk  # the gzip magic at byte 0 makes the whole file gzip
    parts = file.data.split(b"\n")
    parts[victim - 1] = junk
    corrupted = b"\n".join(parts)
    result = READER.read(corrupted)
    check_ledger(result, lines=physical_lines(corrupted))
    check_outcome(result)
    kept = [k for k in keys(file.records) if k[9] != victim]
    assert [k for k in keys(result.records) if k[9] != victim] == kept
    assert all(r.line_number == victim for r in result.rejects)


# --------------------------------------------------------------------------------------------
# Only library errors escape
# --------------------------------------------------------------------------------------------

READER_OPTIONS: list[dict[str, Any]] = [
    {},
    {"sniff": True},
    {"content_types": {"text/html": "application/json", "application/x-npy": "text/csv"}},
    {"max_line_bytes": 64},
]


def _check_anything(source: Any, options: dict[str, Any]) -> CaptureResult:
    result = CaptureReader(**options).read(source)
    check_ledger(result)
    check_outcome(result)
    check_strict(source, result, **options)
    return result


@given(st.binary(max_size=200), st.sampled_from(READER_OPTIONS))
@example(b"\x1f\x8b", {})
@example(BOM, {})
@example(b"\r\n\r", {})
def test_arbitrary_bytes(data: bytes, options: dict[str, Any]) -> None:
    result = _check_anything(data, options)
    check_ledger(result, lines=physical_lines(data))


@given(
    st.lists(
        st.text(
            st.characters(codec="utf-8")
            | st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
            | st.sampled_from("\n\r\u2028\x85{}\"'"),
            max_size=40,
        ),
        max_size=5,
    ),
    st.sampled_from(READER_OPTIONS),
)
@example(["\ud800"], {})
@example(["a\nb", ""], {})
def test_arbitrary_text_lines(lines: Sequence[str], options: dict[str, Any]) -> None:
    _check_anything(Lines(list(lines)), options)


def _payload_line(content_type: str, data: str, encoding: str = "BASE64") -> bytes:
    side = {"observedContentType": content_type, "data": data, "encoding": encoding}
    meta = {"eventId": "e", "inferenceTime": "2024-01-19T19:27:57Z"}
    return _line(side, None, meta)


@given(st.lists(hostile_lines, min_size=1, max_size=4), st.sampled_from(READER_OPTIONS))
# Found by this test: a charset that fails outside UnicodeDecodeError escaped as UnicodeError
# ("undefined") or ValueError (a NUL in the name).
@example([_payload_line("text/csv; charset=undefined", _b64("1"))], {})
@example([_payload_line("application/json; charset=undefined", _b64("[1]"))], {})
@example([_payload_line("application/jsonlines; charset=\x00", _b64("[1]"))], {})
@example([_payload_line("text/html", _b64("{}"))], {"sniff": True})
# Found by this test: Python-only codecs as charsets. unicode_escape turned "\\ud800" into a
# lone surrogate (arthur_json then failed) and warned on "\\8"; utf-7 decodes "+2AA-" to one.
@example([_payload_line("text/csv; charset=unicode_escape", _b64("\\ud800"))], {})
@example([_payload_line("text/csv; charset=unicode_escape", _b64("1\\8"))], {})
@example([_payload_line("text/csv; charset=utf-7", _b64("+2AA-"))], {})
@example([_payload_line("application/jsonlines; charset=utf-7", _b64('"+2AA-"'))], {})
def test_arbitrary_lines_and_payloads(lines: Sequence[bytes], options: dict[str, Any]) -> None:
    data = b"\n".join(lines)
    result = _check_anything(data, options)
    check_ledger(result, lines=physical_lines(data))
