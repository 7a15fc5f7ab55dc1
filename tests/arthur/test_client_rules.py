"""The uploader's retry and settlement rules, one by one, through ``httpx.MockTransport``.

No socket and no real sleep: each test scripts Arthur's answers request by request, records
the waits the client asks for, and checks the exact counts of the result. The end-to-end
behaviour over real HTTP is in ``test_client.py`` (against the local Arthur server).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from arthur_capture.arthur import (
    ArthurClient,
    ChunkFailure,
    FailedRecord,
    Refusal,
    RetryPolicy,
    UploadResult,
)
from arthur_capture.arthur._retry import backoff, parse_retry_after
from arthur_capture.arthur.errors import ArthurAPIError, ArthurAuthError, ArthurUnavailableError
from arthur_capture.errors import CaptureError
from arthur_capture.records import InferenceRecord

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

TOKEN = "tok-RULES-5f0a9e"  # noqa: S105 - a test token
MODEL = "model-9"
HOST = "https://arthur.test"
WHEN = datetime(2024, 1, 19, 19, 27, 57, tzinfo=UTC)
NO_JITTER = RetryPolicy(attempts=5, initial=0.25, maximum=30.0, jitter=0.0)


# --------------------------------------------------------------------------- a scripted Arthur


def body_of(request: httpx.Request) -> list[dict[str, Any]]:
    value = json.loads(request.content)
    assert isinstance(value, list)
    return value


def multi_status(
    statuses: list[int],
    *,
    messages: dict[int, Any] | None = None,
    counts: dict[str, Any] | None = None,
    status: int = 207,
) -> Callable[[httpx.Request], httpx.Response]:
    """An answer with one ``{"status", "message"}`` per entry of ``statuses`` (not per record)."""

    def answer(request: httpx.Request) -> httpx.Response:
        results = [
            {"status": s, "message": (messages or {}).get(i, "ok" if s < 300 else "refused")}
            for i, s in enumerate(statuses)
        ]
        success = sum(1 for s in statuses if 200 <= s < 300)
        shown = counts or {
            "success": success,
            "failure": len(statuses) - success,
            "total": len(statuses),
        }
        return httpx.Response(status, json={"counts": shown, "results": results}, request=request)

    return answer


def accept_all(request: httpx.Request) -> httpx.Response:
    """Arthur's answer when every record of the request is accepted."""
    if request.url.path.endswith("/inferences/file"):
        return httpx.Response(207, json={"counts": {"success": 1, "failure": 0, "total": 1}})
    if request.url.path.rsplit("/", 2)[-2] == "batches":
        return httpx.Response(200, json={"status": "uploaded"})
    return multi_status([200] * len(body_of(request)))(request)


def status(
    code: int, *, message: str = "no", headers: dict[str, str] | None = None
) -> Callable[[httpx.Request], httpx.Response]:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(code, json={"message": message}, headers=headers, request=request)

    return answer


def raises(
    error: type[httpx.TransportError],
) -> Callable[[httpx.Request], httpx.Response]:
    def answer(request: httpx.Request) -> httpx.Response:
        raise error("scripted", request=request)

    return answer


class Arthur:
    """Answers each request with the next scripted answer, then accepts everything."""

    def __init__(self, *script: Callable[[httpx.Request], httpx.Response]) -> None:
        self.script = list(script)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        answer = self.script.pop(0) if self.script else accept_all
        return answer(request)

    def ids(self, n: int) -> list[str]:
        """The partner IDs request ``n`` carried."""
        return [obj["partner_inference_id"] for obj in body_of(self.requests[n])]


def client_for(arthur: Arthur, waits: list[float] | None = None, **options: Any) -> ArthurClient:
    options.setdefault("retry", NO_JITTER)
    return ArthurClient(
        HOST,
        TOKEN,
        MODEL,
        transport=httpx.MockTransport(arthur),
        sleep=(waits if waits is not None else []).append,
        **options,
    )


def record(i: int) -> InferenceRecord:
    return InferenceRecord(
        partner_inference_id=f"evt-{i}",
        inference_timestamp=WHEN,
        inputs={"age": float(i)},
        outputs={"score": 0.5},
        event_id=f"evt-{i}",
        inference_id=None,
        index=0,
        batch_size=1,
        source="capture.jsonl",
        line_number=i + 1,
    )


