"""What the local Arthur server keeps: inferences, ground truth, batches, files, the request log.

:class:`Store` is safe to share between the server's threads: each method holds its lock, and
reads give copies.
"""

from __future__ import annotations

import collections
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = ["MAX_REQUEST_LOG", "RequestLog", "Store"]

MAX_REQUEST_LOG: Final = 100_000
"""Requests kept in the log (the oldest are forgotten first)."""


@dataclass(frozen=True, slots=True)
class RequestLog:
    """One request the server saw."""

    method: str
    """``POST``, ``PATCH``, ``GET``…"""
    path: str
    """The path, without the query."""
    status: int
    """The status answered (0 when the connection was dropped)."""
    records: int
    """Records (or rows) in the body, when it was read."""
    fault: str | None
    """The injected fault, if any."""


@dataclass(slots=True)
class _Contents:
    inferences: dict[str, dict[str, Any]] = field(default_factory=dict)
    arrivals: Counter[str] = field(default_factory=Counter)
    ground_truth: dict[str, dict[str, Any]] = field(default_factory=dict)
    batches: dict[str, dict[str, Any]] = field(default_factory=dict)
    files: list[dict[str, Any]] = field(default_factory=list)
    requests: collections.deque[RequestLog] = field(
        default_factory=lambda: collections.deque(maxlen=MAX_REQUEST_LOG)
    )


class Store:
    """The server's memory, keyed by partner inference ID, with every arrival counted."""

    def __init__(self) -> None:
        """Start empty."""
        self._contents = _Contents()
        self._lock = threading.Lock()

    # ----------------------------------------------------------------- writes

    def add_inferences(
        self, objects: Sequence[Any], check: Callable[[Any], str | None], *, max_stored: int
    ) -> list[str | None]:
        """Check and store ``objects`` together: for each, why it was refused, or ``None``.

        ``check`` runs under the lock, so one request's records are stored as a whole. Beyond
        ``max_stored`` distinct partner IDs, new ones are refused with a message that starts
        with ``storage``.
        """
        with self._lock:
            problems: list[str | None] = []
            for obj in objects:
                problem = check(obj)
                if problem is None:
                    problem = self._keep(obj, max_stored)
                problems.append(problem)
            return problems

    def _keep(self, obj: dict[str, Any], max_stored: int) -> str | None:
        contents = self._contents
        partner_id = obj["partner_inference_id"]
        if partner_id not in contents.inferences and len(contents.inferences) >= max_stored:
            return f"storage full: this server keeps at most {max_stored} records"
        contents.inferences.setdefault(partner_id, obj)
        contents.arrivals[partner_id] += 1
        batch_id = obj.get("batch_id")
        if isinstance(batch_id, str):
            batch = contents.batches.setdefault(batch_id, {"received": 0, "status": "started"})
            batch["received"] += 1
        return None

    def add_ground_truth(
        self, updates: Sequence[Any], check: Callable[[Any], str | None]
    ) -> list[str | None]:
        """Check and store ground-truth ``updates`` as :meth:`add_inferences` does.

        The latest update for a partner ID wins; one for a partner ID with no inference is
        refused.
        """
        with self._lock:
            problems: list[str | None] = []
            for obj in updates:
                problem = check(obj)
                if problem is None and obj["partner_inference_id"] not in self._contents.inferences:
                    problem = "no inference has this partner_inference_id"
                if problem is None:
                    self._contents.ground_truth[obj["partner_inference_id"]] = obj
                problems.append(problem)
            return problems

    def close_batch(self, batch_id: str, total_record_count: int | None) -> dict[str, Any]:
        """Mark a batch uploaded; its state afterwards (``received``, ``status``, the total)."""
        with self._lock:
            batch = self._contents.batches.setdefault(batch_id, {"received": 0})
            batch["status"] = "uploaded"
            batch["total_record_count"] = total_record_count
            return dict(batch)

    def add_file(self, upload: dict[str, Any]) -> None:
        """Note one file upload."""
        with self._lock:
            self._contents.files.append(upload)

    def log(self, entry: RequestLog) -> None:
        """Note one request."""
        with self._lock:
            self._contents.requests.append(entry)

    def clear(self) -> None:
        """Forget everything stored and logged."""
        with self._lock:
            self._contents = _Contents()

    # ----------------------------------------------------------------- reads, as copies

    def inferences(self) -> dict[str, dict[str, Any]]:
        """Stored inferences by partner ID (the first copy of each)."""
        with self._lock:
            return dict(self._contents.inferences)

    def arrivals(self) -> Counter[str]:
        """How many times each partner ID was stored."""
        with self._lock:
            return Counter(self._contents.arrivals)

    def duplicates(self) -> dict[str, int]:
        """Partner IDs stored more than once, with their counts."""
        with self._lock:
            return {k: v for k, v in self._contents.arrivals.items() if v > 1}

    def ground_truth(self) -> dict[str, dict[str, Any]]:
        """Ground-truth updates by partner ID (the latest)."""
        with self._lock:
            return dict(self._contents.ground_truth)

    def batches(self) -> dict[str, dict[str, Any]]:
        """Batches by ID."""
        with self._lock:
            return {k: dict(v) for k, v in self._contents.batches.items()}

    def files(self) -> list[dict[str, Any]]:
        """File uploads, in order."""
        with self._lock:
            return list(self._contents.files)

    def requests(self) -> list[RequestLog]:
        """The requests logged, oldest first."""
        with self._lock:
            return list(self._contents.requests)
