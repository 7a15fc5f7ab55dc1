"""Arthur model schemas, and the mapping of records onto a model's attributes.

Sans-IO: a :class:`ModelSchema` is loaded from the JSON Arthur's API returns for a model
(``GET /api/v3/models/{id}?expand=attributes``) or for its attributes alone; a
:class:`SchemaMapper` turns one :class:`~arthur_capture.InferenceRecord` into the record
Arthur will accept, or into the reason it would not.

Mapping rules (documented in ``docs/arthur.md``):

- column-ordered request values (``input_<i>``) go to the ``PIPELINE_INPUT`` attribute with
  ``position == i``; column-ordered response values (``output_<j>``) to the
  ``PREDICTED_VALUE`` attribute with ``position == j``;
- a lone response value goes to position 1 when the model's predicted attributes start at
  position 1 or the one at position 0 is ``implicit`` (Arthur's convention for a single
  positive-class probability);
- name → value maps go by attribute name;
- values are coerced to the attribute's value type (:func:`coerce`).
"""

from __future__ import annotations

import enum
import math
import re
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from arthur_capture.errors import CaptureError, Reason

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from arthur_capture.records import InferenceRecord

__all__ = [
    "ARTHUR_RESERVED_KEYS",
    "MAX_PARTNER_ID_LENGTH",
    "NEW_INFERENCE_FIELDS",
    "Attribute",
    "AttributeCategory",
    "CoercionError",
    "MappingError",
    "ModelSchema",
    "SchemaError",
    "SchemaMapper",
    "Stage",
    "ValueType",
    "check_partner_id",
    "coerce",
]

MAX_PARTNER_ID_LENGTH: Final = 255
"""Arthur's limit on ``partner_inference_id``; longer IDs are rejected, never cut."""

NEW_INFERENCE_FIELDS: Final = (
    "partner_inference_id",
    "inference_timestamp",
    "inference_data",
    "batch_id",
    "ground_truth_timestamp",
    "ground_truth_data",
)
"""The fields of Arthur's ``NewInference`` object, in the order Arthur documents them."""

ARTHUR_RESERVED_KEYS: Final = frozenset(NEW_INFERENCE_FIELDS)
"""Top-level keys of Arthur's inference object, which no attribute may be named."""

LAYOUT_NAMES: Final = frozenset({"instances", "predictions", "features", "probabilities"})
"""Names Arthur's SageMaker integration reserves for the payload layouts."""


class Stage(enum.StrEnum):
    """An attribute's stage in Arthur's model."""

    PIPELINE_INPUT = "PIPELINE_INPUT"
    """A model input (a request value)."""
    PREDICT_FUNCTION_INPUT = "PREDICT_FUNCTION_INPUT"
    """An input of the predict function (not in captures)."""
    NON_INPUT_DATA = "NON_INPUT_DATA"
    """Extra data sent with an inference; optional here."""
    PREDICTED_VALUE = "PREDICTED_VALUE"
    """A model output (a response value)."""
    GROUND_TRUTH = "GROUND_TRUTH"
    """A label, sent later as ground truth."""
    GROUND_TRUTH_CLASS = "GROUND_TRUTH_CLASS"
    """A class label (single-column ground truth), sent later."""


class ValueType(enum.StrEnum):
    """An attribute's value type in Arthur's model."""

    INTEGER = "INTEGER"
    """A 64-bit integer."""
    FLOAT = "FLOAT"
    """A finite float (non-finite values become null)."""
    STRING = "STRING"
    """A string."""
    BOOLEAN = "BOOLEAN"
    """``true`` or ``false``."""
    TIMESTAMP = "TIMESTAMP"
    """A timezone-aware ISO 8601 time."""
    UNSTRUCTURED_TEXT = "UNSTRUCTURED_TEXT"
    """Free text (NLP models)."""
    IMAGE = "IMAGE"
    """An image reference (passed through)."""
    BOUNDING_BOX = "BOUNDING_BOX"
    """Object-detection boxes (passed through)."""
    TOKENS = "TOKENS"
    """A list of tokens (passed through)."""
    TOKEN_LIKELIHOODS = "TOKEN_LIKELIHOODS"  # noqa: S105 - an enum value, not a secret
    """Token likelihoods (passed through)."""
    RANKED_LIST = "RANKED_LIST"
    """A ranked list (passed through)."""
    ARRAY_STRING = "ARRAY(STRING)"
    """A list of strings."""
    TIME_SERIES = "TIME_SERIES"
    """A list of ``{"timestamp", "value"}`` (passed through)."""


class SchemaError(CaptureError, ValueError):
    """A model schema cannot be loaded or is not usable (names, positions, JSON shape)."""


class CoercionError(CaptureError, ValueError):
    """A value cannot be coerced to an attribute's value type."""

    reason = Reason.INVALID_VALUE


class MappingError(CaptureError, ValueError):
    """An inference does not fit the model schema; ``reason`` says how."""

    def __init__(self, message: str, reason: Reason) -> None:
        """Create the error with a message and a mapping reason."""
        super().__init__(message)
        self.reason = reason


