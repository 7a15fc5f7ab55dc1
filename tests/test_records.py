"""expand(): decoding both sides, pairing, counts, partner IDs and the record type."""

from __future__ import annotations

import base64
import dataclasses
import inspect
import json
import tracemalloc
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest

from arthur_capture import (
    CaptureEvent,
    CountMismatchError,
    DecoderRegistry,
    InferenceRecord,
    InvalidEventError,
    InvalidPayloadError,
    NameConflictError,
    PartnerIdTooLongError,
    Payload,
    Reason,
    Reject,
    UnknownContentTypeError,
    default_registry,
    expand,
    partner_inference_id,
)
from arthur_capture.arthur.contract import new_inference
from arthur_capture.decoders.text_csv import Rows
from arthur_capture.records import (
    MAX_PARTNER_ID_LENGTH,
    Call,
    SideDecoder,
    check_partner_id,
    pair,
)

if TYPE_CHECKING:
    from arthur_capture.decoders import Inference

EVENT_ID = "9066ac80-dde1-4370-a73e-ab997e2544f1"
TIME = "2024-01-19T19:27:57Z"


def _side(
    data: str, content_type: str | None = "text/csv", encoding: str = "CSV"
) -> dict[str, Any]:
    return {"observedContentType": content_type, "data": data, "encoding": encoding}


def _event(
    inputs: dict[str, Any] | None = None,
    outputs: dict[str, Any] | None = None,
    **meta: Any,
) -> CaptureEvent:
    capture: dict[str, Any] = {}
    if inputs is not None:
        capture["endpointInput"] = {**inputs, "mode": "INPUT"}
    if outputs is not None:
        capture["endpointOutput"] = {**outputs, "mode": "OUTPUT"}
    metadata = {"eventId": EVENT_ID, "inferenceTime": TIME, **meta}
    return CaptureEvent.model_validate_json(
        json.dumps({"captureData": capture, "eventMetadata": metadata, "eventVersion": "0"})
    )


def _expand(event: CaptureEvent, **kw: Any) -> list[InferenceRecord]:
    return expand(event, SideDecoder(default_registry()), **kw)


def _json(doc: object) -> dict[str, Any]:
    return _side(json.dumps(doc), "application/json", "JSON")


# --- partner IDs ------------------------------------------------------------------------------


def test_partner_inference_id_function() -> None:
    assert partner_inference_id("abc", 0, 1) == "abc"
    assert partner_inference_id("abc", 0, 2) == "abc_0"
    assert partner_inference_id("abc", 1, 2) == "abc_1"
    assert partner_inference_id("abc", 10, 11) == "abc_10"


def test_single_inference_uses_event_id_without_suffix() -> None:
    (record,) = _expand(_event(_side("1,2"), _side("0.5")))
    assert record.partner_inference_id == EVENT_ID
    assert record.inference_id is None
    assert record.event_id == EVENT_ID
    assert (record.index, record.batch_size) == (0, 1)


def test_batch_uses_event_id_with_zero_based_suffix() -> None:
    records = _expand(_event(_side("1,2\n3,4\n5,6"), _side("0.1\n0.2\n0.3\n")))
    assert [r.partner_inference_id for r in records] == [
        f"{EVENT_ID}_0",
        f"{EVENT_ID}_1",
        f"{EVENT_ID}_2",
    ]
    assert [r.index for r in records] == [0, 1, 2]
    assert {r.batch_size for r in records} == {3}


def test_inference_id_wins_over_event_id() -> None:
    (record,) = _expand(_event(_side("1"), _side("0"), inferenceId="abcdefg-12345"))
    assert record.partner_inference_id == "abcdefg-12345"
    assert record.inference_id == "abcdefg-12345"
    assert record.event_id == EVENT_ID


def test_arthur_documented_example() -> None:
    records = _expand(_event(_side("1,2,3,4\n5,6,7,8\n"), inferenceId="abcdefg-12345"))
    assert [r.partner_inference_id for r in records] == ["abcdefg-12345_0", "abcdefg-12345_1"]


def test_inference_id_is_used_verbatim() -> None:
    (record,) = _expand(_event(_side("1"), inferenceId="shadow test, index 7"))
    assert record.partner_inference_id == "shadow test, index 7"


