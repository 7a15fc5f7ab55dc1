"""Public corpora through the whole reader: JSONTestSuite, csv-spectrum, naughty strings.

The corpora are read from ``../shared/corpora`` through ``shared_path`` (never copied into the
repository). What each case must give, and why, is written down in ``docs/corpora.md``; the
tables below are the executable form of that document.
"""

from __future__ import annotations

import base64
import csv
import functools
import io
import json
import re
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson
import pytest

from arthur_capture import (
    CaptureReader,
    CaptureResult,
    DecoderRegistry,
    InferenceRecord,
    Reason,
    Reject,
)
from arthur_capture.decoders import LAYOUT_NAMES, default_registry
from arthur_capture.decoders.text_csv import CSVDecoder
from tests.conftest import shared_path

if TYPE_CHECKING:
    from arthur_capture import Inference

EVENT_ID = "5b4a1a8e-2f0c-4d7e-9a51-0c6f3e2d1b90"
INFERENCE_TIME = "2024-01-19T19:27:57Z"

# --------------------------------------------------------------------------------------------
# Helpers shared by every corpus
# --------------------------------------------------------------------------------------------


def side(data: str, encoding: str, content_type: str | None, mode: str) -> dict[str, Any]:
    """One captured side, SageMaker style."""
    out: dict[str, Any] = {"mode": mode, "data": data, "encoding": encoding}
    if content_type is not None:
        out["observedContentType"] = content_type
    return out


def capture_line(
    *,
    request: dict[str, Any] | None = None,
    response: dict[str, Any] | None = None,
    event_id: str = EVENT_ID,
    inference_id: str | None = None,
) -> bytes:
    """A capture line (no newline) holding the given sides; raw UTF-8, not ASCII-escaped."""
    capture: dict[str, Any] = {}
    if request is not None:
        capture["endpointInput"] = request
    if response is not None:
        capture["endpointOutput"] = response
    metadata: dict[str, Any] = {"eventId": event_id}
    if inference_id is not None:
        metadata["inferenceId"] = inference_id
    metadata["inferenceTime"] = INFERENCE_TIME
    event = {"captureData": capture, "eventMetadata": metadata, "eventVersion": "0"}
    return json.dumps(event, ensure_ascii=False).encode("utf-8")


def request_side(data: str, encoding: str, content_type: str | None) -> dict[str, Any]:
    return side(data, encoding, content_type, "INPUT")


def response_side(data: str, encoding: str, content_type: str | None) -> dict[str, Any]:
    return side(data, encoding, content_type, "OUTPUT")


def read_lines(reader: CaptureReader, lines: list[bytes]) -> CaptureResult:
    """Read ``lines`` as one stream (``\\n``-terminated) and check the ledger accounts for all."""
    result = reader.read(b"".join(line + b"\n" for line in lines))
    check_ledger(result, len(lines))
    return result


def check_ledger(result: CaptureResult, lines: int) -> None:
    """The ledger balances, matches what came out, and every reject carries a reason code."""
    ledger = result.ledger
    assert ledger.balanced
    assert ledger.lines == lines
    assert ledger.lines == ledger.blank_lines + ledger.events + ledger.rejected_lines
    assert ledger.records == len(result.records)
    assert ledger.rejected_lines == sum(1 for r in result.rejects if r.index is None)
    assert ledger.rejected_inferences == sum(1 for r in result.rejects if r.index is not None)
    assert ledger.inferences == ledger.records + ledger.rejected_inferences
    assert ledger.rejects_by_reason == Counter(str(r.reason) for r in result.rejects)
    for reject in result.rejects:
        assert isinstance(reject.reason, Reason)
        assert reject.reason in set(Reason)
        assert reject.message


Outcome = list[InferenceRecord | Reject] | Reject
"""One line's outcome: one item per inference (a record, or a reject with ``index``), or
the line's own reject."""


def by_line(result: CaptureResult) -> dict[int, Outcome]:
    """Each line's outcome, by line number."""
    outcomes: dict[int, Outcome] = {}
    for reject in result.rejects:
        if reject.index is None:
            assert reject.line_number not in outcomes
            outcomes[reject.line_number] = reject
    items: list[InferenceRecord | Reject] = [r for r in result.rejects if r.index is not None]
    items.extend(result.records)
    for item in items:
        number = item.line_number
        got = outcomes.setdefault(number, [])
        assert isinstance(got, list)
        got.append(item)
    for got in outcomes.values():
        if isinstance(got, list):
            got.sort(key=lambda item: item.index if item.index is not None else -1)
    return outcomes


def records_of(outcome: Outcome | None) -> list[InferenceRecord]:
    """The records of a line that must have emitted every inference."""
    assert isinstance(outcome, list), outcome
    records = [item for item in outcome if not isinstance(item, Reject)]
    assert len(records) == len(outcome), outcome
    return records


def typed(value: Any) -> Any:
    """A form of ``value`` where ``1``, ``1.0``, ``True``, ``0.0`` and ``-0.0`` all differ."""
    if isinstance(value, dict):
        return [(key, typed(item)) for key, item in value.items()]
    if isinstance(value, list):
        return [typed(item) for item in value]
    if isinstance(value, float):
        return ("float", repr(value))
    return (type(value).__name__, value)


def named(inference: Inference, prefix: str) -> dict[str, Any]:
    """Name an inference the way ``expand`` documents it (``input_0``…, ``output_0``…)."""
    if isinstance(inference, dict):
        return inference
    return {f"{prefix}{i}": value for i, value in enumerate(inference)}


def csv_row(*fields: str) -> str:
    """One CSV record exactly as ``csv.writer`` writes it (minimal quoting, CRLF)."""
    buffer = io.StringIO(newline="")
    csv.writer(buffer).writerow(fields)
    return buffer.getvalue()


def registry_with(decoder: CSVDecoder) -> DecoderRegistry:
    """The default registry with ``decoder`` in place of the built-in CSV decoder."""
    registry = default_registry()
    registry.register(decoder, replace=True)
    return registry