def records(n: int) -> list[InferenceRecord]:
    return [record(i) for i in range(n)]


def ids(*numbers: int) -> list[str]:
    return [f"evt-{i}" for i in numbers]


def assert_balanced(result: UploadResult) -> None:
    assert result.total == result.accepted + result.refused + len(result.failed)
    assert result.balanced


# --------------------------------------------------------------------------- the request


def test_a_chunk_is_one_post_of_newinference_objects_with_the_raw_token() -> None:
    arthur = Arthur()
    with client_for(arthur, chunk_size=2) as client:
        result = client.upload(records(3), batch_id="b-1")
    assert len(arthur.requests) == 2
    first = arthur.requests[0]
    assert (first.method, first.url.path) == ("POST", f"/api/v3/models/{MODEL}/inferences")
    assert first.headers["Authorization"] == TOKEN  # the raw token, no "Bearer"
    assert first.headers["Content-Type"] == "application/json"
    assert body_of(first)[1] == {
        "partner_inference_id": "evt-1",
        "inference_timestamp": "2024-01-19T19:27:57+00:00",
        "inference_data": {"age": 1.0, "score": 0.5},
        "batch_id": "b-1",
    }
    assert (arthur.ids(0), arthur.ids(1)) == (ids(0, 1), ids(2))
    assert (result.total, result.sent, result.accepted, result.chunks) == (3, 3, 3, 2)
    assert (result.requests, result.retries) == (2, 0)
    assert result.ok


def test_invalid_records_are_reported_and_never_sent() -> None:
    arthur = Arthur()
    naive = {
        "partner_inference_id": "m-1",
        "inference_timestamp": "2024-01-19T19:27:57",
        "inference_data": {"age": 1.0},
        "source": "rows.json",
        "line": 7,
    }
    with client_for(arthur) as client:
        result = client.upload([naive, {"inference_data": {}}])
    assert arthur.requests == []
    assert (result.total, result.sent, result.accepted, result.chunks, result.requests) == (
        2,
        0,
        0,
        0,
        0,
    )
    assert [(f.partner_inference_id, f.source, f.line_number, f.sent) for f in result.failed] == [
        ("m-1", "rows.json", 7, False),
        ("", None, None, False),
    ]
    assert result.failed[0].error == (
        "not sent: inference_timestamp is not a timezone-aware ISO 8601 time"
    )
    assert result.failed[1].error == "not sent: partner_inference_id is missing or not a string"
    assert_balanced(result)


# --------------------------------------------------------------------------- retries


@pytest.mark.parametrize("code", [500, 502, 503, 504])
def test_a_5xx_then_200_is_retried_and_accepted(code: int) -> None:
    waits: list[float] = []
    arthur = Arthur(status(code))
    with client_for(arthur, waits) as client:
        result = client.upload(records(4))
    assert len(arthur.requests) == 2
    assert arthur.requests[0].content == arthur.requests[1].content  # the same chunk again
    assert waits == [0.25]  # initial * 2**0, no jitter
    assert (result.chunks, result.requests, result.retries) == (1, 2, 1)
    assert (result.total, result.sent, result.accepted, result.refused) == (4, 4, 4, 0)
    assert result.failed == []
    assert result.failed_chunks == 0
    assert_balanced(result)


def test_the_backoff_doubles_up_to_the_maximum() -> None:
    waits: list[float] = []
    arthur = Arthur(*[status(503)] * 4)
    policy = RetryPolicy(attempts=5, initial=1.0, maximum=5.0, jitter=0.0)
    with client_for(arthur, waits, retry=policy) as client:
        result = client.upload(records(1))
    assert waits == [1.0, 2.0, 4.0, 5.0]
    assert (result.requests, result.retries, result.accepted) == (5, 4, 1)


def test_jitter_adds_at_most_its_amount() -> None:
    policy = RetryPolicy(initial=1.0, maximum=100.0, jitter=0.5)
    for attempt in range(1, 6):
        wait = backoff(policy, attempt)
        assert 2 ** (attempt - 1) <= wait <= 2 ** (attempt - 1) + 0.5


