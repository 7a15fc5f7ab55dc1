"""arthur_capture.spark in Spark local mode gives what the core reader gives, file by file.

One ``local[2]`` session for the module (UI off, two shuffle partitions, loopback only, Python
workers on this interpreter). Every comparison is against ``arthur_capture.read_records`` over
the same files: records in order with their IDs, instants and values, rejects with every field
(``raw`` included), and per-file ledgers. s3a:// is not exercised (no network, no hadoop-aws
jars here); the listing logic is the same Hadoop code path over local paths.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import pyarrow.parquet as pq
import pytest

from arthur_capture import Ledger, default_registry, dumps_json, read_records
from arthur_capture import spark as acs
from arthur_capture.arthur.contract import SEND_STAGES, Stage, ValueType, new_inference
from arthur_capture.arthur.mapping import SchemaMapper
from arthur_capture.arthur.schema import Attribute, ModelSchema
from arthur_capture.decoders.text_csv import CSVDecoder
from arthur_capture.errors import SchemaError
from arthur_capture.sinks.parquet import write_parquet
from arthur_capture.testing.local_arthur import LocalArthur
from tests.conftest import FIXTURES, ROOT

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pyspark.sql import SparkSession

    from arthur_capture.records import InferenceRecord
    from arthur_capture.spark import CaptureFrames


pytestmark = pytest.mark.filterwarnings(
    "ignore:PySpark does not yet fully support pandas:FutureWarning"
)

TOKEN_ENV = "ARTHUR_CAPTURE_SPARK_TEST_TOKEN"  # noqa: S105 - a variable name
TOKEN = "spark-test-token-5c1e"  # noqa: S105 - a test token
MODEL_FIXTURES = sorted(
    p.name.removesuffix(".model.json") for p in FIXTURES.glob("arthur/*.model.json")
)
OPTION_FIXTURES: dict[str, dict[str, Any]] = {
    "invalid/line_too_large.jsonl": {"max_line_bytes": 1024},
    "mixed/html_labelled_json.jsonl": {"content_types": {"text/html": "application/json"}},
    "mixed/sniffed_bodies.jsonl": {"sniff": True},
    "text_csv/header_row.jsonl": {"csv_header": True},
}


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def spark() -> Iterator[SparkSession]:
    from pyspark.sql import SparkSession

    with pytest.MonkeyPatch.context() as env:
        env.setenv("PYSPARK_PYTHON", sys.executable)
        env.setenv("PYSPARK_DRIVER_PYTHON", sys.executable)
        env.setenv("SPARK_LOCAL_IP", "127.0.0.1")
        env.setenv(TOKEN_ENV, TOKEN)  # the JVM, and so the Python workers, inherit it
        session = (
            SparkSession.builder.master("local[2]")
            .appName("arthur-capture-tests")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", "2")
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.sql.session.timeZone", "America/New_York")  # results must not care
            .getOrCreate()
        )
        session.sparkContext.setLogLevel("ERROR")
        yield session
        session.stop()


def _load_generator() -> Any:
    spec = importlib.util.spec_from_file_location(
        "_capture_generator", ROOT / "benchmarks/generate.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def capture_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SageMaker-like tree: hour prefixes, gzip, an empty file, a cut line, other files."""
    generator = _load_generator()
    root = tmp_path_factory.mktemp("capture") / "ep" / "AllTraffic" / "2024" / "01"
    hours = [root / "19" / "19", root / "19" / "20", root / "20" / "00"]
    for hour in hours:
        hour.mkdir(parents=True)
    with (hours[0] / "00-a.jsonl").open("wb") as out:
        generator.generate(out, 12_000, 1)
    with gzip.open(hours[0] / "01-b.jsonl.gz", "wb") as out:
        generator.generate(out, 12_000, 2)
    with (hours[1] / "00-c.jsonl").open("wb") as out:
        generator.generate(out, 12_000, 3)
        out.write(b"\n   \n")
        out.write(b'{"captureData": {"endpointInput": {"observedContentType": "text/csv", "mo')
    (hours[1] / "01-empty.jsonl").write_bytes(b"")
    with (hours[2] / "00-d.jsonl").open("wb") as out:
        generator.generate(out, 12_000, 4)
    (hours[2] / "notes.txt").write_text("not a capture file\n")
    (hours[2] / "x.json").write_text("{}\n")
    return root