def test_empty_inference_id_falls_back_to_event_id() -> None:
    # InvokeEndpoint refuses an empty InferenceId, so "" can only be a writer's quirk;
    # an empty partner ID would be invalid in Arthur, so eventId is the sensible choice.
    records = _expand(_event(_side("1\n2"), inferenceId=""))
    assert [r.partner_inference_id for r in records] == [f"{EVENT_ID}_0", f"{EVENT_ID}_1"]
    assert records[0].inference_id == ""


def test_ids_are_deterministic() -> None:
    event = _event(_side("1\n2"), _side("3\n4"))
    assert _expand(event) == _expand(event)


# --- pairing and counts ----------------------------------------------------------------------


def test_request_i_pairs_with_response_i() -> None:
    records = _expand(
        _event(
            _json({"instances": [{"features": [1, 2]}, {"features": [3, 4]}]}),
            _json({"predictions": [{"score": 0.1}, {"score": 0.9}]}),
        )
    )
    assert [(dict(r.inputs), dict(r.outputs)) for r in records] == [
        ({"input_0": 1, "input_1": 2}, {"score": 0.1}),
        ({"input_0": 3, "input_1": 4}, {"score": 0.9}),
    ]


def test_mixed_encodings_on_one_line() -> None:
    out = base64.b64encode(b'{"median_house_value": [478046.66, 206551.01]}').decode()
    records = expand(
        _event(
            _json({"longitude": [-122.44, -116.99], "latitude": [37.8, 32.8]}),
            _side(out, "text/html; charset=utf-8", "BASE64"),
            inferenceId="42",
        ),
        SideDecoder(default_registry(), content_types={"text/html": "application/json"}),
    )
    assert [r.partner_inference_id for r in records] == ["42_0", "42_1"]
    assert records[1].inputs == {"longitude": -116.99, "latitude": 32.8}
    assert records[1].outputs == {"median_house_value": 206551.01}


@pytest.mark.parametrize(
    ("request_body", "response_body", "counts"),
    [
        ("1\n2", "0.1\n0.2\n0.3", (2, 3)),
        ("1\n2\n3", "0.1\n0.2", (3, 2)),
        ("1", "0.1\n0.2", (1, 2)),
    ],
)
def test_count_mismatch(request_body: str, response_body: str, counts: tuple[int, int]) -> None:
    with pytest.raises(CountMismatchError) as info:
        _expand(_event(_side(request_body), _side(response_body)))
    assert info.value.reason is Reason.COUNT_MISMATCH
    assert f"request holds {counts[0]} inference(s)" in str(info.value)
    assert f"response holds {counts[1]}" in str(info.value)
    assert isinstance(info.value, ValueError)


def test_count_mismatch_across_content_types() -> None:
    with pytest.raises(CountMismatchError):
        _expand(_event(_side("1,2\n3,4"), _json({"predictions": [{"score": 1}]})))


# --- the pre-2022 XGBoost single-row case -------------------------------------------------------


def test_one_row_of_n_values_pairs_by_column_for_n_requests() -> None:
    records = _expand(_event(_side("1,2\n3,4\n5,6\n"), _side("0.1,0.7,0.3")))
    assert [dict(r.outputs) for r in records] == [
        {"output_0": 0.1},
        {"output_0": 0.7},
        {"output_0": 0.3},
    ]
    assert [r.partner_inference_id for r in records][-1] == f"{EVENT_ID}_2"


def test_post_2022_one_prediction_per_line_pairs_by_row() -> None:
    records = _expand(_event(_side("1,2\n3,4\n5,6\n"), _side("0.1\n0.7\n0.3\n")))
    assert [r.outputs["output_0"] for r in records] == [0.1, 0.7, 0.3]


def test_single_row_case_does_not_apply_to_a_single_request() -> None:
    (record,) = _expand(_event(_side("1,2"), _side("0.1,0.7,0.3")))
    assert record.outputs == {"output_0": 0.1, "output_1": 0.7, "output_2": 0.3}
    assert record.partner_inference_id == EVENT_ID


@pytest.mark.parametrize("row", ["0.1,0.7", "0.1,0.7,0.3,0.4"])
def test_single_row_case_needs_exactly_n_values(row: str) -> None:
    with pytest.raises(CountMismatchError):
        _expand(_event(_side("1\n2\n3"), _side(row)))


def test_single_row_case_needs_scalar_values() -> None:
    with pytest.raises(CountMismatchError):
        _expand(_event(_side("1\n2"), _json([[[0.1, 0.9], [0.2, 0.8]]])))


