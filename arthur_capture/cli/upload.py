"""``arthur-capture upload``: read capture files and send their inferences to Arthur.

The token comes only from the environment variable ``ARTHUR_ACCESS_TOKEN``, never from the
command line (where ``ps`` and shell history would show it).

Exit status: 0 when every inference was read and accepted; 1 when something was rejected
while reading, refused by Arthur, failed, possibly duplicated, or Arthur's answers did not add
up; 2 for usage, I/O and authentication errors.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any, Final

from arthur_capture.cli._common import load_schema, reader_of
from arthur_capture.errors import RejectedError, SourceError
from arthur_capture.reading import CaptureReader, Ledger
from arthur_capture.records import Reject

if TYPE_CHECKING:
    import argparse
    from collections.abc import Iterator, Sequence

    from arthur_capture.arthur import UploadResult
    from arthur_capture.records import InferenceRecord

__all__ = ["DESCRIPTION", "HELP", "TOKEN_ENV", "configure", "run"]

TOKEN_ENV: Final = "ARTHUR_ACCESS_TOKEN"  # noqa: S105 - a variable name, not a secret
"""The environment variable the token is read from (the name Arthur's SageMaker Lambda uses)."""

EXIT_OK: Final = 0
EXIT_PROBLEMS: Final = 1
EXIT_USAGE: Final = 2


HELP: Final = "send the inferences to Arthur (token from $ARTHUR_ACCESS_TOKEN)"
"""The one-line help of ``upload``."""
DESCRIPTION: Final = (
    "Read capture files and send their inferences to Arthur's v3 API in chunks, "
    "retrying 5xx, 429, timeouts and connection errors. The token is read from "
    f"${TOKEN_ENV} only."
)
"""What ``upload --help`` says of it."""


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``upload`` (the reading options come from the common parser)."""
    parser.add_argument(
        "--host", help="Arthur's address, e.g. https://app.arthur.ai (default: $ARTHUR_HOST)"
    )
    parser.add_argument("--model-id", help="the Arthur model ID (default: $ARTHUR_MODEL_ID)")
    parser.add_argument(
        "--org-id", help="sent as Arthur-Organization-ID (default: $ARTHUR_ORGANIZATION_ID)"
    )
    parser.add_argument("--batch-id", help="batch ID for every inference (batch models)")
    parser.add_argument(
        "--close-batch",
        action="store_true",
        help="after the upload, mark --batch-id uploaded with the number of accepted records",
    )
    parser.add_argument(
        "--chunk-size",
        type=int,
        default=1000,
        metavar="N",
        help="inferences per request (1 to 10000, default: %(default)s)",
    )
    parser.add_argument(
        "--attempts",
        type=int,
        default=5,
        metavar="N",
        help="times a request is sent at most (default: %(default)s)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=120.0,
        metavar="SECONDS",
        help="read timeout per request (default: %(default)s)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")


@dataclass(slots=True)
class _Problem:
    source: str
    line_number: int
    reason: str
    message: str


@dataclass(slots=True)
class _Feed:
    """Reads the files for the uploader, keeping rejects and stopping cleanly on errors."""

    reader: CaptureReader
    files: Sequence[str]
    ledger: Ledger = field(default_factory=Ledger)
    rejects: list[_Problem] = field(default_factory=list)
    stopped: str | None = None
    io_error: bool = False

    def __iter__(self) -> Iterator[InferenceRecord]:
        stream = self.reader.iter_records(*self.files)
        self.ledger = stream.ledger
        try:
            for item in stream:
                if isinstance(item, Reject):
                    self._reject(item)
                else:
                    yield item
        except RejectedError as exc:
            if isinstance(exc.reject, Reject):
                self._reject(exc.reject)
            self.stopped = f"stopped (--strict): {exc.message}"
        except SourceError as exc:
            self.stopped = exc.message
            self.io_error = True

    def _reject(self, reject: Reject) -> None:
        self.rejects.append(
            _Problem(reject.source, reject.line_number, str(reject.reason), reject.message)
        )


def _fail(message: str) -> int:
    print(f"arthur-capture: {message}", file=sys.stderr)
    return EXIT_USAGE


def run(args: argparse.Namespace) -> int:
    """Run ``upload``; returns the exit status."""
    schema = load_schema(args.schema)
    reader = reader_of(args, schema)
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        return _fail(
            f"set {TOKEN_ENV} to an Arthur API token with raw_data write access "
            "(it is never taken from the command line)."
        )
    host = args.host or os.environ.get("ARTHUR_HOST")
    model_id = args.model_id or os.environ.get("ARTHUR_MODEL_ID")
    org_id = args.org_id or os.environ.get("ARTHUR_ORGANIZATION_ID") or None
    if not host or not model_id:
        return _fail("give --host and --model-id (or set ARTHUR_HOST and ARTHUR_MODEL_ID).")
    if args.close_batch and not args.batch_id:
        return _fail("--close-batch needs --batch-id.")
    try:
        import httpx  # noqa: PLC0415

        from arthur_capture.arthur import (  # noqa: PLC0415
            ArthurAPIError,
            ArthurClient,
            ArthurError,
            RetryPolicy,
        )
    except ImportError:
        return _fail("upload needs the 'arthur' extra: pip install 'arthur-capture[arthur]'.")
    if schema is not None and schema.is_batch and not args.batch_id:
        return _fail("the model is a batch model: give --batch-id.")
    if args.timeout <= 0:
        return _fail("--timeout must be positive.")
    try:
        client = ArthurClient(
            host,
            token,
            model_id,
            organization_id=org_id,
            chunk_size=args.chunk_size,
            retry=RetryPolicy(attempts=args.attempts),
            timeout=httpx.Timeout(args.timeout, connect=min(10.0, args.timeout)),
        )
    except ValueError as exc:
        return _fail(f"{exc}.")
    feed = _Feed(reader, list(args.files))
    with client, _progress(disable=args.no_progress) as bar:
        try:
            result = client.upload(feed, batch_id=args.batch_id, progress=bar.update)
        except ArthurAPIError as exc:
            bar.close()
            print(f"arthur-capture: {exc.message}", file=sys.stderr)
            if exc.result is not None:
                _report(exc.result, feed, sys.stdout)
            return EXIT_USAGE
        bar.close()
        batch_note: str | None = None
        if args.close_batch and not feed.io_error:
            try:
                client.close_batch(args.batch_id, result.accepted)
                batch_note = f"batch {args.batch_id} closed with {result.accepted} record(s)"
            except ArthurError as exc:
                batch_note = f"could not close batch {args.batch_id}: {exc.message}"
    _report(result, feed, sys.stdout, batch_note=batch_note)
    if feed.stopped:
        print(f"arthur-capture: {feed.stopped}", file=sys.stderr)
    if feed.io_error:
        return EXIT_USAGE
    clean = result.ok and not feed.rejects and not feed.stopped
    if batch_note is not None and batch_note.startswith("could not"):
        clean = False
    return EXIT_OK if clean else EXIT_PROBLEMS


def _progress(*, disable: bool) -> Any:
    from tqdm import tqdm  # noqa: PLC0415

    # disable=None: shown only when stderr is a terminal.
    return tqdm(
        desc="upload", unit="rec", file=sys.stderr, disable=True if disable else None, leave=False
    )


def _where(source: str | None, line: int | None) -> str:
    if source is None:
        return "(source unknown)"
    return f"{source}:{line}" if line is not None else source


def _report(
    result: UploadResult, feed: _Feed, out: IO[str], *, batch_note: str | None = None
) -> None:
    """The final summary: counts, then one line per refused, failed or rejected inference."""
    ledger = feed.ledger
    print(
        f"read: {ledger.sources} file(s), {ledger.lines} line(s), {ledger.records} record(s), "
        f"{len(feed.rejects)} reject(s)",
        file=out,
    )
    print(
        f"arthur: {result.accepted} accepted, {result.refused} refused, "
        f"{len(result.failed)} failed of {result.total} ({result.chunks} chunk(s), "
        f"{result.requests} request(s), {result.retries} retry(ies), "
        f"{result.failed_chunks} failed chunk(s))",
        file=out,
    )
    for refusal in result.refusals:
        print(
            f"refused {refusal.partner_inference_id} status={refusal.status} "
            f"{_where(refusal.source, refusal.line_number)}: {refusal.message}",
            file=out,
        )
    for failed in result.failed:
        status = f" status={failed.status}" if failed.status is not None else ""
        print(
            f"failed {failed.partner_inference_id}{status} "
            f"{_where(failed.source, failed.line_number)}: {failed.error}",
            file=out,
        )
    for problem in feed.rejects:
        print(
            f"rejected {problem.source}:{problem.line_number} {problem.reason}: {problem.message}",
            file=out,
        )
    for warning in result.warnings:
        print(f"warning: {warning}", file=out)
    if result.possible_duplicates:
        shown = ", ".join(result.possible_duplicates[:5])
        more = len(result.possible_duplicates) - 5
        print(
            f"warning: {len(result.possible_duplicates)} inference(s) were re-sent after a "
            "timeout or lost answer; Arthur has no idempotency key and may hold them twice: "
            f"{shown}{f' (+{more} more)' if more > 0 else ''}",
            file=out,
        )
    if result.aborted:
        print("warning: the upload stopped after chunks failed in a row", file=out)
    if batch_note is not None:
        print(batch_note, file=out)
