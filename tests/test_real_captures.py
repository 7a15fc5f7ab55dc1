"""The six real capture files in ``../shared/real-captures``, read end to end.

Every expected row below was written by reading the file's lines and applying the rules in
``docs/decoders.md`` by hand: CSV values are typed by the JSON number rule and named
``input_0``…/``output_0``…, JSON maps keep their names, a batch of N gets ``_0``…``_{N-1}``
after the ``inferenceId`` (or else the ``eventId``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest

from arthur_capture import CaptureReader, CaptureResult, InferenceRecord, Reason, Reject
from tests.conftest import shared_path

if TYPE_CHECKING:
    from pathlib import Path


XGB_INTRO = "xgb_csv_sm-model_monitor_introduction.jsonl"
XGB_AWSDOCS = "xgb_csv_newline_terminated_input_awsdocs.jsonl"
LL_JSON = "linear_learner_json_sm-clarify_model_bias_monitor_for_endpoint_json.jsonl"
LL_JSONLINES = "linear_learner_jsonlines_fairness_and_explainability_jsonlines.jsonl"
MIXED = "mixed_csv_in_json_out_sagemaker-python-sdk_issue2785.jsonl"
HTML_OUT = "json_in_base64_out_inferenceId_sagemaker-python-sdk_issue2629.jsonl"
ALL_FILES = (XGB_INTRO, XGB_AWSDOCS, LL_JSON, LL_JSONLINES, MIXED, HTML_OUT)


@dataclass(frozen=True)
class Row:
    """What one record must hold."""

    partner_id: str
    event_id: str
    time: datetime
    line: int
    index: int
    batch_size: int
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    inference_id: str | None = None
    custom_attributes: tuple[str, ...] = field(default=())


def at(text: str) -> datetime:
    """``2022-04-18T00:21:48`` as an aware UTC time (captures use second precision, ``Z``)."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def columns(prefix: str, values: list[Any]) -> dict[str, Any]:
    return {f"{prefix}{i}": value for i, value in enumerate(values)}


def typed(value: Any) -> Any:
    """A form of ``value`` where ``1``, ``1.0`` and ``True`` differ (CSV typing is exact)."""
    if isinstance(value, dict):
        return [(key, typed(item)) for key, item in value.items()]
    if isinstance(value, float):
        return ("float", repr(value))
    return (type(value).__name__, value)


def check(result: CaptureResult, path: Path, expected: list[Row]) -> None:
    """The records are exactly ``expected`` (values typed, names ordered), nothing rejected."""
    assert result.rejects == []
    assert len(result.records) == len(expected)
    for record, row in zip(result.records, expected, strict=True):
        assert record.partner_inference_id == row.partner_id
        assert record.event_id == row.event_id
        assert record.inference_id == row.inference_id
        assert record.inference_timestamp == row.time
        assert record.inference_timestamp.utcoffset() is not None
        assert record.line_number == row.line
        assert record.index == row.index
        assert record.batch_size == row.batch_size
        assert record.source == str(path)
        assert record.custom_attributes == row.custom_attributes
        assert typed(dict(record.inputs)) == typed(row.inputs), row.partner_id
        assert typed(dict(record.outputs)) == typed(row.outputs), row.partner_id
        assert record.inference_data() == {**row.inputs, **row.outputs}


def check_ledger(
    result: CaptureResult, *, lines: int, events: int, records: int, rejected: int = 0
) -> None:
    ledger = result.ledger
    assert ledger.balanced
    assert (ledger.lines, ledger.events, ledger.records, ledger.rejected_lines) == (
        lines,
        events,
        records,
        rejected,
    )
    assert ledger.blank_lines == 0
    assert ledger.rejected_inferences == 0
    assert ledger.inferences == ledger.records == len(result.records)
    assert ledger.rejects_by_reason == {str(r.reason): 1 for r in result.rejects}


def read(name: str, **options: Any) -> tuple[Path, CaptureResult]:
    path = shared_path("real-captures", name)
    return path, CaptureReader(**options).read(path)


def test_the_six_files_are_there() -> None:
    root = shared_path("real-captures")
    assert sorted(p.name for p in root.glob("*.jsonl")) == sorted(ALL_FILES)


