"""The uploader against the local Arthur server: real HTTP over loopback, no mocks."""

from __future__ import annotations

import json
import logging
import math
import pickle
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from arthur_capture import CaptureError
from arthur_capture.arthur import (
    MAX_CHUNK_SIZE,
    ArthurClient,
    RetryPolicy,
    Secret,
    UploadResult,
)
from arthur_capture.arthur.contract import Stage, ValueType
from arthur_capture.arthur.errors import ArthurAPIError, ArthurAuthError, ArthurUnavailableError
from arthur_capture.arthur.schema import Attribute, ModelSchema
from arthur_capture.cli import build_parser
from arthur_capture.cli import main as cli_main
from arthur_capture.cli import upload as upload_command
from arthur_capture.testing.local_arthur import LocalArthur
from tests.helpers import upload_record

if TYPE_CHECKING:
    import argparse
    from collections.abc import Iterator
    from pathlib import Path

    from arthur_capture.records import InferenceRecord

TOKEN = "tok-SECRET-9c1d2e"  # noqa: S105 - a test token
MODEL = "model-7"
WHEN = datetime(2024, 1, 19, 19, 27, 57, tzinfo=UTC)
FAST = RetryPolicy(attempts=5, initial=0.01, maximum=0.02, jitter=0.01)


def make_schema(*, is_batch: bool = False) -> ModelSchema:
    return ModelSchema.from_attributes(
        [
            Attribute(
                name="age", stage=Stage.PIPELINE_INPUT, value_type=ValueType.FLOAT, position=0
            ),
            Attribute(
                name="city", stage=Stage.PIPELINE_INPUT, value_type=ValueType.STRING, position=1
            ),
            Attribute(
                name="score", stage=Stage.PREDICTED_VALUE, value_type=ValueType.FLOAT, position=0
            ),
            Attribute(name="label", stage=Stage.GROUND_TRUTH, value_type=ValueType.INTEGER),
        ],
        is_batch=is_batch,
    )


def record(i: int, *, age: Any = None, outputs: dict[str, Any] | None = None) -> InferenceRecord:
    inputs = {"age": float(i) if age is None else age, "city": "Lyon"}
    return upload_record(i, inputs=inputs, outputs=outputs)


def records(n: int) -> list[InferenceRecord]:
    return [record(i) for i in range(n)]


@pytest.fixture
def arthur() -> Iterator[LocalArthur]:
    with LocalArthur(make_schema(), model_id=MODEL, token=TOKEN) as srv:
        yield srv


def client_for(srv: LocalArthur, **options: Any) -> ArthurClient:
    options.setdefault("retry", FAST)
    return ArthurClient(srv.url, TOKEN, MODEL, **options)


def assert_exactly_once(srv: LocalArthur, n: int) -> None:
    assert srv.arrivals == {f"evt-{i}": 1 for i in range(n)}


# --------------------------------------------------------------------------- chunking


@pytest.mark.parametrize(("n", "k"), [(2500, 1000), (10, 3), (7, 7), (1, 1000)])
def test_n_records_in_chunks_of_k_take_ceil_n_over_k_requests(
    arthur: LocalArthur, n: int, k: int
) -> None:
    with client_for(arthur, chunk_size=k) as client:
        result = client.upload(records(n))
    assert arthur.request_count("POST", "/inferences") == math.ceil(n / k)
    assert (result.chunks, result.requests, result.retries) == (
        math.ceil(n / k),
        math.ceil(n / k),
        0,
    )
    assert (result.total, result.sent, result.accepted) == (n, n, n)
    assert result.ok
    assert result.balanced
    assert_exactly_once(arthur, n)


def test_progress_counts_every_record_once(arthur: LocalArthur) -> None:
    calls: list[int] = []
    invalid = {"partner_inference_id": "bad", "inference_timestamp": "no", "inference_data": {}}
    arthur.faults.fail(2, status=400)
    policy = RetryPolicy(attempts=1)
    items: list[Any] = [*records(25), invalid]
    with client_for(arthur, chunk_size=5, retry=policy, abort_after_failed_chunks=2) as client:
        result = client.upload(items, progress=calls.append)
    assert sum(calls) == 26 == result.total
    assert result.aborted
    assert result.balanced


