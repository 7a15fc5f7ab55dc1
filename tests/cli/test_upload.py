"""The command line with a model schema: validate, convert --schema, formats and batch IDs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from arthur_capture.cli import main

ARTHUR = Path(__file__).resolve().parents[2] / "fixtures" / "arthur"
CHURN = ARTHUR / "churn_binary.jsonl"
CHURN_MODEL = ARTHUR / "churn_binary.model.json"
BATCH = ARTHUR / "batch_demand.jsonl"
BATCH_MODEL = ARTHUR / "batch_demand.model.json"


def expectation(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((ARTHUR / f"{name}.arthur.json").read_text())
    return data


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def good_lines_only(tmp_path: Path) -> Path:
    """The churn fixture's first two lines (three inferences that fit the model)."""
    lines = CHURN.read_bytes().split(b"\n")
    path = tmp_path / "good.jsonl"
    path.write_bytes(lines[0] + b"\n" + lines[1] + b"\n")
    return path


# --- validate -----------------------------------------------------------------------------


def test_validate_counts_failures_by_reason_with_examples(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(["validate", str(CHURN), "--schema", str(CHURN_MODEL)], capsys)
    assert code == 1
    assert err == ""
    lines = out.splitlines()
    assert lines[0] == (
        "6 of 12 inference(s) in 8 event line(s) fit the model; 6 inference(s) would be "
        "refused, 1 line(s) could not be read"
    )
    counts = [line for line in lines if line.startswith("  ") and not line.startswith("    ")]
    assert counts == [
        "  id_too_long: 2",
        "  invalid_value: 2",
        "  invalid_json: 1",
        "  missing_attribute: 1",
        "  unknown_attribute: 1",
    ]
    examples = [line.strip() for line in lines if line.startswith("    ")]
    assert len(examples) == 7
    assert f"{CHURN}:4: inference 0 (4f1d7a52-9b0e-4c1e-8a55-2b9c3f7e1a03): attribute " in out
    assert "'account_length' (INTEGER)" in out
    assert any(e.startswith(f"{CHURN}:5: inference 1 (cust-batch-7_1)") for e in examples)
    assert any(e.startswith(f"{CHURN}:6: line is not valid JSON") for e in examples)
    assert lines[-1].startswith("10 lines: 8 events, 1 blank, 1 rejected; 6 records")
    assert "6 inferences rejected" in lines[-1]


def test_validate_limits_examples(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["validate", str(CHURN), "--schema", str(CHURN_MODEL), "--examples", "1"]
    code, out, _ = run(argv, capsys)
    assert code == 1
    examples = [line for line in out.splitlines() if line.startswith("    ")]
    assert len(examples) == 5  # one per reason
    code, out, _ = run([*argv[:-1], "0"], capsys)
    assert code == 1
    assert not [line for line in out.splitlines() if line.startswith("    ")]
    assert "  invalid_value: 2" in out.splitlines()


def test_validate_exits_0_when_everything_fits(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = good_lines_only(tmp_path)
    code, out, _ = run(["validate", str(good), "--schema", str(CHURN_MODEL)], capsys)
    assert code == 0
    assert out.splitlines()[0] == (
        "3 of 3 inference(s) in 2 event line(s) fit the model; 0 inference(s) would be refused, "
        "0 line(s) could not be read"
    )
    assert len(out.splitlines()) == 2


def test_validate_several_files_and_a_bare_attribute_list(
    capsys: pytest.CaptureFixture[str],
) -> None:
    attributes = ARTHUR / "churn_binary.attributes.json"
    code, out, _ = run(["validate", str(CHURN), str(CHURN), "--schema", str(attributes)], capsys)
    assert code == 1
    assert out.splitlines()[0].startswith("12 of 24 inference(s) in 16 event line(s)")
    assert "  invalid_value: 4" in out.splitlines()


def test_validate_strict_stops_at_the_first_reject(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["validate", str(CHURN), "--schema", str(CHURN_MODEL), "--strict"]
    code, out, err = run(argv, capsys)
    assert code == 1
    assert out == ""
    assert err.startswith("arthur-capture: stopped (--strict): ")
    assert f"{CHURN}:4: invalid_value" in err


def test_validate_needs_a_schema(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["validate", str(CHURN)], capsys)
    assert code == 2
    assert out == ""
    assert err == "arthur-capture: validate needs --schema MODEL.json\n"


@pytest.mark.parametrize("command", ["validate", "convert", "preview"])
def test_an_unreadable_schema_file_is_one_sentence(
    tmp_path: Path, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.json"
    code, out, err = run([command, str(CHURN), "--schema", str(missing)], capsys)
    assert code == 2
    assert out == ""
    assert err == f"arthur-capture: cannot read {missing}: No such file or directory\n"


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("{not json", "the model schema is not valid JSON"),
        ('{"id": "m"}', "not an Arthur model or attribute list: attributes"),
        (
            json.dumps(
                [
                    {
                        "name": "features",
                        "stage": "PIPELINE_INPUT",
                        "value_type": "FLOAT",
                        "position": 0,
                    }
                ]
            ),
            "attribute name 'features' is reserved by Arthur",
        ),
        (
            '[{"name": "x", "stage": "PIPELINE_INPUT", "value_type": "FLOAT"}]',
            "PIPELINE_INPUT attribute 'x' has no position",
        ),
    ],
)
def test_an_invalid_schema_file_is_one_sentence(
    tmp_path: Path, content: str, fragment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    schema = tmp_path / "model.json"
    schema.write_text(content)
    code, out, err = run(["validate", str(CHURN), "--schema", str(schema)], capsys)
    assert code == 2
    assert out == ""
    assert err.startswith(f"arthur-capture: {schema}: ")
    assert fragment in err
    assert err.count("\n") == 1


# --- convert ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["churn_binary", "multiclass_iris", "regression_housing", "typed_csv"]
)
def test_convert_with_a_schema_writes_the_expected_records(
    tmp_path: Path, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = expectation(name)
    summary = tmp_path / "summary.json"
    rejects = tmp_path / "rejects.jsonl"
    argv = [
        "convert",
        str(ARTHUR / f"{name}.jsonl"),
        "--schema",
        str(ARTHUR / f"{name}.model.json"),
    ]
    argv += ["--summary", str(summary), "--rejects", str(rejects)]
    code, out, err = run(argv, capsys)
    assert code == 1  # every fixture holds rejects; the good records are still written
    assert [json.loads(line) for line in out.splitlines()] == spec["records"]
    assert json.loads(summary.read_text()) == spec["summary"]
    dead = [json.loads(line) for line in rejects.read_text().splitlines()]
    assert [
        {"reason": d["reason"], "line": d["line"], "index": d["index"], "event_id": d["event_id"]}
        for d in dead
    ] == [{k: v for k, v in r.items() if k != "message_contains"} for r in spec["rejects"]]
    assert err.splitlines()[-1].startswith(f"{spec['summary']['lines']} lines: ")


def test_convert_format_json_is_one_array(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["convert", str(CHURN), "--schema", str(CHURN_MODEL), "--format", "json"]
    code, out, _ = run(argv, capsys)
    assert code == 1
    parsed = json.loads(out)
    assert isinstance(parsed, list)
    assert parsed == expectation("churn_binary")["records"]


def test_convert_format_json_of_nothing_is_an_empty_array(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"\n")
    code, out, _ = run(["convert", str(empty), "--format", "json"], capsys)
    assert code == 0
    assert json.loads(out) == []


def test_convert_batch_id(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["convert", str(BATCH), "--schema", str(BATCH_MODEL), "--batch-id", "2024-W05"]
    code, out, _ = run(argv, capsys)
    assert code == 1
    objects = [json.loads(line) for line in out.splitlines()]
    assert objects == expectation("batch_demand")["records"]
    assert {o["batch_id"] for o in objects} == {"2024-W05"}


def test_convert_batch_id_without_a_schema(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = good_lines_only(tmp_path)
    code, out, _ = run(["convert", str(good), "--format", "json", "--batch-id", "b-1"], capsys)
    assert code == 0
    assert [o["batch_id"] for o in json.loads(out)] == ["b-1", "b-1", "b-1"]


def test_a_batch_model_needs_a_batch_id(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["convert", str(BATCH), "--schema", str(BATCH_MODEL)], capsys)
    assert code == 2
    assert out == ""
    assert err == (
        "arthur-capture: the model is a batch model: Arthur needs --batch-id for its inferences\n"
    )


def test_convert_parquet_writes_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "batch.parquet"
    argv = ["convert", str(BATCH), "--schema", str(BATCH_MODEL), "--batch-id", "2024-W05"]
    code, out, err = run([*argv, "--format", "parquet", "-o", str(target)], capsys)
    assert code == 1
    assert out == ""
    assert "wrote 1 Parquet file(s)" in err
    table = pq.read_table(target)
    assert table.column_names == [
        "partner_inference_id",
        "inference_timestamp",
        "batch_id",
        "store_id",
        "promo",
        "shelf_price",
        "units",
    ]
    assert table.column("batch_id").to_pylist() == ["2024-W05"] * 4
    assert table.column("units").to_pylist() == [41.0, 12.5, 7.25, 0.0]


@pytest.mark.parametrize("output", [None, "-"])
def test_convert_parquet_needs_an_output_file(
    output: str | None, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["convert", str(CHURN), "--format", "parquet"]
    if output is not None:
        argv += ["-o", output]
    code, out, err = run(argv, capsys)
    assert code == 2
    assert out == ""
    assert err == "arthur-capture: --format parquet needs -o OUT.parquet\n"


def test_convert_without_a_schema_keeps_column_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = good_lines_only(tmp_path)
    code, out, _ = run(["convert", str(good)], capsys)
    assert code == 0
    first = json.loads(out.splitlines()[0])
    assert first["inference_data"] == {
        "input_0": 128,
        "input_1": "no",
        "input_2": 265.1,
        "input_3": 1,
        "output_0": 0.0734,
    }


def test_preview_with_a_schema_shows_attribute_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = good_lines_only(tmp_path)
    code, out, _ = run(["preview", str(good), "--schema", str(CHURN_MODEL)], capsys)
    assert code == 0
    header = out.splitlines()[0]
    assert "partner_inference_id" in header
    assert "account_length" in header
    assert "churn_true_score" in header
    assert "cust-20240301-0001" in out
