"""``application/json``: the shape rules of ``_shapes`` and the JSONDecoder."""

from __future__ import annotations

import json
from typing import Any

import pytest

from arthur_capture import (
    CaptureReader,
    InvalidBase64Error,
    InvalidPayloadError,
    Lines,
    Payload,
    Reason,
    default_registry,
    parse_media_type,
)
from arthur_capture.decoders._shapes import (
    DEFAULT_MAX_DEPTH,
    LAYOUT_NAMES,
    Inferences,
    document_inferences,
    item,
)
from arthur_capture.decoders.application_json import JSONDecoder, loads_counted, loads_payload
from arthur_capture.records import SideDecoder
from tests.helpers import b64, captured_side


def _decode(text: str | bytes, content_type: str = "application/json", **kw: Any) -> Any:
    media_type, params = parse_media_type(content_type)
    return JSONDecoder(**kw).decode(Payload(text, media_type, params))


def _nested(depth: int) -> Any:
    """A value nesting ``depth`` levels: 0 is a scalar, 1 is ``[1]``, 2 is ``[[1]]``."""
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


# --- item ----------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["features", "probabilities"])
def test_item_single_column_key_gives_column_values(key: str) -> None:
    assert item({key: [1.5, "a", None]}) == [1.5, "a", None]


@pytest.mark.parametrize("key", ["features", "probabilities"])
def test_item_column_key_with_another_key_is_a_reserved_name(key: str) -> None:
    with pytest.raises(InvalidPayloadError, match=f"reserved name.*{key}"):
        item({key: [1, 2], "extra": 1})


def test_item_column_key_whose_value_is_not_a_list_is_a_reserved_name() -> None:
    with pytest.raises(InvalidPayloadError, match="reserved name"):
        item({"features": 5})


def test_item_dense_nested_features_give_column_values() -> None:
    assert item({"data": {"features": {"values": [1.5, 16.0, 14]}}}) == [1.5, 16.0, 14]


@pytest.mark.parametrize(
    "obj",
    [
        {"data": {"features": {"values": [1], "extra": 2}}},
        {"data": {"features": {"values": 1}}},
        {"data": {"features": [1, 2]}},
        {"data": {"features": {"values": [1]}, "label": 0}},
    ],
)
def test_item_other_data_objects_are_name_value_maps(obj: dict[str, Any]) -> None:
    assert item(obj) == obj


def test_item_data_beside_another_key_is_a_plain_map() -> None:
    obj = {"data": {"features": {"values": [1]}}, "id": 3}
    assert item(obj) == obj


@pytest.mark.parametrize(
    "features",
    [{"keys": [26, 182], "shape": [2000], "values": [1, 4]}, {"keys": [1], "values": [1]}],
)
def test_item_sparse_features_are_refused(features: dict[str, Any]) -> None:
    with pytest.raises(InvalidPayloadError, match="sparse features"):
        item({"data": {"features": features}})


def test_item_other_object_is_a_name_value_map() -> None:
    obj = {"score": 0.98, "predicted_label": 1, "nested": {"a": [1]}}
    result = item(obj)
    assert result == obj
    assert isinstance(result, dict)
    assert list(result) == ["score", "predicted_label", "nested"]


@pytest.mark.parametrize("name", sorted(LAYOUT_NAMES))
def test_item_map_with_reserved_name_is_refused(name: str) -> None:
    with pytest.raises(InvalidPayloadError, match=f"reserved name\\(s\\) {name}") as info:
        item({"score": 1, name: 2})
    assert info.value.reason is Reason.INVALID_PAYLOAD


def test_reserved_names_are_the_documented_ones() -> None:
    assert frozenset({"instances", "predictions", "features", "probabilities"}) == LAYOUT_NAMES


def test_item_reserved_names_are_case_sensitive() -> None:
    assert item({"Features": 1, "Instances": 2}) == {"Features": 1, "Instances": 2}


def test_item_list_gives_column_values() -> None:
    assert item([0.93, 0.07]) == [0.93, 0.07]
    assert item([]) == []


@pytest.mark.parametrize("scalar", [1, 2.5, "text", True, None])
def test_item_scalar_is_one_column_value(scalar: object) -> None:
    assert item(scalar) == [scalar]


def test_item_empty_object_is_an_empty_map() -> None:
    assert item({}) == {}


