"""S3 sources: listing prefixes, SageMaker's key layout selection, lazy objects, the CLI's FILEs."""

from __future__ import annotations

import dataclasses
import gzip
import io
import json
import os
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest

from arthur_capture import Named, read_records
from arthur_capture.cli import main
from arthur_capture.errors import SourceError, StorageError
from tests.conftest import FIXTURES

if TYPE_CHECKING:
    from pathlib import Path

    from tests.s3_server import S3Bucket

pytest.importorskip("boto3")

from arthur_capture.storage import LazyObject, expand_sources

DEMO = FIXTURES / "demo" / "demo.jsonl"
LINES = DEMO.read_bytes().splitlines(keepends=True)
PART_A = b"".join(LINES[:4])
PART_B = b"".join(LINES[4:])
RECORDS_A = len(read_records(PART_A).records)
RECORDS = len(read_records(DEMO).records)


def put(bucket: S3Bucket, key: str, data: bytes) -> None:
    bucket.client.put_object(Bucket=bucket.name, Key=key, Body=data)


def names(sources: list[Any]) -> list[str]:
    assert all(isinstance(s, Named) for s in sources)
    return [s.name for s in sources]


class CountingClient:
    """A boto3 client that counts GetObject and ListObjectsV2 requests."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.gets = 0
        self.lists = 0
        client.meta.events.register("before-call.s3.ListObjectsV2", self._listed)

    def _listed(self, **_: Any) -> None:
        self.lists += 1

    def get_object(self, **kwargs: Any) -> Any:
        self.gets += 1
        return self.client.get_object(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)


# ------------------------------------------------------------------------------ listing


def test_a_prefix_is_a_folder_of_capture_objects_in_key_order(s3_bucket: S3Bucket) -> None:
    put(s3_bucket, "pre/b.jsonl.gz", gzip.compress(PART_B))
    put(s3_bucket, "pre/a.jsonl", PART_A)
    put(s3_bucket, "pre/notes.txt", b"not a capture")
    put(s3_bucket, "pre/sub/c.jsonl", PART_A)
    put(s3_bucket, "prefix2/d.jsonl", PART_A)  # "pre" is a folder: not this one
    uri = s3_bucket.uri
    expected = [f"{uri}/pre/a.jsonl", f"{uri}/pre/b.jsonl.gz", f"{uri}/pre/sub/c.jsonl"]
    assert names(expand_sources([f"{uri}/pre"])) == expected
    assert names(expand_sources([f"{uri}/pre/"])) == expected
    everything = names(expand_sources([uri]))
    assert everything == [*expected, f"{uri}/prefix2/d.jsonl"]
    assert names(expand_sources([f"{uri}/"])) == everything


def test_an_object_uri_is_that_object_and_other_items_pass_through(
    s3_bucket: S3Bucket, tmp_path: Path
) -> None:
    put(s3_bucket, "odd/place.jsonl", PART_A)
    local = tmp_path / "x.jsonl"
    stream = io.BytesIO(PART_A)
    out = expand_sources([str(local), [f"{s3_bucket.uri}/odd/place.jsonl", (stream,)]])
    assert out[0] == str(local)
    assert isinstance(out[1], Named)
    assert out[1].name == f"{s3_bucket.uri}/odd/place.jsonl"
    assert out[2] is stream
    # a selection does not apply to an object named outright
    named = expand_sources([f"{s3_bucket.uri}/odd/place.jsonl"], endpoint="ep")
    assert names(named) == [f"{s3_bucket.uri}/odd/place.jsonl"]


def test_listing_opens_no_object_and_a_stream_closes_at_its_end(s3_bucket: S3Bucket) -> None:
    for i in range(5):
        put(s3_bucket, f"pre/{i}.jsonl", PART_A)
    client = CountingClient(s3_bucket.client)
    sources = expand_sources([f"{s3_bucket.uri}/pre"], client=client)
    assert len(sources) == 5
    assert client.gets == 0
    first = sources[0]
    assert isinstance(first, Named)
    stream = first.source
    assert isinstance(stream, LazyObject)
    assert stream.read() == PART_A
    assert client.gets == 1
    assert stream._body is None  # closed at the end
    assert stream.read(10) == b""
    result = read_records(*sources)
    assert client.gets == 5  # the first stream was already read to its end
    assert len(result.records) == 4 * RECORDS_A  # the first object gives nothing more


def test_listing_follows_pages(s3_bucket: S3Bucket) -> None:
    keys = [f"pre/{i:02d}.jsonl" for i in range(7)]
    for key in keys:
        put(s3_bucket, key, PART_A)
    client = CountingClient(s3_bucket.client)
    sources = expand_sources([f"{s3_bucket.uri}/pre/"], client=client, page_size=2)
    assert names(sources) == [f"{s3_bucket.uri}/{k}" for k in keys]
    assert client.lists == 4  # 2 + 2 + 2 + 1


def test_keys_with_spaces_and_unicode_come_back_exactly(s3_bucket: S3Bucket) -> None:
    key = "pré fix/ep 1/Ünïcode + 100%/caf\u00e9 #1?.jsonl"
    put(s3_bucket, key, PART_A)
    uri = f"{s3_bucket.uri}/{key}"
    assert names(expand_sources([f"{s3_bucket.uri}/pré fix"])) == [uri]
    result = read_records(f"{s3_bucket.uri}/pré fix/")
    assert {r.source for r in result.records} == {uri}
    assert len(result.records) == RECORDS_A
    assert read_records(uri).records == result.records


# ------------------------------------------------------------------------------ selection

LAYOUT = [
    "cap/ep1/AllTraffic/2024/05/01/10/a.jsonl",
    "cap/ep1/AllTraffic/2024/05/01/11/b.jsonl",
    "cap/ep1/Shadow/2024/05/01/12/c.jsonl",
    "cap/ep2/AllTraffic/2024/05/01/10/d.jsonl",
    "cap/ep1/AllTraffic/odd/e.jsonl",  # not in SageMaker's layout
]


@pytest.fixture
def layout(s3_bucket: S3Bucket) -> str:
    for key in LAYOUT:
        put(s3_bucket, key, PART_A)
    return f"{s3_bucket.uri}/cap"


def selected(prefix: str, **options: Any) -> list[str]:
    bucket_root = prefix.rsplit("/", 1)[0] + "/"
    return [n.removeprefix(bucket_root) for n in names(expand_sources([prefix], **options))]


def test_no_selection_keeps_every_key(layout: str) -> None:
    assert selected(layout) == sorted(LAYOUT)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"endpoint": "ep1"}, [0, 1, 2]),
        ({"endpoint": "ep1", "variant": "AllTraffic"}, [0, 1]),
        ({"variant": "Shadow"}, [2]),
        ({"since": datetime(2024, 5, 1, 10, 30, tzinfo=UTC)}, [0, 1, 2, 3]),  # overlaps hour 10
        ({"since": "2024-05-01T11:00:00Z"}, [1, 2]),  # hour 10 ends at 11:00: out
        ({"until": "2024-05-01T11:00"}, [0, 3]),  # hour 11 starts at until: out
        ({"until": "2024-05-01T11:00:01"}, [0, 1, 3]),
        ({"since": "2024-05-01T12:30+02:00", "until": "2024-05-01T12"}, [0, 1, 3]),  # 10:30Z
        ({"endpoint": "ep1", "since": "2024-05-01T11:59", "until": "2024-05-01T13:00"}, [1, 2]),
    ],
)
def test_selection_by_endpoint_variant_and_time(
    layout: str, options: dict[str, Any], expected: list[int]
) -> None:
    assert selected(layout, **options) == sorted(LAYOUT[i] for i in expected)


def test_no_selected_object_names_the_prefix_and_the_selection(layout: str) -> None:
    with pytest.raises(StorageError) as info:
        expand_sources([layout], endpoint="ep9", since="2024-05-01T00:00Z")
    message = info.value.message
    assert f"{layout}/" in message
    assert "endpoint 'ep9'" in message
    assert "since 2024-05-01T00:00:00+00:00" in message


def test_an_empty_prefix_is_an_error(s3_bucket: S3Bucket) -> None:
    with pytest.raises(StorageError, match=r"no capture objects .* under s3://.*/nothing/$"):
        expand_sources([f"{s3_bucket.uri}/nothing"])


def test_a_bad_time_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="since 'yesterday' is not an ISO 8601 time"):
        expand_sources(["local.jsonl"], since="yesterday")


# ------------------------------------------------------------------------------ failures


def test_a_missing_bucket_is_a_storage_error(s3_env: str) -> None:
    with pytest.raises(
        StorageError, match=r"^listing s3://no-such-bucket-x1/captures/: NoSuchBucket"
    ):
        expand_sources(["s3://no-such-bucket-x1/captures"])


def test_an_object_deleted_after_listing_is_a_source_error(s3_bucket: S3Bucket) -> None:
    put(s3_bucket, "pre/a.jsonl", PART_A)
    put(s3_bucket, "pre/b.jsonl", PART_B)
    sources = expand_sources([f"{s3_bucket.uri}/pre"])
    s3_bucket.client.delete_object(Bucket=s3_bucket.name, Key="pre/b.jsonl")
    with pytest.raises(SourceError, match=r"s3://.*/pre/b\.jsonl: NoSuchKey"):
        read_records(*sources)


def test_the_cli_reports_a_deleted_object_in_one_sentence(
    s3_bucket: S3Bucket, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    put(s3_bucket, "pre/a.jsonl", PART_A)
    put(s3_bucket, "pre/b.jsonl", PART_B)
    import arthur_capture.storage._sources as sources_module

    real = sources_module.expand_sources

    def listed_then_deleted(*args: Any, **kwargs: Any) -> Any:
        found = real(*args, **kwargs)
        s3_bucket.client.delete_object(Bucket=s3_bucket.name, Key="pre/b.jsonl")
        return found

    monkeypatch.setattr("arthur_capture.storage.expand_sources", listed_then_deleted)
    assert main(["convert", f"{s3_bucket.uri}/pre", "-o", "-"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert f"{s3_bucket.uri}/pre/b.jsonl: NoSuchKey" in err


@pytest.mark.parametrize("command", ["preview", "convert", "validate", "export"])
def test_the_cli_reports_a_missing_bucket_in_one_sentence(
    s3_env: str, command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    schema = FIXTURES / "arthur" / "churn_binary.model.json"
    extra = {
        "validate": ["--schema", str(schema)],
        "export": ["-o", str(tmp_path / "out")],
    }.get(command, [])
    assert main([command, "s3://no-such-bucket-x2/pre", *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("arthur-capture: listing s3://no-such-bucket-x2/pre/: NoSuchBucket")
    assert len(err.strip().splitlines()) == 1


def test_access_denied_is_one_sentence(
    s3_bucket: S3Bucket, capsys: pytest.CaptureFixture[str]
) -> None:
    put(s3_bucket, "pre/a.jsonl", PART_A)
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{s3_bucket.name}/*",
            }
        ],
    }
    s3_bucket.client.put_bucket_policy(Bucket=s3_bucket.name, Policy=json.dumps(policy))
    try:
        s3_bucket.client.get_object(Bucket=s3_bucket.name, Key="pre/a.jsonl")
    except Exception:
        status = main(["preview", f"{s3_bucket.uri}/pre"])
        err = capsys.readouterr().err
        assert status == 2
        assert f"opening {s3_bucket.uri}/pre/a.jsonl: " in err
        assert "AccessDenied" in err or "403" in err
        assert len(err.strip().splitlines()) == 1
    else:
        pytest.skip("this moto server does not enforce bucket policies")
    finally:
        s3_bucket.client.delete_bucket_policy(Bucket=s3_bucket.name)


# ------------------------------------------------------------------------------ read(n) only


class ReadOnly:
    """A stream with ``read(n)`` only, like an older botocore ``StreamingBody``."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def read(self, size: int = -1, /) -> bytes:
        return self._data.read(min(size, 7) if size and size > 0 else size)  # short reads


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_a_stream_with_only_read_is_read(compress: bool) -> None:
    data = gzip.compress(DEMO.read_bytes()) if compress else DEMO.read_bytes()
    stream = ReadOnly(data)
    assert not hasattr(stream, "readinto")
    assert not hasattr(stream, "read1")
    result = read_records(Named(stream, "demo.jsonl"))
    expected = read_records(DEMO)
    assert [dataclasses.replace(r, source=str(DEMO)) for r in result.records] == expected.records
    assert result.ledger.lines == 10


