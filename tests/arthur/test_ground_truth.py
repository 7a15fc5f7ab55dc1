"""Ground truth: rebuilding partner inference IDs from (call, index), and Arthur's PATCH body."""

from __future__ import annotations

import json
import math
from collections import defaultdict
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arthur_capture import (
    CaptureError,
    InferenceRecord,
    default_registry,
    dumps_json,
    partner_inference_id,
    read_records,
)
from arthur_capture.arthur.ground_truth import GroundTruth, GroundTruthJoiner
from arthur_capture.arthur.schema import ModelSchema
from arthur_capture.decoders.text_csv import CSVDecoder
from arthur_capture.errors import GroundTruthError

ROOT = Path(__file__).resolve().parents[2] / "fixtures"
ARTHUR = ROOT / "arthur"
WHEN = datetime(2024, 3, 5, 8, 0, tzinfo=UTC)


def schema_of(name: str) -> ModelSchema:
    return ModelSchema.from_json((ARTHUR / f"{name}.model.json").read_bytes())


def capture_files() -> list[Path]:
    """Every capture fixture in the repository (other groups are globbed as they exist)."""
    files = [*ROOT.glob("*/*.jsonl"), *ROOT.glob("*/*.jsonl.gz")]
    return sorted(files)


def read_fixture(path: Path) -> list[InferenceRecord]:
    """The records of one fixture, read with the options its expectation names (if any)."""
    if path.parent.name == "arthur":
        return read_records(path, schema=schema_of(path.name.removesuffix(".jsonl"))).records
    options: dict[str, Any] = {}
    expected = path.with_name(path.name.split(".jsonl")[0] + ".expected.json")
    if expected.is_file():
        spec = json.loads(expected.read_text(encoding="utf-8")).get("options", {})
        for key in ("sniff", "content_types", "max_line_bytes"):
            if key in spec:
                options[key] = spec[key]
        if spec.get("csv_header"):
            registry = default_registry()
            registry.register(CSVDecoder(header=True), replace=True)
            options["registry"] = registry
    return read_records(path, **options).records


def calls_by_key(records: list[InferenceRecord]) -> dict[str, set[tuple[str, int]]]:
    """Oracle: every (ID base, batch size) each call key was seen with."""
    seen: dict[str, set[tuple[str, int]]] = defaultdict(set)
    for record in records:
        base = record.inference_id or record.event_id
        seen[base].add((base, record.batch_size))
        seen[record.event_id].add((base, record.batch_size))
    return seen


def row(call_id: str, index: int | None = None, **extra: Any) -> GroundTruth:
    fields: dict[str, Any] = {"timestamp": WHEN, "data": {"churned": 1}, **extra}
    return GroundTruth(call_id=call_id, index=index, **fields)


def make_record(
    event_id: str, index: int, batch_size: int, inference_id: str | None = None
) -> InferenceRecord:
    base = inference_id or event_id
    return InferenceRecord(
        partner_inference_id=partner_inference_id(base, index, batch_size),
        inference_timestamp=WHEN,
        inputs={"input_0": 1},
        outputs={"output_0": 0.5},
        event_id=event_id,
        inference_id=inference_id,
        index=index,
        batch_size=batch_size,
        source="mem",
        line_number=1,
    )


def call(event_id: str, batch_size: int, inference_id: str | None = None) -> list[InferenceRecord]:
    return [make_record(event_id, i, batch_size, inference_id) for i in range(batch_size)]


# --- every batch shape in the fixtures ----------------------------------------------------


def test_fixture_files_are_found() -> None:
    files = capture_files()
    groups = {path.parent.name for path in files}
    assert "arthur" in groups
    assert len(files) >= 5