# --------------------------------------------------------------------------------------------
# 1. JSONTestSuite
# --------------------------------------------------------------------------------------------

JSON_SUITE = ("corpora", "JSONTestSuite", "test_parsing")

# Rule labels; docs/corpora.md explains each one.
D1 = "D1 list: one inference per element (items I4/I5/I6)"
D4 = "D4 flat object: one name -> value inference"
D5 = "D5 scalar document: one inference with one value"
DUPLICATE = "D4, duplicate key: the last value wins (orjson)"
EMPTY = "empty list or object: holds no inference"
EMPTY_COLUMNS = "D3 column-oriented with empty lists: holds no inference"
UNDERFLOW = "number that underflows: 0.0"
BIG_INT = "integer beyond 64 bits: an exact int"
OVERFLOW = "number that overflows to infinity: null, counted (non_finite_values)"
SURROGATE = "lone or mismatched surrogate escape: refused by the parser"
NOT_UTF8 = "bytes that are not UTF-8 (latin-1, UTF-16, overlong, surrogate, >U+10FFFF): refused"
BOM = "UTF-8 BOM before the document: refused"
DEPTH = "nesting past max_depth (32): refused by our depth check"
N_CASE = "n_ case: not JSON, refused by the parser"
NON_FINITE = "n_ case NaN, Infinity, -Infinity (as json.dumps writes them): null, counted"

NOT_JSON = "body is not valid JSON"
POLTORA_ZEMLEKOPA = (
    "\u041f\u043e\u043b\u0442\u043e\u0440\u0430 "
    "\u0417\u0435\u043c\u043b\u0435\u043a\u043e\u043f\u0430"
)


@dataclass(frozen=True, slots=True)
class Accepted:
    """The payload gives these inferences (before naming); the file as a line gives ``line``."""

    rule: str
    rows: tuple[Inference, ...]
    line: Reason = Reason.INVALID_EVENT


@dataclass(frozen=True, slots=True)
class Refused:
    """The payload is rejected with ``reason`` and ``fragment`` in the message."""

    rule: str
    fragment: str
    line: Reason = Reason.INVALID_EVENT
    reason: Reason = Reason.INVALID_PAYLOAD


Expected = Accepted | Refused


def ok(rule: str, *rows: Inference, line: Reason = Reason.INVALID_EVENT) -> Accepted:
    return Accepted(rule, rows, line)


def no(
    rule: str,
    fragment: str,
    line: Reason = Reason.INVALID_EVENT,
    reason: Reason = Reason.INVALID_PAYLOAD,
) -> Refused:
    return Refused(rule, fragment, line, reason)


