"""A small local stand-in for Arthur's v3 inference API, for tests and demos.

It speaks Arthur's documented v3 contract (described in ``docs/upload.md``):
``Authorization: <token>`` (no ``Bearer``), ``POST /inferences`` answered 207 with one
``{"status", "message"}`` per record in request order, ``/inferences/file`` (Parquet or
JSON, multipart), ``/inferences/integrations/sagemaker_data_capture`` (a capture file,
multipart, read with the library's reader; ``BASE64`` sides refused; 207 with failures
carrying ``event_id`` and ``inference_index_in_event``), ground-truth ``PATCH`` and batch
closing, and ``GET /models/{id}?expand=attributes`` (the model's fields and its attributes,
as Arthur answers them). It keeps what it accepted, keyed
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

    python -m arthur_capture.testing --schema MODEL.json --model-id M --token T --port 8000

What it does not model: Arthur's asynchronous ingestion of files (here files are stored at
once), e-mail alerts, model registration, and any rule not in the spec.

:class:`LocalArthur` is the API: credentials, routes, endpoints, faults, and the server's
lifecycle. It checks objects with :mod:`._checks`, keeps them in :mod:`._state`, reads bodies
with :mod:`._bodies` and is served over HTTP by :mod:`._http`, through :meth:`LocalArthur.handle`.
"""

from __future__ import annotations

import threading
import urllib.parse
import uuid
from typing import TYPE_CHECKING, Any, Final, Self

from arthur_capture.arthur._secret import REDACTED, Secret
from arthur_capture.testing._bodies import (
    RequestError,
    capture_inferences,
    json_array,
    json_value,
    multipart,
    parquet_rows,
)
from arthur_capture.testing._checks import Checker
from arthur_capture.testing._faults import FaultKind, Faults
from arthur_capture.testing._http import HOST, Response, Unreadable, make_server
from arthur_capture.testing._state import RequestLog, Store

if TYPE_CHECKING:
    from collections import Counter
    from collections.abc import Callable, Mapping
    from http.server import ThreadingHTTPServer

    from arthur_capture.arthur.schema import ModelSchema
    from arthur_capture.testing._http import Headers

__all__ = ["MAX_BODY_BYTES", "LocalArthur"]

MAX_BODY_BYTES: Final = 256 * 1024 * 1024
"""Largest request body read; larger ones get 413 (the default is 64 MiB)."""
_API: Final = "/api/v3/models/"
_DROPPED: Final = Response(0, drop=True)

_Answer = tuple[int, dict[str, Any], int]
"""An endpoint's status, JSON answer, and the records (or rows) its body held."""

