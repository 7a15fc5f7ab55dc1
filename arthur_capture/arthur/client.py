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
  :class:`~arthur_capture.arthur.results.UploadResult`: accepted, refused by Arthur
  (:class:`~arthur_capture.arthur.results.Refusal`, with its source and line), or failed
  (:class:`~arthur_capture.arthur.results.FailedRecord`: its chunk failed after the retries,
  Arthur's answer had no result for it, it was invalid and not sent, or the upload stopped
  before it). ``total == accepted + refused + len(failed)``.
- 5xx, 429, timeouts and connection errors are retried with exponential backoff and jitter
  (``Retry-After`` honoured); other 4xx answers never are.
- The token is held in a :class:`~arthur_capture.arthur._secret.Secret`: it never appears in
  a log line, an exception, a ``repr`` or a result.

Duplicates: Arthur has no idempotency key. When a POST is retried after a read timeout, a
dropped connection or a 500/502/504, Arthur may already have stored the first copy; the
records of such chunks are listed in ``UploadResult.possible_duplicates``. Ground-truth
updates (``PATCH``) are idempotent and do not count there.

The parts, one job each: :mod:`.results` (what an upload reports), :mod:`._retry` (the retry
policy and its waits), :mod:`._items` (records as checked, serialised request items, and
chunking), :mod:`._settle` (Arthur's answers into the result's buckets). This module holds
the client: the HTTP requests and what each status means. Errors are in
:mod:`arthur_capture.arthur.errors` (``ArthurError`` and its subclasses).
"""

from __future__ import annotations

import logging
import time
import urllib.parse
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Final, Self

import httpx
import orjson

from arthur_capture._json import dumps_json
from arthur_capture.arthur._items import (
    DEFAULT_CHUNK_SIZE,
    DEFAULT_MAX_CHUNK_BYTES,
    MAX_CHUNK_SIZE,
    Invalid,
    Item,
    chunks,
    ground_truth_item,
    inference_item,
    json_array,
)
from arthur_capture.arthur._retry import (
    Attempts,
    Retryable,
    RetryPolicy,
    parse_retry_after,
    retry,
)
from arthur_capture.arthur._secret import REDACTED, Secret
from arthur_capture.arthur._settle import MAX_MESSAGE, Settlement
from arthur_capture.arthur.errors import (
    ArthurAPIError,
    ArthurAuthError,
    ArthurError,
    ArthurUnavailableError,
)
from arthur_capture.arthur.results import (
    ChunkFailure,
    FailedRecord,
    FileUploadResult,
    Refusal,
    UploadResult,
)

if TYPE_CHECKING:
    import ssl
    from collections.abc import Callable, Generator, Iterable, Mapping

    from arthur_capture.records import InferenceRecord

# The names below other than ArthurClient live in their own modules; they are re-exported
# here so that ``from arthur_capture.arthur.client import UploadResult`` keeps working.
__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "DEFAULT_MAX_CHUNK_BYTES",
    "DEFAULT_TIMEOUT",
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

DEFAULT_TIMEOUT: Final = httpx.Timeout(120.0, connect=10.0)
"""Per request: 10 s to connect, 120 s for each read, write or pool wait."""

_AMBIGUOUS_STATUSES: Final = frozenset({500, 502, 504})
"""5xx answers after which Arthur may have stored the records anyway."""


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


def _message_of(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        for key in ("message", "detail", "error", "errors"):
            if key in body:
                text = body[key] if isinstance(body[key], str) else dumps_json(body[key]).decode()
                return text[:MAX_MESSAGE]
    text = response.text.strip()
    return text[:MAX_MESSAGE] if text else response.reason_phrase


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
        retry: The retry policy (default :class:`~arthur_capture.arthur._retry.RetryPolicy`).
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
        items = (inference_item(r, batch_id) for r in records)
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
        items = (ground_truth_item(u) for u in updates)
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

        attempts = Attempts()
        try:
            response = self._call(
                "POST",
                "/inferences/file",
                what=f"file {file_path.name}",
                attempts=attempts,
                files=files,
                data=data,
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
            possible_duplicate=attempts.duplicate_risk,
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
        response = self._call(
            "PATCH", path, what=f"batch {batch_id}", attempts=Attempts(), content=body
        )
        answer = self._json(response)
        return answer if isinstance(answer, dict) else {}

    # ----------------------------------------------------------------- chunked sending

    def _send_chunks(
        self,
        method: str,
        path: str,
        items: Iterable[Item | Invalid],
        progress: Callable[[int], object] | None,
        *,
        duplicates_matter: bool,
    ) -> UploadResult:
        """Send items chunk by chunk; stop sending after too many failed chunks in a row."""
        account = Settlement(self._secret.redact)
        result = account.result
        failed_in_row = 0
        stream = chunks(items, self.chunk_size, self.max_chunk_bytes)
        for number, (chunk, invalid) in enumerate(stream):
            account.invalid(invalid)
            result.total += len(chunk)
            if not chunk:
                pass
            elif self.abort_after_failed_chunks is not None and (
                failed_in_row >= self.abort_after_failed_chunks
            ):
                result.aborted = True
                account.not_sent(chunk, "not sent: the upload stopped after failed chunks")
            else:
                ok = self._send_chunk(method, path, number, chunk, account, duplicates_matter)
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

    def _send_chunk(
        self,
        method: str,
        path: str,
        number: int,
        chunk: list[Item],
        account: Settlement,
        duplicates_matter: bool,
    ) -> bool:
        """Send one chunk and settle each of its records; whether it was answered 2xx.

        Raises:
            ArthurAPIError: 401, 403 or 404 (with ``result`` set): the upload cannot go on.
        """
        result = account.result
        result.chunks += 1
        result.sent += len(chunk)
        attempts = Attempts()
        what = f"chunk {number} ({len(chunk)} records)"
        try:
            response = self._call(
                method, path, what=what, attempts=attempts, content=json_array(chunk), result=result
            )
        except ArthurUnavailableError as exc:
            account.chunk_failed(number, chunk, exc.status, exc.message, exc.attempts)
            if duplicates_matter and attempts.duplicate_risk:
                account.possible_duplicates(chunk)
            return False
        except ArthurAPIError as exc:
            account.chunk_failed(number, chunk, exc.status, exc.message, attempts.count)
            if duplicates_matter and attempts.duplicate_risk:
                account.possible_duplicates(chunk)
            if exc.status in (401, 403, 404):
                exc.result = result
                raise
            return False
        if duplicates_matter and attempts.duplicate_risk:
            account.possible_duplicates(chunk)
        account.answered(number, chunk, response.status_code, self._json(response))
        return True

    # ----------------------------------------------------------------- one request, retried

    def _call(
        self,
        method: str,
        path: str,
        *,
        what: str,
        attempts: Attempts,
        content: bytes | None = None,
        files: Callable[[], dict[str, Any]] | None = None,
        data: dict[str, str] | None = None,
        result: UploadResult | None = None,
    ) -> httpx.Response:
        """Send one request under the retry policy; a 2xx answer, or an error.

        ``attempts`` counts the times it was sent (and notes a possibly lost answer);
        ``result``, when given, counts the requests and retries.

        Raises:
            ArthurAuthError: 401/403.
            ArthurAPIError: Any other status that is not retried.
            ArthurUnavailableError: Retries ran out.
        """
        url = self.base_url + self._model_path + path
        policy = self.retry

        def counted() -> None:
            if result is not None:
                result.requests += 1

        def retrying(error: Retryable, attempt_number: int, wait: float) -> None:
            if result is not None:
                result.retries += 1
            logger.warning(
                "%s: %s; attempt %d of %d, retrying in %.2f s",
                what,
                error,
                attempt_number,
                policy.attempts,
                wait,
            )

        def send() -> httpx.Response:
            return self._once(method, url, content=content, files=files, data=data)

        try:
            return retry(
                policy, send, attempts, sleep=self._sleep, on_attempt=counted, on_retry=retrying
            )
        except Retryable as exc:
            msg = f"{what}: {exc.message} (gave up after {attempts.count} attempt(s))"
            raise ArthurUnavailableError(
                self._secret.redact(msg), status=exc.status, attempts=attempts.count
            ) from None

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
            raise Retryable(f"timed out connecting ({type(exc).__name__})") from None
        except httpx.TimeoutException as exc:
            raise Retryable(
                f"timed out waiting for Arthur ({type(exc).__name__})", ambiguous=True
            ) from None
        except httpx.ConnectError as exc:
            raise Retryable(f"cannot connect: {self._secret.redact(str(exc))}") from None
        except httpx.TransportError as exc:
            detail = self._secret.redact(str(exc)) or type(exc).__name__
            raise Retryable(f"connection lost: {detail}", ambiguous=True) from None
        status = response.status_code
        if status == 429 or 500 <= status < 600:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            message = self._secret.redact(_message_of(response))
            raise Retryable(
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
    from arthur_capture._version import __version__  # noqa: PLC0415

    return __version__
