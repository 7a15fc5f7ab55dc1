"""The uploader's retry and settlement rules, one by one, through ``httpx.MockTransport``.

No socket and no real sleep: each test scripts Arthur's answers request by request, records
the waits the client asks for, and checks the exact counts of the result. The end-to-end
behaviour over real HTTP is in ``test_client.py`` (against the local Arthur server).
"""

from __future__ import annotations

import gzip
import json
import logging
import math
import zlib
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
from arthur_capture.arthur._transport import RedactingFilter
from arthur_capture.arthur.errors import (
    ArthurAPIError,
    ArthurAuthError,
    ArthurUnavailableError,
    UploadInterrupted,
)
from arthur_capture.errors import CaptureError
from tests.helpers import upload_record

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from arthur_capture.records import InferenceRecord

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
    return upload_record(i)


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
    # evt-4 was read to close chunk 1: it is in the account, as not sent
    assert (result.total, result.sent, result.accepted, result.chunks) == (5, 4, 2, 2)
    assert (result.requests, result.retries, result.failed_chunks) == (3, 1, 1)
    assert result.chunk_failures == [ChunkFailure(1, 2, code, error.message, 2)]
    assert [(f.partner_inference_id, f.status, f.kind) for f in result.failed] == [
        ("evt-2", code, "failed"),
        ("evt-3", code, "failed"),
        ("evt-4", None, "not sent"),
    ]
    assert result.failed[2].error == f"not sent: {error.message}"
    assert result.stopped == error.message
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
            possibly_stored=True,  # a 2xx: Arthur may well hold them
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


# --------------------------------------------------------------------------- hostile answers


class Stream(httpx.SyncByteStream):
    """A response body given piece by piece; counts the pieces the client pulled."""

    def __init__(self, pieces: Any, *, clock: list[float] | None = None, tick: float = 0.0):
        self.pieces = pieces
        self.pulled = 0
        self.clock = clock
        self.tick = tick

    def __iter__(self) -> Any:
        for piece in self.pieces:
            self.pulled += 1
            if self.clock is not None:
                self.clock[0] += self.tick
            yield piece


def streamed(
    code: int, stream: Stream, headers: dict[str, str] | None = None
) -> Callable[[httpx.Request], httpx.Response]:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(code, headers=headers, stream=stream, request=request)

    return answer


def raw(
    code: int, body: bytes, headers: dict[str, str] | None = None, reason: bytes | None = None
) -> Callable[[httpx.Request], httpx.Response]:
    """An answer whose body bytes are given as sent (httpx does not decode them first)."""
    extensions = {"reason_phrase": reason} if reason is not None else {}
    return (
        streamed(code, Stream([body]), headers)
        if not extensions
        else _with_reason(code, body, headers, extensions)
    )


def _with_reason(
    code: int, body: bytes, headers: dict[str, str] | None, extensions: dict[str, Any]
) -> Callable[[httpx.Request], httpx.Response]:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            code, headers=headers, stream=Stream([body]), request=request, extensions=extensions
        )

    return answer


def deep(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = [value]
    return value


def test_a_207_whose_gzip_is_corrupt_leaves_its_records_possibly_stored() -> None:
    arthur = Arthur(raw(207, b"\x1f\x8b\x08\x00garbage, not deflate", {"Content-Encoding": "gzip"}))
    with client_for(arthur, chunk_size=2) as client:
        result = client.upload(records(3))  # httpx.DecodingError escaped here before
    assert len(arthur.requests) == 2  # never re-sent: the 207 says Arthur took it
    assert (result.accepted, len(result.possibly_stored), len(result.failed)) == (1, 2, 2)
    assert result.failed[0].error.startswith(
        "sent, but Arthur's answer could not be read: its gzip data is corrupt"
    )
    assert (result.failed[0].status, result.failed[0].chunk) == (207, 0)
    assert result.warnings[0].startswith("chunk 0: Arthur answered 207 but its answer could not")
    assert_balanced(result)


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "raw-deflate"])
def test_compressed_answers_are_read(encoding: str) -> None:
    document = json.dumps(
        {
            "counts": {"success": 2, "failure": 0, "total": 2},
            "results": [{"status": 200, "message": "ok"}, {"status": 200, "message": "ok"}],
        }
    ).encode()
    if encoding == "gzip":
        body = gzip.compress(document)
    elif encoding == "deflate":
        body = zlib.compress(document)
    else:
        squeeze = zlib.compressobj(wbits=-zlib.MAX_WBITS)
        body = squeeze.compress(document) + squeeze.flush()
    header = "gzip" if encoding == "gzip" else "deflate"
    arthur = Arthur(streamed(207, Stream([body[:7], body[7:]]), {"Content-Encoding": header}))
    with client_for(arthur) as client:
        result = client.upload(records(2))
    assert arthur.requests[0].headers["Accept-Encoding"] == "gzip, deflate"
    assert result.ok


