"""The fast paths (columnar frames, streaming JSON) equal the record path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pandas as pd
import pytest
from hypothesis import given, settings

from arthur_capture import Call, CaptureReader, InferenceRecord, Ledger, Reject, read_records
from arthur_capture.decoders import text_csv
from arthur_capture.sinks.dataframe import records_to_dataframe, to_dataframe
from arthur_capture.sinks.jsonl import arthur_json, call_json
from tests.strategies import CaptureFile, capture_files

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
CAPTURES = sorted(p for p in FIXTURES.rglob("*") if p.name.endswith((".jsonl", ".jsonl.gz")))


def _independent(records: list[InferenceRecord]) -> pd.DataFrame:
    """The obvious pandas build, written without the library's column builder."""
    inputs: dict[str, None] = {}
    outputs: dict[str, None] = {}
    for record in records:
        inputs.update(dict.fromkeys(record.inputs))
        outputs.update(dict.fromkeys(record.outputs))
    columns: dict[str, Any] = {
        "partner_inference_id": pd.Series(
            [r.partner_inference_id for r in records], dtype=object
        ).infer_objects(),
        "inference_timestamp": pd.to_datetime(
            pd.Series([r.inference_timestamp for r in records], dtype=object), utc=True
        ),
    }
    for name in [*inputs, *(n for n in outputs if n not in inputs)]:
        values = [r.inputs.get(name, r.outputs.get(name)) for r in records]
        columns[name] = pd.Series(values, dtype=object).infer_objects()
    return pd.DataFrame(columns, index=pd.RangeIndex(len(records)))


def _check(source: Any) -> None:
    result = read_records(source)
    fast, rejects, ledger = to_dataframe(source)
    pd.testing.assert_frame_equal(fast, records_to_dataframe(result.records))
    pd.testing.assert_frame_equal(fast, _independent(result.records))
    assert ledger == result.ledger
    assert rejects == result.rejects
    assert ledger.balanced
    assert fast.attrs["arthur_capture"]["ledger"] == result.ledger.to_dict()


@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_every_fixture(path: Path) -> None:
    _check(path)


def test_fixtures_found() -> None:
    assert len(CAPTURES) >= 40


@given(capture_files(max_events=6))
@settings(max_examples=100)
def test_generated_files(file: CaptureFile) -> None:
    _check(file.data)


@pytest.mark.parametrize("path", CAPTURES[:10], ids=lambda p: str(p.relative_to(FIXTURES)))
def test_provenance_columns_match_records(path: Path) -> None:
    result = read_records(path)
    frame = to_dataframe(path, provenance=True).frame
    assert list(frame["source"]) == [r.source for r in result.records]
    assert list(frame["line_number"]) == [r.line_number for r in result.records]
    assert list(frame["event_id"]) == [r.event_id for r in result.records]
    assert list(frame["index"]) == [r.index for r in result.records]
    pd.testing.assert_frame_equal(frame, records_to_dataframe(result.records, provenance=True))


def test_value_named_like_a_frame_column_is_refused() -> None:
    line = (
        b'{"captureData":{"endpointInput":{"observedContentType":"application/json",'
        b'"data":"{\\"partner_inference_id\\": 1}","encoding":"JSON"}},'
        b'"eventMetadata":{"eventId":"e","inferenceTime":"2024-01-01T00:00:00Z"},'
        b'"eventVersion":"0"}\n'
    )
    with pytest.raises(ValueError, match="partner_inference_id"):
        to_dataframe(line)


def _streamed(source: Any, batch_id: str | None) -> tuple[list[bytes], Ledger]:
    out: list[bytes] = []
    stream = CaptureReader().iter_calls(source)
    for item in stream:
        if isinstance(item, Reject):
            continue
        if item.outcomes is None:  # the whole call, written without records
            out.extend(call_json(item, batch_id=batch_id))
        else:
            out.extend(
                arthur_json(outcome, batch_id=batch_id)
                for outcome in item.outcomes
                if isinstance(outcome, InferenceRecord)
            )
    return out, stream.ledger


def _check_streaming(source: Any) -> None:
    result = read_records(source)
    for batch_id in (None, "b-1"):
        streamed, ledger = _streamed(source, batch_id)
        assert streamed == [arthur_json(r, batch_id=batch_id) for r in result.records]
        assert ledger == result.ledger


@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_streaming_json_equals_records_on_fixtures(path: Path) -> None:
    _check_streaming(path)


@given(capture_files(max_events=6))
@settings(max_examples=100)
def test_streaming_json_equals_records_on_generated_files(file: CaptureFile) -> None:
    _check_streaming(file.data)


def test_long_ids_go_through_records() -> None:
    event_id = "e" * 254
    line = (
        b'{"captureData":{"endpointInput":{"observedContentType":"text/csv",'
        b'"data":"1\\n2","encoding":"CSV"}},"eventMetadata":{"eventId":"'
        + event_id.encode()
        + b'","inferenceTime":"2024-01-01T00:00:00Z"},"eventVersion":"0"}\n'
    )
    (call,) = CaptureReader().iter_calls(line)
    assert isinstance(call, Call)
    assert call.outcomes is not None  # checked one by one, not handed over whole
    items = call.items()
    assert [type(i) for i in items] == [Reject, Reject]
    assert all(isinstance(i, Reject) and i.reason == "id_too_long" for i in items)


def _event_line(event_id: str, request: Any, response: Any) -> bytes:
    def side(body: Any) -> dict[str, Any]:
        if isinstance(body, str):
            return {"observedContentType": "text/csv", "data": body, "encoding": "CSV"}
        return {"observedContentType": "application/json", "data": orjson.dumps(body).decode(),
                "encoding": "JSON"}  # fmt: skip

    capture: dict[str, Any] = {}
    if request is not None:
        capture["endpointInput"] = side(request)
    if response is not None:
        capture["endpointOutput"] = side(response)
    return orjson.dumps(
        {
            "captureData": capture,
            "eventMetadata": {"eventId": event_id, "inferenceTime": "2024-01-19T19:27:57Z"},
        }
    )


def _big_calls() -> bytes:
    """Calls whose CSV sides are kept compactly, beside calls that are not."""
    rows = 3_000
    wide = "\n".join(f"{i},{i / 4},-{i}e1" for i in range(rows))
    text = "\n".join(f'"r{i}",{i}' for i in range(rows))
    single = "\n".join(str(i % 7) for i in range(rows))
    lines = [
        _event_line("wide", wide, single),  # read in pieces (see the patched piece size)
        _event_line("text", text, single + "\n"),  # the general CSV path
        _event_line("xgb", single, ",".join(["0.5"] * rows)),  # one response row, split
        _event_line("maps", single, [{"score": i} for i in range(rows)]),  # rows and maps
        _event_line("json", [[i, "a"] for i in range(rows)], None),  # no Rows at all
        _event_line("one", "1,2", "0.5"),
    ]
    return b"\n".join(lines) + b"\n"


def test_compact_calls_go_the_same_way_by_every_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 9, item 4: compact CSV rows and streamed records change no output."""
    monkeypatch.setattr(text_csv, "_PIECE_CHARS", 1_000)  # many pieces per wide body
    data = _big_calls()
    (call, *_) = CaptureReader().iter_calls(data)
    assert isinstance(call, Call)
    assert isinstance(call.inputs, text_csv.Rows)
    _check(data)
    _check_streaming(data)
    frame = to_dataframe(data, provenance=True).frame
    pd.testing.assert_frame_equal(
        frame, records_to_dataframe(read_records(data).records, provenance=True)
    )
    assert len(frame) == 5 * 3_000 + 1