@pytest.mark.parametrize(
    ("header", "wait"),
    [("7", 7.0), ("0", 0.0), (" 2.5 ", 2.5), ("100000", 120.0), ("soon", 0.25), ("nan", 0.25)],
)
def test_a_429_waits_what_retry_after_asks_up_to_the_cap(header: str, wait: float) -> None:
    waits: list[float] = []
    arthur = Arthur(status(429, headers={"Retry-After": header}))
    with client_for(arthur, waits) as client:
        result = client.upload(records(2))
    assert waits == [wait]  # unreadable values fall back to the backoff (0.25)
    assert (result.requests, result.retries, result.accepted) == (2, 1, 2)
    assert result.possible_duplicates == []  # a 429 was not processed
    assert result.ok


def test_retry_after_as_an_http_date_and_on_a_503() -> None:
    waits: list[float] = []
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    arthur = Arthur(
        status(503, headers={"Retry-After": later}), status(503, headers={"Retry-After": "3"})
    )
    with client_for(arthur, waits) as client:
        result = client.upload(records(1))
    assert len(waits) == 2
    assert 25 <= waits[0] <= 30
    assert waits[1] == 3.0
    assert (result.requests, result.retries, result.accepted) == (3, 2, 1)


def test_parse_retry_after() -> None:
    past = format_datetime(datetime.now(UTC) - timedelta(hours=1), usegmt=True)
    assert parse_retry_after(None) is None
    assert parse_retry_after("12") == 12.0
    assert parse_retry_after("-5") == 0.0
    assert parse_retry_after(past) == 0.0
    assert parse_retry_after("inf") is None
    assert parse_retry_after("Fri, 99 Foo") is None


def test_a_chunk_that_keeps_failing_fails_alone_after_every_attempt() -> None:
    waits: list[float] = []
    arthur = Arthur(*[status(503, message="busy")] * 3)
    policy = RetryPolicy(attempts=3, initial=0.5, maximum=1.0, jitter=0.0)
    with client_for(arthur, waits, chunk_size=2, retry=policy) as client:
        result = client.upload(records(5))
    assert waits == [0.5, 1.0]
    assert len(arthur.requests) == 5  # 3 for chunk 0, then chunks 1 and 2 once each
    assert (result.chunks, result.failed_chunks, result.requests, result.retries) == (3, 1, 5, 2)
    assert (result.accepted, result.refused, len(result.failed)) == (3, 0, 2)
    (failure,) = result.chunk_failures
    assert failure == ChunkFailure(
        0, 2, 503, "chunk 0 (2 records): Arthur answered 503: busy (gave up after 3 attempt(s))", 3
    )
    assert result.failed == [
        FailedRecord(f"evt-{i}", "capture.jsonl", i + 1, failure.error, 503, 0, sent=True)
        for i in (0, 1)
    ]
    assert result.possible_duplicates == []  # 503: not processed
    assert_balanced(result)


def test_retries_running_out_on_a_single_request_raise_unavailable() -> None:
    waits: list[float] = []
    arthur = Arthur(*[status(502)] * 2)
    with client_for(arthur, waits, retry=RetryPolicy(attempts=2, jitter=0.0)) as client:
        with pytest.raises(ArthurUnavailableError) as caught:
            client.close_batch("b-1", 3)
        assert client.close_batch("b-1", 3) == {"status": "uploaded"}
    assert (caught.value.status, caught.value.attempts) == (502, 2)
    assert isinstance(caught.value, ConnectionError)
    assert "batch b-1" in caught.value.message
    assert "gave up after 2 attempt(s)" in caught.value.message
    assert len(arthur.requests) == 3
    assert json.loads(arthur.requests[2].content) == {
        "status": "uploaded",
        "total_record_count": 3,
    }


# --------------------------------------------------------------------------- 4xx


@pytest.mark.parametrize("code", [400, 409, 413, 422, 301])
def test_a_4xx_on_a_chunk_fails_that_chunk_and_the_upload_goes_on(code: int) -> None:
    waits: list[float] = []
    arthur = Arthur(accept_all, status(code, message="chunk too odd"))
    with client_for(arthur, waits, chunk_size=3) as client:
        result = client.upload(records(8))
    assert waits == []  # never retried
    assert [len(body_of(r)) for r in arthur.requests] == [3, 3, 2]
    assert (result.chunks, result.failed_chunks, result.requests, result.retries) == (3, 1, 3, 0)
    assert (result.total, result.sent, result.accepted, result.refused) == (8, 8, 5, 0)
    assert [(f.partner_inference_id, f.chunk, f.status, f.sent) for f in result.failed] == [
        (f"evt-{i}", 1, code, True) for i in (3, 4, 5)
    ]
    assert result.chunk_failures == [
        ChunkFailure(1, 3, code, f"Arthur answered {code}: chunk too odd", 1)
    ]
    assert not result.aborted
    assert_balanced(result)


