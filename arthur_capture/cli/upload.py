"""``arthur-capture upload``: read capture files and send their inferences to Arthur.

The token comes only from the environment variable ``ARTHUR_ACCESS_TOKEN``, never from the
command line (where ``ps`` and shell history would show it).

Values are named by the model's attributes: from ``--schema MODEL.json``, or, without it, from
Arthur itself (one ``GET /models/{id}?expand=attributes`` before anything is sent; when that
fails, the upload stops with one sentence saying why and how to pass ``--schema``). Names
such as ``input_0`` are never sent. Plain http to a host that is not loopback needs
``--allow-insecure`` (and a warning says the token travels unencrypted).

However the upload ends (done, a 401/403/404 mid-way, Ctrl-C, SIGTERM), it prints the whole
account, and writes it as JSON with ``--summary FILE``: every record read is accepted,
refused, possibly stored (sent; the answer was lost or unreadable, or the upload stopped while
it was in flight), failed (sent; refused as a whole) or not sent; lines the upload never read
are named too.

Exit status: 0 when every inference was read and accepted; 1 when something was rejected
while reading, refused by Arthur, failed, possibly stored, possibly duplicated, or Arthur's
answers did not add up; 2 for usage, I/O and authentication errors; 128 + N when signal N
(SIGINT, SIGTERM, SIGHUP) stopped it.
"""

from __future__ import annotations

import os
import stat
import sys
from dataclasses import dataclass, field
from itertools import groupby
from typing import IO, TYPE_CHECKING, Any, Final

from arthur_capture._json import dumps_json
from arthur_capture.cli import _arthur, _common, _outputs, _progress
from arthur_capture.cli._common import (
    UsageError,
    input_sources,
    load_schema,
    local_inputs,
    reader_of,
)
from arthur_capture.errors import RejectedError, SourceError
from arthur_capture.reading import CaptureReader, Ledger
from arthur_capture.reading._sources import name_of
from arthur_capture.records import Reject

if TYPE_CHECKING:
    import argparse
    from collections.abc import Iterator, Sequence

    from arthur_capture.arthur import FailedRecord, ModelSchema, UploadResult
    from arthur_capture.reading import Source
    from arthur_capture.records import InferenceRecord

__all__ = ["DESCRIPTION", "HELP", "TOKEN_ENV", "configure", "run"]

TOKEN_ENV: Final = "ARTHUR_ACCESS_TOKEN"  # noqa: S105 - a variable name, not a secret
"""The environment variable the token is read from (the name Arthur's SageMaker Lambda uses)."""

EXIT_OK: Final = 0
EXIT_PROBLEMS: Final = 1
EXIT_USAGE: Final = 2

COUNT_BUDGET: Final = 512 * 1024 * 1024
"""Most bytes read to count the lines an upload that stopped early did not read."""

