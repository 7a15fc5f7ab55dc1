"""The compiled schema mapping (SchemaMapper.map, map_call) equals the reference, value by value.

``SchemaMapper.map_reference`` is the mapping as first written (``coerce`` value by value);
the compiled plans must give the same records — the same values of the same types, keys in
the same order — and the same errors (reason and message), on random schemas and records,
on every fixture with every model schema, and on generated benchmark captures.
"""

from __future__ import annotations

import math
import pickle
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arthur_capture import CaptureReader, InferenceRecord, Reject
from arthur_capture.arthur.contract import RESERVED_NAMES, Stage, ValueType
from arthur_capture.arthur.mapping import SchemaMapper
from arthur_capture.arthur.schema import Attribute, ModelSchema
from arthur_capture.errors import CaptureError, Reason, SchemaError
from tests.strategies import capture_files

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures"
CAPTURES = sorted(p for p in FIXTURES.rglob("*") if p.name.endswith((".jsonl", ".jsonl.gz")))
SCHEMAS = sorted((FIXTURES / "arthur").glob("*.model.json")) + sorted(
    (FIXTURES / "arthur").glob("*.attributes.json")
)
WHEN = datetime(2024, 3, 2, 12, tzinfo=UTC)


def typed(value: Any) -> Any:
    """A value with its kind visible: 1, 1.0 and True differ, and so do 0.0 and -0.0."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int):
        return ("int", value)
    if isinstance(value, float):
        return ("float", repr(value))
    if isinstance(value, dict):
        return ("dict", [(k, typed(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("list", [typed(v) for v in value])
    return (type(value).__name__, repr(value))


def outcome_of(item: InferenceRecord | Reject) -> Any:
    """What must be equal: every field, the mapped values typed and in order."""
    if isinstance(item, Reject):
        return ("reject", item)
    return (
        "record",
        item,
        typed(dict(item.inputs)),
        typed(dict(item.outputs)),
        type(item.inputs),
        type(item.outputs),
    )


def mapped(mapper: SchemaMapper, record: InferenceRecord, *, reference: bool) -> Any:
    try:
        result = mapper.map_reference(record) if reference else mapper.map(record)
    except CaptureError as exc:
        return ("error", type(exc), exc.reason, exc.message)
    return outcome_of(result)


class ReferenceMapper:
    """A SchemaMapper through ``map_reference`` only: the reader's generic, per-record path."""

    types_values = True

    def __init__(self, mapper: SchemaMapper) -> None:
        self.mapper = mapper

    def map(self, record: InferenceRecord) -> InferenceRecord:
        return self.mapper.map_reference(record)


def outcomes(reader: CaptureReader, source: Any) -> list[Any]:
    found: list[Any] = []
    for item in reader.iter_calls(source):
        if isinstance(item, Reject):
            found.append(("line", item))
        else:
            assert item.outcomes is not None
            found.append([outcome_of(o) for o in item.outcomes])
    return found


def assert_same_reading(schema: ModelSchema, source: Any, **options: Any) -> None:
    compiled = SchemaMapper(schema, **options)
    reference = ReferenceMapper(SchemaMapper(schema, **options))
    first = outcomes(CaptureReader(mapper=compiled), source)
    assert first == outcomes(CaptureReader(mapper=reference), source)
    # again, with every plan compiled: the same
    assert outcomes(CaptureReader(mapper=compiled), source) == first


# ------------------------------------------------------------------------------------------
# Random schemas and records
# ------------------------------------------------------------------------------------------

VALUE_TYPES = list(ValueType)
NAMES = ["a", "b", "x0", "x1", "score", "label", "input_0", "input_1", "output_0", "output_1"]


