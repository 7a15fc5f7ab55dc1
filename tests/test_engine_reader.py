"""The test-support pieces of the Engine export: the moto S3 fixtures and the Engine emulation.

``tests/s3_server.py`` must give a real S3 API that a plain ``boto3.client("s3")`` reaches
through the environment; ``tests/engine_reader.py`` must read a bucket the way the Arthur
Engine's bucket connector does (hour/day stepping, suffix regex, leading slash, [start, end)).
"""

from __future__ import annotations

import io
import os
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.engine_reader import (
    DAY,
    HOUR,
    S3FS,
    LocalFS,
    hours_between,
    read_dataset,
    time_step,
)

if TYPE_CHECKING:
    from tests.engine_reader import FileSystem
    from tests.s3_server import S3Bucket

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

PREFIX = "exports/ep/var/%Y/%m/%d/%H"
LOCATOR: dict[str, Any] = {
    "file_prefix": PREFIX,
    "file_suffix": "\\.parquet",
    "data_file_type": "parquet",
    "timestamp_time_zone": "UTC",
}


def at(hour: int, minute: int = 0, day: int = 1) -> datetime:
    return datetime(2024, 1, day, hour, minute, tzinfo=UTC)


def parquet_bytes(rows: list[tuple[str, datetime]]) -> bytes:
    table = pa.table(
        {
            "partner_inference_id": pa.array([r[0] for r in rows], pa.string()),
            "inference_timestamp": pa.array([r[1] for r in rows], pa.timestamp("us", tz="UTC")),
        }
    )
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def hour_key(when: datetime, name: str = "part-0000.parquet") -> str:
    return f"{when.strftime(PREFIX)}/{name}"


def tree() -> dict[str, bytes]:
    """Three hours of files, plus files the suffix rule must skip, plus a deeper folder."""
    return {
        hour_key(at(4)): parquet_bytes([("h4", at(4, 30))]),
        hour_key(at(5)): parquet_bytes([("h5a", at(5)), ("h5b", at(5, 59))]),
        hour_key(at(5), "nested/part-0001.parquet"): parquet_bytes([("h5n", at(5, 10))]),
        hour_key(at(5), "notes.json"): b'{"not": "parquet"}',
        hour_key(at(5), "arthur-dataset.json"): b"{}",
        hour_key(at(5), "part-0000.parquet.tmp"): b"half written",
        hour_key(at(6)): parquet_bytes([("h6", at(6)), ("h6b", at(6, 45))]),
        "exports/ep/var/arthur-dataset.json": b"{}",
        "exports/arthur-dataset.json": b"{}",
    }


def write_local(root: Path, files: dict[str, bytes]) -> LocalFS:
    for key, data in files.items():
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return LocalFS(root)


def write_s3(bucket: S3Bucket, files: dict[str, bytes]) -> S3FS:
    for key, data in files.items():
        bucket.client.put_object(Bucket=bucket.name, Key=key, Body=data)
    return S3FS(bucket.client, bucket.name)


def ids(fs: FileSystem, start: datetime, end: datetime, **locator: Any) -> list[str]:
    read = read_dataset(fs, {**LOCATOR, **locator}, start, end)
    return [row["partner_inference_id"] for row in read.rows]


# --- the moto fixtures ----------------------------------------------------------------------


