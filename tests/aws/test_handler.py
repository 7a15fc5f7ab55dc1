"""The Lambda handler, end to end on loopback: moto (S3, SQS, DynamoDB, Secrets Manager, SSM)
and the local Arthur server. Events are shaped as AWS sends them; the handler is called directly.
"""

from __future__ import annotations

import gzip
import io
import json
import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import quote_plus

import pytest

from arthur_capture import read_records
from arthur_capture.arthur.schema import ModelSchema
from arthur_capture.aws._config import HandlerConfig, secret_store_of
from arthur_capture.aws._events import ObjectRef, event_kind, objects_of, objects_of_body
from arthur_capture.errors import ConfigError
from tests.conftest import FIXTURES
from tests.s3_server import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from arthur_capture.testing import LocalArthur
    from tests.s3_server import S3Bucket

pytest.importorskip("aws_lambda_powertools")
pytest.importorskip("httpx")
pytest.importorskip("pyarrow")

MODEL = "churn-model"
TOKEN = "tok-" + "s3cr3t-Zq9Xw7Vb5Nm3"  # a test token, asserted absent from logs
SCHEMA = FIXTURES / "arthur" / "churn_binary.model.json"
CAPTURES = FIXTURES / "engine" / "captures"
CLEAN = CAPTURES / "churn-a/AllTraffic/2024/03/01/09/05-12-345-3c9e1f07.jsonl"
WITH_REJECT = CAPTURES / "churn-a/AllTraffic/2024/03/01/10/00-03-118-7b2d94ae.jsonl"
OTHERS = (
    CAPTURES / "churn-b/AllTraffic/2024/03/01/10/14-51-602-0d8e3b71.jsonl",
    CAPTURES / "churn-b/AllTraffic/2024/03/01/11/02-10-877-5a6c2e90.jsonl",
)
PREFIX = "datacapture"


class FakeContext:
    """What Lambda passes as ``context``; the remaining time is scripted."""

    function_name = "arthur-capture"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:111122223333:function:arthur-capture"

    def __init__(self, remaining_ms: list[int] | int = 900_000) -> None:
        self.aws_request_id = str(uuid.uuid4())
        self._remaining = remaining_ms
        self.calls = 0

    def get_remaining_time_in_millis(self) -> int:
        self.calls += 1
        if isinstance(self._remaining, int):
            return self._remaining
        index = min(self.calls - 1, len(self._remaining) - 1)
        return self._remaining[index]


def _client(service: str, endpoint: str) -> Any:
    boto3 = pytest.importorskip("boto3")
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY_ID,
        aws_secret_access_key=SECRET_ACCESS_KEY,
    )


def _ids(*paths: Path) -> set[str]:
    return {r.partner_inference_id for p in paths for r in read_records(p, schema=SCHEMA).records}


def _key(path: Path, name: str | None = None) -> str:
    relative = path.relative_to(CAPTURES).as_posix()
    if name is not None:
        relative = relative.rpartition("/")[0] + "/" + name
    return f"{PREFIX}/{relative}"


def _put(bucket: S3Bucket, path: Path, *, key: str | None = None, gz: bool = False) -> str:
    data = path.read_bytes()
    key = key or _key(path)
    if gz:
        data = gzip.compress(data)
        key += ".gz" if not key.endswith(".gz") else ""
    bucket.client.put_object(Bucket=bucket.name, Key=key, Body=data)
    return key


def _s3_record(bucket: str, key: str, etag: str = "0123abcd") -> dict[str, Any]:
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": REGION,
        "eventTime": "2024-03-01T10:15:00.000Z",
        "eventName": "ObjectCreated:Put",
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "capture",
            "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
            "object": {"key": quote_plus(key), "size": 10, "eTag": etag, "sequencer": "00A"},
        },
    }


def _s3_event(bucket: str, *keys: str) -> dict[str, Any]:
    return {"Records": [_s3_record(bucket, key, etag=f"etag{i}") for i, key in enumerate(keys)]}