def test_single_row_case_does_not_apply_to_a_named_map() -> None:
    with pytest.raises(CountMismatchError):
        _expand(_event(_side("1\n2"), _json({"a": 0.1, "b": 0.2})))


def test_single_row_case_applies_to_json_row_of_scalars() -> None:
    records = _expand(_event(_side("1\n2"), _json([[0.25, 0.75]])))
    assert [r.outputs for r in records] == [{"output_0": 0.25}, {"output_0": 0.75}]


# --- one-sided lines ---------------------------------------------------------------------------


def test_input_only_line() -> None:
    records = _expand(_event(_side("1,2\n3,4")))
    assert [(dict(r.inputs), dict(r.outputs)) for r in records] == [
        ({"input_0": 1, "input_1": 2}, {}),
        ({"input_0": 3, "input_1": 4}, {}),
    ]
    assert records[0].partner_inference_id == f"{EVENT_ID}_0"


def test_output_only_line() -> None:
    records = _expand(_event(None, _json({"predictions": [{"score": 0.1}, {"score": 0.2}]})))
    assert [(dict(r.inputs), dict(r.outputs)) for r in records] == [
        ({}, {"score": 0.1}),
        ({}, {"score": 0.2}),
    ]
    assert {r.batch_size for r in records} == {2}


def test_neither_side_is_an_invalid_event() -> None:
    with pytest.raises(InvalidEventError, match="neither endpointInput nor endpointOutput") as info:
        _expand(_event())
    assert info.value.reason is Reason.INVALID_EVENT


# --- names -------------------------------------------------------------------------------------


def test_column_names_follow_positions() -> None:
    (record,) = _expand(_event(_side(",".join(str(i) for i in range(12))), _side("a,b")))
    assert list(record.inputs) == [f"input_{i}" for i in range(12)]
    assert list(record.outputs) == ["output_0", "output_1"]
    assert record.inputs["input_11"] == 11


def test_named_maps_keep_their_names_and_order() -> None:
    (record,) = _expand(
        _event(_json({"zeta": 1, "alpha": 2}), _json({"predictions": [{"b": 1, "a": 2}]}))
    )
    assert list(record.inputs) == ["zeta", "alpha"]
    assert list(record.outputs) == ["b", "a"]


def test_positional_sides_never_conflict() -> None:
    (record,) = _expand(_event(_side("1"), _side("1")))
    assert record.inference_data() == {"input_0": 1, "output_0": 1}


def test_name_conflict() -> None:
    with pytest.raises(NameConflictError, match=r"inference 0: the name\(s\) label, score") as info:
        _expand(
            _event(
                _json({"score": 1, "label": "x", "a": 2}),
                _json({"predictions": [{"label": "y", "score": 0.3}]}),
            )
        )
    assert info.value.reason is Reason.NAME_CONFLICT


def test_name_conflict_with_a_generated_column_name() -> None:
    with pytest.raises(NameConflictError, match="output_0"):
        _expand(_event(_json({"output_0": 1}), _side("0.5")))


def test_name_conflict_is_reported_for_the_first_conflicting_inference() -> None:
    with pytest.raises(NameConflictError, match="inference 1:"):
        _expand(
            _event(
                _json([{"a": 1}, {"s": 2}]),
                _json([{"s": 0.1}, {"s": 0.2}]),
            )
        )


# --- metadata ----------------------------------------------------------------------------------


def test_custom_attributes_are_a_tuple_of_strings() -> None:
    attrs = ['{"testIndicator": "true"}', "x"]
    records = _expand(_event(_side("1\n2"), customAttributes=attrs))
    assert all(r.custom_attributes == tuple(attrs) for r in records)


def test_no_custom_attributes_is_an_empty_tuple() -> None:
    (record,) = _expand(_event(_side("1")))
    assert record.custom_attributes == ()


def test_timestamp_source_and_line_number() -> None:
    (record,) = _expand(_event(_side("1")), source="s3://b/k.jsonl", line_number=7)
    assert record.inference_timestamp == datetime(2024, 1, 19, 19, 27, 57, tzinfo=UTC)
    assert record.inference_timestamp.tzinfo is not None
    assert (record.source, record.line_number) == ("s3://b/k.jsonl", 7)


def test_default_source_and_line_number() -> None:
    (record,) = _expand(_event(_side("1")))
    assert (record.source, record.line_number) == ("<memory>", 1)


