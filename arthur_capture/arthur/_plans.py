"""Compiled schema mapping: what :class:`~arthur_capture.arthur.SchemaMapper` does per record.

A mapping depends on a record's value *names* for everything but the coercion of the values:
which attribute each value goes to, the ``unknown_attribute`` / ``reserved_name`` error a name
raises, the ``name_conflict`` and ``missing_attribute`` checks. So the mapper compiles one
:class:`RecordPlan` per shape of a record (the names of its inputs and of its outputs, in
order: ``input_0..input_<n>`` for a column-ordered row of width ``n``, or a map's keys), and
applies it to every record of that shape.

The values of one side are coerced by a :class:`SidePlan`, per row: the Python types of a
row's values (its *signature*) pick a converter compiled for them, which types the whole row
with C-level calls (``float``, ``int``, ``str``…, one ``map``) after one check of the row's
text (a regular expression over the text values joined by a separator no number holds) and
of its numbers (finite floats, 64-bit integers). A row the converter does not take — an
empty CSV field, a value of an unusual type, anything that :func:`~arthur_capture.arthur.
mapping.coerce` may refuse or treat specially — goes through :func:`coerce` value by value,
the reference, which also gives every error. The differential tests in
``tests/arthur/test_compiled_mapping.py`` check that both give the same on every input.
"""

from __future__ import annotations

import dataclasses
import math
import re
from itertools import compress
from operator import call
from typing import TYPE_CHECKING, Any, Final

from arthur_capture.arthur.contract import ValueType
from arthur_capture.errors import CoercionError, MappingError, Reason
from arthur_capture.records import InferenceRecord

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

__all__ = ["RECORD_SETTERS", "RecordPlan", "SidePlan", "new_record"]

_NUMBER_CHARS: Final = re.compile("[0-9.eE+-]*").fullmatch
"""Text of these characters only, which ``float()`` reads exactly when it is number text as
:func:`coerce` defines it (``[+-]?(?:[0-9]+\\.?[0-9]*|\\.[0-9]+)(?:[eE][+-]?[0-9]+)?``: no
spaces, underscores, ``inf``/``nan`` or non-ASCII digits), and ``int()`` when it is
``[+-]?[0-9]+``. A row's number text is checked at once, its values joined."""
_BOOL_TEXT: Final = {
    "true": True,
    "1": True,
    "t": True,
    "yes": True,
    "false": False,
    "0": False,
    "f": False,
    "no": False,
}
_BOOL_NUMBER: Final = {0: False, 1: True}
_NONE: Final[Callable[[Any], None]] = {}.get
"""A C-level function giving ``None`` for any (hashable) value."""
_INT64: Final = (-(2**63), 2**63 - 1)
_INT53: Final = (-(2**53), 2**53)
"""Integer text within these bounds reads the same by ``int()`` as by ``coerce`` (which reads
text of more than 21 characters, e.g. with leading zeros, through a float)."""
_MAX_SIGNATURES: Final = 256
"""Converters kept per side plan (rows whose values vary in type make many signatures)."""
_MAX_FAST_WIDTH: Final = 4096
"""Wider rows are coerced value by value (no converter is compiled for them)."""

_PASS_THROUGH: Final = frozenset(
    {
        ValueType.IMAGE,
        ValueType.BOUNDING_BOX,
        ValueType.TOKENS,
        ValueType.TOKEN_LIKELIHOODS,
        ValueType.RANKED_LIST,
        ValueType.TIME_SERIES,
    }
)
"""The value types ``coerce`` passes through (after nulling ``""`` and non-finite floats)."""

_TEXT_TYPES: Final = (ValueType.STRING, ValueType.UNSTRUCTURED_TEXT)

_Rule = tuple[Any, str | None, str | None]
"""How a value of one Python type is converted (a C-level callable), the check of the value
("number": number text; "nonempty": not ``""``) and the check of its result ("finite": a float
that must be finite; "int64", "int53": an integer within those bounds)."""


