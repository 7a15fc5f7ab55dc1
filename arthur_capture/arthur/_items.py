"""Records and mappings as request items: checked by Arthur's contract, serialised, chunked.

An item is one element of a ``POST`` or ``PATCH /inferences`` body, already serialised, with
the reference (partner ID, source, line) the result reports it by. What Arthur would refuse
outright is decided by :func:`~arthur_capture.arthur.contract.object_problem` alone and comes
back as an :class:`Invalid`: it is reported, never sent. No HTTP here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, NamedTuple

import orjson

from arthur_capture._json import dumps_json
from arthur_capture.arthur.contract import (
    GROUND_TRUTH_FIELDS,
    NEW_INFERENCE_FIELDS,
    new_inference,
    object_problem,
)
from arthur_capture.records import InferenceRecord

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "DEFAULT_MAX_CHUNK_BYTES",
    "MAX_CHUNK_SIZE",
    "Chunker",
    "Invalid",
    "Item",
    "Ref",
    "chunks",
    "ground_truth_item",
    "inference_item",
    "json_array",
]

DEFAULT_CHUNK_SIZE: Final = 1000
"""Records per ``POST /inferences`` request unless told otherwise."""
MAX_CHUNK_SIZE: Final = 10_000
"""The largest chunk allowed: a tenth of Arthur's "fewer than 100,000 rows" guidance."""
DEFAULT_MAX_CHUNK_BYTES: Final = 32 * 1024 * 1024
"""A chunk is also cut before its JSON body passes this size (one record is always sent)."""


@dataclass(frozen=True, slots=True)
class Ref:
    """How a result names a record: its partner ID ("" when it has none), source and line."""

    partner_inference_id: str
    source: str | None
    line_number: int | None


@dataclass(frozen=True, slots=True)
class Item:
    """One record, ready to send: its reference and its serialised JSON object."""

    ref: Ref
    body: bytes


class Invalid(NamedTuple):
    """A record that is not sent, and why (``problem``)."""

    ref: Ref
    problem: str


def _ref_of(obj: Mapping[str, Any]) -> Ref:
    """A mapping's reference: its ``partner_inference_id``, ``source`` and ``line`` keys."""
    partner_id = obj.get("partner_inference_id")
    source = obj.get("source")
    line = obj.get("line")
    return Ref(
        partner_id if isinstance(partner_id, str) else "",
        source if isinstance(source, str) else None,
        line if isinstance(line, int) and not isinstance(line, bool) else None,
    )


def _serialised(ref: Ref, obj: dict[str, Any]) -> Item | Invalid:
    try:
        return Item(ref, dumps_json(obj))
    except (TypeError, orjson.JSONEncodeError) as exc:
        return Invalid(ref, f"cannot be serialised as JSON: {exc}")


def inference_item(
    record: InferenceRecord | Mapping[str, Any], batch_id: str | None = None
) -> Item | Invalid:
    """A record (or a mapping of Arthur's ``NewInference`` shape) as a ``POST`` item.

    A mapping keeps only the ``NewInference`` fields (its ``source`` and ``line`` are
    reported, not sent). ``batch_id`` is added when the object has none.
    """
    if isinstance(record, InferenceRecord):
        ref = Ref(record.partner_inference_id, record.source, record.line_number)
        obj: dict[str, Any] = new_inference(record, batch_id=batch_id)
    else:
        ref = _ref_of(record)
        obj = {k: record[k] for k in NEW_INFERENCE_FIELDS if k in record}
    if batch_id is not None and "batch_id" not in obj:
        obj["batch_id"] = batch_id
    problem = object_problem(obj, "inference_timestamp", "inference_data")
    if problem is None and "ground_truth_data" in obj:
        problem = object_problem(obj, "ground_truth_timestamp", "ground_truth_data")
    if problem is not None:
        return Invalid(ref, problem)
    return _serialised(ref, obj)


def ground_truth_item(update: Mapping[str, Any]) -> Item | Invalid:
    """A ground-truth update as a ``PATCH`` item (only the ground-truth fields are sent)."""
    ref = _ref_of(update)
    obj = {k: update[k] for k in GROUND_TRUTH_FIELDS if k in update}
    problem = object_problem(obj, "ground_truth_timestamp", "ground_truth_data")
    if problem is not None:
        return Invalid(ref, problem)
    return _serialised(ref, obj)


class Chunker:
    """Groups items into chunks of at most ``size`` items whose body stays within ``max_bytes``.

    Iterating gives ``(chunk, invalid)`` pairs: each chunk with the invalid items met since
    the previous one (so that progress counts every record once). A single item larger than
    ``max_bytes`` is a chunk of its own; the last pair may hold no item. What was read and
    not yet handed out stays visible (:attr:`pending`, :attr:`pending_invalid`), so that an
    upload that stops early can account for it: to close a chunk the chunker must read the
    item after it, and that item is read even if the chunk is never followed.
    """

    __slots__ = ("_items", "_max_bytes", "_size", "_used", "pending", "pending_invalid", "read")

    def __init__(self, items: Iterable[Item | Invalid], size: int, max_bytes: int) -> None:
        """Chunk ``items`` (read lazily, one at a time)."""
        self._items = iter(items)
        self._size = size
        self._max_bytes = max_bytes
        self._used = 2  # the brackets of the JSON array
        self.pending: list[Item] = []
        """Items read and not yet handed out in a chunk."""
        self.pending_invalid: list[Invalid] = []
        """Invalid items read and not yet handed out."""
        self.read = 0
        """Items read from ``items`` so far."""

    def __iter__(self) -> Chunker:
        """The chunker itself."""
        return self

    def __next__(self) -> tuple[list[Item], list[Invalid]]:
        """The next chunk and the invalid items met since the previous one."""
        for item in self._items:
            self.read += 1
            if isinstance(item, Invalid):
                self.pending_invalid.append(item)
                continue
            cost = len(item.body) + 1  # the body and its comma
            if self.pending and (
                len(self.pending) >= self._size or self._used + cost > self._max_bytes
            ):
                chunk, invalid = self.pending, self.pending_invalid
                self.pending, self.pending_invalid, self._used = [item], [], 2 + cost
                return chunk, invalid
            self.pending.append(item)
            self._used += cost
        if self.pending or self.pending_invalid:
            chunk, invalid = self.pending, self.pending_invalid
            self.pending, self.pending_invalid, self._used = [], [], 2
            return chunk, invalid
        raise StopIteration


def chunks(
    items: Iterable[Item | Invalid], size: int, max_bytes: int
) -> Iterator[tuple[list[Item], list[Invalid]]]:
    """The ``(chunk, invalid)`` pairs of a :class:`Chunker` over ``items``."""
    return Chunker(items, size, max_bytes)


def json_array(chunk: list[Item]) -> bytes:
    """The request body of a chunk: its items as one JSON array."""
    return b"[" + b",".join(i.body for i in chunk) + b"]"
