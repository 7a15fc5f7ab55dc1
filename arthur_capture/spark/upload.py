"""Upload each partition of the inferences frame from its own task, and bring the accounts back.

:func:`upload_partitions` plans the upload on the driver and runs it as ``mapInArrow``; each
task builds one :class:`~arthur_capture.arthur.ArthurClient` (loaded lazily, on the
executors) and sends its rows as Arthur's inference objects, built by
:mod:`arthur_capture.arthur.contract`, or as Parquet files. Each partition's account comes
back as a :class:`PartitionUpload`.
"""

from __future__ import annotations

import functools
import os
import tempfile
from dataclasses import asdict, dataclass
from datetime import UTC
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

import orjson
from pyspark import TaskContext
from pyspark.sql.types import IntegerType, LongType, StringType, StructField, StructType

from arthur_capture._json import dumps_json
from arthur_capture.arthur.contract import inference_object
from arthur_capture.arthur.results import FailedRecord
from arthur_capture.dependencies import require
from arthur_capture.sinks.parquet import DEFAULT_CHUNK_ROWS, DEFAULT_ROW_GROUP_SIZE
from arthur_capture.spark._types import ARTHUR_COLUMNS, arrow_type, implicit, role
from arthur_capture.spark.write import to_arthur_frame

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping

    from pyspark.sql import DataFrame

    from arthur_capture.arthur import ArthurClient, UploadResult

__all__ = ["PartitionUpload", "upload_partitions"]

_CLIENT_MODULES: Final = ("httpx", "tenacity")
"""What :class:`~arthur_capture.arthur.ArthurClient` needs (extra ``[arthur]``)."""


@dataclass(frozen=True, slots=True)
class PartitionUpload:
    """The account of one partition's upload; ``rows == accepted + refused + failed``."""

    partition: int
    """Spark's partition number."""
    method: str
    """``"inferences"`` (``POST /inferences``) or ``"file"`` (``/inferences/file``)."""
    rows: int
    """Rows in the partition."""
    accepted: int
    """Rows Arthur accepted."""
    refused: int
    """Rows Arthur refused (the first ``max_details`` are in :attr:`refusals`)."""
    failed: int
    """Rows neither accepted nor refused: failed requests, or not sent after an error."""
    possible_duplicates: int
    """Rows re-sent after an answer that may have been lost: Arthur may hold them twice."""
    error: str | None
    """The error that stopped the partition's upload, if one did."""
    refusals: tuple[dict[str, Any], ...]
    """Refused rows: ``partner_inference_id``, ``status``, ``message``, ``source``, ``line``."""
    failures: tuple[dict[str, Any], ...]
    """Failed rows: ``partner_inference_id``, ``error``, ``source``, ``line``…"""

    @property
    def ok(self) -> bool:
        """Every row accepted, once, without error."""
        return (
            self.error is None
            and self.accepted == self.rows
            and not self.refused
            and not self.failed
            and not self.possible_duplicates
        )


_UPLOAD_TYPE: Final = StructType(
    [
        StructField("partition", IntegerType()),
        StructField("method", StringType()),
        StructField("rows", LongType()),
        StructField("accepted", LongType()),
        StructField("refused", LongType()),
        StructField("failed", LongType()),
        StructField("possible_duplicates", LongType()),
        StructField("error", StringType()),
        StructField("details", StringType()),
    ]
)


@dataclass(frozen=True, slots=True)
class _UploadPlan:
    method: str
    host: str | None
    model_id: str | None
    token_env: str
    client_options: tuple[tuple[str, Any], ...]
    client_factory: Callable[[], ArthurClient] | None
    batch_id: str | None
    values: tuple[str, ...]
    implicit: frozenset[str]
    json_column: str | None
    source: str | None
    line: str | None
    chunk_rows: int
    max_details: int

    def client(self) -> ArthurClient:
        if self.client_factory is not None:
            return self.client_factory()
        from arthur_capture.arthur import ArthurClient  # noqa: PLC0415 - executors only

        token = os.environ.get(self.token_env)
        if not token:
            msg = f"the environment variable {self.token_env} is not set on the executor"
            raise RuntimeError(msg)
        if self.host is None or self.model_id is None:  # pragma: no cover - checked on the driver
            raise RuntimeError("no host or model_id")
        return ArthurClient(self.host, token, self.model_id, **dict(self.client_options))


