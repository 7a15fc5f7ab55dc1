"""Arthur's flat Parquet from the inferences frame, and the whole backfill in one pass.

:func:`to_arthur_frame` selects Arthur's columns; :func:`write_inferences_parquet` writes
them with ``DataFrame.write.parquet``; :func:`backfill` reads, writes the Parquet, the
rejects and the ledgers from one persisted pass and returns a :class:`BackfillResult`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pyspark.sql import functions as F  # noqa: N812 - Spark's own convention
from pyspark.sql.types import StringType

from arthur_capture.arthur.schema import ModelSchema
from arthur_capture.sinks.parquet import DEFAULT_CHUNK_ROWS
from arthur_capture.spark._session import session_conf
from arthur_capture.spark._types import ARTHUR_COLUMNS, implicit, role
from arthur_capture.spark.read import DEFAULT_PATH_GLOB, file_partitioning, read_captures

if TYPE_CHECKING:
    from collections.abc import Mapping

    from pyspark.sql import Column, DataFrame, SparkSession
    from pyspark.sql.types import DataType

    from arthur_capture.arthur.contract import ValueType
    from arthur_capture.arthur.schema import SchemaLike
    from arthur_capture.reading import Ledger

__all__ = ["BackfillResult", "backfill", "to_arthur_frame", "write_inferences_parquet"]


def _quoted(name: str) -> Column:
    return F.col("`" + name.replace("`", "``") + "`")


def to_arthur_frame(inferences: DataFrame, *, batch_id: str | None = None) -> DataFrame:
    """The flat frame Arthur's ``/inferences/file`` takes, from ``CaptureFrames.inferences``.

    Columns: ``partner_inference_id``, ``inference_timestamp``, ``batch_id`` (when given),
    then every value column; the provenance columns (``source``, ``line_number``,
    ``event_id``, ``index``, as marked in the column metadata) are left out. Columns without
    this module's metadata are kept as value columns.

    Raises:
        ValueError: The frame holds the JSON ``inference_data`` column (read with a
            ``schema`` or ``value_columns`` for flat columns), or lacks an Arthur column.
    """
    names = inferences.columns
    for required in ("partner_inference_id", "inference_timestamp"):
        if required not in names:
            raise ValueError(f"the frame has no {required!r} column")
    values: list[Column] = []
    for field in inferences.schema.fields:
        field_role = role(field)
        if field_role == "inference_data":
            msg = (
                "the frame holds values as JSON text (inference_data): Arthur's Parquet needs "
                "one column per attribute; read with schema= or value_columns="
            )
            raise ValueError(msg)
        if field_role in ("provenance", "arthur") or field.name in ARTHUR_COLUMNS:
            continue
        values.append(_quoted(field.name))
    head = [F.col("partner_inference_id"), F.col("inference_timestamp")]
    if batch_id is not None:
        head.append(F.lit(batch_id).cast(StringType()).alias("batch_id"))
    return inferences.select(*head, *values)


def write_inferences_parquet(
    inferences: DataFrame,
    path: str,
    *,
    batch_id: str | None = None,
    mode: str = "errorifexists",
    max_records_per_file: int = DEFAULT_CHUNK_ROWS,
    drop_empty_implicit: bool = True,
) -> tuple[str, ...]:
    """Write Arthur's flat Parquet (:func:`to_arthur_frame`) with ``DataFrame.write.parquet``.

    Timestamps are written as ``TIMESTAMP_MICROS`` in UTC (Spark's default, INT96, is set
    aside for the write), at most ``max_records_per_file`` rows a file (Arthur's SDK sends
    at most 500,000). With ``drop_empty_implicit``, an ``implicit`` attribute's column that
    is null in every row is left out (one aggregation first, so persist the frames or use
    :func:`backfill`, or the files are decoded twice), as
    :func:`arthur_capture.sinks.parquet.write_parquet` leaves it out of a file.

    Returns:
        The columns written, in order.

    Raises:
        ValueError: As :func:`to_arthur_frame`; ``max_records_per_file`` is not positive.
    """
    if max_records_per_file < 1:
        raise ValueError("max_records_per_file must be positive")
    frame = to_arthur_frame(inferences, batch_id=batch_id)
    if drop_empty_implicit:
        implicit_columns = [f.name for f in inferences.schema.fields if implicit(f)]
        if implicit_columns:
            counts = frame.agg(*(F.count(_quoted(n)).alias(n) for n in implicit_columns)).first()
            empty = {n for n in implicit_columns if counts is None or not counts[n]}
            frame = frame.select(*(_quoted(n) for n in frame.columns if n not in empty))
    settings = {"spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS"}
    with session_conf(frame.sparkSession, settings):
        (frame.write.mode(mode).option("maxRecordsPerFile", max_records_per_file).parquet(path))
    return tuple(frame.columns)


@dataclass(frozen=True, slots=True)
class BackfillResult:
    """What :func:`backfill` did."""

    ledger: Ledger
    """Every file's ledger, added up."""
    output: str
    """Where the Parquet went."""
    columns: tuple[str, ...]
    """The Parquet's columns."""
    rejects_output: str | None
    """Where the rejects went (JSON lines), if asked."""
    ledger_output: str | None
    """Where the per-file ledgers went (JSON lines), if asked."""


