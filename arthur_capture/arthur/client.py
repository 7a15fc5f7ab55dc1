"""Send inferences to Arthur's v3 API: chunked, retried, and accounted for record by record.

Install with ``pip install 'arthur-capture[arthur]'`` (httpx, tenacity, tqdm, pyarrow). This
module is not imported by ``import arthur_capture``; import it yourself::

    from arthur_capture.arthur import ArthurClient

    with ArthurClient("https://app.arthur.ai", token, model_id) as client:
        result = client.upload(records, batch_id="2024-01-19")
    for refusal in result.refusals:
        print(refusal.partner_inference_id, refusal.status, refusal.message)

What it guarantees:

- Every record handed to :meth:`ArthurClient.upload` ends in exactly one bucket of the
  :class:`UploadResult`: accepted, refused by Arthur (:class:`Refusal`, with its source and
  line), or failed (:class:`FailedRecord`: its chunk failed after the retries, Arthur's
  answer had no result for it, it was invalid and not sent, or the upload stopped before it).
  ``total == accepted + refused + len(failed)``.
- 5xx, 429, timeouts and connection errors are retried with exponential backoff and jitter
  (``Retry-After`` honoured); other 4xx answers never are.
- The token is held in a :class:`~arthur_capture._secret.Secret`: it never appears in a
  log line, an exception, a ``repr`` or a result.

Duplicates: Arthur has no idempotency key. When a POST is retried after a read timeout, a
dropped connection or a 500/502/504, Arthur may already have stored the first copy; the
records of such chunks are listed in :attr:`UploadResult.possible_duplicates`. Ground-truth
updates (``PATCH``) are idempotent and do not count there.

Error tree (under :class:`~arthur_capture.CaptureError`)::

    ArthurError(CaptureError)
    ├── ArthurAPIError            Arthur answered with a status that is not retried
    │   └── ArthurAuthError       401 or 403: the token is wrong or lacks permission
    └── ArthurUnavailableError    (also ConnectionError) retries ran out
"""

from __future__ import annotations

import email.utils
import itertools
import logging
import math
import random
import time
import urllib.parse
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Final, Self

import httpx
import orjson
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
    stop_any,
)

from arthur_capture._json import dumps_json
from arthur_capture.arthur._secret import REDACTED, Secret
from arthur_capture.arthur.contract import (
    GROUND_TRUTH_FIELDS,
    NEW_INFERENCE_FIELDS,
    new_inference,
    object_problem,
)
from arthur_capture.errors import (
    ArthurAPIError,
    ArthurAuthError,
    ArthurError,
    ArthurUnavailableError,
)
from arthur_capture.records import InferenceRecord

if TYPE_CHECKING:
    import ssl
    from collections.abc import Callable, Generator, Iterable, Iterator, Mapping

    from tenacity.stop import stop_base

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "MAX_CHUNK_SIZE",
    "ArthurAPIError",
    "ArthurAuthError",
    "ArthurClient",
    "ArthurError",
    "ArthurUnavailableError",
    "ChunkFailure",
    "FailedRecord",
    "FileUploadResult",
    "Refusal",
    "RetryPolicy",
    "Secret",
    "UploadResult",
]

logger = logging.getLogger(__name__)

DEFAULT_CHUNK_SIZE: Final = 1000
"""Records per ``POST /inferences`` request unless told otherwise."""
MAX_CHUNK_SIZE: Final = 10_000
"""The largest chunk allowed: a tenth of Arthur's "fewer than 100,000 rows" guidance."""
DEFAULT_MAX_CHUNK_BYTES: Final = 32 * 1024 * 1024
"""A chunk is also cut before its JSON body passes this size (one record is always sent)."""
DEFAULT_TIMEOUT: Final = httpx.Timeout(120.0, connect=10.0)
"""Per request: 10 s to connect, 120 s for each read, write or pool wait."""

_MAX_MESSAGE: Final = 500
_AMBIGUOUS_STATUSES: Final = frozenset({500, 502, 504})
"""5xx answers after which Arthur may have stored the records anyway."""


# --------------------------------------------------------------------------- errors


# --------------------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class Refusal:
    """An inference Arthur refused, with where it came from."""

    partner_inference_id: str
    """The record's partner inference ID (Arthur does not echo it; re-attached by position)."""
    status: int
    """Arthur's per-record status (4xx: the data; 5xx: Arthur's side)."""
    message: str
    """Arthur's message for the record."""
    source: str | None
    """The capture file the record came from, when known."""
    line_number: int | None
    """Its 1-based line number in the source, when known."""
    chunk: int
    """0-based number of the request that carried it."""


