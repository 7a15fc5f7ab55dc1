"""The all-numeric CSV fast path gives exactly what the general path gives."""

from __future__ import annotations

import csv
import io
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from arthur_capture.decoders.text_csv import _numeric_rows, csv_value

NUMBER_TEXT = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.text(alphabet="0123456789.eE+-", max_size=6),
)


def _general(text: str) -> list[list[Any]]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    return [[csv_value(field) for field in row] if row else [None] for row in reader]


@given(
    st.lists(st.lists(NUMBER_TEXT, min_size=1, max_size=5), min_size=1, max_size=5), st.booleans()
)
@example([["1e400"]], False)
@example([["18446744073709551616", "-9223372036854775809"]], True)
@example([["01", "1."]], False)
def test_fast_path_equals_general_path(rows: list[list[str]], trailing: bool) -> None:
    text = "\n".join(",".join(row) for row in rows) + ("\n" if trailing else "")
    fast = _numeric_rows(text)
    if fast is not None:
        general = _general(text)
        assert fast == general
        assert [[type(v) for v in row] for row in fast] == [
            [type(v) for v in row] for row in general
        ]


@given(st.text(alphabet='0123456789.,eE+-\n \r"a', max_size=40))
def test_fast_path_never_disagrees_on_arbitrary_text(text: str) -> None:
    fast = _numeric_rows(text)
    if fast is not None:
        assert fast == _general(text)


def test_fast_path_declines_what_it_cannot_read_exactly() -> None:
    for text in ["1,,2", "1\n\n2", "\n1", "1e400", " 1", "1\r\n2", '"1"', "true", "1,2\n3", ""]:
        assert _numeric_rows(text) is None, text
    assert _numeric_rows("1,2.5,-3e2\n4,5,6\n") == [[1, 2.5, -300.0], [4, 5, 6]]