# Every y_ and i_ case: its outcome as a payload (ways a and b) and as a whole line (way c).
# Values are what the decoder returns; the test names them input_N / output_N by side.
JSON_SUITE_RULES: dict[str, Expected] = {
    # y_: must be accepted by a JSON parser. We accept 91 and refuse 4 by our shape rules.
    "y_array_arraysWithSpaces.json": ok(D1, []),
    "y_array_empty-string.json": ok(D1, [""]),
    "y_array_empty.json": no(EMPTY, "the JSON array is empty: it holds no inference"),
    "y_array_ending_with_newline.json": ok(D1, ["a"]),
    "y_array_false.json": ok(D1, [False]),
    "y_array_heterogeneous.json": ok(D1, [None], [1], ["1"], {}),
    "y_array_null.json": ok(D1, [None]),
    "y_array_with_1_and_newline.json": ok(D1, [1]),
    "y_array_with_leading_space.json": ok(D1, [1]),
    "y_array_with_several_null.json": ok(D1, [1], [None], [None], [None], [2]),
    "y_array_with_trailing_space.json": ok(D1, [2]),
    "y_number.json": ok(D1, [1.23e67]),
    "y_number_0e+1.json": ok(D1, [0.0]),
    "y_number_0e1.json": ok(D1, [0.0]),
    "y_number_after_space.json": ok(D1, [4]),
    "y_number_double_close_to_zero.json": ok(D1, [-1e-78]),
    "y_number_int_with_exp.json": ok(D1, [200.0]),
    "y_number_minus_zero.json": ok(D1, [0]),
    "y_number_negative_int.json": ok(D1, [-123]),
    "y_number_negative_one.json": ok(D1, [-1]),
    "y_number_negative_zero.json": ok(D1, [0]),
    "y_number_real_capital_e.json": ok(D1, [1e22]),
    "y_number_real_capital_e_neg_exp.json": ok(D1, [0.01]),
    "y_number_real_capital_e_pos_exp.json": ok(D1, [100.0]),
    "y_number_real_exponent.json": ok(D1, [1.23e47]),
    "y_number_real_fraction_exponent.json": ok(D1, [1.23456e80]),
    "y_number_real_neg_exp.json": ok(D1, [0.01]),
    "y_number_real_pos_exponent.json": ok(D1, [100.0]),
    "y_number_simple_int.json": ok(D1, [123]),
    "y_number_simple_real.json": ok(D1, [123.456789]),
    "y_object.json": ok(D4, {"asd": "sdf", "dfg": "fgh"}),
    "y_object_basic.json": ok(D4, {"asd": "sdf"}),
    "y_object_duplicated_key.json": ok(DUPLICATE, {"a": "c"}),
    "y_object_duplicated_key_and_value.json": ok(DUPLICATE, {"a": "b"}),
    "y_object_empty.json": no(EMPTY, "the JSON object is empty: it holds no inference"),
    "y_object_empty_key.json": ok(D4, {"": 0}),
    "y_object_escaped_null_in_key.json": ok(D4, {"foo\x00bar": 42}),
    "y_object_extreme_numbers.json": ok(D4, {"min": -1e28, "max": 1e28}),
    "y_object_long_strings.json": ok(D4, {"x": [{"id": "x" * 40}], "id": "x" * 40}),
    "y_object_simple.json": no(EMPTY_COLUMNS, "column-oriented object has empty lists"),
    "y_object_string_unicode.json": ok(D4, {"title": POLTORA_ZEMLEKOPA}),
    "y_object_with_newlines.json": ok(D4, {"a": "b"}),
    "y_string_1_2_3_bytes_UTF-8_sequences.json": ok(D1, ["`\u012a\u12ab"]),
    "y_string_accepted_surrogate_pair.json": ok(D1, ["\U00010437"]),
    "y_string_accepted_surrogate_pairs.json": ok(D1, ["\U0001f639\U0001f48d"]),
    "y_string_allowed_escapes.json": ok(D1, ['"\\/\b\f\n\r\t']),
    "y_string_backslash_and_u_escaped_zero.json": ok(D1, ["\\u0000"]),
    "y_string_backslash_doublequotes.json": ok(D1, ['"']),
    "y_string_comments.json": ok(D1, ["a/*b*/c/*d//e"]),
    "y_string_double_escape_a.json": ok(D1, ["\\a"]),
    "y_string_double_escape_n.json": ok(D1, ["\\n"]),
    "y_string_escaped_control_character.json": ok(D1, ["\x12"]),
    "y_string_escaped_noncharacter.json": ok(D1, ["\uffff"]),
    "y_string_in_array.json": ok(D1, ["asd"]),
    "y_string_in_array_with_leading_space.json": ok(D1, ["asd"]),
    "y_string_last_surrogates_1_and_2.json": ok(D1, ["\U0010ffff"]),
    "y_string_nbsp_uescaped.json": ok(D1, ["new\xa0line"]),
    "y_string_nonCharacterInUTF-8_U+10FFFF.json": ok(D1, ["\U0010ffff"]),
    "y_string_nonCharacterInUTF-8_U+FFFF.json": ok(D1, ["\uffff"]),
    "y_string_null_escape.json": ok(D1, ["\x00"]),
    "y_string_one-byte-utf-8.json": ok(D1, [","]),
    "y_string_pi.json": ok(D1, ["\u03c0"]),
    "y_string_reservedCharacterInUTF-8_U+1BFFF.json": ok(D1, ["\U0001bfff"]),
    "y_string_simple_ascii.json": ok(D1, ["asd "]),
    "y_string_space.json": ok(D5, [" "]),
    "y_string_surrogates_U+1D11E_MUSICAL_SYMBOL_G_CLEF.json": ok(D1, ["\U0001d11e"]),
    "y_string_three-byte-utf-8.json": ok(D1, ["\u0821"]),
    "y_string_two-byte-utf-8.json": ok(D1, ["\u0123"]),
    "y_string_u+2028_line_sep.json": ok(D1, ["\u2028"]),
    "y_string_u+2029_par_sep.json": ok(D1, ["\u2029"]),
    "y_string_uEscape.json": ok(D1, ["a\u30af\u30ea\u30b9"]),
    "y_string_uescaped_newline.json": ok(D1, ["new\nline"]),
    "y_string_unescaped_char_delete.json": ok(D1, ["\x7f"]),
    "y_string_unicode.json": ok(D1, ["\ua66d"]),
    "y_string_unicodeEscapedBackslash.json": ok(D1, ["\\"]),
    "y_string_unicode_2.json": ok(D1, ["\u2342\u3234\u2342"]),
    "y_string_unicode_U+10FFFE_nonchar.json": ok(D1, ["\U0010fffe"]),
    "y_string_unicode_U+1FFFE_nonchar.json": ok(D1, ["\U0001fffe"]),
    "y_string_unicode_U+200B_ZERO_WIDTH_SPACE.json": ok(D1, ["\u200b"]),
    "y_string_unicode_U+2064_invisible_plus.json": ok(D1, ["\u2064"]),
    "y_string_unicode_U+FDD0_nonchar.json": ok(D1, ["\ufdd0"]),
    "y_string_unicode_U+FFFE_nonchar.json": ok(D1, ["\ufffe"]),
    "y_string_unicode_escaped_double_quote.json": ok(D1, ['"']),
    "y_string_utf8.json": ok(D1, ["\u20ac\U0001d11e"]),
    "y_string_with_del_character.json": ok(D1, ["a\x7fa"]),
    "y_structure_lonely_false.json": ok(D5, [False]),
    "y_structure_lonely_int.json": ok(D5, [42]),
    "y_structure_lonely_negative_real.json": ok(D5, [-0.1]),
    "y_structure_lonely_null.json": ok(D5, [None]),
    "y_structure_lonely_string.json": ok(D5, ["asd"]),
    "y_structure_lonely_true.json": ok(D5, [True]),
    "y_structure_string_empty.json": ok(D5, [""]),
    "y_structure_trailing_newline.json": ok(D1, ["a"]),
    "y_structure_true_in_array.json": ok(D1, [True]),
    "y_structure_whitespace_array.json": no(
        EMPTY, "the JSON array is empty: it holds no inference"
    ),
    # i_: implementation-defined. Numbers: all accepted; those overflowing to infinity are
    # null (and counted), integers beyond 64 bits exact.
    "i_number_double_huge_neg_exp.json": ok(UNDERFLOW, [0.0]),
    "i_number_huge_exp.json": ok(OVERFLOW, [None]),
    "i_number_neg_int_huge_exp.json": ok(OVERFLOW, [None]),
    "i_number_pos_double_huge_exp.json": ok(OVERFLOW, [None]),
    "i_number_real_neg_overflow.json": ok(OVERFLOW, [None]),
    "i_number_real_pos_overflow.json": ok(OVERFLOW, [None]),
    "i_number_real_underflow.json": ok(UNDERFLOW, [0.0]),
    "i_number_too_big_neg_int.json": ok(BIG_INT, [-123123123123123123123123123123]),
    "i_number_too_big_pos_int.json": ok(BIG_INT, [100000000000000000000]),
    "i_number_very_big_negative_int.json": ok(
        BIG_INT, [-237462374673276894279832749832423479823246327846]
    ),
    # i_: lone surrogate escapes are refused (they cannot be written out as UTF-8).
    "i_object_key_lone_2nd_surrogate.json": no(SURROGATE, NOT_JSON, Reason.INVALID_JSON),
    "i_string_1st_surrogate_but_2nd_missing.json": no(SURROGATE, NOT_JSON, Reason.INVALID_JSON),
    "i_string_1st_valid_surrogate_2nd_invalid.json": no(SURROGATE, NOT_JSON, Reason.INVALID_JSON),
    "i_string_incomplete_surrogate_and_escape_valid.json": no(
        SURROGATE, NOT_JSON, Reason.INVALID_JSON
    ),
    "i_string_incomplete_surrogate_pair.json": no(SURROGATE, NOT_JSON, Reason.INVALID_JSON),
    "i_string_incomplete_surrogates_escape_valid.json": no(
        SURROGATE, NOT_JSON, Reason.INVALID_JSON
    ),
    "i_string_invalid_lonely_surrogate.json": no(SURROGATE, NOT_JSON, Reason.INVALID_JSON),
    "i_string_invalid_surrogate.json": no(SURROGATE, NOT_JSON, Reason.INVALID_JSON),
    "i_string_inverted_surrogates_U+1D11E.json": no(SURROGATE, NOT_JSON, Reason.INVALID_JSON),
    "i_string_lone_second_surrogate.json": no(SURROGATE, NOT_JSON, Reason.INVALID_JSON),
    # i_: bytes that are not UTF-8 (only way b can carry them as a payload).
    "i_string_UTF-16LE_with_BOM.json": no(NOT_UTF8, NOT_JSON, Reason.INVALID_UTF8),
    "i_string_UTF-8_invalid_sequence.json": no(NOT_UTF8, NOT_JSON, Reason.INVALID_UTF8),
    "i_string_UTF8_surrogate_U+D800.json": no(NOT_UTF8, NOT_JSON, Reason.INVALID_UTF8),
    "i_string_invalid_utf-8.json": no(NOT_UTF8, NOT_JSON, Reason.INVALID_UTF8),
    "i_string_iso_latin_1.json": no(NOT_UTF8, NOT_JSON, Reason.INVALID_UTF8),
    "i_string_lone_utf8_continuation_byte.json": no(NOT_UTF8, NOT_JSON, Reason.INVALID_UTF8),
    "i_string_not_in_unicode_range.json": no(NOT_UTF8, NOT_JSON, Reason.INVALID_UTF8),
    "i_string_overlong_sequence_2_bytes.json": no(NOT_UTF8, NOT_JSON, Reason.INVALID_UTF8),
    "i_string_overlong_sequence_6_bytes.json": no(NOT_UTF8, NOT_JSON, Reason.INVALID_UTF8),
    "i_string_overlong_sequence_6_bytes_null.json": no(NOT_UTF8, NOT_JSON, Reason.INVALID_UTF8),
    "i_string_truncated-utf-8.json": no(NOT_UTF8, NOT_JSON, Reason.INVALID_UTF8),
    "i_string_utf16BE_no_BOM.json": no(NOT_UTF8, NOT_JSON, Reason.INVALID_UTF8),
    "i_string_utf16LE_no_BOM.json": no(NOT_UTF8, NOT_JSON, Reason.INVALID_UTF8),
    # i_: structure.
    "i_structure_500_nested_arrays.json": no(
        DEPTH, "nests deeper than the limit", Reason.NESTING_TOO_DEEP, Reason.NESTING_TOO_DEEP
    ),
    "i_structure_UTF-8_BOM_empty_object.json": no(BOM, NOT_JSON, Reason.INVALID_UTF8),
}