@st.composite
def schemas(draw: st.DrawFn) -> ModelSchema:
    names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=7, unique=True))
    attributes: list[Attribute] = []
    positions: dict[Stage, int] = {}
    for name in names:
        stage = draw(st.sampled_from(list(Stage)))
        positioned = stage is Stage.PIPELINE_INPUT or (
            stage is Stage.PREDICTED_VALUE and draw(st.booleans())
        )
        position = None
        if positioned:
            position = positions.get(stage, draw(st.integers(0, 1)))
            positions[stage] = position + 1
        attributes.append(
            Attribute(
                name=name,
                stage=stage,
                value_type=draw(st.sampled_from(VALUE_TYPES)),
                position=position,
                implicit=draw(st.none() | st.booleans()),
            )
        )
    try:
        return ModelSchema.from_attributes(attributes)
    except SchemaError:
        return (
            ModelSchema.from_attributes(attributes[:1])
            if attributes[0].position != 1
            else (ModelSchema.from_attributes([attributes[0].model_copy(update={"position": 0})]))
        )


NUMBER_TEXT = st.from_regex(
    r"\A[+-]?(?:[0-9]{1,25}\.?[0-9]{0,25}|\.[0-9]{1,20})(?:[eE][+-]?[0-9]{1,3})?\Z"
)
TEXT = st.one_of(
    NUMBER_TEXT,
    st.sampled_from(
        [
            "",
            " ",
            "-0",
            "+0",
            "-0.0",
            "0",
            "1",
            "007",
            "1_000",
            " 12 ",
            "\x1c12",
            "12\x1f",
            "1,2",
            "1e400",
            "-1e400",
            "nan",
            "NaN",
            "inf",
            "-inf",
            "+inf",
            "Infinity",
            "true",
            "TRUE",
            " yes",
            "no",
            "t",
            "f",
            "١٢",
            "9223372036854775807",
            "9223372036854775808",
            "-9223372036854775808",
            "-9223372036854775809",
            "0000000000000000000000012345678901234567",
            "9007199254740993",
            "12345678901234567890123",
            "1.0",
            "1e3",
            "2.5",
            "2024-03-02T12:00:00Z",
            "2024-03-02T12:00:00",
            "abc",
        ]
    ),
    st.text(max_size=6),
)
FLOATS = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from([0.0, -0.0, 1.0, 2.5])
INTS = st.integers(-(2**70), 2**70) | st.sampled_from(
    [0, 1, -1, 2**53, 2**53 + 1, 2**63 - 1, 2**63, -(2**63), -(2**63) - 1]
)
SCALARS = st.one_of(st.none(), st.booleans(), INTS, FLOATS, TEXT)
VALUES = st.one_of(
    SCALARS,
    st.lists(st.text(max_size=3), max_size=2),
    st.lists(SCALARS, max_size=2),
    st.dictionaries(st.text(max_size=2), SCALARS, max_size=2),
    st.just(WHEN),
)
VALUE_NAMES = st.sampled_from([*NAMES, "input_2", "output_2", "zzz", *sorted(RESERVED_NAMES)[:3]])


@st.composite
def sides(draw: st.DrawFn, prefix: str, kinds: st.SearchStrategy[Any]) -> dict[str, Any]:
    if draw(st.booleans()):
        values = draw(st.lists(kinds, max_size=5))
        return {f"{prefix}{i}": v for i, v in enumerate(values)}
    return draw(st.dictionaries(VALUE_NAMES, kinds, max_size=5))


@st.composite
def records(draw: st.DrawFn) -> InferenceRecord:
    # rows of one kind of value (as a CSV body gives text, a JSON body numbers) and mixed ones
    kinds = draw(st.sampled_from([TEXT, NUMBER_TEXT, FLOATS, INTS, SCALARS, VALUES]))
    return InferenceRecord(
        partner_inference_id=draw(st.sampled_from(["p", "p_1", "x" * 256])),
        inference_timestamp=WHEN,
        inputs=draw(sides("input_", kinds)),
        outputs=draw(sides("output_", kinds)),
        event_id="e",
        inference_id=None,
        index=0,
        batch_size=1,
        source="s",
        line_number=1,
    )


@given(schemas(), st.lists(records(), min_size=1, max_size=8), st.booleans(), st.booleans())
@settings(max_examples=600, deadline=None)
def test_compiled_map_equals_reference(
    schema: ModelSchema, items: list[InferenceRecord], require_inputs: bool, require_outputs: bool
) -> None:
    mapper = SchemaMapper(schema, require_inputs=require_inputs, require_outputs=require_outputs)
    reference = SchemaMapper(schema, require_inputs=require_inputs, require_outputs=require_outputs)
    for record in items + items:  # twice: with the plans and converters compiled
        assert mapped(mapper, record, reference=False) == mapped(reference, record, reference=True)


