"""send_capture_file against the local Arthur server's sagemaker_data_capture endpoint."""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from arthur_capture.arthur import ArthurClient, CaptureFileResult, RetryPolicy
from arthur_capture.arthur.errors import ArthurAPIError, ArthurAuthError, ArthurUnavailableError
from arthur_capture.arthur.mapping import SchemaMapper
from arthur_capture.reading import CaptureReader
from arthur_capture.sinks.forward import prepare_capture_file
from arthur_capture.testing.local_arthur import LocalArthur
from tests.arthur.test_client import make_schema

if TYPE_CHECKING:
    from collections.abc import Iterator

TOKEN = "tok-SECRET-5f0a1b"  # noqa: S105 - a test token
MODEL = "model-sm"
FAST = RetryPolicy(attempts=4, initial=0.01, maximum=0.02, jitter=0.01)
PATH = f"/api/v3/models/{MODEL}/inferences/integrations/sagemaker_data_capture"


@pytest.fixture
def arthur() -> Iterator[LocalArthur]:
    with LocalArthur(make_schema(), model_id=MODEL, token=TOKEN) as srv:
        yield srv


def client_for(srv: LocalArthur, token: str = TOKEN, **options: Any) -> ArthurClient:
    options.setdefault("retry", FAST)
    return ArthurClient(srv.url, token, MODEL, **options)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode("ascii")


def line(
    event_id: str,
    request: tuple[str, str, str] | None,
    response: tuple[str, str, str] | None,
    *,
    inference_id: str | None = None,
) -> str:
    """A capture line; each side is ``(content type, data, encoding)``."""
    capture: dict[str, Any] = {}
    for key, mode, side in (
        ("endpointInput", "INPUT", request),
        ("endpointOutput", "OUTPUT", response),
    ):
        if side is not None:
            content_type, data, encoding = side
            capture[key] = {
                "observedContentType": content_type,
                "mode": mode,
                "data": data,
                "encoding": encoding,
            }
    meta: dict[str, Any] = {"eventId": event_id, "inferenceTime": "2024-01-19T19:27:57Z"}
    if inference_id is not None:
        meta["inferenceId"] = inference_id
    return json.dumps({"captureData": capture, "eventMetadata": meta, "eventVersion": "0"})


def capture_file() -> bytes:
    """CSV and JSON calls, some BASE64, single and batched, with and without an inferenceId."""
    lines = [
        line("e-0", ("text/csv", "31,Paris", "CSV"), ("text/csv", "0.9", "CSV")),
        line(
            "e-1",
            ("text/csv", b64("42,Oslo\n17,Rome"), "BASE64"),
            ("text/csv", "0.1\n0.2", "CSV"),
            inference_id="inf-1",
        ),
        line(
            "e-2",
            ("application/json", b64('[{"age": 5, "city": "Kyiv"}]'), "BASE64"),
            ("application/json", b64("[0.7]"), "BASE64"),
        ),
        "{not json",
        line("e-4", ("text/csv", "oops,Lima", "CSV"), ("text/csv", "0.3", "CSV")),
    ]
    return ("\n".join(lines) + "\n").encode()


def test_a_prepared_file_stores_what_upload_stores(arthur: LocalArthur) -> None:
    data = capture_file()
    prepared = prepare_capture_file(data, mapper=SchemaMapper(make_schema()))
    assert prepared.lines == 3
    with client_for(arthur) as client:
        result = client.send_capture_file(prepared.body, filename="smdatacapture.jsonl")
    assert isinstance(result, CaptureFileResult)
    assert result.counts == {"success": 4, "failure": 0, "total": 4}
    assert result.failures == []
    assert result.ok
    assert result.status == 207
    forwarded = arthur.inferences
    assert sorted(forwarded) == ["e-0", "e-2", "inf-1_0", "inf-1_1"]
    assert forwarded["inf-1_1"]["inference_data"] == {"age": 17.0, "city": "Rome", "score": 0.2}
    assert arthur.files[-1]["filename"] == "smdatacapture.jsonl"

    arthur.reset()
    records = CaptureReader(mapper=SchemaMapper(make_schema())).read(data).records
    with client_for(arthur) as client:
        uploaded = client.upload(records)
    assert uploaded.accepted == 4
    assert arthur.inferences == forwarded  # same partner IDs, same values


def test_a_raw_file_with_base64_sides_gets_failures_with_sagemaker_coordinates(
    arthur: LocalArthur,
) -> None:
    with client_for(arthur) as client:
        result = client.send_capture_file(capture_file(), filename="raw.jsonl")
    assert sorted(arthur.inferences) == ["e-0"]
    by_event = {f["event_id"]: f for f in result.failures}
    assert [f["event_id"] for f in result.failures] == ["e-1", "e-2", None, "e-4"]  # line order
    for event_id in ("e-1", "e-2"):
        assert by_event[event_id]["inference_index_in_event"] == 0
        assert "BASE64" in by_event[event_id]["message"]
        assert by_event[event_id]["status"] == 400
    assert by_event["e-4"]["inference_index_in_event"] == 0
    assert "age" in by_event["e-4"]["message"]
    assert by_event[None]["inference_index_in_event"] is None  # a line that is not JSON
    assert result.counts == {"success": 1, "failure": 4, "total": 5}
    assert not result.ok