@dataclass(frozen=True, slots=True)
class FailedRecord:
    """A record whose fate is not known to be accepted or refused: it must be looked at."""

    partner_inference_id: str
    """The record's partner inference ID ("" when the record had none)."""
    source: str | None
    """The capture file the record came from, when known."""
    line_number: int | None
    """Its 1-based line number in the source, when known."""
    error: str
    """What happened: the chunk's last error, "not sent: …", or a missing result."""
    status: int | None
    """The last HTTP status of its request, when there was one."""
    chunk: int | None
    """0-based number of its request; ``None`` when it was never sent."""
    sent: bool
    """Whether the record was sent at least once."""


@dataclass(frozen=True, slots=True)
class ChunkFailure:
    """A request that failed as a whole; its records are in :attr:`UploadResult.failed`."""

    chunk: int
    """0-based number of the request."""
    records: int
    """How many records it carried."""
    status: int | None
    """The last HTTP status, or ``None`` when no answer came (timeout, connection)."""
    error: str
    """The last error."""
    attempts: int
    """How many times it was sent."""


@dataclass(slots=True)
class UploadResult:
    """The account of one upload (or ground-truth update)."""

    total: int = 0
    """Records handed over."""
    sent: int = 0
    """Records sent in at least one request."""
    accepted: int = 0
    """Records Arthur accepted (per-record 2xx)."""
    refused: int = 0
    """Records Arthur refused (per-record non-2xx); each is in :attr:`refusals`."""
    requests: int = 0
    """HTTP requests made, retries included."""
    retries: int = 0
    """Of those, retries."""
    chunks: int = 0
    """Chunks (logical requests) attempted."""
    failed_chunks: int = 0
    """Chunks that failed as a whole; each is in :attr:`chunk_failures`."""
    refusals: list[Refusal] = field(default_factory=list)
    """The records Arthur refused."""
    failed: list[FailedRecord] = field(default_factory=list)
    """Records neither accepted nor refused: failed chunks, no result, invalid, not reached."""
    chunk_failures: list[ChunkFailure] = field(default_factory=list)
    """The chunks that failed as a whole."""
    possible_duplicates: list[str] = field(default_factory=list)
    """Partner IDs re-sent after an answer that may have been lost (timeout, dropped
    connection, 500/502/504): Arthur may hold them twice."""
    warnings: list[str] = field(default_factory=list)
    """Disagreements in Arthur's answers (counts versus results) and other oddities."""
    aborted: bool = False
    """Whether the upload stopped early (too many failed chunks in a row)."""

    @property
    def ok(self) -> bool:
        """Everything was accepted, once, and Arthur's answers added up."""
        return (
            self.accepted == self.total
            and not self.refused
            and not self.failed
            and not self.warnings
            and not self.possible_duplicates
        )

    @property
    def balanced(self) -> bool:
        """Every record is in exactly one bucket: accepted, refused or failed."""
        return self.total == self.accepted + self.refused + len(self.failed)

    def summary(self) -> dict[str, Any]:
        """The counts as a JSON-ready dict."""
        return {
            "total": self.total,
            "sent": self.sent,
            "accepted": self.accepted,
            "refused": self.refused,
            "failed": len(self.failed),
            "chunks": self.chunks,
            "failed_chunks": self.failed_chunks,
            "requests": self.requests,
            "retries": self.retries,
            "possible_duplicates": len(self.possible_duplicates),
            "warnings": len(self.warnings),
            "aborted": self.aborted,
        }


@dataclass(frozen=True, slots=True)
class FileUploadResult:
    """Arthur's answer to ``POST /inferences/file``.

    Arthur only validates the file synchronously; ingestion runs later and its failures are
    mailed, not returned.
    """

    status: int
    """The HTTP status (207 or 201)."""
    counts: dict[str, Any]
    """``{"success", "failure", "total"}`` as Arthur sent them (may be empty)."""
    failures: list[dict[str, Any]]
    """Arthur's per-row failures, as sent."""
    attempts: int
    """How many times the file was sent."""
    possible_duplicate: bool
    """Whether it was re-sent after an answer that may have been lost."""

    @property
    def ok(self) -> bool:
        """No failure reported and no duplicate risk."""
        return not self.failures and not self.counts.get("failure") and not self.possible_duplicate


