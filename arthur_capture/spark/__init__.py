"""Read capture files with PySpark, one task per file or group of files (extra: ``[spark]``).

Install with ``pip install 'arthur-capture[spark]'`` (pyspark, pyarrow, pandas) on the driver
*and* the executors. This module is not imported by ``import arthur_capture``::

    from arthur_capture.spark import read_captures

    frames = read_captures(spark, "s3a://bucket/capture/my-endpoint/AllTraffic/2024/01/", schema=s)
    frames.inferences.show()  # one row per inference
    frames.rejects.show()  # one row per rejected line or inference
    assert frames.ledger().balanced

How it works: Spark's ``binaryFile`` source lists the files (``pathGlobFilter``,
``recursiveFileLookup``) and reads each one whole into one row; ``mapInArrow`` runs the same
:meth:`~arthur_capture.CaptureReader.iter_records` as the library and the command line over each
file's bytes, on the executors, and emits Arrow batches. There is no second copy of any decoding,
mapping or coercion rule here: with a model schema the reader's own
:class:`~arthur_capture.schema.SchemaMapper` maps and coerces; a file is never split.

One pass yields three kinds of row, kept apart in :attr:`CaptureFrames.tagged` and offered as
:attr:`CaptureFrames.inferences`, :attr:`CaptureFrames.rejects` and
:attr:`CaptureFrames.ledgers`; each action on them decodes the files again unless the frames are
persisted (:meth:`CaptureFrames.persist`; :func:`backfill` does it for you). See
``docs/spark.md`` for EMR, Glue and SageMaker Processing, s3a and sizing.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import tempfile
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

import orjson
from pyspark import StorageLevel, TaskContext
from pyspark.sql import functions as F  # noqa: N812 - Spark's own convention
from pyspark.sql.types import (
    ArrayType,
    BooleanType,
    ByteType,
    DataType,
    DoubleType,
    FloatType,
    IntegerType,
    LongType,
    MapType,
    ShortType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from arthur_capture._json import dumps_json
from arthur_capture.arthur.contract import Stage, ValueType
from arthur_capture.arthur.schema import Attribute, ModelSchema
from arthur_capture.decoders import Decoder, DecoderRegistry
from arthur_capture.arthur.mapping import SchemaMapper
from arthur_capture.reading import CaptureReader, Ledger, Named
from arthur_capture.records import Reject
from arthur_capture.sinks.parquet import DEFAULT_CHUNK_ROWS, DEFAULT_ROW_GROUP_SIZE

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping

    from pyspark.sql import Column, DataFrame, SparkSession

    from arthur_capture.arthur import ArthurClient
    from arthur_capture.records import InferenceRecord

__all__ = [
    "DEFAULT_PATH_GLOB",
    "BackfillResult",
    "CaptureFile",
    "CaptureFrames",
    "PartitionUpload",
    "backfill",
    "collect_ledger",
    "file_partitioning",
    "list_capture_files",
    "read_captures",
    "spark_type",
    "to_arthur_frame",
    "upload_partitions",
    "write_inferences_parquet",
]

DEFAULT_PATH_GLOB: Final = "*.jsonl*"
"""File names read by default: SageMaker's ``*.jsonl`` (and ``*.jsonl.gz``)."""

_META: Final = "arthur_capture"
"""Key of the Spark column metadata this module writes and reads."""
_SEND_STAGES: Final = (Stage.PIPELINE_INPUT, Stage.NON_INPUT_DATA, Stage.PREDICTED_VALUE)
_ARTHUR_COLUMNS: Final = ("partner_inference_id", "inference_timestamp", "batch_id")
_JSON_COLUMN: Final = "inference_data"
_MAX_PARTITION_BYTES: Final = "spark.sql.files.maxPartitionBytes"
_OPEN_COST_BYTES: Final = "spark.sql.files.openCostInBytes"
_DEFAULT_MAX_PARTITION_BYTES: Final = 128 * 1024 * 1024
_REFUSED_OPTIONS: Final = frozenset({"strict", "schema"})

