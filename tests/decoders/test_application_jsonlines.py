"""``application/jsonlines`` and aliases: one inference per non-blank line."""

from __future__ import annotations

from typing import Any

import pytest

from arthur_capture import (
    InvalidBase64Error,
    InvalidPayloadError,
    Payload,
    Reason,
    default_registry,
    parse_media_type,
)
from arthur_capture.decoders._shapes import Inferences
from arthur_capture.decoders.application_jsonlines import JSONLinesDecoder
from arthur_capture.records import SideDecoder
from tests.helpers import b64, captured_side


def _decode(text: str | bytes, content_type: str = "application/jsonlines", **kw: Any) -> Any:
    media_type, params = parse_media_type(content_type)
    return JSONLinesDecoder(**kw).decode(Payload(text, media_type, params))


def test_one_inference_per_line() -> None:
    assert _decode('{"features": [1, 2]}\n{"features": [3, 4]}') == [[1, 2], [3, 4]]


def test_each_line_follows_the_item_rules() -> None:
    body = '{"score": 0.4, "predicted_label": 0}\n[0.1, 0.9]\n0.5\n"x"\nnull\n'
    assert _decode(body) == [{"score": 0.4, "predicted_label": 0}, [0.1, 0.9], [0.5], ["x"], [None]]
    assert _decode('{"data": {"features": {"values": [7, 8]}}}') == [[7, 8]]


def test_a_line_with_a_reserved_name_in_a_map_is_refused() -> None:
    with pytest.raises(InvalidPayloadError, match="reserved name"):
        _decode('{"score": 1}\n{"predictions": [1], "x": 2}')
    with pytest.raises(InvalidPayloadError, match="reserved name"):
        _decode('{"instances": [1]}')


def test_a_trailing_newline_is_not_an_inference() -> None:
    assert _decode('{"score": 0.1}\n{"score": 0.2}\n') == [{"score": 0.1}, {"score": 0.2}]


def test_blank_and_whitespace_lines_are_skipped() -> None:
    assert _decode('\n{"a": 1}\n\n  \t \n\r\n{"b": 2}\n\n') == [{"a": 1}, {"b": 2}]


def test_crlf_lines_are_read() -> None:
    assert _decode('{"a": 1}\r\n{"b": 2}\r\n') == [{"a": 1}, {"b": 2}]


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85"])
def test_unicode_line_separators_inside_strings_do_not_split(separator: str) -> None:
    assert _decode(f'{{"a": "x{separator}y"}}\n[1]') == [{"a": f"x{separator}y"}, [1]]


def test_a_lone_cr_is_whitespace_not_a_line_break() -> None:
    assert _decode('{"a":\r1}\n') == [{"a": 1}]


@pytest.mark.parametrize("separator", ["\r", "\u2028", "\x85", "\x1e", "\x0b"])
def test_only_newline_separates_values(separator: str) -> None:
    with pytest.raises(InvalidPayloadError, match="JSON Lines line 1"):
        _decode(f'{{"a": 1}}{separator}{{"b": 2}}')


def test_two_values_on_one_line_are_refused() -> None:
    with pytest.raises(InvalidPayloadError, match="JSON Lines line 2: body is not valid JSON"):
        _decode('{"a": 1}\n{"a": 1} {"b": 2}')


def test_the_failing_line_number_counts_blank_lines() -> None:
    with pytest.raises(InvalidPayloadError, match="JSON Lines line 4:") as info:
        _decode('{"a": 1}\n\n{"a": 2}\n{"a": ')
    assert info.value.reason is Reason.INVALID_PAYLOAD
    assert isinstance(info.value.__cause__, InvalidPayloadError)


@pytest.mark.parametrize("body", ["", "\n", "\n\n", " \t\r\n  "])
def test_a_body_with_no_line_is_refused(body: str) -> None:
    with pytest.raises(InvalidPayloadError, match="no line"):
        _decode(body)


@pytest.mark.parametrize("bad", ["nan", "[+Infinity]", "[NaN,]", '"\\udfaa"', "{'a': 1}"])
def test_invalid_json_lines_are_refused(bad: str) -> None:
    with pytest.raises(InvalidPayloadError, match="JSON Lines line 2"):
        _decode(f'{{"a": 1}}\n{bad}\n')


def test_non_finite_numbers_read_as_null_and_counted_over_lines() -> None:
    # issue 9 item 7: NaN, ±Infinity and numbers overflowing to infinity are null, counted
    inferences = _decode('{"a": 1}\nNaN\n[Infinity, -Infinity]\n{"b": 1e400, "c": "NaN"}\n')
    assert inferences == [{"a": 1}, [None], [None, None], {"b": None, "c": "NaN"}]
    assert isinstance(inferences, Inferences)
    assert inferences.non_finite == 4
    assert getattr(_decode('{"a": 1}\n'), "non_finite", 0) == 0


