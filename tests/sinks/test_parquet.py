"""Parquet for Arthur's /inferences/file: read back equals the JSON rows; types, chunks."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from arthur_capture import CaptureError, InferenceRecord, Lines, read_records
from arthur_capture.arthur.schema import ModelSchema
from arthur_capture.cli import main
from arthur_capture.errors import ParquetError
from arthur_capture.sinks.parquet import stage_parquet, write_parquet
from arthur_capture.storage._atomic import Staging

ROOT = Path(__file__).resolve().parents[2] / "fixtures"
ARTHUR = ROOT / "arthur"
META_COLUMNS = ("partner_inference_id", "inference_timestamp", "batch_id")
WHEN = datetime(2024, 3, 5, 8, 0, tzinfo=UTC)


def schema_of(name: str) -> ModelSchema:
    return ModelSchema.from_json((ARTHUR / f"{name}.model.json").read_bytes())


def record(
    partner_id: str = "p",
    inputs: dict[str, Any] | None = None,
    outputs: dict[str, Any] | None = None,
    *,
    when: datetime = WHEN,
) -> InferenceRecord:
    return InferenceRecord(
        partner_inference_id=partner_id,
        inference_timestamp=when,
        inputs=inputs if inputs is not None else {"x": 1.5},
        outputs=outputs if outputs is not None else {"score": 0.25},
        event_id="e",
        inference_id=None,
        index=0,
        batch_size=1,
        source="mem",
        line_number=1,
    )


def fixture_flags(path: Path) -> list[str]:
    """CLI flags for a fixture: its model for fixtures/arthur, else its expectation's options."""
    if path.parent.name == "arthur":
        stem = path.name.removesuffix(".jsonl")
        flags = ["--schema", str(ARTHUR / f"{stem}.model.json")]
        if schema_of(stem).is_batch:
            flags += ["--batch-id", "2024-W05"]
        return flags
    expected = path.with_name(path.name.split(".jsonl")[0] + ".expected.json")
    if not expected.is_file():
        return []
    options = json.loads(expected.read_text(encoding="utf-8")).get("options", {})
    flags = []
    if options.get("sniff"):
        flags.append("--sniff")
    if options.get("csv_header"):
        flags.append("--csv-header")
    for old, new in options.get("content_types", {}).items():
        flags += ["--content-type", f"{old}={new}"]
    if "max_line_bytes" in options:
        flags += ["--max-line-bytes", str(options["max_line_bytes"])]
    return flags


def capture_files() -> list[Path]:
    return sorted([*ROOT.glob("*/*.jsonl"), *ROOT.glob("*/*.jsonl.gz")])


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def same(parquet_value: Any, json_value: Any) -> bool:
    """Whether a value read back from Parquet is the JSON row's value."""
    if isinstance(parquet_value, datetime):
        return isinstance(json_value, str) and parquet_value == utc(json_value)
    if isinstance(parquet_value, dict):
        if not isinstance(json_value, dict):
            return False
        present = {k: v for k, v in parquet_value.items() if v is not None}
        wanted = {k: v for k, v in json_value.items() if v is not None}
        return present.keys() == wanted.keys() and all(same(present[k], wanted[k]) for k in present)
    if isinstance(parquet_value, list):
        return (
            isinstance(json_value, list)
            and len(parquet_value) == len(json_value)
            and all(same(a, b) for a, b in zip(parquet_value, json_value, strict=True))
        )
    if isinstance(parquet_value, bool) or isinstance(json_value, bool):
        return parquet_value is json_value
    return bool(parquet_value == json_value)


def assert_parquet_equals_json(table_rows: list[dict[str, Any]], json_rows: list[Any]) -> None:
    assert len(table_rows) == len(json_rows)
    for got, want in zip(table_rows, json_rows, strict=True):
        assert got["partner_inference_id"] == want["partner_inference_id"]
        assert got["inference_timestamp"] == utc(want["inference_timestamp"])
        assert got.get("batch_id") == want.get("batch_id")
        data = want["inference_data"]
        assert set(data) <= set(got)
        for name, value in got.items():
            if name in META_COLUMNS:
                continue
            assert same(value, data.get(name)), (name, value, data.get(name))


