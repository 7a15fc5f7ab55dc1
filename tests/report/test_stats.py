"""The report's statistics: bounded whatever the input, exact where the page says so."""

from __future__ import annotations

import statistics
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import orjson
import pytest

from arthur_capture import CaptureReader, Lines
from arthur_capture.arthur import ModelSchema, SchemaMapper
from arthur_capture.records import Reject
from arthur_capture.report import CaptureStats
from arthur_capture.report._stats import (
    MAX_KEYS,
    NOT_IN_A_KEY,
    SAMPLE_SIZE,
    UNATTRIBUTED,
    AttributeStats,
    CappedCounter,
    batch_bin,
    endpoint_variant,
    failed_attributes,
)
from tests.helpers import capture_line as event
from tests.report.captures import SCHEMA

if TYPE_CHECKING:
    from arthur_capture.records import Call


def _items(
    *lines: bytes, schema: ModelSchema | None = None, name: str = "x"
) -> list[Call | Reject]:
    mapper = SchemaMapper(schema) if schema is not None else None
    return list(CaptureReader(mapper=mapper).iter_calls(Lines(list(lines), name=name)))


def test_batch_bins_are_exact_to_ten_then_powers_of_two() -> None:
    assert [batch_bin(n) for n in (1, 2, 10)] == [(1, 1), (2, 2), (10, 10)]
    assert [batch_bin(n) for n in (11, 16, 17, 32, 33, 2_000_000)] == [
        (11, 16), (11, 16), (17, 32), (17, 32), (33, 64), (1_048_577, 2_097_152),
    ]  # fmt: skip


def test_endpoint_and_variant_come_from_the_sagemaker_key() -> None:
    key = "s3://b/prefix/churn/AllTraffic/2024/03/01/09/05-12-345-x.jsonl"
    assert endpoint_variant(key) == ("churn", "AllTraffic")
    assert endpoint_variant("C:\\caps\\ep\\v1\\2024\\03\\01\\09\\a.jsonl.gz") == ("ep", "v1")
    assert endpoint_variant("capture.jsonl") == (NOT_IN_A_KEY, NOT_IN_A_KEY)


def test_a_capped_counter_keeps_its_first_keys_and_counts_the_rest() -> None:
    counter: CappedCounter[int] = CappedCounter(limit=3)
    for key in [1, 2, 3, 4, 5, 1, 4]:
        counter.add(key)
    assert dict(counter.counts) == {1: 2, 2: 1, 3: 1}
    assert counter.overflow == 3
    assert counter.full


def test_a_numeric_attribute_keeps_exact_extremes_and_a_bounded_uniform_sample() -> None:
    (attribute,) = [a for a in ModelSchema.from_json(SCHEMA).attributes if a.name == "amount"]
    stats = AttributeStats(attribute)
    count = 200_000
    for value in range(count):
        stats.add(float(value))
    stats.add(None)
    stats.add(float("nan"))
    assert (stats.count, stats.nulls, stats.seen) == (count + 2, 1, count)
    assert (stats.low, stats.high) == (0.0, count - 1.0)
    assert stats.mean == pytest.approx((count - 1) / 2)
    assert len(stats.sample) == SAMPLE_SIZE
    assert len(set(stats.sample)) == SAMPLE_SIZE
    # uniform over the whole run: not just the first values, nor just the last
    assert statistics.fmean(stats.sample) == pytest.approx(count / 2, rel=0.05)
    assert sum(v < count / 2 for v in stats.sample) == pytest.approx(SAMPLE_SIZE / 2, rel=0.1)
    bins = stats.histogram()
    assert len(bins) == 20
    assert bins[0]["start"] == 0.0
    assert bins[-1]["end"] == pytest.approx(count - 1.0)
    assert sum(b["share"] for b in bins) == pytest.approx(1.0)
    assert all(0.03 < b["share"] < 0.07 for b in bins)


def test_text_values_count_in_a_capped_top_list() -> None:
    (attribute,) = [a for a in ModelSchema.from_json(SCHEMA).attributes if a.name == "name"]
    stats = AttributeStats(attribute)
    for number in range(3 * MAX_KEYS):
        stats.add(f"value-{number}")
    for _ in range(5):
        stats.add("common")
    assert len(stats.top.counts) == MAX_KEYS
    assert stats.top.overflow == 2 * MAX_KEYS + 5
    assert stats.sample == []


