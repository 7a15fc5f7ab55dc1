"""Listing and reading capture files: one tagged pass, seen as three DataFrames.

:func:`list_capture_files` lists what a read would take; :func:`read_captures` plans the
pass (the decoding itself runs on the executors, in :mod:`arthur_capture.spark._decode`);
:class:`CaptureFrames` offers it as inferences, rejects and ledgers; :func:`collect_ledger`
adds the ledgers up; :func:`file_partitioning` sets how many files a task gets.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from pyspark import StorageLevel
from pyspark.sql import functions as F  # noqa: N812 - Spark's own convention

from arthur_capture.arthur.schema import ModelSchema
from arthur_capture.reading import Ledger
from arthur_capture.spark._decode import ReadPlan, decode_partition
from arthur_capture.spark._session import conf_bytes, session_conf
from arthur_capture.spark._types import (
    JSON_COLUMN,
    LEDGER_COUNTS,
    Column,
    columns_of,
    value_schema,
)

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.types import DataType

    from arthur_capture.arthur.contract import ValueType
    from arthur_capture.arthur.schema import SchemaLike

__all__ = [
    "DEFAULT_PATH_GLOB",
    "CaptureFile",
    "CaptureFrames",
    "collect_ledger",
    "file_partitioning",
    "list_capture_files",
    "read_captures",
]

DEFAULT_PATH_GLOB: Final = "*.jsonl*"
"""File names read by default: SageMaker's ``*.jsonl`` (and ``*.jsonl.gz``)."""

_MAX_PARTITION_BYTES: Final = "spark.sql.files.maxPartitionBytes"
_OPEN_COST_BYTES: Final = "spark.sql.files.openCostInBytes"
_DEFAULT_MAX_PARTITION_BYTES: Final = 128 * 1024 * 1024
_REFUSED_OPTIONS: Final = frozenset({"strict", "schema", "mapper"})


# --------------------------------------------------------------------------- listing


@dataclass(frozen=True, slots=True)
class CaptureFile:
    """One listed capture file."""

    path: str
    """The file's URI as Spark gives it (``file:/…``, ``s3a://bucket/key``)."""
    length: int
    """Size in bytes."""
    modification_time: datetime
    """Last modification, timezone-aware (UTC)."""


def _path_list(paths: Any) -> list[str]:
    if isinstance(paths, (str, os.PathLike, CaptureFile)):
        paths = [paths]
    out = [p.path if isinstance(p, CaptureFile) else os.fspath(p) for p in paths]
    if not out:
        raise ValueError("no path given")
    return out


def _binary_files(
    spark: SparkSession,
    paths: Any,
    *,
    path_glob_filter: str | None,
    recursive: bool,
    source_options: Mapping[str, str] | None,
) -> DataFrame:
    reader = spark.read.format("binaryFile")
    if path_glob_filter is not None:
        reader = reader.option("pathGlobFilter", path_glob_filter)
    if recursive:
        reader = reader.option("recursiveFileLookup", "true")
    for key, value in (source_options or {}).items():
        reader = reader.option(key, value)
    return reader.load(_path_list(paths))


