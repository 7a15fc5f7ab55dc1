"""The streaming reader: sources, line framing, rejects, strict mode and the ledger."""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import tempfile
import tracemalloc
import zlib
from typing import IO, TYPE_CHECKING, Any, cast

import pytest

from arthur_capture import (
    DEFAULT_MAX_LINE_BYTES,
    CaptureError,
    CaptureReader,
    CaptureResult,
    CaptureStream,
    DecoderRegistry,
    InferenceRecord,
    InvalidSourceError,
    Ledger,
    Lines,
    Named,
    Payload,
    Reason,
    Reject,
    RejectedError,
    SourceError,
    default_registry,
    iter_calls,
    iter_records,
    read_records,
)
from arthur_capture.arthur.mapping import SchemaMapper
from arthur_capture.arthur.schema import ModelSchema
from arthur_capture.decoders.text_csv import CSVDecoder
from arthur_capture.records import Call

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from arthur_capture.decoders import Inference

TIME = "2024-01-19T19:27:57Z"


def _line(
    event_id: str = "e1",
    *,
    data: str = "1,2",
    out: str | None = None,
    version: str = "0",
    **extra: Any,
) -> bytes:
    capture: dict[str, Any] = {
        "endpointInput": {"observedContentType": "text/csv", "data": data, "encoding": "CSV"}
    }
    if out is not None:
        capture["endpointOutput"] = {
            "observedContentType": "text/csv",
            "data": out,
            "encoding": "CSV",
        }
    doc = {
        "captureData": capture,
        "eventMetadata": {"eventId": event_id, "inferenceTime": TIME},
        "eventVersion": version,
        **extra,
    }
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()


def _file(*lines: bytes) -> bytes:
    return b"".join(line + b"\n" for line in lines)


def _ids(result: CaptureResult) -> list[str]:
    return [r.event_id for r in result.records]


def _reasons(result: CaptureResult) -> list[Reason]:
    return [r.reason for r in result.rejects]


