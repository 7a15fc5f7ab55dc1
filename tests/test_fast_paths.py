"""The fast paths (columnar frames, streaming JSON) equal the record path."""

from __future__ import annotations

import importlib.util
import io
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import pandas as pd
import pytest
from hypothesis import given, settings

from arthur_capture import Call, CaptureReader, InferenceRecord, Ledger, Reject, read_records
from arthur_capture.decoders import text_csv
from arthur_capture.sinks import dataframe
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
            [r.partner_inference_id for r in records], dtype=pd.StringDtype("python")
        ),
        "inference_timestamp": pd.Series(
            [pd.Timestamp(r.inference_timestamp).tz_convert("UTC") for r in records],
            dtype="datetime64[ns, UTC]",
        ),
    }
    for name in [*inputs, *(n for n in outputs if n not in inputs)]:
        values = [r.inputs.get(name, r.outputs.get(name)) for r in records]
        columns[name] = _independent_column(values)
    return pd.DataFrame(columns, index=pd.RangeIndex(len(records)))


def _independent_column(values: list[Any]) -> pd.Series:
    """The dtype rules of to_dataframe's docstring, one value at a time."""
    present = [v for v in values if v is not None]
    kinds = {type(v) for v in present}
    gaps = len(present) < len(values)
    if kinds == {int} and all(-(2**63) <= v < 2**63 for v in present):
        return pd.Series(values, dtype="Int64" if gaps else "int64")
    if kinds and kinds <= {int, float} and float in kinds:
        try:
            return pd.Series([float("nan") if v is None else float(v) for v in values])
        except OverflowError:
            pass
    if kinds == {bool}:
        return pd.Series(values, dtype="boolean" if gaps else "bool")
    if kinds == {str}:
        return pd.Series(values, dtype=pd.StringDtype("python"))
    if kinds and all(isinstance(v, datetime) for v in present):
        return pd.Series(
            [None if v is None else pd.Timestamp(v).tz_convert("UTC") for v in values],
            dtype="datetime64[ns, UTC]",
        )
    return pd.Series(values, dtype=object)


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


@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_every_fixture_typed_in_small_chunks(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Values typed chunk by chunk (a few rows each) give the frame typed all at once."""
    monkeypatch.setattr(dataframe, "_CHUNK_ROWS", 2)
    _check(path)


@given(capture_files(max_events=6))
@settings(max_examples=100)
def test_generated_files_typed_in_small_chunks(file: CaptureFile) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(dataframe, "_CHUNK_ROWS", 1)
        _check(file.data)


BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def _benchmark_file(mixed: bool) -> bytes:
    """A small file from ``benchmarks/generate.py`` (the benchmark's own generator)."""
    spec = importlib.util.spec_from_file_location("_generate", BENCHMARKS / "generate.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = io.BytesIO()
    module.generate(out, 300_000, seed=11, mixed=mixed)
    return out.getvalue()


@pytest.mark.parametrize("chunk", [65_536, 1_000])
@pytest.mark.parametrize("mixed", [False, True], ids=["default", "mixed-text"])
def test_benchmark_generator_files(
    mixed: bool, chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The frame equals the record path on the benchmark's files, with and without a schema."""
    monkeypatch.setattr(dataframe, "_CHUNK_ROWS", chunk)
    data = _benchmark_file(mixed)
    _check(data)
    model = BENCHMARKS / ("generated-mixed.model.json" if mixed else "generated.model.json")
    result = read_records(data, schema=model)
    fast, rejects, ledger = to_dataframe(data, schema=model, provenance=True)
    slow = records_to_dataframe(result.records, schema=model, provenance=True)
    pd.testing.assert_frame_equal(fast, slow)
    assert (rejects, ledger) == (result.rejects, result.ledger)
    assert len(fast) == ledger.records > 1_000


MODELS = sorted((FIXTURES / "arthur").glob("*.model.json"))


@pytest.mark.parametrize("model", MODELS, ids=lambda p: p.name)
@pytest.mark.parametrize("chunk", [65_536, 2])
def test_fixtures_with_their_schema(
    model: Path, chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Typed by a schema, the frame equals the record path's, with the same rejects."""
    monkeypatch.setattr(dataframe, "_CHUNK_ROWS", chunk)
    data = model.with_name(model.name.replace(".model.json", ".jsonl"))
    result = read_records(data, schema=model)
    fast, rejects, ledger = to_dataframe(data, schema=model)
    pd.testing.assert_frame_equal(fast, records_to_dataframe(result.records, schema=model))
    assert (rejects, ledger) == (result.rejects, result.ledger)


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
