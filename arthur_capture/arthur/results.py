"""What an upload tells you: one bucket per record, and the requests that failed whole.

Pure data (no HTTP client is imported): build, compare and inspect results without the
``arthur`` extra. :class:`~arthur_capture.arthur.client.ArthurClient` fills them in;
``ArthurError.result`` carries one when an error stops an upload.

Every record handed to an upload ends in exactly one bucket of the :class:`UploadResult`:
accepted, refused by Arthur (:class:`Refusal`) or failed (:class:`FailedRecord`), so
``total == accepted + refused + len(failed)`` (:attr:`UploadResult.balanced`). A failed
record is one of three kinds: *possibly stored* (sent, and the answer was lost, unreadable or
had no result for it: Arthur may hold it), *not stored* (sent, and Arthur said no to the
whole request) or *not sent*.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "CaptureFileResult",
    "ChunkFailure",
    "FailedRecord",
    "FileUploadResult",
    "Refusal",
    "UploadResult",
]


@dataclass(frozen=True, slots=True)
class Refusal:
    """An inference Arthur refused, with where it came from."""

    partner_inference_id: str
    """The record's partner inference ID (Arthur does not echo it; re-attached by position)."""
    status: int
    """Arthur's per-record status (4xx: the data; 5xx: Arthur's side)."""
    message: str
    """Arthur's message for the record."""
    source: str | None
    """The capture file the record came from, when known."""
    line_number: int | None
    """Its 1-based line number in the source, when known."""
    chunk: int
    """0-based number of the request that carried it."""


@dataclass(frozen=True, slots=True)
class FailedRecord:
    """A record whose fate is not known to be accepted or refused: it must be looked at."""

    partner_inference_id: str
    """The record's partner inference ID ("" when the record had none)."""
    source: str | None
    """The capture file the record came from, when known."""
    line_number: int | None
    """Its 1-based line number in the source, when known."""
    error: str
    """What happened: the chunk's last error, "not sent: …", or a missing result."""
    status: int | None
    """The last HTTP status of its request, when there was one."""
    chunk: int | None
    """0-based number of its request; ``None`` when it was never sent."""
    sent: bool
    """Whether the record was sent at least once."""
    possibly_stored: bool = False
    """Sent, and Arthur may hold it: the answer was lost (timeout, dropped connection,
    500/502/504), unreadable, too long, or had no usable result for it, or the upload was
    interrupted while its request was in flight. ``False``: sent and refused as a whole
    (a 4xx, or a 503/429 every time), or not sent."""

    @property
    def kind(self) -> str:
        """``"possibly stored"``, ``"failed"`` (sent, not stored) or ``"not sent"``."""
        if not self.sent:
            return "not sent"
        return "possibly stored" if self.possibly_stored else "failed"


@dataclass(frozen=True, slots=True)
class ChunkFailure:
    """A request that failed as a whole; its records are in :attr:`UploadResult.failed`."""

    chunk: int
    """0-based number of the request."""
    records: int
    """How many records it carried."""
    status: int | None
    """The last HTTP status, or ``None`` when no answer came (timeout, connection)."""
    error: str
    """The last error."""
    attempts: int
    """How many times it was sent."""