# --- document_inferences -----------------------------------------------------------------


def test_rule_1_list_one_inference_per_element() -> None:
    assert document_inferences([[0.93, 0.07], [0.2, 0.8]]) == [[0.93, 0.07], [0.2, 0.8]]
    assert document_inferences([0.0086]) == [[0.0086]]
    assert document_inferences([{"a": 1}, [2], 3]) == [{"a": 1}, [2], [3]]


def test_rule_1_empty_list_is_refused() -> None:
    with pytest.raises(InvalidPayloadError, match="empty"):
        document_inferences([])


def test_rule_1_elements_follow_the_item_rules() -> None:
    with pytest.raises(InvalidPayloadError, match="reserved"):
        document_inferences([{"features": [1], "x": 2}])


@pytest.mark.parametrize("key", ["instances", "predictions"])
def test_rule_2_wrapper_key_one_inference_per_element(key: str) -> None:
    doc = {key: [{"features": [28, 2]}, {"score": 0.4, "predicted_label": 0}, [1, 2], 5]}
    assert document_inferences(doc) == [[28, 2], {"score": 0.4, "predicted_label": 0}, [1, 2], [5]]


@pytest.mark.parametrize("key", ["instances", "predictions"])
def test_rule_2_wrapper_key_with_an_empty_list_is_refused(key: str) -> None:
    with pytest.raises(InvalidPayloadError, match=f"'{key}' is an empty list"):
        document_inferences({key: []})


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        ({"scores": [{"score": 0.02}, {"score": 0.25}]}, [{"score": 0.02}, {"score": 0.25}]),
        ({"projections": [{"projection": [1.0, 2.0]}]}, [{"projection": [1.0, 2.0]}]),
        ({"outputs": [[1, 2], [3, 4]]}, [[1, 2], [3, 4]]),
    ],
)
def test_rule_2_other_key_whose_elements_are_objects_or_lists(
    doc: dict[str, Any], expected: list[Any]
) -> None:
    assert document_inferences(doc) == expected


def test_rule_2_other_key_with_scalar_elements_is_column_oriented_instead() -> None:
    assert document_inferences({"scores": [0.1, 0.2]}) == [{"scores": 0.1}, {"scores": 0.2}]
    assert document_inferences({"scores": [{"s": 1}, 2]}) == [{"scores": {"s": 1}}, {"scores": 2}]


def test_rule_2_does_not_apply_with_two_keys() -> None:
    with pytest.raises(InvalidPayloadError, match="reserved"):
        document_inferences({"predictions": [{"score": 1}], "model": "m"})


def test_rule_3_column_oriented_one_inference_per_position() -> None:
    doc = {"longitude": [-122.44, -116.99], "latitude": [37.8, 32.8]}
    assert document_inferences(doc) == [
        {"longitude": -122.44, "latitude": 37.8},
        {"longitude": -116.99, "latitude": 32.8},
    ]


def test_rule_3_column_oriented_layout_names_are_refused() -> None:
    # issue 9 item 10, one rule: a layout name never names an attribute, column-oriented or not
    doc = {"predictions": [1, 0], "probabilities": [0.85, 0.3]}
    with pytest.raises(InvalidPayloadError) as info:
        document_inferences(doc)
    assert info.value.reason is Reason.INVALID_PAYLOAD
    assert info.value.message.startswith(
        "a column-oriented object may not use the reserved name(s) predictions, probabilities "
        "(they name the documented layouts"
    )


@pytest.mark.parametrize("name", sorted(LAYOUT_NAMES))
def test_rule_3_any_layout_name_beside_another_column_is_refused(name: str) -> None:
    with pytest.raises(InvalidPayloadError, match=f"reserved name\\(s\\) {name} "):
        document_inferences({name: [1, 2], "score": [0.1, 0.2]})
    with pytest.raises(InvalidPayloadError, match=f"reserved name\\(s\\) {name} "):
        _decode(f'{{"score": [0.1, 0.2], "{name}": [1, 2]}}')


def test_rule_3_column_oriented_without_layout_names_is_kept() -> None:
    doc = {"prediction": [1, 0], "probability": [0.85, 0.3]}
    assert document_inferences(doc) == [
        {"prediction": 1, "probability": 0.85},
        {"prediction": 0, "probability": 0.3},
    ]