def convert(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(argv)
    return code, capsys.readouterr().err


def test_parquet_equals_the_json_rows_for_every_fixture(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    compared: list[str] = []
    refused: list[str] = []
    for index, path in enumerate(capture_files()):
        flags = fixture_flags(path)
        jsonl = tmp_path / f"{index}.jsonl"
        code, _ = convert(["convert", str(path), "-o", str(jsonl), *flags], capsys)
        assert code in (0, 1), path
        json_rows = [json.loads(line) for line in jsonl.read_text().splitlines()]
        target = tmp_path / f"{index}.parquet"
        argv = ["convert", str(path), "--format", "parquet", "-o", str(target), *flags]
        code, err = convert(argv, capsys)
        if code == 2:
            # only a column pyarrow cannot give one type refuses, with a clear sentence
            assert "cannot be written as Parquet" in err, (path, err)
            assert "--schema" in err
            refused.append(path.name)
            continue
        assert code in (0, 1), (path, err)
        if not json_rows:
            assert not target.exists()
            continue
        rows = pq.read_table(target).to_pylist()
        assert_parquet_equals_json(rows, json_rows)
        compared.append(f"{path.parent.name}/{path.name}")
    assert {f"arthur/{p.name}" for p in ARTHUR.glob("*.jsonl")} <= set(compared)
    assert len(compared) >= 5
    assert len(compared) > len(refused)


def test_schema_types_the_columns(tmp_path: Path) -> None:
    schema = schema_of("typed_csv")
    result = read_records(ARTHUR / "typed_csv.jsonl", schema=schema)
    (path,) = write_parquet(result.records, tmp_path / "typed.parquet", schema=schema)
    table = pq.read_table(path)
    assert table.column_names == [
        "partner_inference_id",
        "inference_timestamp",
        "customer_code",
        "is_member",
        "signup_time",
        "visits",
        "spend",
        "buy_probability",
    ]
    types = {field.name: field.type for field in table.schema}
    assert types["partner_inference_id"] == pa.string()
    assert types["inference_timestamp"] == pa.timestamp("us", tz="UTC")
    assert types["customer_code"] == pa.string()
    assert types["is_member"] == pa.bool_()
    assert types["signup_time"] == pa.timestamp("us", tz="UTC")
    assert types["visits"] == pa.int64()
    assert types["spend"] == pa.float64()
    assert types["buy_probability"] == pa.float64()
    assert table.column("customer_code").to_pylist() == ["007", "A,B", "0042", "x-1"]
    assert table.column("signup_time").to_pylist()[1] == datetime(2024, 3, 1, 8, 30, tzinfo=UTC)
    assert table.column("spend").to_pylist() == [45.5, None, 100.0, None]


def test_schema_columns_include_non_input_data_and_leave_out_implicit_ones(tmp_path: Path) -> None:
    housing = schema_of("regression_housing")
    records = read_records(ARTHUR / "regression_housing.jsonl", schema=housing).records
    (path,) = write_parquet(records, tmp_path / "h.parquet", schema=housing)
    table = pq.read_table(path)
    assert "listing_region" in table.column_names
    assert table.column("listing_region").type == pa.string()
    assert table.column("listing_region").to_pylist() == [None, None, "south", None, None]
    assert "price_gt" not in table.column_names  # ground truth is not sent with inferences
    churn = schema_of("churn_binary")
    records = read_records(ARTHUR / "churn_binary.jsonl", schema=churn).records
    (path,) = write_parquet(records, tmp_path / "c.parquet", schema=churn)
    names = pq.read_table(path).column_names
    assert "churn_true_score" in names
    assert "churn_false_score" not in names  # implicit: Arthur derives it
    assert "churned" not in names


def test_an_implicit_attribute_a_record_carries_is_written_with_its_type(tmp_path: Path) -> None:
    churn = schema_of("churn_binary")
    inputs = {"account_length": 1, "intl_plan": "no", "day_minutes": 2.0}
    inputs["customer_service_calls"] = 0
    outputs = {"churn_false_score": 0.25, "churn_true_score": 0.75}
    (path,) = write_parquet([record("a", inputs, outputs)], tmp_path / "i.parquet", schema=churn)
    table = pq.read_table(path)
    assert table.column("churn_false_score").type == pa.float64()
    assert table.column("churn_false_score").to_pylist() == [0.25]


@pytest.mark.parametrize(
    ("rows", "chunk"), [(5, 2), (4, 2), (5, 5), (5, 1), (1, 3), (6, 4), (7, 3), (3, 10)]
)
def test_chunking(tmp_path: Path, rows: int, chunk: int) -> None:
    records = [record(f"p{i}") for i in range(rows)]
    target = tmp_path / "out.parquet"
    files = write_parquet(records, target, chunk_rows=chunk)
    count = math.ceil(rows / chunk)
    if count == 1:
        assert files == [target]
    else:
        assert files == [tmp_path / f"out-{i:05d}.parquet" for i in range(count)]
        assert not target.exists()
    assert sorted(tmp_path.iterdir()) == files
    sizes = [pq.read_metadata(f).num_rows for f in files]
    assert sizes == [chunk] * (count - 1) + [rows - chunk * (count - 1)]
    ids = [
        pid for f in files for pid in pq.read_table(f).column("partner_inference_id").to_pylist()
    ]
    assert ids == [f"p{i}" for i in range(rows)]


def test_chunk_names_keep_the_suffix_or_add_parquet(tmp_path: Path) -> None:
    records = [record(f"p{i}") for i in range(3)]
    assert write_parquet(records, tmp_path / "a.pq", chunk_rows=2) == [
        tmp_path / "a-00000.pq",
        tmp_path / "a-00001.pq",
    ]
    assert write_parquet(records, tmp_path / "b", chunk_rows=2) == [
        tmp_path / "b-00000.parquet",
        tmp_path / "b-00001.parquet",
    ]
    assert write_parquet(records[:1], tmp_path / "c", chunk_rows=2) == [tmp_path / "c"]


def test_no_records_write_no_file(tmp_path: Path) -> None:
    assert write_parquet([], tmp_path / "none.parquet") == []
    assert list(tmp_path.iterdir()) == []


def test_row_groups(tmp_path: Path) -> None:
    records = [record(f"p{i}") for i in range(7)]
    (path,) = write_parquet(records, tmp_path / "g.parquet", row_group_size=3)
    assert pq.ParquetFile(path).metadata.num_row_groups == 3


@pytest.mark.parametrize(("chunk", "group"), [(0, 5), (5, 0), (-1, 5)])
def test_sizes_must_be_positive(tmp_path: Path, chunk: int, group: int) -> None:
    with pytest.raises(ValueError, match="positive"):
        write_parquet([record()], tmp_path / "x.parquet", chunk_rows=chunk, row_group_size=group)


def test_batch_id_column(tmp_path: Path) -> None:
    records = [record("a"), record("b")]
    (path,) = write_parquet(records, tmp_path / "b.parquet", batch_id="2024-W05")
    table = pq.read_table(path)
    assert table.column_names[:3] == ["partner_inference_id", "inference_timestamp", "batch_id"]
    assert table.column("batch_id").type == pa.string()
    assert table.column("batch_id").to_pylist() == ["2024-W05", "2024-W05"]
    (plain,) = write_parquet(records, tmp_path / "n.parquet")
    assert "batch_id" not in pq.read_table(plain).column_names


def test_non_finite_values_become_null(tmp_path: Path) -> None:
    records = [
        record("a", {"x": math.nan, "v": [1.0, math.inf]}, {"score": 0.5}),
        record("b", {"x": 2.0, "v": [-math.inf, 2.0]}, {"score": math.inf}),
    ]
    (path,) = write_parquet(records, tmp_path / "f.parquet")
    table = pq.read_table(path)
    assert table.column("x").to_pylist() == [None, 2.0]
    assert table.column("v").to_pylist() == [[1.0, None], [None, 2.0]]
    assert table.column("score").to_pylist() == [0.5, None]


def test_timestamps_are_utc_instants(tmp_path: Path) -> None:
    plus_two = timezone(timedelta(hours=2))
    records = [
        record("a", when=datetime(2024, 3, 5, 10, 0, tzinfo=plus_two)),
        record("b", when=datetime(2024, 3, 5, 8, 0, 0, 250000, tzinfo=UTC)),
    ]
    (path,) = write_parquet(records, tmp_path / "t.parquet")
    column = pq.read_table(path).column("inference_timestamp")
    assert column.type == pa.timestamp("us", tz="UTC")
    assert column.to_pylist() == [
        datetime(2024, 3, 5, 8, 0, tzinfo=UTC),
        datetime(2024, 3, 5, 8, 0, 0, 250000, tzinfo=UTC),
    ]


def test_names_first_seen_later_fill_earlier_rows_with_null(tmp_path: Path) -> None:
    records = [record("a", {"x": 1}, {}), record("b", {"x": 2, "y": "new"}, {})]
    (path,) = write_parquet(records, tmp_path / "l.parquet")
    assert pq.read_table(path).to_pylist() == [
        {"partner_inference_id": "a", "inference_timestamp": WHEN, "x": 1, "y": None},
        {"partner_inference_id": "b", "inference_timestamp": WHEN, "x": 2, "y": "new"},
    ]


def test_a_mixed_type_column_without_a_schema_is_a_parquet_error(tmp_path: Path) -> None:
    records = [record("a", {"code": "A7"}, {}), record("b", {"code": 7}, {})]
    with pytest.raises(ParquetError) as info:
        write_parquet(records, tmp_path / "m.parquet")
    assert isinstance(info.value, CaptureError)
    assert isinstance(info.value, ValueError)
    assert "column 'code' cannot be written as Parquet" in info.value.message
    assert "mix types" in info.value.message
    assert "--schema" in info.value.message


def test_an_integer_beyond_64_bits_without_a_schema_is_named(tmp_path: Path) -> None:
    # issue 9 item 8: such integers stay exact ints, which Parquet's int64 cannot hold
    records = [record("a", {"n": 2**64 + 1}, {})]
    with pytest.raises(ParquetError) as info:
        write_parquet(records, tmp_path / "big.parquet")
    assert "column 'n' cannot be written as Parquet" in info.value.message
    assert "an integer beyond 64 bits" in info.value.message
    assert "mix types" not in info.value.message


def test_an_integer_beyond_64_bits_with_a_float_schema_is_written(tmp_path: Path) -> None:
    schema = ModelSchema.from_json(
        [{"name": "n", "stage": "PIPELINE_INPUT", "value_type": "FLOAT", "position": 0}]
    )
    line = json.dumps(
        {
            "captureData": {
                "endpointInput": {
                    "observedContentType": "application/json",
                    "data": f'{{"n": {2**64 + 1}}}',
                    "encoding": "JSON",
                }
            },
            "eventMetadata": {"eventId": "e1", "inferenceTime": "2024-03-01T12:00:00Z"},
            "eventVersion": "0",
        }
    )
    result = read_records(Lines([line]), schema=schema)
    assert result.rejects == []
    (path,) = write_parquet(result.records, tmp_path / "f.parquet")
    assert pq.read_table(path).column("n").to_pylist() == [float(2**64 + 1)]


def test_a_schema_coerces_what_would_mix(tmp_path: Path) -> None:
    schema = ModelSchema.from_json(
        [
            {"name": "code", "stage": "PIPELINE_INPUT", "value_type": "STRING", "position": 0},
            {"name": "score", "stage": "PREDICTED_VALUE", "value_type": "FLOAT", "position": 0},
        ]
    )
    lines = [
        _line('{"code": "A7"}', '{"score": 1}', "e-1"),
        _line('{"code": 7}', '{"score": 0.5}', "e-2"),
    ]
    records = read_records(Lines(lines), schema=schema).records
    (path,) = write_parquet(records, tmp_path / "s.parquet", schema=schema)
    table = pq.read_table(path)
    assert table.column("code").to_pylist() == ["A7", "7"]
    assert table.column("score").to_pylist() == [1.0, 0.5]
    assert table.column("score").type == pa.float64()


def test_an_attribute_named_like_an_arthur_column_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ParquetError, match="clashes"):
        write_parquet([record("a", {"batch_id": "x"}, {})], tmp_path / "c.parquet", batch_id="b")


def _line(request: str, response: str, event_id: str) -> bytes:
    sides = {
        "endpointInput": {
            "observedContentType": "application/json",
            "mode": "INPUT",
            "data": request,
            "encoding": "JSON",
        },
        "endpointOutput": {
            "observedContentType": "application/json",
            "mode": "OUTPUT",
            "data": response,
            "encoding": "JSON",
        },
    }
    meta = {"eventId": event_id, "inferenceTime": "2024-03-05T08:00:00Z"}
    return json.dumps({"captureData": sides, "eventMetadata": meta, "eventVersion": "0"}).encode()


def test_cli_refuses_a_mixed_column_in_one_sentence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capture = tmp_path / "mixed.jsonl"
    capture.write_bytes(
        _line('{"code": "A7"}', '{"score": 1}', "e-1")
        + b"\n"
        + _line('{"code": 7}', '{"score": 2}', "e-2")
        + b"\n"
    )
    code = main(["convert", str(capture), "--format", "parquet", "-o", str(tmp_path / "m.pq")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("arthur-capture: column 'code' cannot be written as Parquet")
    assert err.count("\n") == 1


def test_cli_chunk_rows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "churn.parquet"
    argv = ["convert", str(ARTHUR / "churn_binary.jsonl"), "--format", "parquet", "-o"]
    argv += [str(target), "--schema", str(ARTHUR / "churn_binary.model.json"), "--chunk-rows", "4"]
    assert main(argv) == 1  # the fixture has rejects; the good records are still written
    assert "wrote 2 Parquet files" in capsys.readouterr().err
    files = sorted(tmp_path.glob("churn-*.parquet"))
    assert [f.name for f in files] == ["churn-00000.parquet", "churn-00001.parquet"]
    assert [pq.read_metadata(f).num_rows for f in files] == [4, 2]


# --- never a half file, never a deleted target (issue 9) ------------------------------------

OLD = b"the user's previous content"


def _previous(directory: Path, *names: str) -> dict[str, Path]:
    """Files that were there before a write, each holding ``OLD``."""
    paths = {name: directory / name for name in names}
    for path in paths.values():
        path.write_bytes(OLD)
    return paths


def _unchanged(directory: Path, before: dict[str, Path]) -> None:
    """The directory holds exactly what it held: no temporary file, no new chunk."""
    assert sorted(directory.iterdir()) == sorted(before.values())
    assert all(path.read_bytes() == OLD for path in before.values())


def test_a_failed_write_leaves_the_target_and_its_chunks_as_they_were(tmp_path: Path) -> None:
    """The third chunk cannot be typed: the two before it never reach their names."""
    before = _previous(tmp_path, "out.parquet", "out-00000.parquet", "out-00001.parquet")
    records = [record(f"p{i}", {"code": 7}) for i in range(5)] + [record("x", {"code": "A7"})]
    with pytest.raises(ParquetError):
        write_parquet(records, tmp_path / "out.parquet", chunk_rows=2)
    _unchanged(tmp_path, before)


def test_pyarrow_failing_half_way_never_deletes_or_replaces_the_target(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pyarrow removes the path it was writing when it fails: it must never get the target."""

    def half_then_full(table: pa.Table, where: Any, **options: Any) -> None:
        if isinstance(where, (str, Path)):  # what pyarrow does with a path it was given
            Path(where).write_bytes(b"PAR1 half a file")
            Path(where).unlink()
        else:
            where.write(b"PAR1 half a file")
        raise OSError(28, "No space left on device")

    before = _previous(tmp_path, "out.parquet")
    monkeypatch.setattr(pq, "write_table", half_then_full)
    with pytest.raises(OSError, match="No space left on device"):
        write_parquet([record("a")], tmp_path / "out.parquet")
    _unchanged(tmp_path, before)


def test_staged_files_appear_only_on_commit(tmp_path: Path) -> None:
    before = _previous(tmp_path, "out.parquet")
    with Staging() as staging:
        files = stage_parquet([record(f"p{i}") for i in range(3)], before["out.parquet"], staging)
        assert files == [before["out.parquet"]]
        assert before["out.parquet"].read_bytes() == OLD
        assert len(list(tmp_path.iterdir())) == 2  # the target and one temporary file
        staging.commit()
    assert pq.read_metadata(before["out.parquet"]).num_rows == 3
    assert list(tmp_path.iterdir()) == [before["out.parquet"]]


def test_staged_files_are_removed_without_a_commit(tmp_path: Path) -> None:
    with Staging() as staging:
        stage_parquet(
            [record(f"p{i}") for i in range(3)], tmp_path / "o.parquet", staging, chunk_rows=1
        )
        assert len(list(tmp_path.iterdir())) == 3
    assert list(tmp_path.iterdir()) == []
