"""What the commands share: usage errors, the reading options, the counts, the outputs.

Files are written through :mod:`._outputs` (temporary file, renamed over the target on success).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from typing import IO, TYPE_CHECKING, Any, Final

from arthur_capture._json import dumps_json
from arthur_capture.decoders import DEFAULT_MAX_DEPTH, MAX_DEPTH_LIMIT
from arthur_capture.errors import CaptureError, SchemaError
from arthur_capture.reading import (
    DEFAULT_MAX_BLANK_LINES,
    DEFAULT_MAX_INFERENCES_PER_CALL,
    DEFAULT_MAX_LINE_BYTES,
    CaptureReader,
    Ledger,
    Named,
)
from arthur_capture.storage._atomic import AtomicFile

if TYPE_CHECKING:
    from collections.abc import Iterator

    from arthur_capture.arthur.schema import ModelSchema
    from arthur_capture.reading import Source
    from arthur_capture.records import Reject

__all__ = [
    "EXIT_OK",
    "EXIT_REJECTS",
    "EXIT_USAGE",
    "DeadLetters",
    "OutputError",
    "UsageError",
    "cannot_write",
    "common_parser",
    "counted",
    "input_sources",
    "load_schema",
    "local_inputs",
    "open_out",
    "reader_of",
    "strict_stop",
    "summary_line",
]

EXIT_OK: Final = 0
"""Nothing was rejected."""
EXIT_REJECTS: Final = 1
"""Something was rejected (the good records were still written)."""
EXIT_USAGE: Final = 2
"""A usage or I/O error."""
STDIN: Final = "-"
"""How ``FILE`` names standard input."""
STDIN_NAME: Final = "<stdin>"
"""The source name of standard input's records and rejects."""
_STDIN_MARK: Final = object()


class UsageError(Exception):
    """A problem with the command line or the files named on it."""


class OutputError(UsageError):
    """An output cannot be written: a full disk, a closed or full stdout, a missing directory."""

    def __init__(self, message: str, *, stdout: bool = False) -> None:
        """The sentence, and whether it is about stdout."""
        super().__init__(message)
        self.stdout = stdout
        """Whether stdout failed (nothing more should be written to it)."""


def cannot_write(target: str | None, exc: OSError) -> OutputError:
    """The one sentence for a failed write to ``target`` (``None`` or ``-``: stdout)."""
    if target is None or target == "-":
        return OutputError(f"cannot write to stdout: {exc.strerror or exc}", stdout=True)
    return OutputError(f"cannot write {target}: {exc.strerror or exc}")


def write_summary(summary: IO[bytes], target: str | None, document: dict[str, Any]) -> None:
    """Write ``--summary``'s JSON object (one line) to ``summary``, the file named ``target``.

    Raises:
        OutputError: It cannot be written (one sentence, :func:`cannot_write`).
    """
    try:
        summary.write(dumps_json(document) + b"\n")
    except OSError as exc:
        raise cannot_write(target, exc) from exc


class Parser(argparse.ArgumentParser):
    """An argument parser that raises :class:`UsageError` instead of exiting."""

    def error(self, message: str) -> Any:
        """Raise the parser's complaint as a usage error."""
        raise UsageError(message)


def _content_type_pair(text: str) -> tuple[str, str]:
    old, eq, new = text.partition("=")
    if not eq or not old.strip() or not new.strip():
        msg = f"expected OLD=NEW, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return old.strip(), new.strip()