def test_new_inference_and_inference_data() -> None:
    (record,) = _expand(_event(_side("1,x"), _side("0.5")))
    assert record.inference_data() == {"input_0": 1, "input_1": "x", "output_0": 0.5}
    # Arthur's object is built by the Arthur layer, not by the core's record.
    assert not hasattr(record, "to_arthur")
    assert new_inference(record) == {
        "partner_inference_id": EVENT_ID,
        "inference_timestamp": datetime(2024, 1, 19, 19, 27, 57, tzinfo=UTC),
        "inference_data": {"input_0": 1, "input_1": "x", "output_0": 0.5},
    }


# --- the record type ---------------------------------------------------------------------------


def test_record_is_frozen_and_slotted() -> None:
    (record,) = _expand(_event(_side("1")))
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.partner_inference_id = "other"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.index = 3  # type: ignore[misc]
    assert not hasattr(record, "__dict__")
    with pytest.raises((AttributeError, TypeError)):
        record.extra = 1  # type: ignore[attr-defined]


def test_record_fields_and_keyword_only_construction() -> None:
    fields = {f.name for f in dataclasses.fields(InferenceRecord)}
    assert fields == {
        "partner_inference_id",
        "inference_timestamp",
        "inputs",
        "outputs",
        "event_id",
        "inference_id",
        "index",
        "batch_size",
        "source",
        "line_number",
        "custom_attributes",
    }
    (record,) = _expand(_event(_side("1")))
    values = [getattr(record, f.name) for f in dataclasses.fields(InferenceRecord)]
    untyped: Any = InferenceRecord
    with pytest.raises(TypeError):
        untyped(*values)
    assert untyped(
        **{f.name: v for f, v in zip(dataclasses.fields(record), values, strict=True)}
    ) == (record)


def test_replace_gives_a_new_record() -> None:
    (record,) = _expand(_event(_side("1")))
    other = dataclasses.replace(record, partner_inference_id="x")
    assert other.partner_inference_id == "x"
    assert record.partner_inference_id == EVENT_ID


# --- SideDecoder -------------------------------------------------------------------------------


def _capture_side(data: str, content_type: str | None, encoding: str) -> Any:
    event = _event(_side(data, content_type, encoding))
    return event.capture_data.endpoint_input


@pytest.mark.parametrize(
    ("encoding", "data", "expected"),
    [("CSV", "1,2", [[1, 2]]), ("JSON", '{"a": 1}', [{"a": 1}])],
)
def test_missing_content_type_falls_back_to_the_encoding(
    encoding: str, data: str, expected: list[Any]
) -> None:
    side = _capture_side(data, None, encoding)
    assert SideDecoder(default_registry()).decode(side) == expected


def test_missing_content_type_with_base64_is_unknown() -> None:
    side = _capture_side("MSwy", None, "BASE64")
    with pytest.raises(UnknownContentTypeError, match=r"\(no content type\)"):
        SideDecoder(default_registry()).decode(side)


def test_content_type_wins_over_the_encoding() -> None:
    side = _capture_side('{"a": 1}\n{"a": 2}\n', "application/jsonlines", "JSON")
    assert SideDecoder(default_registry()).decode(side) == [{"a": 1}, {"a": 2}]


def test_content_type_override_is_normalised() -> None:
    side = _capture_side("1,2", "Text/Plain; charset=utf-8", "CSV")
    sides = SideDecoder(default_registry(), content_types={"TEXT/PLAIN": "text/csv; x=1"})
    assert sides.content_types == {"text/plain": "text/csv"}
    assert sides.decode(side) == [[1, 2]]


def test_unknown_content_type_without_sniffing() -> None:
    side = _capture_side('{"a": 1}', "text/html", "JSON")
    with pytest.raises(UnknownContentTypeError, match="text/html"):
        SideDecoder(default_registry()).decode(side)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ('{"a": 1}', [{"a": 1}]),
        ('{"a": 1}\n{"a": 2}', [{"a": 1}, {"a": 2}]),
        ("x,1\ny,2", [["x", 1], ["y", 2]]),
    ],
)
def test_sniffing_tries_json_then_json_lines_then_csv(data: str, expected: list[Any]) -> None:
    side = _capture_side(base64.b64encode(data.encode()).decode(), "text/html", "BASE64")
    assert SideDecoder(default_registry(), sniff=True).decode(side) == expected