@dataclass(slots=True)
class UploadResult:
    """The account of one upload (or ground-truth update)."""

    total: int = 0
    """Records handed over."""
    sent: int = 0
    """Records sent in at least one request."""
    accepted: int = 0
    """Records Arthur accepted (per-record 2xx)."""
    refused: int = 0
    """Records Arthur refused (per-record non-2xx); each is in :attr:`refusals`."""
    requests: int = 0
    """HTTP requests made, retries included."""
    retries: int = 0
    """Of those, retries."""
    chunks: int = 0
    """Chunks (logical requests) attempted."""
    failed_chunks: int = 0
    """Chunks that failed as a whole; each is in :attr:`chunk_failures`."""
    refusals: list[Refusal] = field(default_factory=list)
    """The records Arthur refused."""
    failed: list[FailedRecord] = field(default_factory=list)
    """Records neither accepted nor refused: failed chunks, no result, invalid, not reached."""
    chunk_failures: list[ChunkFailure] = field(default_factory=list)
    """The chunks that failed as a whole."""
    possible_duplicates: list[str] = field(default_factory=list)
    """Partner IDs re-sent after an answer that may have been lost (timeout, dropped
    connection, 500/502/504): Arthur may hold them twice."""
    warnings: list[str] = field(default_factory=list)
    """Disagreements in Arthur's answers (counts versus results) and other oddities."""
    aborted: bool = False
    """Whether the upload stopped early (too many failed chunks in a row)."""
    stopped: str | None = None
    """Why the upload stopped before the end of its records, or ``None`` if it did not:
    failed chunks in a row, an error that stops it (401, 403, 404), an interruption."""

    @property
    def possibly_stored(self) -> list[FailedRecord]:
        """The failed records Arthur may hold (sent; the answer was lost or unreadable)."""
        return [f for f in self.failed if f.sent and f.possibly_stored]

    @property
    def not_sent(self) -> list[FailedRecord]:
        """The failed records that were never sent (invalid, or after the upload stopped)."""
        return [f for f in self.failed if not f.sent]

    @property
    def not_stored(self) -> list[FailedRecord]:
        """The failed records that were sent and refused as a whole (Arthur holds none)."""
        return [f for f in self.failed if f.sent and not f.possibly_stored]

    @property
    def ok(self) -> bool:
        """Everything was accepted, once, and Arthur's answers added up."""
        return (
            self.accepted == self.total
            and not self.refused
            and not self.failed
            and not self.warnings
            and not self.possible_duplicates
        )

    @property
    def balanced(self) -> bool:
        """Every record is in exactly one bucket: accepted, refused or failed."""
        return self.total == self.accepted + self.refused + len(self.failed)

    def summary(self) -> dict[str, Any]:
        """The counts as a JSON-ready dict."""
        return {
            "total": self.total,
            "sent": self.sent,
            "accepted": self.accepted,
            "refused": self.refused,
            "failed": len(self.failed),
            "chunks": self.chunks,
            "failed_chunks": self.failed_chunks,
            "requests": self.requests,
            "retries": self.retries,
            "possible_duplicates": len(self.possible_duplicates),
            "warnings": len(self.warnings),
            "aborted": self.aborted,
            "possibly_stored": len(self.possibly_stored),
            "not_stored": len(self.not_stored),
            "not_sent": len(self.not_sent),
            "stopped": self.stopped,
            "balanced": self.balanced,
        }


def _clean(result: FileUploadResult | CaptureFileResult) -> bool:
    """A file's answer was read, reports no failure, and the file was not possibly sent twice."""
    return (
        result.unconfirmed is None
        and not result.failures
        and not result.counts.get("failure")
        and not result.possible_duplicate
    )


@dataclass(frozen=True, slots=True)
class FileUploadResult:
    """Arthur's answer to ``POST /inferences/file``.

    Arthur only validates the file synchronously; ingestion runs later and its failures are
    mailed, not returned.
    """

    status: int
    """The HTTP status (207 or 201)."""
    counts: dict[str, Any]
    """``{"success", "failure", "total"}`` as Arthur sent them (may be empty)."""
    failures: list[dict[str, Any]]
    """Arthur's per-row failures, as sent."""
    attempts: int
    """How many times the file was sent."""
    possible_duplicate: bool
    """Whether it was re-sent after an answer that may have been lost."""
    unconfirmed: str | None = None
    """Why Arthur's 2xx answer could not be read (too long, too slow, cut, not JSON):
    the file was probably taken, but nothing in this result is confirmed. ``None``: read."""

    @property
    def ok(self) -> bool:
        """Answer read, no failure reported and no duplicate risk."""
        return _clean(self)


@dataclass(frozen=True, slots=True)
class CaptureFileResult:
    """Arthur's answer to ``POST /inferences/integrations/sagemaker_data_capture``.

    Arthur answers 207 with counts of inferences and one failure per inference (or event) it
    refused, each carrying SageMaker's coordinates: ``event_id`` (the line's ``eventId``) and
    ``inference_index_in_event`` (0-based within a batched call), with ``message`` and
    ``status``.
    """

    counts: dict[str, int]
    """``{"success", "failure", "total"}`` as Arthur sent them (empty when it sent none)."""
    failures: list[dict[str, Any]]
    """Arthur's failures as sent: ``event_id``, ``inference_index_in_event``, ``message``,
    ``status`` (strings redacted and cut)."""
    status: int = 207
    """The HTTP status."""
    attempts: int = 1
    """How many times the file was sent."""
    possible_duplicate: bool = False
    """Whether it was re-sent after an answer that may have been lost (Arthur may hold the
    file's inferences twice)."""
    unconfirmed: str | None = None
    """Why Arthur's 2xx answer could not be read (too long, too slow, cut, not JSON): the file
    was probably taken, but nothing in this result is confirmed. ``None``: read."""

    @property
    def ok(self) -> bool:
        """Answer read, no failure reported and no duplicate risk."""
        return _clean(self)
