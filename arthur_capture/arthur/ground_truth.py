"""Ground truth that joins: the partner inference IDs the inferences got, and Arthur's PATCH body.

Labels usually arrive later, keyed by the original call: the ``inferenceId`` the caller
passed (or SageMaker's ``eventId`` when none was passed) and the inference's index within
the call. Arthur joins ground truth on ``partner_inference_id`` only, so the ID must be
rebuilt exactly: ``_<index>`` is appended only when the call held more than one inference.
That needs the call's batch size, which the ground-truth row may carry, or which a
:class:`GroundTruthJoiner` learns from the captured records.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from arthur_capture.arthur.contract import (
    GROUND_TRUTH_STAGES,
    aware_time,
    check_partner_id,
    ground_truth_update,
)
from arthur_capture.arthur.mapping import coerce
from arthur_capture.errors import CaptureError, CoercionError, GroundTruthError
from arthur_capture.records import partner_inference_id

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping
    from datetime import datetime

    from arthur_capture.arthur.schema import ModelSchema
    from arthur_capture.records import InferenceRecord

__all__ = ["GroundTruth", "GroundTruthError", "GroundTruthJoiner"]


@dataclass(frozen=True, slots=True, kw_only=True)
class GroundTruth:
    """One label for one inference, keyed by its call."""

    call_id: str
    """The call's ``inferenceId``, or its ``eventId`` when the caller passed no InferenceId."""
    timestamp: datetime | str
    """When the label became known; timezone-aware (ISO 8601 text is parsed)."""
    data: Mapping[str, Any]
    """Ground-truth attribute name → value."""
    index: int | None = None
    """0-based index of the inference within the call (``None`` only for a call of one)."""
    batch_size: int | None = None
    """How many inferences the call held, when the row knows it."""


@dataclass(slots=True)
class GroundTruthJoiner:
    """Turns ground-truth rows into Arthur ground-truth updates with the right partner IDs.

    Args:
        schema: When given, ``data`` keys must be ``GROUND_TRUTH``/``GROUND_TRUTH_CLASS``
            attributes, and values are coerced to their types.
    """

    schema: ModelSchema | None = None
    _calls: dict[str, tuple[str, int]] = field(default_factory=dict)
    _ambiguous: set[str] = field(default_factory=set)

    @classmethod
    def from_records(
        cls, records: Iterable[InferenceRecord], *, schema: ModelSchema | None = None
    ) -> GroundTruthJoiner:
        """Learn each call's ID base and batch size from captured records."""
        joiner = cls(schema=schema)
        joiner.learn(records)
        return joiner

    def learn(self, records: Iterable[InferenceRecord]) -> None:
        """Remember the calls of these records, by ``eventId`` and by ``inferenceId``.

        An ``inferenceId`` reused by calls of different sizes becomes ambiguous: rows keyed
        by it then need their own ``batch_size``.
        """
        for record in records:
            base = record.inference_id or record.event_id
            for key in {record.event_id, base}:
                known = self._calls.get(key)
                if known is not None and known != (base, record.batch_size):
                    self._ambiguous.add(key)
                self._calls[key] = (base, record.batch_size)

    def partner_id(self, row: GroundTruth) -> str:
        """The partner inference ID the row's inference was sent with.

        Raises:
            GroundTruthError: The batch size is unknown or ambiguous, or the index is out of range.
        """
        base = row.call_id
        size = row.batch_size
        known = self._calls.get(row.call_id)
        if known is not None:
            base = known[0]
            if size is None and row.call_id in self._ambiguous:
                msg = (
                    f"call {row.call_id!r} was captured more than once with different batch "
                    "sizes; give the row a batch_size"
                )
                raise GroundTruthError(msg)
            if size is None:
                size = known[1]
        if size is None:
            if row.index is None:
                size = 1
            else:
                msg = (
                    f"call {row.call_id!r} is unknown and the row has no batch_size, so it is "
                    "not known whether its ID takes an _<index> suffix"
                )
                raise GroundTruthError(msg)
        if row.index is None and size > 1:
            msg = (
                f"call {row.call_id!r} held {size} inferences; the row needs an index to say "
                "which one it labels"
            )
            raise GroundTruthError(msg)
        index = 0 if row.index is None else row.index
        if size < 1 or not 0 <= index < size:
            msg = f"index {index} is outside call {row.call_id!r} of {size} inference(s)"
            raise GroundTruthError(msg)
        partner = partner_inference_id(base, index, size)
        try:
            check_partner_id(partner)
        except CaptureError as exc:
            raise GroundTruthError(exc.message) from None
        return partner

    def update(self, row: GroundTruth) -> dict[str, Any]:
        """Arthur's ground-truth update for one row (an element of the PATCH body).

        Raises:
            GroundTruthError: The ID cannot be rebuilt, the timestamp is not timezone-aware,
                or (with a schema) a name or value does not fit.
        """
        return ground_truth_update(
            self.partner_id(row), _aware(row.timestamp), self._data(row.data)
        )

    def updates(
        self, rows: Iterable[GroundTruth]
    ) -> Iterator[tuple[GroundTruth, dict[str, Any] | GroundTruthError]]:
        """Each row with its update, or with the error that stopped it (nothing is dropped)."""
        for row in rows:
            try:
                yield row, self.update(row)
            except GroundTruthError as exc:
                yield row, exc

    def _data(self, data: Mapping[str, Any]) -> dict[str, Any]:
        if not data:
            raise GroundTruthError("ground_truth_data is empty")
        if self.schema is None:
            return dict(data)
        attributes = self.schema.by_name()
        result: dict[str, Any] = {}
        for name, value in data.items():
            attr = attributes.get(name)
            if attr is None or attr.stage not in GROUND_TRUTH_STAGES:
                msg = f"{name!r} is not a GROUND_TRUTH or GROUND_TRUTH_CLASS attribute of the model"
                raise GroundTruthError(msg)
            try:
                result[name] = coerce(value, attr.value_type)
            except CoercionError as exc:
                msg = f"attribute {name!r} ({attr.value_type}): {exc.message}"
                raise GroundTruthError(msg) from None
        return result


def _aware(moment: datetime | str) -> datetime:
    try:
        aware = aware_time(moment)
    except CoercionError as exc:
        raise GroundTruthError(f"ground_truth_timestamp: {exc.message}") from None
    return aware