def _rule(value_type: ValueType, kind: type) -> _Rule | None:
    """How a value of Python type ``kind`` becomes ``value_type`` on the fast path, if it can.

    Each rule gives exactly what :func:`coerce` gives for every value it lets through (or
    raises ``ValueError``, ``OverflowError``, ``KeyError`` or ``TypeError``): its checks turn
    away every value that ``coerce`` treats otherwise.
    """
    if kind is type(None):
        return None if value_type is ValueType.TIMESTAMP else (_NONE, None, None)
    if value_type is ValueType.FLOAT:
        if kind is float or kind is int:
            return (float, None, "finite")  # an int too big for a float raises OverflowError
        if kind is str:
            return (float, "number", "finite")  # 1e400 reads as inf: coerce makes it None
        return None
    if value_type is ValueType.INTEGER:
        if kind is int:
            return (int, None, "int64")
        if kind is str:
            return (int, "number", "int53")  # 1.0 and 1e3 (which coerce takes): ValueError
        return None
    if value_type is ValueType.BOOLEAN:
        if kind is bool:
            return (bool, None, None)
        if kind is int or kind is float:
            return (_BOOL_NUMBER.__getitem__, None, None)  # KeyError for anything but 0 and 1
        if kind is str:
            return (_BOOL_TEXT.__getitem__, None, None)  # KeyError for " yes", "TRUE"...
        return None
    if value_type in _TEXT_TYPES:
        if kind is str:
            return (str, None, None)
        if kind is int:
            return (str, None, None)  # ValueError past sys.get_int_max_str_digits()
        return None
    if value_type in _PASS_THROUGH:
        if kind is str:
            return (str, "nonempty", None)  # "" becomes None
        if kind is int or kind is bool:
            return (kind, None, None)
        if kind is float:
            return (float, None, "finite")
    return None


def _converter(
    value_types: Sequence[ValueType], signature: tuple[type, ...]
) -> Callable[[Iterable[Any]], list[Any] | None] | None:
    """A converter for rows of this signature: the values coerced, or ``None`` to go slow."""
    rules: list[_Rule] = []
    for value_type, kind in zip(value_types, signature, strict=True):
        rule = _rule(value_type, kind)
        if rule is None:
            return None
        rules.append(rule)
    functions = tuple(r[0] for r in rules)
    one = functions[0] if len(set(functions)) == 1 else None
    number = [r[1] == "number" for r in rules]
    nonempty = [r[1] == "nonempty" for r in rules]
    finite = [r[2] == "finite" for r in rules]
    int64 = [r[2] == "int64" for r in rules]
    int53 = [r[2] == "int53" for r in rules]
    all_number = all(number)
    check_number = any(number)
    check_nonempty = any(nonempty)
    all_finite = all(finite)
    check_finite = any(finite)
    check_int64 = any(int64)
    check_int53 = any(int53)
    isfinite = math.isfinite

    def convert(values: Iterable[Any]) -> list[Any] | None:
        if (
            check_number
            and _NUMBER_CHARS("".join(values if all_number else compress(values, number))) is None
        ):
            return None
        if check_nonempty and not all(compress(values, nonempty)):
            return None
        try:
            out = list(map(one, values)) if one is not None else list(map(call, functions, values))
            if check_finite and not isfinite(sum(out if all_finite else compress(out, finite))):
                return None  # a NaN or an infinity (or finite floats summing past the range)
        except (ValueError, OverflowError, KeyError, TypeError):
            return None
        if check_int64:
            ints = list(compress(out, int64))
            if min(ints) < _INT64[0] or max(ints) > _INT64[1]:
                return None
        if check_int53:
            ints = list(compress(out, int53))
            if min(ints) < _INT53[0] or max(ints) > _INT53[1]:
                return None
        return out

    return convert


class SidePlan:
    """How the values of one side of one record shape are mapped.

    Args:
        names: The attribute each value goes to, in order, up to the first value whose name
            fails (``error``).
        value_types: Their value types.
        error: The ``(message, reason)`` of the name that fails, raised after the values
            before it are coerced (as the reference mapping does), or ``None``.
    """

    __slots__ = ("error", "names", "value_types")

    def __init__(
        self,
        names: tuple[str, ...],
        value_types: tuple[ValueType, ...],
        error: tuple[str, Reason] | None,
    ) -> None:
        """Plan one side."""
        self.names = names
        self.value_types = value_types
        self.error = error

    def coerce_each(self, values: Iterable[Any]) -> dict[str, Any]:
        """The values (in the order of the names) coerced one by one, by attribute name.

        :func:`coerce` value by value, as the reference mapping does, with its errors.

        Raises:
            MappingError: ``invalid_value``, or the plan's ``error``.
        """
        from arthur_capture.arthur.mapping import coerce  # noqa: PLC0415 - a cycle otherwise

        mapped: dict[str, Any] = {}
        for name, value_type, value in zip(self.names, self.value_types, values):  # noqa: B905
            try:
                mapped[name] = coerce(value, value_type)
            except CoercionError as exc:
                msg = f"attribute {name!r} ({value_type}): {exc.message}"
                raise MappingError(msg, Reason.INVALID_VALUE) from None
        if self.error is not None:
            raise MappingError(*self.error)
        return mapped