HELP: Final = "send the inferences to Arthur (token from $ARTHUR_ACCESS_TOKEN)"
"""The one-line help of ``upload``."""
DESCRIPTION: Final = (
    "Read capture files and send their inferences to Arthur's v3 API in chunks, "
    "retrying 5xx, 429, timeouts and connection errors. Values are named by the model's "
    "attributes: from --schema, or else fetched from Arthur before anything is sent. The token "
    f"is read from ${TOKEN_ENV} only."
)
"""What ``upload --help`` says of it."""


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``upload`` (the reading options come from the common parser)."""
    _arthur.add_connection(parser)
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
        type=_arthur.seconds,
        default=120.0,
        metavar="SECONDS",
        help="the longest one attempt of a request may take, from connecting to the last "
        "byte of the answer (default: %(default)s)",
    )
    parser.add_argument(
        "--summary",
        metavar="SUMMARY.json",
        help="write the whole account as JSON (also when the upload stops early)",
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
    files: Sequence[Source]
    ledger: Ledger = field(default_factory=Ledger)
    rejects: list[_Problem] = field(default_factory=list)
    stopped: str | None = None
    io_error: bool = False
    finished: bool = False
    """Whether every line of every file was read."""
    position: tuple[int, int, int] | None = None
    """Where the last item came from: (files opened, its line number, lines read in all)."""
    counted: Sequence[Source] | None = None
    """The files as the reader reads them, counted for the progress bar (``None``: as they are)."""

    def __iter__(self) -> Iterator[InferenceRecord]:
        stream = self.reader.iter_records(*(self.files if self.counted is None else self.counted))
        self.ledger = stream.ledger
        try:
            for item in stream:
                self.position = (self.ledger.sources, item.line_number, self.ledger.lines)
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
        else:
            self.finished = True

    def _reject(self, reject: Reject) -> None:
        self.rejects.append(
            _Problem(reject.source, reject.line_number, str(reject.reason), reject.message)
        )


@dataclass(slots=True)
class _Unread:
    """Lines of one input the upload did not read."""

    file: str
    lines: int | None
    """How many (``None``: not counted: compressed, not a regular file, too big to count)."""
    after_line: int | None
    """The last line read in it (``None``: the file was never opened, or not known)."""


@dataclass(slots=True)
class _Run:
    """How the upload ended."""

    result: UploadResult
    status: int = EXIT_OK
    outcome: str = "completed"
    stopped: str | None = None
    batch_note: str | None = None


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
    host, model_id, org_id = _arthur.connection(args)
    if args.close_batch and not args.batch_id:
        return _fail("--close-batch needs --batch-id.")
    if args.summary:  # always a file: `--summary -` names a file called "-"
        summary = f"./{args.summary}" if args.summary == "-" else args.summary
        _outputs.check_outputs(local_inputs(args.files), [("--summary", summary)])
    sources = input_sources(args)
    try:
        import httpx  # noqa: PLC0415

        from arthur_capture.arthur import (  # noqa: PLC0415
            ArthurClient,
            RetryPolicy,
        )
        from arthur_capture.arthur._ids import check_id  # noqa: PLC0415
    except ImportError:
        return _fail("upload needs the 'arthur' extra: pip install 'arthur-capture[arthur]'.")
    if schema is not None and schema.is_batch and not args.batch_id:
        return _fail("the model is a batch model: give --batch-id.")
    try:
        if args.close_batch:
            check_id(args.batch_id, "batch ID")
        _arthur.check_host(host, args)
        client = ArthurClient(
            host,
            token,
            model_id,
            organization_id=org_id,
            chunk_size=args.chunk_size,
            retry=RetryPolicy(attempts=args.attempts),
            timeout=httpx.Timeout(args.timeout, connect=min(10.0, args.timeout)),
            request_deadline=args.timeout,
            allow_insecure=args.allow_insecure,
        )
    except UsageError as exc:
        return _fail(str(exc))
    except ValueError as exc:
        return _fail(f"{exc}.")
    if schema is None:  # one GET, before anything is sent: never send input_0-style names
        fetched = _fetched_schema(client)
        if isinstance(fetched, str):
            client.close()
            return _fail(fetched)
        if fetched.is_batch and not args.batch_id:
            client.close()
            return _fail("the model is a batch model: give --batch-id.")
        reader = reader_of(args, fetched)
    feed = _Feed(reader, sources)
    with (
        client,
        _progress.tracking("upload", args.files, sources, disabled=args.no_progress) as bar,
    ):
        feed.counted = bar.sources(sources) if bar.enabled else None
        done = _upload(client, feed, args)
    return _finish(done, feed, args)


def _fetched_schema(client: Any) -> ModelSchema | str:
    """The model's schema from Arthur, or the one sentence saying why it could not be had."""
    from arthur_capture.arthur import ArthurError  # noqa: PLC0415
    from arthur_capture.errors import SchemaError  # noqa: PLC0415

    try:
        _, schema = _arthur.fetch_model(client)
    except (ArthurError, SchemaError) as exc:
        return _arthur.fetch_failure(exc, client, for_upload=True)
    fetched: ModelSchema = schema
    return fetched


def _upload(client: Any, feed: _Feed, args: argparse.Namespace) -> _Run:
    """Send the records; how it ended (never raises for Arthur's answers or a signal)."""
    from arthur_capture.arthur import ArthurAPIError, ArthurError, UploadResult  # noqa: PLC0415
    from arthur_capture.arthur.errors import UploadInterrupted  # noqa: PLC0415

    try:
        result = client.upload(feed, batch_id=args.batch_id)
    except ArthurAPIError as exc:  # an upload's stopping error carries its account
        return _Run(exc.result or UploadResult(), EXIT_USAGE, "stopped", exc.message)
    except UploadInterrupted as exc:
        cause = exc.__cause__ if isinstance(exc.__cause__, KeyboardInterrupt) else exc
        message, status = _outputs.interrupted_message(cause)
        return _Run(exc.result, status, "interrupted", message)
    done = _Run(result)
    if args.close_batch and not feed.io_error and not feed.stopped:
        try:
            client.close_batch(args.batch_id, result.accepted)
            done.batch_note = f"batch {args.batch_id} closed with {result.accepted} record(s)"
        except ArthurError as exc:
            done.batch_note = f"could not close batch {args.batch_id}: {exc.message}"
        except KeyboardInterrupt as exc:
            message, status = _outputs.interrupted_message(exc)
            done.batch_note = f"batch {args.batch_id} not closed: {message}"
            done.status, done.outcome, done.stopped = status, "interrupted", message
    return done


