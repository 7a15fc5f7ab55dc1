"""``arthur-capture convert``: write Arthur inference objects as JSON lines, JSON or Parquet.

Its files (``-o``, ``--rejects``, ``--summary``, Parquet chunks) are written under temporary
names and put in place together at the end: on an error or a signal, none of them changes.
An output that is an input, or another output, is refused before anything is written.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Final, Protocol

from arthur_capture.cli import _common, _jobs, _outputs, _progress
from arthur_capture.errors import CaptureError, ParquetError, RejectedError
from arthur_capture.records import Call, InferenceRecord, Reject
from arthur_capture.sinks.jsonl import InferenceWriter, call_json

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Iterable, Iterator
    from typing import IO

    from arthur_capture.arthur.schema import ModelSchema
    from arthur_capture.reading import Ledger

__all__ = ["HELP", "configure", "run", "uses_stdout", "write_calls"]


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
    parser.add_argument(
        "--jobs",
        type=int,
        default=None,
        metavar="N",
        help="convert one uncompressed local file in N processes, the output unchanged "
        "(JSON lines and JSON; default: every usable core for a file of "
        f"{_jobs.SPLIT_THRESHOLD // (1024 * 1024)} MiB or more, else 1; gzip, stdin, S3, "
        "several files, --strict, --reject-duplicates and Parquet always run in one)",
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


def uses_stdout(args: argparse.Namespace) -> bool:
    """Whether ``convert`` writes to stdout with these arguments."""
    return args.output is None or _outputs.STDOUT in (args.output, args.rejects)


def _check_outputs(args: argparse.Namespace) -> None:
    """Refuse an output that is an input or another output (before anything is opened)."""
    outputs = [("-o", args.output)]
    families = []
    if args.format == "parquet":
        from arthur_capture.sinks.parquet import chunk_pattern  # noqa: PLC0415

        families.append(("-o", args.output, chunk_pattern(args.output)))
    if args.rejects:
        outputs.append(("--rejects", args.rejects))
    if args.summary:  # always a file: `--summary -` names a file called "-"
        outputs.append(("--summary", f"./{args.summary}" if args.summary == "-" else args.summary))
    _outputs.check_outputs(_common.local_inputs(args.files), outputs, families=families)


def run(args: argparse.Namespace) -> int:
    """Run ``convert``; returns the exit status."""
    schema = _common.load_schema(args.schema)
    reader = _common.reader_of(args, schema)
    if args.format == "parquet" and (args.output is None or args.output == "-"):
        raise _common.UsageError("--format parquet needs -o OUT.parquet")
    if args.chunk_rows < 1:
        raise _common.UsageError("--chunk-rows must be positive")
    if args.jobs is not None and args.jobs < 1:
        raise _common.UsageError("--jobs must be positive")
    if schema is not None and schema.is_batch and args.batch_id is None:
        raise _common.UsageError(
            "the model is a batch model: Arthur needs --batch-id for its inferences"
        )
    _check_outputs(args)
    sources = _common.input_sources(args)
    with (
        _outputs.Outputs() as outputs,
        _jobs.parallel(args) as split,
        _progress.tracking("convert", args.files, sources, writes_stdout=uses_stdout(args)) as bar,
    ):
        calls = reader.iter_calls(*bar.sources(sources))
        ledger: Ledger = calls.ledger
        writer: InferenceWriter | None = None
        if args.format == "parquet":
            target = Path(args.output)
            if target.is_file() or not target.exists():  # else (a device...) written in place
                outputs.promise(f"{args.output} (or its chunk files)")
        else:
            out = outputs.open(args.output, lambda: writer is not None and writer.count > 0)
            writer = InferenceWriter(out, format=args.format, batch_id=args.batch_id)
        rejects = outputs.open(args.rejects, lambda: dead.rejected) if args.rejects else None
        dead = _common.DeadLetters(rejects, args.rejects)
        summary = outputs.file(args.summary) if args.summary else None
        if writer is None:
            files = _parquet(args, calls, dead, outputs, schema)
        elif split is not None:
            ledger = _split(args, split, out, writer, rejects, dead, bar.advance)
        else:
            _json(args, calls, dead, writer)
        if summary is not None:
            _common.write_summary(summary, args.summary, ledger.to_dict())
        outputs.commit()
    if writer is None:
        print(f"wrote {_common.counted(len(files), 'Parquet file')}", file=sys.stderr)
    print(_common.summary_line(ledger), file=sys.stderr)
    return _common.EXIT_REJECTS if dead.rejected else _common.EXIT_OK


def _parquet(
    args: argparse.Namespace,
    calls: Iterable[Call | Reject],
    dead: _common.DeadLetters,
    outputs: _outputs.Outputs,
    schema: ModelSchema | None,
) -> list[Path]:
    """The records as Parquet files, staged with the other outputs."""
    from arthur_capture.sinks.parquet import stage_parquet  # noqa: PLC0415

    try:
        return stage_parquet(
            _records(calls, dead),
            args.output,
            outputs.staging,
            schema=schema,
            batch_id=args.batch_id,
            chunk_rows=args.chunk_rows,
        )
    except ParquetError as exc:
        raise _common.UsageError(exc.message) from exc
    except (CaptureError, BrokenPipeError):  # a source that cannot be read; --rejects -
        raise
    except OSError as exc:
        raise _common.cannot_write(args.output, exc) from exc


class Writer(Protocol):
    """Where :func:`write_calls` writes records (an :class:`InferenceWriter`, a worker's part)."""

    def write(self, record: InferenceRecord) -> None:
        """Write one record."""
        ...

    def write_json(self, data: bytes) -> None:
        """Write one ``NewInference`` object already serialised."""
        ...


def write_calls(
    calls: Iterable[Call | Reject],
    dead: _common.DeadLetters,
    writer: Writer,
    batch_id: str | None,
) -> None:
    """The records of the calls to ``writer``, rejects to ``dead``; ``--strict`` stops cleanly."""
    try:
        for item in calls:
            if isinstance(item, Reject):
                dead.write(item)
            elif item.outcomes is None:  # the lean path: the call straight to JSON
                for data in call_json(item, batch_id=batch_id):
                    writer.write_json(data)
            else:
                for outcome in item.outcomes:
                    if isinstance(outcome, Reject):
                        dead.write(outcome)
                    else:
                        writer.write(outcome)
    except RejectedError as exc:
        _stopped(dead, exc)


def _json(
    args: argparse.Namespace,
    calls: Iterable[Call | Reject],
    dead: _common.DeadLetters,
    writer: InferenceWriter,
) -> None:
    """The records as JSON lines or one JSON array, to ``-o`` or stdout."""
    try:
        write_calls(calls, dead, writer, args.batch_id)
        # only a complete output gets its end (a JSON array its `]`): not after an error or a
        # signal, so that a cut array never looks whole
        writer.close()
    except (CaptureError, BrokenPipeError):  # a source that cannot be read; a closed pipe
        raise
    except OSError as exc:
        raise _common.cannot_write(args.output, exc) from exc


def _split(
    args: argparse.Namespace,
    split: _jobs.Parallel,
    out: IO[bytes],
    writer: InferenceWriter,
    rejects: IO[bytes] | None,
    dead: _common.DeadLetters,
    progress: Callable[[int], None],
) -> Ledger:
    """``--jobs``: the parts of the file converted by the workers, copied out in input order."""
    try:
        return split.convert(
            out,
            json_array=args.format == "json",
            writer=writer,
            rejects=rejects,
            rejects_name=args.rejects,
            dead=dead,
            progress=progress,
        )
    except (CaptureError, BrokenPipeError, _common.UsageError):
        raise
    except OSError as exc:  # out or rejects: the file written last failed
        raise _common.cannot_write(args.output, exc) from exc
