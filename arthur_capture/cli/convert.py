"""``arthur-capture convert``: write Arthur inference objects as JSON lines, JSON or Parquet."""

from __future__ import annotations

import contextlib
import sys
from typing import TYPE_CHECKING, Final

from arthur_capture._json import dumps_json
from arthur_capture.cli import _common
from arthur_capture.errors import ParquetError, RejectedError
from arthur_capture.records import Call, InferenceRecord, Reject
from arthur_capture.sinks.jsonl import InferenceWriter, call_json

if TYPE_CHECKING:
    import argparse
    from collections.abc import Iterable, Iterator

__all__ = ["HELP", "configure", "run"]


HELP: Final = "write Arthur inference objects as JSON lines"
"""The one-line help of ``convert``."""


def configure(parser: argparse.ArgumentParser) -> None:
    """``convert`` writes to ``-o`` in a ``--format``, with dead letters and a summary."""
    parser.add_argument("-o", "--output", metavar="OUT", help="output file (default: stdout)")
    parser.add_argument("--rejects", metavar="REJECTS.jsonl", help="dead-letter file for rejects")
    parser.add_argument("--summary", metavar="SUMMARY.json", help="write the ledger as JSON")
    parser.add_argument(
        "--format",
        choices=("jsonl", "json", "parquet"),
        default="jsonl",
        help="JSON lines (default), one JSON array (POST /inferences), or Parquet files "
        "(/inferences/file; needs -o and pyarrow)",
    )
    parser.add_argument(
        "--batch-id", metavar="ID", help="batch_id for every inference (batch models)"
    )
    parser.add_argument(
        "--chunk-rows",
        type=int,
        default=500_000,
        metavar="N",
        help="Parquet rows per file (default: %(default)s)",
    )


def _records(
    calls: Iterable[Call | Reject], dead: _common.DeadLetters
) -> Iterator[InferenceRecord]:
    """The records of the calls; rejects go to the dead letters, ``--strict`` stops cleanly."""
    try:
        for item in calls:
            for outcome in (item,) if isinstance(item, Reject) else item.items():
                if isinstance(outcome, Reject):
                    dead.write(outcome)
                else:
                    yield outcome
    except RejectedError as exc:
        _stopped(dead, exc)


def _stopped(dead: _common.DeadLetters, exc: RejectedError) -> None:
    if isinstance(exc.reject, Reject):
        dead.write(exc.reject)
    else:  # pragma: no cover - the reader always raises with a Reject
        dead.rejected = True
    _common.strict_stop(exc.message)


def run(args: argparse.Namespace) -> int:
    """Run ``convert``; returns the exit status."""
    schema = _common.load_schema(args.schema)
    reader = _common.reader_of(args, schema)
    if args.format == "parquet" and (args.output is None or args.output == "-"):
        raise _common.UsageError("--format parquet needs -o OUT.parquet")
    if args.chunk_rows < 1:
        raise _common.UsageError("--chunk-rows must be positive")
    if schema is not None and schema.is_batch and args.batch_id is None:
        raise _common.UsageError(
            "the model is a batch model: Arthur needs --batch-id for its inferences"
        )
    calls = reader.iter_calls(*args.files)
    with _common.open_out(args.rejects) if args.rejects else contextlib.nullcontext(None) as handle:
        dead = _common.DeadLetters(handle)
        if args.format == "parquet":
            from arthur_capture.sinks.parquet import write_parquet  # noqa: PLC0415

            try:
                files = write_parquet(
                    _records(calls, dead),
                    args.output,
                    schema=schema,
                    batch_id=args.batch_id,
                    chunk_rows=args.chunk_rows,
                )
            except ParquetError as exc:
                raise _common.UsageError(exc.message) from exc
            except OSError as exc:
                raise _common.UsageError(
                    f"cannot write {args.output}: {exc.strerror or exc}"
                ) from exc
            print(f"wrote {len(files)} Parquet file(s)", file=sys.stderr)
        else:
            with (
                _common.open_out(args.output) as out,
                InferenceWriter(out, format=args.format, batch_id=args.batch_id) as writer,
            ):
                try:
                    for item in calls:
                        if isinstance(item, Reject):
                            dead.write(item)
                        elif item.outcomes is None:  # the lean path: the call straight to JSON
                            for data in call_json(item, batch_id=args.batch_id):
                                writer.write_json(data)
                        else:
                            for outcome in item.outcomes:
                                if isinstance(outcome, Reject):
                                    dead.write(outcome)
                                else:
                                    writer.write(outcome)
                except RejectedError as exc:
                    _stopped(dead, exc)
    if args.summary:
        try:
            with open(args.summary, "wb") as handle:  # noqa: PTH123
                handle.write(dumps_json(calls.ledger.to_dict()) + b"\n")
        except OSError as exc:
            raise _common.UsageError(f"cannot write {args.summary}: {exc.strerror or exc}") from exc
    print(_common.summary_line(calls.ledger), file=sys.stderr)
    return _common.EXIT_REJECTS if dead.rejected else _common.EXIT_OK