def _eventbridge(bucket: str, key: str) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": "111122223333",
        "time": "2024-03-01T10:15:00Z",
        "region": REGION,
        "resources": [f"arn:aws:s3:::{bucket}"],
        "detail": {
            "version": "0",
            "bucket": {"name": bucket},
            "object": {"key": key, "size": 10, "etag": "abc123", "sequencer": "00A"},
            "request-id": "R",
            "requester": "111122223333",
            "reason": "PutObject",
        },
    }


def _sqs(*bodies: tuple[str, str]) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": message_id,
                "receiptHandle": "handle-" + message_id,
                "body": body,
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": "x",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:111122223333:captures",
                "awsRegion": REGION,
            }
            for message_id, body in bodies
        ]
    }


def _log_lines(out: str) -> list[dict[str, Any]]:
    lines = []
    for text in out.splitlines():
        if text.startswith("{"):
            value = json.loads(text)
            if "_aws" not in value:  # metrics (EMF) lines are not log lines
                lines.append(value)
    return lines


def _metrics(out: str) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for text in out.splitlines():
        if text.startswith("{") and "_aws" in text:
            value = json.loads(text)
            for entry in value["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
                found[entry["Name"]] = value[entry["Name"]]
    return found


@pytest.fixture
def arthur() -> Iterator[LocalArthur]:
    from arthur_capture.testing import LocalArthur

    with LocalArthur(ModelSchema.load(SCHEMA), model_id=MODEL, token=TOKEN) as server:
        yield server


@pytest.fixture
def handler(
    s3_bucket: S3Bucket, arthur: LocalArthur, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Any]:
    """The handler module, configured for the local Arthur (inferences sink), state reset."""
    from arthur_capture.aws import handler as module

    for name in (
        "ARTHUR_ACCESS_TOKEN_SECRET",
        "ARTHUR_ORGANIZATION_ID",
        "ARTHUR_CAPTURE_SINK",
        "ARTHUR_CAPTURE_SCHEMA",
        "ARTHUR_CAPTURE_ENGINE_URI",
        "ARTHUR_CAPTURE_REJECTS_URI",
        "ARTHUR_CAPTURE_IDEMPOTENCY_TABLE",
        "ARTHUR_CAPTURE_TIME_MARGIN_SECONDS",
        "ARTHUR_CAPTURE_CHUNK_SIZE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ARTHUR_HOST", arthur.url)
    monkeypatch.setenv("ARTHUR_MODEL_ID", MODEL)
    monkeypatch.setenv("ARTHUR_ACCESS_TOKEN", TOKEN)
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "arthur-capture")
    module.reset()
    yield module
    module.reset()


# --------------------------------------------------------------------------- events (sans IO)


def test_s3_keys_are_url_decoded_and_test_events_name_nothing() -> None:
    event = _s3_event("b", "a/my file é+x.jsonl")
    assert objects_of(event) == [ObjectRef("b", "a/my file é+x.jsonl", None, "etag0")]
    assert objects_of({"Event": "s3:TestEvent", "Bucket": "b", "Service": "Amazon S3"}) == []
    deleted = _s3_event("b", "k.jsonl")
    deleted["Records"][0]["eventName"] = "ObjectRemoved:Delete"
    assert objects_of(deleted) == []
    assert event_kind(_sqs(("m", "{}"))) == "sqs"
    assert event_kind(_eventbridge("b", "k")) == "eventbridge"


def test_eventbridge_body_and_identity_prefers_the_version() -> None:
    event = _eventbridge("b", "a/k.jsonl")
    event["detail"]["object"]["version-id"] = "v1"
    (ref,) = objects_of_body(json.dumps(event))
    assert ref.identity() == {"bucket": "b", "key": "a/k.jsonl", "version": "v1"}
    assert ObjectRef("b", "k", None, "e").identity() == {"bucket": "b", "key": "k", "etag": "e"}
    sns = {"Type": "Notification", "Message": json.dumps(_s3_event("b", "a/x y.jsonl"))}
    assert [r.key for r in objects_of_body(json.dumps(sns))] == ["a/x y.jsonl"]


