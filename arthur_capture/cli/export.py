"""``arthur-capture export``: Arthur Engine datasets, hour folders of Parquet, to a folder or S3.

Writes ``OUT/{endpoint}/{variant}/%Y/%m/%d/%H/*.parquet`` and a locator per dataset
(:mod:`arthur_capture.sinks.engine`), then prints every locator as JSON on stdout: what to
enter when creating the dataset in Arthur. ``--rejects`` and ``--summary`` are written as
``convert`` writes them, under temporary names until the end.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, Final, cast

from arthur_capture._json import dumps_json
from arthur_capture.cli import _common, _outputs, _progress
from arthur_capture.errors import CaptureError, ExportError, ParquetError, RejectedError
from arthur_capture.records import Reject

if TYPE_CHECKING:
    import argparse

    from arthur_capture.arthur.ground_truth import GroundTruth
    from arthur_capture.reading import CaptureReader

__all__ = ["DESCRIPTION", "HELP", "configure", "run"]

HELP: Final = "write Arthur Engine datasets: hour folders of Parquet, to a folder or S3"
"""The one-line help of ``export``."""

DESCRIPTION: Final = (
    "Write the inferences as Parquet under OUT/{endpoint}/{variant}/%%Y/%%m/%%d/%%H/, one file "
    "per source and UTC hour, named after the source and a digest of its bytes (exporting a "
    "capture again replaces its files), and a locator per dataset (arthur-dataset.json: the "
    "file_prefix, file_suffix, data_file_type and timestamp_time_zone to enter in Arthur), "
    "printed on stdout. FILE may be a capture file, a folder of them, an s3:// object or "
    "prefix, or - for stdin; OUT a folder or s3://bucket/prefix."
)
"""What ``export --help`` says."""


def configure(parser: argparse.ArgumentParser) -> None:
    """``export`` writes to ``-o OUT`` (a folder or ``s3://``), with dead letters and a summary."""
    parser.add_argument(
        "-o", "--output", metavar="OUT", required=True, help="a folder or s3://bucket/prefix"
    )
    parser.add_argument(
        "--endpoint", metavar="NAME", help="the endpoint (default: from each SageMaker key)"
    )
    parser.add_argument(
        "--variant", metavar="NAME", help="the variant (default: from each SageMaker key)"
    )
    parser.add_argument(
        "--ground-truth",
        metavar="GT.jsonl",
        help="ground truth to join, as JSON lines of call_id, index, batch_size, timestamp, "
        "data; written as a second dataset under {endpoint}/{variant}/ground-truth/",
    )
    parser.add_argument("--rejects", metavar="REJECTS.jsonl", help="dead-letter file for rejects")
    parser.add_argument(
        "--summary", metavar="SUMMARY.json", help="write the ledger, files and locators as JSON"
    )
    parser.add_argument(
        "--chunk-rows",
        type=int,
        default=100_000,
        metavar="N",
        help="rows per Parquet file at most (default: %(default)s)",
    )


def _ground_truth(path: str) -> list[GroundTruth]:
    """The rows of a ground-truth JSON lines file.

    Raises:
        UsageError: The file cannot be read, or a line is not a ground-truth row.
    """
    import orjson  # noqa: PLC0415

    from arthur_capture.arthur.ground_truth import GroundTruth  # noqa: PLC0415

    try:
        with open(path, "rb") as handle:  # noqa: PTH123 - a path as the user typed it
            lines = handle.read().splitlines()
    except OSError as exc:
        raise _common.UsageError(f"cannot read {path}: {exc.strerror or exc}") from exc
    rows = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            data: Any = orjson.loads(line)
            rows.append(
                GroundTruth(
                    call_id=str(data["call_id"]),
                    timestamp=data["timestamp"],
                    data=dict(data["data"]),
                    index=data.get("index"),
                    batch_size=data.get("batch_size"),
                )
            )
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
            msg = (
                f"{path}, line {number}: not a ground-truth row ({type(exc).__name__}: {exc}); "
                'each line is {"call_id": ..., "index": ..., "timestamp": ..., "data": {...}}'
            )
            raise _common.UsageError(msg) from None
    return rows


def run(args: argparse.Namespace) -> int:
    """Run ``export``; returns the exit status."""
    from arthur_capture.sinks.engine import EngineExport, export_engine  # noqa: PLC0415

    schema = _common.load_schema(args.schema)
    reader = _common.reader_of(args, schema)
    if args.chunk_rows < 1:
        raise _common.UsageError("--chunk-rows must be positive")
    outputs_given = [("--rejects", args.rejects)]
    if args.summary:
        outputs_given.append(("--summary", args.summary))
    _outputs.check_outputs(_common.local_inputs(args.files), outputs_given)
    ground_truth = _ground_truth(args.ground_truth) if args.ground_truth else None
    sources = _common.input_sources(args)
    result: EngineExport | None = None
    with (
        _outputs.Outputs() as outputs,
        _progress.tracking("export", args.files, sources) as bar,
    ):
        dead = _common.DeadLetters(
            outputs.open(args.rejects, lambda: dead.rejected) if args.rejects else None,
            args.rejects,
        )
        summary = outputs.file(args.summary) if args.summary else None
        try:
            result = export_engine(
                *sources,
                out=args.output,
                schema=schema,
                endpoint=args.endpoint,
                variant=args.variant,
                ground_truth=ground_truth,
                ground_truth_name=args.ground_truth or "labels",
                chunk_rows=args.chunk_rows,
                on_reject=dead.write,
                reader=cast("CaptureReader", _progress.CountingReader(reader, bar))
                if bar.enabled
                else reader,
            )
        except RejectedError as exc:
            if isinstance(exc.reject, Reject):
                dead.write(exc.reject)
            _common.strict_stop(exc.message)
        except (ExportError, ParquetError) as exc:
            raise _common.UsageError(exc.message) from exc
        except CaptureError:
            raise
        if summary is not None and result is not None:
            _common.write_summary(summary, args.summary, result.summary())
        outputs.commit()
    if result is None:
        return _common.EXIT_REJECTS
    for locator in result.locators:
        sys.stdout.buffer.write(dumps_json(locator.to_dict()) + b"\n")
    print(
        f"wrote {_common.counted(len(result.files), 'Parquet file')} to {result.output}"
        + (f", removed {len(result.removed)} stale" if result.removed else ""),
        file=sys.stderr,
    )
    print(_common.summary_line(result.ledger), file=sys.stderr)
    for row, error in result.ground_truth_rejects:
        print(f"arthur-capture: ground truth {row.call_id!r}: {error.message}", file=sys.stderr)
    rejected = dead.rejected or bool(result.ground_truth_rejects)
    return _common.EXIT_REJECTS if rejected else _common.EXIT_OK