def test_s3_env_points_plain_boto3_at_the_server(s3_bucket: S3Bucket) -> None:
    import boto3

    assert os.environ["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
    assert "AWS_PROFILE" not in os.environ
    assert not Path(os.environ["AWS_CONFIG_FILE"]).exists()
    assert not Path(os.environ["AWS_SHARED_CREDENTIALS_FILE"]).exists()
    plain = boto3.client("s3")  # what the library does: no endpoint, region or keys given
    assert plain.meta.endpoint_url == os.environ["AWS_ENDPOINT_URL"]
    assert plain.meta.region_name == "us-east-1"
    plain.put_object(Bucket=s3_bucket.name, Key="a/b.txt", Body=b"hello")
    body = s3_bucket.client.get_object(Bucket=s3_bucket.name, Key="a/b.txt")["Body"].read()
    assert body == b"hello"
    assert s3_bucket.uri == f"s3://{s3_bucket.name}"


def test_each_test_gets_a_fresh_empty_bucket(s3_bucket: S3Bucket) -> None:
    listing = s3_bucket.client.list_objects_v2(Bucket=s3_bucket.name)
    assert listing["KeyCount"] == 0
    names = [b["Name"] for b in s3_bucket.client.list_buckets()["Buckets"]]
    assert names.count(s3_bucket.name) == 1


def test_upload_fileobj_and_a_missing_key_behave_like_s3(s3_bucket: S3Bucket) -> None:
    from botocore.exceptions import ClientError

    s3_bucket.client.upload_fileobj(io.BytesIO(b"x" * 100), s3_bucket.name, "k/obj")
    head = s3_bucket.client.head_object(Bucket=s3_bucket.name, Key="k/obj")
    assert head["ContentLength"] == 100
    with pytest.raises(ClientError) as caught:
        s3_bucket.client.get_object(Bucket=s3_bucket.name, Key="k/missing")
    assert caught.value.response["Error"]["Code"] == "NoSuchKey"


# --- the Engine emulation -------------------------------------------------------------------


def test_hour_step_renders_from_end_down_to_start_minus_one_hour(tmp_path: Path) -> None:
    fs = write_local(tmp_path, tree())
    read = read_dataset(fs, LOCATOR, at(5), at(6))
    assert read.rendered_prefixes == [
        "exports/ep/var/2024/01/01/06",
        "exports/ep/var/2024/01/01/05",
        "exports/ep/var/2024/01/01/04",
    ]
    # hour 06 and 04 files are read (the Engine walks them) but their rows fall outside
    assert read.files == [
        hour_key(at(6)),
        hour_key(at(5), "nested/part-0001.parquet"),
        hour_key(at(5)),
        hour_key(at(4)),
    ]
    assert read.rows_read == 6
    assert [row["partner_inference_id"] for row in read.rows] == ["h5n", "h5a", "h5b"]
    assert read.paths[0] == f"{tmp_path.name}/{hour_key(at(6))}"


def test_suffix_regex_skips_json_and_temporary_files(tmp_path: Path) -> None:
    fs = write_local(tmp_path, tree())
    read = read_dataset(fs, {**LOCATOR, "file_prefix": "exports/ep/var/%Y/%m/%d"}, at(0), at(7))
    assert read.files  # a day prefix walks the locators' neighbourhood too
    assert all(key.endswith(".parquet") for key in read.files)
    assert not any(key.endswith(".json") for key in read.files)
    assert len(read.files) == 4


def test_suffix_gets_a_dollar_appended(tmp_path: Path) -> None:
    # unanchored, "parquet" would match part-0000.parquet.tmp, which is not Parquet
    fs = write_local(tmp_path, tree())
    read = read_dataset(fs, {**LOCATOR, "file_suffix": "parquet"}, at(5), at(6))
    assert hour_key(at(5), "part-0000.parquet.tmp") not in read.files
    assert hour_key(at(5)) in read.files


def test_suffix_is_matched_against_the_bucket_qualified_path(tmp_path: Path) -> None:
    bucket = tmp_path / "my-bucket"
    fs = write_local(bucket, tree())
    read = read_dataset(
        fs, {**LOCATOR, "file_suffix": "^my-bucket/exports/.*\\.parquet"}, at(5), at(6)
    )
    assert hour_key(at(5)) in read.files
    none = read_dataset(fs, {**LOCATOR, "file_suffix": "^exports/.*\\.parquet"}, at(5), at(6))
    assert none.files == []


def test_leading_slash_of_file_prefix_is_stripped(tmp_path: Path) -> None:
    fs = write_local(tmp_path, tree())
    slashed = read_dataset(fs, {**LOCATOR, "file_prefix": "/" + PREFIX}, at(5), at(6))
    plain = read_dataset(fs, LOCATOR, at(5), at(6))
    assert slashed.rendered_prefixes[0] == "exports/ep/var/2024/01/01/06"
    assert slashed.rows == plain.rows
    assert len(slashed.rows) == 3


def test_day_step_with_percent_d(tmp_path: Path) -> None:
    files = {
        "daily/2024/01/01/a.parquet": parquet_bytes([("d1", at(23, day=1))]),
        "daily/2024/01/02/a.parquet": parquet_bytes([("d2", at(0, day=2)), ("d2b", at(12, day=2))]),
        "daily/2024/01/03/a.parquet": parquet_bytes([("d3", at(1, day=3))]),
    }
    fs = write_local(tmp_path, files)
    read = read_dataset(
        fs, {**LOCATOR, "file_prefix": "daily/%Y/%m/%d"}, at(6, day=1), at(6, day=2)
    )
    assert read.rendered_prefixes == ["daily/2024/01/02", "daily/2024/01/01", "daily/2023/12/31"]
    assert [row["partner_inference_id"] for row in read.rows] == ["d2", "d1"]
    assert time_step("x/%Y/%j") == DAY
    assert time_step("x/%Y/%m/%d/%H") == HOUR


def test_prefix_without_a_time_unit_is_an_error(tmp_path: Path) -> None:
    fs = write_local(tmp_path, tree())
    with pytest.raises(ValueError, match="no %H, %d or %j"):
        read_dataset(fs, {**LOCATOR, "file_prefix": "exports/%Y/%m"}, at(5), at(6))


def test_naive_window_is_an_error(tmp_path: Path) -> None:
    fs = write_local(tmp_path, tree())
    with pytest.raises(ValueError, match="aware"):
        read_dataset(fs, LOCATOR, datetime(2024, 1, 1, 5), at(6))  # noqa: DTZ001


def test_window_includes_start_and_excludes_end(tmp_path: Path) -> None:
    fs = write_local(tmp_path, tree())
    # h5a is at exactly 05:00, h6 at exactly 06:00
    assert ids(fs, at(5), at(6)) == ["h5n", "h5a", "h5b"]
    assert "h6" not in ids(fs, at(5), at(6))
    assert "h5a" not in ids(fs, at(5) + timedelta(microseconds=1), at(6))
    assert ids(fs, at(6), at(6) + timedelta(microseconds=1)) == ["h6"]


def test_string_and_naive_timestamps_take_the_locator_zone(tmp_path: Path) -> None:
    table = pa.table(
        {
            "partner_inference_id": ["iso-z", "iso-naive", "dt-naive", "null"],
            "inference_timestamp": ["2024-01-01T05:10:00Z", "2024-01-01T05:20:00", None, None],
            "naive_ts": pa.array(
                [at(5, 1), at(5, 2), datetime(2024, 1, 1, 5, 3), None],  # noqa: DTZ001
                pa.timestamp("us"),
            ),
        }
    )
    path = tmp_path / "exports/ep/var/2024/01/01/05/p.parquet"
    path.parent.mkdir(parents=True)
    pq.write_table(table, path)
    fs = LocalFS(tmp_path)
    assert ids(fs, at(5), at(6)) == ["iso-z", "iso-naive"]
    # In UTC+02:00 folder "05" is 03:00 UTC and the naive "05:20" is 03:20 UTC: the window
    # [03:00, 04:00) UTC renders 06, 05, 04 local and keeps it, not the "Z" row at 05:10 UTC.
    plus_two = {**LOCATOR, "timestamp_time_zone": "Etc/GMT-2"}
    shifted = read_dataset(fs, plus_two, at(3), at(4))
    assert shifted.rendered_prefixes[0].endswith("/06")
    assert [row["partner_inference_id"] for row in shifted.rows] == ["iso-naive"]
    by_naive = read_dataset(fs, LOCATOR, at(5), at(6), timestamp_column="naive_ts")
    assert [row["partner_inference_id"] for row in by_naive.rows] == [
        "iso-z",
        "iso-naive",
        "dt-naive",
    ]


def test_window_in_another_zone_is_converted(tmp_path: Path) -> None:
    fs = write_local(tmp_path, tree())
    plus_one = timezone(timedelta(hours=1))
    start = datetime(2024, 1, 1, 6, tzinfo=plus_one)  # 05:00 UTC
    end = datetime(2024, 1, 1, 7, tzinfo=plus_one)
    assert ids(fs, start, end) == ["h5n", "h5a", "h5b"]


def test_missing_prefix_reads_nothing(tmp_path: Path) -> None:
    fs = write_local(tmp_path, tree())
    read = read_dataset(fs, LOCATOR, at(10, day=2), at(12, day=2))
    assert read.files == []
    assert read.rows == []
    assert len(read.rendered_prefixes) == 4


def test_hours_between() -> None:
    assert hours_between(at(4, 30), at(6)) == [at(4), at(5), at(6)]
    assert hours_between(at(6, 1), at(6, 59)) == [at(6)]


def test_s3_and_local_read_the_same_tree_alike(tmp_path: Path, s3_bucket: S3Bucket) -> None:
    files = {
        **tree(),
        "exports/ep/var/2024/01/01/05/": b"",  # a folder marker some tools create
        "exports/ep/var/2024/01/01/050/odd.parquet": parquet_bytes([("not-h5", at(5, 5))]),
    }
    local = write_local(tmp_path / s3_bucket.name, {k: v for k, v in files.items() if v})
    s3 = write_s3(s3_bucket, files)
    for start, end in [(at(5), at(6)), (at(4), at(7)), (at(4, 30), at(6, 45))]:
        from_local = read_dataset(local, LOCATOR, start, end)
        from_s3 = read_dataset(s3, LOCATOR, start, end)
        assert from_s3.files == from_local.files
        assert from_s3.rows == from_local.rows
        assert from_s3.rendered_prefixes == from_local.rendered_prefixes
        assert from_s3.paths == from_local.paths
    # the "05" prefix is walked as a folder: "050/" is not under it
    wide = read_dataset(s3, LOCATOR, at(4), at(7))
    assert "not-h5" not in [row["partner_inference_id"] for row in wide.rows]
    assert [row["partner_inference_id"] for row in wide.rows] == [
        "h6",
        "h6b",
        "h5n",
        "h5a",
        "h5b",
        "h4",
    ]
