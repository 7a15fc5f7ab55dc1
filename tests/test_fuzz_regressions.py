"""Every input the fuzzers found is a regression test (docs/reliability.md).

``fuzz/crashers/<target>/`` holds each input that once made a fuzz target raise; each is
replayed through the same target (``fuzz.targets``, no atheris needed), which must now return
cleanly: nothing but library errors escapes, and every invariant holds. The bugs behind them are
also pinned here one by one, through the public API, so the reason each file exists stays
readable. The seed corpora built from ``fixtures/`` must pass too.
"""

from __future__ import annotations

import gzip
import io
import json
import traceback
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import orjson
import pytest

from arthur_capture import (
    Call,
    CaptureReader,
    InferenceRecord,
    Reason,
    Reject,
    dumps_json,
    read_records,
)
from arthur_capture.arthur.contract import ValueType, new_inference
from arthur_capture.arthur.mapping import SchemaMapper, coerce
from arthur_capture.arthur.schema import ModelSchema
from arthur_capture.errors import CoercionError, MappingError
from fuzz.seeds import seeds
from fuzz.targets import TARGETS, ShortReads, run_one
from tests.conftest import ROOT

if TYPE_CHECKING:
    from pathlib import Path


CRASHERS = ROOT / "fuzz" / "crashers"
HUGE = 10**5000
"""An integer past Python's 4300-digit limit on ``str(int)`` and ``repr(int)``."""


def crasher_files() -> list[Path]:
    """Every saved crasher, sorted."""
    return sorted(p for p in CRASHERS.glob("*/*") if p.is_file() and p.name != "README.md")