def backfill(
    spark: SparkSession,
    paths: Any,
    output: str,
    *,
    schema: SchemaLike | None = None,
    value_columns: Mapping[str, str | DataType | ValueType] | None = None,
    batch_id: str | None = None,
    rejects_output: str | None = None,
    ledger_output: str | None = None,
    files_per_partition: int | None = None,
    max_partition_bytes: int | None = None,
    max_records_per_file: int = DEFAULT_CHUNK_ROWS,
    mode: str = "errorifexists",
    path_glob_filter: str | None = DEFAULT_PATH_GLOB,
    recursive: bool = True,
    source_options: Mapping[str, str] | None = None,
    **reader_options: Any,
) -> BackfillResult:
    """Capture files in, Arthur's Parquet out, with the rejects and a balanced ledger.

    Decodes every file once (the pass is persisted, uncompressed, while the outputs are
    written):
    :func:`write_inferences_parquet` to ``output``; the rejects as JSON lines (the CLI's
    dead-letter objects, nulls kept) to ``rejects_output``; one ledger per file as JSON lines
    to ``ledger_output``. ``files_per_partition`` and ``max_partition_bytes`` apply
    :func:`~arthur_capture.spark.file_partitioning` for the run. Other arguments are
    :func:`~arthur_capture.spark.read_captures`'.

    Raises:
        ValueError: Neither ``schema`` nor ``value_columns`` (flat columns need types), or a
            batch model without ``batch_id``.
    """
    if schema is None and value_columns is None:
        raise ValueError("Arthur's Parquet needs typed columns: pass schema= or value_columns=")
    schema = ModelSchema.of(schema) if schema is not None else None
    if schema is not None and schema.is_batch and batch_id is None:
        raise ValueError("the model is a batch model: pass batch_id=")
    # An uncompressed cache: compressing the decoded rows cost more CPU than it saved here.
    cache = {"spark.sql.inMemoryColumnarStorage.compressed": "false"}
    with (
        file_partitioning(
            spark, files_per_partition=files_per_partition, max_partition_bytes=max_partition_bytes
        ),
        session_conf(spark, cache),
    ):
        frames = read_captures(
            spark,
            paths,
            schema=schema,
            value_columns=value_columns,
            path_glob_filter=path_glob_filter,
            recursive=recursive,
            source_options=source_options,
            **reader_options,
        ).persist()
        try:
            columns = write_inferences_parquet(
                frames.inferences,
                output,
                batch_id=batch_id,
                mode=mode,
                max_records_per_file=max_records_per_file,
            )
            if rejects_output is not None:
                frames.rejects.write.mode(mode).option("ignoreNullFields", "false").json(
                    rejects_output
                )
            if ledger_output is not None:
                frames.ledgers.write.mode(mode).json(ledger_output)
            ledger = frames.ledger()
        finally:
            frames.unpersist()
    return BackfillResult(
        ledger=ledger,
        output=output,
        columns=columns,
        rejects_output=rejects_output,
        ledger_output=ledger_output,
    )