def generated_schema() -> ModelSchema:
    """The model of ``benchmarks/generate.py``'s captures (20 features, a score, a label)."""
    return ModelSchema.from_json((ROOT / "benchmarks" / "generated.model.json").read_bytes())


def model(name: str) -> ModelSchema:
    return ModelSchema.from_json((FIXTURES / "arthur" / f"{name}.model.json").read_bytes())


# --------------------------------------------------------------------------- helpers


def local(uri: str) -> str:
    """``file:/a/b.jsonl`` → ``/a/b.jsonl``."""
    parsed = urlparse(uri)
    assert parsed.scheme == "file", uri
    return parsed.path


def by_source(rows: list[dict[str, Any]], key: str = "source") -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        grouped[local(row[key])].append(row)
    return dict(grouped)


def collect(frames: CaptureFrames) -> tuple[list[dict[str, Any]], ...]:
    """Records (as Arrow gives them: aware UTC timestamps), rejects and ledgers."""
    records = frames.inferences.toArrow().to_pylist()
    rejects = [row.asDict() for row in frames.rejects.collect()]
    ledgers = [row.asDict() for row in frames.ledgers.collect()]
    return records, rejects, ledgers


def core_record(record: InferenceRecord) -> dict[str, Any]:
    return {
        "partner_inference_id": record.partner_inference_id,
        "inference_timestamp": record.inference_timestamp,
        "line_number": record.line_number,
        "event_id": record.event_id,
        "index": record.index,
    }


def spark_record(row: dict[str, Any]) -> dict[str, Any]:
    keys = ("partner_inference_id", "inference_timestamp", "line_number", "event_id", "index")
    return {key: row[key] for key in keys}


def ledger_counts(ledger: Ledger) -> dict[str, Any]:
    counts = ledger.to_dict()
    del counts["sources"]
    assert counts.pop("duplicate_examples") == []  # a ledgers row has counts, not examples
    return counts


def spark_ledger(row: dict[str, Any]) -> dict[str, Any]:
    counts = {k: v for k, v in row.items() if k != "source"}
    counts["rejects_by_reason"] = dict(sorted(counts["rejects_by_reason"].items()))
    return counts


def assert_same_as_core(
    frames: CaptureFrames, files: list[Path], **options: Any
) -> tuple[list[dict[str, Any]], ...]:
    """Records, rejects and ledgers equal the core reader's, file by file, in order."""
    records, rejects, ledgers = collect(frames)
    spark_records = by_source(records)
    spark_rejects = by_source(rejects)
    spark_ledgers = {local(row["source"]): row for row in ledgers}
    assert sorted(spark_ledgers) == sorted(str(f) for f in files)
    schema = options.get("schema")
    for path in files:
        core = read_records(path, **options)
        got = spark_records.get(str(path), [])
        assert [spark_record(r) for r in got] == [core_record(r) for r in core.records], path
        for row, record in zip(got, core.records, strict=True):
            data = {**record.inputs, **record.outputs}
            if schema is None:
                assert row["inference_data"] == dumps_json(data).decode(), path
            else:
                for name in frames.value_columns:
                    assert row[name] == data.get(name), (path, record.partner_inference_id, name)
        expected_rejects = [r.to_dict() for r in core.rejects]
        for reject in expected_rejects:
            reject["source"] = str(path)
        got_rejects = [
            {**r, "source": local(r["source"])} for r in spark_rejects.get(str(path), [])
        ]
        assert got_rejects == expected_rejects, path
        assert spark_ledger(spark_ledgers[str(path)]) == ledger_counts(core.ledger), path
    # Spark reads each file as a run of its own: duplicates are counted within a file
    total = Ledger()
    for path in files:
        total.add(read_records(path, **options).ledger)
    assert frames.ledger().to_dict() == {**total.to_dict(), "duplicate_examples": []}
    assert all(row["balanced"] for row in ledgers)
    return records, rejects, ledgers