@pytest.mark.parametrize("encoding", ["br", "gzip, gzip", "zstd"])
def test_an_answer_in_an_encoding_not_asked_for_is_unconfirmed(encoding: str) -> None:
    arthur = Arthur(raw(207, b"\x00\x01\x02", {"Content-Encoding": encoding}))
    with client_for(arthur) as client:
        result = client.upload(records(2))
    assert len(result.possibly_stored) == 2
    assert "is not gzip or deflate" in result.failed[0].error


def test_a_gzip_bomb_stops_at_the_cap_on_decoded_bytes() -> None:
    squeeze = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    zeros = bytes(1024 * 1024)
    pieces = (squeeze.compress(zeros) + squeeze.flush(zlib.Z_FULL_FLUSH) for _ in range(4096))
    stream = Stream(pieces)  # 4 GiB once decoded, about 4 MB as sent
    arthur = Arthur(streamed(207, stream, {"Content-Encoding": "gzip"}))
    with client_for(arthur, max_response_bytes=2 * 1024 * 1024) as client:
        result = client.upload(records(2))
    assert stream.pulled <= 3  # the third mebibyte crosses the cap: the rest is never pulled
    assert result.failed[0].error == (
        "sent, but Arthur's answer could not be read: it is longer than 2097152 bytes"
    )
    assert (len(result.possibly_stored), len(arthur.requests)) == (2, 1)


def test_an_answer_over_the_cap_is_not_read_further() -> None:
    stream = Stream(b"x" * 65536 for _ in range(512))  # 32 MiB offered
    arthur = Arthur(streamed(207, stream), streamed(500, Stream(b"y" * 65536 for _ in range(512))))
    with client_for(arthur, chunk_size=2, max_response_bytes=1024 * 1024) as client:
        result = client.upload(records(4))
    assert stream.pulled == 17  # 1 MiB, and the piece that passes it
    assert "it is longer than 1048576 bytes" in result.failed[0].error
    assert len(result.possibly_stored) == 2
    # an error answer is read to the cap too; its status stands (a 500: retried, flagged)
    assert (result.accepted, result.retries, result.possible_duplicates) == (2, 1, ids(2, 3))
    assert_balanced(result)


def test_the_request_deadline_cuts_an_answer_that_drips() -> None:
    clock = [0.0]
    drip = Stream((b"{" if i == 0 else b" " for i in range(1000)), clock=clock, tick=1.0)
    arthur = Arthur(streamed(207, drip))
    with client_for(arthur, request_deadline=5.0, clock=lambda: clock[0]) as client:
        result = client.upload(records(2))
    assert drip.pulled == 6  # one piece past the deadline, then no more
    assert result.failed[0].error == (
        "sent, but Arthur's answer could not be read: it did not arrive within the request deadline"
    )
    assert (len(result.possibly_stored), len(arthur.requests)) == (2, 1)


def test_an_error_answer_cut_by_the_deadline_keeps_its_status() -> None:
    clock = [0.0]
    drip = Stream((b"slow" for _ in range(1000)), clock=clock, tick=1.0)
    arthur = Arthur(streamed(400, drip))
    with client_for(arthur, request_deadline=3.0, clock=lambda: clock[0]) as client:
        result = client.upload(records(1))
    (failure,) = result.chunk_failures
    assert failure.status == 400
    assert failure.error == (
        "Arthur answered 400: slowslowslowslow (the answer was not read whole: it did not "
        "arrive within the request deadline)"
    )


def test_a_connection_lost_while_a_207_streams_leaves_it_possibly_stored() -> None:
    def pieces() -> Any:
        yield b'{"counts": {"success": 2'
        raise httpx.ReadError("connection reset by peer")

    arthur = Arthur(streamed(207, Stream(pieces())))
    with client_for(arthur) as client:
        result = client.upload(records(2))
    assert len(arthur.requests) == 1
    assert result.failed[0].error == (
        "sent, but Arthur's answer could not be read: the connection failed while it was read "
        "(ReadError)"
    )
    assert len(result.possibly_stored) == 2