def test_chunks_are_also_cut_by_size(arthur: LocalArthur) -> None:
    with client_for(arthur, chunk_size=1000, max_chunk_bytes=2048) as client:
        result = client.upload(records(40))
    assert result.chunks > 1
    assert result.accepted == 40
    assert_exactly_once(arthur, 40)


def test_chunk_size_is_capped_well_under_arthurs_guidance() -> None:
    assert MAX_CHUNK_SIZE <= 10_000
    with pytest.raises(ValueError, match="chunk_size"):
        ArthurClient("https://arthur.example", TOKEN, MODEL, chunk_size=MAX_CHUNK_SIZE + 1)
    with pytest.raises(ValueError, match="chunk_size"):
        ArthurClient("https://arthur.example", TOKEN, MODEL, chunk_size=0)


def test_the_wire_format_is_newinference_json(arthur: LocalArthur) -> None:
    nan_record = record(0, outputs={"score": float("nan")})
    with client_for(arthur) as client:
        result = client.upload([nan_record], batch_id="batch-1")
    assert result.ok
    stored = arthur.inferences["evt-0"]
    assert stored == {
        "partner_inference_id": "evt-0",
        "inference_timestamp": "2024-01-19T19:27:57+00:00",
        "inference_data": {"age": 0.0, "city": "Lyon", "score": None},
        "batch_id": "batch-1",
    }


def test_mappings_are_sent_as_given_and_checked_first(arthur: LocalArthur) -> None:
    good = {
        "partner_inference_id": "m-1",
        "inference_timestamp": "2024-01-19T19:27:57Z",
        "inference_data": {"age": 1.0, "city": "x", "score": 0.1},
        "source": "rows.json",
        "line": 4,
    }
    naive = {**good, "partner_inference_id": "m-2", "inference_timestamp": "2024-01-19T19:27:57"}
    no_id = {k: v for k, v in good.items() if k != "partner_inference_id"}
    with client_for(arthur) as client:
        result = client.upload([good, naive, no_id])
    assert set(arthur.inferences) == {"m-1"}
    assert "source" not in arthur.inferences["m-1"]
    assert (result.total, result.sent, result.accepted) == (3, 1, 1)
    assert [(f.partner_inference_id, f.sent, f.source, f.line_number) for f in result.failed] == [
        ("m-2", False, "rows.json", 4),
        ("", False, "rows.json", 4),
    ]
    assert "timezone-aware" in result.failed[0].error
    assert result.balanced
    assert not result.ok


# --------------------------------------------------------------------------- retries


def test_5xx_is_retried_and_every_record_arrives_once(arthur: LocalArthur) -> None:
    arthur.faults.fail(2, status=503)
    arthur.faults.fail(1, status=500)
    with client_for(arthur, chunk_size=100) as client:
        result = client.upload(records(300))
    assert_exactly_once(arthur, 300)
    assert result.accepted == 300
    assert result.retries == 3
    assert arthur.request_count("POST") == 3 + 3
    # a 500 may have been processed before failing: the chunk is flagged, not hidden
    assert len(result.possible_duplicates) == 100
    assert not result.failed


def test_429_honours_retry_after(arthur: LocalArthur) -> None:
    waits: list[float] = []
    arthur.faults.throttle(1, retry_after="7")
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    arthur.faults.throttle(1, retry_after=later)
    arthur.faults.throttle(1, retry_after=None)
    with client_for(arthur, sleep=waits.append) as client:
        result = client.upload(records(5))
    assert_exactly_once(arthur, 5)
    assert result.retries == 3
    assert waits[0] == 7.0
    assert 25 <= waits[1] <= 30
    assert 0.01 <= waits[2] <= 0.03  # no Retry-After: the exponential backoff
    assert result.possible_duplicates == []  # a 429 was not processed
    assert result.ok


