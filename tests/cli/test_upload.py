"""The command line with a model schema (validate, convert --schema, formats and batch IDs),
and ``upload``: its options, the IDs it puts in a path, and the account it prints and writes."""

from __future__ import annotations

import gzip
import json
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow.parquet as pq
import pytest

from arthur_capture.arthur.schema import ModelSchema
from arthur_capture.cli import main
from arthur_capture.testing import LocalArthur

if TYPE_CHECKING:
    from collections.abc import Iterator

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
    assert lines[0].startswith("10 lines: 8 events, 1 blank, 1 rejected; 6 records")
    assert "6 inferences rejected" in lines[0]
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
    assert out.splitlines() == [
        "2 lines: 2 events, 0 blank, 0 rejected; 3 records, 0 inferences rejected"
    ]


def test_validate_several_files_and_a_bare_attribute_list(
    capsys: pytest.CaptureFixture[str],
) -> None:
    attributes = ARTHUR / "churn_binary.attributes.json"
    code, out, _ = run(["validate", str(CHURN), str(CHURN), "--schema", str(attributes)], capsys)
    assert code == 1
    assert out.splitlines()[0].startswith("20 lines: 16 events, 2 blank, 2 rejected; 12 records")
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
        ('{"id": "m"}', "a model without its attributes (Arthur adds them when asked with"),
        ('{"attributes": {}}', "not an Arthur model or attribute list: attributes"),
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
    assert "wrote 1 Parquet file" in err
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
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    good = good_lines_only(tmp_path)
    argv = ["preview", str(good), "--schema", str(CHURN_MODEL)]
    code, out, _ = run([*argv, "--columns", "account_length,churn_true_score"], capsys)
    assert code == 0
    header = out.splitlines()[0]
    assert "partner_inference_id" in header
    assert "account_length" in header
    assert "churn_true_score" in header
    assert "cust-20240301-0001" in out


# --- upload: options, IDs, the account -------------------------------------------------------


UPLOAD_TOKEN = "tok-upload-" + "k3J9mQ2xV7bN4cZ8" * 3


def capture(i: int) -> str:
    side = {"observedContentType": "text/csv", "encoding": "CSV"}
    data = {
        "endpointInput": {**side, "mode": "INPUT", "data": f"{i}"},
        "endpointOutput": {**side, "mode": "OUTPUT", "data": "0.5"},
    }
    meta = {"eventId": f"e-{i}", "inferenceTime": "2024-01-19T19:27:57Z"}
    return json.dumps({"captureData": data, "eventMetadata": meta, "eventVersion": "0"})


def captures_file(path: Path, numbers: range) -> Path:
    path.write_text("".join(capture(i) + "\n" for i in numbers))
    return path


CAPTURE_ATTRIBUTES = [
    {"name": "x", "stage": "PIPELINE_INPUT", "value_type": "INTEGER", "position": 0},
    {"name": "score", "stage": "PREDICTED_VALUE", "value_type": "FLOAT", "position": 0},
]
"""The model of :func:`capture`'s lines: one input, one score."""


def capture_model(tmp_path: Path) -> Path:
    """The model of :func:`capture`'s lines as a ``--schema`` file."""
    path = tmp_path / "capture.model.json"
    path.write_text(json.dumps({"id": "m1", "is_batch": False, "attributes": CAPTURE_ATTRIBUTES}))
    return path