_SPARK_TYPE_NAMES: Final = {
    "long": ValueType.INTEGER,
    "bigint": ValueType.INTEGER,
    "int": ValueType.INTEGER,
    "integer": ValueType.INTEGER,
    "double": ValueType.FLOAT,
    "float": ValueType.FLOAT,
    "string": ValueType.STRING,
    "boolean": ValueType.BOOLEAN,
    "timestamp": ValueType.TIMESTAMP,
    "array<string>": ValueType.ARRAY_STRING,
}


_NATIVE_TYPES: Final = frozenset(
    {
        ValueType.INTEGER,
        ValueType.FLOAT,
        ValueType.STRING,
        ValueType.UNSTRUCTURED_TEXT,
        ValueType.BOOLEAN,
        ValueType.TIMESTAMP,
        ValueType.ARRAY_STRING,
    }
)
"""Value types with a Spark type of their own; the others are held as JSON text."""


def spark_type(value_type: ValueType) -> DataType:
    """The Spark type of an Arthur value type's column.

    ``INTEGER`` → long, ``FLOAT`` → double, ``STRING`` and ``UNSTRUCTURED_TEXT`` → string,
    ``BOOLEAN`` → boolean, ``TIMESTAMP`` → timestamp (an instant, written as UTC),
    ``ARRAY(STRING)`` → array<string>. The pass-through types (``IMAGE``, ``BOUNDING_BOX``,
    ``TOKENS``, ``TOKEN_LIKELIHOODS``, ``RANKED_LIST``, ``TIME_SERIES``) → string holding the
    value's JSON text.
    """
    return {
        ValueType.INTEGER: LongType(),
        ValueType.FLOAT: DoubleType(),
        ValueType.STRING: StringType(),
        ValueType.UNSTRUCTURED_TEXT: StringType(),
        ValueType.BOOLEAN: BooleanType(),
        ValueType.TIMESTAMP: TimestampType(),
        ValueType.ARRAY_STRING: ArrayType(StringType()),
    }.get(value_type, StringType())


def _arrow_type(pa: Any, data_type: DataType) -> Any:
    if isinstance(data_type, LongType):
        return pa.int64()
    if isinstance(data_type, IntegerType):
        return pa.int32()
    if isinstance(data_type, DoubleType):
        return pa.float64()
    if isinstance(data_type, BooleanType):
        return pa.bool_()
    if isinstance(data_type, TimestampType):
        return pa.timestamp("us", tz="UTC")
    if isinstance(data_type, ArrayType):
        return pa.list_(_arrow_type(pa, data_type.elementType))
    if isinstance(data_type, MapType):
        return pa.map_(_arrow_type(pa, data_type.keyType), _arrow_type(pa, data_type.valueType))
    if isinstance(data_type, StructType):
        return pa.struct([pa.field(f.name, _arrow_type(pa, f.dataType)) for f in data_type])
    return pa.string()


# --------------------------------------------------------------------------- column plan


@dataclass(frozen=True, slots=True)
class _Column:
    """One value column: an attribute, or the JSON ``inference_data`` column (no type)."""

    name: str
    value_type: ValueType | None
    implicit: bool = False

    @property
    def data_type(self) -> DataType:
        return StringType() if self.value_type is None else spark_type(self.value_type)

    def field(self) -> StructField:
        meta: dict[str, Any] = {"role": "inference_data" if self.value_type is None else "value"}
        if self.value_type is not None:
            meta["value_type"] = str(self.value_type)
            meta["implicit"] = self.implicit
        return StructField(self.name, self.data_type, nullable=True, metadata={_META: meta})

    def values(self, rows: list[dict[str, Any]]) -> list[Any]:
        """This column's cells for the records' merged values."""
        if self.value_type is None:
            return [dumps_json(data).decode("utf-8") for data in rows]
        name = self.name
        if self.value_type in _NATIVE_TYPES:
            return [data.get(name) for data in rows]
        return [  # a pass-through type, as JSON text
            None if data.get(name) is None else dumps_json(data[name]).decode("utf-8")
            for data in rows
        ]