@pytest.mark.parametrize("code", [500, 400])
def test_deep_json_in_an_error_answer_is_text_not_a_recursion_error(code: int) -> None:
    arthur = Arthur(raw(code, b"[" * 100_000))
    with client_for(arthur, chunk_size=1) as client:
        result = client.upload(records(2))  # RecursionError escaped here before
    if code == 500:  # retried; flagged, since a 500 may have stored it
        assert (result.accepted, result.possible_duplicates) == (2, ids(0))
    else:
        assert result.chunk_failures[0].error == "Arthur answered 400: " + "[" * 500
    assert_balanced(result)


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"[" * 100_000, "its JSON nests deeper than 32 levels"),
        (json.dumps({"results": deep(40)}).encode(), "its JSON nests deeper than 32 levels"),
    ],
    ids=["orjson-limit", "our-limit"],
)
def test_a_207_nested_too_deep_is_unconfirmed(body: bytes, error: str) -> None:
    arthur = Arthur(raw(207, body))
    with client_for(arthur) as client:
        result = client.upload(records(2))
    assert result.failed[0].error == f"sent, but Arthur's answer could not be read: {error}"
    assert len(result.possibly_stored) == 2


def test_deep_values_within_the_limit_are_shown_safely() -> None:
    entry = {"status": deep(25), "message": deep(25)}
    body = {
        "counts": {"success": deep(25), "failure": 0, "total": 2},
        "results": [{"status": 400, "message": deep(25)}, entry],
    }
    arthur = Arthur(raw(207, json.dumps(body).encode()))
    with client_for(arthur) as client:
        result = client.upload(records(2))
    assert result.refusals[0].message == "[" * 25 + "1" + "]" * 25
    assert result.failed[0].error.startswith(
        "sent, but Arthur's answer has no usable result for it (status [[[["
    )
    assert_balanced(result)


@pytest.mark.parametrize(
    "error",
    [
        httpx.DecodingError,
        httpx.TooManyRedirects,
        httpx.UnsupportedProtocol,
        httpx.LocalProtocolError,
        httpx.ProxyError,
        httpx.ReadError,
        httpx.WriteError,
        httpx.RemoteProtocolError,
        httpx.NetworkError,
        httpx.TransportError,
        httpx.RequestError,
    ],
)
def test_every_error_of_the_http_stack_is_the_librarys_own(error: type[httpx.HTTPError]) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise error("scripted", request=request)  # type: ignore[call-arg]

    arthur = Arthur(fail, fail)
    with client_for(arthur, retry=RetryPolicy(attempts=2, jitter=0.0)) as client:
        result = client.upload(records(2))
        batch = Arthur(fail, fail)
    assert (result.failed_chunks, len(result.possibly_stored)) == (1, 2)  # sent: may be stored
    assert error.__name__ in result.chunk_failures[0].error
    with (
        client_for(batch, retry=RetryPolicy(attempts=2, jitter=0.0)) as client,
        pytest.raises(ArthurUnavailableError),
    ):
        client.close_batch("b-1", 2)


@pytest.mark.parametrize("error", [httpx.StreamClosed, httpx.ResponseNotRead])
def test_a_stream_error_is_the_librarys_own_too(error: type[httpx.StreamError]) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise error()  # type: ignore[call-arg]

    with client_for(Arthur(fail), retry=RetryPolicy(attempts=1)) as client:
        result = client.upload(records(1))
    assert result.failed_chunks == 1


# --------------------------------------------------------------------------- redaction


LONG_TOKEN = "tok-" + "Q7vZ2kLmN8pR4sT6wX1yB3cD5eF9gH0jK" * 2


def long_client(arthur: Arthur, **options: Any) -> ArthurClient:
    options.setdefault("retry", NO_JITTER)
    return ArthurClient(
        HOST, LONG_TOKEN, MODEL, transport=httpx.MockTransport(arthur), sleep=_no_wait, **options
    )


def _no_wait(seconds: float) -> None:
    pass


def no_piece(text: str) -> bool:
    return not any(LONG_TOKEN[i : i + 8] in text for i in range(len(LONG_TOKEN) - 7))