def reader_options(options: dict[str, Any]) -> dict[str, Any]:
    kwargs = {k: v for k, v in options.items() if k != "csv_header"}
    if options.get("csv_header"):
        registry = default_registry()
        registry.register(CSVDecoder(header=True), replace=True)
        kwargs["registry"] = registry
    return kwargs


# --------------------------------------------------------------------------- reading


def test_fixtures_without_schema_match_the_core_reader(spark: SparkSession) -> None:
    files = sorted(
        p
        for p in FIXTURES.rglob("*.jsonl*")
        if p.relative_to(FIXTURES).as_posix() not in OPTION_FIXTURES and p.parent.name != "arthur"
    )
    assert len(files) > 40
    frames = acs.read_captures(spark, [str(p) for p in files], path_glob_filter=None)
    assert frames.value_columns == ("inference_data",)
    types = {f.name: f.dataType.simpleString() for f in frames.inferences.schema.fields}
    assert types == {
        "partner_inference_id": "string",
        "inference_timestamp": "timestamp",
        "source": "string",
        "line_number": "int",
        "event_id": "string",
        "index": "int",
        "inference_data": "string",
    }
    assert frames.rejects.columns == [
        "reason",
        "source",
        "line",
        "offset",
        "event_id",
        "index",
        "message",
        "raw",
    ]
    records, rejects, _ = assert_same_as_core(frames.persist(), files)
    frames.unpersist()
    assert len(records) > 100
    reasons = {r["reason"] for r in rejects}
    assert {"invalid_json", "truncated_line", "invalid_compression", "count_mismatch"} <= reasons


@pytest.mark.parametrize("name", sorted(OPTION_FIXTURES))
def test_reader_options_travel_to_the_executors(spark: SparkSession, name: str) -> None:
    options = reader_options(OPTION_FIXTURES[name])
    path = FIXTURES / name
    frames = acs.read_captures(spark, str(path), **options)
    records, _, _ = assert_same_as_core(frames, [path], **options)
    assert records  # each of these fixtures has records only with its option


@pytest.mark.parametrize("name", MODEL_FIXTURES)
def test_model_fixtures_with_schema_match_the_core_reader(spark: SparkSession, name: str) -> None:
    schema = model(name)
    path = FIXTURES / "arthur" / f"{name}.jsonl"
    frames = acs.read_captures(spark, str(path), schema=schema).persist()
    by_path = acs.read_captures(spark, str(path), schema=FIXTURES / "arthur" / f"{name}.model.json")
    assert by_path.value_columns == frames.value_columns
    try:
        sent = [a for a in schema.attributes if a.stage in SEND_STAGES]
        assert set(frames.value_columns) == {a.name for a in sent}
        fields = {f.name: f for f in frames.inferences.schema.fields}
        for attribute in sent:
            field = fields[attribute.name]
            assert field.dataType == acs.spark_type(attribute.value_type)
            meta = field.metadata["arthur_capture"]
            assert meta["value_type"] == str(attribute.value_type)
            assert meta["implicit"] is bool(attribute.implicit)
        records, rejects, _ = assert_same_as_core(frames, [path], schema=schema)
    finally:
        frames.unpersist()
    assert records
    assert any(r["index"] is not None for r in rejects)  # inference-level rejects too


def test_spark_types_of_every_value_type() -> None:
    from pyspark.sql.types import ArrayType, StringType

    assert acs.spark_type(ValueType.INTEGER).simpleString() == "bigint"
    assert acs.spark_type(ValueType.FLOAT).simpleString() == "double"
    assert acs.spark_type(ValueType.STRING).simpleString() == "string"
    assert acs.spark_type(ValueType.UNSTRUCTURED_TEXT).simpleString() == "string"
    assert acs.spark_type(ValueType.BOOLEAN).simpleString() == "boolean"
    assert acs.spark_type(ValueType.TIMESTAMP).simpleString() == "timestamp"
    assert acs.spark_type(ValueType.ARRAY_STRING) == ArrayType(StringType())
    assert acs.spark_type(ValueType.BOUNDING_BOX) == StringType()  # JSON text


