"""The plain CSV fast path (issue 12): bodies mixing text and numbers equal the general path.

``_plain_table`` reads a body without quotes or CR by splitting it, learns per row width which
columns hold text, and reads every other field in one orjson call. The general path (the
``csv`` module and :func:`csv_value` per field) is the oracle: values, their types (``int``,
``float``, ``str``, ``None``, the sign of a zero), list shapes and errors must be the same.
"""

from __future__ import annotations

import random
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from unittest import mock

import orjson
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from arthur_capture import CaptureReader, Reject
from arthur_capture.decoders import Payload, text_csv
from arthur_capture.decoders.text_csv import CSVDecoder, Rows, _plain_table
from arthur_capture.errors import InvalidPayloadError

if TYPE_CHECKING:
    from collections.abc import Iterator

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
CAPTURES = sorted(p for p in FIXTURES.rglob("*") if p.name.endswith((".jsonl", ".jsonl.gz")))

_DIGITS = st.text(alphabet="0123456789", min_size=1, max_size=30)
NUMBERS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.builds(lambda a, b: f"{a}.{b}", st.integers(-(10**6), 10**6), _DIGITS),  # long mantissas
    st.builds(lambda a, e: f"{a}e{e}", st.integers(-99, 99), st.integers(-400, 400)),
    st.sampled_from(["0", "-0", "-0.0", "0e0", "1E5", "1e+5", "1e-400", "1e400", "-1e400"]),
    st.sampled_from(["9223372036854775807", "9223372036854775808", "-9223372036854775809"]),
    st.sampled_from(["18446744073709551615", "18446744073709551616", "1" * 4400]),
)
NEAR_NUMBERS = st.one_of(
    st.text(alphabet="0123456789.eE+-", max_size=6),  # "01", "1.", "-", "e5", "+1", ""
    st.sampled_from([" 1", "1 ", "\t2", "NaN", "Infinity", "-Infinity", "nan", "inf", "0x1F"]),
)
TEXT = st.one_of(
    st.sampled_from(["red", "ok", "a b", "null", "true", "[1]", "{}", "é", "\\", "\\n", "-x"]),
    st.text(st.characters(exclude_characters='\x00,\n\r"'), max_size=6),  # control, surrogates
    st.text(st.characters(exclude_characters="\x00"), max_size=6),  # quotes, CR, commas, LF
)
CELLS = st.one_of(NUMBERS, NUMBERS, NEAR_NUMBERS, TEXT, st.just(""))
COLUMN_KINDS = st.sampled_from([NUMBERS, TEXT, CELLS, st.sampled_from(["1", "2.5", "x"])])


@st.composite
def bodies(draw: st.DrawFn, width: int | None = None) -> str:
    """A CSV body: columns of one kind each (as real payloads are), sometimes ragged."""
    width = width or draw(st.integers(1, 6))
    kinds = [draw(COLUMN_KINDS) for _ in range(width)]
    rows = [[draw(kind) for kind in kinds] for _ in range(draw(st.integers(1, 6)))]
    if draw(st.integers(0, 9)) == 0:  # a ragged row
        rows[-1] = rows[-1][:-1] if len(rows[-1]) > 1 else [*rows[-1], "1"]
    end = draw(st.sampled_from(["", "", "\n", "\n\n", "\r\n"]))
    line_end = draw(st.sampled_from(["\n", "\n", "\n", "\r\n"]))
    return line_end.join(",".join(row) for row in rows) + end


@contextmanager
def _reference_path(*, numeric: bool = False) -> Iterator[None]:
    """Every body through the general path (the ``csv`` module, ``csv_value`` per field).

    With ``numeric``, the all-numeric fast path stays: it counts rows before it reads them
    (its documented rule), so with a row limit it is part of the reference.
    """
    with mock.patch.object(text_csv, "_plain_table", return_value=None):
        if numeric:
            yield
            return
        with mock.patch.object(text_csv, "_numeric_table", return_value=None):
            yield


def _shape(result: Any) -> Any:
    """What must be equal: the container type, the rows, each value's type and repr."""
    rows = list(result)
    return (
        type(result),
        [
            (type(row), [(type(v), repr(v)) for v in row])
            if isinstance(row, list)
            else (type(row), sorted((k, type(v), repr(v)) for k, v in row.items()))
            for row in rows
        ],
    )


def _outcome(decoder: CSVDecoder, text: str, max_rows: int | None) -> Any:
    try:
        return _shape(decoder.decode_rows(Payload(text, "text/csv"), max_rows=max_rows))
    except InvalidPayloadError as exc:
        return (exc.reason, exc.message)


def _check(decoders: tuple[CSVDecoder, CSVDecoder], texts: list[str], max_rows: int | None) -> None:
    fast, reference = decoders
    for text in texts:  # one decoder in turn: what it learned from a body serves the next
        expected = None
        with _reference_path(numeric=max_rows is not None):
            expected = _outcome(reference, text, max_rows)
        assert _outcome(fast, text, max_rows) == expected, text