def test_the_upload_stops_after_failed_chunks_in_a_row() -> None:
    arthur = Arthur(status(400), status(400))
    with client_for(arthur, chunk_size=2, abort_after_failed_chunks=2) as client:
        result = client.upload(records(7))
    assert len(arthur.requests) == 2
    assert result.aborted
    assert (result.total, result.sent, result.accepted, result.chunks, result.failed_chunks) == (
        7,
        4,
        0,
        2,
        2,
    )
    assert [f.partner_inference_id for f in result.failed if not f.sent] == ids(4, 5, 6)
    assert all(
        f.error == "not sent: the upload stopped after failed chunks"
        for f in result.failed
        if not f.sent
    )
    assert_balanced(result)


def test_a_success_resets_the_failed_chunks_in_a_row() -> None:
    arthur = Arthur(status(400), accept_all, status(400), accept_all)
    with client_for(arthur, chunk_size=1, abort_after_failed_chunks=1) as client:
        result = client.upload(records(2))
    assert result.aborted
    assert (result.accepted, len(result.failed), len(arthur.requests)) == (0, 2, 1)
    arthur = Arthur(status(400), accept_all, status(400), accept_all)
    with client_for(arthur, chunk_size=1, abort_after_failed_chunks=2) as client:
        result = client.upload(records(4))
    assert not result.aborted
    assert (result.accepted, result.failed_chunks, len(arthur.requests)) == (2, 2, 4)


@pytest.mark.parametrize(
    ("code", "hint"),
    [
        (401, "the token is missing or wrong"),
        (403, "the token lacks permission (raw_data write) for this model"),
    ],
)
def test_401_and_403_raise_auth_error_with_the_partial_result(code: int, hint: str) -> None:
    waits: list[float] = []
    arthur = Arthur(accept_all, status(503), status(code, message="denied"))
    with (
        client_for(arthur, waits, chunk_size=2) as client,
        pytest.raises(ArthurAuthError) as caught,
    ):
        client.upload(records(7))
    error = caught.value
    assert isinstance(error, ArthurAPIError)
    assert isinstance(error, CaptureError)
    assert error.status == code
    assert error.message == f"Arthur answered {code}: {hint}: denied"
    assert len(arthur.requests) == 3  # chunk 0; chunk 1, retried once after the 503; no more
    result = error.result
    assert result is not None
    assert (result.total, result.sent, result.accepted, result.chunks) == (4, 4, 2, 2)
    assert (result.requests, result.retries, result.failed_chunks) == (3, 1, 1)
    assert result.chunk_failures == [ChunkFailure(1, 2, code, error.message, 2)]
    assert [(f.partner_inference_id, f.status, f.sent) for f in result.failed] == [
        ("evt-2", code, True),
        ("evt-3", code, True),
    ]
    assert_balanced(result)


def test_404_is_an_api_error_naming_the_model() -> None:
    arthur = Arthur(status(404, message="no such model"))
    with client_for(arthur) as client, pytest.raises(ArthurAPIError) as caught:
        client.upload(records(3))
    assert not isinstance(caught.value, ArthurAuthError)
    assert caught.value.status == 404
    assert caught.value.message == f"Arthur answered 404 for model {MODEL!r}: no such model"
    assert caught.value.result is not None
    assert (caught.value.result.failed_chunks, len(caught.value.result.failed)) == (1, 3)
    assert len(arthur.requests) == 1


def test_a_message_is_read_from_detail_text_or_the_reason_phrase() -> None:
    def detail(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"detail": [{"loc": "x"}]}, request=request)

    def text(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, text="  plain words  ", request=request)

    def empty(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, request=request)

    arthur = Arthur(detail, text, empty)
    with client_for(arthur, chunk_size=1, abort_after_failed_chunks=None) as client:
        result = client.upload(records(3))
    assert [f.error for f in result.chunk_failures] == [
        'Arthur answered 400: [{"loc":"x"}]',
        "Arthur answered 400: plain words",
        "Arthur answered 400: Bad Request",
    ]


