"""Mapping records onto an Arthur model's attributes, and coercing values to their types.

Mapping rules (documented in ``docs/arthur.md``):

- column-ordered request values (``input_<i>``) go to the ``PIPELINE_INPUT`` attribute with
  ``position == i``; column-ordered response values (``output_<j>``) to the
  ``PREDICTED_VALUE`` attribute with ``position == j``;
- a lone response value goes to position 1 when the model's predicted attributes start at
  position 1 or the one at position 0 is ``implicit`` (Arthur's convention for a single
  positive-class probability);
- name → value maps go by attribute name;
- values are coerced to the attribute's value type (:func:`coerce`).

A :class:`SchemaMapper` is a :class:`~arthur_capture.reading.RecordMapper`: pass it to a
reader (``mapper=``) and every record is mapped as it is read.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Final

import orjson

from arthur_capture.arthur._plans import RECORD_SETTERS, RecordPlan, SidePlan, new_record
from arthur_capture.arthur.contract import (
    RESERVED_NAMES,
    SEND_STAGES,
    Stage,
    ValueType,
    aware_time,
    check_partner_id,
)
from arthur_capture.arthur.schema import ModelSchema
from arthur_capture.errors import CoercionError, MappingError, Reason, brief
from arthur_capture.records import MAX_PARTNER_ID_LENGTH, InferenceRecord, Reject

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    from arthur_capture.arthur.schema import Attribute, SchemaLike
    from arthur_capture.records import Call

__all__ = ["SchemaMapper", "coerce"]

_STAGE_PREFIX: Final = {Stage.PIPELINE_INPUT: "input_", Stage.PREDICTED_VALUE: "output_"}
_COLUMN_NAME: Final = re.compile(r"(input|output)_(0|[1-9][0-9]*)")
_RECORD: Final = InferenceRecord
_NO_VALUES: Final[list[Any]] = []
"""The values of a side that was not captured (never changed)."""
_Names = int | tuple[str, ...]
"""A side's shape: the names of its values, or the width of a column-ordered row."""
_new_record: Final = new_record
_RECORD_SETTERS: Final = RECORD_SETTERS
_MAX_PLANS: Final = 1024
"""Record shapes whose plans a mapper keeps (maps with ever new keys make ever new shapes)."""


@functools.lru_cache(maxsize=256)
def _column_names(prefix: str, width: int) -> tuple[str, ...]:
    return tuple(f"{prefix}{i}" for i in range(width))


def _is_integral_text(text: str) -> bool:
    return re.fullmatch(r"[+-]?[0-9]+", text.strip()) is not None


_TRUE: Final = frozenset({"true", "1", "t", "yes"})
_FALSE: Final = frozenset({"false", "0", "f", "no"})
_NUMBER_TEXT: Final = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _to_float(value: Any) -> float | None:
    if isinstance(value, bool):
        raise CoercionError("a boolean is not a FLOAT")
    if isinstance(value, (int, float)):
        try:
            number = float(value)
        except OverflowError:
            raise CoercionError(f"{brief(value)} is outside the FLOAT range") from None
    elif isinstance(value, str) and _NUMBER_TEXT.fullmatch(value.strip()):
        number = float(value.strip())  # float() strips less than str.strip() (not \x1c-\x1f)
    elif isinstance(value, str) and value.strip().lower() in ("nan", "inf", "+inf", "-inf"):
        number = float(value.strip())
    else:
        raise CoercionError(f"{brief(value)} is not a FLOAT")
    return number if math.isfinite(number) else None


def _to_int(value: Any) -> int:
    if isinstance(value, bool):
        raise CoercionError("a boolean is not an INTEGER")
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and math.isfinite(value) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and _is_integral_text(value) and len(value.strip()) <= 21:
        number = int(value.strip())  # int() strips less than str.strip() (not \x1c-\x1f)
    elif isinstance(value, str) and _NUMBER_TEXT.fullmatch(value.strip()):
        as_float = float(value.strip())
        if not as_float.is_integer():
            raise CoercionError(f"{brief(value)} is not a whole number")
        number = int(as_float)
    else:
        raise CoercionError(f"{brief(value)} is not an INTEGER")
    if not -(2**63) <= number < 2**63:
        raise CoercionError(f"{brief(value)} is outside the 64-bit INTEGER range")
    return number


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise CoercionError(f"{brief(value)} is not a BOOLEAN (true/false, 1/0)")