def common_parser() -> Parser:
    """The reading options every command takes (``FILE...``, ``--sniff``, ``--schema``…)."""
    common = Parser(add_help=False)
    common.add_argument(
        "files",
        nargs="+",
        metavar="FILE",
        help="capture files (.jsonl, or gzip), s3://bucket/prefix (its .jsonl and .jsonl.gz "
        "objects) or s3://bucket/key.jsonl, or - for standard input",
    )
    common.add_argument(
        "--sniff",
        action="store_true",
        help="when a content type has no decoder, try JSON, then JSON Lines, then CSV",
    )
    common.add_argument(
        "--content-type",
        action="append",
        type=_content_type_pair,
        default=[],
        metavar="OLD=NEW",
        help="decode content type OLD as NEW (e.g. text/html=application/json); repeatable",
    )
    common.add_argument(
        "--csv-header",
        action="store_true",
        help="read the first row of every CSV body as column names",
    )
    common.add_argument(
        "--max-line-bytes",
        type=int,
        default=DEFAULT_MAX_LINE_BYTES,
        metavar="N",
        help="reject longer lines as line_too_large (default: %(default)s)",
    )
    common.add_argument(
        "--max-inferences",
        type=int,
        default=DEFAULT_MAX_INFERENCES_PER_CALL,
        metavar="N",
        help="reject a call whose request or response holds more inferences as "
        "too_many_inferences (default: %(default)s)",
    )
    common.add_argument(
        "--max-blank-lines",
        type=int,
        default=DEFAULT_MAX_BLANK_LINES,
        metavar="N",
        help="after N blank lines in a row, reject the next as too_many_blank_lines and skip "
        "the rest of that file (default: %(default)s)",
    )
    common.add_argument(
        "--max-depth",
        type=int,
        default=DEFAULT_MAX_DEPTH,
        metavar="N",
        help="reject JSON values nesting deeper as nesting_too_deep "
        f"(default: %(default)s, at most {MAX_DEPTH_LIMIT})",
    )
    common.add_argument(
        "--strict", action="store_true", help="stop at the first reject (exit status 1)"
    )
    common.add_argument(
        "--reject-non-finite",
        action="store_true",
        help="reject a call whose JSON payload holds NaN, Infinity, -Infinity or a number "
        "overflowing to infinity as non_finite_number (default: read them as null and count "
        "them, non_finite_values in the summary)",
    )
    common.add_argument(
        "--reject-duplicates",
        action="store_true",
        help="reject each inference whose partner inference ID was already read in this run "
        "as duplicate_partner_id, keeping the first (default: count them, "
        "duplicate_partner_ids in the summary)",
    )
    common.add_argument(
        "--schema",
        metavar="MODEL.json",
        help="Arthur model (GET /api/v3/models/{id}?expand=attributes) or its attribute list: "
        "map values onto its attributes and reject inferences that do not fit",
    )
    common.add_argument(
        "--only-endpoint",
        metavar="NAME",
        help="of an s3:// prefix, read only this endpoint's objects (SageMaker's key layout "
        "{prefix}/{endpoint}/{variant}/yyyy/mm/dd/hh/...; other keys are then left out)",
    )
    common.add_argument(
        "--only-variant",
        metavar="NAME",
        help="of an s3:// prefix, read only this variant's objects",
    )
    common.add_argument(
        "--since",
        metavar="TIME",
        help="of an s3:// prefix, read only hour folders ending after TIME "
        "(ISO 8601, UTC unless it has an offset; e.g. 2024-05-01T13:00)",
    )
    common.add_argument(
        "--until",
        metavar="TIME",
        help="of an s3:// prefix, read only hour folders starting before TIME",
    )
    return common


def input_sources(args: argparse.Namespace) -> list[Source]:
    """The sources the ``FILE`` arguments name, for the reader.

    ``-`` is standard input (once); ``s3://`` objects and prefixes are listed into lazily
    opened objects, selected by ``--only-endpoint``, ``--only-variant``, ``--since`` and
    ``--until``; paths are kept as they are.

    Raises:
        UsageError: ``-`` twice, a bad time, or a selection option without an ``s3://`` prefix.
        StorageError: A prefix cannot be listed or holds no selected capture object.
    """
    files: list[str] = list(args.files)
    selecting = any(
        getattr(args, name, None) is not None
        for name in ("only_endpoint", "only_variant", "since", "until")
    )
    if files.count(STDIN) > 1:
        raise UsageError("standard input (-) can be read only once")
    if STDIN in files and sys.stdin is None:
        raise UsageError("cannot read standard input (-): it is closed")
    if not any(f.startswith("s3://") for f in files):
        if selecting:
            raise UsageError(
                "--only-endpoint, --only-variant, --since and --until select among the "
                "objects of an s3:// prefix: give one"
            )
        return [Named(sys.stdin.buffer, STDIN_NAME) if f == STDIN else f for f in files]
    from arthur_capture.storage import expand_sources  # noqa: PLC0415

    try:
        expanded = expand_sources(
            [_STDIN_MARK if f == STDIN else f for f in files],
            endpoint=args.only_endpoint,
            variant=args.only_variant,
            since=args.since,
            until=args.until,
        )
    except ValueError as exc:
        if isinstance(exc, CaptureError):
            raise
        raise UsageError(str(exc)) from exc
    return [Named(sys.stdin.buffer, STDIN_NAME) if f is _STDIN_MARK else f for f in expanded]


def local_inputs(files: list[str]) -> list[str]:
    """The ``FILE`` arguments that are local files (not ``-``, not ``s3://``): same-file checks."""
    return [f for f in files if f != STDIN and not f.startswith("s3://")]


def load_schema(path: str | None) -> ModelSchema | None:
    """The model schema at ``path``, or ``None`` without one.

    Raises:
        UsageError: The file cannot be read or holds no usable schema.
    """
    if path is None:
        return None
    from arthur_capture.arthur.schema import ModelSchema  # noqa: PLC0415

    try:
        return ModelSchema.load(path)
    except SchemaError as exc:
        raise UsageError(exc.message) from exc