# ------------------------------------------------------------------------------ same as local


def test_read_records_of_a_prefix_equals_the_local_files(
    s3_bucket: S3Bucket, tmp_path: Path
) -> None:
    (tmp_path / "a.jsonl").write_bytes(PART_A)
    (tmp_path / "b.jsonl.gz").write_bytes(gzip.compress(PART_B))
    put(s3_bucket, "pre/a.jsonl", PART_A)
    put(s3_bucket, "pre/b.jsonl.gz", gzip.compress(PART_B))
    remote = read_records(f"{s3_bucket.uri}/pre")
    local = read_records(tmp_path / "a.jsonl", tmp_path / "b.jsonl.gz")
    assert (remote.ledger.lines, remote.ledger.records) == (local.ledger.lines, RECORDS)
    renamed = [
        dataclasses.replace(r, source=r.source.replace(f"{s3_bucket.uri}/pre", str(tmp_path)))
        for r in remote.records
    ]
    assert renamed == local.records
    assert {r.source for r in remote.records} == {
        f"{s3_bucket.uri}/pre/a.jsonl",
        f"{s3_bucket.uri}/pre/b.jsonl.gz",
    }


def test_convert_of_a_prefix_equals_convert_of_the_files(
    s3_bucket: S3Bucket, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a.jsonl").write_bytes(PART_A)
    (tmp_path / "b.jsonl.gz").write_bytes(gzip.compress(PART_B))
    put(s3_bucket, "pre/a.jsonl", PART_A)
    put(s3_bucket, "pre/b.jsonl.gz", gzip.compress(PART_B))
    local_out, remote_out = tmp_path / "local.jsonl", tmp_path / "remote.jsonl"
    files = [str(tmp_path / "a.jsonl"), str(tmp_path / "b.jsonl.gz")]
    assert main(["convert", *files, "-o", str(local_out)]) == 0
    local_err = capsys.readouterr().err
    assert main(["convert", f"{s3_bucket.uri}/pre/", "-o", str(remote_out)]) == 0
    remote_err = capsys.readouterr().err
    assert remote_err == local_err
    assert remote_out.read_bytes() == local_out.read_bytes()
    assert remote_out.read_bytes().count(b"\n") == RECORDS


def test_convert_reads_standard_input(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_file, out_stdin = tmp_path / "file.jsonl", tmp_path / "stdin.jsonl"
    assert main(["convert", str(DEMO), "-o", str(out_file), "--rejects", "-"]) == 0
    file_err = capsys.readouterr().err
    stdin = io.TextIOWrapper(io.BytesIO(gzip.compress(DEMO.read_bytes())))
    monkeypatch.setattr(sys, "stdin", stdin)
    assert main(["convert", "-", "-o", str(out_stdin), "--rejects", "-"]) == 0
    assert capsys.readouterr().err == file_err
    assert out_stdin.read_bytes() == out_file.read_bytes()


def test_standard_input_twice_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["preview", "-", "-"]) == 2
    assert "standard input (-) can be read only once" in capsys.readouterr().err


def test_a_stdin_source_is_named_stdin(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = b'{"not": "a capture"}\n'
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(bad)))
    assert main(["convert", "-", "-o", os.devnull, "--rejects", "-"]) == 1
    printed = capsys.readouterr().out
    assert json.loads(printed.splitlines()[-1])["source"] == "<stdin>"


