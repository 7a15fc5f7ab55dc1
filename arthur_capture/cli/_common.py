"""What the commands share: usage errors, the reading options, the counts, the outputs."""

from __future__ import annotations

import argparse
import contextlib
import sys
from typing import IO, TYPE_CHECKING, Any, Final

from arthur_capture._json import dumps_json
from arthur_capture.decoders import DEFAULT_MAX_DEPTH, MAX_DEPTH_LIMIT
from arthur_capture.errors import SchemaError
from arthur_capture.reading import DEFAULT_MAX_LINE_BYTES, CaptureReader, Ledger

if TYPE_CHECKING:
    from arthur_capture.arthur.schema import ModelSchema
    from arthur_capture.records import Reject

__all__ = [
    "EXIT_OK",
    "EXIT_REJECTS",
    "EXIT_USAGE",
    "DeadLetters",
    "UsageError",
    "common_parser",
    "load_schema",
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


class UsageError(Exception):
    """A problem with the command line or the files named on it."""


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
    common.add_argument("files", nargs="+", metavar="FILE", help="capture files (.jsonl, or gzip)")
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
        "--schema",
        metavar="MODEL.json",
        help="Arthur model (GET /api/v3/models/{id}?expand=attributes) or its attribute list: "
        "map values onto its attributes and reject inferences that do not fit",
    )
    return common


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
        sniff=args.sniff,
        content_types=dict(args.content_type),
    )


def open_out(path: str | None) -> contextlib.AbstractContextManager[IO[bytes]]:
    """The binary output named ``path`` (stdout for ``None`` or ``-``).

    Raises:
        UsageError: It cannot be opened for writing.
    """
    if path is None or path == "-":
        return contextlib.nullcontext(sys.stdout.buffer)
    try:
        return open(path, "wb")  # noqa: PTH123 - returned as a context manager
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from exc


def summary_line(ledger: Ledger) -> str:
    """The ledger in one line, as every command prints it."""
    reasons = ", ".join(f"{k}={v}" for k, v in sorted(ledger.rejects_by_reason.items()))
    text = (
        f"{ledger.lines} lines: {ledger.events} events, {ledger.blank_lines} blank, "
        f"{ledger.rejected_lines} rejected; {ledger.records} records"
    )
    if ledger.rejected_inferences:
        text += f", {ledger.rejected_inferences} inferences rejected"
    if reasons:
        text += f" (rejects: {reasons})"
    return text


def strict_stop(message: str) -> None:
    """Say on stderr that ``--strict`` stopped the run."""
    print(f"arthur-capture: stopped (--strict): {message}", file=sys.stderr)


class DeadLetters:
    """Writes rejects to a dead-letter file as JSON lines (or only notes that there were some)."""

    __slots__ = ("_out", "rejected")

    def __init__(self, out: IO[bytes] | None) -> None:
        """Write to ``out``, or nowhere."""
        self._out = out
        self.rejected = False
        """Whether a reject was seen."""

    def write(self, reject: Reject) -> None:
        """Record one reject."""
        self.rejected = True
        if self._out is not None:
            self._out.write(dumps_json(reject.to_dict()) + b"\n")