class Unseekable(io.RawIOBase):
    """A raw, unseekable stream with no ``peek`` (like a socket or an HTTP body)."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readinto(self, buffer: Any) -> int:
        return self._data.readinto(buffer)


def _binary(stream: io.RawIOBase) -> IO[bytes]:
    """A raw stream as the binary file object it is to the reader (anything with ``read``)."""
    return cast("IO[bytes]", stream)


class FailingStream(io.RawIOBase):
    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        raise OSError(5, "Input/output error")


# --- sources ---------------------------------------------------------------------------------

TWO = _file(_line("a"), _line("b"))


def _check_two(result: CaptureResult, source: str) -> None:
    assert result.rejects == []
    assert _ids(result) == ["a", "b"]
    assert [r.line_number for r in result.records] == [1, 2]
    assert {r.source for r in result.records} == {source}
    assert result.ledger.to_dict()["lines"] == 2
    assert result.ledger.balanced


def test_source_path_str(tmp_path: Path) -> None:
    path = tmp_path / "capture.jsonl"
    path.write_bytes(TWO)
    _check_two(read_records(str(path)), str(path))


def test_source_pathlib_path(tmp_path: Path) -> None:
    path = tmp_path / "capture.jsonl"
    path.write_bytes(TWO)
    _check_two(read_records(path), str(path))


def test_source_bytes_and_bytearray() -> None:
    _check_two(read_records(TWO), "<bytes>")
    _check_two(read_records(bytearray(TWO)), "<bytes>")


def test_source_binary_file_object(tmp_path: Path) -> None:
    path = tmp_path / "capture.jsonl"
    path.write_bytes(TWO)
    with path.open("rb") as handle:
        _check_two(read_records(handle), str(path))
    _check_two(read_records(io.BytesIO(TWO)), "<stream>")


def test_source_unseekable_stream_without_peek() -> None:
    stream = Unseekable(TWO)
    assert not hasattr(stream, "peek")
    assert not stream.seekable()
    _check_two(read_records(_binary(stream)), "<stream>")


def test_source_unseekable_gzip_stream() -> None:
    _check_two(read_records(_binary(Unseekable(gzip.compress(TWO)))), "<stream>")


def test_source_iterable_of_bytes_lines() -> None:
    _check_two(read_records(Lines([_line("a"), _line("b")])), "<lines>")
    _check_two(read_records(Lines(iter([_line("a") + b"\n", _line("b") + b"\n"]))), "<lines>")


def test_source_iterable_of_str_lines() -> None:
    lines = [_line("a").decode(), _line("b").decode() + "\n"]
    _check_two(read_records(Lines(lines)), "<lines>")


def test_source_iterable_item_holding_several_lines() -> None:
    _check_two(read_records(Lines([TWO])), "<lines>")


def test_source_gzip_file_and_gzip_bytes(tmp_path: Path) -> None:
    path = tmp_path / "capture.jsonl.gz"
    with gzip.open(path, "wb") as handle:
        handle.write(TWO)
    _check_two(read_records(path), str(path))
    _check_two(read_records(gzip.compress(TWO)), "<bytes>")


def test_source_name_override() -> None:
    result = CaptureReader().read(TWO)
    assert result.records[0].source == "<bytes>"
    records = list(iter_records(Named(TWO, "s3://bucket/key.jsonl")))
    assert {r.source for r in records} == {"s3://bucket/key.jsonl"}


def test_several_sources_into_one_result() -> None:
    result = read_records(_file(_line("a")), Lines([_line("b")]), _file(_line("c"), b"{"))
    assert _ids(result) == ["a", "b", "c"]
    assert result.ledger.sources == 3
    assert result.ledger.lines == 4
    assert result.ledger.balanced


def test_missing_file_is_a_source_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.jsonl"
    with pytest.raises(SourceError, match="cannot open") as info:
        read_records(missing)
    assert isinstance(info.value, OSError)
    assert isinstance(info.value, CaptureError)
    assert isinstance(info.value.__cause__, FileNotFoundError)
    with pytest.raises(OSError, match=r"nope\.jsonl"):
        read_records(str(missing))


def test_directory_is_a_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError):
        read_records(tmp_path)


def test_unreadable_stream_is_a_source_error() -> None:
    with pytest.raises(SourceError, match="cannot read source"):
        read_records(_binary(FailingStream()))


# --- several sources, Lines, Named, streams --------------------------------------------------


def _two_files(tmp_path: Path) -> tuple[Path, Path]:
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    first.write_bytes(_file(_line("a1"), _line("a2")))
    second.write_bytes(gzip.compress(_file(_line("b1"), b"{")))
    return first, second


def test_several_paths_in_one_call(tmp_path: Path) -> None:
    first, second = _two_files(tmp_path)
    for result in (
        read_records(str(first), str(second)),
        read_records([str(first), str(second)]),  # a list of str is a list of paths
        read_records((first, second)),
        read_records([str(first)], [[str(second)]]),  # nested lists are flattened
    ):
        assert _ids(result) == ["a1", "a2", "b1"]
        assert [(r.source, r.line_number) for r in result.records] == [
            (str(first), 1),
            (str(first), 2),
            (str(second), 1),
        ]
        assert [(r.source, r.line_number, r.reason) for r in result.rejects] == [
            (str(second), 2, Reason.INVALID_JSON)
        ]
        assert (result.ledger.sources, result.ledger.lines) == (2, 4)
        assert result.ledger.balanced


def test_several_paths_in_one_call_of_each_entry_point(tmp_path: Path) -> None:
    first, second = _two_files(tmp_path)
    reader = CaptureReader()
    streams: list[CaptureStream[Any]] = [
        iter_records(str(first), str(second)),
        iter_calls([str(first), str(second)]),
        reader.iter_records(str(first), str(second)),
        reader.iter_calls(str(first), str(second)),
    ]
    for stream in streams:
        items = list(stream)
        assert len(items) == 4  # three records (or calls) and a reject
        assert stream.ledger.to_dict() == read_records(first, second).ledger.to_dict()
        assert stream.ledger.sources == 2
    assert reader.read(str(first), str(second)).ledger.sources == 2


def test_no_source_reads_nothing() -> None:
    result = read_records()
    assert (result.records, result.rejects, result.ledger.sources) == ([], [], 0)
    assert read_records([]).ledger == Ledger()


@pytest.mark.parametrize(
    "not_a_source",
    [
        (line for line in [_line("a"), _line("b")]),  # a generator of lines
        iter([_line("a")]),
        {"a.jsonl"},
        42,
        None,
        [TWO, 3.5],  # checked inside lists too
        Named(42, "x"),  # type: ignore[arg-type]  # and inside Named
        Named([TWO, None], "x"),  # type: ignore[list-item]
    ],
    ids=[
        "generator",
        "iterator",
        "set",
        "int",
        "none",
        "list-holding-a-float",
        "named-int",
        "named-list-holding-none",
    ],
)
def test_what_is_not_a_source_is_an_invalid_source_error(not_a_source: Any) -> None:
    with pytest.raises(InvalidSourceError, match="Lines") as info:
        read_records(not_a_source)
    assert isinstance(info.value, CaptureError)
    assert isinstance(info.value, TypeError)
    assert info.value.reason is None


def test_invalid_sources_are_refused_before_anything_is_read(tmp_path: Path) -> None:
    missing = tmp_path / "nope.jsonl"
    lines = (line for line in [_line("a")])
    for call in (iter_records, iter_calls, CaptureReader().iter_records):
        # Refused at the call, not at the first next(): the missing file is never opened.
        with pytest.raises(InvalidSourceError):
            call(missing, lines)  # type: ignore[arg-type]


def test_a_generator_of_lines_is_read_wrapped_in_lines() -> None:
    lines = (line for line in [_line("a"), _line("b")])
    _check_two(read_records(Lines(lines)), "<lines>")


def test_lines_take_bytes_str_and_a_name() -> None:
    source = Lines([_line("a"), _line("b").decode() + "\n"], name="s3://bucket/key.jsonl")
    _check_two(read_records(source), "s3://bucket/key.jsonl")
    assert Lines([]).name == "<lines>"


def test_named_gives_any_source_a_name(tmp_path: Path) -> None:
    path = tmp_path / "capture.jsonl.gz"
    path.write_bytes(gzip.compress(TWO))
    name = "s3://bucket/key.jsonl.gz"
    for source in (TWO, bytearray(TWO), str(path), path, io.BytesIO(TWO), Lines([TWO])):
        _check_two(read_records(Named(source, name)), name)
    result = read_records(Named(TWO, "first"), Named(Lines([b"{"]), "second"))
    assert [r.source for r in result.records] == ["first", "first"]
    assert [(r.source, r.line_number) for r in result.rejects] == [("second", 1)]


def test_named_around_a_list_reads_each_source_under_the_name(tmp_path: Path) -> None:
    first, second = _two_files(tmp_path)
    result = read_records(Named([first, second], "both"))
    assert _ids(result) == ["a1", "a2", "b1"]
    assert {r.source for r in result.records} == {"both"}
    assert [(r.source, r.line_number) for r in result.rejects] == [("both", 2)]
    assert (result.ledger.sources, result.ledger.lines) == (2, 4)


def test_stream_ledger_is_complete_once_exhausted() -> None:
    data = _file(_line("a", data="1\n2"), b"", b"{", _line("b"))
    stream = iter_records(data, Lines([_line("c")]))
    assert iter(stream) is stream
    assert stream.ledger == Ledger()  # nothing read yet
    first = next(stream)
    assert isinstance(first, InferenceRecord)
    assert stream.ledger.lines < 6
    rest = list(stream)
    assert len(rest) == 4
    with pytest.raises(StopIteration):
        next(stream)
    assert stream.ledger == read_records(data, Lines([_line("c")])).ledger
    assert stream.ledger.to_dict() == {
        "sources": 2,
        "lines": 5,
        "blank_lines": 1,
        "events": 3,
        "records": 4,
        "rejected_inferences": 0,
        "rejected_lines": 1,
        "rejects_by_reason": {"invalid_json": 1},
        "balanced": True,
        "non_finite_values": 0,
        "duplicate_partner_ids": 0,
        "duplicate_examples": [],
    }


def test_iter_calls_gives_one_item_per_line_and_the_same_ledger_as_records() -> None:
    data = _file(_line("a", data="1\n2\n3"), b"{", _line("b"))
    calls = iter_calls(data)
    items = list(calls)
    assert [type(item) for item in items] == [Call, Reject, Call]
    first = items[0]
    assert isinstance(first, Call)
    assert (first.count, first.line_number, first.outcomes) == (3, 1, None)
    records = [r for item in items if isinstance(item, Call) for r in item.items()]
    assert records == read_records(data).records
    assert calls.ledger == read_records(data).ledger


# --- framing ---------------------------------------------------------------------------------


def test_only_newline_splits_lines() -> None:
    # A lone CR is JSON whitespace; U+2028 and NEL are ordinary characters inside strings.
    line = _line("e\u2028x\x85y", data="a\u2028b,c\x85d").replace(
        b',"eventMetadata"', b',\r"eventMetadata"'
    )
    assert b"\r" in line
    assert "\u2028".encode() in line
    assert "\x85".encode() in line
    sources: list[Any] = [
        _file(line),
        Lines([line]),
        Lines([line.decode()]),
        Unseekable(_file(line)),
    ]
    for source in sources:
        result = read_records(source)
        assert result.rejects == []
        assert result.ledger.lines == 1
        (record,) = result.records
        assert record.event_id == "e\u2028x\x85y"
        assert record.inputs == {"input_0": "a\u2028b", "input_1": "c\x85d"}


def test_a_lone_cr_between_two_objects_is_one_bad_line() -> None:
    result = read_records(_line("a") + b"\r" + _line("b") + b"\n")
    assert result.ledger.lines == 1
    assert _reasons(result) == [Reason.INVALID_JSON]


def test_crlf_lines() -> None:
    data = _line("a") + b"\r\n" + b"{bad\r\n" + _line("c") + b"\r\n"
    result = read_records(data)
    assert _ids(result) == ["a", "c"]
    (reject,) = result.rejects
    assert reject.raw == b"{bad"
    assert reject.offset == len(_line("a")) + 2
    assert result.records[1].line_number == 3


def test_bom_at_byte_zero_is_tolerated() -> None:
    bom = b"\xef\xbb\xbf"
    result = read_records(bom + TWO)
    assert _ids(result) == ["a", "b"]
    result = read_records(Lines([bom + _line("a"), _line("b")]))
    assert _ids(result) == ["a", "b"]
    result = read_records(gzip.compress(bom + TWO))
    assert _ids(result) == ["a", "b"]


def test_bom_at_byte_zero_shifts_offsets() -> None:
    bom = b"\xef\xbb\xbf"
    result = read_records(bom + _file(_line("a"), b"{"))
    assert [r.offset for r in result.rejects] == [3 + len(_line("a")) + 1]


def test_bom_elsewhere_is_rejected_as_invalid_utf8() -> None:
    bom = b"\xef\xbb\xbf"
    result = read_records(_file(_line("a"), bom + _line("b"), _line("c")))
    assert _ids(result) == ["a", "c"]
    (reject,) = result.rejects
    assert reject.reason is Reason.INVALID_UTF8
    assert reject.line_number == 2
    assert reject.offset == len(_line("a")) + 1
    assert reject.raw == bom + _line("b")
    result = read_records(Lines([_line("a"), bom + _line("b")]))
    assert _reasons(result) == [Reason.INVALID_UTF8]


def test_invalid_utf8_is_rejected() -> None:
    bad = _line("a").replace(b"1,2", b"1,\xff")
    result = read_records(_file(bad, _line("b")))
    assert _reasons(result) == [Reason.INVALID_UTF8]
    assert "byte" in result.rejects[0].message
    assert _ids(result) == ["b"]


def test_str_line_with_a_lone_surrogate_is_invalid_utf8() -> None:
    result = read_records(Lines(["\ud800", _line("b").decode()]))
    assert _reasons(result) == [Reason.INVALID_UTF8]
    assert _ids(result) == ["b"]


def test_blank_lines_are_counted_not_rejected() -> None:
    data = b"\n" + _line("a") + b"\n  \n\t\r\n\r\n" + _line("b") + b"\n\n"
    result = read_records(data)
    assert _ids(result) == ["a", "b"]
    assert result.rejects == []
    ledger = result.ledger
    assert (ledger.lines, ledger.blank_lines, ledger.events) == (7, 5, 2)
    assert [r.line_number for r in result.records] == [2, 6]
    assert ledger.balanced


def test_empty_source() -> None:
    sources: list[Any] = [b"", Lines([]), io.BytesIO(b""), gzip.compress(b"")]
    for source in sources:
        result = read_records(source)
        assert result.records == []
        assert result.rejects == []
        assert result.ledger.lines == 0
        assert result.ledger.sources == 1


def test_unterminated_complete_last_line_is_valid() -> None:
    result = read_records(_line("a") + b"\n" + _line("b"))
    assert _ids(result) == ["a", "b"]
    assert result.ledger.lines == 2


@pytest.mark.parametrize("cut", [1, 10, 40, -1])
def test_unterminated_incomplete_last_line_is_truncated(cut: int) -> None:
    result = read_records(_file(_line("a")) + _line("b")[:cut])
    assert _ids(result) == ["a"]
    (reject,) = result.rejects
    assert reject.reason is Reason.TRUNCATED_LINE
    assert reject.line_number == 2
    assert reject.offset == len(_line("a")) + 1
    assert reject.raw == _line("b")[:cut]


def test_truncated_inside_a_multibyte_character_is_truncated() -> None:
    line = _line("a", data="é,ü")
    cut = line.index("ü".encode()) + 1
    result = read_records(line[:cut])
    assert _reasons(result) == [Reason.TRUNCATED_LINE]


def test_incomplete_line_followed_by_a_newline_is_invalid_json() -> None:
    result = read_records(_file(_line("a")[:-1], _line("b")))
    assert _reasons(result) == [Reason.INVALID_JSON]
    assert _ids(result) == ["b"]


def test_unterminated_last_line_with_a_syntax_error_is_invalid_json() -> None:
    result = read_records(_file(_line("a")) + _line("b") + b"}")
    assert _reasons(result) == [Reason.INVALID_JSON]


def test_two_objects_on_one_line_are_rejected() -> None:
    result = read_records(_file(_line("a") + _line("b")))
    assert _reasons(result) == [Reason.INVALID_JSON]
    assert result.records == []


def test_truncated_gzip_keeps_the_lines_before_the_cut() -> None:
    ids = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(60)]
    compressed = gzip.compress(_file(*(_line(i) for i in ids)))
    result = read_records(compressed[: len(compressed) // 2])
    kept = _ids(result)
    assert 0 < len(kept) < 60
    assert kept == ids[: len(kept)]
    assert _reasons(result)[-1] is Reason.TRUNCATED_LINE
    assert result.ledger.balanced


def test_corrupt_gzip_is_invalid_compression() -> None:
    compressed = bytearray(gzip.compress(TWO))
    compressed[12] ^= 0xFF
    result = read_records(bytes(compressed))
    assert Reason.INVALID_COMPRESSION in _reasons(result)
    assert result.ledger.balanced


# --- limits ----------------------------------------------------------------------------------


def test_max_line_bytes_must_be_positive() -> None:
    assert DEFAULT_MAX_LINE_BYTES == 64 * 1024 * 1024
    with pytest.raises(ValueError, match="positive"):
        CaptureReader(max_line_bytes=0)


def _peak_reading(path: Path, limit: int) -> tuple[CaptureResult, int]:
    tracemalloc.start()
    try:
        result = read_records(path, max_line_bytes=limit)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak


def test_line_too_large_keeps_memory_bounded_and_reads_on(tmp_path: Path) -> None:
    limit = 1 << 20
    peaks = []
    for megabytes in (5, 20):
        big = _line("big", data="x" * (megabytes << 20))
        path = tmp_path / f"big{megabytes}.jsonl"
        path.write_bytes(_file(big, _line("next")))
        result, peak = _peak_reading(path, limit)
        peaks.append(peak)
        assert _ids(result) == ["next"]
        (reject,) = result.rejects
        assert reject.reason is Reason.LINE_TOO_LARGE
        assert (reject.line_number, reject.offset) == (1, 0)
        assert reject.raw == big[: 64 * 1024]
        assert reject.event_id is None
        assert result.records[0].line_number == 2
        assert result.ledger.lines == 2
        assert result.ledger.balanced
        assert peak < 6 * limit, f"{megabytes} MB line: peak {peak} bytes"
    # Memory does not grow with the line: a 4x longer line costs about the same.
    assert peaks[1] < 1.5 * peaks[0] + limit


def test_line_exactly_at_the_limit_is_read() -> None:
    line = _line("a")
    result = read_records(_file(line, line), max_line_bytes=len(line))
    assert len(result.records) == 2
    result = read_records(_file(line), max_line_bytes=len(line) - 1)
    assert _reasons(result) == [Reason.LINE_TOO_LARGE]


def test_line_too_large_in_an_iterable() -> None:
    result = read_records(Lines([_line("a", data="y" * 5000), _line("b")]), max_line_bytes=1000)
    assert _reasons(result) == [Reason.LINE_TOO_LARGE]
    assert _ids(result) == ["b"]
    assert result.rejects[0].offset == 0
    assert result.records[0].line_number == 2


def test_line_too_large_unterminated_at_the_end() -> None:
    result = read_records(_file(_line("a")) + b"z" * 5000, max_line_bytes=1000)
    assert _ids(result) == ["a"]
    assert _reasons(result) == [Reason.LINE_TOO_LARGE]


# --- rejects ---------------------------------------------------------------------------------


def test_reject_offsets_are_byte_offsets_of_the_line_start() -> None:
    lines = [_line("a"), b"nope", _line("é"), b"", b"[1]", _line("z")]
    data = _file(*lines)
    result = read_records(data)
    starts = []
    position = 0
    for line in lines:
        starts.append(position)
        position += len(line) + 1
    assert [(r.line_number, r.offset) for r in result.rejects] == [(2, starts[1]), (5, starts[4])]
    assert [data[r.offset : r.offset + len(r.raw)] for r in result.rejects] == [b"nope", b"[1]"]


def test_reject_offsets_in_iterables_count_bytes() -> None:
    result = read_records(Lines(["é" * 3, "{", "x"]))
    assert [r.offset for r in result.rejects] == [0, 7, 9]


def test_event_id_on_rejects_when_known() -> None:
    result = read_records(
        _file(
            b"{",
            _line("no-version", version="7"),
            _line("mismatch", data="1\n2", out="1\n2\n3"),
            _line("bad-csv", data='"open'),
            b'{"captureData":{},"eventMetadata":{"inferenceTime":"x"}}',
        )
    )
    assert [(r.reason, r.event_id) for r in result.rejects] == [
        (Reason.INVALID_JSON, None),
        (Reason.UNSUPPORTED_EVENT_VERSION, "no-version"),
        (Reason.COUNT_MISMATCH, "mismatch"),
        (Reason.INVALID_PAYLOAD, "bad-csv"),
        (Reason.INVALID_EVENT, None),
    ]
    assert all(r.index is None for r in result.rejects)


def test_invalid_event_message_names_the_wire_path() -> None:
    bad = _line("a").replace(b'"data":"1,2"', b'"data":5')
    (reject,) = read_records(_file(bad)).rejects
    assert reject.reason is Reason.INVALID_EVENT
    assert "captureData.endpointInput.data" in reject.message


def test_invalid_event_version_and_event_versions_option() -> None:
    result = read_records(_file(_line("a", version="1"), _line("b")))
    assert _reasons(result) == [Reason.UNSUPPORTED_EVENT_VERSION]
    assert "'1'" in result.rejects[0].message
    assert _ids(result) == ["b"]
    result = read_records(_file(_line("a", version="1"), _line("b")), event_versions=["0", "1"])
    assert _ids(result) == ["a", "b"]
    result = read_records(_file(_line("a", version="1"), _line("b")), event_versions=["1"])
    assert _ids(result) == ["a"]
    assert _reasons(result) == [Reason.UNSUPPORTED_EVENT_VERSION]


def test_nesting_too_deep_line() -> None:
    deep = b'{"captureData":' + b"[" * 5000 + b"]" * 5000 + b"}"
    result = read_records(_file(deep, _line("b")))
    assert _reasons(result) == [Reason.NESTING_TOO_DEEP]
    assert _ids(result) == ["b"]


def test_reject_to_dict_keys_and_raw_base64() -> None:
    (reject,) = read_records(_file(_line("a", data="1\n2", out="1"))).rejects
    as_dict = reject.to_dict()
    assert set(as_dict) == {
        "reason",
        "source",
        "line",
        "offset",
        "event_id",
        "index",
        "message",
        "raw",
    }
    assert as_dict["reason"] == "count_mismatch"
    assert type(as_dict["reason"]) is str
    assert as_dict["event_id"] == "a"
    assert as_dict["index"] is None
    assert base64.b64decode(as_dict["raw"]) == _line("a", data="1\n2", out="1")
    json.dumps(as_dict)  # JSON-ready


def test_reject_is_frozen() -> None:
    (reject,) = read_records(b"{\n").rejects
    with pytest.raises(AttributeError):
        reject.reason = Reason.INVALID_EVENT  # type: ignore[misc]


def test_one_bad_line_does_not_change_the_others() -> None:
    good = [_line(str(i), data=f"{i},{i}") for i in range(5)]
    clean = read_records(_file(*good))
    dirty = read_records(_file(*good[:2], b"\x00garbage\xff", *good[2:]))
    assert [(r.partner_inference_id, r.inputs) for r in dirty.records] == [
        (r.partner_inference_id, r.inputs) for r in clean.records
    ]


# --- strict mode and raise_for_rejects -------------------------------------------------------


def test_strict_mode_raises_the_first_reject() -> None:
    with pytest.raises(RejectedError) as info:
        read_records(_file(_line("a"), b"{", _line("c"), b"["), strict=True)
    reject = info.value.reject
    assert isinstance(reject, Reject)
    assert (reject.reason, reject.line_number) == (Reason.INVALID_JSON, 2)
    assert "<bytes>:2: invalid_json" in str(info.value)
    assert isinstance(info.value, ValueError)


def test_strict_mode_yields_records_before_the_reject() -> None:
    seen: list[InferenceRecord | Reject] = []
    iterator: Iterator[InferenceRecord | Reject] = iter_records(
        _file(_line("a"), b"{"), strict=True
    )
    with pytest.raises(RejectedError):
        seen.extend(iterator)
    assert [getattr(s, "event_id", None) for s in seen] == ["a"]


def test_strict_mode_without_rejects() -> None:
    result = read_records(TWO, strict=True)
    assert _ids(result) == ["a", "b"]


def test_raise_for_rejects() -> None:
    read_records(TWO).raise_for_rejects()
    result = read_records(_file(b"{", _line("a"), _line("b", version="9")))
    with pytest.raises(ExceptionGroup) as info:
        result.raise_for_rejects()
    group = info.value
    assert "2 reject(s)" in str(group)
    errors = [e for e in group.exceptions if isinstance(e, RejectedError)]
    assert len(errors) == len(group.exceptions) == 2
    assert [e.reject for e in errors] == result.rejects


def test_iter_records_interleaves_records_and_rejects_in_order() -> None:
    items = list(iter_records(_file(_line("a", data="1\n2"), b"{", _line("c"))))
    kinds = [type(i).__name__ for i in items]
    assert kinds == ["InferenceRecord", "InferenceRecord", "Reject", "InferenceRecord"]


def test_read_line_is_sans_io() -> None:
    reader = CaptureReader()
    call = reader.read_line(_line("a", data="1\n2"), source="x", line_number=9)
    assert isinstance(call, Call)
    records = call.items()
    assert [(r.source, r.line_number) for r in records if isinstance(r, InferenceRecord)] == [
        ("x", 9),
        ("x", 9),
    ]
    reject = reader.read_line(b'{"a":', terminated=False, offset=12)
    assert isinstance(reject, Reject)
    assert (reject.reason, reject.offset) == (Reason.TRUNCATED_LINE, 12)
    reject = reader.read_line(b'{"a":')
    assert isinstance(reject, Reject)
    assert reject.reason is Reason.INVALID_JSON


# --- ledger ----------------------------------------------------------------------------------


def test_ledger_counts_and_to_dict() -> None:
    data = _file(_line("a", data="1\n2\n3"), b"", b"{", _line("b", version="2"), _line("c"))
    result = read_records(data)
    ledger = result.ledger
    assert ledger.balanced
    assert ledger.to_dict() == {
        "sources": 1,
        "lines": 5,
        "blank_lines": 1,
        "events": 2,
        "records": 4,
        "rejected_inferences": 0,
        "rejected_lines": 2,
        "rejects_by_reason": {"invalid_json": 1, "unsupported_event_version": 1},
        "balanced": True,
        "non_finite_values": 0,
        "duplicate_partner_ids": 0,
        "duplicate_examples": [],
    }
    assert list(ledger.to_dict()["rejects_by_reason"]) == sorted(ledger.rejects_by_reason)
    assert len(result.records) == ledger.records
    assert len(result.rejects) == ledger.rejected_lines + ledger.rejected_inferences


def test_ledger_add() -> None:
    first = read_records(_file(_line("a"), b"{")).ledger
    second = read_records(_file(b"", b"{", b"[", _line("b", data="1\n2"))).ledger
    total = Ledger()
    total.add(first)
    total.add(second)
    assert total.sources == 2
    assert total.lines == 6
    assert total.blank_lines == 1
    assert total.events == 2
    assert total.records == 3
    assert total.rejected_lines == 3
    assert total.rejects_by_reason == {"invalid_json": 3}
    assert total.balanced


def test_ledger_balanced_detects_a_gap() -> None:
    ledger = Ledger(lines=3, blank_lines=1, events=1, rejected_lines=0)
    assert not ledger.balanced
    assert ledger.to_dict()["balanced"] is False
    ledger.rejected_lines = 1
    assert ledger.balanced


def test_one_ledger_across_sources_of_one_stream() -> None:
    stream = iter_records(TWO, _file(b"{"))
    list(stream)
    ledger = stream.ledger
    assert (ledger.sources, ledger.lines, ledger.records, ledger.rejected_lines) == (2, 3, 2, 1)
    # Streams read one by one add up to the same counts.
    total = Ledger()
    for source in (TWO, _file(b"{")):
        one = iter_records(source)
        list(one)
        total.add(one.ledger)
    assert total == ledger


# --- mutation testing (docs/reliability.md) --------------------------------------------------


class FailsAfter(io.RawIOBase):
    """Hands over ``data``, then fails with an I/O error where it should end."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        count = self._data.readinto(buffer)
        if count == 0:
            raise OSError(5, "Input/output error")
        return count