# XGBoost churn: 69 CSV features in, one CSV score out ("text/csv; charset=utf-8").
XGB_INTRO_ROWS = [
    Row(
        partner_id="f04a8538-696c-4648-8064-8b680b2e3318",
        event_id="f04a8538-696c-4648-8064-8b680b2e3318",
        time=at("2022-04-18T00:21:48"),
        line=1,
        index=0,
        batch_size=1,
        inputs=columns(
            "input_",
            [132, 10, 182.9, 54, 292.4, 68, 142.3, 116, 11.5, 4]
            + [0] * 36
            + [1]
            + [0] * 16
            + [1, 0, 1, 0, 0, 1],
        ),
        outputs={"output_0": 0.036397725343704224},
    ),
    Row(
        partner_id="4f301857-49c9-44d1-b275-ba0ab7767033",
        event_id="4f301857-49c9-44d1-b275-ba0ab7767033",
        time=at("2022-04-18T00:21:49"),
        line=2,
        index=0,
        batch_size=1,
        inputs=columns(
            "input_",
            [130, 0, 263.7, 113, 186.5, 103, 195.3, 99, 18.3, 6, 1]
            + [0] * 13
            + [1]
            + [0] * 38
            + [1, 0, 1, 0, 1, 0],
        ),
        outputs={"output_0": 0.3791300654411316},
    ),
    Row(
        partner_id="9827355a-ac22-40f4-9748-539e03db6c2a",
        event_id="9827355a-ac22-40f4-9748-539e03db6c2a",
        time=at("2022-04-18T00:21:50"),
        line=3,
        index=0,
        batch_size=1,
        inputs=columns(
            "input_",
            [85, 0, 210.3, 66, 195.8, 76, 221.6, 82, 11.2, 7, 1, 0, 1]
            + [0] * 50
            + [1, 0, 1, 0, 1, 0],
        ),
        outputs={"output_0": 0.017852725461125374},
    ),
]


def test_xgb_csv_in_csv_out() -> None:
    path, result = read(XGB_INTRO)
    check(result, path, XGB_INTRO_ROWS)
    check_ledger(result, lines=3, events=3, records=3)
    assert all(len(r.inputs) == 69 for r in result.records)


# The docs sample: each CSV request ends in "\n" (one trailing terminator, not a second row);
# both lines carry the same placeholder eventId, so both records get the same partner ID.
PLACEHOLDER = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
XGB_AWSDOCS_ROWS = [
    Row(
        partner_id=PLACEHOLDER,
        event_id=PLACEHOLDER,
        time=at("2022-02-14T17:25:49"),
        line=1,
        index=0,
        batch_size=1,
        inputs=columns(
            "input_",
            [69, 0, 153.7, 109, 194.0, 105, 256.1, 114, 14.1, 6, 1]
            + [0] * 33
            + [1]
            + [0] * 18
            + [1, 0, 1, 0, 1, 0],
        ),
        outputs={"output_0": 0.0254181120544672},
    ),
    Row(
        partner_id=PLACEHOLDER,
        event_id=PLACEHOLDER,
        time=at("2022-02-14T17:25:49"),
        line=2,
        index=0,
        batch_size=1,
        inputs=columns(
            "input_",
            [94, 23, 197.1, 125, 214.5, 136, 282.2, 103, 9.5, 5, 4]
            + [0] * 49
            + [1]
            + [0] * 3
            + [1, 0, 1, 0, 1],
        ),
        outputs={"output_0": 0.07675473392009735},
    ),
]


def test_xgb_csv_newline_terminated_input() -> None:
    path, result = read(XGB_AWSDOCS)
    check(result, path, XGB_AWSDOCS_ROWS)
    check_ledger(result, lines=2, events=2, records=2)
    # "194.0" is a float, "69" an int: the JSON number rule, not "everything is a float".
    assert type(result.records[0].inputs["input_4"]) is float
    assert type(result.records[0].inputs["input_0"]) is int


FEATURES_A = [28, 2, 133937, 9, 13, 2, 0, 0, 4, 1, 15024, 0, 55, 37]
FEATURES_B = [43, 2, 72338, 12, 14, 2, 12, 0, 1, 1, 0, 0, 40, 37]