def test_sniffing_failure_is_unknown_content_type() -> None:
    side = _capture_side(base64.b64encode(b"\xff\xfe\x00").decode(), "image/png", "BASE64")
    with pytest.raises(UnknownContentTypeError, match="content sniffing found no decoder"):
        SideDecoder(default_registry(), sniff=True).decode(side)


def test_a_known_content_type_is_never_sniffed() -> None:
    side = _capture_side('{"a": 1}', "text/csv", "CSV")
    assert SideDecoder(default_registry(), sniff=True).decode(side) == [['{"a": 1}']]


# --- mutation testing (docs/reliability.md) --------------------------------------------------


class _RecordingDecoder:
    """Hands back the body's text as one value; keeps every payload it was given."""

    media_types: tuple[str, ...] = ("application/x-recorded",)

    def __init__(self) -> None:
        self.payloads: list[Payload] = []

    def decode(self, payload: Payload) -> list[Inference]:
        self.payloads.append(payload)
        return [[payload.text()]]


def _latin1_side(text: str, content_type: str) -> Any:
    return _capture_side(base64.b64encode(text.encode("latin-1")).decode(), content_type, "BASE64")


def test_the_decoder_gets_the_bare_media_type_and_the_params() -> None:
    recorder = _RecordingDecoder()
    side = _latin1_side("é", "Application/X-Recorded; charset=latin-1")
    assert SideDecoder(DecoderRegistry(recorder)).decode(side) == [["é"]]
    (payload,) = recorder.payloads
    assert payload.media_type == "application/x-recorded"
    assert dict(payload.params) == {"charset": "latin-1"}


def test_a_sniffed_decoder_gets_the_media_type_it_was_tried_as_and_the_params() -> None:
    recorder = _RecordingDecoder()
    registry = DecoderRegistry()
    registry.register(recorder, media_types=["application/json"])
    side = _latin1_side("é", "text/html; charset=latin-1")
    assert SideDecoder(registry, sniff=True).decode(side) == [["é"]]
    (payload,) = recorder.payloads
    assert payload.media_type == "application/json"
    assert dict(payload.params) == {"charset": "latin-1"}


@pytest.mark.parametrize(("text", "expected"), [('{"a": "é"}', [{"a": "é"}]), ("é,1", [["é", 1]])])
def test_sniffing_decodes_the_body_in_the_sides_charset(text: str, expected: list[Any]) -> None:
    side = _latin1_side(text, "text/html; charset=latin-1")
    assert SideDecoder(default_registry(), sniff=True).decode(side) == expected


def test_sniffing_failure_names_the_last_error() -> None:
    side = _capture_side(base64.b64encode(b"\xff\xfe\x00").decode(), "image/png", "BASE64")
    with pytest.raises(UnknownContentTypeError) as info:
        SideDecoder(default_registry(), sniff=True).decode(side)
    assert str(info.value) == (
        "content sniffing found no decoder that reads the body "
        "(last error: body is not valid utf-8 at byte 0: invalid start byte)"
    )


def test_neither_side_message_in_full() -> None:
    with pytest.raises(InvalidEventError) as info:
        _expand(_event())
    assert str(info.value) == "captureData has neither endpointInput nor endpointOutput"


def test_the_single_row_rule_needs_exactly_one_response_row() -> None:
    with pytest.raises(CountMismatchError) as info:
        _expand(_event(_side("1\n2\n3"), _side("0.1,0.2,0.3\n0.4,0.5,0.6")))
    assert str(info.value) == "the request holds 3 inference(s) but the response holds 2"


def test_a_positional_request_conflicts_with_a_response_map_using_its_names() -> None:
    with pytest.raises(NameConflictError) as info:
        _expand(_event(_side("1,2"), _json({"input_1": 0.5, "score": 1})))
    assert str(info.value) == (
        "inference 0: the name(s) input_1 appear in both the request and the response"
    )


def test_name_conflicts_are_still_checked_after_a_positional_pair() -> None:
    with pytest.raises(NameConflictError) as info:
        _expand(_event(_json([[1], {"s": 2}]), _json([[0.1], {"s": 0.2}])))
    assert str(info.value).startswith("inference 1: the name(s) s appear")


def test_call_records_default_to_line_one_in_memory() -> None:
    call = pair(_event(_side("1")), SideDecoder(default_registry()))
    (record,) = call.records()
    assert (record.source, record.line_number) == ("<memory>", 1)
    assert (call.offset, call.raw, call.outcomes) == (0, b"", None)