class RecursingDecoder:
    media_types: tuple[str, ...] = ("text/csv",)

    def decode(self, payload: Payload) -> list[Inference]:
        raise RecursionError("maximum recursion depth exceeded")


_FOUR_ERRORS = (
    b'{"captureData": {"endpointInput": {"data": 1, "encoding": "X"}}, '
    b'"eventMetadata": {"eventId": 1, "inferenceTime": 3}}'
)


@pytest.mark.parametrize(
    ("line", "terminated", "reason", "message"),
    [
        (
            b"{x}",
            True,
            Reason.INVALID_JSON,
            "line is not valid JSON: key must be a string at line 1 column 2",
        ),
        (
            b'{"x": "\xe2',
            True,
            Reason.INVALID_UTF8,
            "line is not valid UTF-8 at byte 7: unexpected end of data",
        ),
        (
            b'{"x": "\xe2',
            False,
            Reason.TRUNCATED_LINE,
            (
                "last line has no newline and ends mid-value "
                "(EOF while parsing a string at line 1 column 8): the file was cut off"
            ),
        ),
        (
            b'{"x": "\xff", ',
            False,
            Reason.INVALID_UTF8,
            "line is not valid UTF-8 at byte 7: invalid start byte",
        ),
        (
            b"\xef\xbb\xbf{}",
            True,
            Reason.INVALID_UTF8,
            "line starts with a UTF-8 BOM, which is tolerated only at byte 0 of a source",
        ),
        (
            b"[1]",
            True,
            Reason.INVALID_EVENT,
            "not a capture event: (line): Input should be an object",
        ),
        (
            b'{"captureData": 1, "eventMetadata": 2, "eventVersion": 3}',
            True,
            Reason.INVALID_EVENT,
            (
                "not a capture event: captureData: Input should be an object; "
                "eventMetadata: Input should be an object; "
                "eventVersion: Input should be a valid string"
            ),
        ),
        (
            _FOUR_ERRORS,
            True,
            Reason.INVALID_EVENT,
            (
                "not a capture event: "
                "captureData.endpointInput.data: Input should be a valid string; "
                "captureData.endpointInput.encoding: Input should be 'CSV', 'JSON' or 'BASE64'; "
                "eventMetadata.eventId: Input should be a valid string (and 1 more)"
            ),
        ),
        (
            _FOUR_ERRORS.replace(b"}}", b', "x": 1}, "eventVersion": 0}'),
            True,
            Reason.INVALID_EVENT,
            (
                "not a capture event: "
                "captureData.endpointInput.data: Input should be a valid string; "
                "captureData.endpointInput.encoding: Input should be 'CSV', 'JSON' or 'BASE64'; "
                "eventMetadata.eventId: Input should be a valid string (and 2 more)"
            ),
        ),
        (
            _line("a").replace(b'"inferenceTime"', b'"customAttributes":[1],"inferenceTime"'),
            True,
            Reason.INVALID_EVENT,
            "not a capture event: eventMetadata.customAttributes.0: Input should be a valid string",
        ),
    ],
)
def test_line_reject_messages_in_full(
    line: bytes, terminated: bool, reason: Reason, message: str
) -> None:
    reject = CaptureReader().read_line(line, terminated=terminated)
    assert isinstance(reject, Reject)
    assert (reject.reason, reject.message) == (reason, message)