def test_hours_become_days_when_there_are_too_many(monkeypatch: pytest.MonkeyPatch) -> None:
    start = datetime(2024, 3, 1, tzinfo=UTC)
    lines = [
        event("1", "2", event_id=f"e{h}", when=(start + timedelta(hours=h)).isoformat())
        for h in range(72)
    ]
    stats = CaptureStats()
    stats.hourly = CappedCounter(limit=50)
    stats.add_all(_items(*lines))
    assert stats.per_day
    assert dict(stats.hourly.counts) == {
        (start + timedelta(days=d), NOT_IN_A_KEY, NOT_IN_A_KEY): 24 for d in range(3)
    }
    assert stats.hourly.overflow == 0


def test_content_types_and_batches_are_counted_per_call() -> None:
    stats = CaptureStats()
    stats.add_all(
        _items(
            event("1\n2\n3", "4\n5\n6"),
            event("1", "2", content_type="text/csv; charset=utf-8"),
            b"not json\n",
        )
    )
    assert stats.calls == 2
    assert stats.inferences == 4
    assert dict(stats.batches) == {(3, 3): 1, (1, 1): 1}
    assert dict(stats.content_types.counts) == {
        ("request", "text/csv", "CSV"): 1,
        ("response", "text/csv", "CSV"): 1,
        ("request", "text/csv; charset=utf-8", "CSV"): 1,
        ("response", "text/csv; charset=utf-8", "CSV"): 1,
    }
    assert [e.line_number for e in stats.examples["invalid_json"]] == [3]


def test_examples_are_kept_for_the_first_rejects_of_each_reason_only() -> None:
    stats = CaptureStats()
    stats.add_all(_items(*[b"{" + str(n).encode() + b"\n" for n in range(1000)]))
    assert [e.line_number for e in stats.examples["invalid_json"]] == [1, 2, 3]


def _json_call(request: object, response: object, event_id: str = "e") -> bytes:
    return event(
        orjson.dumps(request).decode(),
        orjson.dumps(response).decode(),
        content_type="application/json",
        encoding="JSON",
        event_id=event_id,
    )


@pytest.mark.parametrize(
    ("line", "reason", "names"),
    [
        (event('"a",x,true', "0.5"), "invalid_value", ["amount"]),
        (event('"a",1,maybe', "0.5"), "invalid_value", ["flag"]),
        (_json_call({"nope 'quoted'": 1}, {"score": 1}), "unknown_attribute", ["nope 'quoted'"]),
        (event('"a",1,true,9', "0.5"), "unknown_attribute", ["input_3"]),
        (_json_call({"name": "a"}, {"score": 1}), "missing_attribute", ["amount", "flag"]),
        (
            _json_call(
                {"name": "a", "amount": 1, "flag": True, "partner_inference_id": 1}, {"score": 1}
            ),
            "reserved_name",
            ["partner_inference_id"],
        ),
        (
            _json_call([["a", 1, True]], {"name": "b", "score": 1}),
            "name_conflict",
            ["name"],
        ),
    ],
    ids=["float", "boolean", "unknown", "position", "missing", "reserved", "conflict"],
)
def test_mapping_rejects_are_traced_to_their_attributes(
    line: bytes, reason: str, names: list[str]
) -> None:
    """The messages come from the real mapper: a change of its wording fails here."""
    schema = ModelSchema.from_json(SCHEMA)
    stats = CaptureStats(schema)
    items = _items(line, schema=schema)
    stats.add_all(items)
    rejects: list[Reject] = []
    for item in items:
        if isinstance(item, Reject):
            rejects.append(item)
        else:
            rejects.extend(o for o in item.outcomes or () if isinstance(o, Reject))
    assert [str(r.reason) for r in rejects] == [reason], [r.message for r in rejects]
    assert sorted(name for name, _ in stats.failures) == sorted(names)
    assert all(failure.count == 1 for failure in stats.failures.values())


def test_a_message_naming_no_attribute_is_counted_as_such() -> None:
    assert failed_attributes("inference 0 (x): something else") == [UNATTRIBUTED]
    assert failed_attributes("inference 0 (a): b): attribute 'amount' (FLOAT): bad") == ["amount"]
