"""Partner inference IDs seen in one run: repeats counted, with examples, or rejected.

A redelivered file or a caller that reuses ``inferenceId`` values gives several inferences
one partner inference ID; Arthur keeps one of them. The reader counts every repeat across
all the sources of a run (``duplicate_partner_ids`` in the ledger, with the first
:data:`~arthur_capture.reading._ledger.MAX_DUPLICATE_EXAMPLES` as examples) and, with
``reject_duplicates``, rejects each repeat on its own (``duplicate_partner_id``, with
``index``), keeping the first.

Memory: every emitted ID is kept for the run, one ``dict`` entry (the ID's ``str`` and a
reference to one small ``int`` per line) each: about 150 bytes per ID of 36 characters
(a UUID), ~145 MiB per million IDs.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from arthur_capture.errors import Reason
from arthur_capture.reading._ledger import MAX_DUPLICATE_EXAMPLES
from arthur_capture.records import InferenceRecord, Reject, partner_inference_id

if TYPE_CHECKING:
    from arthur_capture.reading._ledger import Ledger
    from arthur_capture.records import Call

__all__ = ["SeenIds"]

_SOURCE_BITS = 32


class SeenIds:
    """The partner IDs of one run, each with where it was first read.

    Args:
        reject: Reject each repeat (``duplicate_partner_id``) instead of only counting it.
    """

    __slots__ = ("_names", "_seen", "_source", "reject")

    def __init__(self, *, reject: bool = False) -> None:
        """Start a run with no ID seen."""
        self.reject = reject
        """Whether repeats are rejected."""
        self._seen: dict[str, int] = {}
        self._names: list[str] = []
        self._source = -1

    def __len__(self) -> int:
        """How many distinct IDs were seen."""
        return len(self._seen)

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

    def check(self, call: Call, ledger: Ledger) -> Call:
        """Note the IDs ``call`` emits; count its repeats; with :attr:`reject`, reject them.

        A call on the fast path (``outcomes`` is ``None``) keeps it unless it has a repeat
        to reject; then its outcomes are set, one record or :class:`Reject` per inference.
        """
        if self._source < 0:
            self.begin(call.source)
        # one new int per line: an ID's first sighting is this object, and no other
        where = (call.line_number << _SOURCE_BITS) | self._source
        setdefault = self._seen.setdefault
        outcomes = call.outcomes
        repeats: list[tuple[int, str, int]] = []
        if outcomes is None:
            count, base = call.count, call.base_id
            if count == 1:
                first = setdefault(base, where)
                if first is not where:
                    repeats.append((0, base, first))
            else:
                for index in range(count):
                    pid = partner_inference_id(base, index, count)
                    first = setdefault(pid, where)
                    if first is not where:
                        repeats.append((index, pid, first))
        else:
            for index, outcome in enumerate(outcomes):
                if isinstance(outcome, InferenceRecord):
                    pid = outcome.partner_inference_id
                    first = setdefault(pid, where)
                    if first is not where:
                        repeats.append((index, pid, first))
        if not repeats:
            return call
        ledger.duplicate_partner_ids += len(repeats)
        examples = ledger.duplicate_examples
        repeat_at = self._where(where)
        for _, pid, first in repeats[: max(0, MAX_DUPLICATE_EXAMPLES - len(examples))]:
            examples.append(
                {"partner_inference_id": pid, "first": self._where(first), "repeat": repeat_at}
            )
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