def test_read_line_defaults_and_what_it_passes_on() -> None:
    reader = CaptureReader()
    reject = reader.read_line(b'{"a": 1')
    assert isinstance(reject, Reject)
    assert (reject.reason, reject.source, reject.line_number, reject.offset) == (
        Reason.INVALID_JSON,
        "<memory>",
        1,
        0,
    )
    reject = reader.read_line(
        b'{"a": 1', source="s3://b/k", line_number=7, offset=99, terminated=False
    )
    assert isinstance(reject, Reject)
    assert (reject.reason, reject.source, reject.line_number, reject.offset) == (
        Reason.TRUNCATED_LINE,
        "s3://b/k",
        7,
        99,
    )
    # A line that decodes is a call that carries the same place, and the line's bytes.
    call = reader.read_line(_line("a"))
    assert isinstance(call, Call)
    assert (call.source, call.line_number, call.offset, call.raw) == (
        "<memory>",
        1,
        0,
        _line("a"),
    )
    call = reader.read_line(_line("a"), source="s3://b/k", line_number=7, offset=99)
    assert isinstance(call, Call)
    assert (call.source, call.line_number, call.offset) == ("s3://b/k", 7, 99)


def test_inference_rejects_carry_the_place_of_their_line() -> None:
    reader = CaptureReader()
    line = _line("x" * 300)
    call = reader.read_line(line, source="s", line_number=4, offset=50)
    assert isinstance(call, Call)
    (reject,) = call.items()
    assert isinstance(reject, Reject)
    assert (reject.reason, reject.source, reject.line_number, reject.offset, reject.index) == (
        Reason.ID_TOO_LONG,
        "s",
        4,
        50,
        0,
    )
    assert call.outcomes == (reject,)
    assert reject.raw == line
    call = reader.read_line(line)
    assert isinstance(call, Call)
    (reject,) = call.items()
    assert isinstance(reject, Reject)
    assert (reject.source, reject.line_number, reject.offset) == ("<memory>", 1, 0)
    call = reader.read_line(_line("a"))
    assert isinstance(call, Call)
    assert call.outcomes is None
    (record,) = call.items()
    assert isinstance(record, InferenceRecord)
    assert (record.source, record.line_number) == ("<memory>", 1)


