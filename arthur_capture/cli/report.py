"""``arthur-capture report``: one self-contained HTML page of what a capture holds and loses.

The page (:mod:`arthur_capture.report`) opens with no network. ``-o`` and ``--summary`` are
written under temporary names and put in place together at the end.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Final

from arthur_capture.cli import _common, _outputs
from arthur_capture.errors import SourceError

if TYPE_CHECKING:
    import argparse

__all__ = ["DESCRIPTION", "HELP", "configure", "run", "uses_stdout"]

HELP: Final = "write an HTML report of the captures: the ledger, rejects, volume, attributes"
"""The one-line help of ``report``."""

DESCRIPTION: Final = (
    "Read the captures once and write one self-contained HTML page (it opens with no network): "
    "the ledger with its verdict, rejects by reason with example lines, inferences per hour by "
    "endpoint and variant, content types and encodings, batch sizes, repeated partner IDs and, "
    "with --schema, a summary of every attribute and the attributes that failed mapping. FILE "
    "may be a capture file, a folder of them, an s3:// object or prefix, or - for stdin. "
    "Needs the report extra: pip install 'arthur-capture[report]'."
)
"""What ``report --help`` says."""


def configure(parser: argparse.ArgumentParser) -> None:
    """``report`` writes the page to ``-o`` and, with ``--summary``, the ledger as JSON."""
    parser.add_argument(
        "-o", "--output", metavar="REPORT.html", required=True, help="the HTML page (- for stdout)"
    )
    parser.add_argument("--summary", metavar="SUMMARY.json", help="write the ledger as JSON")
    parser.add_argument(
        "--title", default="Capture report", metavar="TEXT", help="the page's title"
    )


def uses_stdout(args: argparse.Namespace) -> bool:
    """Whether ``report`` writes to stdout with these arguments."""
    return bool(args.output == _outputs.STDOUT)


def run(args: argparse.Namespace) -> int:
    """Run ``report``; returns the exit status."""
    from arthur_capture.report import CaptureStats, gather, local_folders  # noqa: PLC0415
    from arthur_capture.report._charts import javascript  # noqa: PLC0415
    from arthur_capture.report._page import render_page  # noqa: PLC0415

    schema = _common.load_schema(args.schema)
    reader = _common.reader_of(args, schema)
    outputs_given = [("-o", args.output)]
    if args.summary:
        outputs_given.append(("--summary", args.summary))
    _outputs.check_outputs(_common.local_inputs(args.files), outputs_given)
    script = javascript()  # the report extra is there before anything is read
    try:
        sources = local_folders(_common.input_sources(args))
    except SourceError as exc:
        raise _common.UsageError(exc.message) from exc
    calls = reader.iter_calls(*sources)
    stats = CaptureStats(schema)
    stopped = gather(calls, stats)
    if stopped is not None:
        _common.strict_stop(stopped)
    ledger = calls.ledger
    page = render_page(stats, ledger, title=args.title, script=script, stopped=stopped)
    with _outputs.Outputs() as outputs:
        out = outputs.open(args.output, lambda: True)
        summary = outputs.file(args.summary) if args.summary else None
        try:
            out.write(page.encode("utf-8"))
        except OSError as exc:
            raise _common.cannot_write(args.output, exc) from exc
        if summary is not None:
            _common.write_summary(summary, args.summary, ledger.to_dict())
        outputs.commit()
    print(_common.summary_line(ledger), file=sys.stderr)
    rejected = stopped is not None or ledger.rejected_lines + ledger.rejected_inferences > 0
    return _common.EXIT_REJECTS if rejected else _common.EXIT_OK