def test_a_token_at_character_488_is_redacted_before_the_message_is_cut(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    echoed = "x" * 488 + LONG_TOKEN + " was sent"
    arthur = Arthur(
        multi_status([400, 200], messages={0: echoed}),
        status(400, message=echoed),
        raw(400, echoed.encode(), {"Content-Type": "text/plain"}),
        status(503, message=echoed),
    )
    with long_client(arthur, chunk_size=2, abort_after_failed_chunks=None) as client:
        result = client.upload(records(8))
    # cut at character 500 of Arthur's text; the token that straddles the cut is *** whole
    assert result.refusals[0].message == "x" * 488 + "***"
    assert [f.error for f in result.chunk_failures] == [
        "Arthur answered 400: " + "x" * 488 + "***",
        "Arthur answered 400: " + "x" * 488 + "***",
    ]
    texts = [repr(result), caplog.text, *(r.getMessage() for r in caplog.records)]
    assert all(no_piece(t) for t in texts)
    assert "x" * 488 + "***" in caplog.text  # the 503's retry warning


def test_a_piece_of_the_token_is_redacted_too() -> None:
    cut_by_the_server = "bad credentials: " + LONG_TOKEN[:20]
    middle = "token " + LONG_TOKEN[10:30] + "…"
    arthur = Arthur(multi_status([400, 400], messages={0: cut_by_the_server, 1: middle}))
    with long_client(arthur) as client:
        result = client.upload(records(2))
    assert [r.message for r in result.refusals] == ["bad credentials: ***", "token ***…"]


def test_a_token_in_the_reason_phrase_or_headers_is_never_logged_or_shown(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    reason = b"Denied " + LONG_TOKEN.encode()
    arthur = Arthur(raw(400, b"", {"X-Echo": LONG_TOKEN}, reason=reason))
    with long_client(arthur) as client:
        result = client.upload(records(1))
    assert result.chunk_failures[0].error == "Arthur answered 400: Denied ***"
    assert "HTTP Request: POST" in caplog.text  # httpx logged the status line…
    assert no_piece(caplog.text)  # …redacted
    assert all(no_piece(r.getMessage()) for r in caplog.records)


def test_the_log_filter_goes_with_the_client() -> None:
    client = long_client(Arthur())
    assert any(isinstance(f, RedactingFilter) for f in logging.getLogger("httpx").filters)
    client.close()
    assert not any(isinstance(f, RedactingFilter) for f in logging.getLogger("httpx").filters)


# --------------------------------------------------------------------------- IDs and options


@pytest.mark.parametrize(
    ("model_id", "fragment"),
    [
        ("", "is empty"),
        (".", "is not an ID"),
        ("..", "is not an ID"),
        ("a/b", "'/' or a backslash"),
        ("..\\x", "'/' or a backslash"),
        ("a\x00b", "control or non-printable"),
        ("a\nb", "control or non-printable"),
        ("a\u200bb", "control or non-printable"),
        (" m", "whitespace"),
        ("m" * 1025, "longer than 1024"),
    ],
)
def test_a_model_id_that_would_change_the_path_is_refused(model_id: str, fragment: str) -> None:
    with pytest.raises(ValueError, match="model ID") as caught:
        ArthurClient(HOST, TOKEN, model_id)
    assert fragment in str(caught.value)


@pytest.mark.parametrize("batch_id", ["", ".", "..", "x/..", "a\tb"])
def test_a_batch_id_that_would_change_the_path_is_refused(batch_id: str) -> None:
    arthur = Arthur()
    with client_for(arthur) as client, pytest.raises(ValueError, match="batch ID"):
        client.close_batch(batch_id, 1)
    assert arthur.requests == []


def test_ids_are_quoted_as_one_path_segment_each() -> None:
    arthur = Arthur()
    odd = "a b%?#;é"
    with ArthurClient(HOST, TOKEN, odd, transport=httpx.MockTransport(arthur)) as client:
        client.upload(records(1))
        client.close_batch(odd, 1)
    quoted = "a%20b%25%3F%23%3B%C3%A9"
    assert arthur.requests[0].url.raw_path == f"/api/v3/models/{quoted}/inferences".encode()
    assert arthur.requests[1].url.raw_path == f"/api/v3/models/{quoted}/batches/{quoted}".encode()


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, 0.0, -1.0])
def test_seconds_must_be_positive_and_finite(value: float) -> None:
    with pytest.raises(ValueError, match="timeout"):
        ArthurClient(HOST, TOKEN, MODEL, timeout=value)
    with pytest.raises(ValueError, match=r"timeout\.read"):
        ArthurClient(HOST, TOKEN, MODEL, timeout=httpx.Timeout(10.0, read=value))
    with pytest.raises(ValueError, match="request_deadline"):
        ArthurClient(HOST, TOKEN, MODEL, request_deadline=value)
    if value != 0.0:
        with pytest.raises(ValueError, match="RetryPolicy"):
            RetryPolicy(initial=value)
    with pytest.raises(ValueError, match="max_elapsed"):
        RetryPolicy(max_elapsed=value)


