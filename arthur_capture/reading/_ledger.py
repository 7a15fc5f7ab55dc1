"""The ledger that accounts for every line and inference, and a batch read's result."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from arthur_capture.errors import RejectedError

if TYPE_CHECKING:
    from arthur_capture.records import InferenceRecord, Reject

__all__ = ["MAX_DUPLICATE_EXAMPLES", "CaptureResult", "Ledger"]

MAX_DUPLICATE_EXAMPLES: Final = 10
"""How many repeated partner IDs the ledger shows as examples."""


@dataclass(slots=True)
class Ledger:
    """Counts that account for every line and every inference.

    ``lines == blank_lines + events + rejected_lines``: a line is an *event* when it was
    read and expanded into inferences, even if some (or all) of those inferences were then
    rejected one by one; it is *rejected* when it could not be expanded.
    ``inferences == records + rejected_inferences`` over the event lines.
    """

    lines: int = 0
    """Lines read (split on ``\\n``; an unterminated last line counts)."""
    blank_lines: int = 0
    """Empty or whitespace-only lines, skipped on purpose."""
    events: int = 0
    """Lines whose inferences were emitted."""
    records: int = 0
    """Inferences emitted."""
    rejected_inferences: int = 0
    """Inferences of event lines rejected one by one (each with a :class:`Reject` and ``index``)."""
    rejected_lines: int = 0
    """Lines rejected, each with a :class:`Reject`."""
    rejects_by_reason: Counter[str] = field(default_factory=Counter)
    """Rejects per reason code."""
    sources: int = 0
    """Sources read."""
    non_finite_values: int = 0
    """``NaN``, ``Infinity``, ``-Infinity`` and numbers overflowing to infinity read as ``null``
    in the JSON payloads of event lines."""
    duplicate_partner_ids: int = 0
    """Inferences whose partner inference ID was already read earlier in the run (each repeat
    counts once; rejected ``duplicate_partner_id`` with ``reject_duplicates``)."""
    duplicate_examples: list[dict[str, str]] = field(default_factory=list)
    """The first :data:`MAX_DUPLICATE_EXAMPLES` repeats: ``partner_inference_id``, and
    ``first`` and ``repeat`` as ``source:line``."""

    @property
    def inferences(self) -> int:
        """Inferences found in event lines: emitted plus rejected one by one."""
        return self.records + self.rejected_inferences

    @property
    def balanced(self) -> bool:
        """Whether every line is accounted for."""
        return self.lines == self.blank_lines + self.events + self.rejected_lines

    def add(self, other: Ledger) -> None:
        """Add another ledger's counts to this one."""
        self.lines += other.lines
        self.blank_lines += other.blank_lines
        self.events += other.events
        self.records += other.records
        self.rejected_inferences += other.rejected_inferences
        self.rejected_lines += other.rejected_lines
        self.rejects_by_reason.update(other.rejects_by_reason)
        self.sources += other.sources
        self.non_finite_values += other.non_finite_values
        self.duplicate_partner_ids += other.duplicate_partner_ids
        room = MAX_DUPLICATE_EXAMPLES - len(self.duplicate_examples)
        if room > 0:
            self.duplicate_examples.extend(other.duplicate_examples[:room])

    def to_dict(self) -> dict[str, Any]:
        """The ledger as the JSON summary the CLI writes."""
        return {
            "sources": self.sources,
            "lines": self.lines,
            "blank_lines": self.blank_lines,
            "events": self.events,
            "records": self.records,
            "rejected_inferences": self.rejected_inferences,
            "rejected_lines": self.rejected_lines,
            "rejects_by_reason": dict(sorted(self.rejects_by_reason.items())),
            "balanced": self.balanced,
            "non_finite_values": self.non_finite_values,
            "duplicate_partner_ids": self.duplicate_partner_ids,
            "duplicate_examples": list(self.duplicate_examples),
        }


@dataclass(slots=True)
class CaptureResult:
    """Everything read from one or more sources."""

    records: list[InferenceRecord] = field(default_factory=list)
    """Emitted inferences, in input order."""
    rejects: list[Reject] = field(default_factory=list)
    """Rejected lines and inferences, in input order."""
    ledger: Ledger = field(default_factory=Ledger)
    """The counts."""

    def raise_for_rejects(self) -> None:
        """Raise an ``ExceptionGroup`` of :class:`RejectedError` if anything was rejected."""
        if self.rejects:
            errors = [RejectedError(r, r.describe()) for r in self.rejects]
            msg = f"{len(errors)} reject(s)"
            raise ExceptionGroup(msg, errors)
