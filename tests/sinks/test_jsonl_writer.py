"""InferenceWriter: NewInference objects as JSON lines or as one JSON array."""

from __future__ import annotations

import io
import json
import math
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from arthur_capture import InferenceRecord, read_records
from arthur_capture.arthur.contract import new_inference
from arthur_capture.arthur.schema import ModelSchema
from arthur_capture.sinks.jsonl import InferenceWriter, arthur_json

ARTHUR = Path(__file__).resolve().parents[2] / "fixtures" / "arthur"
WHEN = datetime(2024, 3, 5, 8, 0, tzinfo=UTC)


def record(partner_id: str, **values: Any) -> InferenceRecord:
    return InferenceRecord(
        partner_inference_id=partner_id,
        inference_timestamp=WHEN,
        inputs={"x": values.pop("x", 1)},
        outputs={"score": values.pop("score", 0.5)},
        event_id="e",
        inference_id=None,
        index=0,
        batch_size=1,
        source="mem",
        line_number=1,
    )


def fixture_records() -> list[InferenceRecord]:
    schema = ModelSchema.from_json((ARTHUR / "typed_csv.model.json").read_bytes())
    return read_records(ARTHUR / "typed_csv.jsonl", schema=schema).records


def write(
    records: list[InferenceRecord], fmt: Any, batch_id: str | None = None
) -> tuple[bytes, int]:
    out = io.BytesIO()
    with InferenceWriter(out, format=fmt, batch_id=batch_id) as writer:
        for r in records:
            writer.write(r)
    return out.getvalue(), writer.count


@pytest.mark.parametrize("count", [0, 1, 2, 5])
def test_jsonl_and_json_hold_the_same_objects(count: int) -> None:
    records = fixture_records()[:count] + [record(f"p{i}") for i in range(count - 4)]
    lines, n_lines = write(records, "jsonl")
    array, n_array = write(records, "json")
    assert n_lines == n_array == len(records)
    from_lines = [json.loads(line) for line in lines.splitlines()]
    from_array = json.loads(array)
    assert isinstance(from_array, list)
    assert from_lines == from_array
    assert from_array == [json.loads(arthur_json(r)) for r in records]
    assert lines.count(b"\n") == len(records)
    assert array.endswith(b"\n")


def test_empty_json_array_and_empty_jsonl() -> None:
    array, count = write([], "json")
    assert count == 0
    assert json.loads(array) == []
    assert array == b"[]\n"
    lines, _ = write([], "jsonl")
    assert lines == b""


def test_each_line_is_one_new_inference() -> None:
    records = fixture_records()
    data, _ = write(records, "jsonl")
    for line, r in zip(data.splitlines(), records, strict=True):
        assert line == arthur_json(r)
        obj = json.loads(line)
        assert list(obj) == ["partner_inference_id", "inference_timestamp", "inference_data"]
    first = json.loads(data.splitlines()[0])
    assert first["inference_data"]["customer_code"] == "007"
    assert first["inference_data"]["signup_time"] == "2024-03-01T09:30:00+00:00"


@pytest.mark.parametrize("fmt", ["jsonl", "json"])
def test_batch_id_goes_on_every_object(fmt: str) -> None:
    records = [record("a"), record("b")]
    data, _ = write(records, fmt, batch_id="2024-W05")
    objects = [json.loads(x) for x in data.splitlines()] if fmt == "jsonl" else json.loads(data)
    assert [o["batch_id"] for o in objects] == ["2024-W05", "2024-W05"]
    assert new_inference(records[0], batch_id="b")["batch_id"] == "b"
    assert "batch_id" not in new_inference(records[0])
    without, _ = write(records, fmt)
    assert b"batch_id" not in without


def test_non_finite_values_are_null_in_both_formats() -> None:
    records = [record("a", score=math.nan), record("b", x=math.inf)]
    for fmt in ("jsonl", "json"):
        data, _ = write(records, fmt)
        assert b"NaN" not in data
        assert b"Infinity" not in data
    array, _ = write(records, "json")
    parsed = json.loads(array)
    assert parsed[0]["inference_data"]["score"] is None
    assert parsed[1]["inference_data"]["x"] is None


def test_timestamps_keep_their_offset() -> None:
    r = record("a")
    shifted = InferenceRecord(
        partner_inference_id="a",
        inference_timestamp=datetime(2024, 3, 5, 10, 0, tzinfo=timezone(timedelta(hours=2))),
        inputs=r.inputs,
        outputs=r.outputs,
        event_id="e",
        inference_id=None,
        index=0,
        batch_size=1,
        source="mem",
        line_number=1,
    )
    (obj,) = json.loads(write([shifted], "json")[0])
    assert obj["inference_timestamp"] == "2024-03-05T10:00:00+02:00"


def test_count_grows_with_each_write_and_close_does_not_close_the_file() -> None:
    out = io.BytesIO()
    writer = InferenceWriter(out, format="json")
    assert writer.count == 0
    writer.write(record("a"))
    writer.write(record("b"))
    assert writer.count == 2
    writer.close()
    assert not out.closed
    assert [o["partner_inference_id"] for o in json.loads(out.getvalue())] == ["a", "b"]


def test_jsonl_is_the_default_format() -> None:
    out = io.BytesIO()
    with InferenceWriter(out) as writer:
        writer.write(record("a"))
    assert out.getvalue() == arthur_json(record("a")) + b"\n"


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="format must be 'jsonl' or 'json'"):
        InferenceWriter(io.BytesIO(), format="csv")  # type: ignore[arg-type]


def test_writer_streams_to_a_real_file(tmp_path: Path) -> None:
    path = tmp_path / "out.json"
    records = fixture_records()
    with path.open("wb") as handle, InferenceWriter(handle, format="json") as writer:
        for r in records:
            writer.write(r)
    assert [o["partner_inference_id"] for o in json.loads(path.read_bytes())] == [
        r.partner_inference_id for r in records
    ]


def test_a_block_that_raises_leaves_the_json_array_open() -> None:
    out = io.BytesIO()

    def cut_short() -> None:
        with InferenceWriter(out, format="json") as writer:
            writer.write_json(b'{"partner_inference_id":"a"}')
            raise RuntimeError("stopped")

    with pytest.raises(RuntimeError, match="stopped"):
        cut_short()
    assert out.getvalue() == b'[{"partner_inference_id":"a"}'  # no "]": it does not look complete
    done = io.BytesIO()
    with InferenceWriter(done, format="json") as writer:
        writer.write_json(b"{}")
    assert done.getvalue() == b"[{}]\n"