def test_config_names_what_is_missing_and_where_the_secret_lives() -> None:
    with pytest.raises(ConfigError, match=r"ARTHUR_HOST.*ARTHUR_ACCESS_TOKEN"):
        HandlerConfig.from_env({"ARTHUR_MODEL_ID": "m"})
    with pytest.raises(ConfigError, match="ARTHUR_CAPTURE_SINK"):
        HandlerConfig.from_env({"ARTHUR_CAPTURE_SINK": "nowhere"})
    with pytest.raises(ConfigError, match="ARTHUR_CAPTURE_ENGINE_URI"):
        HandlerConfig.from_env({"ARTHUR_CAPTURE_SINK": "engine"})
    engine = HandlerConfig.from_env(
        {"ARTHUR_CAPTURE_SINK": "engine", "ARTHUR_CAPTURE_ENGINE_URI": "s3://b/e"}
    )
    assert engine.sink == "engine"
    assert engine.time_margin == 60.0
    assert secret_store_of("/arthur/token") == "ssm"
    assert secret_store_of("arn:aws:ssm:us-east-1:1:parameter/arthur/token") == "ssm"
    assert secret_store_of("arthur/token") == "secretsmanager"
    assert secret_store_of("arn:aws:secretsmanager:us-east-1:1:secret:x") == "secretsmanager"


def test_client_fetches_the_model_schema(arthur: LocalArthur) -> None:
    from arthur_capture.arthur import ArthurClient

    with ArthurClient(arthur.url, TOKEN, MODEL) as client:
        schema = client.fetch_schema()
    assert {a.name for a in schema.attributes} == {a.name for a in arthur.schema.attributes}
    assert arthur.request_count("GET") == 1


# --------------------------------------------------------------------------- inferences sink


def test_one_record_uploads_the_object_and_logs_one_line(
    handler: Any, s3_bucket: S3Bucket, arthur: LocalArthur, capsys: pytest.CaptureFixture[str]
) -> None:
    key = _put(s3_bucket, CLEAN)
    answer = handler.lambda_handler(_s3_event(s3_bucket.name, key), FakeContext())
    assert set(arthur.inferences) == _ids(CLEAN)
    (summary,) = answer["objects"]
    assert summary["outcome"] == "done"
    assert summary["upload"]["accepted"] == len(_ids(CLEAN))
    out = capsys.readouterr().out
    (line,) = [ln for ln in _log_lines(out) if ln.get("message") == "capture object"]
    assert line["object"] == f"s3://{s3_bucket.name}/{key}"
    assert line["ledger"]["records"] == len(_ids(CLEAN))
    assert line["rejects_by_reason"] == {}
    assert line["level"] == "INFO"
    assert line["service"] == "arthur-capture"
    assert _metrics(out)["ObjectsProcessed"] in (1, 1.0, [1.0])
    assert TOKEN not in out
    # the schema was fetched from Arthur once (GET ?expand=attributes), not per invocation
    handler.lambda_handler(_s3_event(s3_bucket.name, key), FakeContext())
    assert arthur.request_count("GET") == 1


def test_a_test_event_fetches_nothing_and_publishes_no_empty_metrics(
    handler: Any, s3_bucket: S3Bucket, arthur: LocalArthur
) -> None:
    event = {"Event": "s3:TestEvent", "Bucket": s3_bucket.name, "Service": "Amazon S3"}
    # pytest turns warnings into errors: Powertools' "no metrics" warning would fail this
    assert handler.lambda_handler(event, FakeContext()) == {"objects": []}
    assert arthur.request_count("GET") == 0  # no schema fetched for an event without objects