# --------------------------------------------------------------------------- 207 bodies


def test_a_207_maps_each_refusal_to_its_partner_id_and_source_line() -> None:
    arthur = Arthur(
        multi_status([200, 400, 200], messages={1: "age: not a FLOAT"}),
        multi_status([422, 200], messages={0: "score is missing"}),
    )
    with client_for(arthur, chunk_size=3) as client:
        result = client.upload(records(5))
    assert (result.total, result.accepted, result.refused, len(result.failed)) == (5, 3, 2, 0)
    assert result.refusals == [
        Refusal("evt-1", 400, "age: not a FLOAT", "capture.jsonl", 2, 0),
        Refusal("evt-3", 422, "score is missing", "capture.jsonl", 4, 1),
    ]
    assert result.warnings == []
    assert not result.ok
    assert_balanced(result)


def test_a_refusal_of_a_mapping_keeps_its_source_and_line_keys() -> None:
    row = {
        "partner_inference_id": "m-1",
        "inference_timestamp": "2024-01-19T19:27:57Z",
        "inference_data": {"age": 1.0},
        "source": "rows.json",
        "line": 12,
    }
    arthur = Arthur(multi_status([400], messages={0: {"field": "age"}}))
    with client_for(arthur) as client:
        result = client.upload([row])
    assert "source" not in body_of(arthur.requests[0])[0]
    assert result.refusals == [Refusal("m-1", 400, '{"field":"age"}', "rows.json", 12, 0)]


def test_a_207_with_too_few_results_leaves_the_rest_failed() -> None:
    arthur = Arthur(multi_status([200, 400, 200]))
    with client_for(arthur) as client:
        result = client.upload(records(4))
    assert (result.total, result.accepted, result.refused, len(result.failed)) == (4, 2, 1, 1)
    assert result.total == result.accepted + result.refused + len(result.failed)
    (failed,) = result.failed
    assert (failed.partner_inference_id, failed.line_number, failed.status, failed.chunk) == (
        "evt-3",
        4,
        207,
        0,
    )
    assert failed.error == "sent, but Arthur's answer has no usable result for it (missing)"
    assert result.warnings == ["chunk 0: Arthur returned 3 result(s) for 4 record(s)"]
    assert not result.ok


def test_a_207_with_too_many_results_warns_and_pins_none_on_a_record() -> None:
    arthur = Arthur(multi_status([200, 200, 400]))
    with client_for(arthur) as client:
        result = client.upload(records(2))
    assert (result.total, result.accepted, result.refused, len(result.failed)) == (2, 2, 0, 0)
    # (a second warning follows: the counts check only sees the results pinned on records)
    assert result.warnings[0] == "chunk 0: Arthur returned 3 result(s) for 2 record(s)"
    assert_balanced(result)
    assert not result.ok


def test_counts_that_disagree_with_the_results_are_a_warning_not_a_verdict() -> None:
    arthur = Arthur(
        multi_status([200, 400, 200], counts={"success": 3, "failure": 0, "total": 3}),
        multi_status([200]),
    )
    with client_for(arthur, chunk_size=3) as client:
        result = client.upload(records(4))
    assert (result.accepted, result.refused, len(result.failed)) == (3, 1, 0)
    disagree = "chunk 0: Arthur's counts disagree with its results: "
    assert result.warnings == [f"{disagree}success=3 (results say 2), failure=0 (results say 1)"]
    assert_balanced(result)


@pytest.mark.parametrize(
    ("results", "error"),
    [
        (["yes"], "not an object"),
        ([{"status": "200"}], "status '200' is not an integer"),
        ([{"status": True}], "status True is not an integer"),
        ([{"message": "lost"}], "status None is not an integer"),
        ([None], "missing"),
    ],
)
def test_an_unusable_result_leaves_its_record_failed(results: list[Any], error: str) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        counts = {"success": 0, "failure": 0, "total": 1}
        return httpx.Response(207, json={"counts": counts, "results": results}, request=request)

    with client_for(Arthur(answer)) as client:
        result = client.upload(records(1))
    assert (result.total, result.accepted, result.refused, len(result.failed)) == (1, 0, 0, 1)
    assert result.failed[0].error == (
        f"sent, but Arthur's answer has no usable result for it ({error})"
    )
    assert result.failed[0].sent
    assert result.warnings == []


