"""Issue 9 item 9: partner inference IDs repeated in a run are counted, or rejected."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arthur_capture import (
    CaptureReader,
    CountMismatchError,
    InferenceRecord,
    Lines,
    Named,
    Reason,
    Reject,
    RejectedError,
)
from arthur_capture.reading._ledger import MAX_DUPLICATE_EXAMPLES

if TYPE_CHECKING:
    from pathlib import Path

    from arthur_capture.reading._ledger import Ledger

TIME = "2024-03-01T12:00:00Z"


def _line(event_id: str, *, data: str = "1,2", inference_id: str | None = None) -> bytes:
    metadata: dict[str, Any] = {"eventId": event_id, "inferenceTime": TIME}
    if inference_id is not None:
        metadata["inferenceId"] = inference_id
    doc = {
        "captureData": {
            "endpointInput": {"observedContentType": "text/csv", "data": data, "encoding": "CSV"}
        },
        "eventMetadata": metadata,
        "eventVersion": "0",
    }
    return json.dumps(doc, separators=(",", ":")).encode()


def _file(*lines: bytes) -> bytes:
    return b"".join(line + b"\n" for line in lines)


def _accounted(ledger: Ledger, records: int, rejected_inferences: int) -> None:
    assert ledger.balanced
    assert ledger.records == records
    assert ledger.rejected_inferences == rejected_inferences


class _Keep:
    """A mapper that keeps every record: it makes the reader check inferences one by one."""

    types_values = False

    def map(self, record: InferenceRecord) -> InferenceRecord:
        return record


def test_no_repeat_counts_nothing() -> None:
    ledger = CaptureReader().read(_file(_line("a"), _line("b", data="1\n2"))).ledger
    assert ledger.duplicate_partner_ids == 0
    assert ledger.duplicate_examples == []
    assert ledger.to_dict()["duplicate_partner_ids"] == 0


def test_repeats_across_two_files_of_a_run_are_counted_and_emitted(tmp_path: Path) -> None:
    first = tmp_path / "monday.jsonl"
    second = tmp_path / "tuesday.jsonl"
    first.write_bytes(_file(_line("a"), _line("b", data="1\n2")))
    second.write_bytes(_file(_line("c"), _line("a"), _line("b", data="1\n2\n3")))
    result = CaptureReader().read(first, second)
    ids = [r.partner_inference_id for r in result.records]
    assert ids == ["a", "b_0", "b_1", "c", "a", "b_0", "b_1", "b_2"]
    assert result.rejects == []
    ledger = result.ledger
    assert ledger.duplicate_partner_ids == 3  # a, b_0, b_1 again; b_2 is new
    assert ledger.duplicate_examples == [
        {"partner_inference_id": "a", "first": f"{first}:1", "repeat": f"{second}:2"},
        {"partner_inference_id": "b_0", "first": f"{first}:2", "repeat": f"{second}:3"},
        {"partner_inference_id": "b_1", "first": f"{first}:2", "repeat": f"{second}:3"},
    ]
    _accounted(ledger, records=8, rejected_inferences=0)
    summary = ledger.to_dict()
    assert summary["duplicate_partner_ids"] == 3
    assert summary["duplicate_examples"] == ledger.duplicate_examples


def test_each_run_starts_afresh() -> None:
    reader = CaptureReader()
    data = _file(_line("a"))
    assert reader.read(data).ledger.duplicate_partner_ids == 0
    assert reader.read(data).ledger.duplicate_partner_ids == 0
    assert reader.read(data, data).ledger.duplicate_partner_ids == 1


def test_the_same_name_read_twice_is_told_apart() -> None:
    data = _file(_line("a"))
    ledger = CaptureReader().read(Named(data, "x.jsonl"), Named(data, "x.jsonl")).ledger
    assert ledger.duplicate_examples == [
        {
            "partner_inference_id": "a",
            "first": "x.jsonl:1 (source 1)",
            "repeat": "x.jsonl:1 (source 2)",
        }
    ]


def test_inference_ids_are_what_repeat_not_event_ids() -> None:
    lines = [_line("e1", inference_id="same"), _line("e2", inference_id="same"), _line("e3")]
    ledger = CaptureReader().read(Lines(lines)).ledger
    assert ledger.duplicate_partner_ids == 1
    assert ledger.duplicate_examples == [
        {"partner_inference_id": "same", "first": "<lines>:1", "repeat": "<lines>:2"}
    ]


def test_examples_are_bounded_but_every_repeat_is_counted() -> None:
    lines = [_line(f"id{n}") for n in range(25)] * 2
    ledger = CaptureReader().read(Lines(lines)).ledger
    assert ledger.duplicate_partner_ids == 25
    assert len(ledger.duplicate_examples) == MAX_DUPLICATE_EXAMPLES == 10
    assert [e["partner_inference_id"] for e in ledger.duplicate_examples] == [
        f"id{n}" for n in range(10)
    ]
    assert ledger.duplicate_examples[0] == {
        "partner_inference_id": "id0",
        "first": "<lines>:1",
        "repeat": "<lines>:26",
    }
    _accounted(ledger, records=50, rejected_inferences=0)


def test_reject_duplicates_rejects_each_repeat_with_its_index() -> None:
    lines = [_line("b", data="1\n2"), _line("b", data="1\n2\n3"), _line("b", data="1\n2\n3")]
    result = CaptureReader(reject_duplicates=True).read(Lines(lines))
    assert [r.partner_inference_id for r in result.records] == ["b_0", "b_1", "b_2"]
    assert [r.line_number for r in result.records] == [1, 1, 2]
    assert [(r.reason, r.line_number, r.index) for r in result.rejects] == [
        (Reason.DUPLICATE_PARTNER_ID, 2, 0),
        (Reason.DUPLICATE_PARTNER_ID, 2, 1),
        (Reason.DUPLICATE_PARTNER_ID, 3, 0),
        (Reason.DUPLICATE_PARTNER_ID, 3, 1),
        (Reason.DUPLICATE_PARTNER_ID, 3, 2),
    ]
    reject = result.rejects[0]
    assert reject.message == (
        "inference 0 (b_0): the partner_inference_id was already read at <lines>:1"
    )
    assert reject.event_id == "b"
    assert reject.raw == lines[1]
    assert result.rejects[4].message.endswith("already read at <lines>:2")  # b_2: first at 2
    ledger = result.ledger
    assert ledger.duplicate_partner_ids == 5
    assert ledger.rejects_by_reason == {"duplicate_partner_id": 5}
    assert ledger.events == 3
    assert ledger.rejected_lines == 0
    _accounted(ledger, records=3, rejected_inferences=5)


def test_reject_duplicates_on_a_single_inference_fast_path_call() -> None:
    stream = CaptureReader(reject_duplicates=True).iter_calls(Lines([_line("a"), _line("a")]))
    first, second = list(stream)
    assert not isinstance(first, Reject)
    assert first.outcomes is None  # the first sighting keeps the fast path
    assert not isinstance(second, Reject)
    assert second.outcomes is not None
    (outcome,) = second.outcomes
    assert isinstance(outcome, Reject)
    assert (outcome.reason, outcome.index, outcome.line_number) == (
        Reason.DUPLICATE_PARTNER_ID,
        0,
        2,
    )
    _accounted(stream.ledger, records=1, rejected_inferences=1)


def test_calls_checked_one_by_one_are_checked_too() -> None:
    # With a mapper every call's outcomes are set: the records there are what is checked.
    lines = [_line("a", data="1\n2"), _line("a", data="1\n2")]
    counted = CaptureReader(mapper=_Keep()).read(Lines(lines))
    assert counted.ledger.duplicate_partner_ids == 2
    assert len(counted.records) == 4
    rejected = CaptureReader(mapper=_Keep(), reject_duplicates=True).read(Lines(lines))
    assert [(r.reason, r.index) for r in rejected.rejects] == [
        (Reason.DUPLICATE_PARTNER_ID, 0),
        (Reason.DUPLICATE_PARTNER_ID, 1),
    ]
    _accounted(rejected.ledger, records=2, rejected_inferences=2)


def test_a_rejected_inference_is_not_a_first_sighting() -> None:
    long_id = "x" * 256  # id_too_long: never emitted, so not remembered
    lines = [_line("e1", inference_id=long_id), _line("e2", inference_id=long_id)]
    result = CaptureReader(reject_duplicates=True).read(Lines(lines))
    assert [r.reason for r in result.rejects] == [Reason.ID_TOO_LONG, Reason.ID_TOO_LONG]
    assert result.ledger.duplicate_partner_ids == 0


def test_strict_stops_at_a_duplicate() -> None:
    reader = CaptureReader(reject_duplicates=True, strict=True)
    stream = reader.iter_records(Lines([_line("a"), _line("a")]))
    first = next(stream)
    assert isinstance(first, InferenceRecord)
    with pytest.raises(RejectedError, match="duplicate_partner_id"):
        next(stream)


class _RefuseOdd:
    """A mapper that refuses every record whose first value is odd (a per-inference reject)."""

    types_values = False

    def map(self, record: InferenceRecord) -> InferenceRecord:
        if int(next(iter(record.inputs.values()))) % 2:
            raise CountMismatchError("odd")
        return record


# IDs chosen to collide every way: a base and its numbered IDs, read both ways
_IDS = ("a", "a_0", "a_1", "a_2", "a_01", "a_1_0", "b", "b_0", "a_")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    calls=st.lists(
        st.tuples(st.sampled_from(_IDS), st.lists(st.integers(0, 9), min_size=1, max_size=4)),
        max_size=12,
    ),
    mapper=st.sampled_from([None, _Keep(), _RefuseOdd()]),
    split=st.integers(0, 12),
)
def test_repeats_are_exactly_those_of_a_plain_dict_of_every_id(
    calls: list[tuple[str, list[int]]], mapper: Any, split: int
) -> None:
    """The compact store (a base per numbered call) finds exactly the repeats a dict does."""
    lines = [
        _line(f"e{n}", inference_id=i, data="\n".join(map(str, rows)))
        for n, (i, rows) in enumerate(calls)
    ]
    sources = [Named(_file(*lines[:split]), "one"), Named(_file(*lines[split:]), "two")]
    options: dict[str, Any] = {} if mapper is None else {"mapper": mapper}
    every = CaptureReader(**options).read(*sources)
    seen: dict[str, str] = {}
    expected: list[tuple[int, int, str]] = []  # line, index, first place
    for record in every.records:
        where = f"{record.source}:{record.line_number}"
        first = seen.setdefault(record.partner_inference_id, where)
        if first != where:
            expected.append((record.line_number, record.index, first))
    assert every.ledger.duplicate_partner_ids == len(expected)
    assert [
        (e["first"], e["repeat"].rsplit(":", 1)[1]) for e in every.ledger.duplicate_examples
    ] == [(first, str(line)) for line, _, first in expected[:MAX_DUPLICATE_EXAMPLES]]
    rejected = CaptureReader(reject_duplicates=True, **options).read(*sources)
    got = [
        (r.line_number, r.index, r.message.rsplit(" at ", 1)[1])
        for r in rejected.rejects
        if r.reason is Reason.DUPLICATE_PARTNER_ID
    ]
    assert got == expected
    assert rejected.ledger.balanced
