"""The Lambda handler: each new capture object named by an event goes to Arthur (or the Engine).

Deploy ``arthur_capture.aws.lambda_handler`` (extra ``arthur-capture[lambda]``). It takes

- S3 event notifications (any number of records; ``s3:TestEvent`` ignored),
- SQS batches whose messages hold S3 notifications or EventBridge events: it answers
  ``{"batchItemFailures": [...]}`` naming only the messages to retry (turn on
  ``ReportBatchItemFailures``),
- EventBridge "Object Created" events.

Invoked directly (S3 or EventBridge), it raises when an object failed, so that Lambda retries
the event (twice, for asynchronous invocations; then its on-failure destination or DLQ). With
an idempotency table the objects already done are skipped on the retry; without one, they are
processed again, and their inferences get the same partner IDs.

The environment (see :class:`~arthur_capture.aws._config.ENV`): ``ARTHUR_HOST``,
``ARTHUR_MODEL_ID``, ``ARTHUR_ACCESS_TOKEN`` or ``ARTHUR_ACCESS_TOKEN_SECRET`` (a Secrets
Manager secret, or an SSM parameter when it starts with ``/`` or is an ``arn:aws:ssm:`` ARN;
fetched once per container), ``ARTHUR_CAPTURE_SINK`` (``inferences``, ``forward``,
``engine``), ``ARTHUR_CAPTURE_SCHEMA``, ``ARTHUR_CAPTURE_ENGINE_URI``,
``ARTHUR_CAPTURE_REJECTS_URI``, ``ARTHUR_CAPTURE_IDEMPOTENCY_TABLE``,
``ARTHUR_CAPTURE_IDEMPOTENCY_TTL_SECONDS``, ``ARTHUR_CAPTURE_TIME_MARGIN_SECONDS``,
``ARTHUR_CAPTURE_CHUNK_SIZE``. A bad configuration is logged once per invocation and fails
every record.

Time: before each object, and before each inference handed to the uploader, the handler asks
``context.get_remaining_time_in_millis()``; with less than the margin left it stops cleanly and
reports that object, and those after it, as failed for retry. An object stopped mid-upload is
retried whole: its first inferences are then sent again, with the same partner IDs.

One JSON log line per object (Powertools Logger) with its ledger and rejects by reason, and
CloudWatch metrics in embedded metric format; the token is in neither.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from arthur_capture._json import dumps_json
from arthur_capture.aws._config import ENV, HandlerConfig, secret_store_of
from arthur_capture.aws._events import (
    EventShapeError,
    ObjectRef,
    event_kind,
    objects_of,
    objects_of_body,
)
from arthur_capture.dependencies import require
from arthur_capture.errors import CaptureError, ConfigError, SourceError, StorageError

if TYPE_CHECKING:
    from arthur_capture.arthur.client import ArthurClient
    from arthur_capture.arthur.schema import ModelSchema
    from arthur_capture.reading import Ledger
    from arthur_capture.records import Reject

__all__ = ["ObjectFailedError", "TimeRunningOutError", "lambda_handler"]

SERVICE: Final = "arthur-capture"
"""The service name in log lines and metrics."""
NAMESPACE: Final = "ArthurCapture"
"""The CloudWatch metrics namespace (``POWERTOOLS_METRICS_NAMESPACE`` overrides it)."""
IDEMPOTENCY_KEY_PREFIX: Final = "arthur-capture#object"
"""The prefix of the idempotency table's ``id``s."""
MAX_FAILURE_EXAMPLES: Final = 5
"""Arthur's failures shown in an object's log line (forward sink); the count has them all."""
_TOKEN_KEYS: Final = ("ARTHUR_ACCESS_TOKEN", "token", "access_token", "api_key")
"""Keys looked up when the secret holds a JSON object rather than the bare token."""


class ObjectFailedError(CaptureError):
    """An object could not be processed (it is retried)."""


class TimeRunningOutError(ObjectFailedError):
    """Too little of the invocation's time remains to start (or go on with) an object."""


