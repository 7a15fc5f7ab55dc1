"""Arthur model schemas: loading, mapping records onto attributes, and value coercion."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arthur_capture import CaptureError, InferenceRecord, Reason
from arthur_capture.arthur.contract import MAX_PARTNER_ID_LENGTH, Stage, ValueType, check_partner_id
from arthur_capture.arthur.mapping import SchemaMapper, coerce
from arthur_capture.arthur.schema import ModelSchema
from arthur_capture.errors import (
    CoercionError,
    MappingError,
    PartnerIdTooLongError,
    SchemaError,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "arthur"
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


def attr(
    name: str, stage: str, value_type: str, position: int | None = None, **extra: Any
) -> dict[str, Any]:
    return {"name": name, "stage": stage, "value_type": value_type, "position": position, **extra}


def churn_schema() -> ModelSchema:
    return ModelSchema.from_json((FIXTURES / "churn_binary.model.json").read_bytes())


def housing_schema() -> ModelSchema:
    return ModelSchema.from_json((FIXTURES / "regression_housing.model.json").read_bytes())


def record(
    inputs: dict[str, Any] | None = None,
    outputs: dict[str, Any] | None = None,
    *,
    partner_id: str = "call-1",
) -> InferenceRecord:
    return InferenceRecord(
        partner_inference_id=partner_id,
        inference_timestamp=datetime(2024, 3, 1, 10, 15, 2, tzinfo=UTC),
        inputs=inputs or {},
        outputs=outputs or {},
        event_id="4f1d7a52-9b0e-4c1e-8a55-2b9c3f7e1a01",
        inference_id=None,
        index=0,
        batch_size=1,
        source="mem.jsonl",
        line_number=3,
    )


def churn_inputs(*values: Any) -> dict[str, Any]:
    return {f"input_{i}": v for i, v in enumerate(values)}


def mapping_error(mapper: SchemaMapper, rec: InferenceRecord) -> MappingError:
    with pytest.raises(MappingError) as info:
        mapper.map(rec)
    return info.value


# --- loading ------------------------------------------------------------------------------


def test_model_document_from_the_api_loads() -> None:
    schema = churn_schema()
    assert schema.model_id == "6a1f0c3e-2b7d-4c55-9e0a-8d4b2f1c7e90"
    assert schema.is_batch is False
    assert [a.name for a in schema.stage(Stage.PIPELINE_INPUT)] == [
        "account_length",
        "intl_plan",
        "day_minutes",
        "customer_service_calls",
    ]
    by_name = schema.by_name()
    assert by_name["churn_false_score"].implicit is True
    assert by_name["churn_true_score"].is_positive_predicted_attribute is True
    assert by_name["churn_true_score"].gt_class_link == "1"
    assert by_name["intl_plan"].categories is not None
    assert [c.value for c in by_name["intl_plan"].categories] == ["no", "yes"]
    assert by_name["churned"].stage is Stage.GROUND_TRUTH_CLASS
    # unknown fields of the API response (id, min_range, bins, …) are kept, not refused
    assert by_name["account_length"].model_extra is not None
    assert by_name["account_length"].model_extra["max_range"] == 243


def test_batch_model_is_marked() -> None:
    schema = ModelSchema.from_json((FIXTURES / "batch_demand.model.json").read_text())
    assert schema.is_batch is True
    assert schema.model_id == "2e7a9c1b-3d5f-4b6a-8e0c-9f1d3b5a7c92"


def test_bare_attribute_list_loads_like_the_model() -> None:
    bare = ModelSchema.from_json((FIXTURES / "churn_binary.attributes.json").read_bytes())
    model = churn_schema()
    assert bare.attributes == model.attributes
    assert bare.model_id is None
    assert bare.is_batch is False


def test_paginated_attribute_response_loads() -> None:
    attributes = json.loads((FIXTURES / "churn_binary.attributes.json").read_text())
    page = {"data": attributes, "page": 1, "page_size": 50, "total_pages": 1, "total_count": 7}
    schema = ModelSchema.from_json(json.dumps(page))
    assert schema.attributes == churn_schema().attributes
    assert ModelSchema.from_json(page).attributes == schema.attributes


def test_python_objects_load_too() -> None:
    attributes = [attr("x", "PIPELINE_INPUT", "FLOAT", 0), attr("y", "PREDICTED_VALUE", "FLOAT", 0)]
    assert [a.name for a in ModelSchema.from_json(attributes).attributes] == ["x", "y"]
    document = {"id": "m-1", "is_batch": True, "attributes": attributes}
    schema = ModelSchema.from_json(document)
    assert schema.model_id == "m-1"
    assert schema.is_batch is True


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (b"{not json", "not valid JSON"),
        (b"", "not valid JSON"),
        (b'{"id": "m-1"}', "attributes"),
        (b'"a string"', "not an Arthur model or attribute list"),
        (b"[1, 2]", "not an Arthur model or attribute list"),
        (b'[{"name": "x", "stage": "INPUT", "value_type": "FLOAT", "position": 0}]', "stage"),
        (
            b'[{"name": "x", "stage": "PIPELINE_INPUT", "value_type": "DECIMAL", "position": 0}]',
            "value_type",
        ),
        (
            b'[{"name": "x", "stage": "PIPELINE_INPUT", "value_type": "FLOAT", "position": -1}]',
            "position",
        ),
        (b'[{"stage": "PIPELINE_INPUT", "value_type": "FLOAT", "position": 0}]', "name"),
        (b'{"attributes": []}', "no attribute"),
    ],
)
def test_unusable_documents_are_a_schema_error(text: bytes, fragment: str) -> None:
    with pytest.raises(SchemaError) as info:
        ModelSchema.from_json(text)
    assert fragment in info.value.message
    assert isinstance(info.value, CaptureError)
    assert isinstance(info.value, ValueError)


def test_attribute_names_longer_than_255_are_refused() -> None:
    ok = ModelSchema.from_json([attr("a" * 255, "PIPELINE_INPUT", "FLOAT", 0)])
    assert ok.attributes[0].name == "a" * 255
    with pytest.raises(SchemaError, match="name"):
        ModelSchema.from_json([attr("a" * 256, "PIPELINE_INPUT", "FLOAT", 0)])


def test_duplicate_names_are_refused() -> None:
    attributes = [attr("age", "PIPELINE_INPUT", "INTEGER", 0), attr("age", "GROUND_TRUTH", "FLOAT")]
    with pytest.raises(SchemaError, match="'age' appears twice"):
        ModelSchema.from_json(attributes)


@pytest.mark.parametrize(
    "name",
    [
        "instances",
        "predictions",
        "features",
        "probabilities",
        "partner_inference_id",
        "inference_timestamp",
        "batch_id",
        "ground_truth_timestamp",
        "inference_data",
        "ground_truth_data",
    ],
)
def test_reserved_attribute_names_are_refused(name: str) -> None:
    attributes = [
        attr("x", "PIPELINE_INPUT", "FLOAT", 0),
        attr(name, "PREDICTED_VALUE", "FLOAT", 0),
    ]
    with pytest.raises(SchemaError) as info:
        ModelSchema.from_json(attributes)
    assert repr(name) in info.value.message
    assert "reserved" in info.value.message


def test_pipeline_input_needs_a_position() -> None:
    with pytest.raises(SchemaError, match="PIPELINE_INPUT attribute 'x' has no position"):
        ModelSchema.from_json([attr("x", "PIPELINE_INPUT", "FLOAT")])
    # other stages may leave it out
    schema = ModelSchema.from_json(
        [attr("x", "PIPELINE_INPUT", "FLOAT", 0), attr("extra", "NON_INPUT_DATA", "STRING")]
    )
    assert schema.by_name()["extra"].position is None


@pytest.mark.parametrize("stage", ["PIPELINE_INPUT", "PREDICTED_VALUE"])
def test_repeated_positions_within_a_stage_are_refused(stage: str) -> None:
    attributes = [
        attr("a", "PIPELINE_INPUT", "FLOAT", 0),
        attr("b", stage, "FLOAT", 1),
        attr("c", stage, "FLOAT", 1),
    ]
    with pytest.raises(SchemaError, match=f"two {stage} attributes share position 1"):
        ModelSchema.from_json(attributes)


def test_positions_are_per_stage() -> None:
    schema = ModelSchema.from_json(
        [
            attr("a", "PIPELINE_INPUT", "FLOAT", 0),
            attr("p", "PREDICTED_VALUE", "FLOAT", 0),
            attr("g", "GROUND_TRUTH", "INTEGER", 0),
            attr("n", "NON_INPUT_DATA", "STRING", 0),
        ]
    )
    assert [a.name for a in schema.stage(Stage.PREDICTED_VALUE)] == ["p"]


def test_stage_orders_by_position_not_by_document_order() -> None:
    schema = ModelSchema.from_json(
        [
            attr("third", "PIPELINE_INPUT", "FLOAT", 2),
            attr("first", "PIPELINE_INPUT", "FLOAT", 0),
            attr("second", "PIPELINE_INPUT", "FLOAT", 1),
        ]
    )
    assert [a.name for a in schema.stage(Stage.PIPELINE_INPUT)] == ["first", "second", "third"]
    assert [a.name for a in schema.attributes] == ["third", "first", "second"]


# --- mapping ------------------------------------------------------------------------------


def test_column_ordered_values_map_by_position() -> None:
    mapper = SchemaMapper(churn_schema())
    mapped = mapper.map(record(churn_inputs("128", "no", "265.1", "1"), {"output_0": "0.0734"}))
    assert dict(mapped.inputs) == {
        "account_length": 128,
        "intl_plan": "no",
        "day_minutes": 265.1,
        "customer_service_calls": 1,
    }
    assert dict(mapped.outputs) == {"churn_true_score": 0.0734}
    assert list(mapped.inputs) == [
        "account_length",
        "intl_plan",
        "day_minutes",
        "customer_service_calls",
    ]
    # everything but the values is kept
    assert mapped.partner_inference_id == "call-1"
    assert mapped.event_id == "4f1d7a52-9b0e-4c1e-8a55-2b9c3f7e1a01"
    assert mapped.line_number == 3


def test_named_values_map_by_name() -> None:
    mapper = SchemaMapper(housing_schema())
    inputs = {"zip_code": "02139", "sqft": 1450, "has_garage": True, "bedrooms": 3}
    mapped = mapper.map(record(inputs, {"price": 612000.5}))
    assert dict(mapped.inputs) == inputs
    assert dict(mapped.outputs) == {"price": 612000.5}


def test_non_input_data_may_be_sent_and_may_be_left_out() -> None:
    mapper = SchemaMapper(housing_schema())
    inputs = {"sqft": 1450, "bedrooms": 3, "zip_code": "02139", "has_garage": True}
    with_region = mapper.map(record({**inputs, "listing_region": "west"}, {"price": 1.0}))
    assert with_region.inputs["listing_region"] == "west"
    without = mapper.map(record(inputs, {"price": 1.0}))
    assert "listing_region" not in without.inputs


def _two_outputs(zero: dict[str, Any] | None, one: dict[str, Any] | None) -> ModelSchema:
    attributes = [attr("x", "PIPELINE_INPUT", "FLOAT", 0)]
    if zero is not None:
        attributes.append(attr("p0", "PREDICTED_VALUE", "FLOAT", 0, **zero))
    if one is not None:
        attributes.append(attr("p1", "PREDICTED_VALUE", "FLOAT", 1, **one))
    return ModelSchema.from_json(attributes)


def test_lone_output_goes_to_position_1_when_position_0_is_implicit() -> None:
    mapper = SchemaMapper(_two_outputs({"implicit": True}, {}))
    mapped = mapper.map(record({"input_0": 1.5}, {"output_0": 0.8}))
    assert dict(mapped.outputs) == {"p1": 0.8}


def test_lone_output_goes_to_position_1_when_position_0_is_absent() -> None:
    mapper = SchemaMapper(_two_outputs(None, {"is_positive_predicted_attribute": True}))
    mapped = mapper.map(record({"input_0": 1.5}, {"output_0": 0.8}))
    assert dict(mapped.outputs) == {"p1": 0.8}


def test_lone_output_goes_to_position_0_for_a_single_output_model() -> None:
    mapper = SchemaMapper(_two_outputs({}, None))
    assert dict(mapper.map(record({"input_0": 1.5}, {"output_0": 7.0})).outputs) == {"p0": 7.0}


def test_lone_output_stays_at_position_0_when_both_classes_are_explicit() -> None:
    mapper = SchemaMapper(_two_outputs({}, {"is_positive_predicted_attribute": True}))
    error = mapping_error(mapper, record({"input_0": 1.5}, {"output_0": 0.8}))
    assert error.reason is Reason.MISSING_ATTRIBUTE
    assert "p1" in error.message
    both = mapper.map(record({"input_0": 1.5}, {"output_0": 0.2, "output_1": 0.8}))
    assert dict(both.outputs) == {"p0": 0.2, "p1": 0.8}


def test_two_outputs_with_an_implicit_position_0_map_by_position() -> None:
    mapper = SchemaMapper(_two_outputs({"implicit": True}, {}))
    mapped = mapper.map(record({"input_0": 1.5}, {"output_0": 0.2, "output_1": 0.8}))
    assert dict(mapped.outputs) == {"p0": 0.2, "p1": 0.8}


def test_lone_named_output_maps_by_name_not_by_the_lone_rule() -> None:
    mapper = SchemaMapper(_two_outputs({"implicit": True}, {}))
    assert dict(mapper.map(record({"input_0": 1}, {"p1": 0.5})).outputs) == {"p1": 0.5}


def test_an_extra_column_is_unknown_attribute() -> None:
    mapper = SchemaMapper(churn_schema())
    error = mapping_error(mapper, record(churn_inputs(1, "no", 2.0, 3, "extra"), {"output_0": 0.1}))
    assert error.reason is Reason.UNKNOWN_ATTRIBUTE
    assert "PIPELINE_INPUT attribute at position 4" in error.message
    assert "'input_4'" in error.message


def test_an_extra_output_position_is_unknown_attribute() -> None:
    mapper = SchemaMapper(churn_schema())
    rec = record(churn_inputs(1, "no", 2.0, 3), {"output_0": 0.9, "output_1": 0.1, "output_2": 0})
    error = mapping_error(mapper, rec)
    assert error.reason is Reason.UNKNOWN_ATTRIBUTE
    assert "PREDICTED_VALUE attribute at position 2" in error.message


def test_an_unknown_name_is_unknown_attribute() -> None:
    mapper = SchemaMapper(housing_schema())
    inputs = {"sqft": 1, "bedrooms": 1, "zip_code": "1", "has_garage": True, "lot_size": 0.1}
    error = mapping_error(mapper, record(inputs, {"price": 1.0}))
    assert error.reason is Reason.UNKNOWN_ATTRIBUTE
    assert "no attribute named 'lot_size'" in error.message


def test_a_ground_truth_name_in_a_capture_is_unknown_attribute() -> None:
    mapper = SchemaMapper(housing_schema())
    inputs = {"sqft": 1, "bedrooms": 1, "zip_code": "1", "has_garage": True}
    error = mapping_error(mapper, record(inputs, {"price": 1.0, "price_gt": 2.0}))
    assert error.reason is Reason.UNKNOWN_ATTRIBUTE
    assert "GROUND_TRUTH" in error.message
    assert "not sent with inferences" in error.message


def test_a_missing_column_is_missing_attribute() -> None:
    mapper = SchemaMapper(churn_schema())
    error = mapping_error(mapper, record(churn_inputs(1, "no", 2.0), {"output_0": 0.1}))
    assert error.reason is Reason.MISSING_ATTRIBUTE
    assert "customer_service_calls" in error.message
    assert "request" in error.message


def test_a_missing_output_is_missing_attribute() -> None:
    schema = ModelSchema.from_json((FIXTURES / "multiclass_iris.model.json").read_bytes())
    rec = record(churn_inputs(5.1, 3.5, 1.4, 0.2), {"output_0": 0.5, "output_1": 0.5})
    error = mapping_error(SchemaMapper(schema), rec)
    assert error.reason is Reason.MISSING_ATTRIBUTE
    assert "virginica" in error.message
    assert "response" in error.message


def test_missing_attribute_lists_at_most_five_names() -> None:
    attributes = [attr(f"f{i}", "PIPELINE_INPUT", "FLOAT", i) for i in range(8)]
    error = mapping_error(SchemaMapper(ModelSchema.from_json(attributes)), record({"input_0": 1}))
    assert "f1, f2, f3, f4, f5 (+2 more)" in error.message


def test_missing_values_may_be_allowed() -> None:
    mapper = SchemaMapper(churn_schema(), require_inputs=False, require_outputs=False)
    mapped = mapper.map(record(churn_inputs(1), {}))
    assert dict(mapped.inputs) == {"account_length": 1}
    assert dict(mapped.outputs) == {}


def test_a_side_that_was_not_captured_is_not_required() -> None:
    mapper = SchemaMapper(churn_schema())
    output_only = mapper.map(record({}, {"output_0": 0.3}))
    assert dict(output_only.outputs) == {"churn_true_score": 0.3}
    input_only = mapper.map(record(churn_inputs(1, "no", 2.0, 3), {}))
    assert dict(input_only.outputs) == {}


@pytest.mark.parametrize("name", ["partner_inference_id", "inference_timestamp", "batch_id"])
def test_a_reserved_value_name_is_reserved_name(name: str) -> None:
    mapper = SchemaMapper(housing_schema())
    inputs = {"sqft": 1, "bedrooms": 1, "zip_code": "1", "has_garage": True, name: "x"}
    error = mapping_error(mapper, record(inputs, {"price": 1.0}))
    assert error.reason is Reason.RESERVED_NAME
    assert repr(name) in error.message
    output_error = mapping_error(mapper, record({}, {"price": 1.0, name: "x"}))
    assert output_error.reason is Reason.RESERVED_NAME


def test_a_value_of_the_wrong_type_is_invalid_value_naming_attribute_and_type() -> None:
    mapper = SchemaMapper(churn_schema())
    error = mapping_error(mapper, record(churn_inputs("12.5", "no", 2.0, 3), {"output_0": 0.1}))
    assert error.reason is Reason.INVALID_VALUE
    assert error.message.startswith("attribute 'account_length' (INTEGER): ")
    assert "'12.5'" in error.message
    error = mapping_error(mapper, record(churn_inputs(1, "no", 2.0, 3), {"output_0": "high"}))
    assert error.message.startswith("attribute 'churn_true_score' (FLOAT): ")


def test_partner_id_of_255_characters_is_accepted_and_256_is_id_too_long() -> None:
    mapper = SchemaMapper(churn_schema())
    values = churn_inputs(1, "no", 2.0, 3)
    accepted = mapper.map(record(values, {"output_0": 0.1}, partner_id="p" * 255))
    assert accepted.partner_inference_id == "p" * 255
    with pytest.raises(PartnerIdTooLongError) as info:
        mapper.map(record(values, {"output_0": 0.1}, partner_id="p" * 256))
    error = info.value
    assert error.reason is Reason.ID_TOO_LONG
    assert "256 characters" in error.message
    assert "255" in error.message


@given(st.text(min_size=0, max_size=MAX_PARTNER_ID_LENGTH))
def test_check_partner_id_accepts_every_id_up_to_255(partner_id: str) -> None:
    check_partner_id(partner_id)


@given(st.integers(min_value=MAX_PARTNER_ID_LENGTH + 1, max_value=2000))
def test_check_partner_id_refuses_longer_ids_and_never_cuts(length: int) -> None:
    partner_id = "x" * length
    with pytest.raises(PartnerIdTooLongError) as info:
        check_partner_id(partner_id)
    assert info.value.reason is Reason.ID_TOO_LONG
    assert f"{length} characters" in info.value.message
    assert partner_id == "x" * length


def test_two_names_that_map_to_one_attribute_are_name_conflict() -> None:
    mapper = SchemaMapper(housing_schema())
    rec = record(
        {"input_0": "1200", "input_1": "2", "input_2": "02139", "input_3": "true"},
        {"sqft": 1200, "price": 1.0},
    )
    error = mapping_error(mapper, rec)
    assert error.reason is Reason.NAME_CONFLICT
    assert "sqft" in error.message


def test_mapping_error_is_a_capture_error_and_a_value_error() -> None:
    error = MappingError("m", Reason.UNKNOWN_ATTRIBUTE)
    assert isinstance(error, CaptureError)
    assert isinstance(error, ValueError)
    assert error.reason is Reason.UNKNOWN_ATTRIBUTE
    assert CoercionError("c").reason is Reason.INVALID_VALUE


# --- coercion: INTEGER --------------------------------------------------------------------


@given(st.integers(min_value=INT64_MIN, max_value=INT64_MAX))
def test_integer_takes_int64_values_and_their_text(value: int) -> None:
    assert coerce(value, ValueType.INTEGER) == value
    assert coerce(str(value), ValueType.INTEGER) == value
    assert type(coerce(str(value), ValueType.INTEGER)) is int


@given(st.integers(min_value=-(2**53), max_value=2**53))
def test_integer_takes_whole_floats(value: int) -> None:
    result = coerce(float(value), ValueType.INTEGER)
    assert result == value
    assert type(result) is int


@given(st.integers(min_value=INT64_MAX + 1) | st.integers(max_value=INT64_MIN - 1))
def test_integer_refuses_values_outside_int64(value: int) -> None:
    with pytest.raises(CoercionError, match="64-bit"):
        coerce(value, ValueType.INTEGER)
    with pytest.raises(CoercionError):
        coerce(str(value), ValueType.INTEGER)


@given(st.floats(allow_nan=False, allow_infinity=False).filter(lambda f: not f.is_integer()))
def test_integer_refuses_non_integral_floats(value: float) -> None:
    with pytest.raises(CoercionError):
        coerce(value, ValueType.INTEGER)
    with pytest.raises(CoercionError):
        coerce(repr(value), ValueType.INTEGER)


@given(st.booleans())
def test_integer_refuses_booleans(value: bool) -> None:
    with pytest.raises(CoercionError, match="boolean"):
        coerce(value, ValueType.INTEGER)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(" 42 ", 42), ("+7", 7), ("-0", 0), ("007", 7), ("1e3", 1000), ("2.0", 2), (None, None)],
)
def test_integer_text_forms(value: Any, expected: int | None) -> None:
    assert coerce(value, ValueType.INTEGER) == expected


@pytest.mark.parametrize("value", ["1.5", "abc", "0x10", "1_000", "true", [1], {"a": 1}, "nan"])
def test_integer_refuses(value: Any) -> None:
    with pytest.raises(CoercionError):
        coerce(value, ValueType.INTEGER)


# --- coercion: FLOAT ----------------------------------------------------------------------


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_float_takes_finite_floats_and_their_text(value: float) -> None:
    assert coerce(value, ValueType.FLOAT) == value
    assert coerce(repr(value), ValueType.FLOAT) == value
    assert coerce(json.dumps(value), ValueType.FLOAT) == value


@given(st.integers(min_value=-(10**300), max_value=10**300))
def test_float_takes_integers(value: int) -> None:
    result = coerce(value, ValueType.FLOAT)
    assert type(result) is float
    assert result == float(value)


def test_float_refuses_integers_beyond_its_range() -> None:
    with pytest.raises(CoercionError, match="FLOAT range"):
        coerce(10**400, ValueType.FLOAT)


@pytest.mark.parametrize(
    "value", [math.nan, math.inf, -math.inf, "NaN", "nan", "inf", "+inf", "-inf", " -Inf "]
)
def test_float_non_finite_becomes_null(value: Any) -> None:
    assert coerce(value, ValueType.FLOAT) is None


@given(st.booleans())
def test_float_refuses_booleans(value: bool) -> None:
    with pytest.raises(CoercionError, match="boolean"):
        coerce(value, ValueType.FLOAT)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("45.50", 45.5), (".5", 0.5), ("1e2", 100.0), (" 3 ", 3.0), ("", None), (None, None)],
)
def test_float_text_forms(value: Any, expected: float | None) -> None:
    assert coerce(value, ValueType.FLOAT) == expected


@pytest.mark.parametrize("value", ["abc", "1,5", "0x1p3", "1_0", [1.0], {"v": 1.0}])
def test_float_refuses(value: Any) -> None:
    with pytest.raises(CoercionError, match="FLOAT"):
        coerce(value, ValueType.FLOAT)


# --- coercion: BOOLEAN --------------------------------------------------------------------


@given(st.booleans())
def test_boolean_round_trips_its_text_and_0_1(value: bool) -> None:
    assert coerce(value, ValueType.BOOLEAN) is value
    assert coerce(str(value).lower(), ValueType.BOOLEAN) is value
    assert coerce(str(value).upper(), ValueType.BOOLEAN) is value
    assert coerce(int(value), ValueType.BOOLEAN) is value
    assert coerce(str(int(value)), ValueType.BOOLEAN) is value


@pytest.mark.parametrize(
    ("value", "expected"),
    [("True", True), (" false ", False), ("t", True), ("F", False), ("yes", True), ("no", False)],
)
def test_boolean_text_forms(value: str, expected: bool) -> None:
    assert coerce(value, ValueType.BOOLEAN) is expected


@pytest.mark.parametrize("value", [2, -1, 0.5, "maybe", "2", "on", [True]])
def test_boolean_refuses(value: Any) -> None:
    with pytest.raises(CoercionError, match="BOOLEAN"):
        coerce(value, ValueType.BOOLEAN)


def test_boolean_empty_and_null_are_null() -> None:
    assert coerce("", ValueType.BOOLEAN) is None
    assert coerce(None, ValueType.BOOLEAN) is None


# --- coercion: STRING ---------------------------------------------------------------------


@given(st.text())
def test_string_keeps_text_as_it_is(value: str) -> None:
    assert coerce(value, ValueType.STRING) == value
    assert coerce(value, ValueType.UNSTRUCTURED_TEXT) == value


@given(st.integers())
def test_string_writes_integers_as_json_does(value: int) -> None:
    assert coerce(value, ValueType.STRING) == json.dumps(value)


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_string_writes_floats_as_json_that_reads_back(value: float) -> None:
    text = coerce(value, ValueType.STRING)
    assert isinstance(text, str)
    assert json.loads(text) == value


def test_string_examples() -> None:
    assert coerce("007", ValueType.STRING) == "007"
    assert coerce("", ValueType.STRING) == ""
    assert coerce(2139, ValueType.STRING) == "2139"
    assert coerce(0.5, ValueType.STRING) == "0.5"
    assert coerce(value=True, value_type=ValueType.STRING) == "true"
    assert coerce(value=False, value_type=ValueType.STRING) == "false"
    assert coerce(None, ValueType.STRING) is None
    assert coerce(math.nan, ValueType.STRING) is None


@pytest.mark.parametrize("value", [["a"], {"a": 1}, b"bytes"])
def test_string_refuses_containers(value: Any) -> None:
    with pytest.raises(CoercionError, match="STRING"):
        coerce(value, ValueType.STRING)


# --- coercion: TIMESTAMP ------------------------------------------------------------------

OFFSETS = st.sampled_from(
    [UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5)), timezone(timedelta(0))]
)


@given(st.datetimes(timezones=OFFSETS))
def test_timestamp_takes_aware_datetimes_and_their_iso_text(moment: datetime) -> None:
    assert coerce(moment, ValueType.TIMESTAMP) == moment
    parsed = coerce(moment.isoformat(), ValueType.TIMESTAMP)
    assert parsed == moment
    assert parsed.utcoffset() == moment.utcoffset()


@given(st.datetimes())
def test_timestamp_refuses_naive_datetimes_and_text(moment: datetime) -> None:
    with pytest.raises(CoercionError, match="without a timezone"):
        coerce(moment, ValueType.TIMESTAMP)
    with pytest.raises(CoercionError, match="without a timezone"):
        coerce(moment.isoformat(), ValueType.TIMESTAMP)


def test_timestamp_text_forms() -> None:
    utc = datetime(2024, 1, 19, 19, 27, 57, tzinfo=UTC)
    assert coerce("2024-01-19T19:27:57Z", ValueType.TIMESTAMP) == utc
    assert coerce("2024-01-19T19:27:57+00:00", ValueType.TIMESTAMP) == utc
    assert coerce("2024-01-19 21:27:57+02:00", ValueType.TIMESTAMP) == utc
    assert coerce(" 2024-01-19T19:27:57.000Z ", ValueType.TIMESTAMP) == utc


@pytest.mark.parametrize("value", [None, "", math.nan])
def test_timestamp_refuses_null(value: Any) -> None:
    with pytest.raises(CoercionError):
        coerce(value, ValueType.TIMESTAMP)


@pytest.mark.parametrize("value", ["yesterday", "2024-13-01T00:00:00Z", 1705692477, "2024-01-19"])
def test_timestamp_refuses_other_values(value: Any) -> None:
    with pytest.raises(CoercionError, match="TIMESTAMP"):
        coerce(value, ValueType.TIMESTAMP)


# --- coercion: the rest -------------------------------------------------------------------


@pytest.mark.parametrize("value_type", [ValueType.INTEGER, ValueType.BOOLEAN, ValueType.STRING])
@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_floats_are_null_for_every_scalar_type(
    value: float, value_type: ValueType
) -> None:
    # Arthur's SDK sends NaN and ±Infinity as null in every scalar value
    assert coerce(value, value_type) is None


def test_array_of_strings() -> None:
    assert coerce(["a", "b"], ValueType.ARRAY_STRING) == ["a", "b"]
    assert coerce([], ValueType.ARRAY_STRING) == []
    with pytest.raises(CoercionError, match="ARRAY"):
        coerce(["a", 1], ValueType.ARRAY_STRING)
    with pytest.raises(CoercionError, match="ARRAY"):
        coerce("a", ValueType.ARRAY_STRING)


@pytest.mark.parametrize(
    ("value_type", "value"),
    [
        (ValueType.IMAGE, "s3://bucket/img.png"),
        (ValueType.BOUNDING_BOX, [[0, 0.9, 1, 2, 3, 4]]),
        (ValueType.TOKENS, ["a", "b"]),
        (ValueType.TIME_SERIES, [{"timestamp": "2024-01-01T00:00:00Z", "value": 1.0}]),
    ],
)
def test_other_value_types_pass_through(value_type: ValueType, value: Any) -> None:
    assert coerce(value, value_type) is value