def test_value_columns_without_a_schema(spark: SparkSession) -> None:
    from pyspark.sql.types import DoubleType

    path = FIXTURES / "demo" / "demo.jsonl"
    columns: dict[str, Any] = {
        "input_0": "long",
        "input_1": DoubleType(),
        "input_2": "FLOAT",
        "score": "double",
    }
    frames = acs.read_captures(spark, str(path), value_columns=columns)
    assert frames.value_columns == ("input_0", "input_1", "input_2", "score")
    records, rejects, ledgers = collect(frames)
    core = read_records(path)
    # input_3 and input_4 are not listed: each inference is refused on its own
    assert records == []
    assert len(rejects) == core.ledger.records
    assert {r["reason"] for r in rejects} == {"unknown_attribute"}
    assert ledgers[0]["rejected_inferences"] == core.ledger.records
    assert ledgers[0]["balanced"]

    columns.update({"input_3": "bigint", "input_4": "int"})
    frames = acs.read_captures(spark, str(path), value_columns=columns)
    records, rejects, _ = collect(frames)
    assert rejects == []
    assert len(records) == len(core.records)
    for row, record in zip(records, core.records, strict=True):
        data = {**record.inputs, **record.outputs}
        assert row["input_0"] == data["input_0"]
        assert isinstance(row["input_1"], float)
        assert row["input_1"] == float(data["input_1"])
        assert row["score"] == data["score"]


def capture_line(event_id: str, inputs: dict[str, Any], score: Any) -> bytes:
    def side(mode: str, body: Any) -> dict[str, str]:
        data = json.dumps(body)
        return {
            "observedContentType": "application/json",
            "mode": mode,
            "encoding": "JSON",
            "data": data,
        }

    event = {
        "captureData": {
            "endpointInput": side("INPUT", {"instances": [inputs]}),
            "endpointOutput": side("OUTPUT", {"predictions": [{"score": score}]}),
        },
        "eventMetadata": {"eventId": event_id, "inferenceTime": "2024-03-01T10:00:00.123456Z"},
        "eventVersion": "0",
    }
    return json.dumps(event).encode() + b"\n"


def test_typed_columns_of_every_kind(spark: SparkSession, tmp_path: Path) -> None:
    from datetime import UTC, datetime

    path = tmp_path / "typed.jsonl"
    row = {
        "text": "hi",
        "tokens": ["a", "b"],
        "tags": ["x"],
        "seen": "2024-03-01T09:30:00+02:00",
        "ok": "yes",
        "n": "7",
    }
    lines = capture_line("e1", row, 0.5) + capture_line("e2", {**row, "ok": "maybe"}, 0.25)
    lines += capture_line("e3", {**row, "tokens": None, "n": "1e400"}, "NaN")
    path.write_bytes(lines)
    columns = {
        "text": "string",
        "tokens": ValueType.TOKENS,
        "tags": "array<string>",
        "seen": "timestamp",
        "ok": "boolean",
        "n": "long",
        "score": "double",
    }
    frames = acs.read_captures(spark, str(path), value_columns=columns)
    types = {f.name: f.dataType.simpleString() for f in frames.inferences.schema.fields}
    assert [types[name] for name in columns] == [
        "string",
        "string",
        "array<string>",
        "timestamp",
        "boolean",
        "bigint",
        "double",
    ]
    records, rejects, ledgers = collect(frames)
    assert [(r["reason"], r["event_id"], r["index"]) for r in rejects] == [
        ("invalid_value", "e2", 0),
        ("invalid_value", "e3", 0),
    ]
    assert ledgers[0]["records"] == 1
    assert ledgers[0]["rejected_inferences"] == 2
    (record,) = records
    assert record["inference_timestamp"] == datetime(2024, 3, 1, 10, 0, 0, 123456, tzinfo=UTC)
    assert {name: record[name] for name in columns} == {
        "text": "hi",
        "tokens": '["a","b"]',  # a pass-through type, as JSON text
        "tags": ["x"],
        "seen": datetime(2024, 3, 1, 7, 30, tzinfo=UTC),
        "ok": True,
        "n": 7,
        "score": 0.5,
    }