TRICKY_TEXT = st.sampled_from(
    [
        "1_000",
        "١٢",
        "\u0663.\u0665",  # Arabic-Indic 3.5: float() reads it, coerce does not
        " 12 ",
        "\x1c12",
        "12\x1f",
        "infinity",
        "nan",
        "+inf",
        "1e400",
        "-0",
        "",
        "0x10",
        "1__0",
        "1,5",
        "TRUE",
        " yes",
        "1.0",
        "2.5",
        "007",
        "9223372036854775808",
    ]
)


@st.composite
def rows_of_one_kind(draw: st.DrawFn) -> list[Any]:
    """Six values of one kind (as one body gives them), one of them maybe tricky."""
    kind = draw(st.sampled_from([TEXT, NUMBER_TEXT, FLOATS, INTS, SCALARS, st.booleans()]))
    row = draw(st.lists(kind, min_size=6, max_size=6))
    if draw(st.booleans()):
        row[draw(st.integers(0, 5))] = draw(TRICKY_TEXT | INTS | FLOATS)
    return row


COMMON_TYPES = st.sampled_from([ValueType.FLOAT, ValueType.INTEGER, ValueType.STRING])


@given(
    st.lists(COMMON_TYPES | st.sampled_from(VALUE_TYPES), min_size=1, max_size=6),
    st.lists(rows_of_one_kind(), max_size=12),
)
@settings(max_examples=400, deadline=None)
def test_compiled_rows_equal_reference(types: list[ValueType], rows: list[list[Any]]) -> None:
    """Every value type, many rows of one shape: the converters of every signature met."""
    schema = ModelSchema.from_attributes(
        Attribute(name=f"c{i}", stage=Stage.PIPELINE_INPUT, value_type=t, position=i)
        for i, t in enumerate(types)
    )
    mapper = SchemaMapper(schema)
    for row in rows:
        record = InferenceRecord(
            partner_inference_id="p",
            inference_timestamp=WHEN,
            inputs={f"input_{i}": v for i, v in enumerate(row[: len(types)])},
            outputs={},
            event_id="e",
            inference_id=None,
            index=0,
            batch_size=1,
            source="s",
            line_number=1,
        )
        assert mapped(mapper, record, reference=False) == mapped(mapper, record, reference=True)


@given(
    st.lists(NUMBER_TEXT, min_size=1, max_size=30),
    st.none() | st.tuples(st.integers(0, 29), TRICKY_TEXT),
)
@settings(max_examples=300, deadline=None)
def test_number_text_reads_as_reference(texts: list[str], tricky: tuple[int, str] | None) -> None:
    """FLOAT and INTEGER columns of number text (a CSV body): float()/int() as coerce reads."""
    if tricky is not None:
        texts[tricky[0] % len(texts)] = tricky[1]
    for value_type in (ValueType.FLOAT, ValueType.INTEGER):
        schema = ModelSchema.from_attributes(
            Attribute(name=f"c{i}", stage=Stage.PIPELINE_INPUT, value_type=value_type, position=i)
            for i in range(len(texts))
        )
        mapper = SchemaMapper(schema)
        record = InferenceRecord(
            partner_inference_id="p",
            inference_timestamp=WHEN,
            inputs={f"input_{i}": v for i, v in enumerate(texts)},
            outputs={},
            event_id="e",
            inference_id=None,
            index=0,
            batch_size=1,
            source="s",
            line_number=1,
        )
        assert mapped(mapper, record, reference=False) == mapped(mapper, record, reference=True)


@given(capture_files(max_events=6), schemas(), st.booleans())
@settings(max_examples=200, deadline=None)
def test_map_call_equals_reader_per_record(
    capture: Any, schema: ModelSchema, strict_ids: bool
) -> None:
    """The reader through map_call gives the outcomes of its per-record path, rejects included."""
    assert_same_reading(schema, capture.data, require_outputs=strict_ids)