def reader_of(args: argparse.Namespace, schema: ModelSchema | None = None) -> CaptureReader:
    """A reader configured by the common options (and mapping onto ``schema``, if given).

    Raises:
        UsageError: An option is out of range.
    """
    if args.max_line_bytes < 1:
        raise UsageError("--max-line-bytes must be positive")
    if args.max_inferences < 1:
        raise UsageError("--max-inferences must be positive")
    if args.max_blank_lines < 0:
        raise UsageError("--max-blank-lines must not be negative")
    if not 0 <= args.max_depth <= MAX_DEPTH_LIMIT:
        raise UsageError(f"--max-depth must be between 0 and {MAX_DEPTH_LIMIT}")
    mapper = None
    if schema is not None:
        from arthur_capture.arthur.mapping import SchemaMapper  # noqa: PLC0415

        mapper = SchemaMapper(schema)
    return CaptureReader(
        max_depth=args.max_depth,
        csv_header=args.csv_header,
        mapper=mapper,
        strict=args.strict,
        max_line_bytes=args.max_line_bytes,
        max_inferences_per_call=args.max_inferences,
        max_blank_lines=args.max_blank_lines,
        sniff=args.sniff,
        content_types=dict(args.content_type),
        reject_non_finite=args.reject_non_finite,
        reject_duplicates=args.reject_duplicates,
    )


@contextlib.contextmanager
def open_out(path: str | None) -> Iterator[IO[bytes]]:
    """The binary output named ``path`` (stdout for ``None`` or ``-``), for a ``with`` block.

    A file is written under a temporary name beside it and renamed over ``path`` only when
    the block ends without an error; otherwise the temporary file is removed and ``path``
    keeps its old content. (Commands writing several files use :class:`._outputs.Outputs`,
    which puts them in place together.)

    Raises:
        OutputError: It cannot be opened or written (stdout is closed, the disk is full).
    """
    if path is None or path == "-":
        if sys.stdout is None:
            raise OutputError("cannot write to stdout: it is closed", stdout=True)
        yield sys.stdout.buffer
        return
    file = AtomicFile(path)
    try:
        handle = file.open()
    except OSError as exc:
        raise cannot_write(path, exc) from exc
    try:
        yield handle
        file.finish()
        file.replace()
    except OSError as exc:
        file.discard()
        if isinstance(exc, (CaptureError, BrokenPipeError)):  # a source, or stdout, failed
            raise
        raise cannot_write(path, exc) from exc  # a write in the block is taken to be to this file
    except BaseException:
        file.discard()
        raise


def counted(number: int, noun: str) -> str:
    """``number`` and ``noun``, plural unless the number is one (``1 line``, ``2 lines``)."""
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def summary_line(ledger: Ledger) -> str:
    """The ledger in one line: the one wording of the counts every command prints.

    ``LINES: EVENTS, BLANK, REJECTED LINES; RECORDS, REJECTED INFERENCES[; by reason: ...]``,
    for example ``10 lines: 8 events, 1 blank, 1 rejected; 6 records, 6 inferences rejected;
    by reason: invalid_json=1, invalid_value=5``. Every count is always there (the reasons only
    when something was rejected), so the line reads the same for every command and file.
    """
    text = (
        f"{counted(ledger.lines, 'line')}: {counted(ledger.events, 'event')}, "
        f"{ledger.blank_lines} blank, {ledger.rejected_lines} rejected; "
        f"{counted(ledger.records, 'record')}, "
        f"{counted(ledger.rejected_inferences, 'inference')} rejected"
    )
    if ledger.rejects_by_reason:
        reasons = ", ".join(f"{k}={v}" for k, v in sorted(ledger.rejects_by_reason.items()))
        text += f"; by reason: {reasons}"
    return text


def strict_stop(message: str) -> None:
    """Say on stderr that ``--strict`` stopped the run."""
    print(f"arthur-capture: stopped (--strict): {message}", file=sys.stderr)


class DeadLetters:
    """Writes rejects to a dead-letter file as JSON lines (or only notes that there were some)."""

    __slots__ = ("_name", "_out", "rejected")

    def __init__(self, out: IO[bytes] | None, name: str | None = None) -> None:
        """Write to ``out`` (named ``name`` in messages; ``None``: stdout), or nowhere."""
        self._out = out
        self._name = name
        self.rejected = False
        """Whether a reject was seen."""

    def write(self, reject: Reject) -> None:
        """Record one reject.

        Raises:
            OutputError: The dead-letter file cannot be written.
        """
        self.rejected = True
        if self._out is not None:
            try:
                self._out.write(dumps_json(reject.to_dict()) + b"\n")
            except BrokenPipeError:
                raise
            except OSError as exc:
                raise cannot_write(self._name, exc) from exc