def test_the_cli_selects_from_a_prefix(
    layout: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out.jsonl"
    args = ["--only-endpoint", "ep1", "--only-variant", "AllTraffic", "--since", "2024-05-01T11"]
    assert main(["convert", layout, *args, "-o", str(out)]) == 0
    capsys.readouterr()
    assert out.read_bytes().count(b"\n") == RECORDS_A  # b.jsonl only
    assert main(["convert", layout, "--until", "2024-05-01T11", "-o", str(out)]) == 0
    capsys.readouterr()
    assert out.read_bytes().count(b"\n") == 2 * RECORDS_A  # a.jsonl and d.jsonl
    assert main(["preview", layout, "--only-endpoint", "nope"]) == 2
    err = capsys.readouterr().err
    assert err == (
        "arthur-capture: no capture objects (*.jsonl, *.jsonl.gz) "
        f"under {layout}/ for endpoint 'nope'\n"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "2024-05-01"], "select among the objects of an s3:// prefix"),
        (["--only-endpoint", "ep"], "select among the objects of an s3:// prefix"),
    ],
)
def test_a_selection_without_a_prefix_is_a_usage_error(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["preview", str(DEMO), *args]) == 2
    assert message in capsys.readouterr().err


def test_a_bad_time_at_the_cli_is_a_usage_error(
    layout: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["preview", layout, "--until", "soon"]) == 2
    assert capsys.readouterr().err == (
        "arthur-capture: until 'soon' is not an ISO 8601 time (e.g. 2024-05-01T13:00Z)\n"
    )