def test_unsupported_event_version_message_lists_the_known_versions() -> None:
    reject = CaptureReader(event_versions=("2", "0")).read_line(_line("a", version="1"))
    assert isinstance(reject, Reject)
    assert reject.message == "eventVersion '1' is not supported (known: 0, 2)"


def test_a_recursion_error_while_decoding_is_a_nesting_too_deep_reject() -> None:
    reader = CaptureReader(registry=DecoderRegistry(RecursingDecoder()))
    reject = reader.read_line(_line("a"))
    assert isinstance(reject, Reject)
    assert (reject.reason, reject.message, reject.event_id) == (
        Reason.NESTING_TOO_DEEP,
        "a value nests too deeply to process",
        "a",
    )


def test_reader_options_are_kept_and_checked() -> None:
    assert CaptureReader(max_line_bytes=1).max_line_bytes == 1
    with pytest.raises(ValueError) as info:
        CaptureReader(max_line_bytes=0)
    assert str(info.value) == "max_line_bytes must be positive"
    for options in ({"max_depth": 3}, {"csv_header": True}):
        with pytest.raises(ValueError) as info:
            CaptureReader(registry=default_registry(), **options)
        assert str(info.value) == (
            "max_depth and csv_header configure the default registry; pass them or registry"
        )
    schema = ModelSchema.from_json(
        '[{"name": "x", "value_type": "INTEGER", "stage": "PIPELINE_INPUT", "position": 0}]'
    )
    mapper = SchemaMapper(schema)
    reader = CaptureReader(mapper=mapper)
    assert reader.mapper is mapper
    assert reader.mapper.schema is schema
    csv_decoder = reader.registry.get("text/csv")
    assert isinstance(csv_decoder, CSVDecoder)
    assert csv_decoder.infer_types is False
    # Without a mapper (or with one that leaves typing to the decoders), CSV fields are typed.
    assert CaptureReader().mapper is None
    csv_decoder = CaptureReader().registry.get("text/csv")
    assert isinstance(csv_decoder, CSVDecoder)
    assert csv_decoder.infer_types is True