# --------------------------------------------------------------------------- retry policy


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When and how long to retry one request.

    Retried: 5xx, 429, timeouts, connection errors. Never: other 4xx, 3xx. The wait before
    retry *n* is ``min(initial * 2**(n-1) + uniform(0, jitter), maximum)``; a 429 or 503 with
    ``Retry-After`` waits what it asks, up to ``max_retry_after``.
    """

    attempts: int = 5
    """Times a request is sent at most (1 = no retry)."""
    initial: float = 0.5
    """First wait, in seconds."""
    maximum: float = 30.0
    """Longest single wait, in seconds."""
    jitter: float = 0.5
    """Random extra wait, up to this many seconds."""
    max_retry_after: float = 120.0
    """Longest ``Retry-After`` honoured, in seconds."""
    max_elapsed: float | None = 600.0
    """Stop retrying one request after this many seconds in all (``None``: no limit)."""

    def __post_init__(self) -> None:
        """Check the numbers."""
        if not 1 <= self.attempts <= 100:
            raise ValueError("RetryPolicy.attempts must be between 1 and 100")
        if min(self.initial, self.maximum, self.jitter, self.max_retry_after) < 0:
            raise ValueError("RetryPolicy waits must not be negative")


class _Retryable(Exception):  # noqa: N818 - internal control flow, never escapes
    """One attempt failed in a way worth retrying."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        ambiguous: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.retry_after = retry_after
        self.ambiguous = ambiguous


@dataclass(slots=True)
class _Attempts:
    count: int = 0
    ambiguous: bool = False


def _retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if value is None:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


# --------------------------------------------------------------------------- records


@dataclass(frozen=True, slots=True)
class _Ref:
    partner_inference_id: str
    source: str | None
    line_number: int | None


@dataclass(frozen=True, slots=True)
class _Item:
    ref: _Ref
    body: bytes


def _ref_of(obj: Mapping[str, Any]) -> _Ref:
    partner_id = obj.get("partner_inference_id")
    source = obj.get("source")
    line = obj.get("line")
    return _Ref(
        partner_id if isinstance(partner_id, str) else "",
        source if isinstance(source, str) else None,
        line if isinstance(line, int) and not isinstance(line, bool) else None,
    )


def _inference_item(
    record: InferenceRecord | Mapping[str, Any], batch_id: str | None
) -> _Item | tuple[_Ref, str]:
    if isinstance(record, InferenceRecord):
        ref = _Ref(record.partner_inference_id, record.source, record.line_number)
        obj: dict[str, Any] = new_inference(record, batch_id=batch_id)
    else:
        ref = _ref_of(record)
        obj = {k: record[k] for k in NEW_INFERENCE_FIELDS if k in record}
    if batch_id is not None and "batch_id" not in obj:
        obj["batch_id"] = batch_id
    problem = object_problem(obj, "inference_timestamp", "inference_data")
    if problem is None and "ground_truth_data" in obj:
        problem = object_problem(obj, "ground_truth_timestamp", "ground_truth_data")
    if problem is not None:
        return ref, problem
    try:
        return _Item(ref, dumps_json(obj))
    except (TypeError, orjson.JSONEncodeError) as exc:
        return ref, f"cannot be serialised as JSON: {exc}"


def _ground_truth_item(update: Mapping[str, Any]) -> _Item | tuple[_Ref, str]:
    ref = _ref_of(update)
    obj = {k: update[k] for k in GROUND_TRUTH_FIELDS if k in update}
    problem = object_problem(obj, "ground_truth_timestamp", "ground_truth_data")
    if problem is not None:
        return ref, problem
    try:
        return _Item(ref, dumps_json(obj))
    except (TypeError, orjson.JSONEncodeError) as exc:
        return ref, f"cannot be serialised as JSON: {exc}"


# --------------------------------------------------------------------------- the client


class _TokenAuth(httpx.Auth):
    """Sets ``Authorization`` (the raw token, no ``Bearer``) on each request."""

    def __init__(self, secret: Secret) -> None:
        self._secret = secret

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self._secret.reveal()
        yield request

    def __repr__(self) -> str:
        return f"_TokenAuth({REDACTED!r})"