def test_bad_arguments_are_refused_on_the_driver(spark: SparkSession) -> None:
    path = str(FIXTURES / "demo" / "demo.jsonl")
    with pytest.raises(ValueError, match="not both"):
        acs.read_captures(spark, path, schema=model("churn_binary"), value_columns={"a": "long"})
    with pytest.raises(ValueError, match="strict"):
        acs.read_captures(spark, path, strict=True)
    with pytest.raises(ValueError, match="mapper"):
        acs.read_captures(spark, path, mapper=SchemaMapper(model("churn_binary")))
    with pytest.raises(ValueError, match="not one of"):
        acs.read_captures(spark, path, value_columns={"a": "decimal(10,2)"})
    with pytest.raises(SchemaError, match="reserved"):
        acs.read_captures(spark, path, value_columns={"batch_id": "string"})
    with pytest.raises(TypeError):
        acs.read_captures(spark, path, no_such_option=1)
    clash = ModelSchema.from_attributes(
        [
            Attribute(
                name="source", stage=Stage.PIPELINE_INPUT, value_type=ValueType.STRING, position=0
            )
        ]
    )
    with pytest.raises(ValueError, match="provenance_prefix"):
        acs.read_captures(spark, path, schema=clash)
    frames = acs.read_captures(spark, path, schema=clash, provenance_prefix="_")
    assert frames.inferences.columns == [
        "partner_inference_id",
        "inference_timestamp",
        "_source",
        "_line_number",
        "_event_id",
        "_index",
        "source",
    ]


# --------------------------------------------------------------------------- listing


def test_listing_filters_names_and_descends_hour_prefixes(
    spark: SparkSession, capture_tree: Path
) -> None:
    from pyspark.errors import AnalysisException

    files = acs.list_capture_files(spark, str(capture_tree))
    names = [local(f.path).removeprefix(str(capture_tree) + "/") for f in files]
    # 19/20/01-empty.jsonl is not listed: Spark's file sources skip zero-byte files
    assert names == [
        "19/19/00-a.jsonl",
        "19/19/01-b.jsonl.gz",
        "19/20/00-c.jsonl",
        "20/00/00-d.jsonl",
    ]
    for file in files:
        stat = Path(local(file.path)).stat()
        assert file.length == stat.st_size
        assert file.modification_time.utcoffset() is not None
        assert abs(file.modification_time.timestamp() - stat.st_mtime) < 1
    one_day = acs.list_capture_files(spark, str(capture_tree / "19" / "*"))
    assert [f.path for f in one_day] == [f.path for f in files[:3]]
    hours = [str(capture_tree / "19" / "20"), str(capture_tree / "20" / "00")]
    assert [f.path for f in acs.list_capture_files(spark, hours)] == [f.path for f in files[2:]]
    every = acs.list_capture_files(spark, str(capture_tree), path_glob_filter=None)
    assert len(every) == 6
    flat = acs.list_capture_files(spark, str(capture_tree / "19" / "19"), recursive=False)
    assert [f.path for f in flat] == [f.path for f in files[:2]]
    with pytest.raises(AnalysisException):
        acs.list_capture_files(spark, str(capture_tree / "21" / "*"))


def test_generated_tree_and_a_listing_match_the_core_reader(
    spark: SparkSession, capture_tree: Path
) -> None:
    files = acs.list_capture_files(spark, str(capture_tree))
    paths = [Path(local(f.path)) for f in files]
    frames = acs.read_captures(spark, files[1:], schema=generated_schema())
    _, rejects, ledgers = assert_same_as_core(frames, paths[1:], schema=generated_schema())
    assert len(ledgers) == 3
    assert [r["reason"] for r in rejects] == ["truncated_line"]
    blank = next(row for row in ledgers if row["source"].endswith("00-c.jsonl"))
    assert blank["blank_lines"] == 2
    assert blank["rejected_lines"] == 1