def _to_str(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        try:
            return str(value)  # what JSON writes, at any size Python will print
        except ValueError:  # past sys.get_int_max_str_digits() (4300 by default)
            raise CoercionError(f"{brief(value)} has too many digits for a STRING") from None
    if isinstance(value, float):
        return orjson.dumps(value).decode()
    raise CoercionError(f"{brief(value)} is not a STRING")


def coerce(value: Any, value_type: ValueType) -> Any:
    """Coerce one value to an Arthur value type.

    ``None`` stays ``None`` (except for ``TIMESTAMP``, which Arthur refuses null), and so
    does a NaN or ±Infinity float become ``None`` (as Arthur's SDK sends it); an empty
    string is ``None`` for every type but ``STRING`` and ``UNSTRUCTURED_TEXT``.
    ``INTEGER`` takes integers, whole floats and integer text; ``FLOAT`` takes numbers
    and number text (non-finite becomes ``None``); ``BOOLEAN`` takes booleans, 0/1 and
    ``true/false/t/f/yes/no/1/0`` text; ``STRING`` takes text, numbers (as JSON writes
    them) and booleans (``true``/``false``); ``TIMESTAMP`` takes timezone-aware ISO 8601
    text or datetimes. Other value types pass through unchanged.

    Raises:
        CoercionError: The value does not fit the type.
    """
    if value_type is ValueType.TIMESTAMP:
        if value is None or value == "":
            raise CoercionError("a TIMESTAMP may not be null")
        moment: Any = aware_time(value)
        return moment
    if value is None:
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None  # Arthur's SDK nulls NaN and ±Infinity in every scalar value
    if value == "" and value_type not in (ValueType.STRING, ValueType.UNSTRUCTURED_TEXT):
        return None
    if value_type is ValueType.FLOAT:
        return _to_float(value)
    if value_type is ValueType.INTEGER:
        return _to_int(value)
    if value_type is ValueType.BOOLEAN:
        return _to_bool(value)
    if value_type in (ValueType.STRING, ValueType.UNSTRUCTURED_TEXT):
        return _to_str(value)
    if value_type is ValueType.ARRAY_STRING:
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return value
        raise CoercionError(f"{brief(value)} is not an ARRAY(STRING)")
    return value


class SchemaMapper:
    """Maps records onto a model's attributes (a :class:`~arthur_capture.reading.RecordMapper`).

    Args:
        schema: The model's attributes.
        require_inputs: A record missing a ``PIPELINE_INPUT`` attribute is rejected
            (``missing_attribute``). When false, missing inputs are sent as null.
        require_outputs: Likewise for ``PREDICTED_VALUE`` attributes (implicit ones excepted),
            for records that carry a response.
    """

    def __init__(
        self, schema: ModelSchema, *, require_inputs: bool = True, require_outputs: bool = True
    ) -> None:
        """Index the schema for mapping."""
        self.schema = schema
        """The model's attributes."""
        self.require_inputs = require_inputs
        self.require_outputs = require_outputs
        self._by_name = schema.by_name()
        self._inputs = schema.stage(Stage.PIPELINE_INPUT)
        self._outputs = [a for a in schema.stage(Stage.PREDICTED_VALUE) if not a.implicit]
        self._by_position: dict[tuple[Stage, int], Attribute] = {
            (a.stage, a.position): a
            for a in schema.attributes
            if a.position is not None and a.stage in _STAGE_PREFIX
        }
        predicted = {a.position: a for a in schema.stage(Stage.PREDICTED_VALUE)}
        zero = predicted.get(0)
        self._lone_output_position = 1 if 1 in predicted and (zero is None or zero.implicit) else 0
        self._plans: dict[tuple[_Names, _Names], RecordPlan] = {}
        self._plan_options = (require_inputs, require_outputs)

    def __getstate__(self) -> dict[str, Any]:
        """The mapper without its compiled plans (which hold functions), for pickling."""
        state = self.__dict__.copy()
        state["_plans"] = {}
        return state

    types_values = True
    """CSV fields reach the mapper as text: it types every value by its attribute."""

    @classmethod
    def of(cls, schema: SchemaLike) -> SchemaMapper:
        """A mapper for a schema, or for the schema in a JSON file.

        Raises:
            SchemaError: The path holds no usable schema.
        """
        return cls(ModelSchema.of(schema))

    def map(self, record: InferenceRecord) -> InferenceRecord:
        """The record with its values renamed to attributes and coerced.

        The mapping is compiled once per shape of record (the names of its inputs and
        outputs) and applied to every record of that shape; it gives exactly what
        :meth:`map_reference` gives, errors included.

        Raises:
            MappingError: ``unknown_attribute``, ``missing_attribute``, ``reserved_name``,
                ``invalid_value`` or ``name_conflict``.
            PartnerIdTooLongError: ``id_too_long``.
        """
        inputs = record.inputs
        outputs = record.outputs
        if type(inputs) is not dict or type(outputs) is not dict or type(record) is not _RECORD:
            return self.map_reference(record)
        check_partner_id(record.partner_inference_id)
        plans = self._current_plans()
        shape = (tuple(inputs), tuple(outputs))
        plan = plans.get(shape) or self._plan(*shape)
        mapped_inputs, mapped_outputs = plan.apply(inputs.values(), outputs.values())
        return _new_record(
            record.partner_inference_id,
            record.inference_timestamp,
            mapped_inputs,
            mapped_outputs,
            record.event_id,
            record.inference_id,
            record.index,
            record.batch_size,
            record.source,
            record.line_number,
            record.custom_attributes,
        )

    def map_call(
        self, call: Call, checked: Callable[[InferenceRecord, Call], InferenceRecord | Reject]
    ) -> tuple[InferenceRecord | Reject, ...]:
        """Every inference of a call mapped: a reader's ``Call.outcomes`` (see ``RecordMapper``).

        Exactly ``tuple(checked(r, call) for r in call.iter_records())``, where ``checked``
        is the reader's check of one record (its partner ID, then :meth:`map`, a
        :class:`~arthur_capture.records.Reject` for an error), made from the call's rows
        without the records of their unmapped values. An inference that fails, and a call
        that is unusual (a partner ID over the limit, rows that are not lists or dicts),
        go through ``checked``.
        """
        if (
            call.longest_id > MAX_PARTNER_ID_LENGTH
            or type(self).map is not SchemaMapper.map
            or _RECORD_SETTERS is None
        ):
            return tuple(checked(r, call) for r in call.iter_records())
        plans = self._current_plans()
        meta = call.event.event_metadata
        inputs, outputs, count = call.inputs, call.outputs, call.count
        base = call.base_id
        attributes = tuple(meta.custom_attributes or ())
        when, event_id, inference_id = meta.inference_time, meta.event_id, meta.inference_id
        source, line_number = call.source, call.line_number
        outcomes: list[InferenceRecord | Reject] = []
        new = object.__new__
        (
            set_id,
            set_time,
            set_inputs,
            set_outputs,
            set_event_id,
            set_inference_id,
            set_index,
            set_batch_size,
            set_source,
            set_line_number,
            set_attributes,
        ) = _RECORD_SETTERS
        for index in range(count):
            request = inputs[index] if inputs is not None else _NO_VALUES
            response = outputs[index] if outputs is not None else _NO_VALUES
            if type(request) is list:
                request_key: int | tuple[str, ...] = len(request)
                request_values: Iterable[Any] = request
            elif type(request) is dict:
                request_key = tuple(request)
                request_values = request.values()
            else:
                outcomes.append(checked(call.record(index), call))
                continue
            if type(response) is list:
                response_key: int | tuple[str, ...] = len(response)
                response_values: Iterable[Any] = response
            elif type(response) is dict:
                response_key = tuple(response)
                response_values = response.values()
            else:
                outcomes.append(checked(call.record(index), call))
                continue
            plan = plans.get((request_key, response_key)) or self._plan(request_key, response_key)
            try:
                mapped_inputs, mapped_outputs = plan.apply(request_values, response_values)
            except MappingError:
                outcomes.append(checked(call.record(index), call))  # the same error, as a Reject
                continue
            record = new(_RECORD)  # _plans.new_record_function, inline: once per inference
            set_id(record, base if count == 1 else f"{base}_{index}")  # partner_inference_id()
            set_time(record, when)
            set_inputs(record, mapped_inputs)
            set_outputs(record, mapped_outputs)
            set_event_id(record, event_id)
            set_inference_id(record, inference_id)
            set_index(record, index)
            set_batch_size(record, count)
            set_source(record, source)
            set_line_number(record, line_number)
            set_attributes(record, attributes)
            outcomes.append(record)
        return tuple(outcomes)

    def _current_plans(self) -> dict[tuple[_Names, _Names], RecordPlan]:
        """The plans, emptied when ``require_inputs`` or ``require_outputs`` changed."""
        options = (self.require_inputs, self.require_outputs)
        if self._plan_options != options:
            self._plans.clear()
            self._plan_options = options
        return self._plans

    def _plan(self, request: _Names, response: _Names) -> RecordPlan:
        """Compile (and keep) the plan of records of this shape.

        A side's shape is the names of its values (a map's keys), or the width of a row of
        column-ordered values (named ``input_<i>`` and ``output_<j>``).
        """
        input_names = request if type(request) is tuple else _column_names("input_", request)
        output_names = response if type(response) is tuple else _column_names("output_", response)
        inputs = self._side_plan(input_names, Stage.PIPELINE_INPUT, lone_output=False)
        lone = output_names == ("output_0",)
        outputs = self._side_plan(output_names, Stage.PREDICTED_VALUE, lone_output=lone)
        error: tuple[str, Reason] | None = None
        if inputs.error is None and outputs.error is None:
            mapped_in = dict.fromkeys(inputs.names)
            mapped_out = dict.fromkeys(outputs.names)
            try:
                self._check_names(mapped_in, mapped_out, bool(input_names), bool(output_names))
            except MappingError as exc:
                error = (exc.message, exc.reason or Reason.INVALID_VALUE)
        plan = RecordPlan(inputs, outputs, error)
        if len(self._plans) >= _MAX_PLANS:
            self._plans.clear()
        self._plans[request, response] = plan
        return plan

    def _side_plan(self, names: tuple[str, ...], stage: Stage, *, lone_output: bool) -> SidePlan:
        attributes: list[Attribute] = []
        error: tuple[str, Reason] | None = None
        for name in names:
            try:
                attributes.append(self._sent_attribute(name, stage, lone_output=lone_output))
            except MappingError as exc:
                error = (exc.message, exc.reason or Reason.UNKNOWN_ATTRIBUTE)
                break
        return SidePlan(
            tuple(a.name for a in attributes), tuple(a.value_type for a in attributes), error
        )

    def map_reference(self, record: InferenceRecord) -> InferenceRecord:
        """:meth:`map` value by value, as it was first written: the reference of the tests."""
        check_partner_id(record.partner_inference_id)
        lone = len(record.outputs) == 1 and "output_0" in record.outputs
        inputs = self._side(record.inputs, Stage.PIPELINE_INPUT, lone_output=False)
        outputs = self._side(record.outputs, Stage.PREDICTED_VALUE, lone_output=lone)
        self._check_names(inputs, outputs, bool(record.inputs), bool(record.outputs))
        return replace(record, inputs=inputs, outputs=outputs)

    def _check_names(
        self, inputs: dict[str, Any], outputs: dict[str, Any], has_inputs: bool, has_outputs: bool
    ) -> None:
        """The checks of the mapped names: ``name_conflict``, then ``missing_attribute``."""
        if not inputs.keys().isdisjoint(outputs):
            both = ", ".join(sorted(set(inputs).intersection(outputs)))
            msg = f"attribute(s) {both} get a value from both the request and the response"
            raise MappingError(msg, Reason.NAME_CONFLICT)
        if self.require_inputs and has_inputs:
            self._require(inputs, self._inputs, "request")
        if self.require_outputs and has_outputs:
            self._require(outputs, self._outputs, "response")

    def _require(self, values: Mapping[str, Any], attributes: list[Attribute], side: str) -> None:
        missing = [a.name for a in attributes if a.name not in values]
        if missing:
            shown = ", ".join(missing[:5])
            if len(missing) > 5:
                shown += f" (+{len(missing) - 5} more)"
            raise MappingError(
                f"the {side} has no value for attribute(s) {shown}", Reason.MISSING_ATTRIBUTE
            )

    def _side(
        self, values: Mapping[str, Any], stage: Stage, *, lone_output: bool
    ) -> dict[str, Any]:
        mapped: dict[str, Any] = {}
        for name, value in values.items():
            attr = self._sent_attribute(name, stage, lone_output=lone_output)
            try:
                mapped[attr.name] = coerce(value, attr.value_type)
            except CoercionError as exc:
                msg = f"attribute {attr.name!r} ({attr.value_type}): {exc.message}"
                raise MappingError(msg, Reason.INVALID_VALUE) from None
        return mapped

    def _sent_attribute(self, name: str, stage: Stage, *, lone_output: bool) -> Attribute:
        """The attribute a value name goes to, which must be one sent with inferences."""
        attr = self._attribute(name, stage, lone_output=lone_output)
        if attr.stage not in SEND_STAGES:
            msg = f"{name!r} names a {attr.stage} attribute, which is not sent with inferences"
            raise MappingError(msg, Reason.UNKNOWN_ATTRIBUTE)
        return attr

    def _attribute(self, name: str, stage: Stage, *, lone_output: bool) -> Attribute:
        if name in RESERVED_NAMES:
            raise MappingError(f"{name!r} is a reserved name in Arthur", Reason.RESERVED_NAME)
        match = _COLUMN_NAME.fullmatch(name)
        if match is not None and _STAGE_PREFIX[stage] == match.group(1) + "_":
            position = int(match.group(2))
            if lone_output:
                position = self._lone_output_position
            attr = self._by_position.get((stage, position))
            if attr is not None:
                return attr
            if name not in self._by_name:
                msg = f"the model has no {stage} attribute at position {position} (for {name!r})"
                raise MappingError(msg, Reason.UNKNOWN_ATTRIBUTE)
        attr = self._by_name.get(name)
        if attr is None:
            msg = f"the model has no attribute named {name!r}"
            raise MappingError(msg, Reason.UNKNOWN_ATTRIBUTE)
        return attr