@dataclass(frozen=True, slots=True)
class _Plan:
    """Everything a task needs to decode its files (pickled to the executors)."""

    schema: ModelSchema | None
    columns: tuple[_Column, ...]
    provenance: tuple[str, str, str, str]
    options: tuple[tuple[str, Any], ...]
    batch_rows: int
    decoders: tuple[tuple[str, Decoder], ...] | None = None
    """A ``registry`` option, as its decoders: a registry holds a lock and cannot be pickled."""
    entry_points: bool = True

    def reader(self) -> CaptureReader:
        options = dict(self.options)
        if self.decoders is not None:
            registry = DecoderRegistry(load_entry_points=self.entry_points)
            for media_type, decoder in self.decoders:
                registry.register(decoder, media_types=[media_type], replace=True)
            options["registry"] = registry
        mapper = SchemaMapper(self.schema) if self.schema is not None else None
        return CaptureReader(mapper=mapper, **options)

    def record_type(self) -> StructType:
        source, line, event, index = self.provenance
        fields = [
            StructField("partner_inference_id", StringType(), metadata={_META: {"role": "arthur"}}),
            StructField(
                "inference_timestamp", TimestampType(), metadata={_META: {"role": "arthur"}}
            ),
            _provenance(source, StringType()),
            _provenance(line, IntegerType()),
            _provenance(event, StringType()),
            _provenance(index, IntegerType()),
        ]
        fields += [c.field() for c in self.columns]
        return StructType(fields)

    def tagged_type(self) -> StructType:
        return StructType(
            [
                StructField("kind", StringType()),
                StructField("record", self.record_type()),
                StructField("reject", _REJECT_TYPE),
                StructField("ledger", _LEDGER_TYPE),
            ]
        )


def _provenance(name: str, data_type: DataType) -> StructField:
    return StructField(name, data_type, metadata={_META: {"role": "provenance"}})


_REJECT_TYPE: Final = StructType(
    [
        StructField("reason", StringType()),
        StructField("source", StringType()),
        StructField("line", IntegerType()),
        StructField("offset", LongType()),
        StructField("event_id", StringType()),
        StructField("index", IntegerType()),
        StructField("message", StringType()),
        StructField("raw", StringType()),
    ]
)
_LEDGER_COUNTS: Final = (
    "lines",
    "blank_lines",
    "events",
    "records",
    "rejected_inferences",
    "rejected_lines",
)
_LEDGER_TYPE: Final = StructType(
    [
        StructField("source", StringType()),
        *(StructField(name, LongType()) for name in _LEDGER_COUNTS),
        StructField("rejects_by_reason", MapType(StringType(), LongType())),
        StructField("balanced", BooleanType()),
    ]
)


def _value_type_of(spec: str | DataType | ValueType) -> ValueType:
    if isinstance(spec, ValueType):
        return spec
    if isinstance(spec, DataType):
        if isinstance(spec, LongType | IntegerType | ShortType | ByteType):
            return ValueType.INTEGER
        if isinstance(spec, DoubleType | FloatType):
            return ValueType.FLOAT
        spec = spec.simpleString()
    text = spec.strip()
    with contextlib.suppress(ValueError):
        return ValueType(text)
    found = _SPARK_TYPE_NAMES.get(text.lower().replace(" ", ""))
    if found is None:
        known = ", ".join(sorted(_SPARK_TYPE_NAMES))
        msg = f"value column type {spec!r} is not one of {known} or an Arthur value type"
        raise ValueError(msg)
    return found


def _columns_of(schema: ModelSchema) -> tuple[_Column, ...]:
    return tuple(
        _Column(a.name, a.value_type, implicit=bool(a.implicit))
        for stage in _SEND_STAGES
        for a in schema.stage(stage)
    )


