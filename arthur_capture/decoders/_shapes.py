"""Rules that turn parsed JSON values into inferences, shared by the JSON decoders.

The rules are written down in ``docs/decoders.md``; keep the two in step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from arthur_capture.errors import InvalidPayloadError, Reason

if TYPE_CHECKING:
    from arthur_capture.decoders._registry import Inference

__all__ = [
    "DEFAULT_MAX_DEPTH",
    "LAYOUT_NAMES",
    "WRAPPER_KEYS",
    "Inferences",
    "document_inferences",
    "item",
    "nests_deeper",
]

DEFAULT_MAX_DEPTH = 32
"""How deep a single value may nest (a scalar is 0, ``[1]`` is 1, ``[[1]]`` is 2)."""

WRAPPER_KEYS = frozenset({"instances", "predictions"})
"""Top-level keys of Arthur's and SageMaker's documented batch layouts."""

COLUMN_KEYS = frozenset({"features", "probabilities"})
"""Item keys whose list holds column-ordered values (``{"features": [...]}``)."""

LAYOUT_NAMES = WRAPPER_KEYS | COLUMN_KEYS
"""Names Arthur refuses in a name → value map, because they name the layouts.

The one rule: a layout name is never an attribute name. Whether an object holds one name →
value inference (an item) or one per position (column-oriented), an object that names a
layout and is not that layout alone (``{"predictions": [...]}``, ``{"features": [...]}``…)
is ``invalid_payload`` (:func:`_refuse_layout_names`)."""


class Inferences(list[Any]):
    """A decoder's inferences, with how many non-finite numbers it read as ``null``.

    What the JSON decoders return when a body held ``NaN``, ``Infinity``, ``-Infinity`` or a
    number overflowing to infinity; a plain list otherwise. The reader adds ``non_finite``
    to its ledger (or rejects the call, with ``reject_non_finite``).
    """

    __slots__ = ("non_finite",)

    def __init__(self, inferences: list[Any], non_finite: int = 0) -> None:
        """The inferences, and the count."""
        super().__init__(inferences)
        self.non_finite = non_finite
        """Non-finite numbers read as ``null``."""

    @classmethod
    def counted(cls, inferences: list[Any], non_finite: int) -> list[Any]:
        """``inferences`` as they are when ``non_finite`` is 0, else wrapped with the count."""
        return cls(inferences, non_finite) if non_finite else inferences


def _refuse_layout_names(names: Any, what: str) -> None:
    """Refuse a layout name used as an attribute name (the one rule of :data:`LAYOUT_NAMES`)."""
    reserved = LAYOUT_NAMES.intersection(names)
    if reserved:
        shown = ", ".join(sorted(reserved))
        msg = (
            f"{what} may not use the reserved name(s) {shown} (they name the documented "
            'layouts: {"instances": [...]} or {"predictions": [...]} alone is a batch, '
            '{"features": [...]} or {"probabilities": [...]} alone one inference\'s values)'
        )
        raise InvalidPayloadError(msg)


def nests_deeper(value: Any, limit: int) -> bool:
    """Whether ``value`` nests lists and objects deeper than ``limit`` levels (no recursion).

    A scalar is 0 levels, ``[1]`` is 1, ``[[1]]`` is 2.
    """
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        current, depth = stack.pop()
        if isinstance(current, dict):
            children: Any = current.values()
        elif isinstance(current, list):
            children = current
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def _check_depth(value: Any, max_depth: int) -> None:
    """Raise if a value nests deeper than ``max_depth``; iterative, so never a RecursionError."""
    if nests_deeper(value, max_depth):
        msg = f"a value nests deeper than the limit of {max_depth} levels"
        raise InvalidPayloadError(msg, Reason.NESTING_TOO_DEEP)


_CONTAINERS = frozenset({list, dict})


def _checked_values(values: list[Any], max_depth: int) -> list[Any]:
    if not _CONTAINERS.isdisjoint(map(type, values)):  # rare: look closer only then
        for value in values:
            if isinstance(value, (list, dict)):
                _check_depth(value, max_depth)
    return values


def _checked_map(mapping: dict[str, Any], max_depth: int) -> dict[str, Any]:
    if (
        "instances" in mapping
        or "predictions" in mapping
        or "features" in mapping
        or "probabilities" in mapping
    ):  # LAYOUT_NAMES, spelled out: four lookups beat building an intersection per item
        _refuse_layout_names(mapping, "a name → value record")
    if not _CONTAINERS.isdisjoint(map(type, mapping.values())):
        for value in mapping.values():
            if isinstance(value, (list, dict)):
                _check_depth(value, max_depth)
    return mapping


def item(obj: Any, max_depth: int = DEFAULT_MAX_DEPTH) -> Inference:
    """Read one batch item (an element of a list, or one JSON Lines line) as one inference.

    - ``{"features": [...]}`` or ``{"probabilities": [...]}`` (the only key): column-ordered values;
    - ``{"data": {"features": {"values": [...]}}}`` (dense): column-ordered values;
    - any other object: a name → value map (reserved names refused);
    - a list: column-ordered values;
    - a scalar (number, string, boolean, null): one column-ordered value.
    """
    if isinstance(obj, dict):
        if len(obj) == 1:
            ((key, value),) = obj.items()
            if key in COLUMN_KEYS and isinstance(value, list):
                return _checked_values(value, max_depth)
            if key == "data" and isinstance(value, dict):
                return _nested_features(value, max_depth)
        return _checked_map(obj, max_depth)
    if isinstance(obj, list):
        return _checked_values(obj, max_depth)
    return [obj]


def _nested_features(data: dict[str, Any], max_depth: int) -> Inference:
    features = data.get("features")
    if len(data) == 1 and isinstance(features, dict):
        if "keys" in features or "shape" in features:
            msg = "sparse features ({keys, shape, values}) are not supported; send dense values"
            raise InvalidPayloadError(msg)
        values = features.get("values")
        if len(features) == 1 and isinstance(values, list):
            return _checked_values(values, max_depth)
    return _checked_map({"data": data}, max_depth)


def _columns(doc: dict[str, list[Any]], max_depth: int) -> list[Inference]:
    _refuse_layout_names(doc, "a column-oriented object")
    lengths = {name: len(values) for name, values in doc.items()}
    distinct = set(lengths.values())
    if len(distinct) != 1:
        shown = ", ".join(f"{name}={n}" for name, n in lengths.items())
        msg = f"column-oriented object has lists of unequal length ({shown})"
        raise InvalidPayloadError(msg)
    (count,) = distinct
    if count == 0:
        msg = "column-oriented object has empty lists: it holds no inference"
        raise InvalidPayloadError(msg)
    for values in doc.values():
        _checked_values(values, max_depth)
    names = list(doc)
    columns = list(doc.values())
    return [
        {name: column[i] for name, column in zip(names, columns, strict=True)} for i in range(count)
    ]


def document_inferences(doc: Any, max_depth: int = DEFAULT_MAX_DEPTH) -> list[Inference]:
    """Read a whole ``application/json`` document as a list of inferences (rules J1-J10).

    1. A list: one inference per element, each read by :func:`item`.
       A lone ``{"features": [...]}`` or ``{"probabilities": [...]}`` is one item.
    2. An object with a single key whose value is a list, when the key is ``instances`` or
       ``predictions`` or every element is an object or a list: one inference per element.
    3. An object whose values are all lists: column-oriented, one inference per position;
       the lists must have equal, non-zero lengths, and no list may be named by a layout
       name (:data:`LAYOUT_NAMES`).
    4. Any other object: one name → value inference.
    5. A scalar: one inference with one column-ordered value.

    Raises:
        InvalidPayloadError: The document holds no inference or breaks a rule.
    """
    if isinstance(doc, list):
        if not doc:
            raise InvalidPayloadError("the JSON array is empty: it holds no inference")
        return [item(element, max_depth) for element in doc]
    if isinstance(doc, dict):
        if not doc:
            raise InvalidPayloadError("the JSON object is empty: it holds no inference")
        if len(doc) == 1:
            ((key, value),) = doc.items()
            if key in COLUMN_KEYS and isinstance(value, list):
                return [item(doc, max_depth)]
            if isinstance(value, list) and (
                key in WRAPPER_KEYS or (value and all(isinstance(v, (dict, list)) for v in value))
            ):
                if not value:
                    raise InvalidPayloadError(f"{key!r} is an empty list: it holds no inference")
                return [item(element, max_depth) for element in value]
        if all(isinstance(v, list) for v in doc.values()):
            return _columns(doc, max_depth)
        return [item(doc, max_depth)]
    return [[doc]]