def test_every_fixture_record_gets_its_partner_id_back() -> None:
    checked = 0
    batch_sizes: set[int] = set()
    for path in capture_files():
        records = read_fixture(path)
        joiner = GroundTruthJoiner.from_records(records)
        oracle = calls_by_key(records)
        for record in records:
            batch_sizes.add(record.batch_size)
            for key in {record.inference_id or record.event_id, record.event_id}:
                gt = row(key, record.index)
                if len(oracle[key]) == 1:
                    assert joiner.partner_id(gt) == record.partner_inference_id, (path, key)
                    if record.batch_size == 1:
                        assert joiner.partner_id(row(key)) == record.partner_inference_id
                else:
                    with pytest.raises(GroundTruthError, match="batch_size"):
                        joiner.partner_id(gt)
                # a row that carries its batch size always rebuilds the ID
                sized = row(key, record.index, batch_size=record.batch_size)
                assert joiner.partner_id(sized) == record.partner_inference_id
                # and so does a row without any joiner
                unaided = GroundTruthJoiner().partner_id(sized)
                expected_base = record.inference_id or record.event_id
                assert unaided == partner_inference_id(key, record.index, record.batch_size)
                if key == expected_base:
                    assert unaided == record.partner_inference_id
                checked += 1
    assert checked >= 40
    assert {1, 2, 3} <= batch_sizes


def test_fixture_updates_carry_the_partner_ids() -> None:
    records = read_fixture(ARTHUR / "churn_binary.jsonl")
    joiner = GroundTruthJoiner.from_records(records, schema=schema_of("churn_binary"))
    rows = [
        row(r.inference_id or r.event_id, r.index, data={"churned": r.index % 2}) for r in records
    ]
    results = list(joiner.updates(rows))
    assert [r for r, _ in results] == rows
    bodies = [u for _, u in results]
    assert all(isinstance(u, dict) for u in bodies)
    assert [u["partner_inference_id"] for u in bodies if isinstance(u, dict)] == [
        r.partner_inference_id for r in records
    ]


# --- rows on their own ------------------------------------------------------------------


def test_rows_with_a_batch_size_need_no_joiner() -> None:
    joiner = GroundTruthJoiner()
    assert joiner.partner_id(row("abc", 1, batch_size=3)) == "abc_1"
    assert joiner.partner_id(row("abc", 0, batch_size=1)) == "abc"
    assert joiner.partner_id(row("abc", None, batch_size=1)) == "abc"


def test_doc_sm_example() -> None:
    records = call("3f2a1b0c", 2, inference_id="abcdefg-12345")
    joiner = GroundTruthJoiner.from_records(records)
    assert joiner.partner_id(row("abcdefg-12345", 0)) == "abcdefg-12345_0"
    assert joiner.partner_id(row("abcdefg-12345", 1)) == "abcdefg-12345_1"
    # keyed by SageMaker's eventId, the ID is still built on the inferenceId
    assert joiner.partner_id(row("3f2a1b0c", 1)) == "abcdefg-12345_1"


def test_an_unknown_call_with_an_index_and_no_batch_size_is_an_error() -> None:
    with pytest.raises(GroundTruthError, match="unknown") as info:
        GroundTruthJoiner().partner_id(row("never-seen", 0))
    assert "batch_size" in info.value.message


def test_an_unknown_call_without_an_index_is_a_single_inference() -> None:
    assert GroundTruthJoiner().partner_id(row("never-seen")) == "never-seen"


def test_a_batched_call_without_an_index_is_an_error() -> None:
    joiner = GroundTruthJoiner.from_records(call("e-3", 3))
    with pytest.raises(GroundTruthError, match="held 3 inferences"):
        joiner.partner_id(row("e-3"))
    with pytest.raises(GroundTruthError, match="needs an index"):
        GroundTruthJoiner().partner_id(row("x", None, batch_size=2))


@pytest.mark.parametrize(("index", "size"), [(3, 3), (-1, 3), (1, 1), (0, 0)])
def test_an_index_outside_the_call_is_an_error(index: int, size: int) -> None:
    with pytest.raises(GroundTruthError, match="outside"):
        GroundTruthJoiner().partner_id(row("c", index, batch_size=size))