N_CASE_EXPECTED = no(N_CASE, NOT_JSON)
# Past orjson's own depth limit (1024): refused by the parser, with the depth reason.
N_TOO_DEEP_EXPECTED = no(N_CASE, NOT_JSON, reason=Reason.NESTING_TOO_DEEP)

# The three n_ cases the line parser (pydantic's JSON parser) reads as numbers; they are then
# refused as not being capture events. Inside a payload they are read as null and counted
# (non_finite_values), as Python's json.dumps writes them; reject_non_finite refuses them.
N_NON_FINITE = frozenset(
    {
        "n_number_NaN.json",
        "n_number_infinity.json",
        "n_number_minus_infinity.json",
    }
)
N_NON_FINITE_EXPECTED = ok(NON_FINITE, [None])
N_TOO_DEEP = frozenset(
    {
        "n_structure_100000_opening_arrays.json",
        "n_structure_open_array_object.json",
    }
)
N_LINE_REASONS = frozenset(
    {
        Reason.INVALID_JSON,
        Reason.INVALID_UTF8,
        Reason.NESTING_TOO_DEEP,
        Reason.INVALID_EVENT,
        Reason.TRUNCATED_LINE,
    }
)

BOM_BYTES = b"\xef\xbb\xbf"

NOT_FED = "not fed: not UTF-8, way (b) only"

# Per group (y/n/i) and outcome, for every one of the 318 files; docs/corpora.md shows them.
PAYLOAD_COUNTS: dict[str, dict[tuple[str, str], int]] = {
    "json": {
        ("y", "accepted"): 91,
        ("y", "invalid_payload"): 4,
        ("n", "accepted"): 3,
        ("n", "invalid_payload"): 171,
        ("n", "nesting_too_deep"): 2,
        ("n", NOT_FED): 12,
        ("i", "accepted"): 10,
        ("i", "invalid_payload"): 11,
        ("i", "nesting_too_deep"): 1,
        ("i", NOT_FED): 13,
    },
    "base64": {
        ("y", "accepted"): 91,
        ("y", "invalid_payload"): 4,
        ("n", "accepted"): 3,
        ("n", "invalid_payload"): 183,
        ("n", "nesting_too_deep"): 2,
        ("i", "accepted"): 10,
        ("i", "invalid_payload"): 24,
        ("i", "nesting_too_deep"): 1,
    },
}
LINE_COUNTS: dict[tuple[str, str], int] = {
    ("y", "invalid_event"): 95,
    ("n", "invalid_json"): 139,
    ("n", "truncated_line"): 31,
    ("n", "invalid_utf8"): 13,
    ("n", "invalid_event"): 3,
    ("n", "nesting_too_deep"): 2,
    ("i", "invalid_event"): 10,
    ("i", "invalid_json"): 10,
    ("i", "invalid_utf8"): 14,
    ("i", "nesting_too_deep"): 1,
}