def test_retry_after_is_capped(arthur: LocalArthur) -> None:
    waits: list[float] = []
    arthur.faults.throttle(1, retry_after="100000")
    policy = RetryPolicy(initial=0.01, maximum=0.02, jitter=0.0, max_retry_after=5)
    with client_for(arthur, sleep=waits.append, retry=policy) as client:
        client.upload(records(1))
    assert waits == [5]


def test_backoff_grows_exponentially_with_jitter(arthur: LocalArthur) -> None:
    waits: list[float] = []
    arthur.faults.fail(4)
    policy = RetryPolicy(attempts=5, initial=1.0, maximum=100.0, jitter=0.5)
    with client_for(arthur, sleep=waits.append, retry=policy) as client:
        client.upload(records(1))
    assert len(waits) == 4
    for n, wait in enumerate(waits):
        assert 2**n <= wait <= 2**n + 0.5


def test_dropped_connections_are_retried_and_reported_as_possible_duplicates(
    arthur: LocalArthur,
) -> None:
    arthur.faults.drop(2)
    with client_for(arthur, chunk_size=50) as client:
        result = client.upload(records(120))
    assert_exactly_once(arthur, 120)  # dropped before processing: no duplicate in fact
    assert result.accepted == 120
    assert result.retries == 2
    # the client cannot know whether the dropped request was processed: it says so
    assert result.possible_duplicates == [f"evt-{i}" for i in range(50)]
    assert not result.ok


def test_timeouts_are_retried_and_the_duplicates_they_cause_are_reported(
    arthur: LocalArthur,
) -> None:
    arthur.faults.delay(1, seconds=5.0)  # Arthur stores chunk 0, then answers too late
    with client_for(arthur, chunk_size=10, timeout=0.5) as client:
        result = client.upload(records(30))
    assert result.accepted == 30
    assert result.retries == 1
    # the server's duplicate counter sees exactly what the client reported as at risk
    assert arthur.duplicates == {f"evt-{i}": 2 for i in range(10)}
    assert set(result.possible_duplicates) == set(arthur.duplicates)
    assert not result.ok


def test_connection_dropped_after_processing_duplicates_are_reported(arthur: LocalArthur) -> None:
    arthur.faults.drop(1, after_processing=True)
    with client_for(arthur, chunk_size=5) as client:
        result = client.upload(records(10))
    assert set(arthur.duplicates) == {f"evt-{i}" for i in range(5)}
    assert set(result.possible_duplicates) == set(arthur.duplicates)


def test_connection_refused_is_retried_then_reported(arthur: LocalArthur) -> None:
    url = arthur.url
    arthur.stop()
    policy = RetryPolicy(attempts=2, initial=0.01, maximum=0.01, jitter=0.0)
    with ArthurClient(url, TOKEN, MODEL, retry=policy, abort_after_failed_chunks=1) as client:
        result = client.upload(records(3))
    assert result.failed_chunks == 1
    assert result.retries == 1
    assert result.chunk_failures[0].status is None
    assert "cannot connect" in result.chunk_failures[0].error
    assert result.possible_duplicates == []  # never connected: nothing can be duplicated
    assert result.balanced


def test_a_chunk_failing_after_all_retries_is_reported_record_by_record(
    arthur: LocalArthur,
) -> None:
    arthur.faults.fail(3, status=503)
    policy = RetryPolicy(attempts=3, initial=0.01, maximum=0.01, jitter=0.0)
    with client_for(arthur, chunk_size=4, retry=policy) as client:
        result = client.upload(records(10))
    assert result.failed_chunks == 1
    assert result.accepted == 6
    failure = result.chunk_failures[0]
    assert (failure.chunk, failure.records, failure.status, failure.attempts) == (0, 4, 503, 3)
    assert [(f.partner_inference_id, f.source, f.line_number, f.status) for f in result.failed] == [
        (f"evt-{i}", "capture.jsonl", i + 1, 503) for i in range(4)
    ]
    assert all("gave up after 3 attempt(s)" in f.error for f in result.failed)
    assert set(arthur.inferences) == {f"evt-{i}" for i in range(4, 10)}
    assert result.balanced


