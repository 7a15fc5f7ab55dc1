"""Sans-IO framing: the same frames however the bytes are cut into pieces.

:class:`LineFramer` is checked against a small reference model written from its contract
(split on ``\\n`` only, a BOM skipped at byte 0 only, an unterminated last line, over-long
lines kept to their first bytes), for every way of feeding the same bytes: whole, one byte
at a time, and at random cuts. :func:`frame_lines` and the sources that feed the framer
are checked alongside.
"""

from __future__ import annotations

import gzip
import io
import itertools
from typing import TYPE_CHECKING

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from arthur_capture.reading import Frame, LineFramer, Lines, Status, frame_lines
from arthur_capture.reading._framing import RAW_KEEP
from arthur_capture.reading._sources import frames_of

if TYPE_CHECKING:
    from collections.abc import Iterable

BOM = b"\xef\xbb\xbf"


def expected_frames(data: bytes, max_line_bytes: int) -> list[Frame]:
    """What framing ``data`` must give, straight from the contract."""
    offset = 0
    if data.startswith(BOM):
        data = data[len(BOM) :]
        offset = len(BOM)
    *lines, last = data.split(b"\n")
    keep = min(max_line_bytes + 1, RAW_KEEP)
    frames: list[Frame] = []
    for number, (line, terminated) in enumerate(
        [*((line, True) for line in lines), *([(last, False)] if last else [])], start=1
    ):
        if len(line) > max_line_bytes:
            frames.append(Frame(number, offset, line[:keep], Status.TOO_LARGE))
        else:
            status = Status.OK if terminated else Status.UNTERMINATED
            frames.append(Frame(number, offset, line, status))
        offset += len(line) + 1
    return frames


def framed(pieces: Iterable[bytes], max_line_bytes: int) -> list[Frame]:
    """Feed ``pieces`` to a new framer, then end the source."""
    framer = LineFramer(max_line_bytes)
    frames: list[Frame] = []
    for piece in pieces:
        frames.extend(framer.feed(piece))
    frames.extend(framer.end())
    return frames


def cut(data: bytes, cuts: Iterable[int]) -> list[bytes]:
    """``data`` cut at the given positions (pieces may be empty)."""
    points = [0, *sorted(min(max(c, 0), len(data)) for c in cuts), len(data)]
    return [data[a:b] for a, b in itertools.pairwise(points)]


def one_byte_pieces(data: bytes) -> list[bytes]:
    return [data[i : i + 1] for i in range(len(data))]


# Bytes that matter to framing, and some that do not.
TOKENS = st.sampled_from(
    [b"x", b"yz", b"{}", b"\n", b"\r", b"\r\n", b"\n\n", BOM, BOM[:1], BOM[:2], b"\xff", b" "]
)
CONTENT = st.lists(TOKENS | st.binary(max_size=4), max_size=40).map(b"".join)


@st.composite
def capture_bytes(draw: st.DrawFn) -> bytes:
    """Bytes of a source: maybe a BOM at byte 0, CRLF and LF lines, maybe no final newline."""
    data = draw(CONTENT)
    if draw(st.booleans()):
        data = BOM + data
    return data


MAX_LINE_BYTES = st.integers(min_value=1, max_value=12) | st.just(1 << 20)


# --- the framer against the reference --------------------------------------------------------


@given(capture_bytes(), MAX_LINE_BYTES, st.data())
@example(b"", 5, None)
@example(BOM, 5, None)
@example(BOM[:2], 1, None)
@example(BOM + b"\n", 1, None)
@example(b"ab\r\ncd\r\n", 2, None)
@example(b"abc\nlong line here\nd", 4, None)
@example(b"no newline at all", 3, None)
@example(b"x\n" + BOM + b"y\n", 8, None)
def test_any_pieces_give_the_reference_frames(
    data: bytes, max_line_bytes: int, cuts: st.DataObject | None
) -> None:
    expected = expected_frames(data, max_line_bytes)
    assert framed([data], max_line_bytes) == expected
    assert framed(one_byte_pieces(data), max_line_bytes) == expected
    if cuts is not None:
        positions = cuts.draw(st.lists(st.integers(0, len(data)), max_size=12), label="cuts")
        assert framed(cut(data, positions), max_line_bytes) == expected


