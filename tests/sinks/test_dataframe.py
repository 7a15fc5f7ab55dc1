"""to_dataframe and records_to_dataframe: one row per inference."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pandas as pd
import pytest

from arthur_capture import Call, CaptureReader, Lines, Reason, read_records
from arthur_capture.decoders.text_csv import Rows
from arthur_capture.sinks.dataframe import (
    CaptureFrame,
    _Columns,
    records_to_dataframe,
    to_dataframe,
)

if TYPE_CHECKING:
    from pathlib import Path

TIME = "2024-01-19T19:27:57Z"


def _line(event_id: str, request: object, response: object | None = None, **meta: str) -> bytes:
    capture: dict[str, Any] = {
        "endpointInput": {
            "observedContentType": "application/json",
            "data": json.dumps(request),
            "encoding": "JSON",
        }
    }
    if response is not None:
        capture["endpointOutput"] = {
            "observedContentType": "text/csv",
            "data": str(response),
            "encoding": "CSV",
        }
    doc = {
        "captureData": capture,
        "eventMetadata": {"eventId": event_id, "inferenceTime": TIME, **meta},
        "eventVersion": "0",
    }
    return json.dumps(doc).encode() + b"\n"


DATA = (
    _line("e1", {"instances": [{"b": 1, "a": "x"}, {"b": 2, "c": None}]}, "0.1\n0.2\n")
    + b"{not json\n"
    + _line("e2", {"d": 4.5, "a": "y"}, "0.3", inferenceTime="2024-01-19T21:27:58+02:00")
)


def test_columns_and_order() -> None:
    frame = records_to_dataframe(read_records(DATA).records)
    assert list(frame.columns) == [
        "partner_inference_id",
        "inference_timestamp",
        "b",
        "a",
        "c",
        "d",
        "output_0",
    ]
    assert list(frame["partner_inference_id"]) == ["e1_0", "e1_1", "e2"]
    assert list(frame["output_0"]) == [0.1, 0.2, 0.3]
    assert len(frame) == 3


def test_inference_timestamp_is_utc_datetime64() -> None:
    frame = records_to_dataframe(read_records(DATA).records)
    column = frame["inference_timestamp"]
    assert isinstance(column.dtype, pd.DatetimeTZDtype)
    assert str(column.dt.tz) == "UTC"
    assert list(column) == [
        pd.Timestamp("2024-01-19T19:27:57Z"),
        pd.Timestamp("2024-01-19T19:27:57Z"),
        pd.Timestamp("2024-01-19T19:27:58Z"),
    ]


def test_missing_values() -> None:
    frame = records_to_dataframe(read_records(DATA).records)
    assert list(frame["b"].iloc[:2]) == [1, 2]
    assert pd.isna(frame["b"].iloc[2])
    assert pd.isna(frame["a"].iloc[1])
    assert frame["a"].iloc[2] == "y"
    assert frame["c"].isna().all()
    assert pd.isna(frame["d"].iloc[0])
    assert frame["d"].iloc[2] == 4.5


def test_numeric_columns_are_numeric() -> None:
    frame = records_to_dataframe(read_records(DATA).records)
    assert pd.api.types.is_float_dtype(frame["output_0"])
    assert pd.api.types.is_float_dtype(frame["d"])


def test_no_provenance_by_default() -> None:
    frame = records_to_dataframe(read_records(DATA).records)
    assert not {"source", "line_number", "event_id", "index"} & set(frame.columns)


def test_provenance_columns() -> None:
    frame = records_to_dataframe(read_records(DATA).records, provenance=True)
    assert list(frame.columns)[-4:] == ["source", "line_number", "event_id", "index"]
    assert list(frame["source"]) == ["<bytes>"] * 3
    assert list(frame["line_number"]) == [1, 1, 3]
    assert list(frame["event_id"]) == ["e1", "e1", "e2"]
    assert list(frame["index"]) == [0, 1, 0]


def test_records_and_sources_give_equal_frames(tmp_path: Path) -> None:
    result = read_records(DATA)
    path = tmp_path / "capture.jsonl"
    path.write_bytes(DATA)
    expected = records_to_dataframe(result.records)
    pd.testing.assert_frame_equal(records_to_dataframe(tuple(result.records)), expected)
    pd.testing.assert_frame_equal(records_to_dataframe(iter(result.records)), expected)
    pd.testing.assert_frame_equal(to_dataframe(path).frame, expected)
    pd.testing.assert_frame_equal(to_dataframe(str(path)).frame, expected)


def test_accepts_bytes_and_lines() -> None:
    expected = records_to_dataframe(read_records(DATA).records)
    pd.testing.assert_frame_equal(to_dataframe(DATA).frame, expected)
    lines = DATA.decode().splitlines()
    # Read from lines, the source is named "<lines>" rather than "<bytes>".
    pd.testing.assert_frame_equal(to_dataframe(Lines(lines)).frame, expected)
    pd.testing.assert_frame_equal(to_dataframe(Lines(iter(lines))).frame, expected)


def test_several_sources_and_a_list_of_paths_are_read_in_order(tmp_path: Path) -> None:
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    first.write_bytes(_line("e1", {"a": 1}))
    second.write_bytes(_line("e2", {"a": 2}))
    for frame, _, ledger in (to_dataframe(first, second), to_dataframe([str(first), second])):
        assert list(frame["partner_inference_id"]) == ["e1", "e2"]
        assert list(frame["a"]) == [1, 2]
        assert ledger.sources == 2


def test_gives_the_rejects_and_the_ledger() -> None:
    result = to_dataframe(DATA)
    assert isinstance(result, CaptureFrame)
    frame, rejects, ledger = result
    assert len(frame) == 3
    assert [(r.reason, r.line_number) for r in rejects] == [(Reason.INVALID_JSON, 2)]
    assert ledger.balanced
    assert (ledger.lines, ledger.events, ledger.rejected_lines, ledger.records) == (3, 2, 1, 3)
    assert frame.attrs["arthur_capture"]["ledger"] == ledger.to_dict()


def test_options_go_to_the_reader_for_a_source() -> None:
    line = _line("e9", {"a": 1}, "0.1").replace(b'"eventVersion": "0"', b'"eventVersion": "1"')
    unread = to_dataframe(line)
    assert len(unread.frame) == 0
    assert [r.reason for r in unread.rejects] == [Reason.UNSUPPORTED_EVENT_VERSION]
    frame = to_dataframe(line, event_versions=["1"]).frame
    assert list(frame["partner_inference_id"]) == ["e9"]


def test_empty_input_gives_the_fixed_columns() -> None:
    for frame in (to_dataframe().frame, records_to_dataframe([])):
        assert list(frame.columns) == ["partner_inference_id", "inference_timestamp"]
        assert len(frame) == 0
        assert isinstance(frame["inference_timestamp"].dtype, pd.DatetimeTZDtype)


def test_positional_columns_from_different_lines() -> None:
    result = read_records(_line("e1", {"a": 1}), _line("e2", [[5]], "7"))
    frame = records_to_dataframe(result.records)
    assert list(frame.columns) == [
        "partner_inference_id",
        "inference_timestamp",
        "a",
        "input_0",
        "output_0",
    ]
    assert pd.isna(frame["output_0"].iloc[0])
    assert frame["output_0"].iloc[1] == 7


def test_a_name_used_as_input_and_as_output_on_different_lines_loses_no_value() -> None:
    output_only = json.dumps(
        {
            "captureData": {
                "endpointOutput": {
                    "observedContentType": "application/json",
                    "data": '{"predictions": [{"score": 0.5}]}',
                    "encoding": "JSON",
                }
            },
            "eventMetadata": {"eventId": "e2", "inferenceTime": TIME},
        }
    ).encode()
    result = read_records(_line("e1", {"score": 1}) + output_only)
    frame = records_to_dataframe(result.records)
    assert list(frame.columns) == ["partner_inference_id", "inference_timestamp", "score"]
    assert list(frame["score"]) == [1, 0.5]


@pytest.mark.parametrize("provenance", [False, True])
def test_one_row_per_inference(provenance: bool) -> None:
    result = read_records(DATA)
    assert len(records_to_dataframe(result.records, provenance=provenance)) == len(result.records)
    assert len(to_dataframe(DATA, provenance=provenance).frame) == len(result.records)


def test_a_compact_csv_side_is_filed_as_one_run_of_values() -> None:
    """Issue 9, item 4: a CSV side's rows go to the frame without a list per row."""
    rows = "\n".join(f"{i},{i / 2}" for i in range(2_000))
    line = _line("big", [[0, 0.0]] * 2_000, rows)
    (call,) = CaptureReader().iter_calls(line)
    assert isinstance(call, Call)
    assert isinstance(call.outputs, Rows)
    columns = _Columns(provenance=False)
    columns.add_call(call)
    (group,) = columns.groups[1].values()
    assert group.runs == [call.outputs.flat]  # the decoded values themselves, one run
    assert group.runs[0] is call.outputs.flat
    assert group.count == 2_000
    frame = columns.frame()
    assert list(frame["output_0"][:3]) == [0, 1, 2]
    assert list(frame["output_1"][:3]) == [0.0, 0.5, 1.0]
    pd.testing.assert_frame_equal(frame, records_to_dataframe(call.records()))