@pytest.mark.parametrize("path", crasher_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_crasher_no_longer_escapes(path: Path) -> None:
    assert path.parent.name in TARGETS, f"{path}: its folder names no fuzz target"
    escaped = run_one(path.parent.name, path.read_bytes())
    if escaped is not None:
        pytest.fail("".join(traceback.format_exception(escaped)))


def test_every_target_has_seeds_that_pass() -> None:
    for name in TARGETS:
        inputs = seeds(name)
        assert len(inputs) > 20, f"{name}: only {len(inputs)} seeds"
        failures = [e for e in (run_one(name, data) for data in inputs) if e is not None]
        assert not failures, f"{name}: {failures[:3]}"


# --- the bugs, one by one ---------------------------------------------------------------------


def test_an_integer_beyond_the_float_range_is_written_exactly() -> None:
    # Found by the mapping and coerce targets: _widen's float() raised OverflowError. Since
    # issue 9 (item 8) such integers are written with their exact digits, never as null.
    written = dumps_json({"v": 10**400, "w": [-(10**400)], "x": 2**64})
    assert written == b'{"v":1%s,"w":[-1%s],"x":%d}' % (b"0" * 400, b"0" * 400, 2**64)
    assert json.loads(written) == {"v": 10**400, "w": [-(10**400)], "x": 2**64}


def test_an_integer_too_long_to_print_is_not_a_string() -> None:
    # Found by the mapping target: str(int) raised ValueError past 4300 digits.
    with pytest.raises(CoercionError, match="too many digits"):
        coerce(HUGE, ValueType.STRING)


@pytest.mark.parametrize("value_type", [ValueType.FLOAT, ValueType.INTEGER, ValueType.BOOLEAN])
def test_error_messages_survive_values_too_long_to_print(value_type: ValueType) -> None:
    # Found by the coerce target: the message's repr() raised ValueError.
    with pytest.raises(CoercionError, match="too long to print"):
        coerce([HUGE] if value_type is ValueType.BOOLEAN else HUGE * 10, value_type)
    with pytest.raises(CoercionError):
        coerce({"a": [HUGE]}, ValueType.ARRAY_STRING)


@pytest.mark.parametrize("space", ["\x1c", "\x1d", "\x1e", "\x1f", "\x85", "\u2028", "\u3000"])
def test_number_text_with_any_whitespace_str_strip_removes(space: str) -> None:
    # Found by the reader_line target (a CSV field "0.1\x1d" against an INTEGER attribute):
    # str.strip() removes \x1c-\x1f but float() and int() do not, so float() raised ValueError.
    assert coerce(f"0.5{space}", ValueType.FLOAT) == 0.5
    assert coerce(f"{space}7", ValueType.INTEGER) == 7
    assert coerce(f"2e1{space}", ValueType.INTEGER) == 20
    with pytest.raises(CoercionError, match="whole number"):
        coerce(f"0.1{space}", ValueType.INTEGER)


def test_the_reader_rejects_that_inference_instead_of_raising() -> None:
    schema = ModelSchema.from_json(
        [{"name": "n", "stage": "PIPELINE_INPUT", "value_type": "INTEGER", "position": 0}]
    )
    line = orjson.dumps(
        {
            "captureData": {
                "endpointInput": {
                    "observedContentType": "text/csv",
                    "data": "0.1\x1d\n4\x1d",
                    "encoding": "CSV",
                }
            },
            "eventMetadata": {"eventId": "e", "inferenceTime": "2024-03-09T10:40:01Z"},
        }
    )
    result = CaptureReader(mapper=SchemaMapper(schema)).read_line(line)
    assert isinstance(result, Call)
    first, second = result.items()
    assert isinstance(first, Reject)
    assert (first.reason, first.index) == (Reason.INVALID_VALUE, 0)
    assert isinstance(second, InferenceRecord)
    assert dict(second.inputs) == {"n": 4}


def test_mapping_a_record_with_a_huge_integer_gives_a_mapping_error() -> None:
    schema = ModelSchema.from_json(
        [{"name": "s", "stage": "PIPELINE_INPUT", "value_type": "STRING", "position": 0}]
    )
    record = InferenceRecord(
        partner_inference_id="p",
        inference_timestamp=datetime(2024, 1, 1, tzinfo=UTC),
        inputs={"input_0": HUGE},
        outputs={},
        event_id="e",
        inference_id=None,
        index=0,
        batch_size=1,
        source="<test>",
        line_number=1,
    )
    with pytest.raises(MappingError) as caught:
        SchemaMapper(schema).map(record)
    assert caught.value.reason is Reason.INVALID_VALUE


@pytest.mark.parametrize("step", [1, 2, 3, 64])
@pytest.mark.parametrize("wrap", ["bom", "gzip", "gzip+bom"])
def test_short_reads_still_find_the_bom_and_the_gzip_magic(step: int, wrap: str) -> None:
    # Found by the reader_stream target (a stream with short reads must read like its bytes):
    # BufferedReader.peek(3) returned the 1 or 2 bytes of one raw read, so a BOM or a gzip
    # magic was missed and every line was rejected invalid_utf8.
    line = (ROOT / "fixtures" / "demo" / "demo.jsonl").read_bytes().split(b"\n")[0] + b"\n"
    body = b"\xef\xbb\xbf" + line if "bom" in wrap else line
    data = gzip.compress(body) if "gzip" in wrap else body
    expected = read_records(data)
    assert len(expected.records) == 1
    result = read_records(ShortReads(data, step))
    assert [new_inference(r) for r in result.records] == [
        new_inference(r) for r in expected.records
    ]
    assert not result.rejects
    assert result.ledger.to_dict() == expected.ledger.to_dict()


class _PeeksOneByte:
    """A file-like object with ``peek`` (so it is not wrapped) that shows one byte at a time."""

    def __init__(self, data: bytes) -> None:
        self._stream = io.BytesIO(data)

    def peek(self, size: int = 1) -> bytes:
        del size
        here = self._stream.tell()
        head = self._stream.read(1)
        self._stream.seek(here)
        return head

    def read(self, size: int = -1) -> bytes:
        return self._stream.read(size)


def test_a_source_with_a_short_peek_and_no_read1_is_read_whole() -> None:
    line = (ROOT / "fixtures" / "demo" / "demo.jsonl").read_bytes().split(b"\n")[0] + b"\n"
    for data in (b"\xef\xbb\xbf" + line + line, gzip.compress(line + line)):
        result = read_records(_PeeksOneByte(data))
        assert len(result.records) == 2 * len(read_records(line).records)
        assert not result.rejects