def _finish(done: _Run, feed: _Feed, args: argparse.Namespace) -> int:
    """Print the account (and write ``--summary``); the exit status."""
    result = done.result
    if feed.stopped and done.stopped is None:
        done.outcome, done.stopped = "stopped", feed.stopped
    said = done.stopped  # on stderr; failed chunks in a row are a warning of the account
    if result.aborted and done.stopped is None:
        done.outcome, done.stopped = "stopped", result.stopped
    unread = [] if feed.finished else _unread(feed)
    if done.status == EXIT_OK:
        clean = result.ok and not feed.rejects and not feed.stopped
        if done.batch_note is not None and done.batch_note.startswith("could not"):
            clean = False
        done.status = EXIT_USAGE if feed.io_error else (EXIT_OK if clean else EXIT_PROBLEMS)
    _report(result, feed, unread, sys.stdout, batch_note=done.batch_note)
    if said is not None:
        print(f"arthur-capture: {said}", file=sys.stderr)
    if args.summary:
        document = _summary(done, feed, unread)
        _outputs.write_file(args.summary, dumps_json(document) + b"\n")
    return done.status


# ------------------------------------------------------------------------------ the account


def _account(result: UploadResult, ledger: Ledger) -> dict[str, Any]:
    """Every record read in one bucket, counted.

    ``read == accepted + refused + possibly_stored + failed + not_sent``; ``not_sent``
    includes the records read that never reached the client.
    """
    unhanded = max(0, ledger.records - result.total)
    possibly = len(result.possibly_stored)
    failed = len(result.not_stored)
    not_sent = len(result.not_sent) + unhanded
    read = ledger.records
    return {
        "read": read,
        "accepted": result.accepted,
        "refused": result.refused,
        "possibly_stored": possibly,
        "failed": failed,
        "not_sent": not_sent,
        "balanced": result.balanced
        and result.total <= read
        and read == result.accepted + result.refused + possibly + failed + not_sent,
    }


def _where(source: str | None, line: int | None) -> str:
    if source is None:
        return "(source unknown)"
    return f"{source}:{line}" if line is not None else source


def _groups(failed: list[FailedRecord]) -> Iterator[list[FailedRecord]]:
    """Runs of failed records that failed together (same kind, chunk, status and error)."""
    for _, run in groupby(failed, key=lambda f: (f.kind, f.chunk, f.status, f.error)):
        yield list(run)


def _failure_line(group: list[FailedRecord]) -> str:
    first, last = group[0], group[-1]
    kind = first.kind
    error = first.error
    if kind == "not sent":
        error = error.removeprefix("not sent: ")
    status = f" status={first.status}" if first.status is not None else ""
    if len(group) == 1:
        return (
            f"{kind} {first.partner_inference_id}{status} "
            f"{_where(first.source, first.line_number)}: {error}"
        )
    chunk = f" of chunk {first.chunk}" if first.chunk is not None else ""
    return (
        f"{kind} {len(group)} records{chunk}{status} "
        f"{_where(first.source, first.line_number)} to {_where(last.source, last.line_number)} "
        f"({first.partner_inference_id} to {last.partner_inference_id}): {error}"
    )