def test_one_request_with_its_retries_fits_in_the_time_margin(
    handler: Any, s3_bucket: S3Bucket, arthur: LocalArthur, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARTHUR_CAPTURE_TIME_MARGIN_SECONDS", "40")
    key = _put(s3_bucket, CLEAN)
    handler.lambda_handler(_s3_event(s3_bucket.name, key), FakeContext())
    (runtime,) = handler._RUNTIMES.values()
    assert runtime.client.request_deadline == 20.0
    assert runtime.client.retry.max_elapsed == 20.0


def test_many_records_in_one_event(handler: Any, s3_bucket: S3Bucket, arthur: LocalArthur) -> None:
    keys = [_put(s3_bucket, path) for path in (CLEAN, *OTHERS)]
    answer = handler.lambda_handler(_s3_event(s3_bucket.name, *keys), FakeContext())
    assert len(answer["objects"]) == 3
    assert set(arthur.inferences) == _ids(CLEAN, *OTHERS)
    assert arthur.duplicates == {}


def test_sqs_batch_reports_only_the_poisoned_message(
    handler: Any, s3_bucket: S3Bucket, arthur: LocalArthur
) -> None:
    first = _put(s3_bucket, CLEAN)
    second = _put(s3_bucket, OTHERS[0])
    event = _sqs(
        ("m-1", json.dumps(_s3_event(s3_bucket.name, first))),
        ("m-poison", "this is not an S3 notification"),
        ("m-3", json.dumps(_eventbridge(s3_bucket.name, second))),
        ("m-test", json.dumps({"Event": "s3:TestEvent", "Bucket": s3_bucket.name})),
    )
    answer = handler.lambda_handler(event, FakeContext())
    assert answer == {"batchItemFailures": [{"itemIdentifier": "m-poison"}]}
    assert set(arthur.inferences) == _ids(CLEAN, OTHERS[0])


def test_eventbridge_object_created(handler: Any, s3_bucket: S3Bucket, arthur: LocalArthur) -> None:
    key = _put(s3_bucket, OTHERS[1])
    answer = handler.lambda_handler(_eventbridge(s3_bucket.name, key), FakeContext())
    assert answer["objects"][0]["outcome"] == "done"
    assert set(arthur.inferences) == _ids(OTHERS[1])


def test_keys_with_spaces_and_unicode_and_gzip(
    handler: Any, s3_bucket: S3Bucket, arthur: LocalArthur
) -> None:
    spaced = _put(s3_bucket, CLEAN, key=_key(CLEAN, "capture file 01 é+ü.jsonl"))
    zipped = _put(s3_bucket, OTHERS[0], key=_key(OTHERS[0], "zipped ü.jsonl"), gz=True)
    answer = handler.lambda_handler(_s3_event(s3_bucket.name, spaced, zipped), FakeContext())
    assert [s["object"] for s in answer["objects"]] == [
        f"s3://{s3_bucket.name}/{spaced}",
        f"s3://{s3_bucket.name}/{zipped}",
    ]
    assert set(arthur.inferences) == _ids(CLEAN, OTHERS[0])


def test_a_missing_object_fails_alone(
    handler: Any, s3_bucket: S3Bucket, arthur: LocalArthur, capsys: pytest.CaptureFixture[str]
) -> None:
    key = _put(s3_bucket, CLEAN)
    missing = f"{PREFIX}/churn-a/AllTraffic/2024/03/01/09/gone.jsonl"
    event = _s3_event(s3_bucket.name, missing, key)
    with pytest.raises(handler.ObjectFailedError, match="1 of 2"):
        handler.lambda_handler(event, FakeContext())
    assert set(arthur.inferences) == _ids(CLEAN)
    lines = _log_lines(capsys.readouterr().out)
    (failed,) = [ln for ln in lines if ln.get("outcome") == "failed"]
    assert failed["object"].endswith("gone.jsonl")
    assert "NoSuchKey" in failed["error"]
    # wrapped in SQS, the same is one failed message
    event = _sqs(
        ("ok", json.dumps(_s3_event(s3_bucket.name, key))),
        ("gone", json.dumps(_s3_event(s3_bucket.name, missing))),
    )
    assert handler.lambda_handler(event, FakeContext()) == {
        "batchItemFailures": [{"itemIdentifier": "gone"}]
    }


def test_redelivery_without_a_table_gives_the_same_partner_ids(
    handler: Any, s3_bucket: S3Bucket, arthur: LocalArthur
) -> None:
    key = _put(s3_bucket, CLEAN)
    for _ in range(2):
        handler.lambda_handler(_s3_event(s3_bucket.name, key), FakeContext())
    assert arthur.duplicates == dict.fromkeys(_ids(CLEAN), 2)


def _idempotency_table(s3_env: str, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, str]:
    """A fresh DynamoDB table in Powertools' layout (partition key ``id``), set for the handler."""
    table = f"idem-{uuid.uuid4().hex[:12]}"
    dynamodb = _client("dynamodb", s3_env)
    dynamodb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    monkeypatch.setenv("ARTHUR_CAPTURE_IDEMPOTENCY_TABLE", table)
    return dynamodb, table


def test_redelivery_with_the_idempotency_table_stores_nothing_twice(
    handler: Any,
    s3_bucket: S3Bucket,
    s3_env: str,
    arthur: LocalArthur,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dynamodb, table = _idempotency_table(s3_env, monkeypatch)
    keys = [_put(s3_bucket, CLEAN), _put(s3_bucket, OTHERS[0])]
    event = _s3_event(s3_bucket.name, *keys)
    first = handler.lambda_handler(event, FakeContext())
    stored = len(arthur.inferences)
    posts = arthur.request_count("POST", "/inferences")
    again = handler.lambda_handler(event, FakeContext())  # S3 delivers it twice
    wrapped = handler.lambda_handler(
        _sqs(("m", json.dumps(event))), FakeContext()
    )  # and once more through SQS
    assert [s["outcome"] for s in first["objects"]] == ["done", "done"]
    assert [s["outcome"] for s in again["objects"]] == ["skipped", "skipped"]
    assert wrapped == {"batchItemFailures": []}
    assert len(arthur.inferences) == stored == len(_ids(CLEAN, OTHERS[0]))
    assert arthur.duplicates == {}
    assert arthur.request_count("POST", "/inferences") == posts
    items = dynamodb.scan(TableName=table)["Items"]
    assert len(items) == 2
    assert all(item["id"]["S"].startswith("arthur-capture#object#") for item in items)
    assert {item["status"]["S"] for item in items} == {"COMPLETED"}


def test_an_object_in_progress_elsewhere_is_not_started_twice(
    handler: Any,
    s3_bucket: S3Bucket,
    s3_env: str,
    arthur: LocalArthur,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _idempotency_table(s3_env, monkeypatch)
    key = _put(s3_bucket, CLEAN)
    event = _sqs(("m", json.dumps(_s3_event(s3_bucket.name, key))))
    # Another invocation is inside the object: hold it there by answering from within upload.
    inner: dict[str, Any] = {}
    original = handler._Runtime._inferences

    def reentrant(self: Any, ref: Any, clock: Any) -> dict[str, Any]:
        if not inner:
            inner["answer"] = handler.lambda_handler(event, FakeContext())
        return original(self, ref, clock)  # type: ignore[no-any-return]

    monkeypatch.setattr(handler._Runtime, "_inferences", reentrant)
    outer = handler.lambda_handler(event, FakeContext())
    assert inner["answer"] == {"batchItemFailures": [{"itemIdentifier": "m"}]}
    assert outer == {"batchItemFailures": []}
    assert arthur.duplicates == {}
    assert set(arthur.inferences) == _ids(CLEAN)


def test_time_running_out_stops_cleanly_and_fails_for_retry(
    handler: Any, s3_bucket: S3Bucket, arthur: LocalArthur, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = [_put(s3_bucket, CLEAN), _put(s3_bucket, OTHERS[0])]
    event = _sqs(
        *((f"m-{i}", json.dumps(_s3_event(s3_bucket.name, k))) for i, k in enumerate(keys))
    )
    # 10 s left, under the default margin of 60 s: nothing is started
    answer = handler.lambda_handler(event, FakeContext(10_000))
    assert answer == {"batchItemFailures": [{"itemIdentifier": "m-0"}, {"itemIdentifier": "m-1"}]}
    assert arthur.inferences == {}
    # mid-object: chunks of one inference; the time drops under the margin after two
    monkeypatch.setenv("ARTHUR_CAPTURE_CHUNK_SIZE", "1")
    monkeypatch.setenv("ARTHUR_CAPTURE_TIME_MARGIN_SECONDS", "5")
    context = FakeContext([60_000, 60_000, 60_000, 60_000, 1_000])
    with pytest.raises(handler.TimeRunningOutError):
        handler.lambda_handler(_s3_event(s3_bucket.name, *keys), context)
    assert 0 < len(arthur.inferences) < len(_ids(CLEAN))  # stopped between chunks
    # the retry, with time, completes it (same partner IDs)
    handler.lambda_handler(_s3_event(s3_bucket.name, *keys), FakeContext())
    assert set(arthur.inferences) == _ids(CLEAN, OTHERS[0])


# --------------------------------------------------------------------------- the token


@pytest.mark.parametrize("store", ["secretsmanager", "ssm"])
def test_token_from_a_secret_is_fetched_once_and_never_logged(
    store: str,
    handler: Any,
    s3_bucket: S3Bucket,
    s3_env: str,
    arthur: LocalArthur,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    name = f"arthur-token-{uuid.uuid4().hex[:8]}"
    if store == "ssm":
        name = "/arthur/" + name
        _client("ssm", s3_env).put_parameter(Name=name, Value=TOKEN, Type="SecureString")
    else:
        _client("secretsmanager", s3_env).create_secret(
            Name=name, SecretString=json.dumps({"token": TOKEN})
        )
    monkeypatch.delenv("ARTHUR_ACCESS_TOKEN")
    monkeypatch.setenv("ARTHUR_ACCESS_TOKEN_SECRET", name)
    key = _put(s3_bucket, CLEAN)
    handler.lambda_handler(_s3_event(s3_bucket.name, key), FakeContext())
    # fetched once per container: a changed secret is not read again
    if store == "ssm":
        _client("ssm", s3_env).put_parameter(
            Name=name, Value="other", Type="SecureString", Overwrite=True
        )
    else:
        _client("secretsmanager", s3_env).put_secret_value(SecretId=name, SecretString="other")
    handler.lambda_handler(_s3_event(s3_bucket.name, key), FakeContext())
    assert set(arthur.inferences) == _ids(CLEAN)
    assert set(arthur.duplicates) == _ids(CLEAN)
    captured = capsys.readouterr()
    assert TOKEN not in captured.out
    assert TOKEN not in captured.err
    assert TOKEN[4:12] not in captured.out


def test_a_missing_secret_is_a_configuration_error_for_every_record(
    handler: Any,
    s3_bucket: S3Bucket,
    arthur: LocalArthur,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("ARTHUR_ACCESS_TOKEN")
    monkeypatch.setenv("ARTHUR_ACCESS_TOKEN_SECRET", "/arthur/does-not-exist")
    event = _sqs(
        ("a", json.dumps(_s3_event(s3_bucket.name, "k1.jsonl"))),
        ("b", json.dumps(_s3_event(s3_bucket.name, "k2.jsonl"))),
    )
    answer = handler.lambda_handler(event, FakeContext())
    assert answer == {"batchItemFailures": [{"itemIdentifier": "a"}, {"itemIdentifier": "b"}]}
    lines = _log_lines(capsys.readouterr().out)
    (bad,) = [ln for ln in lines if ln.get("message") == "bad configuration"]
    assert "/arthur/does-not-exist" in bad["error"]
    assert "SSM parameter" in bad["error"]
    with pytest.raises(ConfigError, match="SSM parameter"):
        handler.lambda_handler(_s3_event(s3_bucket.name, "k1.jsonl"), FakeContext())
    assert arthur.inferences == {}


def test_bad_sink_fails_every_record(
    handler: Any, s3_bucket: S3Bucket, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARTHUR_CAPTURE_SINK", "somewhere")
    event = _sqs(("a", json.dumps(_s3_event(s3_bucket.name, "k.jsonl"))))
    assert handler.lambda_handler(event, FakeContext()) == {
        "batchItemFailures": [{"itemIdentifier": "a"}]
    }


# --------------------------------------------------------------------------- rejects, engine


def test_rejects_go_to_s3_line_by_line(
    handler: Any, s3_bucket: S3Bucket, arthur: LocalArthur, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARTHUR_CAPTURE_REJECTS_URI", f"s3://{s3_bucket.name}/rejects")
    key = _put(s3_bucket, WITH_REJECT)
    answer = handler.lambda_handler(_s3_event(s3_bucket.name, key), FakeContext())
    (summary,) = answer["objects"]
    expected = read_records(WITH_REJECT, schema=SCHEMA)
    assert summary["rejects_by_reason"] == {"invalid_json": 1}
    rejects_key = f"rejects/{s3_bucket.name}/{key}.rejects.jsonl"
    assert summary["rejects_uri"] == f"s3://{s3_bucket.name}/{rejects_key}"
    body = s3_bucket.client.get_object(Bucket=s3_bucket.name, Key=rejects_key)["Body"].read()
    lines = [json.loads(line) for line in body.splitlines()]
    assert len(lines) == len(expected.rejects) == 1
    assert lines[0]["reason"] == "invalid_json"
    assert lines[0]["source"] == f"s3://{s3_bucket.name}/{key}"
    assert lines[0]["line"] == expected.rejects[0].line_number
    assert set(arthur.inferences) == {r.partner_inference_id for r in expected.records}


def test_engine_sink_writes_to_the_bucket(
    handler: Any, s3_bucket: S3Bucket, arthur: LocalArthur, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3_bucket.client.put_object(
        Bucket=s3_bucket.name, Key="config/model.json", Body=SCHEMA.read_bytes()
    )
    for name in ("ARTHUR_HOST", "ARTHUR_MODEL_ID", "ARTHUR_ACCESS_TOKEN"):
        monkeypatch.delenv(name)  # the engine sink needs no Arthur when the schema is given
    monkeypatch.setenv("ARTHUR_CAPTURE_SINK", "engine")
    monkeypatch.setenv("ARTHUR_CAPTURE_ENGINE_URI", f"s3://{s3_bucket.name}/engine")
    monkeypatch.setenv("ARTHUR_CAPTURE_SCHEMA", f"s3://{s3_bucket.name}/config/model.json")
    keys = [_put(s3_bucket, path) for path in (CLEAN, *OTHERS)]
    answer = handler.lambda_handler(_s3_event(s3_bucket.name, *keys), FakeContext())
    assert [s["outcome"] for s in answer["objects"]] == ["done"] * 3
    listed = s3_bucket.client.list_objects_v2(Bucket=s3_bucket.name, Prefix="engine/")
    names = sorted(item["Key"] for item in listed["Contents"])
    parquet = [n for n in names if n.endswith(".parquet")]
    assert any(n.startswith("engine/churn-a/AllTraffic/2024/03/01/09/") for n in parquet)
    assert any(n.startswith("engine/churn-b/AllTraffic/") for n in parquet)
    assert "engine/churn-a/AllTraffic/arthur-dataset.json" in names
    pq = pytest.importorskip("pyarrow.parquet")
    rows = 0
    for name in parquet:
        data = s3_bucket.client.get_object(Bucket=s3_bucket.name, Key=name)["Body"].read()
        rows += pq.read_table(io.BytesIO(data)).num_rows
    assert rows == len(_ids(CLEAN, *OTHERS))
    assert arthur.requests == []


def test_forward_sink_posts_the_capture_file(
    handler: Any, s3_bucket: S3Bucket, arthur: LocalArthur, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARTHUR_CAPTURE_SINK", "forward")
    monkeypatch.setenv("ARTHUR_CAPTURE_REJECTS_URI", f"s3://{s3_bucket.name}/rejects/")
    keys = [_put(s3_bucket, CLEAN), _put(s3_bucket, WITH_REJECT, gz=True)]
    answer = handler.lambda_handler(_s3_event(s3_bucket.name, *keys), FakeContext())
    first, second = answer["objects"]
    assert first["forward"]["counts"]["success"] == len(_ids(CLEAN))
    assert second["forward"]["file"] == WITH_REJECT.name
    assert second["rejects_by_reason"] == {"invalid_json": 1}
    assert set(arthur.inferences) == _ids(CLEAN, WITH_REJECT)
    assert [f["filename"] for f in arthur.files] == [CLEAN.name, WITH_REJECT.name]
    assert arthur.request_count("POST", "/inferences") == 0
    rejects_key = f"rejects/{s3_bucket.name}/{keys[1].removesuffix('.gz')}.rejects.jsonl"
    body = s3_bucket.client.get_object(Bucket=s3_bucket.name, Key=rejects_key)["Body"].read()
    assert [json.loads(line)["reason"] for line in body.splitlines()] == ["invalid_json"]
