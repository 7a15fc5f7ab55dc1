"""A small local stand-in for Arthur's v3 inference API, for tests and demos.

It speaks the documented contract (``/work/shared/spec/ARTHUR.md``, see ``docs/upload.md``):
``Authorization: <token>`` (no ``Bearer``), ``POST /inferences`` answered 207 with one
``{"status", "message"}`` per record in request order, ``/inferences/file`` (Parquet or
JSON, multipart), ground-truth ``PATCH`` and batch closing. It keeps what it accepted, keyed
by partner inference ID, and counts every arrival so tests can check "all arrived exactly
once". Faults can be injected: 5xx, 429 with ``Retry-After``, slow answers, dropped
connections, miscounted or short answers.

It only binds loopback (``127.0.0.1``) and bounds everything: body size, records per request,
stored records, request log, delays. Standard library only (plus pyarrow, imported when a
Parquet file arrives)::

    with LocalArthur(schema, model_id="m", token="t") as arthur:
        client = ArthurClient(arthur.url, "t", "m")
        ...
        assert arthur.duplicates == {}

Run it for a demo (the token may also come from ``ARTHUR_ACCESS_TOKEN``)::

    python -m arthur_capture.local_arthur --schema MODEL.json --model-id M --token T --port 8000

What it does not model: Arthur's asynchronous ingestion of files (here files are stored at
once), e-mail alerts, model registration, and any rule not in the spec.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import email.parser
import email.policy
import io
import logging
import os
import signal
import socketserver
import sys
import threading
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Final, Self

import orjson

from arthur_capture._json import dumps_json
from arthur_capture.arthur._secret import REDACTED, Secret
from arthur_capture.arthur.contract import INFERENCE_FIELDS, Stage, ValueType
from arthur_capture.arthur.mapping import coerce
from arthur_capture.arthur.schema import ModelSchema
from arthur_capture.errors import CaptureError, CoercionError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = ["Faults", "LocalArthur", "RequestLog", "main"]

logger = logging.getLogger(__name__)

HOST: Final = "127.0.0.1"
"""The only address the server binds."""
MAX_BODY_BYTES: Final = 256 * 1024 * 1024
"""Largest request body read; larger ones get 413 (the default is 64 MiB)."""
MAX_DELAY: Final = 60.0
"""Longest injected delay, in seconds."""
_FAULT_QUEUE: Final = 10_000
_REQUEST_LOG: Final = 100_000
_API: Final = "/api/v3/models/"
_SEND_STAGES: Final = frozenset({Stage.PIPELINE_INPUT, Stage.NON_INPUT_DATA, Stage.PREDICTED_VALUE})
_TRUTH_STAGES: Final = frozenset({Stage.GROUND_TRUTH, Stage.GROUND_TRUTH_CLASS})


class _BadRequestError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


# --------------------------------------------------------------------------- faults


@dataclass(frozen=True, slots=True)
class _Fault:
    kind: str
    status: int = 503
    retry_after: str | None = None
    seconds: float = 0.0
    after_processing: bool = False


class Faults:
    """Faults for the next requests, taken one per API request in the order injected.

    Each method queues ``n`` faults; a request that finds the queue empty is served
    normally. The queue holds at most 10,000 faults.
    """

    def __init__(self) -> None:
        """Start with no fault."""
        self._queue: collections.deque[_Fault] = collections.deque(maxlen=_FAULT_QUEUE)
        self._lock = threading.Lock()

    def _add(self, n: int, fault: _Fault) -> None:
        if not 0 <= n <= _FAULT_QUEUE:
            raise ValueError(f"n must be between 0 and {_FAULT_QUEUE}")
        with self._lock:
            self._queue.extend([fault] * n)

    def fail(self, n: int = 1, status: int = 503) -> None:
        """Answer the next ``n`` requests with ``status`` (a 5xx, or any status) and no work."""
        self._add(n, _Fault("fail", status=status))

    def throttle(self, n: int = 1, retry_after: str | None = "1") -> None:
        """Answer the next ``n`` requests 429, with ``Retry-After`` when given."""
        self._add(n, _Fault("fail", status=429, retry_after=retry_after))

    def delay(self, n: int = 1, seconds: float = 1.0) -> None:
        """Process the next ``n`` requests, then wait ``seconds`` (≤ 60) before answering.

        A client that times out meanwhile has had its records stored: its retry makes
        duplicates, which :attr:`LocalArthur.duplicates` shows.
        """
        if not 0 <= seconds <= MAX_DELAY:
            raise ValueError(f"seconds must be between 0 and {MAX_DELAY}")
        self._add(n, _Fault("delay", seconds=seconds))

    def drop(self, n: int = 1, *, after_processing: bool = False) -> None:
        """Close the connection of the next ``n`` requests without an answer.

        By default nothing is stored; with ``after_processing`` the records are stored first
        (so a retry makes duplicates).
        """
        self._add(n, _Fault("drop", after_processing=after_processing))

    def miscount(self, n: int = 1) -> None:
        """Serve the next ``n`` requests, with ``counts`` that disagree with ``results``."""
        self._add(n, _Fault("miscount"))

    def truncate_results(self, n: int = 1) -> None:
        """Serve the next ``n`` requests, leaving the last entry out of ``results``."""
        self._add(n, _Fault("truncate"))

    def clear(self) -> None:
        """Forget the faults not used yet."""
        with self._lock:
            self._queue.clear()

    def pending(self) -> int:
        """Faults not used yet."""
        with self._lock:
            return len(self._queue)

    def take(self) -> _Fault | None:
        """The fault for the request being served, if any."""
        with self._lock:
            return self._queue.popleft() if self._queue else None


# --------------------------------------------------------------------------- state


@dataclass(frozen=True, slots=True)
class RequestLog:
    """One request the server saw."""

    method: str
    """``POST``, ``PATCH``, ``GET``…"""
    path: str
    """The path, without the query."""
    status: int
    """The status answered (0 when the connection was dropped)."""
    records: int
    """Records (or rows) in the body, when it was read."""
    fault: str | None
    """The injected fault, if any."""


@dataclass(slots=True)
class _State:
    inferences: dict[str, dict[str, Any]] = field(default_factory=dict)
    arrivals: Counter[str] = field(default_factory=Counter)
    ground_truth: dict[str, dict[str, Any]] = field(default_factory=dict)
    batches: dict[str, dict[str, Any]] = field(default_factory=dict)
    files: list[dict[str, Any]] = field(default_factory=list)
    requests: collections.deque[RequestLog] = field(
        default_factory=lambda: collections.deque(maxlen=_REQUEST_LOG)
    )


def _aware(value: Any) -> bool:
    if isinstance(value, datetime):
        return value.tzinfo is not None and value.utcoffset() is not None
    if not isinstance(value, str):
        return False
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return False
    return moment.tzinfo is not None and moment.utcoffset() is not None


def _strict_check(value: Any, value_type: ValueType) -> str | None:
    """Why a JSON value does not have ``value_type``, or ``None``."""
    if value is None:
        return "may not be null" if value_type is ValueType.TIMESTAMP else None
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    ok = True
    if value_type is ValueType.INTEGER:
        ok = number and (isinstance(value, int) or float(value).is_integer())
    elif value_type is ValueType.FLOAT:
        ok = number
    elif value_type in (ValueType.STRING, ValueType.UNSTRUCTURED_TEXT):
        ok = isinstance(value, str)
    elif value_type is ValueType.BOOLEAN:
        ok = isinstance(value, bool)
    elif value_type is ValueType.TIMESTAMP:
        ok = _aware(value)
    elif value_type is ValueType.ARRAY_STRING:
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
    if ok:
        return None
    shown = repr(value)
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    return f"{shown} is not a valid {value_type}"


class LocalArthur:
    """A local Arthur v3 API for one model, served from a thread on ``127.0.0.1``.

    Args:
        schema: The model's attributes (what ``inference_data`` is checked against).
        model_id: The model ID in the URL path.
        token: The only token accepted in ``Authorization``.
        organization_id: When set, a request whose ``Arthur-Organization-ID`` is present and
            different gets 403 (absent is accepted, as for single-organisation keys).
        port: 0 picks a free port.
        strict_types: Check JSON types exactly (a FLOAT is a number, not ``"1.5"``); when
            false, :func:`~arthur_capture.schema.coerce` decides.
        max_body_bytes: Larger bodies are refused with 413 (at most 256 MiB).
        max_records: More records in one request are refused with 413 (Arthur's guidance
            is fewer than 100,000).
        max_stored: Records kept at most; beyond, records are refused with 507.
    """

    def __init__(
        self,
        schema: ModelSchema,
        *,
        model_id: str = "local-model",
        token: str | Secret = "local-token",  # noqa: S107 - a demo default, documented
        organization_id: str | None = None,
        port: int = 0,
        strict_types: bool = True,
        max_body_bytes: int = 64 * 1024 * 1024,
        max_records: int = 100_000,
        max_stored: int = 2_000_000,
    ) -> None:
        """Configure the server (call :meth:`start`, or use it as a context manager)."""
        if not 0 < max_body_bytes <= MAX_BODY_BYTES:
            raise ValueError(f"max_body_bytes must be between 1 and {MAX_BODY_BYTES}")
        if not 0 <= port <= 65535:
            raise ValueError("port must be between 0 and 65535")
        self.schema = schema
        self.model_id = model_id
        self._secret = token if isinstance(token, Secret) else Secret(token)
        self.organization_id = organization_id
        self.strict_types = strict_types
        self.max_body_bytes = max_body_bytes
        self.max_records = max_records
        self.max_stored = max_stored
        self.faults = Faults()
        """Faults for the next requests."""
        self.file_status = 207
        """Status answered for an accepted ``/inferences/file`` upload (207, or 201)."""
        self._port = port
        self._attrs = schema.by_name()
        self._required = [
            a.name
            for a in schema.attributes
            if a.stage is Stage.PIPELINE_INPUT
            or (a.stage is Stage.PREDICTED_VALUE and not a.implicit)
        ]
        self._state = _State()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        """Model, address; never the token."""
        where = self.url if self._server is not None else "stopped"
        return f"LocalArthur(model_id={self.model_id!r}, url={where!r}, token={REDACTED!r})"

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> Self:
        """Bind ``127.0.0.1`` and serve from a daemon thread."""
        if self._server is not None:
            raise RuntimeError("the server is already running")
        self._stop.clear()
        server = _Server((HOST, self._port), _handler_class(self))
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket (injected delays are cut short)."""
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def wait(self) -> None:
        """Block until :meth:`stop` is called (or the process is interrupted)."""
        self._stop.wait()

    def __enter__(self) -> Self:
        """Start the server."""
        return self.start()

    def __exit__(self, *exc: object) -> None:
        """Stop the server."""
        self.stop()

    @property
    def port(self) -> int:
        """The port bound."""
        if self._server is None:
            raise RuntimeError("the server is not running")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``: pass it to the client as the host."""
        return f"http://{HOST}:{self.port}"

    # ----------------------------------------------------------------- what tests look at

    @property
    def inferences(self) -> dict[str, dict[str, Any]]:
        """Accepted inferences by partner ID (the first copy of each)."""
        with self._lock:
            return dict(self._state.inferences)

    @property
    def arrivals(self) -> Counter[str]:
        """How many times each partner ID was accepted (2 or more: a duplicate)."""
        with self._lock:
            return Counter(self._state.arrivals)

    @property
    def duplicates(self) -> dict[str, int]:
        """Partner IDs accepted more than once, with their counts."""
        with self._lock:
            return {k: v for k, v in self._state.arrivals.items() if v > 1}

    @property
    def ground_truth(self) -> dict[str, dict[str, Any]]:
        """Ground-truth updates by partner ID (the latest)."""
        with self._lock:
            return dict(self._state.ground_truth)

    @property
    def batches(self) -> dict[str, dict[str, Any]]:
        """Batches seen, with ``received`` and, once closed, ``status`` and the total."""
        with self._lock:
            return {k: dict(v) for k, v in self._state.batches.items()}

    @property
    def files(self) -> list[dict[str, Any]]:
        """File uploads: ``filename``, ``content_type``, ``rows``, ``batch_id``, ``failures``."""
        with self._lock:
            return list(self._state.files)

    @property
    def requests(self) -> list[RequestLog]:
        """The requests seen (the last 100,000)."""
        with self._lock:
            return list(self._state.requests)

    def request_count(self, method: str | None = None, path_suffix: str | None = None) -> int:
        """Requests seen, optionally of one method and with a path ending in ``path_suffix``."""
        return sum(
            1
            for r in self.requests
            if (method is None or r.method == method)
            and (path_suffix is None or r.path.endswith(path_suffix))
        )

    def reset(self) -> None:
        """Forget everything stored and logged, and every pending fault."""
        with self._lock:
            self._state = _State()
        self.faults.clear()

    # ----------------------------------------------------------------- validation

    def check_inference(self, obj: Any) -> str | None:
        """Why Arthur's ``POST /inferences`` would refuse one record, or ``None``."""
        if not isinstance(obj, dict):
            return "an inference must be a JSON object"
        unknown = sorted(set(obj) - INFERENCE_FIELDS)
        if unknown:
            return f"unknown field(s): {', '.join(unknown)}"
        partner_id = obj.get("partner_inference_id")
        if not isinstance(partner_id, str) or not partner_id:
            return "partner_inference_id is required and must be a non-empty string"
        if len(partner_id) > 255:
            return "partner_inference_id must be at most 255 characters"
        if "inference_timestamp" not in obj:
            return "inference_timestamp is required"
        if not _aware(obj["inference_timestamp"]):
            return "inference_timestamp must be a timezone-aware ISO 8601 timestamp"
        data = obj.get("inference_data")
        if not isinstance(data, dict):
            return "inference_data is required and must be an object"
        batch_id = obj.get("batch_id")
        if self.schema.is_batch and not isinstance(batch_id, str):
            return "batch_id is required for a batch model"
        if batch_id is not None and not isinstance(batch_id, str):
            return "batch_id must be a string"
        problem = self._check_values(data, _SEND_STAGES)
        if problem is not None:
            return problem
        missing = [n for n in self._required if n not in data]
        if missing:
            return f"inference_data lacks required attribute(s): {', '.join(missing[:5])}"
        if "ground_truth_data" in obj:
            return self._check_truth(obj)
        return None

    def check_ground_truth(self, obj: Any) -> str | None:
        """Why a ground-truth update would be refused, or ``None``."""
        if not isinstance(obj, dict):
            return "a ground-truth update must be a JSON object"
        partner_id = obj.get("partner_inference_id")
        if not isinstance(partner_id, str) or not partner_id or len(partner_id) > 255:
            return "partner_inference_id is required (a string of 1 to 255 characters)"
        return self._check_truth(obj)

    def _check_truth(self, obj: Mapping[str, Any]) -> str | None:
        if not _aware(obj.get("ground_truth_timestamp")):
            return "ground_truth_timestamp is required and must be timezone-aware ISO 8601"
        data = obj.get("ground_truth_data")
        if not isinstance(data, dict):
            return "ground_truth_data is required and must be an object"
        return self._check_values(data, _TRUTH_STAGES)

    def _check_values(self, data: Mapping[str, Any], stages: frozenset[Stage]) -> str | None:
        for name, value in data.items():
            attr = self._attrs.get(name)
            if attr is None or attr.stage not in stages:
                return f"{name!r} is not an attribute of this model for this field"
            if self.strict_types:
                problem = _strict_check(value, attr.value_type)
            else:
                try:
                    coerce(value, attr.value_type)
                    problem = None
                except CoercionError as exc:
                    problem = exc.message
            if problem is not None:
                return f"attribute {name!r} ({attr.value_type}): {problem}"
        return None

    # ----------------------------------------------------------------- endpoints

    def _post_inferences(self, body: bytes) -> tuple[int, dict[str, Any], int]:
        records = _json_array(body)
        if len(records) > self.max_records:
            msg = f"{len(records)} inferences in one request; at most {self.max_records}"
            raise _BadRequestError(413, msg)
        results: list[dict[str, Any]] = []
        with self._lock:
            for obj in records:
                problem = self.check_inference(obj)
                if problem is None:
                    problem = self._store(obj)
                if problem is None:
                    results.append({"status": 200, "message": "success"})
                else:
                    status = 507 if problem.startswith("storage") else 400
                    results.append({"status": status, "message": problem})
        return 207, _multi_status(results), len(records)

    def _store(self, obj: dict[str, Any]) -> str | None:
        """Store one valid inference (the caller holds the lock)."""
        state = self._state
        partner_id = obj["partner_inference_id"]
        if partner_id not in state.inferences and len(state.inferences) >= self.max_stored:
            return f"storage full: this server keeps at most {self.max_stored} records"
        state.inferences.setdefault(partner_id, obj)
        state.arrivals[partner_id] += 1
        batch_id = obj.get("batch_id")
        if isinstance(batch_id, str):
            batch = state.batches.setdefault(batch_id, {"received": 0, "status": "started"})
            batch["received"] += 1
        return None

    def _patch_ground_truth(self, body: bytes) -> tuple[int, dict[str, Any], int]:
        updates = _json_array(body)
        if len(updates) > self.max_records:
            raise _BadRequestError(413, f"at most {self.max_records} updates per request")
        results: list[dict[str, Any]] = []
        with self._lock:
            for obj in updates:
                problem = self.check_ground_truth(obj)
                if problem is None and obj["partner_inference_id"] not in self._state.inferences:
                    problem = "no inference has this partner_inference_id"
                if problem is None:
                    self._state.ground_truth[obj["partner_inference_id"]] = obj
                    results.append({"status": 200, "message": "success"})
                else:
                    results.append({"status": 400, "message": problem})
        return 207, _multi_status(results), len(updates)

    def _patch_batch(self, batch_id: str, body: bytes) -> tuple[int, dict[str, Any], int]:
        try:
            obj = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise _BadRequestError(400, f"the body is not valid JSON: {exc}") from None
        if not isinstance(obj, dict) or obj.get("status") != "uploaded":
            raise _BadRequestError(400, 'the body must be {"status": "uploaded", ...}')
        total = obj.get("total_record_count")
        if total is not None and (isinstance(total, bool) or not isinstance(total, int)):
            raise _BadRequestError(400, "total_record_count must be an integer")
        with self._lock:
            batch = self._state.batches.setdefault(batch_id, {"received": 0})
            batch["status"] = "uploaded"
            batch["total_record_count"] = total
            answer = {"id": batch_id, **batch}
        return 200, answer, 0

    def _post_file(self, content_type: str, body: bytes) -> tuple[int, dict[str, Any], int]:
        fields = _multipart(content_type, body)
        if "inference_data" not in fields:
            raise _BadRequestError(400, "the multipart field inference_data is required")
        filename, file_type, data = fields["inference_data"]
        batch_field = fields.get("batch_id")
        batch_id = batch_field[2].decode("utf-8", "replace") if batch_field else None
        rows = self._parquet_rows(data) if data[:4] == b"PAR1" else _json_array(data)
        if len(rows) > 10 * self.max_records:
            raise _BadRequestError(413, "too many rows in one file")
        failures: list[dict[str, Any]] = []
        success = 0
        with self._lock:
            for index, row in enumerate(rows):
                if batch_id is not None and isinstance(row, dict):
                    row["batch_id"] = batch_id
                problem = self.check_inference(row)
                if problem is None:
                    problem = self._store(row)
                if problem is None:
                    success += 1
                else:
                    failures.append({"status": 400, "message": problem, "index": index})
            self._state.files.append(
                {
                    "filename": filename,
                    "content_type": file_type,
                    "rows": len(rows),
                    "batch_id": batch_id,
                    "failures": len(failures),
                }
            )
        counts = {"success": success, "failure": len(failures), "total": len(rows)}
        status = self.file_status if not failures else 207
        return status, {"counts": counts, "failures": failures}, len(rows)

    def _parquet_rows(self, data: bytes) -> list[Any]:
        try:
            import pyarrow.parquet as pq  # noqa: PLC0415
        except ImportError:
            raise _BadRequestError(415, "this server needs pyarrow to read Parquet") from None
        try:
            table = pq.read_table(io.BytesIO(data))
        except Exception as exc:  # noqa: BLE001 - pyarrow raises many kinds for bad files
            msg = f"inference_data is not a readable Parquet file: {exc}"
            raise _BadRequestError(400, msg) from None
        return [self._nest(row) for row in table.to_pylist()]

    def _nest(self, row: dict[str, Any]) -> dict[str, Any]:
        """A flat Parquet row as a ``NewInference`` object (unknown columns stay on top)."""
        obj: dict[str, Any] = {}
        for name, value in row.items():
            attr = self._attrs.get(name)
            if isinstance(value, datetime):
                value = value.isoformat()  # noqa: PLW2901 - normalising in place
            if name in INFERENCE_FIELDS:
                obj[name] = value
            elif attr is not None and attr.stage in _SEND_STAGES:
                obj.setdefault("inference_data", {})[name] = value
            elif attr is not None and attr.stage in _TRUTH_STAGES:
                obj.setdefault("ground_truth_data", {})[name] = value
            else:
                obj[name] = value
        obj.setdefault("inference_data", {})
        return obj

    def _get_model(self) -> tuple[int, dict[str, Any], int]:
        attributes = [a.model_dump(mode="json", exclude_none=True) for a in self.schema.attributes]
        answer = {"id": self.model_id, "is_batch": self.schema.is_batch, "attributes": attributes}
        return 200, answer, 0

    # ----------------------------------------------------------------- dispatch

    def _authorised(self, headers: Any) -> tuple[int, str] | None:
        """``(status, message)`` when the request must be refused for its credentials."""
        if not self._secret.matches(headers.get("Authorization")):
            return 401, "missing or invalid Authorization header (send the raw token)"
        org = headers.get("Arthur-Organization-ID")
        if self.organization_id is not None and org is not None and org != self.organization_id:
            return 403, "the token has no access to this organization"
        return None

    def _route(
        self, method: str, path: str, content_type: str, body: bytes
    ) -> tuple[int, dict[str, Any], int]:
        if not path.startswith(_API):
            raise _BadRequestError(404, "not found")
        parts = [urllib.parse.unquote(p) for p in path[len(_API) :].split("/")]
        if parts[0] != self.model_id:
            raise _BadRequestError(404, f"no model with id {parts[0][:80]!r}")
        rest = parts[1:]
        routes: dict[tuple[str, tuple[str, ...]], Any] = {
            ("POST", ("inferences",)): lambda: self._post_inferences(body),
            ("POST", ("inferences", "file")): lambda: self._post_file(content_type, body),
            ("PATCH", ("inferences",)): lambda: self._patch_ground_truth(body),
            ("PATCH", ("ground_truth",)): lambda: self._patch_ground_truth(body),
            ("GET", ()): self._get_model,
        }
        if method == "PATCH" and len(rest) == 2 and rest[0] == "batches" and rest[1]:
            return self._patch_batch(rest[1], body)
        handler = routes.get((method, tuple(rest)))
        if handler is None:
            known = any(key[1] == tuple(rest) for key in routes)
            raise _BadRequestError(405 if known else 404, f"no route for {method} {path[:200]}")
        result: tuple[int, dict[str, Any], int] = handler()
        return result

    def _log(self, entry: RequestLog) -> None:
        with self._lock:
            self._state.requests.append(entry)