# --- Call ---------------------------------------------------------------------------------------


def _pair(event: CaptureEvent, **kw: Any) -> Call:
    return pair(event, SideDecoder(default_registry()), **kw)


def test_pair_passes_the_place_of_its_line_on_to_the_call_and_its_records() -> None:
    call = _pair(
        _event(_side("1\n2"), _side("3\n4")),
        source="s3://b/k.jsonl",
        line_number=7,
        offset=99,
        raw=b"the line",
    )
    assert (call.source, call.line_number, call.offset, call.raw) == (
        "s3://b/k.jsonl",
        7,
        99,
        b"the line",
    )
    assert call.count == 2
    assert call.inputs == [[1], [2]]
    assert call.outputs == [[3], [4]]
    assert {(r.source, r.line_number) for r in call.records()} == {("s3://b/k.jsonl", 7)}


def test_expand_is_pair_then_records() -> None:
    event = _event(_side("1,2\n3,4"), _side("0.1\n0.2"), inferenceId="x")
    assert (
        _expand(event, source="s", line_number=3)
        == _pair(event, source="s", line_number=3).records()
    )


def test_call_items_are_its_records_unless_outcomes_are_set() -> None:
    call = _pair(_event(_side("1\n2")))
    assert call.outcomes is None
    assert list(call.items()) == call.records()
    first, _ = call.records()
    reject = Reject(
        reason=Reason.INVALID_VALUE,
        source="<memory>",
        line_number=1,
        offset=0,
        message="m",
        raw=b"",
        index=1,
    )
    checked = dataclasses.replace(call, outcomes=(first, reject))
    assert list(checked.items()) == [first, reject]


@pytest.mark.parametrize(
    ("count", "inference_id", "longest"),
    [(1, "abc", 3), (2, "abc", 5), (10, "abc", 5), (11, "abc", 6), (3, "", len(EVENT_ID) + 2)],
)
def test_call_base_id_and_longest_id(count: int, inference_id: str, longest: int) -> None:
    data = "\n".join(str(i) for i in range(count))
    call = _pair(_event(_side(data), inferenceId=inference_id))
    assert call.base_id == (inference_id or EVENT_ID)
    assert call.longest_id == longest
    assert call.longest_id == max(len(r.partner_inference_id) for r in call.records())


def test_check_partner_id_refuses_ids_over_arthurs_limit() -> None:
    assert MAX_PARTNER_ID_LENGTH == 255
    check_partner_id("x" * MAX_PARTNER_ID_LENGTH)
    with pytest.raises(PartnerIdTooLongError) as info:
        check_partner_id("x" * (MAX_PARTNER_ID_LENGTH + 1))
    assert info.value.reason is Reason.ID_TOO_LONG
    assert str(info.value) == "partner_inference_id is 256 characters; Arthur allows 255"
    assert isinstance(info.value, ValueError)


# --- Reject -------------------------------------------------------------------------------------


def test_reject_line_number_describe_and_dead_letter_dict() -> None:
    reject = Reject(
        reason=Reason.COUNT_MISMATCH,
        source="s3://b/k.jsonl",
        line_number=4,
        offset=120,
        message="the request holds 2 inference(s) but the response holds 1",
        raw=b"{}",
        event_id="e",
    )
    assert reject.describe() == (
        "s3://b/k.jsonl:4: count_mismatch: "
        "the request holds 2 inference(s) but the response holds 1"
    )
    as_dict = reject.to_dict()
    assert (as_dict["line"], as_dict["offset"], as_dict["index"]) == (4, 120, None)
    assert "line_number" not in as_dict
    assert not hasattr(reject, "line")


# --- calls stream their inferences (issue 9, item 4) ---------------------------------------------


def test_call_items_are_a_lazy_sequence_of_its_records() -> None:
    call = _pair(_event(_side("1\n2\n3"), _side("7\n8\n9")))
    items = call.items()
    assert inspect.isgenerator(call.iter_records())
    assert not isinstance(items, (list, tuple))  # nothing made before it is asked for
    assert len(items) == 3
    assert bool(items)
    assert list(items) == call.records() == list(call.iter_records())
    assert list(items) == list(items)  # iterated again, the same
    assert items == call.records()
    assert items[0] == call.record(0) == call.records()[0]
    assert items[-1] == call.record(2) == call.record(-1)
    assert items[1:] == call.records()[1:]
    with pytest.raises(IndexError):
        call.record(3)
    with pytest.raises(IndexError):
        items[-4]


