"""Faults the local Arthur server injects on demand: what each kind does, and the queue."""

from __future__ import annotations

import collections
import enum
import threading
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Final

__all__ = ["MAX_DELAY", "MAX_FAULTS", "Fault", "FaultKind", "Faults"]

MAX_DELAY: Final = 60.0
"""Longest injected delay, in seconds."""
MAX_FAULTS: Final = 10_000
"""Most faults queued at once."""


class FaultKind(enum.StrEnum):
    """What a fault does to the request it is taken for."""

    FAIL = "fail"
    """Answer with an error status, and do no work."""
    DELAY = "delay"
    """Do the work, then wait before answering."""
    DROP = "drop"
    """Close the connection without an answer (after the work, or before it)."""
    MISCOUNT = "miscount"
    """Do the work, and answer ``counts`` that disagree with ``results``."""
    TRUNCATE = "truncate"
    """Do the work, and leave the last entry out of ``results``."""


@dataclass(frozen=True, slots=True)
class Fault:
    """One injected fault."""

    kind: FaultKind
    status: int = 503
    """The status answered, for :attr:`FaultKind.FAIL`."""
    retry_after: str | None = None
    """The ``Retry-After`` header sent, for :attr:`FaultKind.FAIL`."""
    seconds: float = 0.0
    """The wait, for :attr:`FaultKind.DELAY`."""
    after_processing: bool = False
    """For :attr:`FaultKind.DROP`: whether the work is done before the connection is closed."""

    @property
    def message(self) -> str:
        """The message of a :attr:`FaultKind.FAIL` answer."""
        try:
            phrase = HTTPStatus(self.status).phrase
        except ValueError:
            phrase = "fault"
        return f"injected: {phrase}"

    def alter(self, answer: dict[str, Any]) -> dict[str, Any]:
        """``answer`` as this fault spoils it (miscounted or truncated; others leave it)."""
        if self.kind is FaultKind.MISCOUNT and isinstance(answer.get("counts"), dict):
            counts = dict(answer["counts"])
            counts["success"] = counts.get("success", 0) + 1
            return {**answer, "counts": counts}
        if self.kind is FaultKind.TRUNCATE and isinstance(answer.get("results"), list):
            return {**answer, "results": answer["results"][:-1]}
        return answer


class Faults:
    """Faults for the next requests, taken one per API request in the order injected.

    Each method queues ``n`` faults; a request that finds the queue empty is served
    normally. The queue holds at most 10,000 faults.
    """

    def __init__(self) -> None:
        """Start with no fault."""
        self._queue: collections.deque[Fault] = collections.deque(maxlen=MAX_FAULTS)
        self._lock = threading.Lock()

    def _add(self, n: int, fault: Fault) -> None:
        if not 0 <= n <= MAX_FAULTS:
            raise ValueError(f"n must be between 0 and {MAX_FAULTS}")
        with self._lock:
            self._queue.extend([fault] * n)

    def fail(self, n: int = 1, status: int = 503) -> None:
        """Answer the next ``n`` requests with ``status`` (a 5xx, or any status) and no work."""
        self._add(n, Fault(FaultKind.FAIL, status=status))

    def throttle(self, n: int = 1, retry_after: str | None = "1") -> None:
        """Answer the next ``n`` requests 429, with ``Retry-After`` when given."""
        self._add(n, Fault(FaultKind.FAIL, status=429, retry_after=retry_after))

    def delay(self, n: int = 1, seconds: float = 1.0) -> None:
        """Process the next ``n`` requests, then wait ``seconds`` (≤ 60) before answering.

        A client that times out meanwhile has had its records stored: its retry makes
        duplicates, which :attr:`LocalArthur.duplicates` shows.
        """
        if not 0 <= seconds <= MAX_DELAY:
            raise ValueError(f"seconds must be between 0 and {MAX_DELAY}")
        self._add(n, Fault(FaultKind.DELAY, seconds=seconds))

    def drop(self, n: int = 1, *, after_processing: bool = False) -> None:
        """Close the connection of the next ``n`` requests without an answer.

        By default nothing is stored; with ``after_processing`` the records are stored first
        (so a retry makes duplicates).
        """
        self._add(n, Fault(FaultKind.DROP, after_processing=after_processing))

    def miscount(self, n: int = 1) -> None:
        """Serve the next ``n`` requests, with ``counts`` that disagree with ``results``."""
        self._add(n, Fault(FaultKind.MISCOUNT))

    def truncate_results(self, n: int = 1) -> None:
        """Serve the next ``n`` requests, leaving the last entry out of ``results``."""
        self._add(n, Fault(FaultKind.TRUNCATE))

    def clear(self) -> None:
        """Forget the faults not used yet."""
        with self._lock:
            self._queue.clear()

    def pending(self) -> int:
        """Faults not used yet."""
        with self._lock:
            return len(self._queue)

    def take(self) -> Fault | None:
        """The fault for the request being served, if any."""
        with self._lock:
            return self._queue.popleft() if self._queue else None