@functools.cache
def suite_files() -> tuple[tuple[str, bytes], ...]:
    directory = shared_path(*JSON_SUITE)
    return tuple((path.name, path.read_bytes()) for path in sorted(directory.glob("*.json")))


def is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def expected_for(name: str) -> Expected:
    if name in N_TOO_DEEP:
        return N_TOO_DEEP_EXPECTED
    if name in N_NON_FINITE:
        return N_NON_FINITE_EXPECTED
    return N_CASE_EXPECTED if name.startswith("n_") else JSON_SUITE_RULES[name]


def payload_side(raw: bytes, way: str, key: str) -> dict[str, Any] | None:
    """The file as one side: (a) ``JSON`` text, (b) ``BASE64`` bytes; ``None`` if (a) can't."""
    mode = "INPUT" if key == "request" else "OUTPUT"
    if way == "json":
        if not is_utf8(raw):
            return None
        return side(raw.decode("utf-8"), "JSON", "application/json", mode)
    return side(base64.b64encode(raw).decode("ascii"), "BASE64", "application/json", mode)


@functools.cache
def payload_outcomes(way: str, key: str) -> tuple[dict[str, Outcome | None], CaptureResult]:
    """Every file as a payload, all in one stream; the outcome per file (``None``: not fed)."""
    lines: list[bytes] = []
    fed: list[str] = []
    outcomes: dict[str, Outcome | None] = {}
    for name, raw in suite_files():
        payload = payload_side(raw, way, key)
        if payload is None:
            outcomes[name] = None
            continue
        lines.append(
            capture_line(
                request=payload if key == "request" else None,
                response=payload if key == "response" else None,
                event_id=f"jsts-{name}",
            )
        )
        fed.append(name)
    result = read_lines(CaptureReader(), lines)
    got = by_line(result)
    for number, name in enumerate(fed, start=1):
        outcomes[name] = got[number]
    return outcomes, result


def mismatch(name: str, outcome: Outcome, prefix: str) -> str | None:
    """Why ``outcome`` differs from the table's for ``name`` (``None`` when it matches)."""
    expected = expected_for(name)
    if isinstance(expected, Refused):
        if not isinstance(outcome, Reject):
            return f"accepted {outcome!r}"
        if outcome.reason is not expected.reason or expected.fragment not in outcome.message:
            return f"{outcome.reason}: {outcome.message}"
        if outcome.event_id != f"jsts-{name}" or outcome.index is not None:
            return f"reject has the wrong coordinates: {outcome!r}"
        return None
    if isinstance(outcome, Reject):
        return f"rejected {outcome.reason}: {outcome.message}"
    if any(isinstance(item, Reject) for item in outcome):
        return f"an inference was rejected: {outcome!r}"
    got = records_of(outcome)
    rows = [named(row, prefix) for row in expected.rows]
    values = [dict(r.inputs) if prefix == "input_" else dict(r.outputs) for r in got]
    others = [r.outputs if prefix == "input_" else r.inputs for r in got]
    if typed(values) != typed(rows) or any(others):
        return f"got {values!r}, expected {rows!r}"
    base = f"jsts-{name}"
    ids = [base] if len(rows) == 1 else [f"{base}_{i}" for i in range(len(rows))]
    if [r.partner_inference_id for r in got] != ids:
        return f"partner IDs {[r.partner_inference_id for r in got]!r}"
    return None


def test_json_suite_table_covers_every_y_and_i_case() -> None:
    names = [name for name, _ in suite_files()]
    assert len(names) == 318
    assert Counter(name[:2] for name in names) == {"y_": 95, "n_": 188, "i_": 35}
    assert sorted(JSON_SUITE_RULES) == sorted(n for n in names if not n.startswith("n_"))
    assert set(names) >= N_NON_FINITE | N_TOO_DEEP


@pytest.mark.parametrize("key", ["request", "response"])
@pytest.mark.parametrize("way", ["json", "base64"])
def test_json_suite_as_payloads(way: str, key: str) -> None:
    """Ways (a) and (b): every file as the ``data`` of one side, per the table."""
    outcomes, result = payload_outcomes(way, key)
    prefix = "input_" if key == "request" else "output_"
    failures: list[str] = []
    for name, raw in suite_files():
        got = outcomes[name]
        if got is None:
            assert way == "json"
            assert not is_utf8(raw), name
            continue
        problem = mismatch(name, got, prefix)
        if problem is not None:
            failures.append(f"{name}: {problem}")
    assert failures == []
    # Payload problems are refused per line, never as another reason, and never silently.
    assert set(result.ledger.rejects_by_reason) == {"invalid_payload", "nesting_too_deep"}
    assert result.ledger.rejected_inferences == 0
    assert result.ledger.blank_lines == 0
    # One non-finite number in each of the 3 n_ and 5 i_ files read as null.
    assert result.ledger.non_finite_values == len(N_NON_FINITE) + 5


@pytest.mark.parametrize("way", ["json", "base64"])
def test_json_suite_payload_counts(way: str) -> None:
    """Per group and outcome, all 318 files are accounted for, on either side."""
    tallies: list[Counter[tuple[str, str]]] = []
    for key in ("request", "response"):
        outcomes, _ = payload_outcomes(way, key)
        tally: Counter[tuple[str, str]] = Counter()
        for name, got in outcomes.items():
            if got is None:
                label = NOT_FED
            elif isinstance(got, Reject):
                label = str(got.reason)
            else:
                label = "accepted"
            tally[name[0], label] += 1
        tallies.append(tally)
    request, response = tallies
    print(f"JSONTestSuite as payloads, way {way}: {sorted(request.items())}")
    assert request == response
    assert request.total() == 318
    assert dict(request) == PAYLOAD_COUNTS[way]


