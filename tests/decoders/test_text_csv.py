"""``text/csv``: csv_value typing and CSVDecoder framing, header and width rules."""

from __future__ import annotations

import csv
from typing import TYPE_CHECKING, Any

import orjson
import pytest

from arthur_capture import (
    DecoderRegistry,
    InvalidBase64Error,
    InvalidPayloadError,
    Payload,
    Reason,
    default_registry,
)
from arthur_capture.decoders.application_json import loads_payload
from arthur_capture.decoders.text_csv import CSVDecoder, csv_value
from arthur_capture.records import SideDecoder
from tests.helpers import b64, captured_side

if TYPE_CHECKING:
    from arthur_capture.decoders import Inference


def _decode(text: str, **options: Any) -> list[Inference]:
    return CSVDecoder(**options).decode(Payload(text, "text/csv"))


# --- csv_value ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("0", 0),
        ("-0", 0),
        ("42", 42),
        ("-17", -17),
        ("9223372036854775807", 2**63 - 1),
        ("-9223372036854775808", -(2**63)),
        ("18446744073709551615", 2**64 - 1),
        ("1.5", 1.5),
        ("-0.0", -0.0),
        ("1e5", 100000.0),
        ("1E-2", 0.01),
        ("2.5e+3", 2500.0),
    ],
)
def test_csv_value_json_numbers_become_numbers(field: str, expected: float) -> None:
    value = csv_value(field)
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize(
    "field",
    [
        "18446744073709551616",  # 2**64: beyond unsigned 64-bit
        "-9223372036854775809",  # below signed 64-bit
        "123456789012345678901234567890",
    ],
)
def test_csv_value_integers_beyond_64_bits_stay_exact(field: str) -> None:
    # issue 9 item 8: kept exact (orjson would make them floats, and lose digits)
    value = csv_value(field)
    assert type(value) is int
    assert value == int(field)
    assert str(value) == field


def test_csv_value_integer_past_pythons_digit_limit_stays_a_string() -> None:
    field = "9" * 5000
    assert csv_value(field) == field


def test_csv_decoder_keeps_big_integers_exact() -> None:
    big = 123456789012345678901234567890
    rows = CSVDecoder().decode(Payload(f"{big},1\n18446744073709551616,2\n", "text/csv"))
    assert rows == [[big, 1], [2**64, 2]]
    assert [type(v) for row in rows for v in row] == [int] * 4


@pytest.mark.parametrize(
    "field",
    [
        "0",
        "-0",
        "1",
        "-9223372036854775808",
        "18446744073709551615",
        "18446744073709551616",
        "-9223372036854775809",
        "1.25",
        "-0.0",
        "1e5",
        "1E-300",
        "1e-400",
        "99999999999999999999999",
    ],
)
def test_csv_value_types_numbers_exactly_as_the_json_decoder_does(field: str) -> None:
    value = csv_value(field)
    expected = loads_payload(Payload(field, "application/json"))
    assert value == expected
    assert type(value) is type(expected)
    if "." not in field and "e" not in field.lower():  # an integer literal: exact, of any size
        assert value == int(field)


@pytest.mark.parametrize("field", ["1e400", "-1E400", "1" + "0" * 400 + ".0"])
def test_csv_value_overflow_to_infinity_stays_a_string(field: str) -> None:
    assert csv_value(field) == field
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(field)


def test_csv_value_empty_field_is_none() -> None:
    assert csv_value("") is None


@pytest.mark.parametrize(
    "field",
    [
        "01",  # leading zero: not a JSON number
        "+1",
        "1.",
        ".5",
        "1e",
        "0x10",
        " 1",
        "1 ",
        "NaN",
        "nan",
        "Infinity",
        "-Infinity",
        "inf",
        "true",
        "false",
        "null",
        "1_000",
        "١٢",  # non-ASCII digits
        "abc",
        " ",
    ],
)
def test_csv_value_anything_else_stays_the_string(field: str) -> None:
    assert csv_value(field) == field


# --- CSVDecoder: rows and framing ---------------------------------------------------------------


def test_one_inference_per_row_in_order() -> None:
    assert _decode("1.5,16.0,14,23.0\n-2.0,100.2,15.2,9.2") == [
        [1.5, 16.0, 14, 23.0],
        [-2.0, 100.2, 15.2, 9.2],
    ]


def test_crlf_and_lf_both_end_a_row() -> None:
    assert _decode("1,2\r\n3,4\n5,6") == [[1, 2], [3, 4], [5, 6]]


def test_one_trailing_line_ending_is_ignored() -> None:
    assert _decode("0.1\n0.7\n0.3\n") == [[0.1], [0.7], [0.3]]
    assert _decode("1,2\r\n") == [[1, 2]]


