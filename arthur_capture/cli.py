"""The ``arthur-capture`` command: preview and convert capture files.

Exit status: 0 when nothing was rejected, 1 when something was (good records are
still written), 2 for usage and I/O errors. Errors go to stderr as one sentence.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections import Counter
from typing import IO, TYPE_CHECKING, Any, TypeVar

from arthur_capture._upload_cli import add_upload_parser, run_upload
from arthur_capture.decoders import DecoderRegistry, default_registry
from arthur_capture.decoders.text_csv import CSVDecoder
from arthur_capture.errors import CaptureError, RejectedError
from arthur_capture.output import InferenceWriter, dumps_json, expansion_json
from arthur_capture.reading import (
    DEFAULT_MAX_DEPTH,
    DEFAULT_MAX_LINE_BYTES,
    MAX_DEPTH_LIMIT,
    CaptureReader,
    Ledger,
    Reject,
    SourceLine,
)
from arthur_capture.records import Expansion, InferenceRecord
from arthur_capture.schema import ModelSchema, SchemaError

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence


__all__ = ["main"]

_T = TypeVar("_T")

EXIT_OK = 0
EXIT_REJECTS = 1
EXIT_USAGE = 2


class _UsageError(Exception):
    """A problem with the command line or the files named on it."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:
        raise _UsageError(message)


def _content_type_pair(text: str) -> tuple[str, str]:
    old, eq, new = text.partition("=")
    if not eq or not old.strip() or not new.strip():
        msg = f"expected OLD=NEW, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return old.strip(), new.strip()


def _build_parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
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

    parser = _Parser(
        prog="arthur-capture",
        description="Turn SageMaker Data Capture files into Arthur inference records.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    preview = commands.add_parser(
        "preview", parents=[common], help="print the first records as a table and the ledger"
    )
    preview.add_argument(
        "-n", "--limit", type=int, default=10, help="records to show (default: %(default)s)"
    )
    convert = commands.add_parser(
        "convert", parents=[common], help="write Arthur inference objects as JSON lines"
    )
    convert.add_argument("-o", "--output", metavar="OUT", help="output file (default: stdout)")
    convert.add_argument("--rejects", metavar="REJECTS.jsonl", help="dead-letter file for rejects")
    convert.add_argument("--summary", metavar="SUMMARY.json", help="write the ledger as JSON")
    convert.add_argument(
        "--format",
        choices=("jsonl", "json", "parquet"),
        default="jsonl",
        help="JSON lines (default), one JSON array (POST /inferences), or Parquet files "
        "(/inferences/file; needs -o and pyarrow)",
    )
    convert.add_argument(
        "--batch-id", metavar="ID", help="batch_id for every inference (batch models)"
    )
    convert.add_argument(
        "--chunk-rows",
        type=int,
        default=500_000,
        metavar="N",
        help="Parquet rows per file (default: %(default)s)",
    )
    validate = commands.add_parser(
        "validate",
        parents=[common],
        help="dry run: count the inferences that would fail, by reason, with examples",
    )
    validate.add_argument(
        "--examples", type=int, default=3, metavar="N", help="examples per reason (default: 3)"
    )
    add_upload_parser(commands, common)
    return parser


def _load_schema(path: str | None) -> ModelSchema | None:
    if path is None:
        return None
    try:
        with open(path, "rb") as handle:  # noqa: PTH123
            data = handle.read()
    except OSError as exc:
        raise _UsageError(f"cannot read {path}: {exc.strerror or exc}") from exc
    try:
        return ModelSchema.from_json(data)
    except SchemaError as exc:
        raise _UsageError(f"{path}: {exc.message}") from exc


def _version() -> str:
    from arthur_capture import __version__  # noqa: PLC0415

    return __version__


def _reader(args: argparse.Namespace) -> CaptureReader:
    if args.max_line_bytes < 1:
        raise _UsageError("--max-line-bytes must be positive")
    if not 0 <= args.max_depth <= MAX_DEPTH_LIMIT:
        raise _UsageError(f"--max-depth must be between 0 and {MAX_DEPTH_LIMIT}")
    schema = _load_schema(args.schema)
    registry: DecoderRegistry = default_registry(max_depth=args.max_depth)
    if args.csv_header or schema is not None:
        csv_decoder = CSVDecoder(header=args.csv_header, infer_types=schema is None)
        registry.register(csv_decoder, replace=True)
    return CaptureReader(
        registry=registry,
        schema=schema,
        strict=args.strict,
        max_line_bytes=args.max_line_bytes,
        sniff=args.sniff,
        content_types=dict(args.content_type),
    )