@pytest.mark.parametrize(("count", "base_length"), [(1, 255), (2, 253), (10, 253), (11, 252)])
def test_iter_calls_hands_over_whole_lines_whose_ids_just_fit(count: int, base_length: int) -> None:
    data = "\n".join(str(i) for i in range(count))
    fits = _line("e" * base_length, data=data)
    longer = _line("e" * (base_length + 1), data=data)
    stream = CaptureReader().iter_calls(_file(fits, longer))
    items = list(stream)
    assert len(items) == 2
    whole, checked = items
    # The line whose IDs fit comes whole: its records are exactly call.records().
    assert isinstance(whole, Call)
    assert whole.outcomes is None
    assert len(whole.items()) == count
    # The other comes checked one by one: the inferences whose ID is too long are rejects.
    assert isinstance(checked, Call)
    assert checked.outcomes is not None
    assert len(checked.outcomes) == count
    assert any(isinstance(item, Reject) for item in checked.outcomes)
    ledger = stream.ledger
    assert (ledger.events, ledger.records + ledger.rejected_inferences) == (2, 2 * count)


def test_raise_for_rejects_describes_each_reject() -> None:
    result = read_records(_file(_line("a"), b"{x}"))
    with pytest.raises(ExceptionGroup) as info:
        result.raise_for_rejects()
    (error,) = info.value.exceptions
    assert str(error) == (
        "<bytes>:2: invalid_json: line is not valid JSON: key must be a string at line 1 column 2"
    )


