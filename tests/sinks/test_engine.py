"""``export_engine``: Arthur Engine datasets, checked by reading them as the Engine does.

``tests/engine_reader.py`` emulates the Engine's bucket connector: every inference that
``read_records`` emits must come back exactly once, in its endpoint/variant and UTC hour.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from arthur_capture import read_records
from arthur_capture.arthur.ground_truth import GroundTruth
from arthur_capture.errors import ExportError, StorageError
from arthur_capture.sinks.engine import LOCATOR_NAME, EngineExport, dataset_of, export_engine
from tests.conftest import FIXTURES
from tests.engine_reader import S3FS, FileSystem, LocalFS, hours_between, read_dataset

if TYPE_CHECKING:
    from arthur_capture.records import InferenceRecord
    from tests.s3_server import S3Bucket

pq = pytest.importorskip("pyarrow.parquet")

ENGINE = FIXTURES / "engine"
CAPTURES = ENGINE / "captures"
SCHEMA = FIXTURES / "arthur" / "churn_binary.model.json"
GROUND_TRUTH = ENGINE / "ground_truth.jsonl"
HEAD = ("partner_inference_id", "inference_timestamp")
HOUR = timedelta(hours=1)
Key = tuple[str, str]


def capture_files(root: Path = CAPTURES) -> list[Path]:
    """Every capture file of a tree, sorted."""
    return sorted(p for p in root.rglob("*") if p.name.endswith((".jsonl", ".jsonl.gz")))


def expected_records(
    schema: Path | None = SCHEMA, root: Path = CAPTURES
) -> dict[Key, list[InferenceRecord]]:
    """What ``read_records`` (``convert``) emits per endpoint/variant."""
    found: dict[Key, list[InferenceRecord]] = {}
    for path in capture_files(root):
        dataset = dataset_of(str(path))
        records = read_records(path, schema=schema).records
        found.setdefault((dataset.endpoint, dataset.variant), []).extend(records)
    return found


def row_of(record: InferenceRecord) -> dict[str, Any]:
    """A record as the row the export should hold (values only, no nulls)."""
    return {
        "partner_inference_id": record.partner_inference_id,
        "inference_timestamp": record.inference_timestamp.astimezone(UTC),
        **record.inference_data(),
    }


def clean(row: dict[str, Any]) -> dict[str, Any]:
    """A Parquet row without its null cells (a column another file has)."""
    return {key: value for key, value in row.items() if value is not None}


def parquet_files(out: Path) -> list[Path]:
    """Every Parquet file under ``out``, sorted."""
    return sorted(out.rglob("*.parquet"))


def locators_of(out: Path) -> dict[Key, dict[str, Any]]:
    """The inference locators an export left beside its datasets."""
    found: dict[Key, dict[str, Any]] = {}
    for path in sorted(out.glob(f"*/*/{LOCATOR_NAME}")):
        data = json.loads(path.read_text(encoding="utf-8"))
        found[(data["endpoint"], data["variant"])] = data
    return found


def engine_rows(
    fs: FileSystem, locator: dict[str, Any], first: datetime, last: datetime
) -> list[dict[str, Any]]:
    """Read a dataset hour by hour as the Engine does; every hour holds only its rows."""
    rows: list[dict[str, Any]] = []
    for hour in hours_between(first, last):
        read = read_dataset(fs, locator, hour, hour + HOUR)
        assert all(hour <= row["inference_timestamp"] < hour + HOUR for row in read.rows)
        # the Engine walks hour and hour-1; rows of the previous hour are filtered out
        assert read.rows_read >= len(read.rows)
        rows.extend(read.rows)
    return rows


def check_engine_reads(
    fs: FileSystem, locators: dict[Key, dict[str, Any]], schema: Path | None = SCHEMA
) -> None:
    """Hour by hour, every dataset gives back exactly the inferences of its endpoint/variant."""
    expected = expected_records(schema)
    assert set(locators) == set(expected)
    for key, records in expected.items():
        stamps = [r.inference_timestamp.astimezone(UTC) for r in records]
        rows = engine_rows(fs, locators[key], min(stamps), max(stamps))
        got = sorted((clean(r) for r in rows), key=lambda r: r["partner_inference_id"])
        want = sorted((row_of(r) for r in records), key=lambda r: r["partner_inference_id"])
        assert got == want


@pytest.mark.parametrize("schema", [SCHEMA, None], ids=["schema", "no_schema"])
def test_every_inference_once_in_its_hour_folder(tmp_path: Path, schema: Path | None) -> None:
    result = export_engine(CAPTURES, out=tmp_path, schema=schema)
    expected = expected_records(schema)
    seen: dict[Key, list[dict[str, Any]]] = {}
    for path in parquet_files(tmp_path):
        parts = path.relative_to(tmp_path).parts
        endpoint, variant, year, month, day, hour = parts[:6]
        folder_hour = datetime(int(year), int(month), int(day), int(hour), tzinfo=UTC)
        table = pq.read_table(path)
        for row in table.to_pylist():
            assert folder_hour <= row["inference_timestamp"] < folder_hour + HOUR
            seen.setdefault((endpoint, variant), []).append(clean(row))
    assert set(seen) == set(expected)
    for key, records in expected.items():
        ids = Counter(row["partner_inference_id"] for row in seen[key])
        assert all(count == 1 for count in ids.values())
        got = sorted(seen[key], key=lambda r: r["partner_inference_id"])
        want = sorted((row_of(r) for r in records), key=lambda r: r["partner_inference_id"])
        assert got == want
    assert sum(len(v) for v in expected.values()) == 16
    assert result.ledger.to_dict()["records"] == 16
    assert sorted(result.files) == sorted(str(p) for p in parquet_files(tmp_path))


def test_late_offset_and_on_the_hour_land_in_their_utc_hour(tmp_path: Path) -> None:
    export_engine(CAPTURES, out=tmp_path, schema=SCHEMA)
    where: dict[str, str] = {}
    for path in parquet_files(tmp_path):
        hour = "/".join(path.relative_to(tmp_path).parts[2:6])
        for row in pq.read_table(path).to_pylist():
            where[row["partner_inference_id"]] = hour
    assert where["e0a1c3d5-0901-4a6b-9c2d-000000000001"] == "2024/03/01/09"  # 09:00:00Z
    assert where["e0a1c3d5-1001-4a6b-9c2d-000000000004"] == "2024/03/01/09"  # late, folder 10
    assert where["e0a1c3d5-1001-4a6b-9c2d-000000000005"] == "2024/03/01/10"  # 12:30+02:00
    assert where["acct-0171"] == "2024/03/01/11"  # 11:00:00Z
    assert where["f1b2d4e6-1101-4c7d-8e3f-000000000003"] == "2024/03/01/10"  # late, folder 11


@pytest.mark.parametrize("schema", [SCHEMA, None], ids=["schema", "no_schema"])
def test_engine_reads_each_hour_exactly_local(tmp_path: Path, schema: Path | None) -> None:
    out = tmp_path / "bucket"
    export_engine(CAPTURES, out=out, schema=schema)
    check_engine_reads(LocalFS(out), locators_of(out), schema)


def test_engine_reads_each_hour_exactly_s3(s3_bucket: S3Bucket) -> None:
    result = export_engine(CAPTURES, out=f"{s3_bucket.uri}/prefix", schema=SCHEMA)
    locators = {
        (loc.dataset.endpoint, loc.dataset.variant): loc.to_dict() for loc in result.locators
    }
    assert all(loc["file_prefix"].startswith("prefix/") for loc in locators.values())
    for key, locator in locators.items():
        stored = s3_bucket.client.get_object(
            Bucket=s3_bucket.name, Key=f"prefix/{key[0]}/{key[1]}/{LOCATOR_NAME}"
        )["Body"].read()
        assert json.loads(stored) == locator
    check_engine_reads(S3FS(s3_bucket.client, s3_bucket.name), locators)
    assert all(uri.startswith(f"{s3_bucket.uri}/prefix/") for uri in result.files)


def tables(out: Path) -> dict[str, Any]:
    """Every Parquet file of an export, by relative path, as a table."""
    return {p.relative_to(out).as_posix(): pq.read_table(p) for p in parquet_files(out)}


def test_reexport_gives_the_same_files(tmp_path: Path) -> None:
    export_engine(CAPTURES, out=tmp_path, schema=SCHEMA)
    before = tables(tmp_path)
    all_files = sorted(
        p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()
    )
    result = export_engine(CAPTURES, out=tmp_path, schema=SCHEMA)
    after = tables(tmp_path)
    assert set(after) == set(before)
    assert all(after[name].equals(before[name]) for name in before)
    assert result.removed == []
    assert (
        sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
        == all_files
    )


def copy_capture(relative: str, root: Path) -> Path:
    """Copy one fixture capture into a tree of its own, keeping its SageMaker key."""
    target = root / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(CAPTURES / relative, target)
    return target


FIRST_B = "churn-b/AllTraffic/2024/03/01/10/14-51-602-0d8e3b71.jsonl"
SECOND_B = "churn-b/AllTraffic/2024/03/01/11/02-10-877-5a6c2e90.jsonl"
BATCH_A = "churn-a/AllTraffic/2024/03/01/09/05-12-345-3c9e1f07.jsonl"


def test_second_capture_adds_a_file_beside(tmp_path: Path) -> None:
    src, out = tmp_path / "src", tmp_path / "out"
    first = copy_capture(FIRST_B, src)
    export_engine(first, out=out, schema=SCHEMA)
    hour10 = out / "churn-b/AllTraffic/2024/03/01/10"
    (existing,) = sorted(hour10.iterdir())
    stamp, data = existing.stat().st_mtime_ns, existing.read_bytes()
    second = copy_capture(SECOND_B, src)  # its late call belongs to hour 10 too
    result = export_engine(second, out=out, schema=SCHEMA)
    assert existing.stat().st_mtime_ns == stamp
    assert existing.read_bytes() == data
    assert len(sorted(hour10.iterdir())) == 2
    assert result.removed == []


def test_second_capture_adds_an_object_beside_on_s3(tmp_path: Path, s3_bucket: S3Bucket) -> None:
    src = tmp_path / "src"
    out = f"{s3_bucket.uri}/x"
    export_engine(copy_capture(FIRST_B, src), out=out, schema=SCHEMA)
    prefix = "x/churn-b/AllTraffic/2024/03/01/10/"

    def listing() -> dict[str, tuple[str, Any]]:
        page = s3_bucket.client.list_objects_v2(Bucket=s3_bucket.name, Prefix=prefix)
        return {o["Key"]: (o["ETag"], o["LastModified"]) for o in page.get("Contents", [])}

    before = listing()
    assert len(before) == 1
    export_engine(copy_capture(SECOND_B, src), out=out, schema=SCHEMA)
    after = listing()
    assert len(after) == 2
    for key, value in before.items():
        assert after[key] == value


def test_fewer_parts_remove_stale_parts(tmp_path: Path) -> None:
    source = copy_capture(BATCH_A, tmp_path / "src")
    out = tmp_path / "out"
    hour9 = out / "churn-a/AllTraffic/2024/03/01/09"
    many = export_engine(source, out=out, schema=SCHEMA, chunk_rows=1)
    assert len(list(hour9.iterdir())) == 5
    assert len(many.files) == 5
    few = export_engine(source, out=out, schema=SCHEMA, chunk_rows=2)
    names = sorted(p.name for p in hour9.iterdir())
    assert len(names) == 3
    assert len(few.removed) == 2
    assert all(not Path(uri).exists() for uri in few.removed)
    assert sorted(Path(uri).name for uri in few.removed) == sorted(
        Path(uri).name for uri in many.files[3:]
    )
    rows = [row for p in sorted(hour9.iterdir()) for row in pq.read_table(p).to_pylist()]
    assert len(rows) == 5


def test_locator_files_and_root(tmp_path: Path) -> None:
    result = export_engine(CAPTURES, out=tmp_path, schema=SCHEMA)
    locators = locators_of(tmp_path)
    assert set(locators) == {("churn-a", "AllTraffic"), ("churn-b", "AllTraffic")}
    a = locators[("churn-a", "AllTraffic")]
    assert a["file_prefix"] == "churn-a/AllTraffic/%Y/%m/%d/%H"
    assert a["file_suffix"] == r"\.parquet"
    assert a["data_file_type"] == "parquet"
    assert a["timestamp_time_zone"] == "UTC"
    assert a["columns"] == [
        {"name": "partner_inference_id", "type": "str"},
        {"name": "inference_timestamp", "type": "timestamp"},
        {"name": "account_length", "type": "int"},
        {"name": "intl_plan", "type": "str"},
        {"name": "day_minutes", "type": "float"},
        {"name": "customer_service_calls", "type": "int"},
        {"name": "churn_true_score", "type": "float"},
    ]
    root = json.loads((tmp_path / LOCATOR_NAME).read_text(encoding="utf-8"))
    assert root == {"datasets": [loc.to_dict() for loc in result.locators]}
    for path in parquet_files(tmp_path):
        names = pq.read_schema(path).names
        assert names == [c["name"] for c in a["columns"]]


def test_root_locator_single_then_several(tmp_path: Path) -> None:
    first = export_engine(CAPTURES / "churn-a", out=tmp_path, schema=SCHEMA)
    root = json.loads((tmp_path / LOCATOR_NAME).read_text(encoding="utf-8"))
    assert len(first.locators) == 1
    assert root == first.locators[0].to_dict()
    second = export_engine(CAPTURES / "churn-b", out=tmp_path, schema=SCHEMA)
    root = json.loads((tmp_path / LOCATOR_NAME).read_text(encoding="utf-8"))
    assert root == {"datasets": [first.locators[0].to_dict(), second.locators[0].to_dict()]}


def timestamp_schema(tmp_path: Path) -> Path:
    """churn_binary with a fifth input, ``signup_time``, typed TIMESTAMP."""
    model = json.loads(SCHEMA.read_text(encoding="utf-8"))
    extra = dict(model["attributes"][0])
    extra.update(
        id="6a1f0c3e-a0ff-4000-8000-000000000000",
        name="signup_time",
        value_type="TIMESTAMP",
        position=4,
        min_range=None,
        max_range=None,
    )
    model["attributes"].insert(4, extra)
    path = tmp_path / "timestamped.model.json"
    path.write_text(json.dumps(model), encoding="utf-8")
    return path


def test_only_inference_timestamp_is_a_timestamp_column(tmp_path: Path) -> None:
    schema = timestamp_schema(tmp_path)
    line = {
        "captureData": {
            "endpointInput": {
                "observedContentType": "text/csv",
                "mode": "INPUT",
                "data": "12,no,33.5,1,2023-11-05T07:30:00Z",
                "encoding": "CSV",
            },
            "endpointOutput": {
                "observedContentType": "text/csv",
                "mode": "OUTPUT",
                "data": "0.25",
                "encoding": "CSV",
            },
        },
        "eventMetadata": {"eventId": "ts-call-1", "inferenceTime": "2024-03-01T09:10:00Z"},
        "eventVersion": "0",
    }
    source = tmp_path / "ts.jsonl"
    source.write_text(json.dumps(line) + "\n", encoding="utf-8")
    result = export_engine(source, out=tmp_path / "out", schema=schema, endpoint="ts", variant="v1")
    assert result.rejects == []
    (path,) = parquet_files(tmp_path / "out")
    arrow = pq.read_schema(path)
    stamped = [f.name for f in arrow if str(f.type).startswith("timestamp")]
    assert stamped == ["inference_timestamp"]
    assert str(arrow.field("inference_timestamp").type) == "timestamp[us, tz=UTC]"
    (locator,) = result.locators
    kinds = dict(locator.columns)
    assert kinds["signup_time"] == "str"
    assert [name for name, kind in locator.columns if kind == "timestamp"] == [
        "inference_timestamp"
    ]
    (row,) = pq.read_table(path).to_pylist()
    assert datetime.fromisoformat(row["signup_time"]) == datetime(2023, 11, 5, 7, 30, tzinfo=UTC)


def test_ledger_balances_and_rejects_are_kept(tmp_path: Path) -> None:
    result = export_engine(CAPTURES, out=tmp_path, schema=SCHEMA)
    ledger = result.ledger.to_dict()
    assert ledger["balanced"] is True
    assert ledger["records"] == 16
    assert ledger["rejects_by_reason"] == {"invalid_json": 1}
    (reject,) = result.rejects
    assert reject.reason == "invalid_json"
    assert reject.line_number == 3
    assert str(reject.source).endswith("churn-a/AllTraffic/2024/03/01/10/00-03-118-7b2d94ae.jsonl")
    summary = result.summary()
    assert summary["ledger"] == ledger
    assert summary["files"] == result.files


def test_on_reject_callback_takes_the_rejects(tmp_path: Path) -> None:
    taken: list[Any] = []
    result = export_engine(CAPTURES, out=tmp_path, on_reject=taken.append)
    assert len(taken) == 1
    assert result.rejects == []


def ground_truth_rows() -> list[GroundTruth]:
    rows = []
    for line in GROUND_TRUTH.read_text(encoding="utf-8").splitlines():
        data = json.loads(line)
        rows.append(
            GroundTruth(
                call_id=data["call_id"],
                timestamp=data["timestamp"],
                data=data["data"],
                index=data["index"],
            )
        )
    return rows


def gt_rows(out: Path, endpoint: str) -> list[dict[str, Any]]:
    folder = out / endpoint / "AllTraffic" / "ground-truth"
    return [row for p in sorted(folder.rglob("*.parquet")) for row in pq.read_table(p).to_pylist()]


def test_ground_truth_joins_the_inference_ids(tmp_path: Path) -> None:
    result = export_engine(CAPTURES, out=tmp_path, schema=SCHEMA, ground_truth=ground_truth_rows())
    assert result.ground_truth_rows == 5
    assert result.ground_truth_rejects == []
    a_ids = {r.partner_inference_id for r in expected_records()[("churn-a", "AllTraffic")]}
    a_gt = gt_rows(tmp_path, "churn-a")
    assert {r["partner_inference_id"] for r in a_gt} == {
        "acct-0097",
        "batch-a-0941_0",
        "batch-a-0941_1",
        "e0a1c3d5-1001-4a6b-9c2d-000000000005",
    }
    assert {r["partner_inference_id"] for r in a_gt} <= a_ids
    assert [r["partner_inference_id"] for r in gt_rows(tmp_path, "churn-b")] == ["b-call-1_1"]
    for path in (tmp_path / "churn-a/AllTraffic/ground-truth").rglob("*.parquet"):
        y, m, d, h = path.relative_to(tmp_path).parts[3:7]
        hour = datetime(int(y), int(m), int(d), int(h), tzinfo=UTC)
        for row in pq.read_table(path).to_pylist():
            assert hour <= row["ground_truth_timestamp"] < hour + HOUR


def test_ground_truth_for_an_unknown_call_is_reported(tmp_path: Path) -> None:
    rows = [
        *ground_truth_rows(),
        GroundTruth(call_id="no-such-call", timestamp="2024-03-02T08:00:00Z", data={"churned": 1}),
    ]
    result = export_engine(CAPTURES, out=tmp_path, schema=SCHEMA, ground_truth=rows)
    assert result.ground_truth_rows == 5
    assert [row.call_id for row, _ in result.ground_truth_rejects] == ["no-such-call"]
    written = gt_rows(tmp_path, "churn-a") + gt_rows(tmp_path, "churn-b")
    assert "no-such-call" not in {r["partner_inference_id"] for r in written}


def test_s3_source_prefix_to_a_local_folder(tmp_path: Path, s3_bucket: S3Bucket) -> None:
    for path in capture_files():
        key = "captures/" + path.relative_to(CAPTURES).as_posix()
        s3_bucket.client.put_object(Bucket=s3_bucket.name, Key=key, Body=path.read_bytes())
    out = tmp_path / "out"
    result = export_engine(f"{s3_bucket.uri}/captures", out=out, schema=SCHEMA)
    assert result.ledger.to_dict()["records"] == 16
    check_engine_reads(LocalFS(out), locators_of(out))
    local = tmp_path / "local"
    export_engine(CAPTURES, out=local, schema=SCHEMA)
    assert sorted(p.relative_to(out).as_posix() for p in parquet_files(out)) == sorted(
        p.relative_to(local).as_posix() for p in parquet_files(local)
    )


def test_unknown_endpoint_and_bad_names(tmp_path: Path) -> None:
    plain = FIXTURES / "arthur" / "churn_binary.jsonl"
    with pytest.raises(ExportError, match="--endpoint"):
        export_engine(plain, out=tmp_path)
    with pytest.raises(ExportError, match="cannot name a folder"):
        export_engine(plain, out=tmp_path, endpoint="a/b", variant="v")
    assert not list(tmp_path.rglob("*.parquet"))


def test_output_that_is_a_file_is_a_storage_error(tmp_path: Path) -> None:
    blocker = tmp_path / "out"
    blocker.write_text("not a folder", encoding="utf-8")
    with pytest.raises(StorageError):
        export_engine(CAPTURES, out=blocker, schema=SCHEMA)
    assert blocker.read_text(encoding="utf-8") == "not a folder"


def test_hour_folder_blocked_by_a_file_is_a_storage_error(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "churn-a").mkdir(parents=True)
    (out / "churn-a" / "AllTraffic").write_text("in the way", encoding="utf-8")
    with pytest.raises(StorageError):
        export_engine(CAPTURES / "churn-a", out=out, schema=SCHEMA)
    leftovers = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert leftovers == ["churn-a/AllTraffic"]


def test_missing_bucket_is_a_storage_error(s3_bucket: S3Bucket) -> None:
    with pytest.raises(StorageError):
        export_engine(CAPTURES, out=f"s3://{s3_bucket.name}-missing/prefix", schema=SCHEMA)


def test_export_result_type(tmp_path: Path) -> None:
    result = export_engine(CAPTURES / "churn-b", out=tmp_path)
    assert isinstance(result, EngineExport)
    assert result.output == str(tmp_path) or result.output.endswith(tmp_path.name)