def test_rule_3_single_key_of_scalars_is_column_oriented() -> None:
    assert document_inferences({"median_house_value": [478046.66, 206551.01]}) == [
        {"median_house_value": 478046.66},
        {"median_house_value": 206551.01},
    ]


def test_rule_3_unequal_lengths_are_refused() -> None:
    with pytest.raises(InvalidPayloadError, match=r"unequal length \(a=2, b=1\)"):
        document_inferences({"a": [1, 2], "b": [3]})


def test_rule_3_empty_lists_are_refused() -> None:
    with pytest.raises(InvalidPayloadError, match="empty lists"):
        document_inferences({"a": [], "b": []})
    with pytest.raises(InvalidPayloadError, match="empty lists"):
        document_inferences({"scores": []})


def test_rule_3_does_not_apply_when_one_value_is_not_a_list() -> None:
    assert document_inferences({"a": [1, 2], "b": 3}) == [{"a": [1, 2], "b": 3}]


def test_rule_4_other_object_is_one_named_inference() -> None:
    doc = {"Account Length": "134", "Intl Plan": "no"}
    assert document_inferences(doc) == [doc]


def test_rule_4_reserved_name_is_refused() -> None:
    with pytest.raises(InvalidPayloadError, match="reserved"):
        document_inferences({"instances": 5})


def test_rule_4_empty_object_is_refused() -> None:
    with pytest.raises(InvalidPayloadError, match="empty"):
        document_inferences({})


@pytest.mark.parametrize("scalar", [0.5, 3, "label", True, None])
def test_rule_5_scalar_is_one_inference_with_one_value(scalar: object) -> None:
    assert document_inferences(scalar) == [[scalar]]


# --- depth ----------------------------------------------------------------------------------


def test_default_depth_limit() -> None:
    # The limit is on each value inside an inference: a scalar is 0, [1] is 1, [[1]] is 2.
    assert DEFAULT_MAX_DEPTH == 32
    deepest = [_nested(DEFAULT_MAX_DEPTH)]
    assert document_inferences({"instances": [deepest]}) == [deepest]
    with pytest.raises(InvalidPayloadError, match="nests deeper"):
        document_inferences({"instances": [[_nested(DEFAULT_MAX_DEPTH + 1)]]})


@pytest.mark.parametrize("max_depth", [1, 2, 5])
def test_values_nesting_up_to_max_depth_are_accepted(max_depth: int) -> None:
    assert item([0, _nested(max_depth)], max_depth) == [0, _nested(max_depth)]
    assert item({"v": _nested(max_depth)}, max_depth) == {"v": _nested(max_depth)}
    with pytest.raises(InvalidPayloadError) as info:
        item([0, _nested(max_depth + 1)], max_depth)
    assert info.value.reason is Reason.NESTING_TOO_DEEP
    with pytest.raises(InvalidPayloadError) as info:
        item({"v": _nested(max_depth + 1)}, max_depth)
    assert info.value.reason is Reason.NESTING_TOO_DEEP


def test_depth_counts_maps_too() -> None:
    assert item({"a": {"b": [1]}}, 2) == {"a": {"b": [1]}}
    with pytest.raises(InvalidPayloadError, match="nests deeper"):
        item({"a": {"b": {"c": [1]}}}, 2)


def test_depth_applies_to_column_oriented_values() -> None:
    doc: dict[str, Any] = {"a": [[1], [2]], "b": [3, 4]}
    assert document_inferences(doc, 1) == [{"a": [1], "b": 3}, {"a": [2], "b": 4}]
    with pytest.raises(InvalidPayloadError, match="nests deeper"):
        document_inferences({"a": [[[1]], [2]], "b": [3, 4]}, 1)


def test_depth_applies_to_dense_features_values() -> None:
    assert item({"data": {"features": {"values": [[1]]}}}, 1) == [[1]]
    with pytest.raises(InvalidPayloadError, match="nests deeper"):
        item({"data": {"features": {"values": [[[1]]]}}}, 1)


def test_decoder_max_depth_gives_invalid_payload_not_recursion_error() -> None:
    text = "[" * 500 + "]" * 500
    with pytest.raises(InvalidPayloadError) as info:
        _decode(text, max_depth=10)
    assert info.value.reason is Reason.NESTING_TOO_DEEP