# Linear Learner, application/json: {"instances": [{"features": [...]}]} in (I1: column-ordered
# values), {"predictions": [{"score": ..., "predicted_label": ...}]} out (I4: names kept).
LL_JSON_ROWS = [
    Row(
        partner_id="7ddb2d7c-4d6a-4e67-a68e-23870399829d",
        event_id="7ddb2d7c-4d6a-4e67-a68e-23870399829d",
        time=at("2024-01-19T19:27:57"),
        line=1,
        index=0,
        batch_size=1,
        inputs=columns("input_", FEATURES_A),
        outputs={"score": 0.9899773597717285, "predicted_label": 1},
    ),
    Row(
        partner_id="9066ac80-dde1-4370-a73e-ab997e2544f1_0",
        event_id="9066ac80-dde1-4370-a73e-ab997e2544f1",
        time=at("2024-01-19T19:27:57"),
        line=2,
        index=0,
        batch_size=2,
        inputs=columns("input_", FEATURES_A),
        outputs={"score": 0.9899773597717285, "predicted_label": 1},
    ),
    Row(
        partner_id="9066ac80-dde1-4370-a73e-ab997e2544f1_1",
        event_id="9066ac80-dde1-4370-a73e-ab997e2544f1",
        time=at("2024-01-19T19:27:57"),
        line=2,
        index=1,
        batch_size=2,
        inputs=columns("input_", FEATURES_B),
        outputs={"score": 0.5041388273239136, "predicted_label": 1},
    ),
]


def test_linear_learner_json_batches() -> None:
    path, result = read(LL_JSON)
    check(result, path, LL_JSON_ROWS)
    check_ledger(result, lines=2, events=2, records=3)


# The same model over application/jsonlines (captured with encoding "JSON"): one inference per
# non-blank line; the response ends in "\n"; the keys come in the order the response gave.
LL_JSONLINES_ROWS = [
    Row(
        partner_id="40394cfe-37c3-4abb-b22c-dd7accbe9608",
        event_id="40394cfe-37c3-4abb-b22c-dd7accbe9608",
        time=at("2023-01-19T05:31:46"),
        line=1,
        index=0,
        batch_size=1,
        inputs=columns("input_", FEATURES_A),
        outputs={"predicted_label": 1, "score": 0.989977359771728},
    ),
    Row(
        partner_id="32aaea1b-1a60-4870-b81d-40271f950c4a_0",
        event_id="32aaea1b-1a60-4870-b81d-40271f950c4a",
        time=at("2023-01-19T05:31:46"),
        line=2,
        index=0,
        batch_size=2,
        inputs=columns("input_", FEATURES_A),
        outputs={"predicted_label": 1, "score": 0.989977359771728},
    ),
    Row(
        partner_id="32aaea1b-1a60-4870-b81d-40271f950c4a_1",
        event_id="32aaea1b-1a60-4870-b81d-40271f950c4a",
        time=at("2023-01-19T05:31:46"),
        line=2,
        index=1,
        batch_size=2,
        inputs=columns("input_", FEATURES_B),
        outputs={"predicted_label": 1, "score": 0.504138827323913},
    ),
]


def test_linear_learner_jsonlines_batches() -> None:
    path, result = read(LL_JSONLINES)
    check(result, path, LL_JSONLINES_ROWS)
    check_ledger(result, lines=2, events=2, records=3)


# CSV in, JSON out, on one line: each side decoded on its own.
MIXED_ROWS = [
    Row(
        partner_id="28cc8646-bb47-4a96-92fc-d04fc2651286",
        event_id="28cc8646-bb47-4a96-92fc-d04fc2651286",
        time=at("2021-11-30T04:32:05"),
        line=1,
        index=0,
        batch_size=1,
        inputs=columns("input_", [0.5629733055182888, 0.3018707225866159, 0.5824503894753207]),
        outputs={"score": 0.012620825320482254, "predicted_label": 0},
    ),
]


def test_mixed_csv_in_json_out() -> None:
    path, result = read(MIXED)
    check(result, path, MIXED_ROWS)
    check_ledger(result, lines=1, events=1, records=1)


