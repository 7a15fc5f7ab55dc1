"""CSV rows kept compactly (issue 9, item 4): ``Rows`` and ``CSVDecoder.decode_rows``.

``decode_rows`` is what the reader calls; it must give, row for row, what ``decode`` gives,
and read a wide all-numeric body piece by piece exactly as it would read it whole.
"""

from __future__ import annotations

from unittest import mock

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from arthur_capture.decoders import Payload, text_csv
from arthur_capture.decoders.text_csv import (
    CSVDecoder,
    Rows,
    _numeric_rows,
    _numeric_table,
    rows_of,
)
from arthur_capture.errors import InvalidPayloadError, Reason

NUMBER_TEXT = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.text(alphabet="0123456789.eE+-", max_size=6),
)


def _csv(text: str) -> Payload:
    return Payload(text, "text/csv")


def test_rows_behave_as_the_list_of_lists_they_stand_for() -> None:
    rows = Rows([1, 2, 3, 4, 5, 6], 2)
    assert (len(rows), rows.width, rows.flat) == (3, 2, [1, 2, 3, 4, 5, 6])
    assert list(rows) == [[1, 2], [3, 4], [5, 6]]
    assert rows == [[1, 2], [3, 4], [5, 6]]
    assert [[1, 2], [3, 4], [5, 6]] == rows  # noqa: SIM300 - the reflected comparison
    assert rows != [[1, 2], [3, 4]]
    assert rows == Rows([1, 2, 3, 4, 5, 6], 2)
    assert rows != Rows([1, 2, 3, 4, 5, 6], 3)
    assert rows != "12"
    assert (rows[0], rows[2], rows[-1], rows[-3]) == ([1, 2], [5, 6], [5, 6], [1, 2])
    assert rows[1:] == [[3, 4], [5, 6]]
    assert rows[::2] == [[1, 2], [5, 6]]
    for bad in (3, -4):
        with pytest.raises(IndexError):
            rows[bad]
    rows[0].append(99)  # a row is a new list each time: the values stay as they were
    assert rows[0] == [1, 2]
    assert repr(Rows([7], 1)) == "Rows([[7]])"
    assert repr(Rows(list(range(5)), 1)) == "Rows([[0], [1], [2], … 2 more])"


@given(
    st.lists(st.lists(NUMBER_TEXT, min_size=1, max_size=4), min_size=1, max_size=8),
    st.booleans(),
    st.integers(min_value=1, max_value=12),
)
@example([["1", "2"], ["3", "4"], ["5", "6"]], False, 1)
@example([["1", "2"], ["3"]], True, 1)
def test_reading_in_pieces_reads_as_the_whole_body(
    rows: list[list[str]], trailing: bool, piece_chars: int
) -> None:
    text = "\n".join(",".join(row) for row in rows) + ("\n" if trailing else "")
    whole = _numeric_rows(text)
    with mock.patch.object(text_csv, "_COMPACT_ROWS", 0):  # always Rows, read in pieces
        pieces = _numeric_table(text, piece_chars=piece_chars)
    assert pieces is None or isinstance(pieces, Rows)
    assert (whole is None) == (pieces is None)
    if pieces is not None:
        assert list(pieces) == whole
        assert [[type(v) for v in row] for row in pieces] == [
            [type(v) for v in row] for row in whole or []
        ]


@pytest.mark.parametrize(
    "text",
    [
        "1\n2\n3\n",
        "1,2.5,-3e2\n4,5,6",
        '"a",b\nc,"d\ne"\n',
        "1,,2\n3,4,5",
        "\n1\n",
        "x",
        "18446744073709551616\n1e400",
    ],
)
@pytest.mark.parametrize("infer_types", [True, False])
@pytest.mark.parametrize("compact_rows", [0, 1024])
def test_decode_rows_gives_what_decode_gives(
    text: str, infer_types: bool, compact_rows: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(text_csv, "_COMPACT_ROWS", compact_rows)
    decoder = CSVDecoder(infer_types=infer_types)
    rows = decoder.decode_rows(_csv(text))
    assert isinstance(rows, Rows) == (compact_rows == 0)
    assert list(rows) == decoder.decode(_csv(text))


def test_many_rows_are_kept_compactly_and_a_few_as_lists() -> None:
    limit = text_csv._COMPACT_ROWS
    assert limit == 1024
    for width in (1, 3):
        few = rows_of(list(range(limit * width)), width)
        many = rows_of(list(range((limit + 1) * width)), width)
        assert type(few) is list
        assert isinstance(many, Rows)
        assert (len(few), len(many)) == (limit, limit + 1)
    decoder = CSVDecoder()
    for row in ("1\n", "1,2\n", '"a"\n'):  # one value, wider rows, the general path
        assert isinstance(decoder.decode_rows(_csv(row * (limit + 1))), Rows), row
        assert type(decoder.decode_rows(_csv(row * limit))) is list, row


def test_decode_rows_with_a_header_gives_maps() -> None:
    decoder = CSVDecoder(header=True)
    assert decoder.decode_rows(_csv("a,b\n1,2\n3,4")) == [{"a": 1, "b": 2}, {"a": 3, "b": 4}]
    with pytest.raises(InvalidPayloadError) as info:
        decoder.decode_rows(_csv("a,b\n1,2\n3,4\n5,6"), max_rows=2)
    assert info.value.reason is Reason.TOO_MANY_INFERENCES


@pytest.mark.parametrize(
    ("text", "rows"),
    [
        ("1\n2\n3\n", 3),  # all-numeric: counted before it is parsed
        ("1\n\n2", 3),  # all-numeric characters, read by the general path: an empty row is one
        ("1,2\n3", 2),  # all-numeric characters, rows of different widths: still counted first
        ('"a"\n"b"\n"c"', 3),  # the general path
    ],
)
def test_max_rows(text: str, rows: int) -> None:
    decoder = CSVDecoder()
    if rows == 2:  # rows of different widths would be invalid_payload, but the count comes first
        with pytest.raises(InvalidPayloadError) as info:
            decoder.decode_rows(_csv(text), max_rows=1)
        assert info.value.reason is Reason.TOO_MANY_INFERENCES
        return
    assert len(decoder.decode_rows(_csv(text), max_rows=rows)) == rows
    with pytest.raises(InvalidPayloadError) as info:
        decoder.decode_rows(_csv(text), max_rows=rows - 1)
    assert info.value.reason is Reason.TOO_MANY_INFERENCES
    assert info.value.message == (
        f"holds {rows} inferences, more than the limit of {rows - 1} per call "
        "(max_inferences_per_call)"
    )
