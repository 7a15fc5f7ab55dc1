"""The pydantic models of one capture line (arthur_capture.events)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pydantic
import pytest

from arthur_capture import CaptureData, CaptureEvent, CaptureSide, Encoding, EventMetadata

TIME = "2024-01-19T19:27:57Z"


def _side(**overrides: Any) -> dict[str, Any]:
    side: dict[str, Any] = {
        "observedContentType": "text/csv",
        "mode": "INPUT",
        "data": "1,2",
        "encoding": "CSV",
    }
    side.update(overrides)
    return {k: v for k, v in side.items() if v is not ...}


def _event(
    *,
    capture: dict[str, Any] | None = None,
    meta: dict[str, Any] | None = None,
    **top: Any,
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "captureData": capture
        if capture is not None
        else {"endpointInput": _side(), "endpointOutput": _side(mode="OUTPUT", data="0.5")},
        "eventMetadata": meta if meta is not None else {"eventId": "e-1", "inferenceTime": TIME},
        "eventVersion": "0",
    }
    doc.update(top)
    return doc


def _parse(doc: dict[str, Any]) -> CaptureEvent:
    return CaptureEvent.model_validate_json(json.dumps(doc))


# --- names ---------------------------------------------------------------------------------


def test_camel_case_wire_names_map_to_snake_case_attributes() -> None:
    doc = _event(
        meta={
            "eventId": "e-1",
            "inferenceId": "inf-1",
            "inferenceTime": TIME,
            "customAttributes": ["a"],
        }
    )
    event = _parse(doc)
    assert isinstance(event.capture_data, CaptureData)
    side = event.capture_data.endpoint_input
    assert isinstance(side, CaptureSide)
    assert side.observed_content_type == "text/csv"
    assert side.mode == "INPUT"
    assert side.data == "1,2"
    assert side.encoding is Encoding.CSV
    out = event.capture_data.endpoint_output
    assert out is not None
    assert out.mode == "OUTPUT"
    assert out.data == "0.5"
    meta = event.event_metadata
    assert meta.event_id == "e-1"
    assert meta.inference_id == "inf-1"
    assert meta.inference_time == datetime(2024, 1, 19, 19, 27, 57, tzinfo=UTC)
    assert meta.custom_attributes == ["a"]
    assert event.event_version == "0"


def test_dump_by_alias_gives_back_the_wire_names() -> None:
    event = _parse(_event())
    dumped = event.model_dump(by_alias=True, exclude_none=True, mode="json")
    assert set(dumped) == {"captureData", "eventMetadata", "eventVersion"}
    assert set(dumped["captureData"]) == {"endpointInput", "endpointOutput"}
    assert set(dumped["captureData"]["endpointInput"]) == {
        "observedContentType",
        "mode",
        "data",
        "encoding",
    }
    assert set(dumped["eventMetadata"]) == {"eventId", "inferenceTime"}


def test_snake_case_names_are_accepted_too() -> None:
    event = CaptureEvent.model_validate(
        {
            "capture_data": {"endpoint_input": {"data": "1", "encoding": "CSV"}},
            "event_metadata": {"event_id": "e-1", "inference_time": TIME},
        }
    )
    assert event.capture_data.endpoint_input is not None
    assert event.event_metadata.event_id == "e-1"


def test_populate_by_name_also_reads_snake_case_json() -> None:
    meta = EventMetadata.model_validate_json(
        json.dumps({"event_id": "e-1", "inference_time": TIME})
    )
    assert meta.event_id == "e-1"
    assert meta.model_extra == {}


# --- unknown keys ------------------------------------------------------------------------


def test_unknown_keys_are_kept_at_every_level() -> None:
    doc = _event(
        capture={
            "endpointInput": {**_side(), "sideExtra": 1},
            "endpointOutput": {**_side(mode="OUTPUT"), "other": [1, 2]},
            "batchTransformOutput": {"data": "x"},
        },
        meta={"eventId": "e-1", "inferenceTime": TIME, "targetModel": "m.tar.gz"},
        groundTruthData={"data": "1", "encoding": "CSV"},
    )
    event = _parse(doc)
    assert event.model_extra == {"groundTruthData": {"data": "1", "encoding": "CSV"}}
    assert event.capture_data.model_extra == {"batchTransformOutput": {"data": "x"}}
    assert event.capture_data.endpoint_input is not None
    assert event.capture_data.endpoint_input.model_extra == {"sideExtra": 1}
    assert event.capture_data.endpoint_output is not None
    assert event.capture_data.endpoint_output.model_extra == {"other": [1, 2]}
    assert event.event_metadata.model_extra == {"targetModel": "m.tar.gz"}


def test_no_unknown_keys_gives_an_empty_extra() -> None:
    event = _parse(_event())
    assert event.model_extra == {}
    assert event.event_metadata.model_extra == {}


def test_models_are_frozen() -> None:
    event = _parse(_event())
    with pytest.raises(pydantic.ValidationError):
        event.event_version = "1"  # type: ignore[misc]


# --- observedContentType --------------------------------------------------------------------


def test_content_type_keeps_its_parameters_verbatim() -> None:
    event = _parse(
        _event(capture={"endpointInput": _side(observedContentType="Text/CSV; charset=UTF-8")})
    )
    assert event.capture_data.endpoint_input is not None
    assert event.capture_data.endpoint_input.observed_content_type == "Text/CSV; charset=UTF-8"


def test_content_type_may_be_null() -> None:
    event = _parse(_event(capture={"endpointInput": _side(observedContentType=None)}))
    assert event.capture_data.endpoint_input is not None
    assert event.capture_data.endpoint_input.observed_content_type is None


def test_content_type_and_mode_may_be_absent() -> None:
    event = _parse(_event(capture={"endpointInput": _side(observedContentType=..., mode=...)}))
    side = event.capture_data.endpoint_input
    assert side is not None
    assert side.observed_content_type is None
    assert side.mode is None


def test_content_type_of_the_wrong_type_is_refused() -> None:
    with pytest.raises(pydantic.ValidationError, match="observedContentType"):
        _parse(_event(capture={"endpointInput": _side(observedContentType=5)}))


# --- sides ----------------------------------------------------------------------------------


def test_input_only_line() -> None:
    event = _parse(_event(capture={"endpointInput": _side()}))
    assert event.capture_data.endpoint_input is not None
    assert event.capture_data.endpoint_output is None


def test_output_only_line() -> None:
    event = _parse(_event(capture={"endpointOutput": _side(mode="OUTPUT")}))
    assert event.capture_data.endpoint_input is None
    assert event.capture_data.endpoint_output is not None


def test_empty_capture_data_parses_with_no_side() -> None:
    # Neither side is a model-level error; expand() rejects it (see test_records).
    event = _parse(_event(capture={}))
    assert event.capture_data.endpoint_input is None
    assert event.capture_data.endpoint_output is None


@pytest.mark.parametrize("encoding", ["CSV", "JSON", "BASE64"])
def test_each_encoding_is_accepted(encoding: str) -> None:
    event = _parse(_event(capture={"endpointInput": _side(encoding=encoding)}))
    assert event.capture_data.endpoint_input is not None
    assert event.capture_data.endpoint_input.encoding == Encoding(encoding)


@pytest.mark.parametrize("encoding", ["csv", "TEXT", "", None])
def test_other_encodings_are_refused(encoding: str | None) -> None:
    with pytest.raises(pydantic.ValidationError, match="encoding"):
        _parse(_event(capture={"endpointInput": _side(encoding=encoding)}))


@pytest.mark.parametrize("data", [{"a": 1}, [1], 5, None])
def test_data_must_be_a_string(data: object) -> None:
    with pytest.raises(pydantic.ValidationError, match="data"):
        _parse(_event(capture={"endpointInput": _side(data=data)}))


def test_data_is_required() -> None:
    with pytest.raises(pydantic.ValidationError, match="data"):
        _parse(_event(capture={"endpointInput": _side(data=...)}))


def test_capture_data_and_event_metadata_are_required() -> None:
    doc = _event()
    del doc["captureData"]
    with pytest.raises(pydantic.ValidationError, match="captureData"):
        _parse(doc)
    doc = _event()
    del doc["eventMetadata"]
    with pytest.raises(pydantic.ValidationError, match="eventMetadata"):
        _parse(doc)


def test_event_version_defaults_to_zero_and_is_kept_as_given() -> None:
    doc = _event()
    del doc["eventVersion"]
    assert _parse(doc).event_version == "0"
    assert _parse(_event(eventVersion="1")).event_version == "1"


def test_event_id_is_required_and_non_empty() -> None:
    with pytest.raises(pydantic.ValidationError, match="eventId"):
        _parse(_event(meta={"inferenceTime": TIME}))
    with pytest.raises(pydantic.ValidationError, match="eventId"):
        _parse(_event(meta={"eventId": "", "inferenceTime": TIME}))


# --- inferenceTime --------------------------------------------------------------------------


def test_inference_time_with_z_is_utc() -> None:
    meta = _parse(_event()).event_metadata
    assert meta.inference_time.utcoffset() == timedelta(0)
    assert meta.inference_time == datetime(2024, 1, 19, 19, 27, 57, tzinfo=UTC)


def test_inference_time_keeps_an_explicit_offset() -> None:
    meta = _parse(
        _event(meta={"eventId": "e", "inferenceTime": "2024-01-19T21:27:57+02:00"})
    ).event_metadata
    assert meta.inference_time.utcoffset() == timedelta(hours=2)
    assert meta.inference_time == datetime(2024, 1, 19, 19, 27, 57, tzinfo=UTC)


def test_inference_time_with_milliseconds_is_accepted() -> None:
    meta = _parse(
        _event(meta={"eventId": "e", "inferenceTime": "2024-01-19T19:27:57.123Z"})
    ).event_metadata
    assert meta.inference_time == datetime(2024, 1, 19, 19, 27, 57, 123000, tzinfo=UTC)


@pytest.mark.parametrize("naive", ["2024-01-19T19:27:57", "2024-01-19T19:27:57.123"])
def test_naive_inference_time_is_refused(naive: str) -> None:
    with pytest.raises(pydantic.ValidationError, match="inferenceTime"):
        _parse(_event(meta={"eventId": "e", "inferenceTime": naive}))


def test_naive_datetime_object_is_refused_in_python_too() -> None:
    with pytest.raises(pydantic.ValidationError):
        EventMetadata.model_validate(
            {"eventId": "e", "inferenceTime": datetime(2024, 1, 19)}  # noqa: DTZ001
        )
    aware = EventMetadata.model_validate(
        {"eventId": "e", "inferenceTime": datetime(2024, 1, 19, tzinfo=timezone.utc)}  # noqa: UP017
    )
    assert aware.inference_time.tzinfo is not None


@pytest.mark.parametrize("bad", ["not a time", "2024-13-01T00:00:00Z", "", None])
def test_unparseable_inference_time_is_refused(bad: str | None) -> None:
    with pytest.raises(pydantic.ValidationError, match="inferenceTime"):
        _parse(_event(meta={"eventId": "e", "inferenceTime": bad}))


def test_inference_time_is_required() -> None:
    with pytest.raises(pydantic.ValidationError, match="inferenceTime"):
        _parse(_event(meta={"eventId": "e"}))


# --- customAttributes and inferenceId -----------------------------------------------------


def test_custom_attributes_are_a_list_of_opaque_strings() -> None:
    attrs = ['{"testIndicator": "true", "transactionId":"001"}', "plain text, with comma"]
    meta = _parse(
        _event(meta={"eventId": "e", "inferenceTime": TIME, "customAttributes": attrs})
    ).event_metadata
    assert meta.custom_attributes == attrs


def test_custom_attributes_absent_is_none_and_empty_list_is_kept() -> None:
    assert _parse(_event()).event_metadata.custom_attributes is None
    meta = _parse(
        _event(meta={"eventId": "e", "inferenceTime": TIME, "customAttributes": []})
    ).event_metadata
    assert meta.custom_attributes == []


@pytest.mark.parametrize("bad", ["a string", [1], [None], [{"a": 1}], {"a": "b"}])
def test_custom_attributes_must_be_a_list_of_strings(bad: object) -> None:
    with pytest.raises(pydantic.ValidationError, match="customAttributes"):
        _parse(_event(meta={"eventId": "e", "inferenceTime": TIME, "customAttributes": bad}))


def test_inference_id_is_free_text() -> None:
    meta = _parse(
        _event(meta={"eventId": "e", "inferenceTime": TIME, "inferenceId": "shadow test, index 7"})
    ).event_metadata
    assert meta.inference_id == "shadow test, index 7"
    with pytest.raises(pydantic.ValidationError, match="inferenceId"):
        _parse(_event(meta={"eventId": "e", "inferenceTime": TIME, "inferenceId": 7}))


def test_event_metadata_key_order_does_not_matter() -> None:
    text = (
        '{"captureData":{"endpointInput":{"data":"1","encoding":"CSV"}},'
        '"eventVersion":"0","eventMetadata":{"inferenceTime":"2024-01-19T19:27:57Z",'
        '"inferenceId":"i","eventId":"e"}}'
    )
    event = CaptureEvent.model_validate_json(text)
    assert (event.event_metadata.event_id, event.event_metadata.inference_id) == ("e", "i")


# --- mutation testing (docs/reliability.md) --------------------------------------------------


@pytest.mark.parametrize("number", [1705692477, 1705692477.5])
def test_epoch_inference_time_error_says_why(number: float) -> None:
    with pytest.raises(pydantic.ValidationError) as info:
        _parse(_event(meta={"eventId": "e-1", "inferenceTime": number}))
    (error,) = info.value.errors()
    assert error["loc"] == ("eventMetadata", "inferenceTime")
    assert error["msg"] == "Value error, inferenceTime must be an ISO 8601 string, not a number"