class _StdoutHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stdout`` is at the time (Lambda's, or a test's capture)."""

    @property
    def stream(self) -> Any:
        return sys.stdout

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


_LOCK = threading.Lock()
_TOOLS: dict[str, Any] = {}
_RUNTIMES: dict[HandlerConfig, _Runtime] = {}
_TOKENS: dict[str, Any] = {}


def _tools() -> dict[str, Any]:
    """Powertools' logger and metrics, made once per process."""
    with _LOCK:
        if not _TOOLS:
            logging_mod = require("aws_lambda_powertools.logging", "the Lambda handler")
            metrics_mod = require("aws_lambda_powertools.metrics", "the Lambda handler")
            _TOOLS["logger"] = logging_mod.Logger(service=SERVICE, logger_handler=_StdoutHandler())
            _TOOLS["metrics"] = metrics_mod.Metrics(
                namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or NAMESPACE,
                service=SERVICE,
            )
            _TOOLS["unit"] = metrics_mod.MetricUnit
        return _TOOLS


def reset() -> None:
    """Forget what was fetched once per container (token, schema, clients). For tests."""
    with _LOCK:
        for runtime in _RUNTIMES.values():
            runtime.close()
        _RUNTIMES.clear()
        _TOKENS.clear()


# --------------------------------------------------------------------------- time


@dataclass(slots=True)
class _Clock:
    """The invocation's remaining time, against a safety margin."""

    context: Any
    margin: float

    def remaining(self) -> float | None:
        getter = getattr(self.context, "get_remaining_time_in_millis", None)
        if getter is None:
            return None
        return float(getter()) / 1000.0

    def low(self) -> bool:
        left = self.remaining()
        return left is not None and left < self.margin


# --------------------------------------------------------------------------- configuration


def _token(config: HandlerConfig) -> Any:
    """The Arthur token as a :class:`Secret`: from the environment, or fetched once."""
    from arthur_capture.arthur._secret import Secret  # noqa: PLC0415

    if config.token_env:
        return Secret(os.environ[ENV.TOKEN].strip())
    name = config.token_secret or ""
    with _LOCK:
        cached = _TOKENS.get(name)
    if cached is not None:
        return cached
    parameters = require("aws_lambda_powertools.utilities.parameters", "the Lambda handler")
    store = secret_store_of(name)
    where = "SSM parameter" if store == "ssm" else "Secrets Manager secret"
    try:
        if store == "ssm":
            value: Any = parameters.get_parameter(name, decrypt=True, max_age=0)
        else:
            value = parameters.get_secret(name, max_age=0)
    except Exception as exc:  # noqa: BLE001 - any failure (GetParameterError, botocore): one sentence
        msg = f"cannot read the token from the {where} {name!r} ({ENV.TOKEN_SECRET}): "
        raise ConfigError(msg + type(exc).__name__) from None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    text = _token_text(str(value), where, name)
    secret = Secret(text)
    with _LOCK:
        _TOKENS[name] = secret
    return secret


def _token_text(value: str, where: str, name: str) -> str:
    import json  # noqa: PLC0415

    text = value.strip()
    if text.startswith("{"):
        try:
            found = json.loads(text)
        except ValueError:
            found = None
        if isinstance(found, dict):
            for key in _TOKEN_KEYS:
                if isinstance(found.get(key), str) and found[key].strip():
                    return str(found[key]).strip()
            keys = ", ".join(_TOKEN_KEYS)
            raise ConfigError(f"the {where} {name!r} is a JSON object without any of: {keys}")
    if not text:
        raise ConfigError(f"the {where} {name!r} is empty")
    return text


def _schema_from(uri: str) -> ModelSchema:
    from arthur_capture.arthur.schema import ModelSchema  # noqa: PLC0415
    from arthur_capture.storage import S3Location, S3Store  # noqa: PLC0415

    try:
        if uri.startswith("s3://"):
            location = S3Location.parse(uri)
            parent, _, name = location.key.rpartition("/")
            data = S3Store(S3Location(location.bucket, parent)).get_bytes(name)
            if data is None:
                raise ConfigError(f"{ENV.SCHEMA}: no object at {uri}")  # noqa: TRY301
            return ModelSchema.from_json(data)
        return ModelSchema.load(uri)
    except ConfigError:
        raise
    except CaptureError as exc:
        raise ConfigError(f"{ENV.SCHEMA}: {exc.message}") from None