@pytest.mark.parametrize(
    "answer",
    [
        {"counts": {"success": 2, "failure": 0, "total": 2}},
        {"results": "all fine"},
        None,  # an empty 200
        "not json",
    ],
    ids=["no-results", "results-not-a-list", "empty", "not-json"],
)
def test_a_2xx_without_a_results_list_confirms_nothing(answer: Any) -> None:
    def respond(request: httpx.Request) -> httpx.Response:
        if answer is None:
            return httpx.Response(200, request=request)
        if isinstance(answer, str):
            return httpx.Response(200, text=answer, request=request)
        return httpx.Response(207, json=answer, request=request)

    with client_for(Arthur(respond), chunk_size=2) as client:
        result = client.upload(records(3))
    code = 200 if answer is None or isinstance(answer, str) else 207
    # chunk 0 (evt-0, evt-1) is unconfirmed; chunk 1 (evt-2) is settled normally
    assert (result.total, result.accepted, result.refused, len(result.failed)) == (3, 1, 0, 2)
    assert result.failed == [
        FailedRecord(
            f"evt-{i}",
            "capture.jsonl",
            i + 1,
            "sent, but Arthur's answer has no per-record result",
            code,
            0,
            sent=True,
        )
        for i in (0, 1)
    ]
    assert result.warnings == [
        f"chunk 0: Arthur answered {code} without a results list; its records are unconfirmed"
    ]


def test_a_207_without_counts_is_a_warning() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(207, json={"results": [{"status": 200}]}, request=request)

    with client_for(Arthur(answer)) as client:
        result = client.upload(records(1))
    assert (result.accepted, result.warnings) == (1, ["chunk 0: Arthur's answer has no counts"])


# --------------------------------------------------------------------------- duplicates


@pytest.mark.parametrize(
    ("first", "duplicate"),
    [
        (raises(httpx.ReadTimeout), True),
        (raises(httpx.WriteTimeout), True),
        (raises(httpx.RemoteProtocolError), True),
        (raises(httpx.ReadError), True),
        (status(500), True),
        (status(502), True),
        (status(504), True),
        (raises(httpx.ConnectTimeout), False),
        (raises(httpx.PoolTimeout), False),
        (raises(httpx.ConnectError), False),
        (status(503), False),
        (status(429), False),
    ],
    ids=[
        "read-timeout",
        "write-timeout",
        "protocol-error",
        "read-error",
        "500",
        "502",
        "504",
        "connect-timeout",
        "pool-timeout",
        "connect-error",
        "503",
        "429",
    ],
)
def test_a_retry_after_a_possibly_lost_answer_lists_the_chunk_as_possible_duplicates(
    first: Callable[[httpx.Request], httpx.Response], duplicate: bool
) -> None:
    arthur = Arthur(accept_all, first)
    with client_for(arthur, chunk_size=3) as client:
        result = client.upload(records(8))
    assert len(arthur.requests) == 4
    assert arthur.ids(1) == arthur.ids(2) == ids(3, 4, 5)
    assert (result.accepted, result.requests, result.retries, result.chunks) == (8, 4, 1, 3)
    assert result.possible_duplicates == (ids(3, 4, 5) if duplicate else [])
    assert result.ok is not duplicate
    assert_balanced(result)


def test_a_chunk_that_fails_after_a_lost_answer_is_failed_and_a_possible_duplicate() -> None:
    arthur = Arthur(raises(httpx.ReadTimeout), status(503), status(503))
    policy = RetryPolicy(attempts=3, jitter=0.0)
    with client_for(arthur, retry=policy, chunk_size=2) as client:
        result = client.upload(records(2))
    assert (result.failed_chunks, len(result.failed), result.accepted) == (1, 2, 0)
    assert result.possible_duplicates == ids(0, 1)
    assert "gave up after 3 attempt(s)" in result.chunk_failures[0].error
    assert_balanced(result)