def test_files_per_partition(spark: SparkSession, capture_tree: Path) -> None:
    from pyspark.sql import functions as F  # noqa: N812

    frames = acs.read_captures(spark, str(capture_tree))
    before = spark.conf.get("spark.sql.files.openCostInBytes")
    with acs.file_partitioning(spark, files_per_partition=1):
        per_task = frames.ledgers.groupBy(F.spark_partition_id()).count().collect()
    assert sorted(row["count"] for row in per_task) == [1, 1, 1, 1]
    with acs.file_partitioning(spark, files_per_partition=2, max_partition_bytes=1 << 20):
        per_task = frames.ledgers.groupBy(F.spark_partition_id()).count().collect()
    assert sum(row["count"] for row in per_task) == 4
    assert max(row["count"] for row in per_task) <= 2
    assert spark.conf.get("spark.sql.files.openCostInBytes") == before
    with (
        pytest.raises(ValueError, match="positive"),
        acs.file_partitioning(spark, files_per_partition=0),
    ):
        pass


# --------------------------------------------------------------------------- Parquet


def parquet_rows(path: Path) -> tuple[dict[str, str], list[dict[str, Any]]]:
    table = pq.read_table(path)
    types = {field.name: str(field.type) for field in table.schema}
    rows = sorted(table.to_pylist(), key=lambda row: row["partner_inference_id"])
    return types, rows


@pytest.mark.parametrize(
    ("name", "batch_id"),
    [("churn_binary", None), ("typed_csv", None), ("batch_demand", "2024-03-08")],
)
def test_parquet_equals_write_parquet(
    spark: SparkSession, tmp_path: Path, name: str, batch_id: str | None
) -> None:
    schema = model(name)
    path = FIXTURES / "arthur" / f"{name}.jsonl"
    frames = acs.read_captures(spark, str(path), schema=schema)
    out = tmp_path / "spark"
    columns = acs.write_inferences_parquet(
        frames.inferences, str(out), batch_id=batch_id, max_records_per_file=2
    )
    core = read_records(path, schema=schema)
    written = write_parquet(
        core.records, tmp_path / "core.parquet", schema=schema, batch_id=batch_id
    )
    assert len(written) == 1
    spark_types, spark_rows = parquet_rows(out)
    core_types, core_rows = parquet_rows(written[0])
    assert spark_types == core_types
    assert list(columns) == list(spark_types)
    assert spark_rows == core_rows
    assert len(list(out.glob("*.parquet"))) == (len(core_rows) + 1) // 2  # max_records_per_file
    if name == "churn_binary":  # the implicit churn_false_score never had a value
        assert "churn_false_score" not in columns
        assert "churn_false_score" in frames.value_columns


def test_arthur_frame_needs_typed_columns(spark: SparkSession) -> None:
    frames = acs.read_captures(spark, str(FIXTURES / "demo" / "demo.jsonl"))
    with pytest.raises(ValueError, match="schema= or value_columns="):
        acs.to_arthur_frame(frames.inferences)
    with pytest.raises(ValueError, match="typed columns"):
        acs.backfill(spark, str(FIXTURES / "demo"), "unused")
    with pytest.raises(ValueError, match="batch model"):
        acs.backfill(spark, str(FIXTURES / "arthur"), "unused", schema=model("batch_demand"))


def test_backfill_writes_parquet_rejects_and_ledgers(
    spark: SparkSession, capture_tree: Path, tmp_path: Path
) -> None:
    schema = generated_schema()
    out = tmp_path / "inferences"
    result = acs.backfill(
        spark,
        str(capture_tree),
        str(out),
        schema=schema,
        rejects_output=str(tmp_path / "rejects"),
        ledger_output=str(tmp_path / "ledgers"),
        files_per_partition=2,
    )
    paths = sorted(p for p in capture_tree.rglob("*.jsonl*") if p.stat().st_size)
    core = read_records(*paths, schema=schema)
    assert result.ledger.to_dict() == core.ledger.to_dict()
    assert result.ledger.balanced
    _, rows = parquet_rows(out)
    assert len(rows) == core.ledger.records
    expected = sorted(
        (r.partner_inference_id, r.inference_timestamp, r.inputs["x0"], r.outputs["score"])
        for r in core.records
    )
    got = sorted(
        (r["partner_inference_id"], r["inference_timestamp"], r["x0"], r["score"]) for r in rows
    )
    assert got == expected
    assert list(result.columns) == ["partner_inference_id", "inference_timestamp"] + [
        f"x{i}" for i in range(20)
    ] + ["predicted_label", "score"]
    dead = [
        json.loads(line)
        for part in sorted((tmp_path / "rejects").glob("part-*"))
        for line in part.read_text().splitlines()
    ]
    assert [{**d, "source": local(d["source"])} for d in dead] == [
        {**r.to_dict(), "source": str(r.source)} for r in core.rejects
    ]
    ledgers = [
        json.loads(line)
        for part in sorted((tmp_path / "ledgers").glob("part-*"))
        for line in part.read_text().splitlines()
    ]
    assert len(ledgers) == len(paths)
    assert all(row["balanced"] for row in ledgers)