def _items(
    reader: CaptureReader, files: Sequence[str], ledger: Ledger
) -> Iterator[InferenceRecord | Reject]:
    for path in files:
        yield from reader.iter_source(path, ledger=ledger)


def _open_out(path: str | None) -> contextlib.AbstractContextManager[IO[bytes]]:
    if path is None or path == "-":
        return contextlib.nullcontext(sys.stdout.buffer)
    try:
        return open(path, "wb")  # noqa: PTH123 - returned as a context manager
    except OSError as exc:
        raise _UsageError(f"cannot write {path}: {exc.strerror or exc}") from exc


def _summary_line(ledger: Ledger) -> str:
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


def _without_rejects(
    items: Iterator[_T | Reject], dead: IO[bytes] | None, state: dict[str, bool]
) -> Iterator[_T]:
    try:
        for item in items:
            if isinstance(item, Reject):
                state["rejected"] = True
                if dead is not None:
                    dead.write(dumps_json(item.to_dict()) + b"\n")
            else:
                yield item
    except RejectedError as exc:
        state["rejected"] = True
        if dead is not None and isinstance(exc.reject, Reject):
            dead.write(dumps_json(exc.reject.to_dict()) + b"\n")
        print(f"arthur-capture: stopped (--strict): {exc.message}", file=sys.stderr)


def _convert(args: argparse.Namespace) -> int:
    reader = _reader(args)
    if args.format == "parquet" and (args.output is None or args.output == "-"):
        raise _UsageError("--format parquet needs -o OUT.parquet")
    if args.chunk_rows < 1:
        raise _UsageError("--chunk-rows must be positive")
    if reader.schema is not None and reader.schema.is_batch and args.batch_id is None:
        raise _UsageError("the model is a batch model: Arthur needs --batch-id for its inferences")
    ledger = Ledger()
    state = {"rejected": False}
    with _open_out(args.rejects) if args.rejects else contextlib.nullcontext(None) as dead:
        if args.format == "parquet":
            records = _without_rejects(_items(reader, args.files, ledger), dead, state)
            from arthur_capture.parquet import ParquetError, write_parquet  # noqa: PLC0415

            try:
                files = write_parquet(
                    records,
                    args.output,
                    schema=reader.schema,
                    batch_id=args.batch_id,
                    chunk_rows=args.chunk_rows,
                )
            except ParquetError as exc:
                raise _UsageError(exc.message) from exc
            except OSError as exc:
                raise _UsageError(f"cannot write {args.output}: {exc.strerror or exc}") from exc
            print(f"wrote {len(files)} Parquet file(s)", file=sys.stderr)
        else:
            expanded: Iterator[tuple[Expansion, SourceLine] | InferenceRecord | Reject] = (
                item for path in args.files for item in reader.iter_expansions(path, ledger=ledger)
            )
            calls: Iterator[tuple[Expansion, SourceLine] | InferenceRecord]
            calls = _without_rejects(expanded, dead, state)
            with (
                _open_out(args.output) as out,
                InferenceWriter(out, format=args.format, batch_id=args.batch_id) as writer,
            ):
                # Whole calls go straight to JSON (the lean path); the rest through records.
                for item in calls:
                    if isinstance(item, InferenceRecord):
                        writer.write(item)
                    else:
                        for data in expansion_json(item[0], batch_id=args.batch_id):
                            writer.write_json(data)
    rejected = state["rejected"]
    if args.summary:
        try:
            with open(args.summary, "wb") as handle:  # noqa: PTH123
                handle.write(dumps_json(ledger.to_dict()) + b"\n")
        except OSError as exc:
            raise _UsageError(f"cannot write {args.summary}: {exc.strerror or exc}") from exc
    print(_summary_line(ledger), file=sys.stderr)
    return EXIT_REJECTS if rejected else EXIT_OK


def _cell(value: object, width: int = 18) -> str:
    text = "" if value is None else str(value)
    text = text.replace("\n", "\\n").replace("\r", "\\r")
    return text if len(text) <= width else text[: width - 1] + "…"


