"""The Spark and Arrow types of the frames, and the column plan (which columns, of which type).

The one place that knows how an Arthur value type is held in Spark (:func:`spark_type`) and
in Arrow (:func:`arrow_type`), which columns a read gives (:class:`Column`,
:func:`columns_of`, :func:`record_type`, :func:`tagged_type`), and how this package marks its
columns in Spark's column metadata (:func:`role`, :func:`implicit`).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

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
from arthur_capture.arthur.contract import SEND_STAGES, Stage, ValueType
from arthur_capture.arthur.schema import Attribute, ModelSchema

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "ARTHUR_COLUMNS",
    "JSON_COLUMN",
    "LEDGER_COUNTS",
    "LEDGER_TYPE",
    "META",
    "REJECT_TYPE",
    "Column",
    "arrow_type",
    "columns_of",
    "implicit",
    "record_type",
    "role",
    "spark_type",
    "tagged_type",
    "value_schema",
    "value_type_of",
]

META: Final = "arthur_capture"
"""Key of the Spark column metadata this package writes and reads."""
ARTHUR_COLUMNS: Final = ("partner_inference_id", "inference_timestamp", "batch_id")
"""Arthur's own columns in a flat frame: never value columns."""
JSON_COLUMN: Final = "inference_data"
"""The single value column of a read without a schema: each inference's values as JSON text."""

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


def arrow_type(pa: Any, data_type: DataType) -> Any:
    """The Arrow type of a Spark type, given the ``pyarrow`` module (imported by the caller)."""
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
        return pa.list_(arrow_type(pa, data_type.elementType))
    if isinstance(data_type, MapType):
        return pa.map_(arrow_type(pa, data_type.keyType), arrow_type(pa, data_type.valueType))
    if isinstance(data_type, StructType):
        return pa.struct([pa.field(f.name, arrow_type(pa, f.dataType)) for f in data_type])
    return pa.string()


# --------------------------------------------------------------------------- column metadata


def role(field: StructField) -> str | None:
    """The role this package marked a column with (``value``, ``provenance``…), if any."""
    meta = field.metadata.get(META) if field.metadata else None
    return meta.get("role") if isinstance(meta, dict) else None


def implicit(field: StructField) -> bool:
    """Whether the column is an ``implicit`` attribute's (may be left out when empty)."""
    meta = field.metadata.get(META) if field.metadata else None
    return bool(meta.get("implicit")) if isinstance(meta, dict) else False


# --------------------------------------------------------------------------- column plan


@dataclass(frozen=True, slots=True)
class Column:
    """One value column: an attribute, or the JSON ``inference_data`` column (no type)."""

    name: str
    value_type: ValueType | None
    implicit: bool = False

    @property
    def data_type(self) -> DataType:
        """The column's Spark type."""
        return StringType() if self.value_type is None else spark_type(self.value_type)

    def field(self) -> StructField:
        """The column's Spark field, with this package's metadata."""
        meta: dict[str, Any] = {"role": "inference_data" if self.value_type is None else "value"}
        if self.value_type is not None:
            meta["value_type"] = str(self.value_type)
            meta["implicit"] = self.implicit
        return StructField(self.name, self.data_type, nullable=True, metadata={META: meta})

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


def _provenance(name: str, data_type: DataType) -> StructField:
    return StructField(name, data_type, metadata={META: {"role": "provenance"}})


def record_type(provenance: tuple[str, str, str, str], columns: tuple[Column, ...]) -> StructType:
    """The type of an inferences row: Arthur's columns, the provenance, the value columns."""
    source, line, event, index = provenance
    fields = [
        StructField("partner_inference_id", StringType(), metadata={META: {"role": "arthur"}}),
        StructField("inference_timestamp", TimestampType(), metadata={META: {"role": "arthur"}}),
        _provenance(source, StringType()),
        _provenance(line, IntegerType()),
        _provenance(event, StringType()),
        _provenance(index, IntegerType()),
    ]
    fields += [c.field() for c in columns]
    return StructType(fields)


REJECT_TYPE: Final = StructType(
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
"""The type of a rejects row: the CLI's dead-letter object."""
LEDGER_COUNTS: Final = (
    "lines",
    "blank_lines",
    "events",
    "records",
    "rejected_inferences",
    "rejected_lines",
    "non_finite_values",
    "duplicate_partner_ids",
)
"""The :class:`~arthur_capture.reading.Ledger` counts a ledgers row holds, in order.

Each task reads each file as a run of its own, so ``duplicate_partner_ids`` counts repeats
within a file; the examples (``duplicate_examples``) stay with the core reader."""
LEDGER_TYPE: Final = StructType(
    [
        StructField("source", StringType()),
        *(StructField(name, LongType()) for name in LEDGER_COUNTS),
        StructField("rejects_by_reason", MapType(StringType(), LongType())),
        StructField("balanced", BooleanType()),
    ]
)
"""The type of a ledgers row: one file's ledger."""


def tagged_type(provenance: tuple[str, str, str, str], columns: tuple[Column, ...]) -> StructType:
    """The type of one pass's rows: ``kind`` and one struct column per kind."""
    return StructType(
        [
            StructField("kind", StringType()),
            StructField("record", record_type(provenance, columns)),
            StructField("reject", REJECT_TYPE),
            StructField("ledger", LEDGER_TYPE),
        ]
    )


def value_type_of(spec: str | DataType | ValueType) -> ValueType:
    """The value type of a ``value_columns`` entry: a Spark type, its name, or a value type.

    Raises:
        ValueError: Not a known type.
    """
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


def columns_of(schema: ModelSchema) -> tuple[Column, ...]:
    """A model's value columns: the attributes Arthur is sent, by stage and position."""
    return tuple(
        Column(a.name, a.value_type, implicit=bool(a.implicit))
        for stage in SEND_STAGES
        for a in schema.stage(stage)
    )


def value_schema(value_columns: Mapping[str, str | DataType | ValueType]) -> ModelSchema:
    """A schema of optional ``NON_INPUT_DATA`` attributes: the reader's mapper does the rest.

    Raises:
        ValueError: No column, or a type :func:`value_type_of` does not know.
        arthur_capture.errors.SchemaError: A column has a reserved name.
    """
    if not value_columns:
        raise ValueError("value_columns must name at least one column")
    return ModelSchema.from_attributes(
        Attribute(name=name, stage=Stage.NON_INPUT_DATA, value_type=value_type_of(spec))
        for name, spec in value_columns.items()
    )