class _Loose(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)


class AttributeCategory(_Loose):
    """One category of a categorical attribute."""

    value: str
    """The category's value, as Arthur stores it (a string)."""
    label: str | None = None
    """An optional display label."""


class Attribute(_Loose):
    """One attribute of an Arthur model, as the API returns it."""

    name: str = Field(min_length=1, max_length=255)
    """The attribute's name (the key in ``inference_data``)."""
    stage: Stage
    """Where the attribute sits in the model."""
    value_type: ValueType
    """The type values are coerced to."""
    position: int | None = Field(default=None, ge=0)
    """0-based position within its stage; required for ``PIPELINE_INPUT``."""
    label: str | None = None
    """An optional display label."""
    categorical: bool = False
    """Whether the attribute takes values from ``categories``."""
    categories: list[AttributeCategory] | None = None
    """The allowed categories, when categorical."""
    attribute_link: str | None = None
    """The linked prediction or ground-truth attribute."""
    gt_class_link: str | None = None
    """The ground-truth class this prediction stands for (single-column ground truth)."""
    is_positive_predicted_attribute: bool | None = None
    """Whether this prediction is the positive class of a binary model."""
    implicit: bool | None = None
    """Whether Arthur derives the attribute itself (e.g. the negative-class probability)."""


class _ModelDocument(_Loose):
    id: str | None = None
    partner_model_id: str | None = None
    display_name: str | None = None
    input_type: str | None = None
    output_type: str | None = None
    is_batch: bool | None = None
    attributes: list[Attribute]


_STAGE_PREFIX: Final = {Stage.PIPELINE_INPUT: "input_", Stage.PREDICTED_VALUE: "output_"}
_SEND_STAGES: Final = frozenset({Stage.PIPELINE_INPUT, Stage.NON_INPUT_DATA, Stage.PREDICTED_VALUE})
_COLUMN_NAME: Final = re.compile(r"(input|output)_(0|[1-9][0-9]*)")


@dataclass(frozen=True, slots=True)
class ModelSchema:
    """An Arthur model's attributes, indexed for mapping.

    Build it with :meth:`from_json` or :meth:`from_attributes`.
    """

    attributes: tuple[Attribute, ...]
    """Every attribute, in the order given."""
    model_id: str | None = None
    """The model's Arthur ID, when the JSON held a model."""
    is_batch: bool = False
    """Whether the model is a batch model (inferences then need a ``batch_id``)."""

    @classmethod
    def from_json(cls, data: str | bytes | Mapping[str, Any] | list[Any]) -> ModelSchema:
        """Load a schema from a model document (with ``attributes``) or an attribute list.

        Raises:
            SchemaError: The JSON is invalid, or the attributes break Arthur's rules.
        """
        try:
            value = orjson.loads(data) if isinstance(data, (str, bytes)) else data
        except orjson.JSONDecodeError as exc:
            raise SchemaError(f"the model schema is not valid JSON: {exc}") from exc
        if isinstance(value, dict) and "data" in value and "attributes" not in value:
            value = value["data"]  # a paginated attributes response
        try:
            if isinstance(value, list):
                return cls.from_attributes(Attribute.model_validate(a) for a in value)
            document = _ModelDocument.model_validate(value)
        except ValidationError as exc:
            first = exc.errors(include_url=False, include_input=False)[0]
            path = ".".join(str(p) for p in first["loc"]) or "(document)"
            msg = f"the model schema is not an Arthur model or attribute list: {path}: "
            msg += str(first["msg"])
            raise SchemaError(msg) from None
        return cls.from_attributes(
            document.attributes, model_id=document.id, is_batch=bool(document.is_batch)
        )

    @classmethod
    def from_attributes(
        cls, attributes: Iterable[Attribute], *, model_id: str | None = None, is_batch: bool = False
    ) -> ModelSchema:
        """Build a schema from attributes, checking names and positions.

        Raises:
            SchemaError: Duplicate names, reserved names, a missing or repeated position.
        """
        attrs = tuple(attributes)
        if not attrs:
            raise SchemaError("the model schema has no attribute")
        seen: set[str] = set()
        positions: set[tuple[Stage, int]] = set()
        for attr in attrs:
            if attr.name in seen:
                raise SchemaError(f"attribute name {attr.name!r} appears twice")
            seen.add(attr.name)
            if attr.name in LAYOUT_NAMES or attr.name in ARTHUR_RESERVED_KEYS:
                msg = (
                    f"attribute name {attr.name!r} is reserved by Arthur "
                    "(it names a payload layout or an inference field)"
                )
                raise SchemaError(msg)
            if attr.stage is Stage.PIPELINE_INPUT and attr.position is None:
                raise SchemaError(f"PIPELINE_INPUT attribute {attr.name!r} has no position")
            if attr.position is not None and attr.stage in _STAGE_PREFIX:
                key = (attr.stage, attr.position)
                if key in positions:
                    msg = f"two {attr.stage} attributes share position {attr.position}"
                    raise SchemaError(msg)
                positions.add(key)
        return cls(attributes=attrs, model_id=model_id, is_batch=is_batch)

    def by_name(self) -> dict[str, Attribute]:
        """Attributes by name."""
        return {a.name: a for a in self.attributes}

    def stage(self, stage: Stage) -> list[Attribute]:
        """Attributes of one stage, ordered by position (then name)."""
        chosen = [a for a in self.attributes if a.stage is stage]
        last = 1 << 30
        return sorted(
            chosen, key=lambda a: (a.position if a.position is not None else last, a.name)
        )


