"""CaptureReader(mapper=SchemaMapper(...)) on fixtures/arthur: records, rejects, ledger."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from arthur_capture import (
    CaptureReader,
    Ledger,
    Lines,
    Reason,
    Reject,
    RejectedError,
    default_registry,
    read_records,
)
from arthur_capture._json import dumps_json
from arthur_capture.arthur.contract import new_inference
from arthur_capture.arthur.mapping import SchemaMapper
from arthur_capture.arthur.schema import ModelSchema

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "arthur"
EXPECTED = sorted(FIXTURES.glob("*.arthur.json"))


def typed(value: Any) -> Any:
    """JSON values with their number kind made visible, so that 1 and 1.0 differ."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return (type(value).__name__, value)
    if isinstance(value, dict):
        return {k: typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [typed(v) for v in value]
    raise TypeError(type(value).__name__)


def load(expected_path: Path) -> tuple[dict[str, Any], ModelSchema, Path]:
    expected = json.loads(expected_path.read_text())
    schema = ModelSchema.from_json((FIXTURES / expected["options"]["schema"]).read_bytes())
    capture = expected_path.with_name(expected_path.name.replace(".arthur.json", ".jsonl"))
    return expected, schema, capture


def schema_of(name: str) -> ModelSchema:
    return ModelSchema.from_json((FIXTURES / f"{name}.model.json").read_bytes())


def capture_line(
    request: str | None,
    response: str | None,
    *,
    event_id: str = "0b8e7c1d-2f4a-4c6e-9d1b-3a5c7e9f1b2d",
    inference_id: str | None = None,
    content_type: str = "text/csv",
) -> bytes:
    sides: dict[str, Any] = {}
    if request is not None:
        sides["endpointInput"] = {
            "observedContentType": content_type,
            "mode": "INPUT",
            "data": request,
            "encoding": "CSV",
        }
    if response is not None:
        sides["endpointOutput"] = {
            "observedContentType": "text/csv; charset=utf-8",
            "mode": "OUTPUT",
            "data": response,
            "encoding": "CSV",
        }
    meta: dict[str, Any] = {"eventId": event_id, "inferenceTime": "2024-03-02T12:00:00Z"}
    if inference_id is not None:
        meta["inferenceId"] = inference_id
    event = {"captureData": sides, "eventMetadata": meta, "eventVersion": "0"}
    return json.dumps(event).encode()


def test_every_fixture_has_its_capture_and_model() -> None:
    assert len(EXPECTED) == 5
    for path in EXPECTED:
        expected, _, capture = load(path)
        assert capture.is_file()
        assert expected["records"]


@pytest.mark.parametrize("expected_path", EXPECTED, ids=lambda p: p.name.split(".")[0])
def test_fixture_records_match_the_hand_worked_arthur_json(expected_path: Path) -> None:
    expected, schema, capture = load(expected_path)
    batch_id = expected["options"].get("batch_id")
    result = CaptureReader(mapper=SchemaMapper(schema)).read(capture)
    got = [json.loads(dumps_json(new_inference(r, batch_id=batch_id))) for r in result.records]
    assert typed(got) == typed(expected["records"])


@pytest.mark.parametrize("expected_path", EXPECTED, ids=lambda p: p.name.split(".")[0])
def test_fixture_rejects_carry_reason_line_index_and_event(expected_path: Path) -> None:
    expected, schema, capture = load(expected_path)
    result = CaptureReader(mapper=SchemaMapper(schema)).read(capture)
    got = [
        {"reason": str(r.reason), "line": r.line_number, "index": r.index, "event_id": r.event_id}
        for r in result.rejects
    ]
    want = [{k: v for k, v in r.items() if k != "message_contains"} for r in expected["rejects"]]
    assert got == want
    for reject, spec in zip(result.rejects, expected["rejects"], strict=True):
        if "message_contains" in spec:
            assert spec["message_contains"] in reject.message


@pytest.mark.parametrize("expected_path", EXPECTED, ids=lambda p: p.name.split(".")[0])
def test_fixture_ledger_balances(expected_path: Path) -> None:
    expected, schema, capture = load(expected_path)
    result = CaptureReader(mapper=SchemaMapper(schema)).read(capture)
    ledger = result.ledger
    assert ledger.to_dict() == expected["summary"]
    assert ledger.balanced
    assert ledger.lines == ledger.blank_lines + ledger.events + ledger.rejected_lines
    assert ledger.inferences == ledger.records + ledger.rejected_inferences
    assert ledger.records == len(result.records)
    assert ledger.rejected_inferences == sum(r.index is not None for r in result.rejects)
    assert ledger.rejected_lines == sum(r.index is None for r in result.rejects)
    assert sum(ledger.rejects_by_reason.values()) == len(result.rejects)


@pytest.mark.parametrize("expected_path", EXPECTED, ids=lambda p: p.name.split(".")[0])
def test_rejects_keep_the_exact_line_and_where_it_was(expected_path: Path) -> None:
    _, schema, capture = load(expected_path)
    data = capture.read_bytes()
    lines = data.split(b"\n")
    result = CaptureReader(mapper=SchemaMapper(schema)).read(capture)
    for reject in result.rejects:
        assert reject.source == str(capture)
        assert reject.raw == lines[reject.line_number - 1]
        assert data[reject.offset :].startswith(reject.raw)
        as_dict = reject.to_dict()
        assert as_dict["index"] == reject.index
        assert as_dict["event_id"] == reject.event_id
        assert as_dict["reason"] == str(reject.reason)


def test_inference_rejects_name_the_inference_in_the_message() -> None:
    result = CaptureReader(mapper=SchemaMapper(schema_of("churn_binary"))).read(
        FIXTURES / "churn_binary.jsonl"
    )
    (middle,) = [r for r in result.rejects if r.line_number == 5]
    assert middle.index == 1
    assert middle.message.startswith("inference 1 (cust-batch-7_1): ")
    assert "'abc'" in middle.message
    # the call's other inferences are emitted
    assert [r.partner_inference_id for r in result.records if r.line_number == 5] == [
        "cust-batch-7_0",
        "cust-batch-7_2",
    ]
    assert [r.index for r in result.records if r.line_number == 5] == [0, 2]


def test_ledgers_of_several_fixtures_add_up() -> None:
    total = Ledger()
    for path in EXPECTED:
        _, schema, capture = load(path)
        reader = CaptureReader(mapper=SchemaMapper(schema))
        stream = reader.iter_records(capture)
        items = list(stream)
        total.add(stream.ledger)
        assert len(items) == sum(1 for _ in reader.iter_records(capture))
    assert total.sources == 5
    assert total.balanced
    assert total.lines == 36
    assert total.records == 23
    assert total.rejected_inferences == 18
    assert total.rejected_lines == 2
    assert total.inferences == total.records + total.rejected_inferences


def test_csv_text_is_typed_by_the_schema() -> None:
    line = capture_line(
        "007,1,2024-03-01T09:30:00Z,012,1e2\n1.50,0,2024-03-01T09:30:00Z,3,4", "0.6\n0.4"
    )
    typed_schema = schema_of("typed_csv")
    first, second = read_records(Lines([line]), schema=typed_schema).records
    assert dict(first.inputs) == {
        "customer_code": "007",
        "is_member": True,
        "signup_time": first.inputs["signup_time"],
        "visits": 12,
        "spend": 100.0,
    }
    assert first.inputs["signup_time"].isoformat() == "2024-03-01T09:30:00+00:00"
    assert dict(first.outputs) == {"buy_probability": 0.6}
    assert second.inputs["customer_code"] == "1.50"
    assert type(second.inputs["spend"]) is float
    # without a schema the text is typed by the JSON number rule
    plain_first, plain_second = read_records(Lines([line])).records
    assert plain_first.inputs["input_0"] == "007"  # not a JSON number literal
    assert plain_first.inputs["input_3"] == "012"
    assert plain_first.inputs["input_4"] == 100.0
    assert plain_second.inputs["input_0"] == 1.5


def test_csv_stays_text_only_with_the_readers_own_registry() -> None:
    line = capture_line("1.50,1,2024-03-01T09:30:00Z,12,1.0", "0.62")
    schema = schema_of("typed_csv")
    (own,) = CaptureReader(mapper=SchemaMapper(schema)).read(Lines([line])).records
    assert own.inputs["customer_code"] == "1.50"
    # an explicit registry is used as given: its CSV decoder reads 1.50 as the number 1.5
    (given,) = (
        CaptureReader(mapper=SchemaMapper(schema), registry=default_registry())
        .read(Lines([line]))
        .records
    )
    assert given.inputs["customer_code"] == "1.5"


def test_a_bad_json_line_is_one_rejected_line_with_a_schema() -> None:
    good = capture_line("007,1,2024-03-01T09:30:00Z,12,1.0", "0.62")
    result = read_records(
        Lines([good, b'{"captureData": ', b"", good]), schema=schema_of("typed_csv")
    )
    assert [(str(r.reason), r.line_number, r.index, r.event_id) for r in result.rejects] == [
        ("invalid_json", 2, None, None)
    ]
    ledger = result.ledger
    assert (ledger.lines, ledger.blank_lines, ledger.events, ledger.rejected_lines) == (4, 1, 2, 1)
    assert (ledger.records, ledger.rejected_inferences) == (2, 0)
    assert ledger.balanced


def test_an_unreadable_payload_is_a_line_reject_not_an_inference_reject() -> None:
    bad_csv = capture_line('"unterminated,1', "0.5", event_id="e-bad")
    result = read_records(Lines([bad_csv]), schema=schema_of("typed_csv"))
    (reject,) = result.rejects
    assert reject.reason is Reason.INVALID_PAYLOAD
    assert reject.index is None
    assert reject.event_id == "e-bad"
    assert (result.ledger.rejected_lines, result.ledger.events) == (1, 0)


def test_id_too_long_counts_per_inference_with_a_schema() -> None:
    schema = schema_of("typed_csv")
    rows = "a,1,2024-03-01T09:30:00Z,1,1.0\nb,0,2024-03-01T09:30:00Z,2,2.0"
    fits = capture_line(rows, "0.1\n0.2", inference_id="i" * 253)
    too_long = capture_line(rows, "0.1\n0.2", inference_id="i" * 254, event_id="e-long")
    result = read_records(Lines([fits, too_long]), schema=schema)
    assert [len(r.partner_inference_id) for r in result.records] == [255, 255]
    assert [(r.reason, r.index, r.event_id, r.line_number) for r in result.rejects] == [
        (Reason.ID_TOO_LONG, 0, "e-long", 2),
        (Reason.ID_TOO_LONG, 1, "e-long", 2),
    ]
    assert result.ledger.rejected_inferences == 2
    assert result.ledger.events == 2


def test_strict_mode_stops_at_the_first_inference_reject() -> None:
    reader = CaptureReader(mapper=SchemaMapper(schema_of("churn_binary")), strict=True)
    with pytest.raises(RejectedError) as info:
        reader.read(FIXTURES / "churn_binary.jsonl")
    reject = info.value.reject
    assert isinstance(reject, Reject)
    assert (reject.reason, reject.line_number, reject.index) == (Reason.INVALID_VALUE, 4, 0)
    assert "churn_binary.jsonl:4: invalid_value" in info.value.message


def test_a_bare_attribute_list_reads_like_the_model() -> None:
    bare = ModelSchema.from_json((FIXTURES / "churn_binary.attributes.json").read_bytes())
    capture = FIXTURES / "churn_binary.jsonl"
    with_model = CaptureReader(mapper=SchemaMapper(schema_of("churn_binary"))).read(capture)
    with_list = CaptureReader(mapper=SchemaMapper(bare)).read(capture)
    assert with_list.records == with_model.records
    assert with_list.rejects == with_model.rejects