# --------------------------------------------------------------------------- uploading


@pytest.fixture
def churn_frames(spark: SparkSession) -> Iterator[CaptureFrames]:
    path = FIXTURES / "arthur" / "churn_binary.jsonl"
    frames = acs.read_captures(spark, str(path), schema=model("churn_binary")).persist()
    yield frames
    frames.unpersist()


@pytest.mark.parametrize("method", ["inferences", "file"])
def test_upload_partitions_sends_every_record_once(
    churn_frames: CaptureFrames, method: str
) -> None:
    schema = model("churn_binary")
    core = read_records(FIXTURES / "arthur" / "churn_binary.jsonl", schema=schema)
    with LocalArthur(schema, model_id="churn", token=TOKEN) as arthur:
        uploads = acs.upload_partitions(
            churn_frames.inferences.repartition(2),
            host=arthur.url,
            model_id="churn",
            token_env=TOKEN_ENV,
            method=method,  # type: ignore[arg-type]
        )
        stored = arthur.inferences
        assert arthur.duplicates == {}
    assert [u.partition for u in uploads] == [0, 1]
    assert all(u.ok for u in uploads), uploads
    assert sum(u.rows for u in uploads) == len(core.records)
    expected = {
        r.partner_inference_id: json.loads(dumps_json(new_inference(r))) for r in core.records
    }
    assert set(stored) == set(expected)
    for partner_id, obj in stored.items():
        got = json.loads(dumps_json(obj))
        assert got["inference_data"] == expected[partner_id]["inference_data"]
        assert got["inference_timestamp"] == expected[partner_id]["inference_timestamp"]


def test_upload_partitions_reports_refusals_and_errors(churn_frames: CaptureFrames) -> None:
    batch_model = ModelSchema.from_attributes(model("churn_binary").attributes, is_batch=True)
    with LocalArthur(batch_model, model_id="churn", token=TOKEN) as arthur:
        refused = acs.upload_partitions(
            churn_frames.inferences, host=arthur.url, model_id="churn", token_env=TOKEN_ENV
        )
        no_token = acs.upload_partitions(
            churn_frames.inferences, host=arthur.url, model_id="churn", token_env=TOKEN_ENV + "_X"
        )
        assert arthur.inferences == {}
    assert sum(u.refused for u in refused) == 6
    refusals = [r for u in refused for r in u.refusals]
    assert {r["message"] for r in refusals} == {"batch_id is required for a batch model"}
    assert all(r["source"].endswith("churn_binary.jsonl") and r["line"] >= 1 for r in refusals)
    assert not any(u.ok for u in refused if u.rows)
    assert sum(u.failed for u in no_token) == 6
    assert all(TOKEN_ENV + "_X" in (u.error or "") for u in no_token if u.rows)
    with pytest.raises(ValueError, match="host"):
        acs.upload_partitions(churn_frames.inferences)
    with pytest.raises(ValueError, match="method"):
        acs.upload_partitions(churn_frames.inferences, host="h", model_id="m", method="x")  # type: ignore[arg-type]


def test_not_imported_by_the_package_and_documented() -> None:
    import inspect
    import subprocess

    code = "import sys, arthur_capture; print(sorted(m for m in sys.modules if 'spark' in m))"
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"
    for name in acs.__all__:
        value = getattr(acs, name)
        if inspect.isclass(value) or inspect.isfunction(value):
            assert (value.__doc__ or "").strip(), name