def upload_partitions(
    inferences: DataFrame,
    *,
    host: str | None = None,
    model_id: str | None = None,
    token_env: str = "ARTHUR_ACCESS_TOKEN",  # noqa: S107 - a variable's name, not a token
    client_factory: Callable[[], ArthurClient] | None = None,
    client_options: Mapping[str, Any] | None = None,
    method: Literal["inferences", "file"] = "inferences",
    batch_id: str | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    max_details: int = 1000,
) -> list[PartitionUpload]:
    """Upload each partition of :attr:`CaptureFrames.inferences` from its own task.

    Each task builds one :class:`arthur_capture.arthur.ArthurClient` (imported lazily, on the
    executors; extra ``[arthur]``) and sends its rows: ``method="inferences"`` streams them
    to ``POST /inferences`` in the client's chunks (NewInference objects; the JSON
    ``inference_data`` column is sent as it is; a null in an ``implicit`` attribute's column
    is left out); ``method="file"`` writes them to local Parquet files of at most
    ``chunk_rows`` rows (provenance dropped, empty implicit columns left out) and sends each
    to ``/inferences/file``. The partitions' accounts come back to the driver (it runs as
    ``mapInArrow`` and ``collect``, not ``foreachPartition``, so nothing is lost).

    The token never travels with the task: each executor reads it from the environment
    variable ``token_env`` (set it with ``spark.executorEnv.<NAME>`` or the cluster's
    secrets), or ``client_factory`` (a picklable callable run on the executor) builds the
    client. An error stops that partition's upload and is reported, never raised, so Spark
    does not retry the task and send its rows again.

    Returns:
        One :class:`PartitionUpload` per partition, by partition number.

    Raises:
        ValueError: No ``host``/``model_id`` and no ``client_factory``; an unknown method;
            ``spark.speculation`` is on (speculative tasks would upload twice).
        arthur_capture.errors.MissingDependencyError: The uploader's dependencies are not
            installed (extra ``[arthur]``); an ``ImportError``.
    """
    for module in _CLIENT_MODULES:  # fail early on the driver
        require(module, "Uploading from Spark")
    if method not in ("inferences", "file"):
        raise ValueError(f"method must be 'inferences' or 'file', not {method!r}")
    if client_factory is None and (not host or not model_id):
        raise ValueError("pass host= and model_id=, or client_factory=")
    if chunk_rows < 1 or max_details < 0:
        raise ValueError("chunk_rows must be positive and max_details not negative")
    spark = inferences.sparkSession
    if (spark.conf.get("spark.speculation", "false") or "").lower() == "true":
        raise ValueError("spark.speculation is on: speculative tasks would upload rows twice")
    fields = inferences.schema.fields
    roles = {f.name: role(f) for f in fields}
    provenance = [f.name for f in fields if roles[f.name] == "provenance"]
    json_column = next((f.name for f in fields if roles[f.name] == "inference_data"), None)
    if method == "file" and json_column is not None:
        to_arthur_frame(inferences)  # raises the explanation
    plan = _UploadPlan(
        method=method,
        host=host,
        model_id=model_id,
        token_env=token_env,
        client_options=tuple(sorted((client_options or {}).items())),
        client_factory=client_factory,
        batch_id=batch_id,
        values=tuple(
            f.name
            for f in fields
            if roles[f.name] not in ("provenance", "arthur", "inference_data")
            and f.name not in ARTHUR_COLUMNS
        ),
        implicit=frozenset(f.name for f in fields if implicit(f)),
        json_column=json_column,
        source=provenance[0] if len(provenance) == 4 else None,
        line=provenance[1] if len(provenance) == 4 else None,
        chunk_rows=chunk_rows,
        max_details=max_details,
    )
    # One job, and nothing that could run the plan twice (orderBy would sample it first).
    uploaded = inferences.mapInArrow(functools.partial(_upload_partition, plan), _UPLOAD_TYPE)
    rows = sorted(uploaded.collect(), key=lambda row: int(row["partition"]))
    results = []
    for row in rows:
        details = orjson.loads(row["details"])
        results.append(
            PartitionUpload(
                partition=row["partition"],
                method=row["method"],
                rows=row["rows"],
                accepted=row["accepted"],
                refused=row["refused"],
                failed=row["failed"],
                possible_duplicates=row["possible_duplicates"],
                error=row["error"],
                refusals=tuple(details["refusals"]),
                failures=tuple(details["failures"]),
            )
        )
    return results