def test_stdin_is_not_taken_for_a_file_named_dash(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(DEMO.read_bytes())))
    # `--summary -` writes a file named "-": not the input `-` (standard input)
    assert main(["convert", "-", "-o", "out.jsonl", "--summary", "-"]) == 0
    capsys.readouterr()
    assert json.loads((tmp_path / "-").read_bytes())["records"] == RECORDS


def test_upload_reads_a_prefix_and_names_the_objects_it_did_not_read(
    s3_bucket: S3Bucket,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pytest.importorskip("httpx")
    from tests.arthur.hostile import HostileArthur
    from tests.cli.test_upload import UPLOAD_TOKEN, capture, capture_model, upload

    for name, numbers in (("a.jsonl", range(20)), ("b.jsonl", range(20, 27))):
        put(s3_bucket, f"pre/{name}", "".join(capture(i) + "\n" for i in numbers).encode())
    summary = tmp_path / "summary.json"
    with HostileArthur("auth_midway", UPLOAD_TOKEN, auth_after=1) as srv:
        argv = [f"{s3_bucket.uri}/pre", "--host", srv.url, "--model-id", "m1"]
        argv += ["--chunk-size", "5", "--summary", str(summary)]
        argv += ["--schema", str(capture_model(tmp_path))]  # else upload fetches it first
        code, out, err = upload(argv, capsys, monkeypatch)
    assert code == 2
    assert "Traceback" not in err
    first, second = f"{s3_bucket.uri}/pre/a.jsonl", f"{s3_bucket.uri}/pre/b.jsonl"
    document = json.loads(summary.read_text())
    assert document["account"]["read"] == 11
    assert document["not_read"] == [
        {"file": first, "lines": None, "after_line": 11},  # an object's lines are not counted
        {"file": second, "lines": None, "after_line": None},
    ]
    assert f"failed 5 records of chunk 1 status=401 {first}:6 to {first}:10 (e-5 to e-9): " in out