def test_big_integers_are_exact_per_line() -> None:
    big = 2**64 + 1  # a float would be 2**64
    inferences = _decode(f'[{big}, 1]\n{{"n": {-big}}}\n')
    assert inferences == [[big, 1], {"n": -big}]
    assert type(inferences[0][0]) is int


def test_a_json_document_spread_over_lines_is_refused() -> None:
    with pytest.raises(InvalidPayloadError, match="JSON Lines line 1"):
        _decode('{\n"a": 1\n}')


def test_depth_limit_per_line() -> None:
    assert _decode("[[1]]\n[[2]]", max_depth=1) == [[[1]], [[2]]]
    with pytest.raises(InvalidPayloadError, match="nests deeper") as info:
        _decode('{"a": 1}\n[[[1]]]', max_depth=1)
    assert info.value.reason is Reason.NESTING_TOO_DEEP


def test_parser_depth_limit_keeps_its_reason() -> None:
    with pytest.raises(InvalidPayloadError, match="JSON Lines line 1") as info:
        _decode("[" * 5000 + "]" * 5000, max_depth=10**6)
    assert info.value.reason is Reason.NESTING_TOO_DEEP


def test_media_type_aliases_and_repr() -> None:
    decoder = JSONLinesDecoder(max_depth=3)
    assert decoder.media_types[0] == "application/jsonlines"
    assert {"application/x-jsonlines", "application/jsonl", "application/x-ndjson"} <= set(
        decoder.media_types
    )
    assert repr(decoder) == "JSONLinesDecoder(max_depth=3)"
    registry = default_registry()
    for alias in decoder.media_types:
        assert isinstance(registry.get(alias.upper()), JSONLinesDecoder)


# --- transports ----------------------------------------------------------------------------


def test_encoding_json_holding_json_lines_is_dispatched_on_the_content_type() -> None:
    side = captured_side(
        '{"score": 0.4}\n{"score": 0.5}\n', "application/jsonlines", encoding="JSON"
    )
    assert SideDecoder(default_registry()).decode(side) == [{"score": 0.4}, {"score": 0.5}]


def test_base64_json_lines() -> None:
    side = captured_side(b64(b'{"features": [1]}\n{"features": [2]}\n'), "application/jsonlines")
    assert SideDecoder(default_registry()).decode(side) == [[1], [2]]


@pytest.mark.parametrize(("charset", "codec"), [("utf-16", "utf-16"), ("ISO-8859-1", "latin-1")])
def test_base64_json_lines_in_other_charsets(charset: str, codec: str) -> None:
    raw = '{"name": "Zoë"}\n{"name": "Noël"}\n'.encode(codec)
    side = captured_side(b64(raw), f"application/jsonlines; charset={charset}")
    assert SideDecoder(default_registry()).decode(side) == [{"name": "Zoë"}, {"name": "Noël"}]


def test_base64_json_lines_wrong_charset_is_refused() -> None:
    raw = '{"name": "Zoë"}\n'.encode("latin-1")
    side = captured_side(b64(raw), "application/jsonlines")
    with pytest.raises(InvalidPayloadError, match="not valid utf-8"):
        SideDecoder(default_registry()).decode(side)


@pytest.mark.parametrize("data", ["!!!!", "eyJhIjoxfQ==eyJ9", "eyJhIjoxfQ"])
def test_invalid_base64_json_lines(data: str) -> None:
    with pytest.raises(InvalidBase64Error):
        SideDecoder(default_registry()).decode(captured_side(data, "application/jsonlines"))


# --- mutation testing (docs/reliability.md) --------------------------------------------------


@pytest.mark.parametrize("line", ["\x0c", "\x0b", "\x85", "\u2028", "X"])
def test_only_space_tab_and_cr_make_a_line_blank(line: str) -> None:
    assert _decode("1\n \t\r\n2") == [[1], [2]]
    with pytest.raises(InvalidPayloadError) as info:
        _decode(f"1\n{line}\n2")
    assert info.value.message.startswith("JSON Lines line 2: body is not valid JSON: ")


def test_message_of_a_body_of_blank_lines() -> None:
    with pytest.raises(InvalidPayloadError) as info:
        _decode(" \n\r\n\t")
    assert info.value.message == "the JSON Lines body has no line: it holds no inference"