@dataclass(slots=True)
class _Runtime:
    """What one container keeps between invocations for one configuration."""

    config: HandlerConfig
    schema: ModelSchema | None = None
    client: ArthurClient | None = None
    idempotent: Any = None
    idempotency_config: Any = None
    ready: bool = False

    def prepare(self) -> None:
        """Fetch the token and the schema, make the client (once).

        Raises:
            ConfigError: Something needed cannot be had.
        """
        if self.ready:
            return
        config = self.config
        if config.sink == "forward":
            _forward_api()  # fail early, as a configuration error, when it is not there
        if config.host and config.model_id and (config.token_env or config.token_secret):
            from arthur_capture.arthur import RetryPolicy  # noqa: PLC0415
            from arthur_capture.arthur.client import ArthurClient  # noqa: PLC0415

            try:
                self.client = ArthurClient(
                    config.host,
                    _token(config),
                    config.model_id,
                    organization_id=config.organization_id,
                    chunk_size=config.chunk_size,
                    # one request, retries included, ends within the time margin: the
                    # handler stops between requests, never killed in the middle of one
                    request_deadline=config.time_margin / 2,
                    retry=RetryPolicy(max_elapsed=config.time_margin / 2),
                )
            except ValueError as exc:
                raise ConfigError(f"the Arthur client cannot be made: {exc}") from None
        if config.schema is not None:
            self.schema = _schema_from(config.schema)
        elif self.client is not None:
            self.schema = self._fetched_schema(self.client)
        if config.idempotency_table:
            self._idempotency(config.idempotency_table)
        self.ready = True

    @staticmethod
    def _fetched_schema(client: ArthurClient) -> ModelSchema:
        from arthur_capture.arthur.errors import ArthurError  # noqa: PLC0415

        try:
            return client.fetch_schema()
        except ArthurError as exc:
            raise ConfigError(f"cannot fetch the model schema from Arthur: {exc}") from None
        except CaptureError as exc:
            raise ConfigError(f"cannot fetch the model schema from Arthur: {exc.message}") from None

    def _idempotency(self, table: str) -> None:
        idem = require("aws_lambda_powertools.utilities.idempotency", "the Lambda handler")

        def skipped(response: Any, _record: Any) -> Any:
            if isinstance(response, dict):
                return {**response, "outcome": "skipped"}
            return response

        self.idempotency_config = idem.IdempotencyConfig(
            expires_after_seconds=self.config.idempotency_ttl, response_hook=skipped
        )
        layer = idem.DynamoDBPersistenceLayer(table_name=table)
        self.idempotent = idem.idempotent_function(
            data_keyword_argument="identity",
            persistence_store=layer,
            config=self.idempotency_config,
            key_prefix=IDEMPOTENCY_KEY_PREFIX,
        )(self._process)

    def close(self) -> None:
        if self.client is not None:
            self.client.close()

    # ------------------------------------------------------------------ one object

    def run(self, ref: ObjectRef, clock: _Clock, context: Any) -> dict[str, Any]:
        """Process one object (or skip it, when the idempotency table says it is done).

        Raises:
            ObjectFailedError: It failed and should be retried.
        """
        if self.idempotent is None:
            return self._process(identity=ref.identity(), clock=clock)
        idem = require("aws_lambda_powertools.utilities.idempotency", "the Lambda handler")
        errors = require("aws_lambda_powertools.utilities.idempotency.exceptions", "idempotency")
        if context is not None and hasattr(context, "get_remaining_time_in_millis"):
            self.idempotency_config.register_lambda_context(context)
        del idem
        try:
            result: dict[str, Any] = self.idempotent(identity=ref.identity(), clock=clock)
        except errors.IdempotencyAlreadyInProgressError:
            raise ObjectFailedError("another invocation is processing it now") from None
        except errors.BaseError as exc:
            raise ObjectFailedError(f"the idempotency table failed: {exc}") from None
        return result

    def _process(self, *, identity: dict[str, str], clock: _Clock) -> dict[str, Any]:
        ref = ObjectRef(
            identity["bucket"], identity["key"], identity.get("version"), identity.get("etag")
        )
        if self.config.sink == "engine":
            return self._engine(ref)
        if self.config.sink == "forward":
            return self._forward(ref)
        return self._inferences(ref, clock)

    def _open(self, ref: ObjectRef) -> Any:
        from arthur_capture.storage import S3Location, open_object  # noqa: PLC0415

        try:
            return open_object(S3Location(ref.bucket, ref.key))
        except StorageError as exc:
            raise ObjectFailedError(exc.message) from None

    def _reader(self) -> Any:
        from arthur_capture.reading import CaptureReader  # noqa: PLC0415

        if self.schema is None:
            return CaptureReader()
        from arthur_capture.arthur.mapping import SchemaMapper  # noqa: PLC0415

        return CaptureReader(mapper=SchemaMapper(self.schema))

    def _inferences(self, ref: ObjectRef, clock: _Clock) -> dict[str, Any]:
        from arthur_capture.reading import Named  # noqa: PLC0415
        from arthur_capture.records import Reject  # noqa: PLC0415

        client = self.client
        if client is None:  # prepare() made it: the configuration check asks for it
            raise ConfigError("no Arthur client")
        body = self._open(ref)
        feed = _Feed()
        stream = self._reader().iter_records(Named(body, ref.uri))

        def records() -> Any:
            try:
                for item in stream:
                    if isinstance(item, Reject):
                        feed.rejects.append(item)
                        continue
                    if clock.low():
                        feed.stopped = "time ran out"
                        return
                    yield item
            except (SourceError, StorageError) as exc:
                feed.stopped = exc.message
            else:
                feed.finished = True

        from arthur_capture.arthur.errors import ArthurError  # noqa: PLC0415

        try:
            result = client.upload(records())
        except ArthurError as exc:
            raise ObjectFailedError(f"Arthur: {exc}") from None
        finally:
            body.close()
        summary = _summary(ref, "inferences", stream.ledger, feed.rejects)
        summary["upload"] = result.summary()
        rejects_uri = self._write_rejects(ref, feed.rejects)
        if rejects_uri:
            summary["rejects_uri"] = rejects_uri
        if feed.stopped == "time ran out":
            raise TimeRunningOutError(f"time ran out during the upload: {_brief(summary)}")
        if feed.stopped is not None:
            raise ObjectFailedError(f"reading stopped: {feed.stopped}")
        if result.failed:
            raise ObjectFailedError(f"{len(result.failed)} record(s) not stored: {_brief(summary)}")
        return summary

    def _engine(self, ref: ObjectRef) -> dict[str, Any]:
        from arthur_capture.reading import Named  # noqa: PLC0415
        from arthur_capture.sinks.engine import export_engine  # noqa: PLC0415

        rejects: list[Reject] = []
        body = self._open(ref)
        try:
            export = export_engine(
                Named(body, ref.uri),
                out=self.config.engine_uri or "",
                schema=self.schema,
                on_reject=rejects.append,
            )
        except CaptureError as exc:
            raise ObjectFailedError(exc.message) from None
        finally:
            body.close()
        summary = _summary(ref, "engine", export.ledger, rejects)
        summary["files"] = list(export.files)
        rejects_uri = self._write_rejects(ref, rejects)
        if rejects_uri:
            summary["rejects_uri"] = rejects_uri
        return summary

    def _forward(self, ref: ObjectRef) -> dict[str, Any]:
        prepare, _ = _forward_api()
        from arthur_capture.arthur.errors import ArthurError  # noqa: PLC0415
        from arthur_capture.reading import Named  # noqa: PLC0415

        client = self.client
        if client is None:
            raise ConfigError("no Arthur client")
        body = self._open(ref)
        try:
            prepared = prepare(Named(body, ref.uri), reader=self._reader())
        except CaptureError as exc:
            raise ObjectFailedError(exc.message) from None
        finally:
            body.close()
        summary = _summary(ref, "forward", prepared.ledger, list(prepared.rejects))
        if prepared.lines:
            name = ref.key.rpartition("/")[2].removesuffix(".gz")
            if not name.endswith(".jsonl"):
                name += ".jsonl"
            try:
                sent = client.send_capture_file(prepared.body, filename=name)
            except ArthurError as exc:
                raise ObjectFailedError(f"Arthur: {exc}") from None
            summary["forward"] = {
                "file": name,
                "lines": prepared.lines,
                "status": sent.status,
                "counts": dict(sent.counts),
                "failures": len(sent.failures),
                "failure_examples": list(sent.failures[:MAX_FAILURE_EXAMPLES]),
                "possible_duplicate": sent.possible_duplicate,
                "unconfirmed": sent.unconfirmed,
            }
        rejects_uri = self._write_rejects(ref, list(prepared.rejects))
        if rejects_uri:
            summary["rejects_uri"] = rejects_uri
        return summary

    def _write_rejects(self, ref: ObjectRef, rejects: list[Reject]) -> str | None:
        """Put the rejects of one object under the rejects prefix, one JSON line each."""
        if not rejects or self.config.rejects_uri is None:
            return None
        from arthur_capture.storage import S3Location, S3Store  # noqa: PLC0415

        store = S3Store(S3Location.parse(self.config.rejects_uri))
        key = rejects_key(ref)
        data = b"".join(dumps_json(reject.to_dict()) + b"\n" for reject in rejects)
        try:
            store.put_bytes(key, data, content_type="application/x-ndjson")
        except StorageError as exc:
            raise ObjectFailedError(f"cannot write its rejects: {exc.message}") from None
        return store.uri_of(key)