def list_capture_files(
    spark: SparkSession,
    paths: Any,
    *,
    path_glob_filter: str | None = DEFAULT_PATH_GLOB,
    recursive: bool = True,
    source_options: Mapping[str, str] | None = None,
) -> list[CaptureFile]:
    """List the capture files under paths, globs or prefixes, without reading them.

    Args:
        spark: The session.
        paths: A path, directory, glob (``s3a://b/capture/ep/AllTraffic/2024/01/19/*``) or
            :class:`CaptureFile`, or a sequence of them.
        path_glob_filter: Keep files whose *name* matches (``None``: every file).
        recursive: Descend into sub-directories (SageMaker writes ``yyyy/mm/dd/hh/``).
        source_options: More options for Spark's ``binaryFile`` source (e.g.
            ``{"modifiedAfter": "2024-01-19T00:00:00"}``).

    Returns:
        The files, sorted by path.

    Raises:
        pyspark.errors.AnalysisException: A path or glob matches nothing.
    """
    files = _binary_files(
        spark,
        paths,
        path_glob_filter=path_glob_filter,
        recursive=recursive,
        source_options=source_options,
    )
    rows = (
        files.select("path", "length", F.unix_micros("modificationTime").alias("micros"))
        .orderBy("path")
        .collect()
    )
    return [
        CaptureFile(
            path=row["path"],
            length=int(row["length"]),
            modification_time=datetime.fromtimestamp(row["micros"] / 1e6, tz=UTC),
        )
        for row in rows
    ]


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True, slots=True)
class CaptureFrames:
    """What :func:`read_captures` gives: one tagged pass, seen as three DataFrames."""

    tagged: DataFrame
    """Every row of the pass: ``kind`` (``record``, ``reject`` or ``ledger``) and one struct
    column per kind."""
    value_columns: tuple[str, ...]
    """The value columns of :attr:`inferences`, in order."""

    @property
    def inferences(self) -> DataFrame:
        """One row per inference.

        Columns: ``partner_inference_id``, ``inference_timestamp``, ``source``,
        ``line_number``, ``event_id``, ``index``, then the value columns.
        """
        return self.tagged.where(F.col("kind") == "record").select("record.*")

    @property
    def rejects(self) -> DataFrame:
        """One row per reject, as the CLI's dead letter.

        Columns: ``reason``, ``source``, ``line``, ``offset``, ``event_id``, ``index``,
        ``message``, ``raw`` (base64 of the line's bytes).
        """
        return self.tagged.where(F.col("kind") == "reject").select("reject.*")

    @property
    def ledgers(self) -> DataFrame:
        """One row per file.

        Columns: ``source``, the :class:`~arthur_capture.Ledger` counts (``lines``,
        ``blank_lines``, ``events``, ``records``, ``rejected_inferences``,
        ``rejected_lines``), ``rejects_by_reason`` (a map) and ``balanced``.
        """
        return self.tagged.where(F.col("kind") == "ledger").select("ledger.*")

    def ledger(self) -> Ledger:
        """The ledger of every file, added up by Spark (two small jobs; persist first)."""
        return collect_ledger(self.ledgers)

    def persist(self, storage_level: StorageLevel = StorageLevel.MEMORY_AND_DISK) -> CaptureFrames:
        """Keep the decoded pass, so the three frames do not decode the files again."""
        self.tagged.persist(storage_level)
        return self

    def unpersist(self) -> CaptureFrames:
        """Drop what :meth:`persist` kept."""
        self.tagged.unpersist()
        return self


def collect_ledger(ledgers: DataFrame) -> Ledger:
    """Add up a :attr:`CaptureFrames.ledgers` frame into one :class:`~arthur_capture.Ledger`."""
    sums = ledgers.agg(
        F.count(F.lit(1)).alias("sources"),
        *(F.coalesce(F.sum(name), F.lit(0)).alias(name) for name in LEDGER_COUNTS),
    ).first()
    reasons = (
        ledgers.select(F.explode("rejects_by_reason").alias("reason", "n"))
        .groupBy("reason")
        .agg(F.sum("n").alias("n"))
        .collect()
    )
    ledger = Ledger()
    if sums is not None:
        ledger.sources = int(sums["sources"])
        for name in LEDGER_COUNTS:
            setattr(ledger, name, int(sums[name]))
    ledger.rejects_by_reason = Counter({row["reason"]: int(row["n"]) for row in reasons})
    return ledger