def test_json_suite_files_as_lines() -> None:
    """Way (c): each file's raw bytes as a whole capture line. Nothing is ever accepted."""
    reader = CaptureReader()
    tally: Counter[tuple[str, str]] = Counter()
    failures: list[str] = []
    for name, raw in suite_files():
        # The file is a stream's last line, with no newline after it.
        got = reader.read_line(raw, source=name, terminated=False)
        assert isinstance(got, Reject), name
        assert got.raw == raw
        assert got.event_id is None
        assert got.index is None
        tally[name[0], str(got.reason)] += 1
        if name.startswith("y_"):
            expected: Reason | frozenset[Reason] = Reason.INVALID_EVENT
        elif name.startswith("i_"):
            expected = JSON_SUITE_RULES[name].line
        elif name in N_NON_FINITE:
            expected = Reason.INVALID_EVENT
        elif name in N_TOO_DEEP:
            expected = Reason.NESTING_TOO_DEEP
        elif not is_utf8(raw) or raw.startswith(BOM_BYTES):
            expected = Reason.INVALID_UTF8
        else:
            expected = N_LINE_REASONS - {Reason.INVALID_UTF8, Reason.NESTING_TOO_DEEP}
        if got.reason not in (expected if isinstance(expected, frozenset) else {expected}):
            failures.append(f"{name}: {got.reason}: {got.message}")
        # The same bytes followed by a newline: a cut-off value is then plain invalid JSON.
        terminated = reader.read_line(raw, source=name, terminated=True)
        assert isinstance(terminated, Reject), name
        if got.reason is Reason.TRUNCATED_LINE:
            assert is_utf8(raw), name
            assert terminated.reason is Reason.INVALID_JSON, name
        else:
            assert terminated.reason is got.reason, name
    assert failures == []
    print(f"JSONTestSuite as lines: {sorted(tally.items())}")
    assert tally.total() == 318
    assert dict(tally) == LINE_COUNTS


def test_json_suite_files_as_streams() -> None:
    """Way (c) through the stream reader: the file is split on ``\\n`` and every line counted."""
    reader = CaptureReader()
    for name, raw in suite_files():
        result = reader.read(raw)
        # A BOM at byte 0 of a source is skipped before lines are counted (like wc -l).
        body = raw.removeprefix(BOM_BYTES)
        lines = body.count(b"\n") + (1 if body and not body.endswith(b"\n") else 0)
        check_ledger(result, lines)
        assert result.records == [], name
        assert result.ledger.events == 0, name
        if name == "i_structure_UTF-8_BOM_empty_object.json":
            # A BOM at byte 0 of a source is skipped: what is left, {}, is not an event.
            assert [r.reason for r in result.rejects] == [Reason.INVALID_EVENT]
            assert result.rejects[0].offset == 3


def test_json_suite_n_cases_inside_a_valid_stream_are_isolated() -> None:
    """A refused payload never changes its neighbours: good lines around each stay intact."""
    good = capture_line(response=response_side("[0.5]", "JSON", "application/json"))
    lines: list[bytes] = []
    refused: list[int] = []  # line numbers of the n_ cases refused (all but the non-finite)
    for name, raw in suite_files():
        if name.startswith("n_") and is_utf8(raw):
            lines.extend([good, capture_line(response=response_side(raw.decode(), "JSON", None))])
            if name not in N_NON_FINITE:
                refused.append(len(lines))
    lines.append(good)
    result = read_lines(CaptureReader(), lines)
    assert len(result.rejects) == 173
    assert Counter(r.reason for r in result.rejects) == {
        Reason.INVALID_PAYLOAD: 171,
        Reason.NESTING_TOO_DEEP: 2,
    }
    assert [r.line_number for r in result.rejects] == refused
    assert len(refused) + len(N_NON_FINITE) == len(range(2, len(lines), 2))
    outputs = [(r.line_number, dict(r.outputs)) for r in result.records]
    assert [o for n, o in outputs if n % 2] == [{"output_0": 0.5}] * 177
    assert [o for n, o in outputs if not n % 2] == [{"output_0": None}] * len(N_NON_FINITE)
    assert result.ledger.non_finite_values == len(N_NON_FINITE)


# --------------------------------------------------------------------------------------------
# 2. csv-spectrum
# --------------------------------------------------------------------------------------------

CSV_SPECTRUM_CASES = (
    "comma_in_quotes",
    "empty",
    "empty_crlf",
    "escaped_quotes",
    "json",
    "newlines",
    "newlines_crlf",
    "quotes_and_newlines",
    "simple",
    "simple_crlf",
    "utf8",
)


@functools.cache
def csv_spectrum() -> tuple[tuple[str, str, list[dict[str, str]]], ...]:
    """``(name, csv text, expected rows)`` for each case."""
    root = shared_path("corpora", "csv-spectrum")
    assert sorted(p.stem for p in (root / "csvs").glob("*.csv")) == list(CSV_SPECTRUM_CASES)
    cases = []
    for name in CSV_SPECTRUM_CASES:
        text = (root / "csvs" / f"{name}.csv").read_bytes().decode("utf-8")
        expected = json.loads((root / "json" / f"{name}.json").read_text(encoding="utf-8"))
        assert isinstance(expected, list)
        cases.append((name, text, expected))
    return tuple(cases)


def csv_lines(texts: list[str]) -> list[bytes]:
    return [
        capture_line(request=request_side(text, "CSV", "text/csv"), event_id=f"csv-{i}")
        for i, text in enumerate(texts)
    ]