def check_partner_id(partner_id: str) -> None:
    """Refuse a partner inference ID Arthur would refuse (over 255 characters).

    Raises:
        MappingError: With reason ``id_too_long``; IDs are never cut, since cut IDs collide.
    """
    if len(partner_id) > MAX_PARTNER_ID_LENGTH:
        msg = f"partner_inference_id is {len(partner_id)} characters; Arthur allows "
        msg += str(MAX_PARTNER_ID_LENGTH)
        raise MappingError(msg, Reason.ID_TOO_LONG)


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
            raise CoercionError(f"{_show(value)} is outside the FLOAT range") from None
    elif isinstance(value, str) and _NUMBER_TEXT.fullmatch(value.strip()):
        number = float(value.strip())  # float() strips less than str.strip() (not \x1c-\x1f)
    elif isinstance(value, str) and value.strip().lower() in ("nan", "inf", "+inf", "-inf"):
        number = float(value.strip())
    else:
        raise CoercionError(f"{_show(value)} is not a FLOAT")
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
            raise CoercionError(f"{_show(value)} is not a whole number")
        number = int(as_float)
    else:
        raise CoercionError(f"{_show(value)} is not an INTEGER")
    if not -(2**63) <= number < 2**63:
        raise CoercionError(f"{_show(value)} is outside the 64-bit INTEGER range")
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
    raise CoercionError(f"{_show(value)} is not a BOOLEAN (true/false, 1/0)")


def _to_str(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        try:
            return str(value)  # what JSON writes, at any size Python will print
        except ValueError:  # past sys.get_int_max_str_digits() (4300 by default)
            raise CoercionError(f"{_show(value)} has too many digits for a STRING") from None
    if isinstance(value, float):
        return orjson.dumps(value).decode()
    raise CoercionError(f"{_show(value)} is not a STRING")


def _to_timestamp(value: Any) -> datetime:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            raise CoercionError(f"{_show(value)} is not an ISO 8601 TIMESTAMP") from None
    else:
        raise CoercionError(f"{_show(value)} is not a TIMESTAMP")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise CoercionError(f"{_show(value)} is a TIMESTAMP without a timezone")
    return moment


def _show(value: Any) -> str:
    try:
        text = repr(value)
    except ValueError:  # an integer past Python's limit on digits printed (4300)
        text = f"<{type(value).__name__} too long to print>"
    return text if len(text) <= 60 else text[:57] + "..."


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
        return _to_timestamp(value)
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
        raise CoercionError(f"{_show(value)} is not an ARRAY(STRING)")
    return value


class SchemaMapper:
    """Maps records onto a model's attributes.

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

    def map(self, record: InferenceRecord) -> InferenceRecord:
        """The record with its values renamed to attributes and coerced.

        Raises:
            MappingError: ``unknown_attribute``, ``missing_attribute``, ``reserved_name``,
                ``invalid_value`` or ``id_too_long``.
        """
        check_partner_id(record.partner_inference_id)
        lone = len(record.outputs) == 1 and "output_0" in record.outputs
        inputs = self._side(record.inputs, Stage.PIPELINE_INPUT, lone_output=False)
        outputs = self._side(record.outputs, Stage.PREDICTED_VALUE, lone_output=lone)
        if not inputs.keys().isdisjoint(outputs):
            both = ", ".join(sorted(set(inputs).intersection(outputs)))
            msg = f"attribute(s) {both} get a value from both the request and the response"
            raise MappingError(msg, Reason.NAME_CONFLICT)
        if self.require_inputs and record.inputs:
            self._require(inputs, self._inputs, "request")
        if self.require_outputs and record.outputs:
            self._require(outputs, self._outputs, "response")
        return replace(record, inputs=inputs, outputs=outputs)

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
            attr = self._attribute(name, stage, lone_output=lone_output)
            if attr.stage not in _SEND_STAGES:
                msg = f"{name!r} names a {attr.stage} attribute, which is not sent with inferences"
                raise MappingError(msg, Reason.UNKNOWN_ATTRIBUTE)
            try:
                mapped[attr.name] = coerce(value, attr.value_type)
            except CoercionError as exc:
                msg = f"attribute {attr.name!r} ({attr.value_type}): {exc.message}"
                raise MappingError(msg, Reason.INVALID_VALUE) from None
        return mapped

    def _attribute(self, name: str, stage: Stage, *, lone_output: bool) -> Attribute:
        if name in ARTHUR_RESERVED_KEYS or name in LAYOUT_NAMES:
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