def rejects_key(ref: ObjectRef) -> str:
    """Where an object's rejects go under the rejects prefix: ``BUCKET/KEY.rejects.jsonl``."""
    return f"{ref.bucket}/{ref.key.removesuffix('.gz')}.rejects.jsonl"


@dataclass(slots=True)
class _Feed:
    rejects: list[Reject] = field(default_factory=list)
    stopped: str | None = None
    finished: bool = False


def _summary(ref: ObjectRef, sink: str, ledger: Ledger, rejects: list[Reject]) -> dict[str, Any]:
    return {
        "object": ref.uri,
        "sink": sink,
        "outcome": "done",
        "ledger": ledger.to_dict(),
        "rejects": len(rejects),
        "rejects_by_reason": dict(sorted(ledger.rejects_by_reason.items())),
    }


def _brief(summary: dict[str, Any]) -> str:
    upload = summary.get("upload") or {}
    parts = [f"{k}={upload[k]}" for k in ("accepted", "refused", "failed") if k in upload]
    return ", ".join(parts) or "nothing sent"


def _forward_api() -> tuple[Any, Any]:
    """``prepare_capture_file`` and ``ArthurClient.send_capture_file``, or a ConfigError."""
    import importlib  # noqa: PLC0415

    try:
        forward = importlib.import_module("arthur_capture.sinks.forward")
        prepare = forward.prepare_capture_file
        from arthur_capture.arthur.client import ArthurClient  # noqa: PLC0415

        send = ArthurClient.send_capture_file  # type: ignore[attr-defined,unused-ignore]
    except (ImportError, AttributeError):
        raise ConfigError(
            f"{ENV.SINK}=forward is not available in this version of arthur-capture"
        ) from None
    return prepare, send