def read_captures(
    spark: SparkSession,
    paths: Any,
    *,
    schema: SchemaLike | None = None,
    value_columns: Mapping[str, str | DataType | ValueType] | None = None,
    path_glob_filter: str | None = DEFAULT_PATH_GLOB,
    recursive: bool = True,
    source_options: Mapping[str, str] | None = None,
    provenance_prefix: str = "",
    batch_rows: int = 10_000,
    **reader_options: Any,
) -> CaptureFrames:
    """Read capture files into Spark, one task per file or group of files (lazily).

    Args:
        spark: The session.
        paths: Paths, directories, globs or ``s3a://`` prefixes, a :class:`CaptureFile`, or a
            listing (a sequence of them; pass ``path_glob_filter=None`` if its names do not
            end in ``.jsonl``).
        schema: An Arthur model schema, or the path of its JSON file: values are mapped onto
            its attributes and coerced;
            the value columns are the ``PIPELINE_INPUT``, ``NON_INPUT_DATA`` and
            ``PREDICTED_VALUE`` attributes in stage and position order, typed by
            :func:`~arthur_capture.spark.spark_type` (implicit ones included; null when
            absent).
        value_columns: Without a schema: column name → type (a Spark type, a Spark type
            name such as ``"double"``, or an Arthur value type). Values are taken by name
            (``input_0``…, ``score``…) and coerced like a schema's; a value whose name is not
            listed rejects its inference (``unknown_attribute``), a listed name with no value
            is null. It is a schema of optional ``NON_INPUT_DATA`` attributes.
        path_glob_filter: Keep files whose name matches (``None``: every file).
        recursive: Descend into sub-directories.
        source_options: More options for Spark's ``binaryFile`` source.
        provenance_prefix: Prefix for ``source``, ``line_number``, ``event_id`` and
            ``index``, when the model has attributes of those names.
        batch_rows: Rows per Arrow batch a task emits.
        **reader_options: :class:`~arthur_capture.CaptureReader` options (``sniff``,
            ``content_types``, ``max_line_bytes``, ``event_versions``, ``registry``…); they
            are pickled to the executors (a ``registry`` as its decoders, which must be
            picklable). ``strict`` is refused: rejects are collected.

    With neither ``schema`` nor ``value_columns``, the single value column
    ``inference_data`` holds each inference's values as JSON text, exactly as
    ``arthur-capture convert`` writes them (read it with ``from_json``).

    Raises:
        ValueError: Both ``schema`` and ``value_columns``, a refused option, a bad type
            name, or a value column that clashes with another column.
        arthur_capture.errors.SchemaError: ``value_columns`` names a reserved name.
    """
    if schema is not None and value_columns is not None:
        raise ValueError("pass a schema or value_columns, not both")
    schema = ModelSchema.of(schema) if schema is not None else None
    refused = _REFUSED_OPTIONS.intersection(reader_options)
    if refused:
        msg = f"option(s) {', '.join(sorted(refused))} cannot be used here"
        msg += " (rejects are collected in the rejects frame; map with schema=, by keyword)"
        raise ValueError(msg)
    if batch_rows < 1:
        raise ValueError("batch_rows must be positive")
    if value_columns is not None:
        schema = value_schema(value_columns)
    columns = columns_of(schema) if schema is not None else (Column(JSON_COLUMN, value_type=None),)
    provenance = (
        f"{provenance_prefix}source",
        f"{provenance_prefix}line_number",
        f"{provenance_prefix}event_id",
        f"{provenance_prefix}index",
    )
    taken = ["partner_inference_id", "inference_timestamp", *provenance]
    for column in columns:
        if column.name in taken:
            msg = f"value column {column.name!r} clashes with another column; "
            msg += (
                "pass provenance_prefix (e.g. '_') to rename source, line_number, event_id, index"
            )
            raise ValueError(msg)
        taken.append(column.name)
    plan = ReadPlan.of(schema, columns, provenance, reader_options, batch_rows)
    files = _binary_files(
        spark,
        paths,
        path_glob_filter=path_glob_filter,
        recursive=recursive,
        source_options=source_options,
    )
    tagged = files.select("path", "content").mapInArrow(
        functools.partial(decode_partition, plan), plan.tagged_type()
    )
    return CaptureFrames(tagged=tagged, value_columns=tuple(c.name for c in columns))


@contextlib.contextmanager
def file_partitioning(
    spark: SparkSession,
    *,
    files_per_partition: int | None = None,
    max_partition_bytes: int | None = None,
) -> Iterator[None]:
    """Within the block, Spark packs at most about ``files_per_partition`` files per task.

    Spark plans file splits when an action runs, from two session settings; this sets them
    for the block and then restores them: ``spark.sql.files.maxPartitionBytes`` (to
    ``max_partition_bytes``, when given) and ``spark.sql.files.openCostInBytes`` (to
    ``maxPartitionBytes // files_per_partition + 1``, so each file "costs" that much).
    ``files_per_partition=1`` gives exactly one task per file; larger values give at most
    that many, fewer when files are large or when the input is small for the cluster.
    A file is never split.

    Raises:
        ValueError: A value is not positive.
    """
    settings: dict[str, str] = {}
    if max_partition_bytes is not None:
        if max_partition_bytes < 1:
            raise ValueError("max_partition_bytes must be positive")
        settings[_MAX_PARTITION_BYTES] = str(max_partition_bytes)
    if files_per_partition is not None:
        if files_per_partition < 1:
            raise ValueError("files_per_partition must be positive")
        limit = max_partition_bytes or conf_bytes(
            spark, _MAX_PARTITION_BYTES, _DEFAULT_MAX_PARTITION_BYTES
        )
        settings[_OPEN_COST_BYTES] = str(limit // files_per_partition + 1)
    with session_conf(spark, settings):
        yield