def test_csv_spectrum_with_header_decoder_matches_the_json() -> None:
    cases = csv_spectrum()
    reader = CaptureReader(registry=registry_with(CSVDecoder(header=True, infer_types=False)))
    result = read_lines(reader, csv_lines([text for _, text, _ in cases]))
    assert result.rejects == []
    got = by_line(result)
    for number, (name, _, expected) in enumerate(cases, start=1):
        records = records_of(got[number])
        assert [dict(r.inputs) for r in records] == expected, name
        assert all(not r.outputs for r in records), name
        base = f"csv-{number - 1}"
        ids = [base] if len(expected) == 1 else [f"{base}_{i}" for i in range(len(expected))]
        assert [r.partner_inference_id for r in records] == ids, name
    # quotes_and_newlines: 5 physical lines, 2 records plus the header.
    assert result.ledger.records == sum(len(expected) for _, _, expected in cases) == 20


def test_csv_spectrum_with_default_typed_decoder() -> None:
    """No header: row 0 is data; JSON-number fields become numbers, empty fields None."""
    cases = csv_spectrum()
    result = read_lines(CaptureReader(), csv_lines([text for _, text, _ in cases]))
    assert result.rejects == []
    got = by_line(result)
    rows: dict[str, list[dict[str, Any]]] = {}
    for number, (name, _, expected) in enumerate(cases, start=1):
        records = records_of(got[number])
        assert len(records) == len(expected) + 1, name  # the header row is kept as data
        rows[name] = [dict(r.inputs) for r in records]
    assert typed(rows["simple"]) == typed(
        [
            {"input_0": "a", "input_1": "b", "input_2": "c"},
            {"input_0": 1, "input_1": 2, "input_2": 3},
        ]
    )
    assert rows["simple_crlf"] == rows["simple"]
    # A leading zero is not a JSON number: the ZIP code stays a string.
    assert typed(rows["comma_in_quotes"][1]) == typed(
        {
            "input_0": "John",
            "input_1": "Doe",
            "input_2": "120 any st.",
            "input_3": "Anytown, WW",
            "input_4": "08123",
        }
    )
    # A quoted empty field and an unquoted one are both None.
    assert typed(rows["empty"][1:]) == typed(
        [
            {"input_0": 1, "input_1": None, "input_2": None},
            {"input_0": 2, "input_1": 3, "input_2": 4},
        ]
    )
    assert rows["empty_crlf"] == rows["empty"]
    assert typed(rows["newlines_crlf"][2]) == typed(
        {
            "input_0": "Once upon \r\na time",
            "input_1": 5,
            "input_2": 6,
        }
    )
    assert typed(rows["json"][1]) == typed(
        {
            "input_0": 1,
            "input_1": '{"type": "Point", "coordinates": [102.0, 0.5]}',
        }
    )
    assert rows["utf8"][2] == {"input_0": 4, "input_1": 5, "input_2": "\u02a4"}


# Hand-written negatives (the corpus has none), each between two good lines.
CSV_NEGATIVES: tuple[tuple[str, str, str], ...] = (
    ("unterminated quote", 'a,"b\n1,2\n', "CSV syntax error near row"),
    ("unterminated quote at the end", '1,"2', "unexpected end of data"),
    ("text after a closing quote", '"a"b,c\n', "',' expected after '\"'"),
    ("text after a closing quote, later row", 'a,b\n1,"2"x\n', "',' expected after '\"'"),
    ("ragged rows: short", "1,2,3\n4,5\n", "CSV row 2 has 2 fields; expected 3"),
    ("ragged rows: long", "1,2\n3,4,5\n", "CSV row 2 has 3 fields; expected 2"),
    ("ragged rows: blank line between rows", "1,2\n\n3,4\n", "CSV row 2 has 1 fields"),
    ("empty body", "", "the CSV body is empty"),
    ("NUL character", "1,\x002\n", "NUL"),
)


@pytest.mark.parametrize(
    "decoder",
    [CSVDecoder(), CSVDecoder(header=True, infer_types=False)],
    ids=["typed", "header-untyped"],
)
def test_csv_negative_cases_are_invalid_payload(decoder: CSVDecoder) -> None:
    good = "h1,h2\n1,2\n"
    texts: list[str] = []
    for _, text, _ in CSV_NEGATIVES:
        texts.extend([good, text])
    texts.append(good)
    result = read_lines(CaptureReader(registry=registry_with(decoder)), csv_lines(texts))
    assert len(result.rejects) == len(CSV_NEGATIVES)
    for reject, (label, _, fragment) in zip(result.rejects, CSV_NEGATIVES, strict=True):
        assert reject.reason is Reason.INVALID_PAYLOAD, label
        assert fragment in reject.message, (label, reject.message)
    assert [r.line_number for r in result.rejects] == list(range(2, len(texts), 2))
    rows_per_good = 1 if decoder.header else 2
    assert len(result.records) == rows_per_good * (len(CSV_NEGATIVES) + 1)


def test_csv_header_mode_ragged_row_against_the_header() -> None:
    reader = CaptureReader(registry=registry_with(CSVDecoder(header=True, infer_types=False)))
    result = read_lines(reader, csv_lines(["a,b\n1,2,3\n", "a,a\n1,2\n", "a,\n1,2\n", "a,b\n"]))
    assert [(r.reason, r.message) for r in result.rejects] == [
        (Reason.INVALID_PAYLOAD, "CSV row 2 has 3 fields; expected 2"),
        (Reason.INVALID_PAYLOAD, "the CSV header repeats column name(s): a"),
        (Reason.INVALID_PAYLOAD, "the CSV header row has an empty column name"),
        (Reason.INVALID_PAYLOAD, "the CSV body has a header but no row: it holds no inference"),
    ]


def test_csv_quote_inside_an_unquoted_field_is_text() -> None:
    """RFC 4180 forbids it, Python's strict reader keeps it: documented as accepted."""
    result = read_lines(CaptureReader(), csv_lines(['a"b,c\n']))
    assert [dict(r.inputs) for r in result.records] == [{"input_0": 'a"b', "input_1": "c"}]


