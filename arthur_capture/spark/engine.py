"""The Arthur Engine export, run by a Spark cluster: a backfill of months of captures.

:func:`export_engine` writes exactly what :func:`arthur_capture.sinks.engine.export_engine`
(the Lambda and ``arthur-capture export``) writes for the same files: the same hour folders,
the same file names (the source's name and the SHA-256 of its bytes), the same Parquet and
the same locators. A cluster can export the history and the Lambda or the CLI keep it up to
date: exporting a file again only replaces its own files, so nothing is written twice.

How it works: Spark's ``binaryFile`` source lists and reads each capture file whole (as
:func:`~arthur_capture.spark.read_captures` does); on the executors, ``mapInArrow`` hands
each file's bytes to the library's own :meth:`EngineExporter.export_source
<arthur_capture.sinks.engine.EngineExporter.export_source>`, with a store opened there on
``out`` and a spool of its own, and returns one small row per file (its ledger, the files
written and removed, the columns seen) and one row per reject. The driver adds the ledgers
up, merges the columns in file order and writes the locators with
:meth:`~arthur_capture.sinks.engine.EngineExporter.write_locators`. No decoding, naming or
layout rule is written here.
"""

from __future__ import annotations

import functools
import io
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import unquote, urlparse

from pyspark import StorageLevel
from pyspark.sql import functions as F  # noqa: N812 - Spark's own convention
from pyspark.sql.types import StringType, StructField, StructType

from arthur_capture.arthur.schema import ModelSchema
from arthur_capture.dependencies import require
from arthur_capture.reading import Ledger, Named
from arthur_capture.sinks.engine import (
    DEFAULT_EXPORT_CHUNK_ROWS,
    Dataset,
    EngineExport,
    EngineExporter,
    Locator,
    _Hashing,
    _Source,
    dataset_of,
)
from arthur_capture.spark._decode import ReadPlan
from arthur_capture.spark._types import JSON_COLUMN, LEDGER_COUNTS, REJECT_TYPE, Column
from arthur_capture.spark.read import (
    _REFUSED_OPTIONS,
    DEFAULT_PATH_GLOB,
    _binary_files,
    file_partitioning,
)
from arthur_capture.storage import is_s3_uri, open_store, spool

if TYPE_CHECKING:
    import os
    from collections.abc import Iterable, Iterator, Mapping

    from pyspark.sql import DataFrame, SparkSession

    from arthur_capture.arthur.schema import SchemaLike
    from arthur_capture.records import Reject

__all__ = ["EngineBackfill", "export_engine", "source_name"]

_ROW_TYPE: Final = StructType(
    [
        StructField("kind", StringType()),
        StructField("source", StringType()),
        StructField("payload", StringType()),
    ]
)
"""A task's rows: ``kind`` ``file`` (payload: what the file gave) or ``reject`` (the reject)."""
_LEDGER_FIELDS: Final = (*LEDGER_COUNTS, "sources", "non_finite_values", "duplicate_partner_ids")


@dataclass(frozen=True, slots=True)
class EngineBackfill:
    """What :func:`export_engine` did."""

    output: str
    """Where the export went (a folder or ``s3://bucket/prefix``)."""
    ledger: Ledger
    """Every file's ledger, added up (``duplicate_partner_ids`` counts repeats within a file
    only: each file is read by a reader of its own)."""
    files: tuple[str, ...]
    """Every file put in place, by source (in source order) then hour."""
    removed: tuple[str, ...]
    """Files of an earlier export of the same sources that this one no longer makes."""
    locators: tuple[Locator, ...]
    """The locator of every dataset written (also written to the output)."""
    rejects_count: int
    """How many rejects :attr:`rejects` holds."""
    rejects: DataFrame
    """One row per reject, as the CLI's dead letter (``reason``, ``source``, ``line``,
    ``offset``, ``event_id``, ``index``, ``message``, ``raw``). It is read from the export's
    persisted pass: call :meth:`unpersist` when done with it (if Spark dropped the cached
    pass, reading it exports the files again, to the same names)."""
    _pass: DataFrame

    def unpersist(self) -> None:
        """Drop the cached pass behind :attr:`rejects`."""
        self._pass.unpersist()


