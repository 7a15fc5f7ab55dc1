"""Partner inference IDs seen in one run: repeats counted, with examples, or rejected.

A redelivered file or a caller that reuses ``inferenceId`` values gives several inferences
one partner inference ID; Arthur keeps one of them. The reader counts every repeat across
all the sources of a run (``duplicate_partner_ids`` in the ledger, with the first
:data:`~arthur_capture.reading._ledger.MAX_DUPLICATE_EXAMPLES` as examples) and, with
``reject_duplicates``, rejects each repeat on its own (``duplicate_partner_id``, with
``index``), keeping the first.

Memory: the IDs of a call of several inferences are kept as one entry, its ``inferenceId``
(or ``eventId``) with how many inferences it numbered (``base_0`` … ``base_<n-1>``); every
other ID as itself. An entry is one ``dict`` item, about 150 bytes for an ID of 36
characters (a UUID) and one small ``int`` per line for where it was read: ~145 MiB per
million single-inference calls, ~15 MiB per million inferences read in calls of ten. The
check is exact (no hashing): an ID written out as ``base_3`` by one call and read as
``base`` numbered by another is one ID, as Arthur sees it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from arthur_capture.errors import Reason
from arthur_capture.reading._ledger import MAX_DUPLICATE_EXAMPLES
from arthur_capture.records import InferenceRecord, Reject, partner_inference_id

if TYPE_CHECKING:
    from collections.abc import Iterable

    from arthur_capture.reading._ledger import Ledger
    from arthur_capture.records import Call

__all__ = ["SeenIds"]

_SOURCE_BITS = 32


def _is_index(digits: str) -> bool:
    """Whether ``digits`` is an index as ``base_<index>`` writes it (``0``, ``7``, ``12``)."""
    return digits.isascii() and digits.isdigit() and (digits == "0" or digits[0] != "0")


class SeenIds:
    """The partner IDs of one run, each with where it was first read.

    Args:
        reject: Reject each repeat (``duplicate_partner_id``) instead of only counting it.
    """

    __slots__ = ("_bases", "_ids", "_names", "_numbered", "_source", "reject")

    def __init__(self, *, reject: bool = False) -> None:
        """Start a run with no ID seen."""
        self.reject = reject
        """Whether repeats are rejected."""
        # every ID kept as itself, with where it was first read
        self._ids: dict[str, int] = {}
        # base -> ranges [(where, upto)]: where IDs base_0 .. base_<upto-1> were first read
        # (upto grows from range to range; one range unless a base was numbered again further)
        self._bases: dict[str, list[tuple[int, int]]] = {}
        # how many IDs in ``_ids`` hold an underscore (so could be some base's ``base_<i>``)
        self._numbered = 0
        self._names: list[str] = []
        self._source = -1

    def __len__(self) -> int:
        """How many distinct IDs were seen."""
        return len(self._ids) + sum(ranges[-1][1] for ranges in self._bases.values())

    def begin(self, name: str) -> None:
        """A new source starts (the same file read twice counts as two sources)."""
        self._names.append(name)
        self._source = len(self._names) - 1

    def _where(self, value: int) -> str:
        """``source:line`` of a packed place; ``(source N)`` too when names repeat in the run."""
        line, source = value >> _SOURCE_BITS, value & ((1 << _SOURCE_BITS) - 1)
        name = self._names[source]
        if self._names.count(name) > 1:
            return f"{name}:{line} (source {source + 1})"
        return f"{name}:{line}"

    @staticmethod
    def _in_ranges(ranges: list[tuple[int, int]], index: int) -> int | None:
        for where, upto in ranges:
            if index < upto:
                return where
        return None

    def _first(self, pid: str) -> int | None:
        """Where ``pid`` was first read, if it was: kept as itself, or as some ``base_<i>``."""
        first = self._ids.get(pid)
        if first is None and self._bases:
            base, _, digits = pid.rpartition("_")
            if base and _is_index(digits):
                ranges = self._bases.get(base)
                if ranges is not None:
                    first = self._in_ranges(ranges, int(digits))
        return first

    def _note(self, pid: str, where: int) -> int | None:
        """Keep ``pid`` (read at ``where``) as itself; where it was first read, if before."""
        first = self._first(pid)
        if first is None:
            self._ids[pid] = where
            if "_" in pid:
                self._numbered += 1
        return first

    def _note_numbered(
        self, base: str, count: int, where: int, repeats: list[tuple[int, str, int]]
    ) -> None:
        """Keep ``base_0`` … ``base_<count-1>`` as one entry; list the repeats among them."""
        ranges = self._bases.get(base)
        covered = ranges[-1][1] if ranges else 0
        ids = self._ids if self._numbered else None
        for index in range(count):
            first = None
            if ids is not None:
                first = ids.get(partner_inference_id(base, index, count))
            if first is None and index < covered and ranges is not None:
                first = self._in_ranges(ranges, index)
            if first is not None:
                repeats.append((index, partner_inference_id(base, index, count), first))
        if count > covered:
            if ranges is None:
                self._bases[base] = [(where, count)]
            else:
                ranges.append((where, count))

    def _place(self, line_number: int) -> int:
        """Where a line of the current source is (one new int per line, kept by its first IDs)."""
        if self._source < 0:
            self.begin("<lines>")
        return (line_number << _SOURCE_BITS) | self._source

    def note(self, line_number: int, base: str, count: int) -> list[tuple[int, str, int]]:
        """Note the IDs of a call of ``count`` inferences named after ``base``, all emitted.

        Returns:
            The repeats among them: ``(index, partner ID, where it was first read)``.
        """
        where = self._place(line_number)
        repeats: list[tuple[int, str, int]] = []
        if count == 1:
            first = self._note(base, where)
            if first is not None:
                repeats.append((0, base, first))
        elif count > 1:
            self._note_numbered(base, count, where, repeats)
        return repeats

    def note_each(
        self, line_number: int, emitted: Iterable[tuple[int, str]]
    ) -> list[tuple[int, str, int]]:
        """Note the IDs of some inferences of a call (``(index, partner ID)``), one by one.

        Returns:
            The repeats among them: ``(index, partner ID, where it was first read)``.
        """
        where = self._place(line_number)
        repeats: list[tuple[int, str, int]] = []
        for index, pid in emitted:
            first = self._note(pid, where)
            if first is not None:
                repeats.append((index, pid, first))
        return repeats

    def tally(self, repeats: list[tuple[int, str, int]], line_number: int, ledger: Ledger) -> None:
        """Count ``repeats`` (read at ``line_number``) in ``ledger``, with the first examples."""
        ledger.duplicate_partner_ids += len(repeats)
        examples = ledger.duplicate_examples
        repeat_at = self._where((line_number << _SOURCE_BITS) | self._source)
        for _, pid, first in repeats[: max(0, MAX_DUPLICATE_EXAMPLES - len(examples))]:
            examples.append(
                {"partner_inference_id": pid, "first": self._where(first), "repeat": repeat_at}
            )

    def check(self, call: Call, ledger: Ledger) -> Call:
        """Note the IDs ``call`` emits; count its repeats; with :attr:`reject`, reject them.

        A call on the fast path (``outcomes`` is ``None``) keeps it unless it has a repeat
        to reject; then its outcomes are set, one record or :class:`Reject` per inference.
        """
        if self._source < 0:
            self.begin(call.source)
        outcomes = call.outcomes
        if outcomes is None or all(isinstance(outcome, InferenceRecord) for outcome in outcomes):
            repeats = self.note(call.line_number, call.base_id, call.count)
        else:
            repeats = self.note_each(
                call.line_number,
                (
                    (index, outcome.partner_inference_id)
                    for index, outcome in enumerate(outcomes)
                    if isinstance(outcome, InferenceRecord)
                ),
            )
        if not repeats:
            return call
        self.tally(repeats, call.line_number, ledger)
        if not self.reject:
            return call
        items = list(call.items())
        for index, pid, first in repeats:
            items[index] = Reject(
                reason=Reason.DUPLICATE_PARTNER_ID,
                source=call.source,
                line_number=call.line_number,
                offset=call.offset,
                message=(
                    f"inference {index} ({pid}): the partner_inference_id was already read at "
                    f"{self._where(first)}"
                ),
                raw=call.raw,
                event_id=call.event.event_metadata.event_id,
                index=index,
            )
        return replace(call, outcomes=tuple(items))