def test_a_second_trailing_line_ending_is_an_empty_row() -> None:
    # A single-column body gets a null row; a wider one a width error.
    assert _decode("1\n\n") == [[1], [None]]
    with pytest.raises(InvalidPayloadError, match="row 2 has 1 fields; expected 2"):
        _decode("1,2\n\n")


def test_quoted_fields_hold_commas_quotes_and_newlines() -> None:
    assert _decode('"a,b","say ""hi""","line1\nline2","crlf\r\ninside"\n') == [
        ["a,b", 'say "hi"', "line1\nline2", "crlf\r\ninside"]
    ]


def test_quoted_number_is_still_typed() -> None:
    # Typing is by field text: the CSV reader has already removed the quotes.
    assert _decode('"1","x"') == [[1, "x"]]


def test_records_are_counted_not_physical_lines() -> None:
    assert len(_decode('"a\nb\nc",1\n"d",2\n')) == 2


def test_empty_fields_are_none() -> None:
    assert _decode(",1,\n2,,3") == [[None, 1, None], [2, None, 3]]


def test_whitespace_is_kept() -> None:
    assert _decode(" 1 , x ") == [[" 1 ", " x "]]


def test_all_rows_must_have_the_same_width() -> None:
    with pytest.raises(InvalidPayloadError, match="CSV row 2 has 3 fields; expected 2") as info:
        _decode("1,2\n3,4,5\n")
    assert info.value.reason is Reason.INVALID_PAYLOAD
    with pytest.raises(InvalidPayloadError, match="CSV row 3 has 1 fields; expected 2"):
        _decode("1,2\n3,4\n5")


def test_width_error_row_counts_physical_lines_of_quoted_fields() -> None:
    with pytest.raises(InvalidPayloadError, match="CSV row 3 has 1 fields"):
        _decode('"a\nb",1\n2')


def test_empty_body_is_refused() -> None:
    with pytest.raises(InvalidPayloadError, match="empty"):
        _decode("")


def test_a_lone_newline_is_one_row_with_one_null() -> None:
    assert _decode("\n") == [[None]]


def test_nul_is_refused() -> None:
    with pytest.raises(InvalidPayloadError, match="NUL"):
        _decode("1,\x00,2")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('"unterminated,1\n', "unexpected end of data"),
        ('1,"unterminated', "unexpected end of data"),
        ('"a"b,c', "expected after"),
    ],
)
def test_csv_syntax_errors_are_invalid_payload(body: str, message: str) -> None:
    with pytest.raises(InvalidPayloadError, match=message) as info:
        _decode(body)
    assert isinstance(info.value.__cause__, csv.Error)
    assert "CSV syntax error near row 1" in str(info.value)


def test_fields_beyond_the_stdlib_default_limit_are_read() -> None:
    big = "x" * 200_000
    assert _decode(f'"{big}",1\n') == [[big, 1]]


def test_decoder_repr_and_media_types() -> None:
    decoder = CSVDecoder(header=True, infer_types=False)
    assert repr(decoder) == "CSVDecoder(header=True, infer_types=False)"
    assert decoder.media_types[0] == "text/csv"
    assert "application/csv" in decoder.media_types


# --- header and infer_types --------------------------------------------------------------------


def test_header_off_by_default_row_zero_is_data() -> None:
    assert _decode("a,b\n1,2") == [["a", "b"], [1, 2]]


def test_header_names_the_columns() -> None:
    assert _decode("a,b\n1,2\n3,\n", header=True) == [{"a": 1, "b": 2}, {"a": 3, "b": None}]


def test_header_keeps_column_order() -> None:
    (row,) = _decode("z,a,m\n1,2,3", header=True)
    assert isinstance(row, dict)
    assert list(row) == ["z", "a", "m"]


def test_header_sets_the_width() -> None:
    with pytest.raises(InvalidPayloadError, match="row 2 has 3 fields; expected 2"):
        _decode("a,b\n1,2,3\n", header=True)


def test_header_without_rows_is_refused() -> None:
    with pytest.raises(InvalidPayloadError, match="header but no row"):
        _decode("a,b\n", header=True)


@pytest.mark.parametrize("header_row", ["a,,c", ",", '""'])
def test_header_with_an_empty_name_is_refused(header_row: str) -> None:
    with pytest.raises(InvalidPayloadError, match="empty column name"):
        _decode(f"{header_row}\n1,2,3", header=True)


def test_header_with_repeated_names_is_refused() -> None:
    with pytest.raises(InvalidPayloadError, match="repeats column name"):
        _decode("a,b,a\n1,2,3", header=True)