@given(capture_bytes(), MAX_LINE_BYTES)
def test_frames_account_for_every_byte(data: bytes, max_line_bytes: int) -> None:
    frames = framed(one_byte_pieces(data), max_line_bytes)
    assert [f.line_number for f in frames] == list(range(1, len(frames) + 1))
    bom = len(BOM) if data.startswith(BOM) else 0
    position = bom
    for frame in frames:
        assert frame.offset == position
        if frame.status is not Status.TOO_LARGE:
            assert data[frame.offset : frame.offset + len(frame.raw)] == frame.raw
            assert b"\n" not in frame.raw
        position = data.find(b"\n", frame.offset)
        position = len(data) if position < 0 else position + 1
    assert position == len(data) or data == BOM[: len(data)]


# --- cases worth naming ----------------------------------------------------------------------


def test_a_bom_is_skipped_at_byte_zero_only_whatever_the_pieces() -> None:
    data = BOM + b"a\n" + BOM + b"b\n"
    for pieces in ([data], one_byte_pieces(data), [BOM[:1], BOM[1:2], BOM[2:] + b"a\n", data[5:]]):
        assert framed(pieces, 100) == [
            Frame(1, 3, b"a", Status.OK),
            Frame(2, 5, BOM + b"b", Status.OK),
        ]


def test_the_start_of_a_bom_that_is_not_one_is_kept() -> None:
    assert framed([BOM[:2]], 100) == [Frame(1, 0, BOM[:2], Status.UNTERMINATED)]
    assert framed([BOM[:1], BOM[1:2], b"x\n"], 100) == [Frame(1, 0, BOM[:2] + b"x", Status.OK)]
    assert framed([BOM], 100) == []


def test_crlf_lines_keep_their_cr_for_the_reader() -> None:
    # Framing splits on \n only; the reader drops a final \r (tests/reading/test_reader.py).
    data = b"a\r\nb\rc\r\n\r\n"
    assert framed(one_byte_pieces(data), 100) == [
        Frame(1, 0, b"a\r", Status.OK),
        Frame(2, 3, b"b\rc\r", Status.OK),
        Frame(3, 8, b"\r", Status.OK),
    ]


def test_an_unterminated_last_line() -> None:
    assert framed([b"a\nbc"], 100) == [
        Frame(1, 0, b"a", Status.OK),
        Frame(2, 2, b"bc", Status.UNTERMINATED),
    ]
    assert framed([b"a\n"], 100) == [Frame(1, 0, b"a", Status.OK)]
    assert framed([b"a\n", b""], 100) == [Frame(1, 0, b"a", Status.OK)]


@pytest.mark.parametrize("size", [3, 4, 5, 50])
def test_a_line_of_exactly_the_limit_is_ok_and_one_more_is_too_large(size: int) -> None:
    data = b"x" * size + b"\n" + b"y" * (size + 1) + b"\n" + b"z" * (size + 1)
    frames = framed(one_byte_pieces(data), size)
    assert [(f.line_number, f.offset, f.status) for f in frames] == [
        (1, 0, Status.OK),
        (2, size + 1, Status.TOO_LARGE),
        (3, 2 * size + 3, Status.TOO_LARGE),
    ]
    assert [f.raw for f in frames] == [b"x" * size, b"y" * (size + 1), b"z" * (size + 1)]


def test_an_over_long_line_keeps_its_first_64_kib_and_holds_no_more() -> None:
    limit = 100_000
    line = bytes(b for b in range(256) if b != ord("\n")) * 1000  # 255,000 bytes, no newline
    framer = LineFramer(limit)
    frames: list[Frame] = []
    for start in range(0, len(line), 4096):
        frames.extend(framer.feed(line[start : start + 4096]))
        assert sum(map(len, framer._pending)) <= limit + 4096  # never the whole line
    frames.extend(framer.feed(b"\nnext\n"))
    frames.extend(framer.end())
    assert frames == [
        Frame(1, 0, line[:RAW_KEEP], Status.TOO_LARGE),
        Frame(2, len(line) + 1, b"next", Status.OK),
    ]


def test_pieces_that_hold_several_lines_and_empty_pieces() -> None:
    pieces = [b"", b"a\nb", b"", b"\n\nc\n", b"d"]
    assert framed(pieces, 10) == expected_frames(b"".join(pieces), 10)


