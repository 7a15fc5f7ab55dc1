"""``arthur-capture validate``: a dry run against a model schema, failures by reason."""

from __future__ import annotations

import sys
from collections import Counter
from typing import TYPE_CHECKING, Final

from arthur_capture.cli import _common
from arthur_capture.errors import RejectedError
from arthur_capture.records import Reject

if TYPE_CHECKING:
    import argparse

__all__ = ["HELP", "configure", "run"]


HELP: Final = "dry run: count the inferences that would fail, by reason, with examples"
"""The one-line help of ``validate``."""


def configure(parser: argparse.ArgumentParser) -> None:
    """``validate`` shows ``--examples`` per reason."""
    parser.add_argument(
        "--examples", type=int, default=3, metavar="N", help="examples per reason (default: 3)"
    )


def run(args: argparse.Namespace) -> int:
    """Run ``validate``; returns the exit status."""
    if args.schema is None:
        raise _common.UsageError("validate needs --schema MODEL.json")
    if args.examples < 0:
        raise _common.UsageError("--examples must not be negative")
    reader = _common.reader_of(args, _common.load_schema(args.schema))
    stream = reader.iter_records(*_common.input_sources(args))
    ledger = stream.ledger
    examples: dict[str, list[Reject]] = {}
    inferences_failed: Counter[str] = Counter()
    try:
        for item in stream:
            if isinstance(item, Reject):
                reason = str(item.reason)
                # a line-level reject stands for every inference in it, however many
                inferences_failed[reason] += 1
                shown = examples.setdefault(reason, [])
                if len(shown) < args.examples:
                    shown.append(item)
    except RejectedError as exc:
        _common.strict_stop(exc.message)
        return _common.EXIT_REJECTS
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
            where = f"{reject.source}:{reject.line_number}"
            print(f"    {where}: {reject.message}", file=out)
    print(_common.summary_line(ledger), file=out)
    return _common.EXIT_REJECTS if inferences_failed else _common.EXIT_OK