def test_ledger_add_sums_every_count() -> None:
    total = Ledger(1, 2, 3, 4, 5, 6, sources=7, non_finite_values=8, duplicate_partner_ids=9)
    total.rejects_by_reason.update({"invalid_json": 2, "id_too_long": 1})
    total.duplicate_examples.extend(_examples("t", 7))
    other = Ledger(
        10, 20, 30, 40, 50, 60, sources=70, non_finite_values=80, duplicate_partner_ids=90
    )
    other.rejects_by_reason.update({"invalid_json": 3})
    other.duplicate_examples.extend(_examples("o", 5))
    total.add(other)
    assert total.to_dict() == {
        "sources": 77,
        "lines": 11,
        "blank_lines": 22,
        "events": 33,
        "records": 44,
        "rejected_inferences": 55,
        "rejected_lines": 66,
        "rejects_by_reason": {"id_too_long": 1, "invalid_json": 5},
        "balanced": False,
        "non_finite_values": 88,
        "duplicate_partner_ids": 99,
        "duplicate_examples": _examples("t", 7) + _examples("o", 3),  # at most 10 kept
    }


def _examples(prefix: str, count: int) -> list[dict[str, str]]:
    return [
        {"partner_inference_id": f"{prefix}{n}", "first": f"f:{n}", "repeat": f"r:{n}"}
        for n in range(count)
    ]


def test_only_space_tab_cr_are_blank() -> None:
    stream = CaptureReader().iter_calls(b" \t\r\n\x0c\nX\n\x0b\n")
    items = list(stream)
    assert [(item.raw, item.line_number) for item in items if isinstance(item, Reject)] == [
        (b"\x0c", 2),
        (b"X", 3),
        (b"\x0b", 4),
    ]
    assert len(items) == 3
    assert (stream.ledger.lines, stream.ledger.blank_lines) == (4, 1)


CUT_MESSAGE = (
    "the gzip stream ends early (the file was cut off); the last line it holds is rejected in "
    "place of the cut, the lines before it are kept"
)


def _corrupt_message(detail: str) -> str:
    return (
        f"the gzip stream is corrupt ({detail}); the last line it holds is rejected in place of "
        "the corruption, the lines before it are kept"
    )


def test_gzip_cut_and_corruption_rejects_in_full() -> None:
    compressed = gzip.compress(TWO)
    result = read_records(compressed[:5])  # cut inside the header: no line, so line 1
    (reject,) = result.rejects
    assert (reject.reason, reject.line_number, reject.offset, reject.raw) == (
        Reason.TRUNCATED_LINE,
        1,
        0,
        b"",
    )
    assert reject.message == CUT_MESSAGE
    assert result.ledger.lines == 1
    result = read_records(compressed[:-12])  # cut inside the second line
    assert _ids(result) == ["a"]
    (reject,) = result.rejects
    assert (reject.reason, reject.line_number, reject.offset, reject.raw) == (
        Reason.TRUNCATED_LINE,
        2,
        len(_line("a")) + 1,
        b"",  # the bytes of a line cut by a broken stream are not kept
    )
    bad_block = compressed[:10] + b"\xff" * 20  # a valid header, then a reserved block type
    (reject,) = read_records(bad_block).rejects
    assert (reject.reason, reject.line_number, reject.offset) == (Reason.INVALID_COMPRESSION, 1, 0)
    assert reject.raw == b""
    detail = "Error -3 while decompressing data: invalid block type"
    assert reject.message == _corrupt_message(detail)
    result = read_records(compressed + b"XX")  # not a second gzip member
    assert _ids(result) == ["a"]
    (reject,) = result.rejects
    assert (reject.reason, reject.line_number, reject.offset, reject.raw) == (
        Reason.INVALID_COMPRESSION,
        2,
        len(_line("a")) + 1,
        _line("b"),  # the last line stands for the error; its bytes go to the dead letters
    )
    assert reject.message == _corrupt_message("Not a gzipped file (b'XX')")
    assert result.ledger.lines == 2