def test_a_known_call_uses_its_captured_size() -> None:
    joiner = GroundTruthJoiner.from_records([*call("e-1", 1), *call("e-2", 2)])
    assert joiner.partner_id(row("e-1", 0)) == "e-1"
    assert joiner.partner_id(row("e-2", 0)) == "e-2_0"
    with pytest.raises(GroundTruthError, match="outside"):
        joiner.partner_id(row("e-2", 2))


def test_reused_inference_ids_with_different_sizes_are_ambiguous() -> None:
    records = [*call("e-single", 1, "retry-1"), *call("e-batch", 2, "retry-1")]
    joiner = GroundTruthJoiner.from_records(records)
    with pytest.raises(GroundTruthError, match="more than once") as info:
        joiner.partner_id(row("retry-1", 0))
    assert "batch_size" in info.value.message
    assert joiner.partner_id(row("retry-1", 1, batch_size=2)) == "retry-1_1"
    assert joiner.partner_id(row("retry-1", 0, batch_size=1)) == "retry-1"
    # each call's eventId still names exactly one call
    assert joiner.partner_id(row("e-batch", 1)) == "retry-1_1"
    assert joiner.partner_id(row("e-single")) == "retry-1"


def test_reused_inference_ids_with_the_same_size_are_not_ambiguous() -> None:
    joiner = GroundTruthJoiner.from_records([*call("e-a", 2, "dup"), *call("e-b", 2, "dup")])
    assert joiner.partner_id(row("dup", 1)) == "dup_1"


def test_learning_in_steps_equals_learning_at_once() -> None:
    first, second = call("e-1", 2, "a"), call("e-2", 1)
    stepwise = GroundTruthJoiner()
    stepwise.learn(first)
    stepwise.learn(second)
    at_once = GroundTruthJoiner.from_records([*first, *second])
    for gt in (row("a", 1), row("e-1", 0), row("e-2")):
        assert stepwise.partner_id(gt) == at_once.partner_id(gt)


def test_a_rebuilt_id_over_255_characters_is_an_error() -> None:
    base = "i" * 254
    joiner = GroundTruthJoiner.from_records(call("e-long", 2, base))
    with pytest.raises(GroundTruthError, match="256 characters"):
        joiner.partner_id(row(base, 1))
    assert joiner.partner_id(row(base, 0, batch_size=1)) == base


@given(
    base=st.text(min_size=1, max_size=40),
    size=st.integers(min_value=1, max_value=6),
    data=st.data(),
)
def test_partner_ids_round_trip_for_any_call(base: str, size: int, data: st.DataObject) -> None:
    records = call("evt-" + base, size, base)
    joiner = GroundTruthJoiner.from_records(records)
    index = data.draw(st.integers(min_value=0, max_value=size - 1))
    assert joiner.partner_id(row(base, index)) == records[index].partner_inference_id


# --- the PATCH body -----------------------------------------------------------------------


def test_update_has_exactly_the_three_fields_arthur_requires() -> None:
    joiner = GroundTruthJoiner.from_records(call("e-1", 2, "order-9"))
    body = json.loads(dumps_json([joiner.update(row("order-9", 1, data={"churned": 1}))]))
    assert body == [
        {
            "partner_inference_id": "order-9_1",
            "ground_truth_timestamp": "2024-03-05T08:00:00+00:00",
            "ground_truth_data": {"churned": 1},
        }
    ]


@pytest.mark.parametrize(
    ("timestamp", "expected"),
    [
        ("2024-03-05T08:00:00Z", "2024-03-05T08:00:00+00:00"),
        ("2024-03-05T13:30:00+05:30", "2024-03-05T13:30:00+05:30"),
        ("2024-03-05 03:00:00-05:00", "2024-03-05T03:00:00-05:00"),
        (
            datetime(2024, 3, 5, 9, 0, tzinfo=timezone(timedelta(hours=1))),
            "2024-03-05T09:00:00+01:00",
        ),
        (datetime(2024, 3, 5, 8, 0, 0, 125000, tzinfo=UTC), "2024-03-05T08:00:00.125000+00:00"),
    ],
)
def test_ground_truth_timestamps_keep_their_offset(timestamp: Any, expected: str) -> None:
    update = GroundTruthJoiner().update(row("c", timestamp=timestamp))
    assert json.loads(dumps_json(update))["ground_truth_timestamp"] == expected


