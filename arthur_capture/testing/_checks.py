"""Why the local Arthur server refuses an inference or a ground-truth update, for one model.

The object-level rules are Arthur's contract
(:func:`~arthur_capture.arthur.contract.object_problem`); what is added here is the model's:
its attributes, their stages and value types, the required ones, and the batch ID of a batch
model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from arthur_capture.arthur.contract import (
    GROUND_TRUTH_STAGES,
    INFERENCE_FIELDS,
    SEND_STAGES,
    Stage,
    ValueType,
    is_aware,
    object_problem,
)
from arthur_capture.arthur.mapping import coerce
from arthur_capture.errors import CoercionError, brief

if TYPE_CHECKING:
    from collections.abc import Mapping

    from arthur_capture.arthur.schema import Attribute, ModelSchema

__all__ = ["Checker", "type_problem"]


def type_problem(value: Any, value_type: ValueType) -> str | None:
    """Why a JSON value does not have ``value_type`` exactly, or ``None`` (null is any type's)."""
    if value is None:
        return "may not be null" if value_type is ValueType.TIMESTAMP else None
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    ok = True
    if value_type is ValueType.INTEGER:
        ok = number and (isinstance(value, int) or float(value).is_integer())
    elif value_type is ValueType.FLOAT:
        ok = number
    elif value_type in (ValueType.STRING, ValueType.UNSTRUCTURED_TEXT):
        ok = isinstance(value, str)
    elif value_type is ValueType.BOOLEAN:
        ok = isinstance(value, bool)
    elif value_type is ValueType.TIMESTAMP:
        ok = is_aware(value)
    elif value_type is ValueType.ARRAY_STRING:
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
    return None if ok else f"{brief(value)} is not a valid {value_type}"


def _object_problem(obj: Mapping[str, Any], time_key: str, data_key: str) -> str | None:
    """The contract's :func:`object_problem`, but a missing time "is required".

    The server has always answered so, and its users' tests match on those words.
    """
    problem = object_problem(obj, time_key, data_key)
    return f"{time_key} is required" if problem == f"{time_key} is missing" else problem


class Checker:
    """Checks objects against one model's schema.

    Args:
        schema: The model.
    """

    def __init__(self, schema: ModelSchema) -> None:
        """Index the schema's attributes."""
        self.schema = schema
        self.attributes: Mapping[str, Attribute] = schema.by_name()
        """The model's attributes by name."""
        self.required = tuple(
            a.name
            for a in schema.attributes
            if a.stage is Stage.PIPELINE_INPUT
            or (a.stage is Stage.PREDICTED_VALUE and not a.implicit)
        )
        """The attributes every inference must hold: inputs, and outputs not implicit."""

    def inference_problem(self, obj: Any, *, strict_types: bool = True) -> str | None:
        """Why Arthur's ``POST /inferences`` would refuse one record, or ``None``.

        With ``strict_types``, values must have their JSON types exactly (a FLOAT is a
        number, not ``"1.5"``); otherwise :func:`~arthur_capture.arthur.mapping.coerce` decides.
        """
        if not isinstance(obj, dict):
            return "an inference must be a JSON object"
        unknown = sorted(set(obj) - INFERENCE_FIELDS)
        if unknown:
            return f"unknown field(s): {', '.join(unknown)}"
        problem = _object_problem(obj, "inference_timestamp", "inference_data")
        if problem is not None:
            return problem
        batch_id = obj.get("batch_id")
        if self.schema.is_batch and not isinstance(batch_id, str):
            return "batch_id is required for a batch model"
        if batch_id is not None and not isinstance(batch_id, str):
            return "batch_id must be a string"
        data = obj["inference_data"]
        problem = self._values_problem(data, SEND_STAGES, strict_types)
        if problem is not None:
            return problem
        missing = [n for n in self.required if n not in data]
        if missing:
            return f"inference_data lacks required attribute(s): {', '.join(missing[:5])}"
        if "ground_truth_data" in obj:
            return self.ground_truth_problem(obj, strict_types=strict_types)
        return None

    def ground_truth_problem(self, obj: Any, *, strict_types: bool = True) -> str | None:
        """Why a ground-truth update would be refused, or ``None`` (``strict_types`` as above)."""
        if not isinstance(obj, dict):
            return "a ground-truth update must be a JSON object"
        problem = _object_problem(obj, "ground_truth_timestamp", "ground_truth_data")
        if problem is not None:
            return problem
        return self._values_problem(obj["ground_truth_data"], GROUND_TRUTH_STAGES, strict_types)

    def _values_problem(
        self, data: Mapping[str, Any], stages: tuple[Stage, ...], strict_types: bool
    ) -> str | None:
        for name, value in data.items():
            attr = self.attributes.get(name)
            if attr is None or attr.stage not in stages:
                return f"{name!r} is not an attribute of this model for this field"
            if strict_types:
                problem = type_problem(value, attr.value_type)
            else:
                try:
                    coerce(value, attr.value_type)
                    problem = None
                except CoercionError as exc:
                    problem = exc.message
            if problem is not None:
                return f"attribute {name!r} ({attr.value_type}): {problem}"
        return None