def test_infer_types_off_keeps_strings_and_empty_is_empty_string() -> None:
    assert _decode("1,,x\n2.5,3,", infer_types=False) == [["1", "", "x"], ["2.5", "3", ""]]
    assert _decode("\n", infer_types=False) == [[""]]


def test_infer_types_off_with_header() -> None:
    assert _decode("a,b\n1,\n", header=True, infer_types=False) == [{"a": "1", "b": ""}]


# --- BASE64 bodies and charsets through SideDecoder --------------------------------------------


def _sides() -> SideDecoder:
    return SideDecoder(default_registry())


def test_base64_latin_1_csv() -> None:
    side = captured_side(b64("café,1\nnaïve,2".encode("latin-1")), "text/csv; charset=ISO-8859-1")
    assert _sides().decode(side) == [["café", 1], ["naïve", 2]]


def test_base64_utf_16_csv() -> None:
    side = captured_side(b64("ü,1".encode("utf-16")), "text/csv; charset=utf-16")
    assert _sides().decode(side) == [["ü", 1]]


def test_base64_latin_1_bytes_without_charset_are_refused_as_utf_8() -> None:
    side = captured_side(b64("café".encode("latin-1")), "text/csv")
    with pytest.raises(InvalidPayloadError, match="not valid utf-8 at byte 3"):
        _sides().decode(side)


def test_unknown_charset_is_refused() -> None:
    side = captured_side(b64(b"1,2"), "text/csv; charset=x-no-such-charset")
    with pytest.raises(InvalidPayloadError, match="unknown charset 'x-no-such-charset'"):
        _sides().decode(side)


def test_base64_csv_matches_the_csv_encoding() -> None:
    body = '1,"a,b"\r\n2,c\r\n'
    assert _sides().decode(captured_side(b64(body.encode()), "text/csv")) == _sides().decode(
        captured_side(body, "text/csv", encoding="CSV")
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("!!!!", "Only base64 data is allowed"),
        ("MSwy!", "Only base64 data is allowed"),
        ("MSwy MSwy", "Only base64 data is allowed"),
        ("MSwyMw==MSwy", "Excess data after padding"),
        ("MSwyMw==\n", "Excess data after padding"),
        ("MSwyMw", "Incorrect padding"),
        ("MSwyM", "1 more than a multiple of 4"),
        ("é===", "only ASCII"),
    ],
)
def test_invalid_base64_is_refused(data: str, message: str) -> None:
    with pytest.raises(InvalidBase64Error, match=message) as info:
        _sides().decode(captured_side(data, "text/csv"))
    assert info.value.reason is Reason.INVALID_BASE64


def test_valid_base64_of_the_same_text_is_accepted() -> None:
    assert _sides().decode(captured_side("MSwyMw==", "text/csv")) == [[1, 23]]


def test_csv_decoder_options_via_registry() -> None:
    registry = DecoderRegistry(CSVDecoder(header=True))
    side = captured_side("name,age\nann,7", "text/csv", encoding="CSV")
    assert SideDecoder(registry).decode(side) == [{"name": "ann", "age": 7}]


# --- mutation testing (docs/reliability.md) --------------------------------------------------


@pytest.mark.parametrize(
    ("text", "header", "message"),
    [
        ("", False, "the CSV body is empty: it holds no inference"),
        ("1,\x00", False, "the CSV body holds a NUL character"),
        ("a,b\n", True, "the CSV body has a header but no row: it holds no inference"),
        ("a,,b\n1,2,3", True, "the CSV header row has an empty column name"),
        ("a,b,a\n1,2,3", True, "the CSV header repeats column name(s): a"),
        ("b,a,a,c,b,a\n1,2,3,4,5,6", True, "the CSV header repeats column name(s): a, b"),
        ("1,2\n3", False, "CSV row 2 has 1 fields; expected 2"),
    ],
)
def test_csv_error_messages(text: str, header: bool, message: str) -> None:
    with pytest.raises(InvalidPayloadError) as info:
        _decode(text, header=header)
    assert info.value.message == message


def test_a_lone_cr_ends_a_row_as_pythons_csv_module_reads_it() -> None:
    assert _decode("1,2\r3,4") == [[1, 2], [3, 4]]
    assert _decode('"a\rb",1\r\n') == [["a\rb", 1]]


def test_fields_beyond_pythons_default_csv_field_limit_are_read() -> None:
    previous = csv.field_size_limit(131_072)  # Python's default, as in a fresh process
    try:
        big = "x" * 200_000
        assert _decode(f'"{big}",1') == [[big, 1]]
    finally:
        csv.field_size_limit(previous)
