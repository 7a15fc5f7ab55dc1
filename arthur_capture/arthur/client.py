"""Send inferences to Arthur's v3 API: chunked, retried, and accounted for record by record.

Install with ``pip install 'arthur-capture[arthur]'`` (httpx, tenacity; pyarrow for Parquet). This
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
  (:class:`~arthur_capture.arthur.results.FailedRecord`: *possibly stored* when its answer
  was lost or unreadable, *failed* when its chunk was refused whole, *not sent* when it was
  invalid or the upload stopped before it). ``total == accepted + refused + len(failed)``,
  also when the upload stops early: a 401/403/404 (``error.result``) or a Ctrl-C
  (:class:`~arthur_capture.arthur.errors.UploadInterrupted`, ``.result``).
- 5xx, 429, timeouts and connection errors are retried with exponential backoff and jitter
  (``Retry-After`` honoured); other 4xx answers never are.
- Whatever the server does, no exception of the HTTP stack escapes: each attempt has a
  deadline (``request_deadline``, enforced in every socket wait and while the answer
  streams), an answer is read up to ``max_response_bytes`` decoded bytes (a gzip bomb
  stops there too), and JSON nested deeper than 32 levels is not an answer. A 2xx answer
  that cannot be read leaves its records *possibly stored*; it is not re-sent.
- The token is held in a :class:`~arthur_capture.arthur._secret.Secret`: it never appears in
  a log line (httpx's and httpcore's included), an exception, a ``repr`` or a result; no
  piece of it of 8 characters either. A server's text is redacted first, then cut.

Duplicates: Arthur has no idempotency key. When a POST is retried after a read timeout, a
dropped connection or a 500/502/504, Arthur may already have stored the first copy; the
records of such chunks are listed in ``UploadResult.possible_duplicates``. Ground-truth
updates (``PATCH``) are idempotent and do not count there.

The parts, one job each: :mod:`.results` (what an upload reports), :mod:`._retry` (the retry
policy and its waits), :mod:`._items` (records as checked, serialised request items, and
chunking), :mod:`._settle` (Arthur's answers into the result's buckets), :mod:`._answers`
(answers read within a byte cap and a deadline, JSON within a depth), :mod:`._transport`
(the deadline in every socket wait, redacted HTTP logs), :mod:`._ids` (IDs in a path). This
module holds the client: the HTTP requests and what each status means. Errors are in
:mod:`arthur_capture.arthur.errors` (``ArthurError`` and its subclasses).
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
import urllib.parse
import weakref
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Final, Self

import httpx

from arthur_capture._json import dumps_json
from arthur_capture.arthur._answers import (
    DEFAULT_MAX_RESPONSE_BYTES,
    MAX_ERROR_BYTES,
    MAX_MESSAGE,
    TOO_DEEP,
    Answer,
    message_of,
    parse_json,
    read_answer,
)
from arthur_capture.arthur._ids import check_id, path_segment
from arthur_capture.arthur._items import (
    DEFAULT_CHUNK_SIZE,
    DEFAULT_MAX_CHUNK_BYTES,
    MAX_CHUNK_SIZE,
    Chunker,
    Invalid,
    Item,
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
from arthur_capture.arthur._settle import Settlement
from arthur_capture.arthur._transport import (
    RedactingFilter,
    deadline_transport,
    install_deadline,
    within,
)
from arthur_capture.arthur.errors import (
    ArthurAPIError,
    ArthurAuthError,
    ArthurError,
    ArthurUnavailableError,
    UploadInterrupted,
)
from arthur_capture.arthur.results import (
    CaptureFileResult,
    ChunkFailure,
    FailedRecord,
    FileUploadResult,
    Refusal,
    UploadResult,
)
from arthur_capture.arthur.schema import ModelSchema
from arthur_capture.errors import SchemaError

if TYPE_CHECKING:
    import ssl
    from collections.abc import Callable, Generator, Iterable, Mapping

    from arthur_capture.records import InferenceRecord

# The names below other than ArthurClient live in their own modules; they are re-exported
# here so that ``from arthur_capture.arthur.client import UploadResult`` keeps working.
__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "DEFAULT_MAX_CHUNK_BYTES",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "DEFAULT_REQUEST_DEADLINE",
    "DEFAULT_TIMEOUT",
    "MAX_CHUNK_SIZE",
    "ArthurAPIError",
    "ArthurAuthError",
    "ArthurClient",
    "ArthurError",
    "ArthurUnavailableError",
    "CaptureFileResult",
    "ChunkFailure",
    "FailedRecord",
    "FileUploadResult",
    "Refusal",
    "RetryPolicy",
    "Secret",
    "UploadInterrupted",
    "UploadResult",
    "insecure_host",
]

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT: Final = httpx.Timeout(120.0, connect=10.0)
"""Per socket operation: 10 s to connect, 120 s for each read, write or pool wait."""
DEFAULT_REQUEST_DEADLINE: Final = 120.0
"""Seconds one attempt of a request may take in all: connect, send, wait, read the answer."""

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


def _split_host(host: str) -> urllib.parse.SplitResult:
    """``host`` as a URL (``https://`` added to a bare host name)."""
    text = host.strip().rstrip("/")
    if not text:
        raise ValueError("the Arthur host is empty")
    if "://" not in text:
        text = "https://" + text
    parsed = urllib.parse.urlsplit(text)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ValueError(f"the Arthur host {host!r} is not an http(s) URL or host name")
    return parsed


def insecure_host(host: str) -> str | None:
    """The host name when ``host`` is plain ``http`` to a host that is not loopback.

    Such a host gets the token unencrypted: :class:`ArthurClient` refuses it unless
    ``allow_insecure``. ``None`` for ``https``, loopback, and a host that is no URL at all
    (the client says what is wrong with it).
    """
    try:
        parsed = _split_host(host)
    except ValueError:
        return None
    loopback = parsed.hostname in ("127.0.0.1", "localhost", "::1")
    return parsed.hostname if parsed.scheme == "http" and not loopback else None


def _base_url(host: str, *, allow_insecure: bool) -> str:
    parsed = _split_host(host)
    if parsed.username or parsed.password:
        raise ValueError("the Arthur host must not hold credentials")
    if parsed.query or parsed.fragment:
        raise ValueError("the Arthur host must not hold a query or fragment")
    if insecure_host(host) is not None and not allow_insecure:
        msg = (
            f"refusing to send the token over plain http to {parsed.hostname}; use https "
            "(or allow_insecure=True)"
        )
        raise ValueError(msg)
    path = parsed.path.rstrip("/")
    path = path.removesuffix("/api/v3")
    return urllib.parse.urlunsplit((parsed.scheme, parsed.netloc, path, "", ""))


def _positive_seconds(value: float | None, what: str) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{what} must be a number of seconds")  # noqa: TRY004
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{what} must be a positive, finite number of seconds")


def _checked_timeout(timeout: float | httpx.Timeout) -> float | httpx.Timeout:
    if isinstance(timeout, httpx.Timeout):
        for what in ("connect", "read", "write", "pool"):
            _positive_seconds(getattr(timeout, what), f"timeout.{what}")
        return timeout
    _positive_seconds(timeout, "timeout")
    return timeout


def _header_value(value: str, what: str) -> str:
    if not value or not value.isascii() or not value.isprintable() or value != value.strip():
        raise ValueError(f"the {what} must be printable ASCII without surrounding whitespace")
    return value


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
        timeout: Seconds for each socket operation, or an ``httpx.Timeout`` (default:
            connect 10 s, each read or write 120 s).
        request_deadline: Seconds one attempt of a request may take in all, from connect
            to the answer's last byte (default 120); ``None``: no deadline. A server that
            drips its answer never trips a read timeout; it trips this. An attempt past it
            counts as a lost answer (retried; the chunk is flagged as possibly stored).
        max_response_bytes: Longest answer read, in decoded bytes (default 8 MiB; an error
            answer is read up to 1 MiB). A longer 2xx answer leaves its chunk's records
            possibly stored, unconfirmed.
        abort_after_failed_chunks: Stop after this many chunks in a row failed as a whole
            (the records not sent are then reported as failed); ``None`` never stops.
        transport: An ``httpx`` transport (for tests or proxies).
        verify: TLS verification, as httpx takes it.
        allow_insecure: Allow plain ``http`` to a host that is not loopback.
        sleep: How to wait between retries (tests pass a recorder).
        clock: A monotonic clock for the deadline while an answer streams (tests).

    Raises:
        ValueError: An option is out of range, or the host, model ID or organization ID
            cannot be used (a model ID of ``..``, with ``/``, control characters…).
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
        request_deadline: float | None = DEFAULT_REQUEST_DEADLINE,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        abort_after_failed_chunks: int | None = 3,
        transport: httpx.BaseTransport | None = None,
        verify: bool | ssl.SSLContext = True,
        allow_insecure: bool = False,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Configure the client (no request is made)."""
        if isinstance(chunk_size, bool) or not 1 <= chunk_size <= MAX_CHUNK_SIZE:
            raise ValueError(f"chunk_size must be between 1 and {MAX_CHUNK_SIZE}")
        if max_chunk_bytes < 1024:
            raise ValueError("max_chunk_bytes must be at least 1024")
        if isinstance(max_response_bytes, bool) or max_response_bytes < 1024:
            raise ValueError("max_response_bytes must be at least 1024")
        check_id(model_id, "model ID")
        if organization_id is not None:
            _header_value(organization_id, "organization ID")
        if abort_after_failed_chunks is not None and abort_after_failed_chunks < 1:
            raise ValueError("abort_after_failed_chunks must be positive or None")
        _positive_seconds(request_deadline, "request_deadline")
        self._secret = token if isinstance(token, Secret) else Secret(token)
        self.base_url = _base_url(host, allow_insecure=allow_insecure)
        self.model_id = model_id
        self.organization_id = organization_id
        self.chunk_size = chunk_size
        self.max_chunk_bytes = max_chunk_bytes
        self.max_response_bytes = max_response_bytes
        self.request_deadline = request_deadline
        self.retry = retry or RetryPolicy()
        self.abort_after_failed_chunks = abort_after_failed_chunks
        self._sleep = sleep
        self._clock = clock
        headers = {
            "Accept": "application/json",
            "Accept-Encoding": "gzip, deflate",  # what the answer reader undoes
            "User-Agent": f"arthur-capture/{_version()}",
        }
        if organization_id:
            headers["Arthur-Organization-ID"] = organization_id
        if transport is None:
            transport = deadline_transport(verify=verify)
        else:
            install_deadline(transport)
        self._http = httpx.Client(
            auth=_TokenAuth(self._secret),
            headers=headers,
            timeout=_checked_timeout(timeout),
            transport=transport,
            verify=verify,
            follow_redirects=False,
        )
        for mounted in getattr(self._http, "_mounts", {}).values():  # proxies from the env
            if mounted is not None:
                install_deadline(mounted)
        self._model_path = f"/api/v3/models/{path_segment(model_id, 'model ID')}"
        self._log_filter = RedactingFilter(self._secret)
        self._log_filter.attach()
        weakref.finalize(self, self._log_filter.detach)  # also if never closed

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
        self._log_filter.detach()
        with contextlib.suppress(httpx.HTTPError, OSError):
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
            UploadInterrupted: A ``KeyboardInterrupt`` stopped it (``.result`` has the
                account: the chunk in flight possibly stored, the records read not sent).
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
            UploadInterrupted: A ``KeyboardInterrupt`` stopped it.
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
            answer = self._call(
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
        body, problem = self._body(answer)
        counts = body.get("counts") if isinstance(body, dict) else None
        failures = body.get("failures") if isinstance(body, dict) else None
        return FileUploadResult(
            status=answer.status,
            counts=self._cleaned(counts) if isinstance(counts, dict) else {},
            failures=self._failures(failures),
            attempts=attempts.count,
            possible_duplicate=attempts.duplicate_risk,
            unconfirmed=problem
            or ("its answer is not JSON" if body is None and answer.body.strip() else None),
        )

    def fetch_model(self) -> dict[str, Any]:
        """The model as Arthur answers ``GET /models/{id}?expand=attributes``.

        Its fields (``id``, ``partner_model_id``, ``is_batch``…) and ``attributes``, every
        string in it redacted of the token. :meth:`ModelSchema.from_json
        <arthur_capture.arthur.schema.ModelSchema.from_json>` reads it, and so does
        ``--schema`` on the command line once it is written to a file.

        Raises:
            ArthurAuthError: 401/403.
            ArthurAPIError: 404 (no such model) or another status that is not retried.
            ArthurUnavailableError: Retries ran out.
            SchemaError: The answer is not a JSON object.
        """
        answer = self._call(
            "GET", "?expand=attributes", what=f"model {self.model_id}", attempts=Attempts()
        )
        body, problem = self._body(answer)
        if problem is not None or not isinstance(body, dict):
            why = problem or "it is not a JSON object"
            raise SchemaError(f"Arthur's answer for model {self.model_id!r} is not a model: {why}")
        model: dict[str, Any] = self._redacted(body)
        return model

    def fetch_schema(self) -> ModelSchema:
        """The model's schema: ``GET /models/{id}?expand=attributes`` (:meth:`fetch_model`).

        Raises:
            ArthurAuthError: 401/403.
            ArthurAPIError: 404 (no such model) or another status that is not retried.
            ArthurUnavailableError: Retries ran out.
            SchemaError: The answer holds no usable model schema.
        """
        return ModelSchema.from_json(self.fetch_model())

    def send_capture_file(
        self, body: bytes, *, filename: str, content_type: str = "application/jsonlines"
    ) -> CaptureFileResult:
        """Send capture lines to Arthur's SageMaker Data Capture integration endpoint.

        ``POST /models/{id}/inferences/integrations/sagemaker_data_capture`` does what the
        seed's Lambda does; here with the client's retries, deadline and answer checks:
        ``body`` goes as the multipart field ``inference_data`` named ``filename``. Arthur's
        endpoint refuses ``BASE64`` sides; make the body with
        :func:`~arthur_capture.sinks.forward.prepare_capture_file`, which re-encodes them and
        holds back the lines that would fail. Arthur answers 207 with a failure per refused
        inference, carrying ``event_id`` and ``inference_index_in_event``.

        Raises:
            ValueError: ``filename`` does not end in ``.jsonl`` (Arthur requires it), or
                holds a path separator or a control character.
            ArthurAuthError: 401/403.
            ArthurAPIError: Another status that is not retried (404: no such model).
            ArthurUnavailableError: Retries ran out.
        """
        if not isinstance(body, (bytes, bytearray)):
            raise TypeError("body must be bytes")
        if (
            not filename.endswith(".jsonl")
            or filename == ".jsonl"
            or any(c in filename for c in "/\\")
            or not filename.isprintable()
        ):
            msg = f"the capture file's name must end in .jsonl (a name, not a path): {filename!r}"
            raise ValueError(msg)
        data = bytes(body)

        def files() -> dict[str, Any]:
            return {"inference_data": (filename, data, content_type)}

        attempts = Attempts()
        answer = self._call(
            "POST",
            "/inferences/integrations/sagemaker_data_capture",
            what=f"capture file {filename}",
            attempts=attempts,
            files=files,
        )
        parsed, problem = self._body(answer)
        counts = parsed.get("counts") if isinstance(parsed, dict) else None
        failures = parsed.get("failures") if isinstance(parsed, dict) else None
        return CaptureFileResult(
            counts=self._cleaned(counts) if isinstance(counts, dict) else {},
            failures=self._failures(failures),
            status=answer.status,
            attempts=attempts.count,
            possible_duplicate=attempts.duplicate_risk,
            unconfirmed=problem
            or ("its answer is not JSON" if parsed is None and answer.body.strip() else None),
        )

    def close_batch(self, batch_id: str, total_record_count: int) -> dict[str, Any]:
        """Mark a batch uploaded: ``PATCH /models/{id}/batches/{batch_id}``.

        Returns Arthur's JSON answer (``{}`` when it had none).

        Raises:
            ValueError: The batch ID cannot name a path segment (empty, ``..``, ``/``…).
            ArthurAuthError: 401/403.
            ArthurAPIError: Another status that is not retried.
            ArthurUnavailableError: Retries ran out.
        """
        if total_record_count < 0:
            raise ValueError("total_record_count must not be negative")
        path = f"/batches/{path_segment(batch_id, 'batch ID')}"
        body = dumps_json({"status": "uploaded", "total_record_count": total_record_count})
        answer = self._call(
            "PATCH", path, what=f"batch {batch_id}", attempts=Attempts(), content=body
        )
        parsed, _ = self._body(answer)
        return self._cleaned(parsed) if isinstance(parsed, dict) else {}

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
        """Send items chunk by chunk; stop sending after too many failed chunks in a row.

        However it ends, every item read is in one bucket: an error that stops the upload
        (401/403/404, ``KeyboardInterrupt``, an exception of ``items``) leaves the chunk in
        flight possibly stored and the items read but not sent as not sent.
        """
        account = Settlement(self._secret)
        result = account.result
        chunker = Chunker(items, self.chunk_size, self.max_chunk_bytes)
        flight: tuple[int, list[Item], int] | None = None
        failed_in_row = 0
        try:
            for number, (chunk, invalid) in enumerate(chunker):
                result.total = chunker.read - len(chunker.pending) - len(chunker.pending_invalid)
                account.invalid(invalid)
                if not chunk:
                    pass
                elif self.abort_after_failed_chunks is not None and (
                    failed_in_row >= self.abort_after_failed_chunks
                ):
                    if not result.aborted:
                        result.aborted = True
                        result.stopped = (
                            f"{failed_in_row} chunk(s) in a row failed; the rest was not sent"
                        )
                    account.not_sent(chunk, "not sent: the upload stopped after failed chunks")
                else:
                    flight = (number, chunk, account.settled)
                    ok = self._send_chunk(method, path, number, chunk, account, duplicates_matter)
                    flight = None
                    failed_in_row = 0 if ok else failed_in_row + 1
                if progress is not None:
                    progress(len(chunk) + len(invalid))
        except ArthurError as exc:
            self._wind_up(account, chunker, flight, exc.message)
            exc.result = result
            raise
        except KeyboardInterrupt as exc:
            self._wind_up(account, chunker, flight, "the upload was interrupted")
            raise UploadInterrupted(result) from exc
        except BaseException as exc:
            self._wind_up(account, chunker, flight, f"stopped by {type(exc).__name__}")
            exc.add_note(f"arthur_capture: the upload stopped; its account: {result.summary()}")
            raise
        result.total = chunker.read
        if result.aborted:
            logger.error(
                "upload stopped after %d failed chunk(s) in a row; %d record(s) not sent",
                self.abort_after_failed_chunks,
                sum(1 for f in result.failed if not f.sent),
            )
        return result

    @staticmethod
    def _wind_up(
        account: Settlement,
        chunker: Chunker,
        flight: tuple[int, list[Item], int] | None,
        reason: str,
    ) -> None:
        """Settle what an early stop leaves: the chunk in flight, the items read, not sent."""
        result = account.result
        if flight is not None:
            account.in_flight(*flight)
        invalid, pending = chunker.pending_invalid, chunker.pending
        chunker.pending_invalid, chunker.pending = [], []
        account.invalid(invalid)
        account.not_sent(pending, f"not sent: {reason}")
        result.total = chunker.read
        result.stopped = reason

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
            answer = self._call(
                method, path, what=what, attempts=attempts, content=json_array(chunk), result=result
            )
        except ArthurUnavailableError as exc:
            account.chunk_failed(
                number,
                chunk,
                exc.status,
                exc.message,
                exc.attempts,
                possibly_stored=attempts.ambiguous,
            )
            if duplicates_matter and attempts.duplicate_risk:
                account.possible_duplicates(chunk)
            return False
        except ArthurAPIError as exc:
            account.chunk_failed(
                number,
                chunk,
                exc.status,
                exc.message,
                attempts.count,
                possibly_stored=attempts.ambiguous,
            )
            if duplicates_matter and attempts.duplicate_risk:
                account.possible_duplicates(chunk)
            if exc.status in (401, 403, 404):
                exc.result = result
                raise
            return False
        if duplicates_matter and attempts.duplicate_risk:
            account.possible_duplicates(chunk)
        body, problem = self._body(answer)
        if problem is not None:
            account.unconfirmed(number, chunk, answer.status, problem)
        else:
            account.answered(number, chunk, answer.status, body)
        return True

    @staticmethod
    def _body(answer: Answer) -> tuple[Any, str | None]:
        """A 2xx answer's JSON (``None`` when empty or not JSON), and why it is unreadable.

        Unreadable: cut, too long, too slow, or nested too deep (``None`` when read whole).
        """
        if answer.problem is not None:
            return None, answer.problem
        body, problem = parse_json(answer.body)
        return body, problem if problem == TOO_DEEP else None

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
    ) -> Answer:
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

        def send() -> Answer:
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
    ) -> Answer:
        """One attempt, within the request deadline: a 2xx :class:`Answer`, or an error.

        Raises:
            Retryable: 5xx, 429, a timeout, a lost connection, any other failure of the
                HTTP stack before an answer came.
            ArthurAuthError: 401/403.
            ArthurAPIError: Another status.
        """
        headers = {"Content-Type": "application/json"} if content is not None else None
        seconds = self.request_deadline
        deadline = None if seconds is None else self._clock() + seconds
        with within(seconds):
            try:
                request = self._http.build_request(
                    method,
                    url,
                    content=content,
                    files=files() if files is not None else None,
                    data=data,
                    headers=headers,
                )
                response = self._http.send(request, stream=True)
            except (httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                raise Retryable(f"timed out connecting ({type(exc).__name__})") from None
            except httpx.TimeoutException as exc:
                if deadline is not None and self._clock() >= deadline:
                    message = f"no answer within the request deadline of {seconds:g} s"
                else:
                    message = f"timed out waiting for Arthur ({type(exc).__name__})"
                raise Retryable(message, ambiguous=True) from None
            except httpx.ConnectError as exc:
                raise Retryable(f"cannot connect: {self._detail(exc)}") from None
            except httpx.TransportError as exc:
                raise Retryable(
                    f"connection lost ({type(exc).__name__}): {self._detail(exc)}", ambiguous=True
                ) from None
            except (httpx.HTTPError, httpx.StreamError) as exc:
                raise Retryable(
                    f"the request failed: {type(exc).__name__}: {self._detail(exc)}",
                    ambiguous=True,
                ) from None
            try:
                ok = 200 <= response.status_code < 300
                limit = (
                    self.max_response_bytes if ok else min(MAX_ERROR_BYTES, self.max_response_bytes)
                )
                answer = read_answer(
                    response, max_bytes=limit, deadline=deadline, clock=self._clock
                )
            finally:
                with contextlib.suppress(httpx.HTTPError, httpx.StreamError, OSError):
                    response.close()
        return self._judged(answer)

    def _detail(self, exc: BaseException) -> str:
        """An exception of the HTTP stack as a short, redacted text."""
        return self._secret.shown(str(exc), MAX_MESSAGE) or type(exc).__name__

    def _judged(self, answer: Answer) -> Answer:
        """The answer if 2xx; else the error its status means.

        Raises:
            Retryable: 5xx or 429.
            ArthurAuthError: 401/403.
            ArthurAPIError: Another status.
        """
        status = answer.status
        if status == 429 or 500 <= status < 600:
            raise Retryable(
                f"Arthur answered {status}: {message_of(answer, self._secret)}",
                status=status,
                retry_after=parse_retry_after(answer.retry_after),
                ambiguous=status in _AMBIGUOUS_STATUSES,
            )
        if 200 <= status < 300:
            return answer
        message = message_of(answer, self._secret)
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

    def _cleaned(self, value: Any) -> Any:
        """A value from Arthur with every string in it redacted, then cut (keys too)."""
        if isinstance(value, str):
            return self._secret.shown(value, MAX_MESSAGE)
        if isinstance(value, dict):
            return {self._cleaned(k): self._cleaned(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._cleaned(v) for v in value]
        return value

    def _redacted(self, value: Any) -> Any:
        """A value from Arthur with every string in it redacted (keys too), none cut."""
        if isinstance(value, str):
            return self._secret.redact(value)
        if isinstance(value, dict):
            return {self._redacted(k): self._redacted(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._redacted(v) for v in value]
        return value

    def _failures(self, failures: Any) -> list[dict[str, Any]]:
        if not isinstance(failures, list):
            return []
        return [self._cleaned(f) for f in failures if isinstance(f, dict)]


def _version() -> str:
    from arthur_capture._version import __version__  # noqa: PLC0415

    return __version__
