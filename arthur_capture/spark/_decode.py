"""The decoding task: what runs on the executors for :func:`~arthur_capture.spark.read_captures`.

The driver builds a :class:`ReadPlan` and hands :func:`decode_partition` to ``mapInArrow``;
each task reads each of its files with the library's own reader, one stream per file
(:meth:`~arthur_capture.CaptureReader.iter_records` over ``Named(bytes, path)``, whose
``.ledger`` is the file's ledger), and emits tagged Arrow batches of records, rejects and
ledgers. No decoding, mapping or coercion rule is written here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from arthur_capture.arthur.mapping import SchemaMapper
from arthur_capture.decoders import Decoder, DecoderRegistry
from arthur_capture.dependencies import require
from arthur_capture.reading import CaptureReader, Named
from arthur_capture.records import Reject
from arthur_capture.spark._types import (
    LEDGER_COUNTS,
    REJECT_TYPE,
    Column,
    arrow_type,
    record_type,
    tagged_type,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from pyspark.sql.types import StructType

    from arthur_capture.arthur.schema import ModelSchema
    from arthur_capture.reading import Ledger
    from arthur_capture.records import InferenceRecord

__all__ = ["ReadPlan", "decode_partition"]


@dataclass(frozen=True, slots=True)
class ReadPlan:
    """Everything a task needs to decode its files (pickled to the executors)."""

    schema: ModelSchema | None
    columns: tuple[Column, ...]
    provenance: tuple[str, str, str, str]
    options: tuple[tuple[str, Any], ...]
    batch_rows: int
    decoders: tuple[tuple[str, Decoder], ...] | None = None
    """A ``registry`` option, as its decoders: a registry holds a lock and cannot be pickled."""
    entry_points: bool = True

    @classmethod
    def of(
        cls,
        schema: ModelSchema | None,
        columns: tuple[Column, ...],
        provenance: tuple[str, str, str, str],
        reader_options: dict[str, Any],
        batch_rows: int,
    ) -> ReadPlan:
        """A plan from reader options; a ``registry`` among them travels as its decoders.

        The reader is built once here, so that bad options fail on the driver, not in every
        task.
        """
        options = dict(reader_options)
        registry = options.pop("registry", None)
        plan = cls(
            schema=schema,
            columns=columns,
            provenance=provenance,
            options=tuple(sorted(options.items())),
            batch_rows=batch_rows,
            decoders=tuple(registry.decoders.items()) if registry is not None else None,
            entry_points=bool(getattr(registry, "_load_entry_points", True)),
        )
        plan.reader()
        return plan

    def reader(self) -> CaptureReader:
        """The reader of the plan's options, built again on the executor."""
        options = dict(self.options)
        if self.decoders is not None:
            registry = DecoderRegistry(load_entry_points=self.entry_points)
            for media_type, decoder in self.decoders:
                registry.register(decoder, media_types=[media_type], replace=True)
            options["registry"] = registry
        mapper = SchemaMapper(self.schema) if self.schema is not None else None
        return CaptureReader(mapper=mapper, **options)

    def record_type(self) -> StructType:
        """The type of an inferences row."""
        return record_type(self.provenance, self.columns)

    def tagged_type(self) -> StructType:
        """The type of the pass's rows."""
        return tagged_type(self.provenance, self.columns)


class _Emitter:
    """Buffers one task's records, rejects and ledgers; hands them out as tagged batches."""

    def __init__(self, plan: ReadPlan) -> None:
        pa = require("pyarrow", "Reading captures with Spark")
        self.pa = pa
        self.plan = plan
        self.schema = pa.schema(list(arrow_type(pa, plan.tagged_type())))
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
        return self._struct("reject", [[row[f.name] for row in rows] for f in REJECT_TYPE])

    def _ledgers(self) -> Any:
        columns: list[list[Any]] = [[source for source, _ in self.ledgers]]
        columns += [[getattr(ledger, name) for _, ledger in self.ledgers] for name in LEDGER_COUNTS]
        columns.append([sorted(ledger.rejects_by_reason.items()) for _, ledger in self.ledgers])
        columns.append([ledger.balanced for _, ledger in self.ledgers])
        return self._struct("ledger", columns)


def decode_partition(plan: ReadPlan, batches: Iterable[Any]) -> Iterator[Any]:
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