ATTRIBUTE_DEFAULTS: Final[dict[str, Any]] = {
    "id": None,
    "name": None,
    "label": None,
    "value_type": None,
    "stage": None,
    "position": None,
    "categorical": False,
    "min_range": None,
    "max_range": None,
    "monitor_for_bias": False,
    "categories": None,
    "bins": None,
    "is_unique": False,
    "is_positive_predicted_attribute": False,
    "attribute_link": None,
    "gt_class_link": None,
    "implicit": False,
}
"""Every field of an attribute in Arthur's model answer, with the value of one not set."""
_CREATED: Final = "2024-01-01T00:00:00.000000Z"


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
            false, :func:`~arthur_capture.arthur.mapping.coerce` decides.
        max_body_bytes: Larger bodies are refused with 413 (at most 256 MiB).
        max_records: More records in one request are refused with 413 (Arthur's guidance
            is fewer than 100,000).
        max_stored: Records kept at most; beyond, records are refused with 507.
        model: Fields of the model answered to ``GET /models/{id}`` (``display_name``,
            ``partner_model_id``, ``input_type``…) over the ones made up from the schema;
            its ``attributes`` are always the schema's.
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
        model: Mapping[str, Any] | None = None,
    ) -> None:
        """Configure the server (call :meth:`start`, or use it as a context manager)."""
        if not 0 < max_body_bytes <= MAX_BODY_BYTES:
            raise ValueError(f"max_body_bytes must be between 1 and {MAX_BODY_BYTES}")
        if not 0 <= port <= 65535:
            raise ValueError("port must be between 0 and 65535")
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
        self._model = {k: v for k, v in (model or {}).items() if k != "attributes"}
        self._checker = Checker(schema)
        self._store = Store()
        self._stop = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def schema(self) -> ModelSchema:
        """The model's attributes."""
        return self._checker.schema

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
        server = make_server(self, self._port)
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
        return self._store.inferences()

    @property
    def arrivals(self) -> Counter[str]:
        """How many times each partner ID was accepted (2 or more: a duplicate)."""
        return self._store.arrivals()

    @property
    def duplicates(self) -> dict[str, int]:
        """Partner IDs accepted more than once, with their counts."""
        return self._store.duplicates()

    @property
    def ground_truth(self) -> dict[str, dict[str, Any]]:
        """Ground-truth updates by partner ID (the latest)."""
        return self._store.ground_truth()

    @property
    def batches(self) -> dict[str, dict[str, Any]]:
        """Batches seen, with ``received`` and, once closed, ``status`` and the total."""
        return self._store.batches()

    @property
    def files(self) -> list[dict[str, Any]]:
        """File uploads: ``filename``, ``content_type``, ``rows``, ``batch_id``, ``failures``."""
        return self._store.files()

    @property
    def requests(self) -> list[RequestLog]:
        """The requests seen (the last 100,000)."""
        return self._store.requests()

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
        self._store.clear()
        self.faults.clear()

    # ----------------------------------------------------------------- validation

    def check_inference(self, obj: Any) -> str | None:
        """Why Arthur's ``POST /inferences`` would refuse one record, or ``None``."""
        return self._checker.inference_problem(obj, strict_types=self.strict_types)

    def check_ground_truth(self, obj: Any) -> str | None:
        """Why a ground-truth update would be refused, or ``None``."""
        return self._checker.ground_truth_problem(obj, strict_types=self.strict_types)

    # ----------------------------------------------------------------- serving

    def handle(
        self,
        method: str,
        path: str,
        headers: Headers,
        body: bytes | Unreadable,
        query: str = "",
    ) -> Response | None:
        """Serve one request: the response, or ``None`` to say nothing (the server is stopping).

        Faults are taken here, one per ``/api/`` request. Every request is logged before it is
        answered, so counts are settled when the client reads the answer.
        """
        if isinstance(body, Unreadable):
            self._log(method, path, body.status, 0, None)
            return Response(body.status, {"message": body.message}, close=True)
        fault = self.faults.take() if path.startswith("/api/") else None
        kind = fault.kind.value if fault is not None else None
        if fault is not None and fault.kind is FaultKind.FAIL:
            retry = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
            self._log(method, path, fault.status, 0, kind)
            return Response(fault.status, {"message": fault.message}, headers=retry)
        if fault is not None and fault.kind is FaultKind.DROP and not fault.after_processing:
            self._log(method, path, 0, 0, kind)
            return _DROPPED
        refused = self._refusal(headers)
        if refused is not None:
            self._log(method, path, refused.status, 0, kind)
            return refused
        content_type = headers.get("Content-Type") or ""
        try:
            status, answer, records = self._route(method, path, content_type, body, query)
        except RequestError as exc:
            self._log(method, path, exc.status, 0, kind)
            return Response(exc.status, {"message": exc.message})
        if fault is not None and fault.kind is FaultKind.DROP:
            self._log(method, path, 0, records, kind)
            return _DROPPED
        self._log(method, path, status, records, kind)
        if fault is None:
            return Response(status, answer)
        answer = fault.alter(answer)
        if fault.kind is FaultKind.DELAY and self._stop.wait(fault.seconds):
            return None
        return Response(status, answer)

    def _log(self, method: str, path: str, status: int, records: int, fault: str | None) -> None:
        self._store.log(RequestLog(method, path, status, records, fault))

    def _refusal(self, headers: Headers) -> Response | None:
        """The answer when the request must be refused for its credentials."""
        if not self._secret.matches(headers.get("Authorization")):
            message = "missing or invalid Authorization header (send the raw token)"
            return Response(401, {"message": message})
        org = headers.get("Arthur-Organization-ID")
        if self.organization_id is not None and org is not None and org != self.organization_id:
            return Response(403, {"message": "the token has no access to this organization"})
        return None

    def _route(
        self, method: str, path: str, content_type: str, body: bytes, query: str = ""
    ) -> _Answer:
        if not path.startswith(_API):
            raise RequestError(404, "not found")
        parts = [urllib.parse.unquote(p) for p in path[len(_API) :].split("/")]
        if parts[0] != self.model_id:
            raise RequestError(404, f"no model with id {parts[0][:80]!r}")
        rest = tuple(parts[1:])
        if method == "PATCH" and len(rest) == 2 and rest[0] == "batches" and rest[1]:
            return self._patch_batch(rest[1], body)
        routes: dict[tuple[str, tuple[str, ...]], Callable[[], _Answer]] = {
            ("POST", ("inferences",)): lambda: self._post_inferences(body),
            ("POST", ("inferences", "file")): lambda: self._post_file(content_type, body),
            ("POST", ("inferences", "integrations", "sagemaker_data_capture")): lambda: (
                self._post_capture_file(content_type, body)
            ),
            ("PATCH", ("inferences",)): lambda: self._patch_ground_truth(body),
            ("PATCH", ("ground_truth",)): lambda: self._patch_ground_truth(body),
            ("GET", ()): lambda: self._get_model(query),
        }
        endpoint = routes.get((method, rest))
        if endpoint is None:
            known = any(key[1] == rest for key in routes)
            raise RequestError(405 if known else 404, f"no route for {method} {path[:200]}")
        return endpoint()

    # ----------------------------------------------------------------- endpoints

    def _post_inferences(self, body: bytes) -> _Answer:
        records = json_array(body)
        if len(records) > self.max_records:
            msg = f"{len(records)} inferences in one request; at most {self.max_records}"
            raise RequestError(413, msg)
        problems = self._store.add_inferences(
            records, self.check_inference, max_stored=self.max_stored
        )
        results = [
            {"status": 200, "message": "success"}
            if problem is None
            else {"status": 507 if problem.startswith("storage") else 400, "message": problem}
            for problem in problems
        ]
        return 207, _multi_status(results), len(records)

    def _patch_ground_truth(self, body: bytes) -> _Answer:
        updates = json_array(body)
        if len(updates) > self.max_records:
            raise RequestError(413, f"at most {self.max_records} updates per request")
        problems = self._store.add_ground_truth(updates, self.check_ground_truth)
        results = [
            {"status": 200, "message": "success"}
            if problem is None
            else {"status": 400, "message": problem}
            for problem in problems
        ]
        return 207, _multi_status(results), len(updates)

    def _patch_batch(self, batch_id: str, body: bytes) -> _Answer:
        obj = json_value(body)
        if not isinstance(obj, dict) or obj.get("status") != "uploaded":
            raise RequestError(400, 'the body must be {"status": "uploaded", ...}')
        total = obj.get("total_record_count")
        if total is not None and (isinstance(total, bool) or not isinstance(total, int)):
            raise RequestError(400, "total_record_count must be an integer")
        batch = self._store.close_batch(batch_id, total)
        return 200, {"id": batch_id, **batch}, 0

    def _post_file(self, content_type: str, body: bytes) -> _Answer:
        fields = multipart(content_type, body)
        if "inference_data" not in fields:
            raise RequestError(400, "the multipart field inference_data is required")
        filename, file_type, data = fields["inference_data"]
        batch_field = fields.get("batch_id")
        batch_id = batch_field[2].decode("utf-8", "replace") if batch_field else None
        if data[:4] == b"PAR1":
            rows = parquet_rows(data, self._checker.attributes)
        else:
            rows = json_array(data)
        if len(rows) > 10 * self.max_records:
            raise RequestError(413, "too many rows in one file")
        if batch_id is not None:
            for row in rows:
                if isinstance(row, dict):
                    row["batch_id"] = batch_id
        problems = self._store.add_inferences(
            rows, self.check_inference, max_stored=self.max_stored
        )
        failures = [
            {"status": 400, "message": problem, "index": index}
            for index, problem in enumerate(problems)
            if problem is not None
        ]
        self._store.add_file(
            {
                "filename": filename,
                "content_type": file_type,
                "rows": len(rows),
                "batch_id": batch_id,
                "failures": len(failures),
            }
        )
        counts = {
            "success": len(rows) - len(failures),
            "failure": len(failures),
            "total": len(rows),
        }
        status = self.file_status if not failures else 207
        return status, {"counts": counts, "failures": failures}, len(rows)

    def _post_capture_file(self, content_type: str, body: bytes) -> _Answer:
        """``POST /inferences/integrations/sagemaker_data_capture``: a capture file, as is.

        Answered 207 with counts of inferences and one failure per refused inference (or
        event: a ``BASE64`` side refuses its event whole), each with ``event_id`` and
        ``inference_index_in_event``.
        """
        fields = multipart(content_type, body)
        if "inference_data" not in fields:
            raise RequestError(400, "the multipart field inference_data is required")
        filename, file_type, data = fields["inference_data"]
        if not filename or not filename.endswith(".jsonl"):
            raise RequestError(400, "the inference_data file's name must end in .jsonl")
        inferences, failures = capture_inferences(data, self.schema, filename)
        if len(inferences) > 10 * self.max_records:
            raise RequestError(413, "too many inferences in one file")
        total = len(inferences) + len(failures)  # refused events and lines count once each
        problems = self._store.add_inferences(
            [obj for obj, _, _ in inferences], self.check_inference, max_stored=self.max_stored
        )
        for (_, event_id, index), problem in zip(inferences, problems, strict=True):
            if problem is not None:
                failures.append(
                    {
                        "message": problem,
                        "status": 507 if problem.startswith("storage") else 400,
                        "event_id": event_id,
                        "inference_index_in_event": index,
                    }
                )
        self._store.add_file(
            {
                "filename": filename,
                "content_type": file_type,
                "rows": total,
                "batch_id": None,
                "failures": len(failures),
            }
        )
        counts = {"success": total - len(failures), "failure": len(failures), "total": total}
        return 207, {"counts": counts, "failures": failures}, total

    def model_document(self, *, attributes: bool = True) -> dict[str, Any]:
        """The model as ``GET /models/{id}?expand=attributes`` answers it.

        Arthur's model fields (``id``, ``partner_model_id``, ``input_type``, ``output_type``,
        ``display_name``, ``description``, ``is_batch``, ``version_sequence_num``, ``status``,
        ``created_at``, ``updated_at``: those given as ``model``, the others made up from the
        schema), then ``attributes`` (without ``expand=attributes``: none), each with every
        field Arthur answers, ``null`` or ``false`` when not set.
        """
        document: dict[str, Any] = {
            "id": self.model_id,
            "partner_model_id": self.model_id,
            "input_type": _input_type(self.schema),
            "output_type": _output_type(self.schema),
            "display_name": self.model_id,
            "description": None,
            "is_batch": self.schema.is_batch,
            "version_sequence_num": 1,
            "status": "Ready",
            "created_at": _CREATED,
            "updated_at": _CREATED,
        }
        document.update(self._model)
        document["id"] = self.model_id
        document["is_batch"] = self.schema.is_batch
        if attributes:
            document["attributes"] = [
                {
                    **ATTRIBUTE_DEFAULTS,
                    "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.model_id}/{a.name}")),
                    **{
                        key: value
                        for key, value in a.model_dump(mode="json").items()
                        if value is not None or key not in ATTRIBUTE_DEFAULTS
                    },
                }
                for a in self.schema.attributes
            ]
        return document

    def _get_model(self, query: str) -> _Answer:
        expand = urllib.parse.parse_qs(query).get("expand", [])
        wanted = {part.strip() for value in expand for part in value.split(",")}
        return 200, self.model_document(attributes="attributes" in wanted), 0


def _input_type(schema: ModelSchema) -> str:
    inputs = {a.value_type for a in schema.attributes if a.stage == "PIPELINE_INPUT"}
    if "UNSTRUCTURED_TEXT" in inputs:
        return "NLP"
    if "IMAGE" in inputs:
        return "IMAGE"
    return "TABULAR"


def _output_type(schema: ModelSchema) -> str:
    regression = all(
        a.value_type == "FLOAT"
        for a in schema.attributes
        if a.stage in ("PREDICTED_VALUE", "GROUND_TRUTH", "GROUND_TRUTH_CLASS")
    ) and not any(a.stage == "GROUND_TRUTH_CLASS" for a in schema.attributes)
    return "REGRESSION" if regression else "MULTICLASS"


def _multi_status(results: list[dict[str, Any]]) -> dict[str, Any]:
    success = sum(1 for r in results if r["status"] == 200)
    return {
        "counts": {"success": success, "failure": len(results) - success, "total": len(results)},
        "results": results,
    }