# --------------------------------------------------------------------------- the task


class _Tally:
    """One partition's account while it uploads."""

    def __init__(self, plan: _UploadPlan) -> None:
        self.plan = plan
        self.rows = self.accepted = self.refused = self.failed = self.duplicates = 0
        self.error: str | None = None
        self.refusals: list[dict[str, Any]] = []
        self.failures: list[dict[str, Any]] = []

    def refusal(self, detail: dict[str, Any]) -> None:
        if len(self.refusals) < self.plan.max_details:
            self.refusals.append(detail)

    def failure(self, detail: dict[str, Any]) -> None:
        if len(self.failures) < self.plan.max_details:
            self.failures.append(detail)

    def batch(self, pa: Any, partition: int) -> Any:
        details = dumps_json({"refusals": self.refusals, "failures": self.failures})
        values = [
            partition,
            self.plan.method,
            self.rows,
            self.accepted,
            self.refused,
            self.failed,
            self.duplicates,
            self.error,
            details.decode("utf-8"),
        ]
        arrays = [
            pa.array([v], arrow_type(pa, f.dataType))
            for v, f in zip(values, _UPLOAD_TYPE.fields, strict=True)
        ]
        return pa.RecordBatch.from_arrays(arrays, names=_UPLOAD_TYPE.fieldNames())


def _upload_partition(plan: _UploadPlan, batches: Iterable[Any]) -> Iterator[Any]:
    """One task: upload the partition's rows and yield its account (one row)."""
    pa = require("pyarrow", "Uploading from Spark")
    context = TaskContext.get()
    partition = context.partitionId() if context is not None else -1
    tally = _Tally(plan)
    stream = _counted(tally, batches)
    try:
        first = next(stream, None)
        if first is not None:
            with plan.client() as client:
                if plan.method == "inferences":
                    _send_inferences(plan, client, _chain(first, stream), tally)
                else:
                    _send_files(plan, client, _chain(first, stream), tally, pa)
    except Exception as exc:  # noqa: BLE001 - reported, so Spark does not retry the upload
        tally.error = f"{type(exc).__name__}: {exc}"
        result = getattr(exc, "result", None)
        if result is not None and plan.method == "inferences":
            _settle(tally, result)
    for _ in stream:  # rows never reached still count, as failed
        pass
    tally.failed = tally.rows - tally.accepted - tally.refused
    yield tally.batch(pa, partition)


def _counted(tally: _Tally, batches: Iterable[Any]) -> Iterator[Any]:
    for batch in batches:
        tally.rows += batch.num_rows
        yield batch


def _chain(first: Any, rest: Iterator[Any]) -> Iterator[Any]:
    yield first
    yield from rest


def _send_inferences(
    plan: _UploadPlan, client: ArthurClient, stream: Iterator[Any], tally: _Tally
) -> None:
    def objects() -> Iterator[dict[str, Any]]:
        for batch in stream:
            for row in batch.to_pylist():
                if plan.json_column is not None:
                    data = orjson.loads(row[plan.json_column])
                else:
                    data = {
                        name: row[name]
                        for name in plan.values
                        if row[name] is not None or name not in plan.implicit
                    }
                moment = row["inference_timestamp"]  # in the session's time zone: sent as UTC
                obj = inference_object(
                    row["partner_inference_id"],
                    moment.astimezone(UTC) if moment else moment,
                    data,
                    batch_id=row.get("batch_id"),
                )
                if plan.source is not None and plan.line is not None:
                    # reported by the client with a refusal or failure, not sent
                    obj["source"] = row[plan.source]
                    obj["line"] = row[plan.line]
                yield obj

    result = client.upload(objects(), batch_id=plan.batch_id)
    _settle(tally, result)


