"""``arthur-capture check-triggers``: a bucket's notification rules, for overlaps and loops."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Final

from arthur_capture.aws.checks import check_triggers
from arthur_capture.cli import _common
from arthur_capture.cli.check_config import read_document

if TYPE_CHECKING:
    import argparse

__all__ = ["DESCRIPTION", "HELP", "configure", "run"]


HELP: Final = "check a bucket's notification rules for overlaps S3 refuses and for loops"
"""The one-line help of ``check-triggers``."""

DESCRIPTION: Final = (
    "Check a bucket notification configuration (aws s3api get-bucket-notification-configuration) "
    "for pairs of rules S3 refuses as overlapping: a shared event type (s3:ObjectCreated:* "
    "shares every s3:ObjectCreated:...), one prefix starting the other and one suffix ending "
    "the other (a missing prefix or suffix matches every key). With --output-prefix or "
    "--rejects-prefix, also for a trigger whose prefix holds that output (the function would "
    "trigger itself). Prints one line per overlapping pair or loop and exits 1; exits 0 when "
    "there is none."
)
"""The description ``check-triggers --help`` shows."""


def configure(parser: argparse.ArgumentParser) -> None:
    """``check-triggers`` takes one FILE and the prefixes the function writes to."""
    parser.add_argument("file", metavar="FILE", help="the configuration as JSON (-: stdin)")
    parser.add_argument(
        "--output-prefix",
        action="append",
        default=[],
        metavar="PREFIX",
        help="where the function writes (s3://bucket/prefix or a bare prefix); repeatable",
    )
    parser.add_argument(
        "--rejects-prefix",
        action="append",
        default=[],
        metavar="PREFIX",
        help="where the function writes rejected lines (as --output-prefix); repeatable",
    )
    parser.add_argument(
        "--bucket",
        metavar="NAME",
        help="the bucket the configuration belongs to: s3:// prefixes in other buckets cannot loop",
    )


def run(args: argparse.Namespace) -> int:
    """Run ``check-triggers``; returns the exit status."""
    doc = read_document(args.file)
    report = check_triggers(doc, [*args.output_prefix, *args.rejects_prefix], bucket=args.bucket)
    out = sys.stdout
    for overlap in report.overlaps:
        print(overlap, file=out)
    for loop in report.loops:
        print(loop, file=out)
    if not report.ok:
        return _common.EXIT_REJECTS
    print(f"ok: {len(report.triggers)} trigger(s), no overlap, no loop", file=out)
    return _common.EXIT_OK