# ------------------------------------------------------------------------------------------
# Fixtures and generated captures
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("schema_path", SCHEMAS, ids=lambda p: p.name)
@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_every_fixture_with_every_schema(schema_path: Path, path: Path) -> None:
    assert_same_reading(ModelSchema.load(schema_path), path)


def test_fixtures_found() -> None:
    assert len(CAPTURES) > 40
    assert len(SCHEMAS) >= 5


@pytest.mark.parametrize("generator_args", [[], ["--seed", "11"]])
def test_generated_captures(tmp_path: Path, generator_args: list[str]) -> None:
    """benchmarks/generate.py's captures (CSV, JSON, JSON Lines, base64; batches of 1-10)."""
    target = tmp_path / "generated.jsonl"
    generator = [sys.executable, str(ROOT / "benchmarks" / "generate.py"), str(target)]
    subprocess.run(  # noqa: S603 - our own generator
        [*generator, "--size-mb", "0.3", *generator_args],
        check=True,
        capture_output=True,
    )
    schema = ModelSchema.load(ROOT / "benchmarks" / "generated.model.json")
    assert_same_reading(schema, target)


# ------------------------------------------------------------------------------------------
# Edge cases, one by one
# ------------------------------------------------------------------------------------------


def _schema(*types: ValueType) -> ModelSchema:
    return ModelSchema.from_attributes(
        Attribute(name=f"c{i}", stage=Stage.PIPELINE_INPUT, value_type=t, position=i)
        for i, t in enumerate(types)
    )


def _record(*values: Any, outputs: dict[str, Any] | None = None) -> InferenceRecord:
    return InferenceRecord(
        partner_inference_id="p",
        inference_timestamp=WHEN,
        inputs={f"input_{i}": v for i, v in enumerate(values)},
        outputs=outputs or {},
        event_id="e",
        inference_id=None,
        index=0,
        batch_size=1,
        source="s",
        line_number=1,
    )


@pytest.mark.parametrize(
    ("value_type", "value", "expected"),
    [
        (ValueType.FLOAT, "-0", ("float", "-0.0")),
        (ValueType.FLOAT, "1e400", None),
        (ValueType.FLOAT, "19", ("float", "19.0")),
        (ValueType.FLOAT, 19, ("float", "19.0")),
        (ValueType.FLOAT, math.nan, None),
        (ValueType.INTEGER, "0000000000000000000000012345678901234567", ("int", 12345678901234568)),
        (ValueType.INTEGER, "000012345678901234567", ("int", 12345678901234567)),
        (ValueType.INTEGER, "1e3", ("int", 1000)),
        (ValueType.INTEGER, "+7", ("int", 7)),
        (ValueType.INTEGER, 2**63 - 1, ("int", 2**63 - 1)),
        (ValueType.BOOLEAN, "TRUE", ("bool", True)),
        (ValueType.BOOLEAN, 1.0, ("bool", True)),
        (ValueType.STRING, "", ""),
        (ValueType.STRING, True, "true"),
        (ValueType.STRING, 2.50, "2.5"),
        (ValueType.IMAGE, "", None),
        (ValueType.IMAGE, 3, ("int", 3)),
    ],
)
def test_edge_values(value_type: ValueType, value: Any, expected: Any) -> None:
    mapper = SchemaMapper(_schema(value_type, ValueType.FLOAT))
    for _ in range(2):
        record = _record(value, "1.5")
        result = mapper.map(record)
        assert typed(result.inputs["c0"]) == expected
        assert mapped(mapper, record, reference=False) == mapped(mapper, record, reference=True)


