"""Settlement: every record of an upload into exactly one bucket of its :class:`UploadResult`.

Arthur answers a chunk with a multi-status body (``{"counts": {...}, "results": [...]}``,
one result per record, in order, without the partner ID). :meth:`Settlement.answered` reads
it; the other methods account for records never sent, chunks that failed whole and chunks
that may have landed twice. No HTTP here: the client hands over statuses and parsed bodies,
and every text that came from Arthur is passed through ``redact`` before it is kept.
"""

from __future__ import annotations

import itertools
import logging
from typing import TYPE_CHECKING, Any, Final

from arthur_capture._json import dumps_json
from arthur_capture.arthur.results import ChunkFailure, FailedRecord, Refusal, UploadResult

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from arthur_capture.arthur._items import Invalid, Item

__all__ = ["MAX_MESSAGE", "Settlement"]

logger = logging.getLogger("arthur_capture.arthur.client")  # the uploader's one logger

MAX_MESSAGE: Final = 500
"""Longest message kept from one of Arthur's answers, in characters."""


class Settlement:
    """The account of one upload, kept as its chunks are sent and answered.

    Invariant, once every record has gone through one of the methods below:
    ``result.total == result.accepted + result.refused + len(result.failed)``.
    """

    __slots__ = ("_redact", "result")

    def __init__(self, redact: Callable[[str], str]) -> None:
        """Start an empty account; ``redact`` cleans every text kept from Arthur."""
        self.result = UploadResult()
        self._redact = redact

    def invalid(self, invalid: Iterable[Invalid]) -> None:
        """Records that were not sent because Arthur would refuse them outright."""
        for ref, problem in invalid:
            self.result.total += 1
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

    def not_sent(self, chunk: list[Item], error: str) -> None:
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
        self, number: int, chunk: list[Item], status: int | None, error: str, attempts: int
    ) -> None:
        """A chunk that got no 2xx answer: each of its records failed with the chunk's error."""
        result = self.result
        result.failed_chunks += 1
        result.chunk_failures.append(ChunkFailure(number, len(chunk), status, error, attempts))
        result.failed.extend(
            FailedRecord(
                i.ref.partner_inference_id,
                i.ref.source,
                i.ref.line_number,
                error,
                status,
                number,
                sent=True,
            )
            for i in chunk
        )
        logger.error("chunk %d (%d records) failed: %s", number, len(chunk), error)

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
            result.failed.extend(
                FailedRecord(
                    i.ref.partner_inference_id,
                    i.ref.source,
                    i.ref.line_number,
                    "sent, but Arthur's answer has no per-record result",
                    status,
                    number,
                    sent=True,
                )
                for i in chunk
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
                continue
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
                    )
                )
            elif 200 <= record_status < 300:
                success += 1
                result.accepted += 1
            else:
                failure += 1
                result.refused += 1
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
        self._check_counts(number, body.get("counts"), success, failure, len(results))

    def warn(self, message: str) -> None:
        """Note a disagreement in Arthur's answers (redacted, logged, kept in the result)."""
        text = self._redact(message)
        self.result.warnings.append(text)
        logger.warning("%s", text)

    def _entry(self, entry: Any) -> tuple[int | None, str]:
        """One per-record result as ``(status, message)``; status ``None`` if unusable."""
        if entry is None:
            return None, "missing"
        if not isinstance(entry, dict):
            return None, "not an object"
        status = entry.get("status")
        message = entry.get("message")
        text = message if isinstance(message, str) else dumps_json(message).decode()
        text = self._redact(text[:MAX_MESSAGE])
        if isinstance(status, bool) or not isinstance(status, int):
            return None, f"status {status!r} is not an integer"
        return status, text

    def _check_counts(
        self, number: int, counts: Any, success: int, failure: int, total: int
    ) -> None:
        if not isinstance(counts, dict):
            self.warn(f"chunk {number}: Arthur's answer has no counts")
            return
        expected = {"success": success, "failure": failure, "total": total}
        wrong = {k: counts.get(k) for k, v in expected.items() if counts.get(k) != v}
        if wrong:
            shown = ", ".join(f"{k}={v!r} (results say {expected[k]})" for k, v in wrong.items())
            self.warn(f"chunk {number}: Arthur's counts disagree with its results: {shown}")