def _detail(entry: Any) -> dict[str, Any]:
    """A refusal or failure as a detail: its fields, its line number under ``line``."""
    return {("line" if key == "line_number" else key): v for key, v in asdict(entry).items()}


def _settle(tally: _Tally, result: UploadResult) -> None:
    tally.accepted = result.accepted
    tally.refused = result.refused
    tally.duplicates = len(result.possible_duplicates)
    for refusal in result.refusals:
        tally.refusal(_detail(refusal))
    for failure in result.failed:
        tally.failure(_detail(failure))


def _utc(pa: Any, table: Any) -> Any:
    """Timestamps arrive in the session's time zone; Arthur's files get them in UTC."""
    fields = [
        pa.field(f.name, pa.timestamp(f.type.unit, tz="UTC"), f.nullable, f.metadata)
        if pa.types.is_timestamp(f.type)
        else f
        for f in table.schema
    ]
    return table.cast(pa.schema(fields, metadata=table.schema.metadata))


def _send_files(
    plan: _UploadPlan, client: ArthurClient, stream: Iterator[Any], tally: _Tally, pa: Any
) -> None:
    pq = require("pyarrow.parquet", "Uploading Parquet from Spark")
    chunk: list[Any] = []
    size = 0
    files = 0

    def flush() -> None:
        nonlocal files
        table = _utc(pa, pa.Table.from_batches(chunk))
        keep = ["partner_inference_id", "inference_timestamp"]
        keep += ["batch_id"] if "batch_id" in table.column_names else []
        keep += [
            n for n in plan.values if n not in plan.implicit or table[n].null_count < len(table)
        ]
        with tempfile.TemporaryDirectory(prefix="arthur-capture-") as folder:
            target = Path(folder) / f"part-{files:05d}.parquet"
            files += 1
            pq.write_table(table.select(keep), target, row_group_size=DEFAULT_ROW_GROUP_SIZE)
            answer = client.upload_file(target, batch_id=plan.batch_id)
        ids = table["partner_inference_id"].to_pylist()
        sources = table[plan.source].to_pylist() if plan.source else [None] * len(ids)
        lines = table[plan.line].to_pylist() if plan.line else [None] * len(ids)
        if answer.unconfirmed is not None:  # Arthur may hold the file: nothing is confirmed
            tally.failed += len(ids)
            for partner_id, source, line in zip(ids, sources, lines, strict=True):
                tally.failure(
                    _detail(
                        FailedRecord(
                            partner_id,
                            source,
                            line,
                            f"the answer could not be read: {answer.unconfirmed}",
                            answer.status,
                            files - 1,
                            sent=True,
                            possibly_stored=True,
                        )
                    )
                )
            return
        failures = answer.failures
        refused = int(answer.counts.get("failure", len(failures)))
        tally.refused += refused
        tally.accepted += int(answer.counts.get("success", len(table) - refused))
        if answer.possible_duplicate:
            tally.duplicates += len(table)
        for failure in failures:
            index = failure.get("index")
            row = index if isinstance(index, int) and 0 <= index < len(ids) else None
            tally.refusal(
                {
                    "partner_inference_id": ids[row] if row is not None else None,
                    "status": failure.get("status"),
                    "message": failure.get("message"),
                    "source": sources[row] if row is not None else None,
                    "line": lines[row] if row is not None else None,
                }
            )

    for batch in stream:
        start = 0
        while start < batch.num_rows:
            piece = batch.slice(start, plan.chunk_rows - size)
            chunk.append(piece)
            size += piece.num_rows
            start += piece.num_rows
            if size == plan.chunk_rows:
                flush()
                chunk, size = [], 0
    if size:
        flush()
