"""Settlement: every record of an upload into exactly one bucket of its :class:`UploadResult`.

Arthur answers a chunk with a multi-status body (``{"counts": {...}, "results": [...]}``,
one result per record, in order, without the partner ID). :meth:`Settlement.answered` reads
it; the other methods account for records never sent, chunks that failed whole, answers that
could not be read, chunks in flight when an upload was interrupted, and chunks that may have
landed twice. No HTTP here: the client hands over statuses and parsed bodies, and every text
that came from Arthur is redacted, then cut, before it is kept (``Secret.shown``).
"""

from __future__ import annotations

import itertools
import logging
from typing import TYPE_CHECKING, Any, Final

from arthur_capture.arthur._answers import MAX_MESSAGE, rendered
from arthur_capture.arthur.results import ChunkFailure, FailedRecord, Refusal, UploadResult

if TYPE_CHECKING:
    from collections.abc import Iterable

    from arthur_capture.arthur._items import Invalid, Item
    from arthur_capture.arthur._secret import Secret

__all__ = ["MAX_MESSAGE", "Settlement"]

logger = logging.getLogger("arthur_capture.arthur.client")  # the uploader's one logger

_SHOWN_VALUE: Final = 60
"""Longest ``repr`` of a value from Arthur kept in a message, in characters."""
_CACHE: Final = 1024
"""Distinct per-record messages remembered, already cleaned (most answers repeat a few)."""


def _repr(value: Any) -> str:
    try:
        return repr(value)
    except (RecursionError, ValueError):
        return f"<{type(value).__name__}>"