def test_each_refused_inference_of_a_batch_is_named_by_its_index(arthur: LocalArthur) -> None:
    body = line(
        "e-7", ("text/csv", "1,A\nx,B\n3,C", "CSV"), ("text/csv", "0.1\n0.2\n0.3", "CSV")
    ).encode()
    with client_for(arthur) as client:
        result = client.send_capture_file(body, filename="batch.jsonl")
    assert sorted(arthur.inferences) == ["e-7_0", "e-7_2"]
    assert [(f["event_id"], f["inference_index_in_event"]) for f in result.failures] == [("e-7", 1)]
    assert result.counts == {"success": 2, "failure": 1, "total": 3}


def test_a_missing_prediction_is_refused_by_the_model_check(arthur: LocalArthur) -> None:
    body = line("e-8", ("text/csv", "1,A", "CSV"), None).encode()
    with client_for(arthur) as client:
        result = client.send_capture_file(body, filename="x.jsonl")
    [failure] = result.failures
    assert failure["event_id"] == "e-8"
    assert failure["inference_index_in_event"] == 0
    assert "score" in failure["message"]


@pytest.mark.parametrize("name", ["capture.json", "capture.jsonl.gz", "a/b.jsonl", ".jsonl", ""])
def test_the_name_must_be_a_jsonl_file_name(arthur: LocalArthur, name: str) -> None:
    with client_for(arthur) as client, pytest.raises(ValueError, match=r"\.jsonl"):
        client.send_capture_file(b"", filename=name)
    assert arthur.request_count() == 0


def test_5xx_is_retried_and_the_file_is_stored_once(arthur: LocalArthur) -> None:
    arthur.faults.fail(2, status=503)
    body = prepare_capture_file(capture_file()).body
    with client_for(arthur) as client:
        result = client.send_capture_file(body, filename="c.jsonl")
    assert result.attempts == 3
    assert arthur.request_count("POST", "sagemaker_data_capture") == 3
    assert not result.possible_duplicate
    assert set(arthur.arrivals.values()) == {1}


def test_a_lost_answer_is_retried_and_flagged_as_a_possible_duplicate(arthur: LocalArthur) -> None:
    arthur.faults.drop(1, after_processing=True)
    body = line("e-0", ("text/csv", "31,Paris", "CSV"), ("text/csv", "0.9", "CSV")).encode()
    with client_for(arthur) as client:
        result = client.send_capture_file(body, filename="c.jsonl")
    assert result.attempts == 2
    assert result.possible_duplicate
    assert not result.ok
    assert arthur.arrivals["e-0"] == 2  # what the flag warns of


def test_retries_run_out(arthur: LocalArthur) -> None:
    arthur.faults.fail(10, status=502)
    with client_for(arthur) as client, pytest.raises(ArthurUnavailableError) as caught:
        client.send_capture_file(b"", filename="c.jsonl")
    assert caught.value.attempts == FAST.attempts


def test_a_wrong_token_is_an_auth_error_and_never_shows(arthur: LocalArthur) -> None:
    with (
        client_for(arthur, token="wrong-token-123456") as client,  # noqa: S106
        pytest.raises(ArthurAuthError) as caught,
    ):
        client.send_capture_file(b"", filename="c.jsonl")
    assert caught.value.status == 401
    assert "wrong-token-123456" not in str(caught.value)
    assert arthur.request_count() == 1  # never retried


def test_an_unknown_model_is_a_404(arthur: LocalArthur) -> None:
    with (
        ArthurClient(arthur.url, TOKEN, "no-such-model", retry=FAST) as client,
        pytest.raises(ArthurAPIError) as caught,
    ):
        client.send_capture_file(b"", filename="c.jsonl")
    assert caught.value.status == 404


def test_the_server_checks_the_form_like_arthur(arthur: LocalArthur) -> None:
    headers = {"Authorization": TOKEN}
    with httpx.Client(base_url=arthur.url, headers=headers) as http:
        wrong_name = http.post(PATH, files={"inference_data": ("c.json", b"", "text/plain")})
        wrong_field = http.post(PATH, files={"file": ("c.jsonl", b"", "text/plain")})
        not_multipart = http.post(PATH, content=b"{}")
        get = http.get(PATH)
        no_token = httpx.post(arthur.url + PATH, files={"inference_data": ("c.jsonl", b"")})
    assert wrong_name.status_code == 400
    assert ".jsonl" in wrong_name.json()["message"]
    assert wrong_field.status_code == 400
    assert not_multipart.status_code == 415
    assert get.status_code == 405
    assert no_token.status_code == 401


def test_the_server_refuses_a_body_over_its_limit() -> None:
    with (
        LocalArthur(make_schema(), model_id=MODEL, token=TOKEN, max_body_bytes=1024) as srv,
        client_for(srv) as client,
        pytest.raises(ArthurAPIError) as caught,
    ):
        client.send_capture_file(b"x" * 4096, filename="big.jsonl")
    assert caught.value.status == 413