def test_a_single_attempt_cannot_duplicate() -> None:
    arthur = Arthur(raises(httpx.ReadTimeout))
    with client_for(arthur, retry=RetryPolicy(attempts=1)) as client:
        result = client.upload(records(2))
    assert (result.failed_chunks, result.requests, result.retries) == (1, 1, 0)
    assert result.chunk_failures[0].status is None
    assert result.chunk_failures[0].error == (
        "chunk 0 (2 records): timed out waiting for Arthur (ReadTimeout) "
        "(gave up after 1 attempt(s))"
    )
    assert result.possible_duplicates == []


def test_ground_truth_retried_after_a_lost_answer_is_not_a_duplicate() -> None:
    updates = [
        {
            "partner_inference_id": f"evt-{i}",
            "ground_truth_timestamp": WHEN,
            "ground_truth_data": {"label": i},
            "inference_data": {"dropped": True},  # not a ground-truth field: not sent
        }
        for i in range(2)
    ]
    arthur = Arthur(status(500))
    with client_for(arthur) as client:
        result = client.send_ground_truth(updates)
    assert [r.method for r in arthur.requests] == ["PATCH", "PATCH"]
    assert body_of(arthur.requests[1])[0] == {
        "partner_inference_id": "evt-0",
        "ground_truth_timestamp": "2024-01-19T19:27:57+00:00",
        "ground_truth_data": {"label": 0},
    }
    assert (result.accepted, result.retries, result.possible_duplicates) == (2, 1, [])
    assert result.ok


def test_a_retried_file_upload_resends_the_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "rows.parquet"
    path.write_bytes(b"PAR1" + bytes(range(256)) * 8 + b"PAR1")
    arthur = Arthur(raises(httpx.ReadTimeout))
    with client_for(arthur) as client:
        answer = client.upload_file(path, batch_id="b-2")
    assert len(arthur.requests) == 2
    for request in arthur.requests:
        assert request.url.path == f"/api/v3/models/{MODEL}/inferences/file"
        assert path.read_bytes() in request.content
        assert b'name="batch_id"' in request.content
    assert (answer.status, answer.attempts, answer.possible_duplicate) == (207, 2, True)
    assert not answer.ok


# --------------------------------------------------------------------------- the token


def test_the_token_never_appears_in_a_message_repr_or_result(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)

    def echo(code: int) -> Callable[[httpx.Request], httpx.Response]:
        def answer(request: httpx.Request) -> httpx.Response:
            said = f"you sent {request.headers['Authorization']}"
            return httpx.Response(code, json={"message": said}, request=request)

        return answer

    def echo_207(request: httpx.Request) -> httpx.Response:
        said = f"bad token {request.headers['Authorization']}"
        results = [{"status": 400, "message": said}, {"status": 200, "message": said}]
        counts = {"success": request.headers["Authorization"], "failure": 1, "total": 2}
        return httpx.Response(207, json={"counts": counts, "results": results}, request=request)

    def echo_drop(request: httpx.Request) -> httpx.Response:
        raise httpx.RemoteProtocolError(f"peer said {request.headers['Authorization']}")

    arthur = Arthur(echo(503), echo_drop, echo_207, echo(400), echo(401))
    texts: list[str] = []
    with client_for(arthur, chunk_size=2, abort_after_failed_chunks=None) as client:
        with pytest.raises(ArthurAuthError) as caught:
            client.upload(records(6))
        texts += [repr(client), str(vars(client))]
    assert all(r.headers["Authorization"] == TOKEN for r in arthur.requests)  # it was sent
    error = caught.value
    result = error.result
    assert result is not None
    assert (result.accepted, result.refused, result.failed_chunks, result.retries) == (1, 1, 2, 2)
    assert (len(result.warnings), len(result.failed)) == (1, 4)
    texts += [str(error), repr(error), error.message, repr(result), str(result.summary())]
    texts += [r.message for r in result.refusals]
    texts += [f.error for f in result.failed]
    texts += [c.error for c in result.chunk_failures]
    texts += result.warnings
    texts += [caplog.text, *(r.getMessage() for r in caplog.records)]
    assert "***" in result.refusals[0].message
    assert "***" in result.warnings[0]
    assert "***" in result.chunk_failures[0].error
    for text in texts:
        assert TOKEN not in text
