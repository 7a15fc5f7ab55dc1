"""Limits: line size and nesting depth are configurable, and memory stays bounded.

- ``max_line_bytes`` (``--max-line-bytes``): a line of exactly the limit is read, one byte more
  is ``line_too_large``, whatever its size against the reader's 1 MiB read pieces, and the
  reader goes on at the next line with exact offsets.
- ``max_depth`` (``--max-depth``): configures the default registry's JSON and JSON Lines
  decoders; values up to the limit pass, deeper ones are ``nesting_too_deep``.
- A 1 GB single line (from a generator-backed stream, so no such file is ever written) is
  skipped while the process's peak RSS stays far below the line's size.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import zlib
from typing import TYPE_CHECKING, Any

import orjson
import pytest

from arthur_capture import (
    CaptureReader,
    InferenceRecord,
    Named,
    Reason,
    Reject,
    RejectedError,
    default_registry,
    read_records,
)
from arthur_capture.cli import main
from arthur_capture.decoders import DEFAULT_MAX_DEPTH, MAX_DEPTH_LIMIT
from arthur_capture.reading._reader import DEFAULT_MAX_BLANK_LINES, DEFAULT_MAX_INFERENCES_PER_CALL
from arthur_capture.records import Call
from arthur_capture.sinks.jsonl import arthur_json
from tests.conftest import ROOT

if TYPE_CHECKING:
    from pathlib import Path


MIB = 1 << 20


def _line(event_id: str, body: str, content_type: str = "application/json") -> bytes:
    return orjson.dumps(
        {
            "captureData": {
                "endpointInput": {
                    "observedContentType": content_type,
                    "mode": "INPUT",
                    "data": body,
                    "encoding": "JSON",
                }
            },
            "eventMetadata": {"eventId": event_id, "inferenceTime": "2024-01-19T19:27:57Z"},
            "eventVersion": "0",
        }
    )


def _sized(event_id: str, size: int) -> bytes:
    """A valid capture line of exactly ``size`` bytes (padding inside a JSON string)."""
    bare = _line(event_id, '{"pad": ""}')
    line = _line(event_id, '{"pad": "' + "x" * (size - len(bare)) + '"}')
    assert len(line) == size
    return line


def _nested(depth: int) -> str:
    return "[" * depth + "1" + "]" * depth


def _holding(depth: int, media: str = "application/json") -> str:
    """A body of one inference with one value nesting ``depth`` levels (a scalar is 0)."""
    one = "[" + _nested(depth) + "]"  # an inference: column-ordered values
    return one if media == "application/jsonlines" else "[" + one + "]"  # JSON: a batch of one


# --- max_line_bytes ---------------------------------------------------------------------------


@pytest.mark.parametrize("limit", [MIB - 1, MIB, MIB + 1, 3 * MIB + 5])
@pytest.mark.parametrize("delta", [-1, 0, 1])
@pytest.mark.parametrize("gzipped", [False, True])
def test_a_line_up_to_max_line_bytes_is_read_and_one_byte_more_is_not(
    limit: int, delta: int, gzipped: bool
) -> None:
    big = _sized("big", limit + delta)
    data = big + b"\n" + _sized("next", 500) + b"\n" + _sized("last", 400)
    result = read_records(gzip.compress(data) if gzipped else data, max_line_bytes=limit)
    ids = [r.event_id for r in result.records]
    assert result.ledger.lines == 3
    assert result.ledger.balanced
    if delta <= 0:
        assert ids == ["big", "next", "last"]
        assert not result.rejects
    else:
        assert ids == ["next", "last"]
        (reject,) = result.rejects
        assert (reject.reason, reject.line_number, reject.offset) == (Reason.LINE_TOO_LARGE, 1, 0)
        assert reject.raw == big[: 64 * 1024]
    assert [r.line_number for r in result.records][-2:] == [2, 3]


def test_an_unterminated_last_line_over_the_limit_is_too_large() -> None:
    data = _sized("a", 400) + b"\n" + _sized("b", 2 * MIB + 10)
    result = read_records(data, max_line_bytes=2 * MIB)
    assert [r.event_id for r in result.records] == ["a"]
    assert [(r.reason, r.line_number, r.offset) for r in result.rejects] == [
        (Reason.LINE_TOO_LARGE, 2, 401)
    ]


# --- max_depth --------------------------------------------------------------------------------


def _reasons(read: Call | Reject) -> list[Reason | None]:
    listed = [read] if isinstance(read, Reject) else read.items()
    return [item.reason if isinstance(item, Reject) else None for item in listed]


@pytest.mark.parametrize("max_depth", [0, 1, 5, DEFAULT_MAX_DEPTH, 100, MAX_DEPTH_LIMIT])
@pytest.mark.parametrize("media", ["application/json", "application/jsonlines"])
def test_max_depth_configures_the_json_decoders(max_depth: int, media: str) -> None:
    reader = CaptureReader(max_depth=max_depth)
    fits = reader.read_line(_line("ok", _holding(max_depth, media), media))
    assert _reasons(fits) == [None]
    assert isinstance(fits, Call)
    (record,) = fits.items()
    assert isinstance(record, InferenceRecord)
    arthur_json(record)  # the deepest value allowed can still be written
    deeper = reader.read_line(_line("deep", _holding(max_depth + 1, media), media))
    assert _reasons(deeper) == [Reason.NESTING_TOO_DEEP]


def test_the_default_max_depth_is_32() -> None:
    assert DEFAULT_MAX_DEPTH == 32
    reader = CaptureReader()
    assert _reasons(reader.read_line(_line("a", _holding(32)))) == [None]
    assert _reasons(reader.read_line(_line("a", _holding(33)))) == [Reason.NESTING_TOO_DEEP]


@pytest.mark.parametrize("bad", [-1, MAX_DEPTH_LIMIT + 1, 10**6])
def test_max_depth_out_of_range_is_refused(bad: int) -> None:
    with pytest.raises(ValueError, match=f"between 0 and {MAX_DEPTH_LIMIT}"):
        CaptureReader(max_depth=bad)


def test_max_depth_and_a_registry_of_your_own_do_not_mix() -> None:
    with pytest.raises(ValueError, match="default registry"):
        CaptureReader(max_depth=3, registry=default_registry())
    # The registry itself takes the limit.
    reader = CaptureReader(registry=default_registry(max_depth=3))
    assert _reasons(reader.read_line(_line("a", _holding(4)))) == [Reason.NESTING_TOO_DEEP]


def test_max_depth_from_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "deep.jsonl"
    source.write_bytes(_line("a", _holding(3)) + b"\n" + _line("b", _holding(4)))
    summary = tmp_path / "summary.json"
    code = main(["convert", str(source), "--max-depth", "3", "--summary", str(summary)])
    assert code == 1
    ledger: dict[str, Any] = json.loads(summary.read_text())
    assert (ledger["records"], ledger["rejects_by_reason"]) == (1, {"nesting_too_deep": 1})
    assert main(["convert", str(source), "--summary", str(summary)]) == 0
    capsys.readouterr()
    assert main(["convert", str(source), "--max-depth", str(MAX_DEPTH_LIMIT + 1)]) == 2
    assert "--max-depth" in capsys.readouterr().err


# --- max_inferences_per_call ------------------------------------------------------------------


def _csv_call(event_id: str, rows: int, row: str = "1") -> bytes:
    """A call of ``rows`` CSV rows on each side."""
    body = "\n".join([row] * rows)
    return orjson.dumps(
        {
            "captureData": {
                "endpointInput": {
                    "observedContentType": "text/csv",
                    "data": body,
                    "encoding": "CSV",
                },
                "endpointOutput": {
                    "observedContentType": "text/csv",
                    "data": body,
                    "encoding": "CSV",
                },
            },
            "eventMetadata": {"eventId": event_id, "inferenceTime": "2024-01-19T19:27:57Z"},
        }
    )


def test_the_default_max_inferences_per_call_is_two_million() -> None:
    assert DEFAULT_MAX_INFERENCES_PER_CALL == 2_000_000
    assert CaptureReader().max_inferences_per_call == DEFAULT_MAX_INFERENCES_PER_CALL


@pytest.mark.parametrize("row", ["1", "1,2.5", '"a"', "x,,y"])  # numeric fast path and general
def test_a_call_up_to_max_inferences_per_call_is_read_and_one_more_is_not(row: str) -> None:
    data = b"\n".join([_csv_call("fits", 5, row), _csv_call("over", 6, row), _csv_call("end", 1)])
    result = read_records(data, max_inferences_per_call=5)
    assert [r.event_id for r in result.records] == ["fits"] * 5 + ["end"]
    (reject,) = result.rejects
    assert (reject.reason, reject.line_number, reject.event_id, reject.index) == (
        Reason.TOO_MANY_INFERENCES,
        2,
        "over",
        None,
    )
    assert reject.message == (
        "the request holds 6 inferences, more than the limit of 5 per call "
        "(max_inferences_per_call)"
    )
    assert result.ledger.balanced
    assert result.ledger.rejects_by_reason == {"too_many_inferences": 1}


def test_max_inferences_per_call_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_inferences_per_call must be positive"):
        CaptureReader(max_inferences_per_call=0)


def test_max_inferences_from_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "calls.jsonl"
    source.write_bytes(_csv_call("a", 3) + b"\n" + _csv_call("b", 4) + b"\n")
    summary = tmp_path / "summary.json"
    code = main(["convert", str(source), "--max-inferences", "3", "--summary", str(summary)])
    assert code == 1
    ledger: dict[str, Any] = json.loads(summary.read_text())
    assert (ledger["records"], ledger["rejects_by_reason"]) == (3, {"too_many_inferences": 1})
    assert main(["convert", str(source), "--summary", str(summary)]) == 0
    capsys.readouterr()
    assert main(["convert", str(source), "--max-inferences", "0"]) == 2
    assert "--max-inferences must be positive" in capsys.readouterr().err


# --- max_blank_lines: a gzip bomb of newlines --------------------------------------------------


def _bomb(newlines: int, *, before: bytes = b"", after: bytes = b"") -> bytes:
    """``before``, then ``newlines`` newlines, then ``after``, gzip-compressed as one stream."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    pieces = [packer.compress(before)]
    block = b"\n" * MIB
    pieces.extend(packer.compress(block) for _ in range(newlines // MIB))
    pieces.append(packer.compress(b"\n" * (newlines % MIB) + after))
    pieces.append(packer.flush())
    return b"".join(pieces)


def test_a_gzip_bomb_of_newlines_is_rejected_within_a_bounded_number_of_lines() -> None:
    """100 KB of gzip holding 105 million blank lines (issue 9, item 6; was 92 s of CPU)."""
    bomb = _bomb(100 * MIB, before=_csv_call("first", 1) + b"\n", after=_csv_call("never", 1))
    assert len(bomb) < 120_000
    stream = CaptureReader().iter_records(Named(bomb, "bomb.jsonl.gz"), _csv_call("next", 1))
    items = list(stream)
    ledger = stream.ledger
    limit = DEFAULT_MAX_BLANK_LINES
    assert limit == 100_000
    assert ledger.lines == 1 + limit + 1 + 1  # framed: the call, the blank lines, one more; next
    assert (ledger.blank_lines, ledger.events, ledger.rejected_lines) == (limit, 2, 1)
    assert ledger.balanced
    assert [i.event_id for i in items if isinstance(i, InferenceRecord)] == ["first", "next"]
    (reject,) = [i for i in items if isinstance(i, Reject)]
    assert (reject.reason, reject.source, reject.line_number, reject.offset, reject.raw) == (
        Reason.TOO_MANY_BLANK_LINES,
        "bomb.jsonl.gz",
        limit + 2,
        len(_csv_call("first", 1)) + 1 + limit,
        b"",
    )
    assert reject.message == (
        f"more than {limit} blank lines in a row (max_blank_lines): the rest of the source is "
        "not read"
    )


@pytest.mark.parametrize("limit", [0, 1, 3])
def test_max_blank_lines_counts_blank_lines_in_a_row(limit: int) -> None:
    blank = [b"", b"  ", b"\r", b"\t"]
    fits = blank[:limit]
    data = b"\n".join([_csv_call("a", 1), *fits, _csv_call("b", 1), *blank[: limit + 1], b"x"])
    result = read_records(data, max_blank_lines=limit)
    assert [r.event_id for r in result.records] == ["a", "b"]
    (reject,) = result.rejects
    assert reject.reason is Reason.TOO_MANY_BLANK_LINES
    assert reject.line_number == 2 + limit + 1 + limit  # a, fits, b, then the run of limit + 1
    assert result.ledger.lines == reject.line_number  # "x" after it is not read
    assert result.ledger.blank_lines == 2 * limit
    assert result.ledger.balanced


def test_a_run_of_blank_lines_is_counted_per_source() -> None:
    data = b"\n\n"
    result = read_records(data, data, data, max_blank_lines=2)
    assert not result.rejects
    assert (result.ledger.lines, result.ledger.blank_lines) == (6, 6)


def test_a_too_long_run_of_blank_lines_stops_strict_mode() -> None:
    with pytest.raises(RejectedError, match="too_many_blank_lines"):
        read_records(b"\n" * 5, max_blank_lines=2, strict=True)


def test_max_blank_lines_must_not_be_negative() -> None:
    with pytest.raises(ValueError, match="max_blank_lines must not be negative"):
        CaptureReader(max_blank_lines=-1)


def test_max_blank_lines_from_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "bomb.jsonl.gz"
    source.write_bytes(_bomb(1000, before=_csv_call("a", 1) + b"\n"))
    summary = tmp_path / "summary.json"
    code = main(["convert", str(source), "--max-blank-lines", "10", "--summary", str(summary)])
    assert code == 1
    ledger: dict[str, Any] = json.loads(summary.read_text())
    assert (ledger["lines"], ledger["blank_lines"], ledger["rejects_by_reason"]) == (
        12,
        10,
        {"too_many_blank_lines": 1},
    )
    assert main(["convert", str(source), "--summary", str(summary)]) == 0
    assert json.loads(summary.read_text())["blank_lines"] == 1000
    capsys.readouterr()
    assert main(["convert", str(source), "--max-blank-lines", "-1"]) == 2
    assert "--max-blank-lines must not be negative" in capsys.readouterr().err


# --- memory -----------------------------------------------------------------------------------

_ONE_GB_LINE = """
import io, json, os, signal, sys, zlib
import arthur_capture as ac

signal.alarm(600)

SIZE = 1 << 30
HEAD = b'{"captureData": {"endpointInput": {"data": "'
NEXT = (
    b'"}}}\\n{"captureData":{"endpointInput":{"observedContentType":"text/csv",'
    b'"data":"1,2","encoding":"CSV"}},"eventMetadata":{"eventId":"next",'
    b'"inferenceTime":"2024-01-19T19:27:57Z"}}\\n'
)


def plain():
    yield HEAD
    block = b"x" * (1 << 20)
    for _ in range(SIZE // len(block)):
        yield block
    yield NEXT


def gzipped():
    packer = zlib.compressobj(1, zlib.DEFLATED, 31)
    for piece in plain():
        yield packer.compress(piece)
    yield packer.flush()


class Generated(io.RawIOBase):
    # A read-only stream over a generator: the 1 GB line is never in memory, nor on disk.
    def __init__(self, pieces):
        self._pieces = pieces
        self._left = b""

    def readable(self):
        return True

    def readinto(self, buffer):
        while not self._left:
            self._left = next(self._pieces, None)
            if self._left is None:
                self._left = b""
                return 0
        size = min(len(buffer), len(self._left))
        buffer[:size] = self._left[:size]
        self._left = self._left[size:]
        return size


source = Generated(gzipped() if sys.argv[1] == "gzip" else plain())
result = ac.read_records(source)
print(json.dumps({
    "ledger": result.ledger.to_dict(),
    "rejects": [[str(r.reason), r.line_number, r.offset, len(r.raw)] for r in result.rejects],
    "records": [[r.event_id, r.line_number] for r in result.records],
}))
"""


_LAUNCHER = """
import json, os, subprocess, sys

child = subprocess.Popen([sys.executable, "-c", sys.argv[1], sys.argv[2]], stdout=subprocess.PIPE)
out = child.stdout.read()
child.stdout.close()
_, status, usage = os.wait4(child.pid, 0)  # reap it ourselves, for its resource usage
child.returncode = os.waitstatus_to_exitcode(status)
print(json.dumps({"status": child.returncode, "maxrss_kib": usage.ru_maxrss, "out": out.decode()}))
"""
"""Runs the reading script and reports its peak RSS (``os.wait4``). Linux counts the RSS a
process had before ``exec`` in ``ru_maxrss``, so a child of the (large) pytest process would
report pytest's size: this small launcher is the reading process's parent instead."""


@pytest.mark.slow
@pytest.mark.parametrize("form", ["plain", "gzip"])
def test_a_1_gb_line_is_skipped_with_bounded_memory(form: str) -> None:
    launched = subprocess.run(  # noqa: S603 - our own interpreter and scripts
        [sys.executable, "-c", _LAUNCHER, _ONE_GB_LINE, form],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert launched.returncode == 0, launched.stderr
    child = json.loads(launched.stdout)
    assert child["status"] == 0, launched.stderr
    report = json.loads(child["out"])
    assert report["rejects"] == [["line_too_large", 1, 0, 64 * 1024]]
    assert report["records"] == [["next", 2]]
    assert report["ledger"]["lines"] == 2
    assert report["ledger"]["balanced"]
    peak_mib = child["maxrss_kib"] / 1024  # KiB on Linux
    # The reader holds at most max_line_bytes (64 MiB) of the line, never the gigabyte.
    assert peak_mib < 160, f"peak RSS {peak_mib:.0f} MiB reading a 1 GB line"