# --------------------------------------------------------------------------- the handler


@dataclass(slots=True)
class _Invocation:
    runtime: _Runtime | None
    problem: ConfigError | None
    clock: _Clock
    context: Any
    tools: dict[str, Any]
    out_of_time: bool = False
    results: list[dict[str, Any]] = field(default_factory=list)

    def process(self, ref: ObjectRef) -> dict[str, Any]:
        """Process one object, log its line, count its metrics.

        Raises:
            ObjectFailedError: It failed (ConfigError: the configuration is bad).
        """
        logger = self.tools["logger"]
        started = time.monotonic()
        line: dict[str, Any] = {"object": ref.uri}
        try:
            if self.problem is not None:
                raise self.problem
            if self.runtime is None:  # pragma: no cover - problem is set then
                raise ConfigError("no configuration")  # noqa: TRY301
            line["sink"] = self.runtime.config.sink
            if not self.runtime.ready:  # the token and schema, fetched for the first object only
                try:
                    self.runtime.prepare()
                except ConfigError as exc:
                    self.problem = exc
                    logger.error("bad configuration", extra={"error": exc.message})  # noqa: TRY400
                    raise
            if self.out_of_time or self.clock.low():
                self.out_of_time = True
                left = self.clock.remaining()
                msg = f"not started: {left:.1f} s left, under the margin of {self.clock.margin:g} s"
                raise TimeRunningOutError(msg)
            summary = self.runtime.run(ref, self.clock, self.context)
        except (ObjectFailedError, ConfigError, CaptureError) as exc:
            if isinstance(exc, TimeRunningOutError):
                self.out_of_time = True
            line.update(outcome="failed", error=exc.message, error_type=type(exc).__name__)
            line["seconds"] = round(time.monotonic() - started, 3)
            self._metric("ObjectsFailed", 1)
            if isinstance(exc, TimeRunningOutError):
                self._metric("ObjectsOutOfTime", 1)
            if not isinstance(exc, ConfigError):  # a bad configuration is logged once
                logger.error("capture object failed", extra=line)  # noqa: TRY400 - no traceback
            self.results.append(line)
            raise
        summary = dict(summary)
        summary["seconds"] = round(time.monotonic() - started, 3)
        outcome = summary.get("outcome")
        self._metric("ObjectsSkipped" if outcome == "skipped" else "ObjectsProcessed", 1)
        if outcome != "skipped":
            ledger = summary.get("ledger") or {}
            self._metric("Lines", int(ledger.get("lines", 0)))
            self._metric("Records", int(ledger.get("records", 0)))
            self._metric("Rejects", int(summary.get("rejects", 0)))
            upload = summary.get("upload") or {}
            for key, name in (("accepted", "Accepted"), ("refused", "Refused")):
                if key in upload:
                    self._metric(name, int(upload[key]))
            counts = (summary.get("forward") or {}).get("counts") or {}
            for key, name in (("success", "Accepted"), ("failure", "Refused")):
                if isinstance(counts.get(key), int):
                    self._metric(name, int(counts[key]))
        logger.info("capture object", extra=summary)
        self.results.append(summary)
        return summary

    def _metric(self, name: str, value: int) -> None:
        self.tools["metrics"].add_metric(name=name, unit=self.tools["unit"].Count, value=value)