def _json_line(event_id: str, request: object, response: object) -> bytes:
    side = {"observedContentType": "application/json", "encoding": "JSON"}
    doc = {
        "captureData": {
            "endpointInput": {**side, "data": json.dumps(request)},
            "endpointOutput": {**side, "data": json.dumps(response)},
        },
        "eventMetadata": {"eventId": event_id, "inferenceTime": TIME},
        "eventVersion": "0",
    }
    return json.dumps(doc).encode() + b"\n"


def test_a_regular_side_is_filed_as_one_group_and_a_ragged_one_by_rows() -> None:
    """Rows of one width, or maps with the same keys in order, go in one step."""
    regular = {"predictions": [{"score": i / 10, "label": i} for i in range(5)]}
    ragged = {"predictions": [{"score": 0.5}, {"label": 1, "score": 0.1}]}
    data = _json_line("m", [[i, i] for i in range(5)], regular)
    data += _json_line("g", [[1], [2, 3]], ragged)
    calls = [c for c in CaptureReader().iter_calls(data) if isinstance(c, Call)]
    assert len(calls) == 2
    columns = _Columns(provenance=False)
    columns.add_call(calls[0])
    assert [g.count for g in columns.groups[0].values()] == [5]
    assert [g.count for g in columns.groups[1].values()] == [5]
    columns.add_call(calls[1])
    assert {k: g.count for k, g in columns.groups[0].items()} == {2: 6, 1: 1}
    assert {k: g.count for k, g in columns.groups[1].items()} == {
        ("score", "label"): 5,
        ("score",): 1,
        ("label", "score"): 1,
    }
    frame = columns.frame()
    expected = records_to_dataframe([r for c in calls for r in c.records()])
    pd.testing.assert_frame_equal(frame, expected)
    assert frame["label"].dtype == "Int64"
    assert list(frame["label"].astype(object)) == [0, 1, 2, 3, 4, pd.NA, 1]