def _base_url(host: str, *, allow_insecure: bool) -> str:
    text = host.strip().rstrip("/")
    if not text:
        raise ValueError("the Arthur host is empty")
    if "://" not in text:
        text = "https://" + text
    parsed = urllib.parse.urlsplit(text)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ValueError(f"the Arthur host {host!r} is not an http(s) URL or host name")
    if parsed.username or parsed.password:
        raise ValueError("the Arthur host must not hold credentials")
    if parsed.query or parsed.fragment:
        raise ValueError("the Arthur host must not hold a query or fragment")
    loopback = parsed.hostname in ("127.0.0.1", "localhost", "::1")
    if parsed.scheme == "http" and not (loopback or allow_insecure):
        msg = (
            f"refusing to send the token over plain http to {parsed.hostname}; use https "
            "(or allow_insecure=True)"
        )
        raise ValueError(msg)
    path = parsed.path.rstrip("/")
    path = path.removesuffix("/api/v3")
    return urllib.parse.urlunsplit((parsed.scheme, parsed.netloc, path, "", ""))


def _chunks(
    items: Iterable[_Item | tuple[_Ref, str]], size: int, max_bytes: int
) -> Iterator[tuple[list[_Item], list[tuple[_Ref, str]]]]:
    """Group items into chunks of at most ``size`` records and about ``max_bytes``."""
    chunk: list[_Item] = []
    invalid: list[tuple[_Ref, str]] = []
    used = 2
    for item in items:
        if not isinstance(item, _Item):
            invalid.append(item)
            continue
        cost = len(item.body) + 1
        if chunk and (len(chunk) >= size or used + cost > max_bytes):
            yield chunk, invalid
            chunk, invalid, used = [], [], 2
        chunk.append(item)
        used += cost
    if chunk or invalid:
        yield chunk, invalid