def test_iterating_a_big_call_holds_one_record_at_a_time() -> None:
    """A call's records are made as they are asked for: iterating 100,000 holds one."""
    rows = "\n".join(str(i % 10) for i in range(100_000))
    call = _pair(_event(_side(rows), _side(rows)))
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        count = sum(1 for _ in call.items())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 100_000
    assert peak - before < 1_000_000  # a list of 100,000 records would be tens of megabytes


def test_a_csv_side_is_kept_compactly() -> None:
    """100,000 one-value rows are one flat list of values, not 100,000 lists."""
    rows = "\n".join(str(i % 10) for i in range(100_000))
    event = _event(_side(rows), _side(rows))
    tracemalloc.start()
    try:
        call = _pair(event)
        kept, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert isinstance(call.inputs, Rows)
    assert isinstance(call.outputs, Rows)
    assert call.inputs[:2] == [[0], [1]]
    assert kept < 3_000_000  # two lists of 100,000 one-value lists are about 16 MB


def test_the_xgboost_split_is_compact_too() -> None:
    rows = 5_000
    request = "\n".join(["1"] * rows)
    call = _pair(_event(_side(request), _side(",".join(["0.5"] * rows))))
    assert isinstance(call.outputs, Rows)
    assert call.outputs[:2] == [[0.5], [0.5]]
    assert len(call.outputs) == rows
    few = _pair(_event(_side("1\n2\n3"), _side("0.1,0.2,0.3")))
    assert few.outputs == [[0.1], [0.2], [0.3]]


# --- max_inferences ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_side", "response_side"),
    [
        (_side("1\n2\n3"), _side("1\n2\n3")),  # the all-numeric CSV path
        (_side('"a"\n"b"\n"c"'), None),  # the general CSV path
        (_json([[1], [2], [3]]), _json([0.1, 0.2, 0.3])),  # any other decoder
        (_side("1\n2\n3"), _side("0.1,0.2,0.3")),  # the XGBoost split
    ],
)
def test_a_call_of_exactly_max_inferences_passes(
    request_side: dict[str, Any], response_side: dict[str, Any] | None
) -> None:
    call = _pair(_event(request_side, response_side), max_inferences=3)
    assert call.count == 3


@pytest.mark.parametrize(
    ("request_side", "response_side", "message"),
    [
        (_side("1\n2\n3\n4\n"), None, "the request holds 4 inferences"),
        (_side('"a"\n"b"\n"c"\n"d"'), None, "the request holds 4 inferences"),
        (_json([[1], [2], [3], [4]]), None, "the request holds 4 inferences"),
        (_side("1\n2"), _json([1, 2, 3, 4, 5]), "the response holds 5 inferences"),
        (None, _side("1\n2\n3\n4"), "the response holds 4 inferences"),
    ],
)
def test_a_side_over_max_inferences_is_too_many_inferences(
    request_side: dict[str, Any] | None, response_side: dict[str, Any] | None, message: str
) -> None:
    with pytest.raises(InvalidPayloadError) as info:
        _pair(_event(request_side, response_side), max_inferences=3)
    assert info.value.reason is Reason.TOO_MANY_INFERENCES
    assert info.value.message == (
        f"{message}, more than the limit of 3 per call (max_inferences_per_call)"
    )


def test_a_request_over_the_limit_is_refused_before_the_response_is_decoded() -> None:
    decoded: list[str] = []

    class Spy:
        media_types: tuple[str, ...] = ("application/x-spy",)

        def decode(self, payload: Payload) -> list[Inference]:
            decoded.append(payload.text())
            return [[1]]

    registry = default_registry()
    registry.register(Spy())
    event = _event(_side("1\n2\n3"), _side("x", "application/x-spy"))
    with pytest.raises(InvalidPayloadError):
        pair(event, SideDecoder(registry), max_inferences=2)
    assert decoded == []


def test_sniffing_keeps_the_too_many_inferences_reason() -> None:
    event = _event(_side("1\n2\n3", "text/x-unknown"))
    with pytest.raises(InvalidPayloadError) as info:
        pair(event, SideDecoder(default_registry(), sniff=True), max_inferences=2)
    assert info.value.reason is Reason.TOO_MANY_INFERENCES