class RecordPlan:
    """How a record of one shape (the names of its inputs and of its outputs) is mapped.

    Args:
        inputs: The plan of the request values.
        outputs: The plan of the response values.
        error: The ``(message, reason)`` raised once both sides are coerced (a
            ``name_conflict`` or a ``missing_attribute``, as the reference mapping raises
            it), or ``None``.
    """

    __slots__ = ("_signatures", "_value_types", "_width", "error", "inputs", "outputs")

    def __init__(
        self, inputs: SidePlan, outputs: SidePlan, error: tuple[str, Reason] | None
    ) -> None:
        """Plan one record shape."""
        self.inputs = inputs
        self.outputs = outputs
        self.error = error
        self._width = len(inputs.names)
        self._value_types = inputs.value_types + outputs.value_types
        self._signatures: dict[tuple[type, ...], Any] | None = {}
        if inputs.error is not None or outputs.error is not None or error is not None:
            self._signatures = None  # every record fails: no fast path

    def apply(
        self, request: Iterable[Any], response: Iterable[Any]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """The request and response values (as many as the names, in order) mapped.

        Both sides' values are typed at once by the converter of their Python types (compiled
        when first met); a row it does not take is coerced value by value.

        Raises:
            MappingError: ``invalid_value``, or one of the plan's errors.
        """
        signatures = self._signatures
        if signatures is not None:
            values = [*request, *response]
            signature = tuple(map(type, values))
            try:
                convert = signatures[signature]
            except KeyError:
                convert = self._converter(signature)
            if convert is not None:
                out = convert(values)
                if out is not None:
                    return (
                        dict(zip(self.inputs.names, out)),  # noqa: B905 - the first names
                        dict(zip(self.outputs.names, out[self._width :])),  # noqa: B905
                    )
        mapped_inputs = self.inputs.coerce_each(request)
        mapped_outputs = self.outputs.coerce_each(response)
        if self.error is not None:
            raise MappingError(*self.error)
        return mapped_inputs, mapped_outputs

    def _converter(self, signature: tuple[type, ...]) -> Any:
        """Compile (and keep) the converter of rows of this signature, if they can have one."""
        convert = None
        if len(signature) == len(self._value_types) and len(signature) <= _MAX_FAST_WIDTH:
            convert = _converter(self._value_types, signature)
        signatures = self._signatures
        if signatures is not None:
            if len(signatures) >= _MAX_SIGNATURES:
                signatures.clear()
            signatures[signature] = convert
        return convert


_RECORD_FIELDS: Final = (
    "partner_inference_id",
    "inference_timestamp",
    "inputs",
    "outputs",
    "event_id",
    "inference_id",
    "index",
    "batch_size",
    "source",
    "line_number",
    "custom_attributes",
)


def _setters() -> tuple[Callable[[InferenceRecord, Any], None], ...] | None:
    """The setters of :class:`InferenceRecord`'s slots, in field order, while it is plain.

    ``None`` when the record class is no longer the plain frozen dataclass of
    :data:`_RECORD_FIELDS` (its constructor is used then).
    """
    names = tuple(f.name for f in dataclasses.fields(InferenceRecord))
    if (
        names != _RECORD_FIELDS
        or hasattr(InferenceRecord, "__post_init__")
        or InferenceRecord.__slots__ != _RECORD_FIELDS
    ):  # pragma: no cover - guards a change of InferenceRecord
        return None
    return tuple(getattr(InferenceRecord, name).__set__ for name in _RECORD_FIELDS)


RECORD_SETTERS: Final = _setters()
"""Setting a record's fields through its slots costs half what its ``__init__`` (a frozen
dataclass's, through ``object.__setattr__``) does: a new record is ``object.__new__`` and these
setters, one per field in order (``None`` if the record class changed)."""


def new_record(*values: Any) -> InferenceRecord:
    """An :class:`InferenceRecord` of its field values in order (see :data:`RECORD_SETTERS`)."""
    if RECORD_SETTERS is None:  # pragma: no cover - guards a change of InferenceRecord
        return InferenceRecord(**dict(zip(_RECORD_FIELDS, values, strict=True)))
    record: InferenceRecord = object.__new__(InferenceRecord)
    for setter, value in zip(RECORD_SETTERS, values, strict=True):
        setter(record, value)
    return record