def test_other_options_are_checked() -> None:
    with pytest.raises(ValueError, match="max_response_bytes"):
        ArthurClient(HOST, TOKEN, MODEL, max_response_bytes=100)
    with pytest.raises(ValueError, match="organization ID"):
        ArthurClient(HOST, TOKEN, MODEL, organization_id="org\u00e9")
    with pytest.raises(ValueError, match="attempts"):
        RetryPolicy(attempts=2.5)  # type: ignore[arg-type]
    with ArthurClient(HOST, TOKEN, MODEL, request_deadline=None) as client:
        assert client.request_deadline is None


# --------------------------------------------------------------------------- stopping early


def test_an_interrupt_in_flight_leaves_that_chunk_possibly_stored() -> None:
    def interrupt(request: httpx.Request) -> httpx.Response:
        raise KeyboardInterrupt

    arthur = Arthur(accept_all, interrupt)
    with client_for(arthur, chunk_size=2) as client, pytest.raises(UploadInterrupted) as caught:
        client.upload(records(7))
    assert isinstance(caught.value, KeyboardInterrupt)
    assert type(caught.value.__cause__) is KeyboardInterrupt
    result = caught.value.result
    # chunk 0 accepted; chunk 1 in flight; evt-4, read to close chunk 1, not sent; 5-6 unread
    assert (result.total, result.accepted, result.stopped) == (5, 2, "the upload was interrupted")
    assert [(f.partner_inference_id, f.kind) for f in result.failed] == [
        ("evt-2", "possibly stored"),
        ("evt-3", "possibly stored"),
        ("evt-4", "not sent"),
    ]
    assert result.failed[0].error == (
        "sent when the upload was interrupted; its answer was not read"
    )
    assert result.failed[2].error == "not sent: the upload was interrupted"
    assert_balanced(result)


def test_an_interrupt_while_reading_the_records_leaves_no_record_out() -> None:
    def produce() -> Any:
        yield from records(5)
        raise KeyboardInterrupt

    invalid = {"partner_inference_id": "bad", "inference_timestamp": "no", "inference_data": {}}
    with client_for(Arthur(), chunk_size=2) as client, pytest.raises(UploadInterrupted) as caught:
        client.upload(_then(produce(), invalid))
    result = caught.value.result
    assert (result.total, result.accepted) == (5, 4)
    assert [(f.partner_inference_id, f.kind) for f in result.failed] == [("evt-4", "not sent")]
    assert_balanced(result)


def _then(first: Any, *more: Any) -> Any:
    yield from first
    yield from more


def test_an_interrupt_between_chunks_or_while_waiting_to_retry() -> None:
    seen: list[int] = []

    def progress(n: int) -> None:
        seen.append(n)
        if len(seen) == 2:
            raise KeyboardInterrupt

    with client_for(Arthur(), chunk_size=2) as client, pytest.raises(UploadInterrupted) as caught:
        client.upload(records(7), progress=progress)
    result = caught.value.result
    assert (result.total, result.accepted, len(result.not_sent)) == (5, 4, 1)
    assert result.possibly_stored == []  # no chunk was in flight

    def sleep(seconds: float) -> None:
        raise KeyboardInterrupt

    arthur = Arthur(raises(httpx.ReadTimeout))
    client = ArthurClient(HOST, TOKEN, MODEL, transport=httpx.MockTransport(arthur), sleep=sleep)
    with client, pytest.raises(UploadInterrupted) as caught:
        client.upload(records(2))
    assert [f.kind for f in caught.value.result.failed] == ["possibly stored"] * 2


def test_an_error_of_the_records_is_raised_with_the_account_noted() -> None:
    def produce() -> Any:
        yield from records(3)
        raise OSError("the disk went away")

    with client_for(Arthur(), chunk_size=2) as client, pytest.raises(OSError) as caught:
        client.upload(produce())
    (note,) = caught.value.__notes__
    assert note.startswith("arthur_capture: the upload stopped; its account: {'total': 3,")
    assert "'accepted': 2" in note


def test_a_file_upload_whose_answer_cannot_be_read_is_not_ok(tmp_path: Path) -> None:
    path = tmp_path / "rows.parquet"
    path.write_bytes(b"PAR1")
    arthur = Arthur(raw(207, b"[" * 5000), raw(201, b""))
    with client_for(arthur) as client:
        unreadable = client.upload_file(path)
        empty = client.upload_file(path)
    assert unreadable.unconfirmed == "its JSON nests deeper than 32 levels"
    assert not unreadable.ok
    assert (empty.status, empty.unconfirmed, empty.ok) == (201, None, True)