def test_very_deep_json_is_refused_by_the_parser_without_recursion_error() -> None:
    text = "[" * 100_000 + "]" * 100_000
    with pytest.raises(InvalidPayloadError) as info:
        _decode(text, max_depth=10**6)
    assert info.value.reason is Reason.NESTING_TOO_DEEP


def test_iterative_depth_check_handles_nesting_beyond_the_recursion_limit() -> None:
    with pytest.raises(InvalidPayloadError, match="nests deeper"):
        item(_nested(5000), 4000)


# --- JSONDecoder ------------------------------------------------------------------------------


def test_decoder_reads_documented_layouts() -> None:
    assert _decode('{"instances": [{"features": [28, 2, 133937]}]}') == [[28, 2, 133937]]
    assert _decode('{"predictions": [{"score": 0.98, "predicted_label": 1}]}') == [
        {"score": 0.98, "predicted_label": 1}
    ]
    assert _decode("[[0.93, 0.07], [0.2, 0.8]]") == [[0.93, 0.07], [0.2, 0.8]]


def test_decoder_media_types_and_repr() -> None:
    decoder = JSONDecoder(max_depth=7)
    assert decoder.media_types == ("application/json", "text/json")
    assert repr(decoder) == "JSONDecoder(max_depth=7)"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "{",
        "nan",
        "[infinity]",
        "[+Infinity]",
        "[Infinity1]",
        "[NaN, 1,]",
        '{"a": 1}{"b": 2}',
        '{"a": 1}\n{"b": 2}',
        '"\\udfaa"',
        "\ufeff[1]",
        "[1,]",
        "{'a': 1}",
    ],
)
def test_decoder_refuses_invalid_json(text: str) -> None:
    with pytest.raises(InvalidPayloadError, match="not valid JSON") as info:
        _decode(text)
    assert info.value.reason is Reason.INVALID_PAYLOAD


def test_decoder_refuses_invalid_utf_8_bytes() -> None:
    with pytest.raises(InvalidPayloadError, match="not valid JSON"):
        _decode(b'{"a": "\xff"}')


@pytest.mark.parametrize(
    ("text", "expected", "count"),
    [
        ("NaN", [[None]], 1),
        ("[Infinity]", [[None]], 1),
        ("[-Infinity]", [[None]], 1),
        ("[1e400]", [[None]], 1),
        ("[[-1E+400, 1.5e308]]", [[None, 1.5e308]], 1),
        (
            '{"a": NaN, "b": [Infinity, -Infinity], "c": "NaN"}',
            [{"a": None, "b": [None, None], "c": "NaN"}],
            3,
        ),
    ],
)
def test_non_finite_numbers_read_as_null_and_counted(text: str, expected: Any, count: int) -> None:
    # issue 9 item 7: what Python's json.dumps writes for NaN/inf is read, as null, and counted
    inferences = _decode(text)
    assert inferences == expected
    assert isinstance(inferences, Inferences)
    assert inferences.non_finite == count


def test_finite_payloads_carry_no_count() -> None:
    inferences = _decode('{"a": 1.5, "b": "Infinity"}')
    assert inferences == [{"a": 1.5, "b": "Infinity"}]
    assert getattr(inferences, "non_finite", 0) == 0


def test_non_finite_numbers_with_other_errors_stay_refused() -> None:
    with pytest.raises(InvalidPayloadError, match="not valid JSON") as info:
        _decode("[NaN, 'x']")
    assert info.value.reason is Reason.INVALID_PAYLOAD


def test_big_integers_are_exact() -> None:
    # issue 9 item 8: orjson makes integers beyond 64 bits floats; they are kept exact
    assert _decode("[18446744073709551615]") == [[2**64 - 1]]
    (row,) = _decode("[[18446744073709551616, -9223372036854775809, 1.5]]")
    assert row == [2**64, -(2**63) - 1, 1.5]
    assert [type(v) for v in row] == [int, int, float]
    big = 123456789012345678901234567890
    assert _decode(f'{{"a": {big}, "b": "{big}"}}') == [{"a": big, "b": str(big)}]
    assert loads_counted(Payload(f"[{-big}, NaN]", "application/json")) == ([-big, None], 1)