def _value_schema(value_columns: Mapping[str, str | DataType | ValueType]) -> ModelSchema:
    """A schema of optional ``NON_INPUT_DATA`` attributes: the reader's mapper does the rest."""
    if not value_columns:
        raise ValueError("value_columns must name at least one column")
    return ModelSchema.from_attributes(
        Attribute(name=name, stage=Stage.NON_INPUT_DATA, value_type=_value_type_of(spec))
        for name, spec in value_columns.items()
    )


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
        *(F.coalesce(F.sum(name), F.lit(0)).alias(name) for name in _LEDGER_COUNTS),
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
        for name in _LEDGER_COUNTS:
            setattr(ledger, name, int(sums[name]))
    ledger.rejects_by_reason = Counter({row["reason"]: int(row["n"]) for row in reasons})
    return ledger


def read_captures(
    spark: SparkSession,
    paths: Any,
    *,
    schema: ModelSchema | None = None,
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
        schema: An Arthur model schema: values are mapped onto its attributes and coerced;
            the value columns are the ``PIPELINE_INPUT``, ``NON_INPUT_DATA`` and
            ``PREDICTED_VALUE`` attributes in stage and position order, typed by
            :func:`spark_type` (implicit ones included; null when absent).
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
        arthur_capture.schema.SchemaError: ``value_columns`` names a reserved name.
    """
    if schema is not None and value_columns is not None:
        raise ValueError("pass a schema or value_columns, not both")
    refused = _REFUSED_OPTIONS.intersection(reader_options)
    if refused:
        msg = f"option(s) {', '.join(sorted(refused))} cannot be used here"
        msg += " (rejects are collected in the rejects frame; pass schema by keyword)"
        raise ValueError(msg)
    if batch_rows < 1:
        raise ValueError("batch_rows must be positive")
    if value_columns is not None:
        schema = _value_schema(value_columns)
    columns = (
        _columns_of(schema) if schema is not None else (_Column(_JSON_COLUMN, value_type=None),)
    )
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
    # fail on the driver, not in every task
    CaptureReader(mapper=SchemaMapper(schema) if schema is not None else None, **reader_options)
    registry = reader_options.pop("registry", None)
    plan = _Plan(
        schema=schema,
        columns=columns,
        provenance=provenance,
        options=tuple(sorted(reader_options.items())),
        batch_rows=batch_rows,
        decoders=tuple(registry.decoders.items()) if registry is not None else None,
        entry_points=bool(getattr(registry, "_load_entry_points", True)),
    )
    files = _binary_files(
        spark,
        paths,
        path_glob_filter=path_glob_filter,
        recursive=recursive,
        source_options=source_options,
    )
    tagged = files.select("path", "content").mapInArrow(
        functools.partial(_decode_partition, plan), plan.tagged_type()
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
        limit = max_partition_bytes or _conf_bytes(
            spark, _MAX_PARTITION_BYTES, _DEFAULT_MAX_PARTITION_BYTES
        )
        settings[_OPEN_COST_BYTES] = str(limit // files_per_partition + 1)
    with _session_conf(spark, settings):
        yield


_BYTES: Final = re.compile(r"\s*([0-9]+)\s*([kmgtp]?)i?b?\s*", re.IGNORECASE)


def _conf_bytes(spark: SparkSession, key: str, default: int) -> int:
    value = spark.conf.get(key, None)
    match = _BYTES.fullmatch(value or "")
    if match is None:
        return default
    unit = "bkmgtp".index((match.group(2) or "b").lower())
    return int(match.group(1)) << (10 * unit)


@contextlib.contextmanager
def _session_conf(spark: SparkSession, settings: Mapping[str, str]) -> Iterator[None]:
    saved = {key: spark.conf.get(key, None) for key in settings}
    for key, value in settings.items():
        spark.conf.set(key, value)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                spark.conf.unset(key)
            else:
                spark.conf.set(key, old)


# --------------------------------------------------------------------------- the task


class _Emitter:
    """Buffers one task's records, rejects and ledgers; hands them out as tagged batches."""

    def __init__(self, plan: _Plan) -> None:
        import pyarrow as pa  # noqa: PLC0415 - executors only

        self.pa = pa
        self.plan = plan
        self.schema = pa.schema(list(_arrow_type(pa, plan.tagged_type())))
        self.records: list[InferenceRecord] = []
        self.rejects: list[Reject] = []
        self.ledgers: list[tuple[str, Ledger]] = []

    def ready(self, *, final: bool = False) -> Iterator[Any]:
        limit = 1 if final else self.plan.batch_rows
        if len(self.records) >= limit:
            yield self._batch("record", self._records(), len(self.records))
            self.records = []
        if len(self.rejects) >= limit:
            yield self._batch("reject", self._rejects(), len(self.rejects))
            self.rejects = []
        if len(self.ledgers) >= limit:
            yield self._batch("ledger", self._ledgers(), len(self.ledgers))
            self.ledgers = []

    def _batch(self, kind: str, array: Any, rows: int) -> Any:
        pa = self.pa
        columns = []
        for field in self.schema:
            if field.name == "kind":
                columns.append(pa.array([kind] * rows, pa.string()))
            elif field.name == kind:
                columns.append(array)
            else:
                columns.append(pa.nulls(rows, field.type))
        return pa.RecordBatch.from_arrays(columns, schema=self.schema)

    def _struct(self, kind: str, columns: list[list[Any]]) -> Any:
        pa = self.pa
        struct_type = self.schema.field(kind).type
        arrays = [pa.array(values, struct_type.field(i).type) for i, values in enumerate(columns)]
        return pa.StructArray.from_arrays(arrays, fields=list(struct_type))

    def _records(self) -> Any:
        records = self.records
        data = [{**r.inputs, **r.outputs} for r in records]
        columns: list[list[Any]] = [
            [r.partner_inference_id for r in records],
            [r.inference_timestamp for r in records],
            [r.source for r in records],
            [r.line_number for r in records],
            [r.event_id for r in records],
            [r.index for r in records],
        ]
        columns += [column.values(data) for column in self.plan.columns]
        return self._struct("record", columns)

    def _rejects(self) -> Any:
        rows = [r.to_dict() for r in self.rejects]
        return self._struct("reject", [[row[f.name] for row in rows] for f in _REJECT_TYPE])

    def _ledgers(self) -> Any:
        columns: list[list[Any]] = [[source for source, _ in self.ledgers]]
        columns += [
            [getattr(ledger, name) for _, ledger in self.ledgers] for name in _LEDGER_COUNTS
        ]
        columns.append([sorted(ledger.rejects_by_reason.items()) for _, ledger in self.ledgers])
        columns.append([ledger.balanced for _, ledger in self.ledgers])
        return self._struct("ledger", columns)


def _decode_partition(plan: _Plan, batches: Iterable[Any]) -> Iterator[Any]:
    """One task: read each file of the partition with the library's reader."""
    reader = plan.reader()
    out = _Emitter(plan)
    for batch in batches:
        paths = batch.column("path")
        contents = batch.column("content")
        for i in range(batch.num_rows):
            source = paths[i].as_py()
            data = contents[i].as_py() or b""
            stream = reader.iter_records(Named(data, source))
            for item in stream:
                if isinstance(item, Reject):
                    out.rejects.append(item)
                else:
                    out.records.append(item)
                if len(out.records) >= plan.batch_rows or len(out.rejects) >= plan.batch_rows:
                    yield from out.ready()
            out.ledgers.append((source, stream.ledger))
            yield from out.ready()
    yield from out.ready(final=True)


# --------------------------------------------------------------------------- Arthur's Parquet


def _role(field: StructField) -> str | None:
    meta = field.metadata.get(_META) if field.metadata else None
    return meta.get("role") if isinstance(meta, dict) else None


def _implicit(field: StructField) -> bool:
    meta = field.metadata.get(_META) if field.metadata else None
    return bool(meta.get("implicit")) if isinstance(meta, dict) else False


def _quoted(name: str) -> Column:
    return F.col("`" + name.replace("`", "``") + "`")


def to_arthur_frame(inferences: DataFrame, *, batch_id: str | None = None) -> DataFrame:
    """The flat frame Arthur's ``/inferences/file`` takes, from :attr:`CaptureFrames.inferences`.

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
        role = _role(field)
        if role == "inference_data":
            msg = (
                "the frame holds values as JSON text (inference_data): Arthur's Parquet needs "
                "one column per attribute; read with schema= or value_columns="
            )
            raise ValueError(msg)
        if role in ("provenance", "arthur") or field.name in _ARTHUR_COLUMNS:
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
    :func:`arthur_capture.parquet.write_parquet` leaves it out of a file.

    Returns:
        The columns written, in order.

    Raises:
        ValueError: As :func:`to_arthur_frame`; ``max_records_per_file`` is not positive.
    """
    if max_records_per_file < 1:
        raise ValueError("max_records_per_file must be positive")
    frame = to_arthur_frame(inferences, batch_id=batch_id)
    if drop_empty_implicit:
        implicit = [f.name for f in inferences.schema.fields if _implicit(f)]
        if implicit:
            counts = frame.agg(*(F.count(_quoted(n)).alias(n) for n in implicit)).first()
            empty = {n for n in implicit if counts is None or not counts[n]}
            frame = frame.select(*(_quoted(n) for n in frame.columns if n not in empty))
    settings = {"spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS"}
    with _session_conf(frame.sparkSession, settings):
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
    schema: ModelSchema | None = None,
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
    :func:`file_partitioning` for the run. Other arguments are :func:`read_captures`'.

    Raises:
        ValueError: Neither ``schema`` nor ``value_columns`` (flat columns need types), or a
            batch model without ``batch_id``.
    """
    if schema is None and value_columns is None:
        raise ValueError("Arthur's Parquet needs typed columns: pass schema= or value_columns=")
    if schema is not None and schema.is_batch and batch_id is None:
        raise ValueError("the model is a batch model: pass batch_id=")
    # An uncompressed cache: compressing the decoded rows cost more CPU than it saved here.
    cache = {"spark.sql.inMemoryColumnarStorage.compressed": "false"}
    with (
        file_partitioning(
            spark, files_per_partition=files_per_partition, max_partition_bytes=max_partition_bytes
        ),
        _session_conf(spark, cache),
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


# --------------------------------------------------------------------------- uploading


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
        ImportError: ``arthur_capture.arthur`` cannot be imported (extra ``[arthur]``).
    """
    import arthur_capture.arthur  # noqa: F401, PLC0415 - fail early on the driver

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
    roles = {f.name: _role(f) for f in fields}
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
            and f.name not in _ARTHUR_COLUMNS
        ),
        implicit=frozenset(f.name for f in fields if _implicit(f)),
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
            pa.array([v], _arrow_type(pa, f.dataType))
            for v, f in zip(values, _UPLOAD_TYPE.fields, strict=True)
        ]
        return pa.RecordBatch.from_arrays(arrays, names=_UPLOAD_TYPE.fieldNames())


def _upload_partition(plan: _UploadPlan, batches: Iterable[Any]) -> Iterator[Any]:
    """One task: upload the partition's rows and yield its account (one row)."""
    import pyarrow as pa  # noqa: PLC0415 - executors only

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
                obj = {
                    "partner_inference_id": row["partner_inference_id"],
                    "inference_timestamp": moment.astimezone(UTC) if moment else moment,
                    "inference_data": data,
                }
                if row.get("batch_id") is not None:
                    obj["batch_id"] = row["batch_id"]
                if plan.source is not None and plan.line is not None:
                    obj["source"] = row[plan.source]
                    obj["line"] = row[plan.line]
                yield obj

    result = client.upload(objects(), batch_id=plan.batch_id)
    _settle(tally, result)


def _settle(tally: _Tally, result: Any) -> None:
    tally.accepted = result.accepted
    tally.refused = result.refused
    tally.duplicates = len(result.possible_duplicates)
    for refusal in result.refusals:
        tally.refusal(asdict(refusal))
    for failure in result.failed:
        tally.failure(asdict(failure))


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
    import pyarrow.parquet as pq  # noqa: PLC0415 - executors only

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