def test_the_upload_stops_after_failed_chunks_in_a_row_and_lists_the_rest(
    arthur: LocalArthur,
) -> None:
    arthur.faults.fail(4)
    policy = RetryPolicy(attempts=2, initial=0.01, maximum=0.01, jitter=0.0)
    with client_for(arthur, chunk_size=2, retry=policy, abort_after_failed_chunks=2) as client:
        result = client.upload(records(9))
    assert result.aborted
    assert result.failed_chunks == 2
    assert arthur.request_count("POST") == 4
    not_sent = [f.partner_inference_id for f in result.failed if not f.sent]
    assert not_sent == [f"evt-{i}" for i in range(4, 9)]
    assert result.balanced
    assert arthur.inferences == {}


# --------------------------------------------------------------------------- 4xx


@pytest.mark.parametrize("status", [400, 413, 422])
def test_4xx_is_never_retried(arthur: LocalArthur, status: int) -> None:
    arthur.faults.fail(1, status=status)
    with client_for(arthur, chunk_size=5) as client:
        result = client.upload(records(10))
    assert arthur.request_count("POST") == 2  # one per chunk, no retry
    assert result.retries == 0
    assert result.failed_chunks == 1
    assert result.chunk_failures[0].status == status
    assert [f.partner_inference_id for f in result.failed] == [f"evt-{i}" for i in range(5)]
    assert result.accepted == 5


def test_401_raises_auth_error_with_the_partial_result(arthur: LocalArthur) -> None:
    with (
        ArthurClient(arthur.url, "not-the-token", MODEL, retry=FAST) as client,
        pytest.raises(ArthurAuthError) as caught,
    ):
        client.upload(records(3))
    assert caught.value.status == 401
    assert isinstance(caught.value, CaptureError)
    assert caught.value.result is not None
    assert caught.value.result.failed_chunks == 1
    assert arthur.request_count() == 1


def test_403_for_another_organization_is_an_auth_error() -> None:
    with (
        LocalArthur(make_schema(), model_id=MODEL, token=TOKEN, organization_id="org-a") as srv,
        client_for(srv, organization_id="org-b") as client,
        pytest.raises(ArthurAuthError) as caught,
    ):
        client.upload(records(1))
    assert caught.value.status == 403


def test_404_unknown_model_is_an_api_error(arthur: LocalArthur) -> None:
    with (
        ArthurClient(arthur.url, TOKEN, "no-such-model", retry=FAST) as client,
        pytest.raises(ArthurAPIError) as caught,
    ):
        client.upload(records(3))
    assert caught.value.status == 404
    assert not isinstance(caught.value, ArthurAuthError)
    assert arthur.request_count() == 1


# --------------------------------------------------------------------------- 207 bodies


def test_partial_207_failures_carry_their_source_lines(arthur: LocalArthur) -> None:
    batch = [record(0), record(1, age="old"), record(2), record(3, outputs={})]
    with client_for(arthur, chunk_size=3) as client:
        result = client.upload(batch)
    assert (result.accepted, result.refused) == (2, 2)
    assert [
        (r.partner_inference_id, r.status, r.source, r.line_number, r.chunk)
        for r in result.refusals
    ] == [
        ("evt-1", 400, "capture.jsonl", 2, 0),
        ("evt-3", 400, "capture.jsonl", 4, 1),
    ]
    assert "FLOAT" in result.refusals[0].message
    assert "score" in result.refusals[1].message
    assert result.warnings == []
    assert result.balanced


def test_counts_that_disagree_with_results_are_reported(arthur: LocalArthur) -> None:
    arthur.faults.miscount(1)
    with client_for(arthur) as client:
        result = client.upload(records(3))
    assert result.accepted == 3
    assert len(result.warnings) == 1
    assert "counts disagree" in result.warnings[0]
    assert not result.ok