@given(
    st.integers(1, 5).flatmap(lambda width: st.lists(bodies(width), min_size=1, max_size=6)),
    st.booleans(),
    st.sampled_from([None, None, 1, 3]),
)
@settings(max_examples=400)
@example(["a,,1\n,b,\n"], True, None)
@example(["1\n\n"], True, None)
@example(["x,1\ny,2", "x,\ny,2", "3,1\n4,2", "x,01\ny,1e400"], True, None)
@example(["1,12345678901234567890", "0.1234567890123456789,a"], True, None)
@example(["\\u2028a,1\x85,b\x1c\x0b\x0c,2"], True, None)
@example(["-x,1", "-1,1", "1,-x"], True, None)
@example(["\ud800,1\n\udfff,2"], True, None)
def test_plain_path_equals_general_path(
    texts: list[str], typed: bool, max_rows: int | None
) -> None:
    pair = (CSVDecoder(infer_types=typed), CSVDecoder(infer_types=typed))
    _check(pair, texts, max_rows)


@given(st.lists(bodies(), min_size=1, max_size=4), st.integers(1, 40))
def test_plain_path_reads_piece_by_piece_as_whole(texts: list[str], piece_chars: int) -> None:
    for text in texts:
        whole = _plain_table(text, typed=True, learned={})
        pieces = _plain_table(text, typed=True, learned={}, piece_chars=piece_chars)
        assert (None if whole is None else _shape(whole)) == (
            None if pieces is None else _shape(pieces)
        )
        if whole is not None:
            with _reference_path():
                assert _shape(whole) == _outcome(CSVDecoder(), text, None)


def test_plain_path_takes_mixed_bodies_and_leaves_the_rest() -> None:
    learned: dict[int, tuple[int, ...]] = {}
    assert _plain_table("1,red,2.5\n-3,blue,", typed=True, learned=learned) == [
        [1, "red", 2.5],
        [-3, "blue", None],
    ]
    assert learned == {3: (1, 2)}  # column 2 held an empty field: read field by field
    assert _plain_table("4,green,5", typed=True, learned=learned) == [[4, "green", 5]]
    for text in ['1,"a"', "1,a\r\n2,b", "1,a\n2", "", "\n"]:
        assert _plain_table(text, typed=True, learned={}) is None, text
    assert _plain_table("1,a\n2,b\n3,c", typed=True, learned={}, max_rows=2) is None
    assert _plain_table("1,,a", typed=False, learned={}) == [["1", "", "a"]]


def test_a_large_mixed_body_is_kept_compactly() -> None:
    text = "".join(f"{i},w{i % 7},{i / 4}\n" for i in range(3000))
    rows = CSVDecoder().decode_rows(Payload(text, "text/csv"))
    assert isinstance(rows, Rows)
    assert (len(rows), rows[2999]) == (3000, [2999, "w3", 749.75])
    with _reference_path():
        assert rows == CSVDecoder().decode_rows(Payload(text, "text/csv"))


def _calls(path: Path) -> list[Any]:
    out: list[Any] = []
    for item in CaptureReader(sniff=True).iter_calls(path):
        if isinstance(item, Reject):
            out.append((item.reason, item.message, item.line_number))
        else:
            out.append(
                (
                    None if item.inputs is None else _shape(item.inputs),
                    None if item.outputs is None else _shape(item.outputs),
                    item.count,
                )
            )
    return out


@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_every_fixture_reads_the_same_by_the_general_path(path: Path) -> None:
    fast = _calls(path)
    with _reference_path():
        assert fast == _calls(path)


def test_generated_mixed_file_reads_the_same_by_the_general_path(tmp_path: Path) -> None:
    lines = []
    rng = random.Random(12)  # noqa: S311 - a seeded test file
    when = datetime(2024, 3, 1, tzinfo=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    words = ["red", "", "7", "-1.5e3", "n/a", "ok go"]
    for number in range(300):
        width = rng.choice([3, 5])
        rows = [
            ",".join(
                rng.choice(words) if column in (1, width - 1) else str(rng.gauss(0, 9))
                for column in range(width)
            )
            for _ in range(rng.randint(1, 4))
        ]
        body = "\n".join(rows).replace('"', "")
        side = {"observedContentType": "text/csv", "mode": "INPUT", "data": body}
        event = {
            "captureData": {"endpointInput": {**side, "encoding": "CSV"}},
            "eventMetadata": {"eventId": f"e{number}", "inferenceTime": when},
            "eventVersion": "0",
        }
        lines.append(orjson.dumps(event))
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    fast = _calls(path)
    assert sum(1 for item in fast if item[0] is not None) == 300
    with _reference_path():
        assert fast == _calls(path)