@pytest.mark.parametrize("timestamp", ["2024-03-05T08:00:00", WHEN.replace(tzinfo=None), "soon"])
def test_naive_or_unreadable_ground_truth_timestamps_are_refused(timestamp: Any) -> None:
    with pytest.raises(GroundTruthError, match="ground_truth_timestamp"):
        GroundTruthJoiner().update(row("c", timestamp=timestamp))


def test_non_finite_ground_truth_becomes_null_also_nested() -> None:
    data = {"price_gt": math.nan, "labels": [1.0, math.inf, {"x": -math.inf}], "ok": 2.5}
    update = GroundTruthJoiner().update(row("c", data=data))
    text = dumps_json([update])
    assert b"NaN" not in text
    assert b"Infinity" not in text
    assert json.loads(text)[0]["ground_truth_data"] == {
        "price_gt": None,
        "labels": [1.0, None, {"x": None}],
        "ok": 2.5,
    }


def test_empty_ground_truth_data_is_refused() -> None:
    with pytest.raises(GroundTruthError, match="empty"):
        GroundTruthJoiner().update(row("c", data={}))


def test_updates_pair_every_row_with_its_update_or_error() -> None:
    joiner = GroundTruthJoiner.from_records(call("e-1", 2))
    rows = [row("e-1", 0), row("e-1", 5), row("e-1", 1, timestamp="2024-03-05T08:00:00")]
    results = list(joiner.updates(rows))
    assert [r for r, _ in results] == rows
    first, second, third = (u for _, u in results)
    assert isinstance(first, dict)
    assert first["partner_inference_id"] == "e-1_0"
    assert isinstance(second, GroundTruthError)
    assert "outside" in second.message
    assert isinstance(third, GroundTruthError)
    assert "timezone" in third.message


# --- with a model schema ------------------------------------------------------------------


def test_schema_coerces_ground_truth_values() -> None:
    joiner = GroundTruthJoiner(schema=schema_of("churn_binary"))
    update = joiner.update(row("c", data={"churned": "1"}))
    assert update["ground_truth_data"] == {"churned": 1}
    iris = GroundTruthJoiner(schema=schema_of("multiclass_iris"))
    data = {"setosa_gt": 1.0, "versicolor_gt": "0", "virginica_gt": 0}
    assert iris.update(row("c", data=data))["ground_truth_data"] == {
        "setosa_gt": 1,
        "versicolor_gt": 0,
        "virginica_gt": 0,
    }
    housing = GroundTruthJoiner(schema=schema_of("regression_housing"))
    update = housing.update(row("c", data={"price_gt": math.nan}))
    assert update["ground_truth_data"] == {"price_gt": None}


@pytest.mark.parametrize(
    "name", ["churn_true_score", "account_length", "churn_false_score", "no_such_attribute"]
)
def test_schema_accepts_only_ground_truth_attributes(name: str) -> None:
    joiner = GroundTruthJoiner(schema=schema_of("churn_binary"))
    with pytest.raises(GroundTruthError, match="not a GROUND_TRUTH or GROUND_TRUTH_CLASS") as info:
        joiner.update(row("c", data={name: 1}))
    assert repr(name) in info.value.message


def test_schema_refuses_values_that_do_not_fit() -> None:
    joiner = GroundTruthJoiner(schema=schema_of("churn_binary"))
    with pytest.raises(GroundTruthError, match=r"attribute 'churned' \(INTEGER\)"):
        joiner.update(row("c", data={"churned": "yes"}))


def test_ground_truth_error_is_a_capture_error() -> None:
    error = GroundTruthError("x")
    assert isinstance(error, CaptureError)
    assert isinstance(error, ValueError)
