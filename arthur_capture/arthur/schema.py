"""Arthur model schemas: a model's attributes, loaded from the JSON Arthur's API returns.

Sans-IO but for :meth:`ModelSchema.load`: a :class:`ModelSchema` is built from the JSON of
``GET /api/v3/models/{id}?expand=attributes`` or of the attributes alone, and checked
against Arthur's rules (unique names, no reserved name, positions).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from arthur_capture.arthur.contract import RESERVED_NAMES, Stage, ValueType
from arthur_capture.errors import SchemaError

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = ["Attribute", "AttributeCategory", "ModelSchema", "SchemaLike"]

POSITIONED_STAGES = (Stage.PIPELINE_INPUT, Stage.PREDICTED_VALUE)
"""The stages whose attributes are matched to column-ordered values by position."""


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

    @field_validator("categorical", mode="before")
    @classmethod
    def _null_is_not_categorical(cls, value: Any) -> Any:
        """Arthur may answer ``"categorical": null`` for an attribute that is not."""
        return False if value is None else value


class _ModelDocument(_Loose):
    id: str | None = None
    partner_model_id: str | None = None
    display_name: str | None = None
    input_type: str | None = None
    output_type: str | None = None
    is_batch: bool | None = None
    attributes: list[Attribute]


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
        if isinstance(value, dict) and value.get("attributes") is None and "id" in value:
            msg = (
                "the model schema is a model without its attributes "
                "(Arthur adds them when asked with ?expand=attributes)"
            )
            raise SchemaError(msg)
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
    def load(cls, path: str | os.PathLike[str]) -> ModelSchema:
        """Load a schema from a JSON file (what :meth:`from_json` takes).

        Raises:
            SchemaError: The file cannot be read, or it holds no usable schema.
        """
        try:
            with open(path, "rb") as handle:  # noqa: PTH123
                data = handle.read()
        except OSError as exc:
            raise SchemaError(f"cannot read {os.fspath(path)}: {exc.strerror or exc}") from exc
        try:
            return cls.from_json(data)
        except SchemaError as exc:
            raise SchemaError(f"{os.fspath(path)}: {exc.message}") from None

    @classmethod
    def of(cls, schema: SchemaLike) -> ModelSchema:
        """A schema as given, or loaded from a path (:meth:`load`).

        Raises:
            SchemaError: The path holds no usable schema.
        """
        return schema if isinstance(schema, ModelSchema) else cls.load(schema)

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
            if attr.name in RESERVED_NAMES:
                msg = (
                    f"attribute name {attr.name!r} is reserved by Arthur "
                    "(it names a payload layout or an inference field)"
                )
                raise SchemaError(msg)
            if attr.stage is Stage.PIPELINE_INPUT and attr.position is None:
                raise SchemaError(f"PIPELINE_INPUT attribute {attr.name!r} has no position")
            if attr.position is not None and attr.stage in POSITIONED_STAGES:
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


SchemaLike = ModelSchema | str | os.PathLike[str]
"""A model schema, or the path of its JSON file."""