def source_name(path: str) -> str:
    """The name the Python export gives the file Spark lists as ``path``.

    ``file:/a/b.jsonl`` → ``/a/b.jsonl`` (percent-escapes undone); ``s3a://`` and ``s3n://``
    → ``s3://``; anything else is kept. The name gives the stem of the exported files (its
    last part), the dataset (its SageMaker key) and the rejects' ``source``.
    """
    parsed = urlparse(path)
    if parsed.scheme == "file":
        return unquote(parsed.path)
    if parsed.scheme in {"s3a", "s3n"}:
        return "s3://" + path.split("://", 1)[1]
    return path


@dataclass(frozen=True, slots=True)
class _ExportPlan:
    """What a task needs to export its files (pickled to the executors)."""

    read: ReadPlan
    out: str
    schema: ModelSchema | None
    endpoint: str | None
    variant: str | None
    chunk_rows: int


def _ledger_dict(ledger: Ledger) -> dict[str, Any]:
    data: dict[str, Any] = {name: getattr(ledger, name) for name in _LEDGER_FIELDS}
    data["rejects_by_reason"] = dict(ledger.rejects_by_reason)
    data["duplicate_examples"] = list(ledger.duplicate_examples)
    return data


def _ledger_of(data: Mapping[str, Any]) -> Ledger:
    ledger = Ledger()
    for name in _LEDGER_FIELDS:
        setattr(ledger, name, int(data[name]))
    ledger.rejects_by_reason = Counter(data["rejects_by_reason"])
    ledger.duplicate_examples = list(data["duplicate_examples"])
    return ledger


def _export_one(
    plan: _ExportPlan, exporter: EngineExporter, name: str, data: bytes
) -> tuple[dict[str, Any], list[Reject]]:
    """Export one file with the library's exporter; what it gave, and its rejects."""
    dataset = dataset_of(name, endpoint=plan.endpoint, variant=plan.variant)
    source = _Source(name, _Hashing(lambda: io.BytesIO(data)), dataset)
    result = EngineExport(exporter.store.uri)
    rejects: list[Reject] = []
    reader = plan.read.reader()  # one per file: nothing carries over from file to file
    with spool(exporter.store) as folder:
        stream = reader.iter_calls(Named(source.stream, source.name))
        exporter.export_source(source, stream, folder, result, rejects.append)
    seen = exporter.columns_seen()  # the exporter is this file's alone
    info = {
        "ledger": _ledger_dict(stream.ledger),
        "files": result.files,
        "removed": result.removed,
        "columns": [
            [d.endpoint, d.variant, d.ground_truth, list(columns.items())]
            for d, columns in seen.items()
        ],
    }
    return info, rejects


def _export_partition(plan: _ExportPlan, batches: Iterable[Any]) -> Iterator[Any]:
    """One task: export each file of the partition; one row per file and per reject."""
    pa = require("pyarrow", "the Arthur Engine export with Spark")
    schema = pa.schema(
        [
            pa.field("kind", pa.string()),
            pa.field("source", pa.string()),
            pa.field("payload", pa.string()),
        ]
    )
    store = open_store(plan.out)
    for batch in batches:
        paths = batch.column("path")
        contents = batch.column("content")
        for i in range(batch.num_rows):
            name = source_name(paths[i].as_py())
            data = contents[i].as_py() or b""
            # an exporter per file: the columns it reports are that file's alone
            exporter = EngineExporter(store, plan.schema, plan.chunk_rows)
            info, rejects = _export_one(plan, exporter, name, data)
            kinds = ["file"] + ["reject"] * len(rejects)
            payloads = [json.dumps(info)] + [json.dumps(r.to_dict()) for r in rejects]
            yield pa.RecordBatch.from_arrays(
                [
                    pa.array(kinds, pa.string()),
                    pa.array([name] * len(kinds), pa.string()),
                    pa.array(payloads, pa.string()),
                ],
                schema=schema,
            )