# --------------------------------------------------------------------------------------------
# 3. The big list of naughty strings
# --------------------------------------------------------------------------------------------

JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")

# The blns strings that are JSON number literals, and what the typed CSV decoder makes of them.
BLNS_NUMBERS: dict[str, int | float] = {
    "0": 0,
    "1": 1,
    "1.00": 1.0,
    "1E2": 100.0,
    "1E02": 100.0,
    "1E+02": 100.0,
    "-1": -1,
    "-1.00": -1.0,
    "-1E2": -100.0,
    "-1E02": -100.0,
    "-1E+02": -100.0,
    "-0": 0,
    "-0.0": -0.0,
    "0.00": 0.0,
    "9" * 96: 10**96 - 1,  # integers beyond 64 bits stay exact
    "123456789012345678901234567890123456789": 123456789012345678901234567890123456789,
    "2.2250738585072011e-308": 2.225073858507201e-308,
}


@functools.cache
def naughty_strings() -> tuple[str, ...]:
    data = json.loads(shared_path("corpora", "blns", "blns.json").read_text(encoding="utf-8"))
    assert isinstance(data, list)
    assert all(isinstance(s, str) for s in data)
    return tuple(data)


def documented_csv_value(field: str) -> Any:
    """docs/decoders.md §3: empty → None; a JSON number literal → the number it reads as.

    An integer literal is an exact ``int`` of any size; any other literal the float orjson reads.
    """
    if field == "":
        return None
    if JSON_NUMBER.fullmatch(field):
        if field.lstrip("-").isdigit():
            return int(field)
        try:
            return orjson.loads(field)
        except orjson.JSONDecodeError:
            return field  # overflows to infinity: stays a string
    return field


def test_blns_corpus_shape() -> None:
    strings = naughty_strings()
    assert len(strings) == 515
    assert {s: documented_csv_value(s) for s in strings if JSON_NUMBER.fullmatch(s)} == (
        BLNS_NUMBERS
    )
    assert typed([documented_csv_value(s) for s in BLNS_NUMBERS]) == typed(
        list(BLNS_NUMBERS.values())
    )


def test_blns_as_csv_fields_typed() -> None:
    strings = naughty_strings()
    lines = csv_lines([csv_row(s) for s in strings])
    result = read_lines(CaptureReader(), lines)
    assert result.rejects == []
    assert len(result.records) == len(strings)
    failures = [
        (s, record.inputs)
        for s, record in zip(strings, result.records, strict=True)
        if typed(dict(record.inputs)) != typed({"input_0": documented_csv_value(s)})
    ]
    assert failures == []
    kinds = Counter(type(r.inputs["input_0"]).__name__ for r in result.records)
    assert kinds == {"str": 497, "int": 6, "float": 11, "NoneType": 1}


def test_blns_as_csv_fields_untyped() -> None:
    """With ``infer_types=False`` every field, the empty one included, comes back as written."""
    strings = naughty_strings()
    reader = CaptureReader(registry=registry_with(CSVDecoder(infer_types=False)))
    lines = csv_lines([csv_row(s, s) for s in strings])
    result = read_lines(reader, lines)
    assert result.rejects == []
    assert [dict(r.inputs) for r in result.records] == [
        {"input_0": s, "input_1": s} for s in strings
    ]


def test_blns_as_json_values_and_names() -> None:
    strings = naughty_strings()
    lines = [
        capture_line(
            request=request_side(
                json.dumps({"text": s, "index": i}, ensure_ascii=False), "JSON", "application/json"
            ),
            response=response_side(json.dumps({s: i}), "JSON", "application/json"),
        )
        for i, s in enumerate(strings)
    ]
    result = read_lines(CaptureReader(), lines)
    assert not any(s in LAYOUT_NAMES or s in {"text", "index"} for s in strings)
    assert result.rejects == []
    assert [(dict(r.inputs), dict(r.outputs)) for r in result.records] == [
        ({"text": s, "index": i}, {s: i}) for i, s in enumerate(strings)
    ]


def test_blns_as_inference_ids() -> None:
    """The partner ID is the ``inferenceId``, with ``_i`` in a batch of 2.

    An empty ``inferenceId`` falls back to the ``eventId``; an ID over 255 characters is
    refused one inference at a time (``id_too_long``), never cut.
    """
    strings = naughty_strings()
    lines: list[bytes] = []
    for s in strings:
        lines.append(capture_line(request=request_side("1", "CSV", "text/csv"), inference_id=s))
        lines.append(
            capture_line(request=request_side("1\n2\n", "CSV", "text/csv"), inference_id=s)
        )
    result = read_lines(CaptureReader(), lines)
    got = by_line(result)
    too_long: list[str] = []
    for number, s in enumerate(strings):
        base = s or EVENT_ID
        single, batch = got[2 * number + 1], got[2 * number + 2]
        for outcome, ids in ((single, [base]), (batch, [f"{base}_0", f"{base}_1"])):
            assert isinstance(outcome, list)
            assert len(outcome) == len(ids)
            for index, (item, partner_id) in enumerate(zip(outcome, ids, strict=True)):
                if len(partner_id) > 255:
                    assert isinstance(item, Reject)
                    assert item.reason is Reason.ID_TOO_LONG
                    assert item.index == index
                    assert item.event_id == EVENT_ID
                    too_long.append(partner_id)
                    continue
                assert isinstance(item, InferenceRecord)
                assert item.partner_inference_id == partner_id
                assert item.inference_id == s
                assert item.index == index
                assert dict(item.inputs) == {"input_0": index + 1}
    # One blns string is 269 characters long: refused alone and in the batch.
    assert [len(partner_id) for partner_id in too_long] == [269, 271, 271]
    assert result.ledger.rejects_by_reason == {"id_too_long": 3}
    assert result.ledger.rejected_inferences == 3
    assert len(result.records) == 3 * len(strings) - 3