def test_integers_past_pythons_digit_limit_are_refused() -> None:
    with pytest.raises(InvalidPayloadError, match="more than 4300 digits") as info:
        _decode("[" + "9" * 5000 + "]")
    assert info.value.reason is Reason.INVALID_PAYLOAD


def test_loads_payload_prefers_explicit_text() -> None:
    assert loads_payload(Payload(b"[1]", "application/json"), "[2]") == [2]


# --- BASE64 bodies and charsets through SideDecoder --------------------------------------------


@pytest.mark.parametrize(
    ("charset", "codec"),
    [("utf-16", "utf-16"), ("UTF-16LE", "utf-16-le"), ("latin-1", "latin-1"), ("UTF_8", "utf-8")],
)
def test_base64_json_in_other_charsets(charset: str, codec: str) -> None:
    text = '{"predictions": [{"label": "café"}]}'
    side = captured_side(b64(text.encode(codec)), f"application/json; charset={charset}")
    assert SideDecoder(default_registry()).decode(side) == [{"label": "café"}]


def test_base64_json_bytes_invalid_in_the_charset_are_refused() -> None:
    side = captured_side(b64(b'{"a": "\xff"}'), "application/json; charset=utf-8")
    with pytest.raises(InvalidPayloadError):
        SideDecoder(default_registry()).decode(side)
    side = captured_side(b64(b"\xff\xfe{"), "application/json; charset=utf-16")
    with pytest.raises(InvalidPayloadError):
        SideDecoder(default_registry()).decode(side)


def test_mislabelled_base64_json_with_charset_html() -> None:
    body = '{"median_house_value": [478046.66, 206551.01]}'
    side = captured_side(b64(body.encode()), "text/html; charset=utf-8")
    sides = SideDecoder(default_registry(), content_types={"text/html": "application/json"})
    assert sides.decode(side) == [
        {"median_house_value": 478046.66},
        {"median_house_value": 206551.01},
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("!!!!", "Only base64 data is allowed"),
        ("eyJhIjoxfQ==eyJ9", "Excess data after padding"),
        ("eyJhIjoxfQ", "Incorrect padding"),
    ],
)
def test_invalid_base64_json(data: str, message: str) -> None:
    with pytest.raises(InvalidBase64Error, match=message) as info:
        SideDecoder(default_registry()).decode(captured_side(data, "application/json"))
    assert info.value.reason is Reason.INVALID_BASE64
    assert not isinstance(info.value, InvalidPayloadError)


def test_valid_base64_json() -> None:
    side = captured_side("eyJhIjoxfQ==", "application/json")
    assert SideDecoder(default_registry()).decode(side) == [{"a": 1}]


# --- mutation testing (docs/reliability.md) --------------------------------------------------


def test_depth_check_goes_on_past_a_scalar_sibling() -> None:
    assert item([[[1], 1]], 2) == [[[1], 1]]
    with pytest.raises(InvalidPayloadError) as info:
        item([[[[[1]]], 1]], 2)  # the scalar is looked at first; the deep list after it counts
    assert info.value.reason is Reason.NESTING_TOO_DEEP
    assert info.value.message == "a value nests deeper than the limit of 2 levels"


def test_reserved_names_message_lists_them_sorted() -> None:
    with pytest.raises(InvalidPayloadError) as info:
        item({"predictions": 1, "features": 2, "x": 3})
    assert info.value.message == (
        "a name → value record may not use the reserved name(s) features, predictions "
        '(they name the documented layouts: {"instances": [...]} or {"predictions": [...]} '
        'alone is a batch, {"features": [...]} or {"probabilities": [...]} alone one '
        "inference's values)"
    )


@pytest.mark.parametrize("key", ["keys", "shape"])
def test_sparse_features_with_keys_or_shape_alone_are_refused(key: str) -> None:
    with pytest.raises(InvalidPayloadError) as info:
        item({"data": {"features": {key: [3], "values": [1.0]}}})
    assert info.value.message == (
        "sparse features ({keys, shape, values}) are not supported; send dense values"
    )


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ([], "the JSON array is empty: it holds no inference"),
        ({}, "the JSON object is empty: it holds no inference"),
        ({"instances": []}, "'instances' is an empty list: it holds no inference"),
        ({"a": [], "b": []}, "column-oriented object has empty lists: it holds no inference"),
        ({"a": [1], "b": [1, 2]}, "column-oriented object has lists of unequal length (a=1, b=2)"),
    ],
)
def test_messages_of_documents_without_inferences(doc: Any, message: str) -> None:
    with pytest.raises(InvalidPayloadError) as info:
        document_inferences(doc)
    assert info.value.message == message