def _multi_status(results: list[dict[str, Any]]) -> dict[str, Any]:
    success = sum(1 for r in results if r["status"] == 200)
    return {
        "counts": {"success": success, "failure": len(results) - success, "total": len(results)},
        "results": results,
    }


def _json_array(body: bytes) -> list[Any]:
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise _BadRequestError(400, f"the body is not valid JSON: {exc}") from None
    if not isinstance(value, list):
        raise _BadRequestError(400, "the body must be a JSON array")
    return value


def _multipart(content_type: str, body: bytes) -> dict[str, tuple[str | None, str, bytes]]:
    """``name → (filename, content type, bytes)`` of a ``multipart/form-data`` body."""
    if not content_type.lower().startswith("multipart/form-data"):
        raise _BadRequestError(415, "the body must be multipart/form-data")
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    if not message.is_multipart():
        raise _BadRequestError(400, "the multipart body cannot be read")
    fields: dict[str, tuple[str | None, str, bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        fields[name] = (part.get_filename(), part.get_content_type(), data)
    return fields


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = False

    def server_bind(self) -> None:
        # HTTPServer.server_bind would look the host name up (getfqdn), which can be slow.
        socketserver.TCPServer.server_bind(self)
        self.server_name = HOST
        self.server_port = int(self.server_address[1])

    def handle_error(self, request: Any, client_address: Any) -> None:  # noqa: ARG002
        # Called from socketserver's except block: the traceback goes to the log, not stderr.
        logger.error("local Arthur: error while serving %s", client_address, exc_info=True)  # noqa: LOG014


def _handler_class(app: LocalArthur) -> type[BaseHTTPRequestHandler]:
    class Handler(_Handler):
        arthur = app

    return Handler


class _Handler(BaseHTTPRequestHandler):
    arthur: LocalArthur
    protocol_version = "HTTP/1.1"
    server_version = "LocalArthur/1"
    sys_version = ""
    timeout = 30  # idle keep-alive connections are closed after this many seconds
    disable_nagle_algorithm = True  # headers and body go out at once, not 40 ms apart

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
        logger.debug("%s %s", self.client_address[0], format % args)

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def _read_body(self) -> bytes | tuple[int, str]:
        """The body, or the status and message to answer when it cannot be read."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return 411, "chunked bodies are not supported"
        length_text = self.headers.get("Content-Length") or "0"
        try:
            length = int(length_text)
        except ValueError:
            return 400, "Content-Length is not a number"
        if length < 0 or length > self.arthur.max_body_bytes:
            return 413, f"the body is larger than {self.arthur.max_body_bytes} bytes"
        return self.rfile.read(length) if length else b""

    def _serve(self, method: str) -> None:
        """Serve one request; it is logged before it is answered (so counts are settled)."""
        app = self.arthur
        path = urllib.parse.urlsplit(self.path).path
        body = self._read_body()
        if isinstance(body, tuple):
            app._log(RequestLog(method, path, body[0], 0, None))  # noqa: SLF001
            self._answer(body[0], {"message": body[1]}, close=True)
            return
        fault = app.faults.take() if path.startswith("/api/") else None
        kind = fault.kind if fault is not None else None
        if fault is not None and fault.kind == "fail":
            headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
            app._log(RequestLog(method, path, fault.status, 0, kind))  # noqa: SLF001
            message = f"injected: {_phrase(fault.status)}"
            self._answer(fault.status, {"message": message}, headers=headers)
            return
        if fault is not None and fault.kind == "drop" and not fault.after_processing:
            app._log(RequestLog(method, path, 0, 0, kind))  # noqa: SLF001
            self._drop()
            return
        refused = app._authorised(self.headers)  # noqa: SLF001
        if refused is not None:
            app._log(RequestLog(method, path, refused[0], 0, kind))  # noqa: SLF001
            self._answer(refused[0], {"message": refused[1]})
            return
        content_type = self.headers.get("Content-Type") or ""
        try:
            status, answer, records = app._route(method, path, content_type, body)  # noqa: SLF001
        except _BadRequestError as exc:
            app._log(RequestLog(method, path, exc.status, 0, kind))  # noqa: SLF001
            self._answer(exc.status, {"message": exc.message})
            return
        if fault is not None and fault.kind == "drop":
            app._log(RequestLog(method, path, 0, records, kind))  # noqa: SLF001
            self._drop()
            return
        app._log(RequestLog(method, path, status, records, kind))  # noqa: SLF001
        if fault is not None:
            answer = _faulty(fault, answer)
            if fault.kind == "delay" and app._stop.wait(fault.seconds):  # noqa: SLF001
                return
        self._answer(status, answer)

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(2)

    def _answer(
        self,
        status: int,
        body: dict[str, Any],
        *,
        headers: Mapping[str, str] | None = None,
        close: bool = False,
    ) -> None:
        data = dumps_json(body)
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            if close:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()
        except OSError:  # the client went away (e.g. it timed out during a delay)
            self.close_connection = True


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "fault"


def _faulty(fault: _Fault, answer: dict[str, Any]) -> dict[str, Any]:
    if fault.kind == "miscount" and isinstance(answer.get("counts"), dict):
        counts = dict(answer["counts"])
        counts["success"] = counts.get("success", 0) + 1
        return {**answer, "counts": counts}
    if fault.kind == "truncate" and isinstance(answer.get("results"), list):
        return {**answer, "results": answer["results"][:-1]}
    return answer


# --------------------------------------------------------------------------- command line


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m arthur_capture.local_arthur",
        description="Serve a local stand-in for Arthur's v3 inference API on 127.0.0.1.",
    )
    parser.add_argument("--schema", required=True, metavar="MODEL.json", help="model schema JSON")
    parser.add_argument("--model-id", default=None, help="model ID (default: the schema's id)")
    parser.add_argument(
        "--token",
        default=None,
        help="the token to accept (default: $ARTHUR_ACCESS_TOKEN; visible to ps when given here)",
    )
    parser.add_argument("--org-id", default=None, help="organization ID to check, if any")
    parser.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    parser.add_argument(
        "--lenient-types", action="store_true", help="coerce values instead of strict JSON types"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until interrupted; prints the URL on stdout. Returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        with open(args.schema, "rb") as handle:  # noqa: PTH123
            schema = ModelSchema.from_json(handle.read())
    except OSError as exc:
        print(f"local_arthur: cannot read {args.schema}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except CaptureError as exc:
        print(f"local_arthur: {exc.message}", file=sys.stderr)
        return 2
    token = args.token or os.environ.get("ARTHUR_ACCESS_TOKEN")
    model_id = args.model_id or schema.model_id
    if not token or not model_id:
        print("local_arthur: give --token (or ARTHUR_ACCESS_TOKEN) and --model-id", file=sys.stderr)
        return 2
    try:
        server = LocalArthur(
            schema,
            model_id=model_id,
            token=token,
            organization_id=args.org_id,
            port=args.port,
            strict_types=not args.lenient_types,
        )
        server.start()
    except (OSError, ValueError) as exc:
        print(f"local_arthur: cannot start: {exc}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, lambda *_: server._stop.set())  # noqa: SLF001
    print(server.url, flush=True)
    print(
        f"local_arthur: serving model {model_id!r} at {server.url}/api/v3 "
        "(Ctrl-C or SIGTERM stops)",
        file=sys.stderr,
        flush=True,
    )
    try:
        server.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    arrivals = server.arrivals
    print(
        f"local_arthur: {len(arrivals)} inference(s) stored, "
        f"{sum(arrivals.values()) - len(arrivals)} duplicate arrival(s)",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