def export_engine(
    spark: SparkSession,
    paths: Any,
    out: str | os.PathLike[str],
    *,
    schema: SchemaLike | None = None,
    endpoint: str | None = None,
    variant: str | None = None,
    chunk_rows: int = DEFAULT_EXPORT_CHUNK_ROWS,
    path_glob_filter: str | None = DEFAULT_PATH_GLOB,
    recursive: bool = True,
    source_options: Mapping[str, str] | None = None,
    files_per_partition: int | None = None,
    max_partition_bytes: int | None = None,
    **reader_options: Any,
) -> EngineBackfill:
    """Export capture files as Arthur Engine datasets, on the executors; locators on the driver.

    Writes what :func:`arthur_capture.sinks.engine.export_engine` writes for the same files
    (same names, same Parquet, same locators), so the two can take turns on one output.

    Args:
        spark: The session.
        paths: Paths, directories, globs or ``s3a://`` prefixes (as
            :func:`~arthur_capture.spark.read_captures` takes them).
        out: A folder every executor can write to (a shared file system) or
            ``s3://bucket/prefix`` (the executors need boto3 and credentials).
        schema: The model's schema (a path or :class:`~arthur_capture.arthur.ModelSchema`).
        endpoint: The endpoint of every file (default: from each file's SageMaker key).
        variant: The variant of every file (default: from each file's SageMaker key).
        chunk_rows: The most rows in one file.
        path_glob_filter: Keep files whose name matches (``None``: every file).
        recursive: Descend into sub-directories.
        source_options: More options for Spark's ``binaryFile`` source.
        files_per_partition: At most about this many files per task
            (:func:`~arthur_capture.spark.file_partitioning`).
        max_partition_bytes: Spark's ``maxPartitionBytes`` for the pass.
        **reader_options: :class:`~arthur_capture.CaptureReader` options, pickled to the
            executors (``strict``, ``schema`` and ``mapper`` are refused).

    Returns:
        The ledger, the files, the locators and the rejects.

    Raises:
        ValueError: A refused option or a bad size.
        arthur_capture.errors.ExportError: A file's endpoint or variant is unknown (raised
            in a task, so Spark reports it wrapped).
    """
    refused = _REFUSED_OPTIONS.intersection(reader_options)
    if refused:
        msg = f"option(s) {', '.join(sorted(refused))} cannot be used here (map with schema=)"
        raise ValueError(msg)
    model = ModelSchema.of(schema) if schema is not None else None
    target = str(out) if is_s3_uri(str(out)) else str(Path(out).resolve())
    store = open_store(target)
    exporter = EngineExporter(store, model, chunk_rows)  # checks chunk_rows
    read = ReadPlan.of(
        model,
        (Column(JSON_COLUMN, value_type=None),),
        ("source", "line_number", "event_id", "index"),
        reader_options,
        1,
    )
    plan = _ExportPlan(read, target, model, endpoint, variant, chunk_rows)
    files = _binary_files(
        spark,
        paths,
        path_glob_filter=path_glob_filter,
        recursive=recursive,
        source_options=source_options,
    )
    done = files.select("path", "content").mapInArrow(
        functools.partial(_export_partition, plan), _ROW_TYPE
    )
    done.persist(StorageLevel.MEMORY_AND_DISK)
    with file_partitioning(
        spark, files_per_partition=files_per_partition, max_partition_bytes=max_partition_bytes
    ):
        rows = done.where(F.col("kind") == "file").select("source", "payload").collect()
        rejects_count = done.where(F.col("kind") == "reject").count()
    # the Python export's order: sources sorted as paths
    rows.sort(key=lambda row: PurePosixPath(row["source"]))
    ledger = Ledger()
    written: list[str] = []
    removed: list[str] = []
    for row in rows:
        info = json.loads(row["payload"])
        ledger.add(_ledger_of(info["ledger"]))
        written.extend(info["files"])
        removed.extend(info["removed"])
        exporter.merge_columns(
            {
                Dataset(endpoint, variant, ground_truth): dict(columns)
                for endpoint, variant, ground_truth, columns in info["columns"]
            }
        )
    locators = exporter.locators()
    if locators:
        exporter.write_locators(locators)
    rejects = done.where(F.col("kind") == "reject").select(
        F.from_json("payload", REJECT_TYPE).alias("reject")
    )
    return EngineBackfill(
        output=store.uri,
        ledger=ledger,
        files=tuple(written),
        removed=tuple(removed),
        locators=tuple(locators),
        rejects_count=rejects_count,
        rejects=rejects.select("reject.*"),
        _pass=done,
    )