@pytest.mark.parametrize(
    ("label", "damage", "reason"),
    [
        ("cut in the trailer", lambda c: c[:-4], Reason.TRUNCATED_LINE),
        ("cut before the trailer", lambda c: c[:-8], Reason.TRUNCATED_LINE),
        ("bad CRC", lambda c: c[:-8] + bytes(4) + c[-4:], Reason.INVALID_COMPRESSION),
        ("bad length", lambda c: c[:-4] + bytes(4), Reason.INVALID_COMPRESSION),
    ],
)
def test_gzip_error_after_the_last_newline_is_on_the_last_real_line(
    label: str, damage: Callable[[bytes], bytes], reason: Reason
) -> None:
    """Issue 9 item 11: no invented line; ``lines`` is what ``wc -l`` counts once unpacked."""
    data = TWO + _line("c") + b"\n"
    result = read_records(damage(gzip.compress(data)))
    assert result.ledger.lines == data.count(b"\n") == 3, label
    assert _ids(result) == ["a", "b"], label
    (reject,) = result.rejects
    last_start = len(TWO)
    assert (reject.reason, reject.line_number, reject.offset, reject.raw) == (
        reason,
        3,
        last_start,
        _line("c"),
    ), label
    assert result.ledger.balanced
    assert (result.ledger.events, result.ledger.rejected_lines) == (2, 1)


def test_gzip_cut_mid_line_rejects_that_line_and_counts_it_as_unterminated() -> None:
    """A cut inside a line: that partial line is the reject (it counts, as an unterminated
    last line does)."""
    data = TWO + _line("c") + b"\n"
    packed = gzip.compress(data)
    for cut in range(20, len(packed) - 8):
        available = zlib.decompressobj(wbits=31).decompress(packed[:cut])
        if not available or available.endswith(b"\n"):
            continue
        result = read_records(packed[:cut])
        complete = available.count(b"\n")
        assert result.ledger.lines == complete + 1, cut
        (reject,) = result.rejects
        assert (reject.line_number, reject.raw) == (complete + 1, b""), cut
        assert reject.offset == available.rfind(b"\n") + 1, cut


def test_str_line_that_is_not_utf8_message() -> None:
    (reject,) = read_records(Lines(["\ud800"])).rejects
    assert reject.message == "line is a str with characters that cannot be encoded as UTF-8"


def test_missing_file_message_names_the_path_and_the_reason(tmp_path: Path) -> None:
    missing = tmp_path / "nope.jsonl"
    with pytest.raises(SourceError) as info:
        read_records(missing)
    assert str(info.value) == f"cannot open {missing}: No such file or directory"


def test_gzip_in_a_stream_whose_mode_says_write() -> None:
    with tempfile.SpooledTemporaryFile() as spooled:
        spooled.write(gzip.compress(TWO))
        spooled.seek(0)
        assert spooled.mode == "w+b"
        _check_two(read_records(spooled), "<stream>")


@pytest.mark.parametrize(
    "data", [TWO, gzip.compress(TWO), gzip.compress(TWO)[:5]], ids=["plain", "gzip", "gzip-head"]
)
def test_a_read_error_after_the_first_bytes_is_a_source_error(data: bytes) -> None:
    with pytest.raises(SourceError) as info:
        read_records(_binary(FailsAfter(data)))
    assert str(info.value) == "cannot read source: [Errno 5] Input/output error"


def test_offsets_after_a_too_large_line_longer_than_what_is_kept() -> None:
    big = _line("big", data="x" * 200_000)
    start = len(_line("a")) + 1
    result = read_records(_file(_line("a"), big, b"{"), max_line_bytes=100_000)
    assert [(r.reason, r.offset) for r in result.rejects] == [
        (Reason.LINE_TOO_LARGE, start),
        (Reason.INVALID_JSON, start + len(big) + 1),
    ]


def test_a_gzip_stream_cut_inside_a_too_large_line() -> None:
    big = _line("big", data="x" * 300_000)
    compressed = gzip.compress(_file(_line("a"), big, _line("b")))
    result = read_records(compressed[: len(compressed) // 2], max_line_bytes=1000)
    assert _ids(result) == ["a"]
    assert [(r.reason, r.line_number) for r in result.rejects] == [
        (Reason.LINE_TOO_LARGE, 2),
        (Reason.TRUNCATED_LINE, 3),
    ]
    assert result.ledger.balanced


def test_an_unterminated_last_line_over_one_mib_is_read() -> None:
    big = _line("big", data="x" * 1_200_000)
    assert _ids(read_records(_file(_line("a")) + big)) == ["a", "big"]


def test_iterable_lines_bom_offset_and_the_exact_size_limit() -> None:
    result = read_records(Lines([b"\xef\xbb\xbf{", b"["]))
    assert [r.offset for r in result.rejects] == [3, 5]
    line = _line("a")
    result = read_records(Lines([line, line + b" "]), max_line_bytes=len(line))
    assert _ids(result) == ["a"]
    assert _reasons(result) == [Reason.LINE_TOO_LARGE]


def test_a_cut_gzip_with_a_tiny_first_member_keeps_the_lines_before_the_cut() -> None:
    # the first member holds fewer bytes than the sniffed head, so they are put back in front
    ids = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(3000)]
    second = gzip.compress(_file(*(_line(i) for i in ids)))
    result = read_records(gzip.compress(b"\n") + second[: len(second) // 2])
    kept = _ids(result)
    assert 0 < len(kept) < 3000
    assert kept == ids[: len(kept)]
    assert [(r.reason, r.line_number) for r in result.rejects] == [
        (Reason.TRUNCATED_LINE, len(kept) + 2)
    ]
    assert (result.ledger.blank_lines, result.ledger.balanced) == (1, True)