def test_a_missing_result_leaves_its_record_failed_not_accepted(arthur: LocalArthur) -> None:
    arthur.faults.truncate_results(1)
    with client_for(arthur) as client:
        result = client.upload(records(3))
    assert result.accepted == 2
    assert [f.partner_inference_id for f in result.failed] == ["evt-2"]
    assert "no usable result" in result.failed[0].error
    assert any("2 result(s) for 3 record(s)" in w for w in result.warnings)
    assert result.balanced


# --------------------------------------------------------------------------- files, ground truth


def write_parquet(path: Path, n: int) -> None:
    rows = [
        {
            "partner_inference_id": f"f-{i}",
            "inference_timestamp": WHEN,
            "age": 1.0 * i,
            "city": "x",
            "score": 0.5,
        }
        for i in range(n)
    ]
    pq.write_table(pa.Table.from_pylist(rows), path)


def test_parquet_file_upload_with_retry_and_batch_id(arthur: LocalArthur, tmp_path: Path) -> None:
    path = tmp_path / "inferences.parquet"
    write_parquet(path, 25)
    arthur.faults.fail(1, status=503)
    with client_for(arthur) as client:
        result = client.upload_file(path, batch_id="b-3")
    assert (result.status, result.attempts) == (207, 2)
    assert result.counts == {"success": 25, "failure": 0, "total": 25}
    assert result.ok
    assert len(arthur.inferences) == 25
    assert arthur.inferences["f-3"]["batch_id"] == "b-3"
    assert arthur.files[0]["content_type"] == "application/octet-stream"
    assert arthur.request_count("POST", "/inferences/file") == 2


def test_file_upload_accepts_201_and_reports_failures(arthur: LocalArthur, tmp_path: Path) -> None:
    arthur.file_status = 201
    good = tmp_path / "ok.parquet"
    write_parquet(good, 2)
    bad = tmp_path / "rows.json"
    bad.write_text(
        json.dumps(
            [{"partner_inference_id": "j", "inference_timestamp": "x", "inference_data": {}}]
        )
    )
    with client_for(arthur) as client:
        assert client.upload_file(good).status == 201
        answer = client.upload_file(bad)
        with pytest.raises(OSError, match="missing"):
            client.upload_file(tmp_path / "missing.parquet")
    assert answer.status == 207
    assert not answer.ok
    assert answer.failures[0]["index"] == 0
    assert arthur.files[1]["content_type"] == "application/json"


def test_ground_truth_patch_is_read_like_an_upload(arthur: LocalArthur) -> None:
    with client_for(arthur) as client:
        client.upload(records(3))
        updates = [
            {
                "partner_inference_id": f"evt-{i}",
                "ground_truth_timestamp": WHEN,
                "ground_truth_data": {"label": i % 2},
            }
            for i in range(3)
        ]
        updates.append(
            {
                "partner_inference_id": "unknown",
                "ground_truth_timestamp": WHEN,
                "ground_truth_data": {"label": 1},
            }
        )
        updates.append({"partner_inference_id": "evt-0", "ground_truth_data": {"label": 1}})
        arthur.faults.drop(1)
        result = client.send_ground_truth(updates)
    assert (result.total, result.accepted, result.refused) == (5, 3, 1)
    assert result.refusals[0].partner_inference_id == "unknown"
    assert not result.failed[0].sent
    assert result.possible_duplicates == []  # a PATCH is idempotent
    assert arthur.ground_truth["evt-1"]["ground_truth_data"] == {"label": 1}
    assert arthur.request_count("PATCH") == 2


def test_close_batch() -> None:
    with (
        LocalArthur(make_schema(is_batch=True), model_id=MODEL, token=TOKEN) as srv,
        client_for(srv) as client,
    ):
        result = client.upload(records(4), batch_id="nightly")
        assert result.ok
        answer = client.close_batch("nightly", result.accepted)
        assert answer["status"] == "uploaded"
        assert srv.batches["nightly"] == {
            "received": 4,
            "status": "uploaded",
            "total_record_count": 4,
        }
        srv.faults.fail(5)
        with pytest.raises(ArthurUnavailableError) as caught:
            client.close_batch("nightly", 4)
    assert caught.value.attempts == 5
    assert caught.value.status == 503