def upload(
    argv: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> tuple[int, str, str]:
    monkeypatch.setenv("ARTHUR_ACCESS_TOKEN", UPLOAD_TOKEN)
    return run(["upload", *argv], capsys)


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "-1", "0", "soon", "1e400"])
def test_upload_float_options_must_be_positive_and_finite(
    tmp_path: Path,
    value: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    good = good_lines_only(tmp_path)
    argv = [str(good), "--host", "https://arthur.example", "--model-id", "m", "--timeout", value]
    code, out, err = upload(argv, capsys, monkeypatch)
    assert code == 2
    assert out == ""
    assert err.startswith("arthur-capture: argument --timeout: ")
    assert err.count("\n") == 1
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--model-id", ".."], "the model ID '..' is not an ID"),
        (["--model-id", "a/b"], "the model ID must not hold '/' or a backslash"),
        (["--model-id", ""], "give --host and --model-id"),
        (["--model-id", "m", "--batch-id", "..", "--close-batch"], "the batch ID '..' is not"),
        (["--model-id", "m", "--batch-id", "b\x01", "--close-batch"], "the batch ID holds a"),
        (["--model-id", "m", "--org-id", "\u00e9t\u00e9"], "the organization ID must be"),
    ],
)
def test_upload_ids_that_would_change_the_path_are_usage_errors(
    tmp_path: Path,
    extra: list[str],
    fragment: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    good = good_lines_only(tmp_path)
    code, out, err = upload([str(good), "--host", "https://a.example", *extra], capsys, monkeypatch)
    assert code == 2
    assert out == ""
    assert fragment in err
    assert err.count("\n") == 1


def test_upload_summary_must_not_be_an_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    good = good_lines_only(tmp_path)
    before = good.read_bytes()
    argv = [str(good), "--host", "https://a.example", "--model-id", "m", "--summary", str(good)]
    code, _, err = upload(argv, capsys, monkeypatch)
    assert code == 2
    assert "--summary" in err
    assert "is the same file as the input" in err
    assert good.read_bytes() == before


def test_upload_summary_holds_the_whole_account(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.arthur.hostile import HostileArthur, refused

    path = captures_file(tmp_path / "c.jsonl", range(25))
    summary = tmp_path / "out" / "summary.json"
    summary.parent.mkdir()
    with HostileArthur("few_results", UPLOAD_TOKEN) as srv:
        argv = [str(path), "--host", srv.url, "--model-id", "m1", "--chunk-size", "10"]
        argv += ["--schema", str(capture_model(tmp_path))]
        code, out, err = upload([*argv, "--summary", str(summary)], capsys, monkeypatch)
    assert code == 1
    document = json.loads(summary.read_text())
    accepted = sum(1 for i in range(25) if not refused(f"e-{i}")) - 3
    refusals = sum(1 for i in range(25) if refused(f"e-{i}"))
    assert document["account"] == {
        "read": 25,
        "accepted": accepted,
        "refused": refusals - sum(1 for i in (9, 19, 24) if refused(f"e-{i}")),
        "possibly_stored": 3,  # the last record of each chunk got no result
        "failed": 0,
        "not_sent": 0,
        "balanced": True,
    }
    assert (document["outcome"], document["stopped"], document["exit_status"]) == (
        "completed",
        None,
        1,
    )
    assert [f["partner_inference_id"] for f in document["failed"]] == ["e-9", "e-19", "e-24"]
    assert {f["kind"] for f in document["failed"]} == {"possibly stored"}
    assert document["not_read"] == []
    assert len(document["warnings"]) == 6  # per chunk: a result short, counts off
    assert document["upload"]["possibly_stored"] == 3
    assert document["reading"]["records"] == 25
    assert "possibly stored e-9 status=207" in out
    assert err.count("Traceback") == 0


def test_upload_names_the_lines_and_files_it_did_not_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.arthur.hostile import HostileArthur

    first = captures_file(tmp_path / "a.jsonl", range(20))
    second = captures_file(tmp_path / "b.jsonl", range(20, 27))
    third = tmp_path / "c.jsonl.gz"
    third.write_bytes(gzip.compress(captures_file(tmp_path / "c", range(27, 30)).read_bytes()))
    summary = tmp_path / "summary.json"
    with HostileArthur("auth_midway", UPLOAD_TOKEN, auth_after=1) as srv:
        argv = [str(first), str(second), str(third), "--host", srv.url, "--model-id", "m1"]
        argv += ["--chunk-size", "5", "--summary", str(summary)]
        argv += ["--schema", str(capture_model(tmp_path))]
        code, out, err = upload(argv, capsys, monkeypatch)
    assert code == 2
    assert err.strip() == (
        "arthur-capture: Arthur answered 401: the token is missing or wrong: the token expired"
    )
    document = json.loads(summary.read_text())
    assert document["account"] == {
        "read": 11,
        "accepted": document["account"]["accepted"],
        "refused": document["account"]["refused"],
        "possibly_stored": 0,
        "failed": 5,
        "not_sent": 1,  # e-10, read to close the chunk that got the 401
        "balanced": True,
    }
    assert document["not_read"] == [
        {"file": str(first), "lines": 9, "after_line": 11},
        {"file": str(second), "lines": 7, "after_line": None},
        {"file": str(third), "lines": None, "after_line": None},
    ]
    lines = out.splitlines()
    assert lines[-3:] == [
        f"not read: {first}: 9 line(s) after line 11",
        f"not read: {second}: 7 line(s) (never opened)",
        f"not read: {third}: the whole file (never opened)",
    ]
    assert f"failed 5 records of chunk 1 status=401 {first}:6 to {first}:10 (e-5 to e-9): " in out


def test_upload_strict_stop_names_the_lines_not_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.arthur.hostile import HostileArthur

    lines = [capture(i) for i in range(6)]
    lines[3] = "{not json"
    path = tmp_path / "c.jsonl"
    path.write_text("\n".join(lines) + "\n")
    with HostileArthur("ok", UPLOAD_TOKEN) as srv:
        argv = [str(path), "--host", srv.url, "--model-id", "m1", "--strict"]
        argv += ["--schema", str(capture_model(tmp_path))]
        code, out, err = upload(argv, capsys, monkeypatch)
    assert code == 1
    assert "stopped (--strict)" in err
    assert f"not read: {path}: 2 line(s) after line 4" in out.splitlines()
    assert "3 records to Arthur: " in out


# --- upload: the model's schema fetched from Arthur, plain http, 401/403 ---------------------

HOUSING = ARTHUR / "regression_housing.jsonl"
HOUSING_MODEL = ARTHUR / "regression_housing.model.json"
HOUSING_ID = "m-housing"
PLAIN_HOST = "arthur-plain.test"
"""A host name that is not loopback; the tests resolve it to 127.0.0.1."""


@pytest.fixture
def housing() -> Iterator[LocalArthur]:
    schema = ModelSchema.load(HOUSING_MODEL)
    with LocalArthur(
        schema, model_id=HOUSING_ID, token=UPLOAD_TOKEN, organization_id="org-1"
    ) as srv:
        yield srv


def one_line(err: str) -> str:
    assert err.endswith("\n")
    assert err.count("\n") == 1, err
    assert "Traceback" not in err
    assert UPLOAD_TOKEN not in err
    return err.removeprefix("arthur-capture: ").rstrip("\n")


def free_port() -> int:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def upload_account(
    argv: list[str],
    summary: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[int, str, str, dict[str, Any]]:
    """``upload`` with ``--summary``: exit status, stdout, stderr, and the account it wrote."""
    code, out, err = upload([*argv, "--summary", str(summary)], capsys, monkeypatch)
    document: dict[str, Any] = json.loads(summary.read_text())
    return code, out, err, dict(document["account"])


def test_upload_without_a_schema_fetches_it_before_sending(
    housing: LocalArthur,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    argv = [str(HOUSING), "--host", housing.url, "--model-id", HOUSING_ID, "--no-progress"]
    code, out, err, counts = upload_account(argv, tmp_path / "s.json", capsys, monkeypatch)
    assert code == 1  # the fixture's rejects: mapped and checked before anything is sent
    assert (counts["accepted"], counts["refused"]) == (5, 0)
    requests = [(r.method, r.path) for r in housing.requests]
    model = f"/api/v3/models/{HOUSING_ID}"
    assert requests == [("GET", model), ("POST", f"{model}/inferences")]
    names = {a.name for a in housing.schema.attributes}
    assert len(housing.inferences) == 5
    for record in housing.inferences.values():
        assert set(record["inference_data"]) <= names
        assert not any(k.startswith(("input_", "output_")) for k in record["inference_data"])
    housing.reset()
    with_file = upload([*argv, "--schema", str(HOUSING_MODEL)], capsys, monkeypatch)
    assert (code, out, err) == with_file  # the same account as with --schema
    assert housing.request_count("GET") == 0  # with --schema: no GET


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        (
            "404",
            (
                "cannot fetch the model's schema, which upload needs without --schema: model "
                "'m-none' not found at {url} (Arthur answered 404: no model with id 'm-none'); "
                "check --model-id, or pass --schema MODEL.json (arthur-capture schema -o "
                "MODEL.json writes it)"
            ),
        ),
        (
            "401",
            (
                "cannot fetch the model's schema, which upload needs without --schema: Arthur "
                "answered 401 for model 'm-housing': the token in ARTHUR_ACCESS_TOKEN is missing, "
                "wrong or expired (missing or invalid Authorization header (send the raw token))"
            ),
        ),
        (
            "403",
            (
                "cannot fetch the model's schema, which upload needs without --schema: Arthur "
                "answered 403 for model 'm-housing': the token in ARTHUR_ACCESS_TOKEN may not "
                "read this model (the token has no access to this organization); fetch the "
                "schema with a token that may (arthur-capture schema -o MODEL.json) and pass "
                "--schema MODEL.json"
            ),
        ),
        (
            "unreachable",
            (
                "cannot fetch the model's schema, which upload needs without --schema: cannot "
                "reach Arthur at {url} for model 'm-housing': cannot connect: "
            ),
        ),
    ],
)
def test_upload_that_cannot_fetch_the_schema_stops_in_one_line(
    housing: LocalArthur,
    case: str,
    expected: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, model, extra = housing.url, HOUSING_ID, ["--attempts", "1"]
    monkeypatch.setenv("ARTHUR_ACCESS_TOKEN", UPLOAD_TOKEN)
    if case == "404":
        model = "m-none"
    elif case == "401":
        monkeypatch.setenv("ARTHUR_ACCESS_TOKEN", "wrong-token")
    elif case == "403":
        extra += ["--org-id", "org-2"]
    else:
        url = f"http://127.0.0.1:{free_port()}"
    argv = ["upload", str(HOUSING), "--host", url, "--model-id", model, *extra]
    code, out, err = run(argv, capsys)
    assert (code, out) == (2, "")
    line = one_line(err)
    assert line.startswith(expected.format(url=url))
    assert housing.request_count("POST") == 0  # nothing was sent
    assert housing.request_count() == (0 if case == "unreachable" else 1)  # never retried


def test_upload_of_a_fetched_batch_model_needs_a_batch_id(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    schema = ModelSchema.load(BATCH_MODEL)
    with LocalArthur(schema, model_id="m-batch", token=UPLOAD_TOKEN) as srv:
        argv = [str(BATCH), "--host", srv.url, "--model-id", "m-batch"]
        code, out, err = upload(argv, capsys, monkeypatch)
        assert (code, out) == (2, "")
        assert one_line(err) == "the model is a batch model: give --batch-id."
        assert srv.request_count("POST") == 0
        code, out, _ = upload([*argv, "--batch-id", "w5", "--no-progress"], capsys, monkeypatch)
        assert code == 1  # the fixture's rejects
        assert {r["batch_id"] for r in srv.inferences.values()} == {"w5"}


@pytest.mark.parametrize(
    ("token", "org", "status"), [("wrong-token", "org-1", 401), (UPLOAD_TOKEN, "org-2", 403)]
)
def test_upload_401_or_403_stops_in_one_line_and_is_never_retried(
    housing: LocalArthur,
    token: str,
    org: str,
    status: int,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With ``--schema`` (no GET first), the first chunk gets it: the account, and one line."""
    monkeypatch.setenv("ARTHUR_ACCESS_TOKEN", token)
    argv = ["upload", str(HOUSING), "--host", housing.url, "--model-id", HOUSING_ID]
    argv += ["--schema", str(HOUSING_MODEL), "--org-id", org, "--no-progress"]
    code, out, err = run(argv, capsys)
    assert code == 2
    assert one_line(err).startswith(f"Arthur answered {status}: the token ")
    assert housing.request_count() == 1  # not retried
    assert housing.inferences == {}
    assert out  # the account is still printed


def test_upload_plain_http_to_a_host_that_is_not_loopback_names_the_flag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    good = good_lines_only(tmp_path)
    argv = [str(good), "--host", "http://arthur.example", "--model-id", "m"]
    code, out, err = upload(argv, capsys, monkeypatch)
    assert (code, out) == (2, "")
    assert one_line(err) == (
        "refusing to send the token over plain http to arthur.example; use https, or pass "
        "--allow-insecure to send it unencrypted"
    )


def test_upload_allow_insecure_warns_once_and_sends(
    housing: LocalArthur, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = socket.getaddrinfo

    def resolve(host: Any, *args: Any, **kwargs: Any) -> Any:
        return real("127.0.0.1" if host == PLAIN_HOST else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    for proxy in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(proxy, raising=False)
    host = f"http://{PLAIN_HOST}:{housing.port}"
    argv = [str(HOUSING), "--host", host, "--model-id", HOUSING_ID, "--allow-insecure"]
    code, _, err = upload([*argv, "--no-progress"], capsys, monkeypatch)
    assert code == 1  # the fixture's rejects
    assert one_line(err) == (
        f"warning: --allow-insecure: the token goes to {PLAIN_HOST} over plain http, unencrypted"
    )
    assert len(housing.inferences) == 5
    assert housing.request_count("GET") == 1