# --- fail: reading stopped on an error -------------------------------------------------------


def test_fail_drops_a_partial_line_and_reports_where_it_started() -> None:
    framer = LineFramer(100)
    assert list(framer.feed(b"a\nbcd")) == [Frame(1, 0, b"a", Status.OK)]
    assert list(framer.fail(Status.TRUNCATED_GZIP)) == [Frame(2, 2, b"", Status.TRUNCATED_GZIP)]


def test_fail_at_a_line_boundary() -> None:
    framer = LineFramer(100)
    assert list(framer.feed(b"a\n")) == [Frame(1, 0, b"a", Status.OK)]
    assert list(framer.fail(Status.BAD_GZIP, b"why")) == [Frame(2, 2, b"why", Status.BAD_GZIP)]


@pytest.mark.parametrize("status", [Status.TRUNCATED_GZIP, Status.BAD_GZIP])
def test_fail_inside_a_line_already_too_large_reports_it_first(status: Status) -> None:
    framer = LineFramer(4)
    assert list(framer.feed(b"a\n")) == [Frame(1, 0, b"a", Status.OK)]
    assert list(framer.feed(b"0123456789")) == []
    assert list(framer.fail(status, b"m")) == [
        Frame(2, 2, b"01234", Status.TOO_LARGE),
        Frame(3, 12, b"m", status),
    ]


# --- frame_lines: lines given one by one -----------------------------------------------------


def test_frame_lines_items_are_lines_with_or_without_their_newline() -> None:
    assert list(frame_lines([b"a", b"b\n", "c\nd", "é"], 100)) == [
        Frame(1, 0, b"a", Status.OK),
        Frame(2, 2, b"b", Status.OK),
        Frame(3, 4, b"c", Status.OK),
        Frame(4, 6, b"d", Status.OK),
        Frame(5, 8, "é".encode(), Status.OK),
    ]


def test_frame_lines_bom_only_at_the_start_of_the_first_item() -> None:
    assert list(frame_lines([BOM + b"a", BOM + b"b"], 100)) == [
        Frame(1, 3, b"a", Status.OK),
        Frame(2, 5, BOM + b"b", Status.OK),
    ]


def test_frame_lines_limits_and_bad_text() -> None:
    assert list(frame_lines([b"xxxx", b"xxxxx", "\ud800"], 4)) == [
        Frame(1, 0, b"xxxx", Status.OK),
        Frame(2, 5, b"xxxxx", Status.TOO_LARGE),
        Frame(3, 11, "\ud800".encode("utf-8", "surrogatepass"), Status.BAD_TEXT),
    ]


# --- sources feed the framer -----------------------------------------------------------------


class ShortReads:
    """A stream whose ``read(n)`` hands back at most a few bytes at a time, in a fixed rhythm."""

    def __init__(self, data: bytes, sizes: list[int]) -> None:
        self._data = io.BytesIO(data)
        self._sizes = sizes or [1]
        self._turn = 0

    def read(self, size: int = -1) -> bytes:
        step = self._sizes[self._turn % len(self._sizes)]
        self._turn += 1
        return self._data.read(step if size < 0 else min(size, step))


@given(capture_bytes(), MAX_LINE_BYTES, st.lists(st.integers(1, 7), min_size=1, max_size=5))
@example(BOM + b"a\nb", 5, [1])
@example(b"\x1f", 5, [1])
def test_a_stream_read_in_short_pieces_gives_the_reference_frames(
    data: bytes, max_line_bytes: int, sizes: list[int]
) -> None:
    expected = expected_frames(data, max_line_bytes)
    if not data.startswith(b"\x1f\x8b"):  # not gzip: the bytes are framed as they are
        assert list(frames_of(ShortReads(data, sizes), max_line_bytes)) == expected
        assert list(frames_of(data, max_line_bytes)) == expected
    packed = gzip.compress(data)
    assert list(frames_of(ShortReads(packed, sizes), max_line_bytes)) == expected


def test_lines_sources_go_through_frame_lines() -> None:
    assert list(frames_of(Lines([b"a", "b"]), 100)) == list(frame_lines([b"a", "b"], 100))