def _report(
    result: UploadResult,
    feed: _Feed,
    unread: list[_Unread],
    out: IO[str],
    *,
    batch_note: str | None = None,
) -> None:
    """Print the account: the counts, then the records and lines to look at.

    One line per refused record, per run of records that failed together, per reject, per
    warning, and per file with lines not read.
    """
    ledger = feed.ledger
    account = _account(result, ledger)
    # the counts as every command words them, then Arthur's part in the same style
    print(_common.summary_line(ledger), file=out)
    print(
        f"{_common.counted(account['read'], 'record')} to Arthur: {account['accepted']} accepted, "
        f"{account['refused']} refused, {account['possibly_stored']} possibly stored, "
        f"{account['failed']} failed, {account['not_sent']} not sent; "
        f"{_common.counted(result.chunks, 'chunk')}, "
        f"{_common.counted(result.requests, 'request')}, "
        f"{result.retries} {'retry' if result.retries == 1 else 'retries'}, "
        f"{_common.counted(result.failed_chunks, 'failed chunk')}",
        file=out,
    )
    for refusal in result.refusals:
        print(
            f"refused {refusal.partner_inference_id} status={refusal.status} "
            f"{_where(refusal.source, refusal.line_number)}: {refusal.message}",
            file=out,
        )
    for group in _groups(result.failed):
        print(_failure_line(group), file=out)
    unhanded = max(0, ledger.records - result.total)
    if unhanded:
        print(
            f"not sent {unhanded} record(s) of the last line read: the upload stopped before them",
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
    for entry in unread:
        print(_unread_line(entry), file=out)
    if not account["balanced"]:
        print("warning: the account does not balance; please report this", file=out)
    if batch_note is not None:
        print(batch_note, file=out)


def _unread_line(entry: _Unread) -> str:
    if entry.after_line is None:
        where = "the whole file" if entry.lines is None else f"{entry.lines} line(s)"
        return f"not read: {entry.file}: {where} (never opened)"
    if entry.lines is None:
        return f"not read: {entry.file}: the lines after line {entry.after_line} (not counted)"
    return f"not read: {entry.file}: {entry.lines} line(s) after line {entry.after_line}"


def _summary(done: _Run, feed: _Feed, unread: list[_Unread]) -> dict[str, Any]:
    """The whole account as the JSON ``--summary`` writes."""
    result = done.result
    return {
        "outcome": done.outcome,
        "stopped": done.stopped,
        "exit_status": done.status,
        "account": _account(result, feed.ledger),
        "reading": feed.ledger.to_dict(),
        "upload": result.summary(),
        "not_read": [
            {"file": u.file, "lines": u.lines, "after_line": u.after_line} for u in unread
        ],
        "possible_duplicates": result.possible_duplicates,
        "refusals": [
            {
                "partner_inference_id": r.partner_inference_id,
                "status": r.status,
                "message": r.message,
                "source": r.source,
                "line": r.line_number,
                "chunk": r.chunk,
            }
            for r in result.refusals
        ],
        "failed": [
            {
                "partner_inference_id": f.partner_inference_id,
                "kind": f.kind,
                "error": f.error,
                "status": f.status,
                "source": f.source,
                "line": f.line_number,
                "chunk": f.chunk,
                "sent": f.sent,
                "possibly_stored": f.possibly_stored,
            }
            for f in result.failed
        ],
        "chunk_failures": [
            {
                "chunk": c.chunk,
                "records": c.records,
                "status": c.status,
                "error": c.error,
                "attempts": c.attempts,
            }
            for c in result.chunk_failures
        ],
        "warnings": result.warnings,
        "rejects": [
            {"source": p.source, "line": p.line_number, "reason": p.reason, "message": p.message}
            for p in feed.rejects
        ],
        "batch": done.batch_note,
    }


# ------------------------------------------------------------------------------ lines not read


def _count_lines(source: Source, budget: list[int]) -> int | None:
    """The lines of a plain regular file, as the reader counts them.

    ``None`` when that is not cheap (compressed, not a regular file, past the byte budget,
    not a local file: an S3 object, standard input) or the file cannot be read.
    """
    if not isinstance(source, str):
        return None
    path = source
    try:
        with open(path, "rb", buffering=0) as handle:  # noqa: PTH123
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode) or info.st_size > budget[0]:
                return None
            budget[0] -= info.st_size
            head = handle.read(2)
            if head == b"\x1f\x8b":
                return None
            count, last = head.count(b"\n"), head[-1:]
            while block := handle.read(1 << 20):
                count += block.count(b"\n")
                last = block[-1:]
    except OSError:
        return None
    return count + (1 if last and last != b"\n" else 0)


def _unread(feed: _Feed) -> list[_Unread]:
    """The lines an upload that stopped early did not read, file by file (counted if cheap)."""
    files = list(feed.files)
    opened = feed.ledger.sources
    budget = [COUNT_BUDGET]
    entries: list[_Unread] = []
    if opened:
        current = files[opened - 1]
        read_here: int | None = None
        position = feed.position
        if position is not None and position[0] == opened:
            read_here = position[1] + (feed.ledger.lines - position[2])
        elif position is None and opened == 1:
            read_here = feed.ledger.lines
        total = None if feed.io_error else _count_lines(current, budget)
        if read_here is None or total is None:
            entries.append(_Unread(name_of(current), None, read_here))
        elif total > read_here:
            entries.append(_Unread(name_of(current), total - read_here, read_here))
    entries.extend(_Unread(name_of(s), _count_lines(s, budget), None) for s in files[opened:])
    return entries