@pytest.mark.parametrize("key", ["features", "probabilities"])
def test_a_lone_column_key_document_is_one_inference_checked_for_depth(key: str) -> None:
    assert document_inferences({key: [1.5, "a", None]}) == [[1.5, "a", None]]
    assert document_inferences({key: [[1]]}, 1) == [[[1]]]
    with pytest.raises(InvalidPayloadError) as info:
        document_inferences({key: [[[1]]]}, 1)
    assert info.value.reason is Reason.NESTING_TOO_DEEP


def test_max_depth_reaches_wrapped_items_and_a_single_map() -> None:
    assert document_inferences({"instances": [[[1]]]}, 1) == [[[1]]]
    with pytest.raises(InvalidPayloadError, match="limit of 1 levels"):
        document_inferences({"instances": [[[[1]]]]}, 1)
    assert document_inferences({"a": [1], "b": 2}, 1) == [{"a": [1], "b": 2}]
    with pytest.raises(InvalidPayloadError, match="limit of 1 levels"):
        document_inferences({"a": [[1]], "b": 2}, 1)


@pytest.mark.parametrize("charset", ["utf-8", "UTF-8", "utf_8", "UTF8"])
def test_utf8_charset_spellings_parse_the_bytes_directly(charset: str) -> None:
    content_type = f"application/json; charset={charset}"
    assert _decode('{"a": "é"}'.encode(), content_type) == [{"a": "é"}]
    with pytest.raises(InvalidPayloadError) as info:
        _decode(b'{"a": "\xff"}', content_type)
    assert info.value.message.startswith("body is not valid JSON: ")


# --- non-finite numbers through the reader (issue 9 item 7) ---------------------------------


def _json_line(request: str, response: str = "[0.5]") -> bytes:
    def side(data: str, mode: str) -> dict[str, str]:
        return {
            "observedContentType": "application/json",
            "mode": mode,
            "data": data,
            "encoding": "JSON",
        }

    doc = {
        "captureData": {
            "endpointInput": side(request, "INPUT"),
            "endpointOutput": side(response, "OUTPUT"),
        },
        "eventMetadata": {"eventId": "e1", "inferenceTime": "2024-03-01T12:00:00Z"},
        "eventVersion": "0",
    }
    return json.dumps(doc).encode()


def test_reader_counts_non_finite_numbers_of_both_sides() -> None:
    line = _json_line("[[1.5, NaN, -Infinity]]", '{"predictions": [{"score": 1e400}]}')
    result = CaptureReader().read(Lines([line, _json_line("[[1]]")]))
    assert result.rejects == []
    assert [(dict(r.inputs), dict(r.outputs)) for r in result.records] == [
        ({"input_0": 1.5, "input_1": None, "input_2": None}, {"score": None}),
        ({"input_0": 1}, {"output_0": 0.5}),
    ]
    assert result.ledger.non_finite_values == 3
    assert result.ledger.to_dict()["non_finite_values"] == 3


def test_reject_non_finite_rejects_the_call() -> None:
    lines = [_json_line("[[1.5, NaN]]"), _json_line("[[1]]", "[Infinity]"), _json_line("[[2]]")]
    result = CaptureReader(reject_non_finite=True).read(Lines(lines))
    assert [(r.reason, r.line_number, r.index) for r in result.rejects] == [
        (Reason.NON_FINITE_NUMBER, 1, None),
        (Reason.NON_FINITE_NUMBER, 2, None),
    ]
    assert result.rejects[0].message == (
        "the payloads hold 1 non-finite number(s) (NaN, Infinity, -Infinity or a number "
        "overflowing to infinity; reject_non_finite)"
    )
    assert [dict(r.inputs) for r in result.records] == [{"input_0": 2}]
    ledger = result.ledger
    assert ledger.balanced
    assert ledger.rejects_by_reason == {"non_finite_number": 2}
    assert ledger.non_finite_values == 0  # nothing read as null: the calls were rejected