@pytest.mark.parametrize(
    ("values", "reason", "message"),
    [
        (("x", "1"), Reason.INVALID_VALUE, "attribute 'c0' (FLOAT): 'x' is not a FLOAT"),
        (
            ("1", True),
            Reason.INVALID_VALUE,
            "attribute 'c1' (INTEGER): a boolean is not an INTEGER",
        ),
        (
            ("1", "9223372036854775808"),
            Reason.INVALID_VALUE,
            "attribute 'c1' (INTEGER): '9223372036854775808' is outside the 64-bit INTEGER range",
        ),
        (("1", "2", "3"), Reason.UNKNOWN_ATTRIBUTE, None),
        (("1",), Reason.MISSING_ATTRIBUTE, "the request has no value for attribute(s) c1"),
    ],
)
def test_errors_as_reference(values: tuple[Any, ...], reason: Reason, message: str | None) -> None:
    mapper = SchemaMapper(_schema(ValueType.FLOAT, ValueType.INTEGER))
    for _ in range(2):
        record = _record(*values)
        got = mapped(mapper, record, reference=False)
        assert got == mapped(mapper, record, reference=True)
        assert got[0] == "error"
        assert got[2] is reason
        if message is not None:
            assert got[3] == message


def test_invalid_value_before_an_unknown_name() -> None:
    """Values before a name that fails are coerced first: their error comes first."""
    mapper = SchemaMapper(_schema(ValueType.FLOAT))
    bad_value = _record("x", outputs={"output_5": 1})
    unknown = InferenceRecord(**{**_fields(bad_value), "inputs": {"input_0": "x", "nope": 1}})
    assert mapped(mapper, unknown, reference=False)[2] is Reason.INVALID_VALUE
    fine = InferenceRecord(**{**_fields(bad_value), "inputs": {"input_0": "1", "nope": 1}})
    assert mapped(mapper, fine, reference=False)[2] is Reason.UNKNOWN_ATTRIBUTE
    for record in (bad_value, unknown, fine):
        assert mapped(mapper, record, reference=False) == mapped(mapper, record, reference=True)


def _fields(record: InferenceRecord) -> dict[str, Any]:
    return {name: getattr(record, name) for name in InferenceRecord.__slots__}


def test_require_options_changed_after_use() -> None:
    """Plans depend on require_inputs/require_outputs: changing them is honoured."""
    mapper = SchemaMapper(_schema(ValueType.FLOAT, ValueType.FLOAT))
    record = _record("1")
    assert mapped(mapper, record, reference=False)[2] is Reason.MISSING_ATTRIBUTE
    mapper.require_inputs = False
    assert mapped(mapper, record, reference=False)[0] == "record"
    assert mapped(mapper, record, reference=False) == mapped(mapper, record, reference=True)


def test_lone_output_and_duplicate_names() -> None:
    schema = ModelSchema.from_attributes(
        [
            Attribute(
                name="x", stage=Stage.PIPELINE_INPUT, value_type=ValueType.INTEGER, position=0
            ),
            Attribute(
                name="neg",
                stage=Stage.PREDICTED_VALUE,
                value_type=ValueType.FLOAT,
                position=0,
                implicit=True,
            ),
            Attribute(
                name="pos", stage=Stage.PREDICTED_VALUE, value_type=ValueType.FLOAT, position=1
            ),
        ]
    )
    mapper = SchemaMapper(schema)
    lone = _record("3", outputs={"output_0": "0.25"})
    assert mapper.map(lone).outputs == {"pos": 0.25}
    both = InferenceRecord(**{**_fields(lone), "inputs": {"input_0": "3", "x": "4"}})
    assert mapper.map(both).inputs == {"x": 4}
    for record in (lone, both):
        assert mapped(mapper, record, reference=False) == mapped(mapper, record, reference=True)


def test_mapper_pickles_without_its_plans() -> None:
    mapper = SchemaMapper(_schema(ValueType.FLOAT))
    mapper.map(_record("1.5"))
    copy = pickle.loads(pickle.dumps(mapper))  # noqa: S301 - our own object
    assert copy.map(_record("2.5")).inputs == {"c0": 2.5}


def test_output_bytes_of_mapped_records() -> None:
    """The JSON written of a mapped record: -0.0 stays -0.0, 19 in a FLOAT column is 19.0."""
    mapper = SchemaMapper(_schema(ValueType.FLOAT, ValueType.INTEGER))
    result = mapper.map(_record("-0", "19"))
    assert orjson.dumps(result.inputs) == b'{"c0":-0.0,"c1":19}'