# --------------------------------------------------------------------------- the token


def test_the_token_never_shows(
    arthur: LocalArthur, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    arthur.faults.fail(1)
    arthur.faults.throttle(1, retry_after="0")
    arthur.faults.drop(1)
    texts: list[str] = []
    with client_for(arthur, chunk_size=2) as client:
        result = client.upload([record(0), record(1, age="old"), record(2)])
        texts += [repr(client), str(client.__dict__), repr(result), str(result.summary())]
        with (
            ArthurClient(arthur.url, TOKEN, "no-model", retry=FAST) as other,
            pytest.raises(ArthurAPIError) as missing,
        ):
            other.upload(records(1))
    with (
        ArthurClient(arthur.url, TOKEN + "x", MODEL, retry=FAST) as wrong,
        pytest.raises(ArthurAuthError) as denied,
    ):
        wrong.upload(records(1))
    for error in (missing.value, denied.value):
        texts += [str(error), repr(error), repr(error.result)]
    secret = Secret(TOKEN)
    texts += [repr(secret), str(secret), f"{secret}", f"{secret!r:>40}", repr(arthur)]
    out, err = capsys.readouterr()
    texts += [out, err, caplog.text]
    texts += [r.getMessage() for r in caplog.records]
    assert any(r.name.startswith("httpcore") for r in caplog.records)  # DEBUG really captured
    assert result.retries == 3
    for text in texts:
        assert TOKEN not in text
    assert secret.reveal() == TOKEN


def test_secret_refuses_pickling_and_bad_values() -> None:
    with pytest.raises(TypeError):
        pickle.dumps(Secret(TOKEN))
    with pytest.raises(ValueError, match="empty"):
        Secret("")
    with pytest.raises(ValueError, match="not shown") as caught:
        Secret("abc\ndef")
    assert "abc" not in str(caught.value)
    assert Secret("a") == Secret("a")
    assert Secret("a") != Secret("b")


def test_a_message_that_echoes_the_token_is_redacted() -> None:
    schema = make_schema()
    # a hostile or buggy server that echoes the Authorization header in its answer
    with LocalArthur(schema, model_id=MODEL, token=TOKEN) as srv:
        srv.faults.fail(5, status=503)
        policy = RetryPolicy(attempts=1)
        with ArthurClient(srv.url, TOKEN, MODEL, retry=policy) as client:
            client._secret = Secret("injected")  # the server's text holds "injected"
            result = client.upload(records(1))
    assert "injected" not in result.chunk_failures[0].error
    assert "***" in result.chunk_failures[0].error


# --------------------------------------------------------------------------- configuration


@pytest.mark.parametrize(
    ("host", "base"),
    [
        ("app.arthur.ai", "https://app.arthur.ai"),
        ("https://app.arthur.ai/", "https://app.arthur.ai"),
        ("https://app.arthur.ai/api/v3", "https://app.arthur.ai"),
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
    ],
)
def test_host_forms(host: str, base: str) -> None:
    with ArthurClient(host, TOKEN, MODEL) as client:
        assert client.base_url == base


@pytest.mark.parametrize("host", ["http://arthur.example", "ftp://x", "https://u:p@x", ""])
def test_unsafe_hosts_are_refused(host: str) -> None:
    with pytest.raises(ValueError) as caught:
        ArthurClient(host, TOKEN, MODEL)
    assert TOKEN not in str(caught.value)


def test_retry_policy_is_checked() -> None:
    with pytest.raises(ValueError, match="attempts"):
        RetryPolicy(attempts=0)
    with pytest.raises(ValueError, match="negative"):
        RetryPolicy(initial=-1)


def test_import_arthur_capture_loads_no_http_client() -> None:
    code = (
        "import sys, arthur_capture\n"
        "bad = {'httpx', 'tenacity', 'arthur_capture.arthur',\n"
        "       'arthur_capture.local_arthur'}\n"
        "print(sorted(bad & set(sys.modules)))"
    )
    done = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"


def test_empty_upload() -> None:
    result = UploadResult()
    assert result.ok
    assert result.balanced


# --------------------------------------------------------------------------- the CLI


def capture_line(event_id: str, request: str | None, response: str | None) -> str:
    data: dict[str, Any] = {}
    if request is not None:
        data["endpointInput"] = {
            "observedContentType": "text/csv",
            "mode": "INPUT",
            "data": request,
            "encoding": "CSV",
        }
    if response is not None:
        data["endpointOutput"] = {
            "observedContentType": "text/csv",
            "mode": "OUTPUT",
            "data": response,
            "encoding": "CSV",
        }
    meta = {"eventId": event_id, "inferenceTime": "2024-01-19T19:27:57Z"}
    return json.dumps({"captureData": data, "eventMetadata": meta, "eventVersion": "0"})


def schema_file(tmp_path: Path, *, is_batch: bool = False) -> Path:
    path = tmp_path / "model.json"
    attributes = [a.model_dump(mode="json", exclude_none=True) for a in make_schema().attributes]
    path.write_text(json.dumps({"id": MODEL, "is_batch": is_batch, "attributes": attributes}))
    return path


def parse(argv: list[str]) -> argparse.Namespace:
    return build_parser().parse_args(["upload", *argv])


def run(argv: list[str], *, entry: str = "main") -> int:
    """``arthur-capture upload ARGV`` through the command line's ``main`` (usage errors
    become exit status 2), or straight through ``upload.run`` on the parsed arguments."""
    if entry == "main":
        return cli_main(["upload", *argv])
    return upload_command.run(parse(argv))


@pytest.fixture
def captures(tmp_path: Path) -> Path:
    path = tmp_path / "capture.jsonl"
    lines = [
        capture_line("e-0", "31,Paris", "0.9"),
        capture_line("e-1", "42,Oslo\n17,Rome", "0.1\n0.2"),
        "{not json",
        capture_line("e-3", "55,Kyiv", None),  # no prediction: Arthur refuses it
        capture_line("e-4", "oops,Kyiv", "0.3"),  # age is not a FLOAT: rejected by the schema
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("entry", ["main", "run"])
def test_cli_upload_end_to_end(
    arthur: LocalArthur,
    captures: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    entry: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("ARTHUR_ACCESS_TOKEN", TOKEN)
    arthur.faults.throttle(1, retry_after="0")
    argv = [
        str(captures),
        "--host",
        arthur.url,
        "--model-id",
        MODEL,
        "--schema",
        str(schema_file(tmp_path)),
        "--chunk-size",
        "2",
    ]
    status = run(argv, entry=entry)
    out, err = capsys.readouterr()
    assert status == 1
    assert set(arthur.inferences) == {"e-0", "e-1_0", "e-1_1"}
    assert arthur.inferences["e-1_1"]["inference_data"] == {
        "age": 17.0,
        "city": "Rome",
        "score": 0.2,
    }
    assert f"refused e-3 status=400 {captures}:4: " in out
    assert f"rejected {captures}:3 invalid_json" in out
    assert f"rejected {captures}:5 invalid_value" in out
    assert (
        "4 records to Arthur: 3 accepted, 1 refused, 0 possibly stored, 0 failed, 0 not sent;"
        in out
    )
    assert ", 1 retry, " in out
    for text in (out, err, caplog.text):
        assert TOKEN not in text


def test_cli_upload_all_accepted_exits_0(
    arthur: LocalArthur,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("ARTHUR_ACCESS_TOKEN", TOKEN)
    path = tmp_path / "good.jsonl"
    path.write_text("\n".join(capture_line(f"g-{i}", f"{i},Nice", "0.5") for i in range(5)) + "\n")
    argv = [
        str(path),
        "--host",
        arthur.url,
        "--model-id",
        MODEL,
        "--schema",
        str(schema_file(tmp_path)),
        "--batch-id",
        "b1",
        "--close-batch",
    ]
    assert run(argv) == 0
    out = capsys.readouterr().out
    assert (
        "5 records to Arthur: 5 accepted, 0 refused, 0 possibly stored, 0 failed, 0 not sent;"
        in out
    )
    assert "batch b1 closed with 5 record(s)" in out
    assert arthur.batches["b1"]["total_record_count"] == 5


def test_cli_upload_needs_the_token_from_the_environment(
    captures: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("ARTHUR_ACCESS_TOKEN", raising=False)
    assert run([str(captures), "--host", "https://arthur.example", "--model-id", MODEL]) == 2
    err = capsys.readouterr().err
    assert "ARTHUR_ACCESS_TOKEN" in err
    assert err.count("\n") == 1
    assert run([str(captures), "--token", "x"]) == 2  # there is no --token option
    assert "unrecognized arguments: --token" in capsys.readouterr().err


def test_cli_upload_auth_failure_exits_2(
    arthur: LocalArthur,
    captures: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("ARTHUR_ACCESS_TOKEN", "wrong-" + TOKEN)
    argv = [
        str(captures),
        "--host",
        arthur.url,
        "--model-id",
        MODEL,
        "--schema",
        str(schema_file(tmp_path)),
    ]
    assert run(argv) == 2
    out, err = capsys.readouterr()
    assert "401" in err
    assert TOKEN not in out + err


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--host", "http://arthur.example", "--model-id", MODEL], "plain http"),
        (["--model-id", MODEL], "--host"),
        (["--host", "https://a.example", "--model-id", MODEL, "--chunk-size", "0"], "chunk_size"),
        (["--host", "https://a.example", "--model-id", MODEL, "--close-batch"], "--batch-id"),
        (
            ["--host", "https://a.example", "--model-id", MODEL, "--schema", "/nonexistent.json"],
            "cannot read",
        ),
    ],
)
def test_cli_upload_usage_errors_exit_2(
    captures: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
    fragment: str,
) -> None:
    monkeypatch.setenv("ARTHUR_ACCESS_TOKEN", TOKEN)
    monkeypatch.delenv("ARTHUR_HOST", raising=False)
    assert run([str(captures), *extra]) == 2
    assert fragment in capsys.readouterr().err


def test_cli_upload_batch_model_needs_a_batch_id(
    captures: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("ARTHUR_ACCESS_TOKEN", TOKEN)
    argv = [
        str(captures),
        "--host",
        "https://a.example",
        "--model-id",
        MODEL,
        "--schema",
        str(schema_file(tmp_path, is_batch=True)),
    ]
    assert run(argv) == 2
    assert "batch model" in capsys.readouterr().err


def test_cli_upload_missing_file_exits_2(
    arthur: LocalArthur,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("ARTHUR_ACCESS_TOKEN", TOKEN)
    assert run([str(tmp_path / "missing.jsonl"), "--host", arthur.url, "--model-id", MODEL]) == 2
    assert "cannot open" in capsys.readouterr().err


def test_cli_upload_strict_stops_at_the_first_reject(
    arthur: LocalArthur,
    captures: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("ARTHUR_ACCESS_TOKEN", TOKEN)
    argv = [
        str(captures),
        "--host",
        arthur.url,
        "--model-id",
        MODEL,
        "--schema",
        str(schema_file(tmp_path)),
        "--strict",
    ]
    assert run(argv) == 1
    out, err = capsys.readouterr()
    assert "stopped (--strict)" in err
    assert set(arthur.inferences) == {"e-0", "e-1_0", "e-1_1"}
    assert f"rejected {captures}:3 invalid_json" in out


def test_cli_upload_timeout_must_be_positive(
    captures: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ARTHUR_ACCESS_TOKEN", TOKEN)
    assert (
        run([str(captures), "--host", "https://a.example", "--model-id", MODEL, "--timeout", "0"])
        == 2
    )
    assert "--timeout" in capsys.readouterr().err


def test_the_httpx_timeout_type_is_accepted(arthur: LocalArthur) -> None:
    with client_for(arthur, timeout=httpx.Timeout(5.0)) as client:
        assert client.upload(records(2)).ok