# Column-oriented JSON in (D3: every value a list of 2, so a batch of 2), BASE64 "text/html"
# out that decodes to {"median_house_value": [478046.66, 206551.01]} (D3 again), and an
# inferenceId, which is the base of the partner IDs.
HTML_EVENT = "fffc6319-59a6-446f-b30f-46c6ed1aac64"
HTML_INFERENCE = "c7f0edc0-9397-4cd3-a948-bd7b639da2f5"
HTML_ROWS = [
    Row(
        partner_id=f"{HTML_INFERENCE}_0",
        event_id=HTML_EVENT,
        inference_id=HTML_INFERENCE,
        time=at("2021-09-12T08:03:35"),
        line=1,
        index=0,
        batch_size=2,
        inputs={
            "longitude": -122.44,
            "latitude": 37.8,
            "housing_median_age": 52.0,
            "total_rooms": 3161.0,
            "total_bedrooms": 472.0,
            "population": 842.0,
            "households": 410.0,
            "median_income": 7.9761,
        },
        outputs={"median_house_value": 478046.66},
    ),
    Row(
        partner_id=f"{HTML_INFERENCE}_1",
        event_id=HTML_EVENT,
        inference_id=HTML_INFERENCE,
        time=at("2021-09-12T08:03:35"),
        line=1,
        index=1,
        batch_size=2,
        inputs={
            "longitude": -116.99,
            "latitude": 32.8,
            "housing_median_age": 34.0,
            "total_rooms": 3657.0,
            "total_bedrooms": 538.0,
            "population": 1513.0,
            "households": 562.0,
            "median_income": 5.2907,
        },
        outputs={"median_house_value": 206551.01},
    ),
]


def test_text_html_output_is_rejected_without_a_mapping() -> None:
    path, result = read(HTML_OUT)
    assert result.records == []
    (reject,) = result.rejects
    assert isinstance(reject, Reject)
    assert reject.reason is Reason.UNKNOWN_CONTENT_TYPE
    assert "text/html" in reject.message
    assert reject.event_id == HTML_EVENT
    assert (reject.source, reject.line_number, reject.offset, reject.index) == (
        str(path),
        1,
        0,
        None,
    )
    assert reject.raw == path.read_bytes().rstrip(b"\n")
    check_ledger(result, lines=1, events=0, records=0, rejected=1)


@pytest.mark.parametrize(
    "options",
    [{"content_types": {"text/html": "application/json"}}, {"sniff": True}],
    ids=["content_types", "sniff"],
)
def test_text_html_output_with_a_mapping_or_sniffing(options: dict[str, Any]) -> None:
    path, result = read(HTML_OUT, **options)
    check(result, path, HTML_ROWS)
    check_ledger(result, lines=1, events=1, records=2)


def test_all_six_files_in_one_run() -> None:
    """One reader over every file: the ledgers add up; only the text/html line is refused."""
    paths = [shared_path("real-captures", name) for name in ALL_FILES]
    result = CaptureReader().read(*paths)
    ledger = result.ledger
    assert ledger.sources == 6
    assert ledger.balanced
    assert (ledger.lines, ledger.events, ledger.records, ledger.rejected_lines) == (11, 10, 12, 1)
    assert ledger.rejects_by_reason == {"unknown_content_type": 1}
    expected = XGB_INTRO_ROWS + XGB_AWSDOCS_ROWS + LL_JSON_ROWS + LL_JSONLINES_ROWS + MIXED_ROWS
    assert [r.partner_inference_id for r in result.records] == [r.partner_id for r in expected]

    mapped = CaptureReader(content_types={"text/html": "application/json"}).read(*paths)
    assert mapped.rejects == []
    assert (mapped.ledger.lines, mapped.ledger.events, mapped.ledger.records) == (11, 11, 14)
    assert [r.partner_inference_id for r in mapped.records] == [
        r.partner_id for r in [*expected, *HTML_ROWS]
    ]


def test_real_captures_are_read_the_same_every_time() -> None:
    """Determinism: the same bytes give the same records and rejects."""
    paths = [shared_path("real-captures", name) for name in ALL_FILES]
    first = CaptureReader(sniff=True).read(*paths)
    second = CaptureReader(sniff=True).read(*paths)
    assert first.records == second.records
    assert first.rejects == second.rejects
    assert all(isinstance(r, InferenceRecord) for r in first.records)