class Settlement:
    """The account of one upload, kept as its chunks are sent and answered.

    Invariant, once every record read has gone through one of the methods below:
    ``result.total == result.accepted + result.refused + len(result.failed)``.
    """

    __slots__ = ("_cache", "_secret", "result")

    def __init__(self, secret: Secret) -> None:
        """Start an empty account; every text kept from Arthur is cleaned with ``secret``."""
        self.result = UploadResult()
        self._secret = secret
        self._cache: dict[str, str] = {}

    @property
    def settled(self) -> int:
        """Records in a bucket so far."""
        result = self.result
        return result.accepted + len(result.refusals) + len(result.failed)

    def clean(self, text: str) -> str:
        """A text from Arthur as it may be kept: redacted, then cut to ``MAX_MESSAGE``."""
        cached = self._cache.get(text)
        if cached is None:
            cached = self._secret.shown(text, MAX_MESSAGE)
            if len(self._cache) < _CACHE and len(text) <= 4 * MAX_MESSAGE:
                self._cache[text] = cached
        return cached

    def shown_value(self, value: Any) -> str:
        """A value from Arthur as a message shows it: its ``repr``, redacted, then cut."""
        return self._secret.shown(_repr(value), _SHOWN_VALUE)

    def invalid(self, invalid: Iterable[Invalid]) -> None:
        """Records that were not sent because Arthur would refuse them outright."""
        for ref, problem in invalid:
            self.result.failed.append(
                FailedRecord(
                    ref.partner_inference_id,
                    ref.source,
                    ref.line_number,
                    f"not sent: {problem}",
                    None,
                    None,
                    sent=False,
                )
            )

    def not_sent(self, chunk: Iterable[Item], error: str) -> None:
        """Valid records that were not sent (the upload stopped before them)."""
        self.result.failed.extend(
            FailedRecord(
                i.ref.partner_inference_id,
                i.ref.source,
                i.ref.line_number,
                error,
                None,
                None,
                sent=False,
            )
            for i in chunk
        )

    def chunk_failed(
        self,
        number: int,
        chunk: list[Item],
        status: int | None,
        error: str,
        attempts: int,
        *,
        possibly_stored: bool = False,
    ) -> None:
        """A chunk that got no 2xx answer: each of its records failed with the chunk's error.

        ``possibly_stored``: an attempt's answer was lost (Arthur may hold the records).
        """
        result = self.result
        result.failed_chunks += 1
        result.chunk_failures.append(ChunkFailure(number, len(chunk), status, error, attempts))
        self._sent_and_failed(chunk, number, status, error, possibly_stored=possibly_stored)
        logger.error("chunk %d (%d records) failed: %s", number, len(chunk), error)

    def unconfirmed(self, number: int, chunk: list[Item], status: int, problem: str) -> None:
        """A chunk answered 2xx whose answer could not be read: its records may be stored."""
        self.warn(
            f"chunk {number}: Arthur answered {status} but its answer could not be read "
            f"({problem}); its {len(chunk)} record(s) are unconfirmed"
        )
        self._possibly_stored(
            chunk, number, status, f"sent, but Arthur's answer could not be read: {problem}"
        )

    def in_flight(self, number: int, chunk: list[Item], settled_before: int) -> None:
        """The chunk being sent when the upload stopped: its unsettled records may be stored.

        ``settled_before`` is :attr:`settled` before the chunk was sent: the chunk's records
        are settled in order, so the first ``settled - settled_before`` of them already are.
        """
        result = self.result
        result.refused = len(result.refusals)  # an interruption may fall between the two
        done = max(0, self.settled - settled_before)
        rest = chunk[done:]
        if rest:
            self._possibly_stored(
                rest,
                number,
                None,
                "sent when the upload was interrupted; its answer was not read",
            )

    def _possibly_stored(
        self, items: Iterable[Item], number: int, status: int | None, error: str
    ) -> None:
        self._sent_and_failed(items, number, status, error, possibly_stored=True)

    def _sent_and_failed(
        self,
        items: Iterable[Item],
        number: int,
        status: int | None,
        error: str,
        *,
        possibly_stored: bool,
    ) -> None:
        self.result.failed.extend(
            FailedRecord(
                i.ref.partner_inference_id,
                i.ref.source,
                i.ref.line_number,
                error,
                status,
                number,
                sent=True,
                possibly_stored=possibly_stored,
            )
            for i in items
        )

    def possible_duplicates(self, chunk: list[Item]) -> None:
        """A chunk re-sent after an answer that may have been lost: Arthur may hold it twice."""
        self.result.possible_duplicates.extend(i.ref.partner_inference_id for i in chunk)
        logger.warning(
            "%d record(s) were re-sent after an answer that may have been lost; Arthur "
            "has no idempotency key and may hold them twice",
            len(chunk),
        )

    def answered(self, number: int, chunk: list[Item], status: int, body: Any) -> None:
        """Read a 2xx multi-status answer (``body`` parsed, ``None`` if it was not JSON)."""
        result = self.result
        results = body.get("results") if isinstance(body, dict) else None
        if not isinstance(results, list):
            self.warn(
                f"chunk {number}: Arthur answered {status} without a results list; its "
                "records are unconfirmed"
            )
            self._possibly_stored(
                chunk, number, status, "sent, but Arthur's answer has no per-record result"
            )
            return
        if len(results) != len(chunk):
            self.warn(
                f"chunk {number}: Arthur returned {len(results)} result(s) for {len(chunk)} "
                "record(s)"
            )
        success = failure = 0
        for item, entry in itertools.zip_longest(chunk, results):
            if item is None:  # more results than records: nothing to pin them on
                break
            ref = item.ref
            record_status, message = self._entry(entry)
            if record_status is None:
                result.failed.append(
                    FailedRecord(
                        ref.partner_inference_id,
                        ref.source,
                        ref.line_number,
                        f"sent, but Arthur's answer has no usable result for it ({message})",
                        status,
                        number,
                        sent=True,
                        possibly_stored=True,
                    )
                )
            elif 200 <= record_status < 300:
                success += 1
                result.accepted += 1
            else:
                failure += 1
                result.refusals.append(
                    Refusal(
                        ref.partner_inference_id,
                        record_status,
                        message,
                        ref.source,
                        ref.line_number,
                        number,
                    )
                )
                result.refused += 1
        self._check_counts(number, body.get("counts"), success, failure, len(results))

    def warn(self, message: str) -> None:
        """Note a disagreement in Arthur's answers (redacted, logged, kept in the result)."""
        text = self._secret.redact(message)
        self.result.warnings.append(text)
        logger.warning("%s", text)

    def _entry(self, entry: Any) -> tuple[int | None, str]:
        """One per-record result as ``(status, message)``; status ``None`` if unusable."""
        if entry is None:
            return None, "missing"
        if not isinstance(entry, dict):
            return None, "not an object"
        status = entry.get("status")
        if isinstance(status, bool) or not isinstance(status, int):
            return None, f"status {self.shown_value(status)} is not an integer"
        return status, self.clean(rendered(entry.get("message")))

    def _check_counts(
        self, number: int, counts: Any, success: int, failure: int, total: int
    ) -> None:
        if not isinstance(counts, dict):
            self.warn(f"chunk {number}: Arthur's answer has no counts")
            return
        expected = {"success": success, "failure": failure, "total": total}
        wrong = {k: counts.get(k) for k, v in expected.items() if counts.get(k) != v}
        if wrong:
            shown = ", ".join(
                f"{k}={self.shown_value(v)} (results say {expected[k]})" for k, v in wrong.items()
            )
            self.warn(f"chunk {number}: Arthur's counts disagree with its results: {shown}")