def _table(records: list[InferenceRecord], max_columns: int = 6) -> list[str]:
    names: dict[str, None] = {}
    for record in records:
        names.update(dict.fromkeys(record.inputs))
        names.update(dict.fromkeys(record.outputs))
    value_names = list(names)
    shown = value_names[:max_columns]
    if len(value_names) > max_columns:
        # Keep the outputs visible: show the first inputs and every output name up to the limit.
        outputs = [n for n in value_names if any(n in r.outputs for r in records)]
        inputs = [n for n in value_names if n not in outputs]
        keep = max(1, max_columns - len(outputs))
        shown = inputs[:keep] + outputs[: max_columns - keep]
    header = ["partner_inference_id", "inference_timestamp", *shown]
    rows = [
        [
            r.partner_inference_id,
            r.inference_timestamp.isoformat(),
            *[r.inputs.get(n, r.outputs.get(n)) for n in shown],
        ]
        for r in records
    ]
    cells = [[_cell(v, 40 if i < 2 else 18) for i, v in enumerate(row)] for row in [header, *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    if len(value_names) > len(shown):
        lines.append(f"({len(value_names) - len(shown)} more value column(s) not shown)")
    return lines


def _preview(args: argparse.Namespace) -> int:
    if args.limit < 0:
        raise _UsageError("--limit must not be negative")
    reader = _reader(args)
    ledger = Ledger()
    shown: list[InferenceRecord] = []
    rejects: list[Reject] = []
    try:
        for item in _items(reader, args.files, ledger):
            if isinstance(item, Reject):
                rejects.append(item)
            elif len(shown) < args.limit:
                shown.append(item)
    except RejectedError as exc:
        print(f"arthur-capture: stopped (--strict): {exc.message}", file=sys.stderr)
        return EXIT_REJECTS
    out = sys.stdout
    if shown:
        for line in _table(shown):
            print(line, file=out)
        if ledger.records > len(shown):
            print(f"… {ledger.records - len(shown)} more record(s)", file=out)
    else:
        print("(no records)", file=out)
    print(file=out)
    print(_summary_line(ledger), file=out)
    for reject in rejects[:5]:
        print(
            f"  rejected {reject.source}:{reject.line} {reject.reason}: {reject.message}", file=out
        )
    if len(rejects) > 5:
        print(f"  … {len(rejects) - 5} more reject(s)", file=out)
    return EXIT_REJECTS if rejects else EXIT_OK


def _validate(args: argparse.Namespace) -> int:
    if args.schema is None:
        raise _UsageError("validate needs --schema MODEL.json")
    if args.examples < 0:
        raise _UsageError("--examples must not be negative")
    reader = _reader(args)
    ledger = Ledger()
    examples: dict[str, list[Reject]] = {}
    inferences_failed: Counter[str] = Counter()
    try:
        for item in _items(reader, args.files, ledger):
            if isinstance(item, Reject):
                reason = str(item.reason)
                # a line-level reject stands for every inference in it, however many
                inferences_failed[reason] += 1
                shown = examples.setdefault(reason, [])
                if len(shown) < args.examples:
                    shown.append(item)
    except RejectedError as exc:
        print(f"arthur-capture: stopped (--strict): {exc.message}", file=sys.stderr)
        return EXIT_REJECTS
    out = sys.stdout
    print(
        f"{ledger.records} of {ledger.inferences} inference(s) in {ledger.events} event line(s) "
        f"fit the model; {ledger.rejected_inferences} inference(s) would be refused, "
        f"{ledger.rejected_lines} line(s) could not be read",
        file=out,
    )
    for reason, count in sorted(inferences_failed.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"  {reason}: {count}", file=out)
        for reject in examples[reason]:
            where = f"{reject.source}:{reject.line}"
            print(f"    {where}: {reject.message}", file=out)
    print(_summary_line(ledger), file=out)
    return EXIT_REJECTS if inferences_failed else EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command == "preview":
            return _preview(args)
        if args.command == "validate":
            return _validate(args)
        if args.command == "upload":
            return run_upload(args, _reader(args))
        return _convert(args)
    except _UsageError as exc:
        print(f"arthur-capture: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except CaptureError as exc:
        print(f"arthur-capture: {exc.message}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        with contextlib.suppress(OSError):
            sys.stdout = None  # type: ignore[assignment,unused-ignore]
        return EXIT_OK
    except KeyboardInterrupt:
        print("arthur-capture: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