def _invocation(context: Any, tools: dict[str, Any]) -> _Invocation:
    """The runtime for the current configuration, or the configuration's problem (logged)."""
    try:
        config = HandlerConfig.from_env()
    except ConfigError as exc:
        tools["logger"].error("bad configuration", extra={"error": exc.message})
        return _Invocation(None, exc, _Clock(context, 0.0), context, tools)
    clock = _Clock(context, config.time_margin)
    with _LOCK:
        runtime = _RUNTIMES.get(config)
        if runtime is None:
            runtime = _Runtime(config)
            _RUNTIMES[config] = runtime
    return _Invocation(runtime, None, clock, context, tools)


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Send each capture object an event names to the configured sink.

    Returns:
        For SQS: ``{"batchItemFailures": [{"itemIdentifier": MESSAGE_ID}, ...]}``. Otherwise
        ``{"objects": [...]}``, one summary per object.

    Raises:
        ObjectFailedError: (S3 or EventBridge events) an object failed: Lambda retries.
        ConfigError: (S3 or EventBridge events) the configuration is bad.
        EventShapeError: The event is not one the handler reads.
    """
    tools = _tools()
    logger = tools["logger"]
    if context is not None and hasattr(context, "aws_request_id"):
        logger.append_keys(aws_request_id=context.aws_request_id)
    try:
        run = _invocation(context, tools)
        if event_kind(event) == "sqs":
            return _sqs(event, run, context)
        return _direct(event, run)
    finally:
        with warnings.catch_warnings():  # an invocation without objects has no metrics
            warnings.filterwarnings("ignore", "No application metrics to publish")
            tools["metrics"].flush_metrics(raise_on_empty_metrics=False)


def _direct(event: dict[str, Any], run: _Invocation) -> dict[str, Any]:
    refs = objects_of(event)
    failed: list[str] = []
    for ref in refs:
        try:
            run.process(ref)
        except (CaptureError, EventShapeError):
            failed.append(ref.uri)
    if failed:
        if run.problem is not None:
            raise run.problem
        msg = f"{len(failed)} of {len(refs)} object(s) failed (retried): {', '.join(failed[:5])}"
        raise TimeRunningOutError(msg) if run.out_of_time else ObjectFailedError(msg)
    return {"objects": run.results}


def _sqs(event: dict[str, Any], run: _Invocation, context: Any) -> dict[str, Any]:
    batch = require("aws_lambda_powertools.utilities.batch", "the Lambda handler")
    logger = run.tools["logger"]

    def record_handler(record: Any) -> None:
        try:
            refs = objects_of_body(record.body)
        except EventShapeError as exc:
            logger.error(  # noqa: TRY400 - no traceback
                "message not understood",
                extra={"message_id": record.message_id, "error": str(exc)},
            )
            raise
        for ref in refs:
            run.process(ref)

    processor = batch.BatchProcessor(
        event_type=batch.EventType.SQS, raise_on_entire_batch_failure=False
    )
    quiet = logging.getLogger("aws_lambda_powertools.utilities.batch")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # it logs each failure's traceback; we logged a line
    try:
        answer: dict[str, Any] = batch.process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
    finally:
        quiet.setLevel(level)
    return answer