def _message_of(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        for key in ("message", "detail", "error", "errors"):
            if key in body:
                text = body[key] if isinstance(body[key], str) else dumps_json(body[key]).decode()
                return text[:_MAX_MESSAGE]
    text = response.text.strip()
    return text[:_MAX_MESSAGE] if text else response.reason_phrase


class ArthurClient:
    """A client for one Arthur model: uploads inferences, files and ground truth.

    Args:
        host: Arthur's address, e.g. ``https://app.arthur.ai`` (``/api/v3`` is added).
            Plain ``http`` is refused except on loopback unless ``allow_insecure``.
        token: An API key or JWT with ``raw_data write``; sent as ``Authorization: <token>``.
        model_id: The Arthur model's ID.
        organization_id: Sent as ``Arthur-Organization-ID`` when given.
        chunk_size: Records per request (1 to :data:`MAX_CHUNK_SIZE`).
        max_chunk_bytes: A chunk is cut before its body passes this size.
        retry: The retry policy (default :class:`RetryPolicy`).
        timeout: Seconds, or an ``httpx.Timeout`` (default: connect 10 s, read 120 s).
        abort_after_failed_chunks: Stop after this many chunks in a row failed as a whole
            (the records not sent are then reported as failed); ``None`` never stops.
        transport: An ``httpx`` transport (for tests or proxies).
        verify: TLS verification, as httpx takes it.
        allow_insecure: Allow plain ``http`` to a host that is not loopback.
        sleep: How to wait between retries (tests pass a recorder).
    """

    def __init__(
        self,
        host: str,
        token: str | Secret,
        model_id: str,
        *,
        organization_id: str | None = None,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        max_chunk_bytes: int = DEFAULT_MAX_CHUNK_BYTES,
        retry: RetryPolicy | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        abort_after_failed_chunks: int | None = 3,
        transport: httpx.BaseTransport | None = None,
        verify: bool | ssl.SSLContext = True,
        allow_insecure: bool = False,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """Configure the client (no request is made)."""
        if not 1 <= chunk_size <= MAX_CHUNK_SIZE:
            raise ValueError(f"chunk_size must be between 1 and {MAX_CHUNK_SIZE}")
        if max_chunk_bytes < 1024:
            raise ValueError("max_chunk_bytes must be at least 1024")
        if not model_id or "/" in model_id:
            raise ValueError("model_id must be a non-empty ID without '/'")
        if abort_after_failed_chunks is not None and abort_after_failed_chunks < 1:
            raise ValueError("abort_after_failed_chunks must be positive or None")
        self._secret = token if isinstance(token, Secret) else Secret(token)
        self.base_url = _base_url(host, allow_insecure=allow_insecure)
        self.model_id = model_id
        self.organization_id = organization_id
        self.chunk_size = chunk_size
        self.max_chunk_bytes = max_chunk_bytes
        self.retry = retry or RetryPolicy()
        self.abort_after_failed_chunks = abort_after_failed_chunks
        self._sleep = sleep
        headers = {"Accept": "application/json", "User-Agent": f"arthur-capture/{_version()}"}
        if organization_id:
            headers["Arthur-Organization-ID"] = organization_id
        self._http = httpx.Client(
            auth=_TokenAuth(self._secret),
            headers=headers,
            timeout=timeout,
            transport=transport,
            verify=verify,
            follow_redirects=False,
        )
        self._model_path = f"/api/v3/models/{urllib.parse.quote(model_id, safe='')}"

    def __repr__(self) -> str:
        """Host and model; never the token."""
        return (
            f"ArthurClient(host={self.base_url!r}, model_id={self.model_id!r}, "
            f"token={REDACTED!r}, chunk_size={self.chunk_size})"
        )

    def __enter__(self) -> Self:
        """Use the client as a context manager (closes the connection pool on exit)."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Close the connection pool."""
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    # ----------------------------------------------------------------- public calls

    def upload(
        self,
        records: Iterable[InferenceRecord | Mapping[str, Any]],
        *,
        batch_id: str | None = None,
        progress: Callable[[int], object] | None = None,
    ) -> UploadResult:
        """Send inferences with ``POST /models/{id}/inferences``, in chunks.

        Records are read lazily. Mappings must have Arthur's ``NewInference`` shape (their
        optional ``source`` and ``line`` keys are reported, not sent). ``batch_id`` is added
        to every record that has none. ``progress`` is called with the number of records
        settled after each chunk.

        Raises:
            ArthurAuthError: 401/403 (the upload stops; ``error.result`` has what was done).
            ArthurAPIError: 404, the model does not exist (the upload stops likewise).
        """
        items = (_inference_item(r, batch_id) for r in records)
        return self._send_chunks("POST", "/inferences", items, progress, duplicates_matter=True)

    def send_ground_truth(
        self,
        updates: Iterable[Mapping[str, Any]],
        *,
        progress: Callable[[int], object] | None = None,
    ) -> UploadResult:
        """Send ground truth with ``PATCH /models/{id}/inferences``, in chunks.

        Each update holds ``partner_inference_id``, ``ground_truth_timestamp`` (tz-aware) and
        ``ground_truth_data``. The answer is read like an upload's; re-sending is harmless.

        Raises:
            ArthurAuthError: 401/403.
            ArthurAPIError: 404, the model does not exist.
        """
        items = (_ground_truth_item(u) for u in updates)
        return self._send_chunks("PATCH", "/inferences", items, progress, duplicates_matter=False)

    def upload_file(
        self,
        path: str | Path,
        *,
        batch_id: str | None = None,
        content_type: str | None = None,
    ) -> FileUploadResult:
        """Send one Parquet (or JSON) file with ``POST /models/{id}/inferences/file``.

        The file goes as the multipart field ``inference_data``; ``batch_id`` as a form value.
        Arthur answers 207 or 201 after a synchronous validation; ingestion runs later.

        Raises:
            OSError: The file cannot be read.
            ArthurAuthError: 401/403.
            ArthurAPIError: Another status that is not retried.
            ArthurUnavailableError: Retries ran out.
        """
        file_path = Path(path)
        if content_type is None:
            suffix = file_path.suffix.lower()
            content_type = "application/json" if suffix == ".json" else "application/octet-stream"
        file_path.stat()  # fail early, with the OSError, when it is missing
        data = {"batch_id": batch_id} if batch_id is not None else None
        handles: list[IO[bytes]] = []

        def files() -> dict[str, Any]:
            handle = file_path.open("rb")
            handles.append(handle)
            return {"inference_data": (file_path.name, handle, content_type)}

        try:
            response, attempts = self._call(
                "POST", "/inferences/file", what=f"file {file_path.name}", files=files, data=data
            )
        finally:
            for handle in handles:
                handle.close()
        body = self._json(response)
        counts = body.get("counts") if isinstance(body, dict) else None
        failures = body.get("failures") if isinstance(body, dict) else None
        return FileUploadResult(
            status=response.status_code,
            counts=counts if isinstance(counts, dict) else {},
            failures=self._failures(failures),
            attempts=attempts.count,
            possible_duplicate=attempts.ambiguous and attempts.count > 1,
        )

    def close_batch(self, batch_id: str, total_record_count: int) -> dict[str, Any]:
        """Mark a batch uploaded: ``PATCH /models/{id}/batches/{batch_id}``.

        Returns Arthur's JSON answer (``{}`` when it had none).

        Raises:
            ArthurAuthError: 401/403.
            ArthurAPIError: Another status that is not retried.
            ArthurUnavailableError: Retries ran out.
        """
        if total_record_count < 0:
            raise ValueError("total_record_count must not be negative")
        body = dumps_json({"status": "uploaded", "total_record_count": total_record_count})
        path = f"/batches/{urllib.parse.quote(batch_id, safe='')}"
        response, _ = self._call("PATCH", path, what=f"batch {batch_id}", content=body)
        answer = self._json(response)
        return answer if isinstance(answer, dict) else {}

    # ----------------------------------------------------------------- chunked sending

    def _send_chunks(
        self,
        method: str,
        path: str,
        items: Iterable[_Item | tuple[_Ref, str]],
        progress: Callable[[int], object] | None,
        *,
        duplicates_matter: bool,
    ) -> UploadResult:
        result = UploadResult()
        failed_in_row = 0
        stream = _chunks(items, self.chunk_size, self.max_chunk_bytes)
        for number, (chunk, invalid) in enumerate(stream):
            for ref, problem in invalid:
                result.total += 1
                result.failed.append(
                    FailedRecord(
                        ref.partner_inference_id,
                        ref.source,
                        ref.line_number,
                        f"not sent: {problem}",
                        None,
                        None,
                        sent=False,
                    )
                )
            result.total += len(chunk)
            if not chunk:
                pass
            elif self.abort_after_failed_chunks is not None and (
                failed_in_row >= self.abort_after_failed_chunks
            ):
                result.aborted = True
                self._not_sent(result, chunk, "not sent: the upload stopped after failed chunks")
            else:
                ok = self._send_chunk(method, path, number, chunk, result, duplicates_matter)
                failed_in_row = 0 if ok else failed_in_row + 1
            if progress is not None:
                progress(len(chunk) + len(invalid))
        if result.aborted:
            logger.error(
                "upload stopped after %d failed chunk(s) in a row; %d record(s) not sent",
                self.abort_after_failed_chunks,
                sum(1 for f in result.failed if not f.sent),
            )
        return result

    @staticmethod
    def _not_sent(result: UploadResult, chunk: list[_Item], error: str) -> None:
        result.failed.extend(
            FailedRecord(
                i.ref.partner_inference_id, i.ref.source, i.ref.line_number, error, None, None, sent=False
            )
            for i in chunk
        )

    def _send_chunk(
        self,
        method: str,
        path: str,
        number: int,
        chunk: list[_Item],
        result: UploadResult,
        duplicates_matter: bool,
    ) -> bool:
        """Send one chunk and settle each of its records; whether it was answered 2xx."""
        body = b"[" + b",".join(i.body for i in chunk) + b"]"
        result.chunks += 1
        result.sent += len(chunk)
        attempts = _Attempts()
        what = f"chunk {number} ({len(chunk)} records)"
        try:
            outcome, attempts = self._call(
                method, path, what=what, content=body, attempts=attempts, result=result
            )
        except ArthurUnavailableError as exc:
            self._chunk_failed(result, number, chunk, exc.status, exc.message, exc.attempts)
            self._duplicate_risk(result, chunk, attempts, duplicates_matter)
            return False
        except ArthurAPIError as exc:
            self._chunk_failed(result, number, chunk, exc.status, exc.message, attempts.count)
            self._duplicate_risk(result, chunk, attempts, duplicates_matter)
            if exc.status in (401, 403, 404):
                exc.result = result
                raise
            return False
        self._duplicate_risk(result, chunk, attempts, duplicates_matter)
        self._settle(result, number, chunk, outcome)
        return True

    def _duplicate_risk(
        self, result: UploadResult, chunk: list[_Item], attempts: _Attempts, matter: bool
    ) -> None:
        if matter and attempts.ambiguous and attempts.count > 1:
            result.possible_duplicates.extend(i.ref.partner_inference_id for i in chunk)
            logger.warning(
                "%d record(s) were re-sent after an answer that may have been lost; Arthur "
                "has no idempotency key and may hold them twice",
                len(chunk),
            )

    def _chunk_failed(
        self,
        result: UploadResult,
        number: int,
        chunk: list[_Item],
        status: int | None,
        error: str,
        attempts: int,
    ) -> None:
        result.failed_chunks += 1
        result.chunk_failures.append(ChunkFailure(number, len(chunk), status, error, attempts))
        result.failed.extend(
            FailedRecord(
                i.ref.partner_inference_id,
                i.ref.source,
                i.ref.line_number,
                error,
                status,
                number,
                sent=True,
            )
            for i in chunk
        )
        logger.error("chunk %d (%d records) failed: %s", number, len(chunk), error)

    def _settle(
        self, result: UploadResult, number: int, chunk: list[_Item], response: httpx.Response
    ) -> None:
        """Read a 2xx multi-status answer and put every record of the chunk in a bucket."""
        body = self._json(response)
        results = body.get("results") if isinstance(body, dict) else None
        if not isinstance(results, list):
            warning = (
                f"chunk {number}: Arthur answered {response.status_code} without a results "
                "list; its records are unconfirmed"
            )
            self._warn(result, warning)
            result.failed.extend(
                FailedRecord(
                    i.ref.partner_inference_id,
                    i.ref.source,
                    i.ref.line_number,
                    "sent, but Arthur's answer has no per-record result",
                    response.status_code,
                    number,
                    sent=True,
                )
                for i in chunk
            )
            return
        if len(results) != len(chunk):
            self._warn(
                result,
                f"chunk {number}: Arthur returned {len(results)} result(s) for {len(chunk)} "
                "record(s)",
            )
        success = failure = 0
        for item, entry in itertools.zip_longest(chunk, results):
            if item is None:
                continue
            ref: _Ref = item.ref
            status, message = self._entry(entry)
            if status is None:
                result.failed.append(
                    FailedRecord(
                        ref.partner_inference_id,
                        ref.source,
                        ref.line_number,
                        f"sent, but Arthur's answer has no usable result for it ({message})",
                        response.status_code,
                        number,
                        sent=True,
                    )
                )
            elif 200 <= status < 300:
                success += 1
                result.accepted += 1
            else:
                failure += 1
                result.refused += 1
                result.refusals.append(
                    Refusal(ref.partner_inference_id, status, message, ref.source, ref.line_number, number)
                )
        self._check_counts(result, number, body.get("counts"), success, failure, len(results))

    def _entry(self, entry: Any) -> tuple[int | None, str]:
        if entry is None:
            return None, "missing"
        if not isinstance(entry, dict):
            return None, "not an object"
        status = entry.get("status")
        message = entry.get("message")
        text = message if isinstance(message, str) else dumps_json(message).decode()
        text = self._secret.redact(text[:_MAX_MESSAGE])
        if isinstance(status, bool) or not isinstance(status, int):
            return None, f"status {status!r} is not an integer"
        return status, text

    def _check_counts(
        self,
        result: UploadResult,
        number: int,
        counts: Any,
        success: int,
        failure: int,
        total: int,
    ) -> None:
        if not isinstance(counts, dict):
            self._warn(result, f"chunk {number}: Arthur's answer has no counts")
            return
        expected = {"success": success, "failure": failure, "total": total}
        wrong = {k: counts.get(k) for k, v in expected.items() if counts.get(k) != v}
        if wrong:
            shown = ", ".join(f"{k}={v!r} (results say {expected[k]})" for k, v in wrong.items())
            self._warn(
                result, f"chunk {number}: Arthur's counts disagree with its results: {shown}"
            )

    def _warn(self, result: UploadResult, message: str) -> None:
        text = self._secret.redact(message)
        result.warnings.append(text)
        logger.warning("%s", text)

    # ----------------------------------------------------------------- one request, retried

    def _call(
        self,
        method: str,
        path: str,
        *,
        what: str,
        content: bytes | None = None,
        files: Callable[[], dict[str, Any]] | None = None,
        data: dict[str, str] | None = None,
        attempts: _Attempts | None = None,
        result: UploadResult | None = None,
    ) -> tuple[httpx.Response, _Attempts]:
        """Send one request under the retry policy; a 2xx answer, or an error.

        Raises:
            ArthurAuthError: 401/403.
            ArthurAPIError: Any other status that is not retried.
            ArthurUnavailableError: Retries ran out.
        """
        attempts = attempts if attempts is not None else _Attempts()
        url = self.base_url + self._model_path + path
        policy = self.retry
        stops: list[stop_base] = [stop_after_attempt(policy.attempts)]
        if policy.max_elapsed is not None:
            stops.append(stop_after_delay(policy.max_elapsed))

        def before_sleep(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome is not None else None
            wait = state.next_action.sleep if state.next_action is not None else 0.0
            if result is not None:
                result.retries += 1
            logger.warning(
                "%s: %s; attempt %d of %d, retrying in %.2f s",
                what,
                exc,
                state.attempt_number,
                policy.attempts,
                wait,
            )

        retrying = Retrying(
            stop=stop_any(*stops),
            wait=self._wait,
            retry=retry_if_exception_type(_Retryable),
            before_sleep=before_sleep,
            sleep=self._sleep,
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    attempts.count += 1
                    if result is not None:
                        result.requests += 1
                    try:
                        response = self._once(method, url, content=content, files=files, data=data)
                    except _Retryable as exc:
                        attempts.ambiguous = attempts.ambiguous or exc.ambiguous
                        raise
        except _Retryable as exc:
            msg = f"{what}: {exc.message} (gave up after {attempts.count} attempt(s))"
            raise ArthurUnavailableError(
                self._secret.redact(msg), status=exc.status, attempts=attempts.count
            ) from None
        return response, attempts

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome is not None else None
        if isinstance(exc, _Retryable) and exc.retry_after is not None:
            return min(exc.retry_after, self.retry.max_retry_after)
        policy = self.retry
        exponent = min(state.attempt_number - 1, 62)
        wait = policy.initial * 2.0**exponent + random.uniform(0, policy.jitter)  # noqa: S311
        return min(wait, policy.maximum)

    def _once(
        self,
        method: str,
        url: str,
        *,
        content: bytes | None,
        files: Callable[[], dict[str, Any]] | None,
        data: dict[str, str] | None,
    ) -> httpx.Response:
        headers = {"Content-Type": "application/json"} if content is not None else None
        try:
            response = self._http.request(
                method,
                url,
                content=content,
                files=files() if files is not None else None,
                data=data,
                headers=headers,
            )
        except (httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise _Retryable(f"timed out connecting ({type(exc).__name__})") from None
        except httpx.TimeoutException as exc:
            raise _Retryable(
                f"timed out waiting for Arthur ({type(exc).__name__})", ambiguous=True
            ) from None
        except httpx.ConnectError as exc:
            raise _Retryable(f"cannot connect: {self._secret.redact(str(exc))}") from None
        except httpx.TransportError as exc:
            detail = self._secret.redact(str(exc)) or type(exc).__name__
            raise _Retryable(f"connection lost: {detail}", ambiguous=True) from None
        status = response.status_code
        if status == 429 or 500 <= status < 600:
            retry_after = _retry_after(response.headers.get("Retry-After"))
            message = self._secret.redact(_message_of(response))
            raise _Retryable(
                f"Arthur answered {status}: {message}",
                status=status,
                retry_after=retry_after,
                ambiguous=status in _AMBIGUOUS_STATUSES,
            )
        if 200 <= status < 300:
            return response
        message = self._secret.redact(_message_of(response))
        if status in (401, 403):
            hint = (
                "the token is missing or wrong"
                if status == 401
                else "the token lacks permission (raw_data write) for this model"
            )
            raise ArthurAuthError(f"Arthur answered {status}: {hint}: {message}", status)
        if status == 404:
            msg = f"Arthur answered 404 for model {self.model_id!r}: {message}"
            raise ArthurAPIError(msg, status)
        raise ArthurAPIError(f"Arthur answered {status}: {message}", status)

    def _failures(self, failures: Any) -> list[dict[str, Any]]:
        if not isinstance(failures, list):
            return []
        return [
            {k: self._secret.redact(v) if isinstance(v, str) else v for k, v in f.items()}
            for f in failures
            if isinstance(f, dict)
        ]

    @staticmethod
    def _json(response: httpx.Response) -> Any:
        if not response.content:
            return None
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError:
            return None


def _version() -> str:
    from arthur_capture import __version__  # noqa: PLC0415

    return __version__
