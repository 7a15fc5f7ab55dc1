"""``arthur-capture validate``: a dry run against a model schema, failures by reason."""

from __future__ import annotations

import sys
from collections import Counter
from typing import TYPE_CHECKING, Final

from arthur_capture.cli import _common, _progress
from arthur_capture.errors import RejectedError
from arthur_capture.records import InferenceRecord, Reject

if TYPE_CHECKING:
    import argparse
    from collections.abc import Iterable

__all__ = ["HELP", "configure", "run"]


HELP: Final = "dry run: count the inferences that would fail, by reason, with examples"
"""The one-line help of ``validate``."""


def configure(parser: argparse.ArgumentParser) -> None:
    """``validate`` shows ``--examples`` per reason."""
    parser.add_argument(
        "--examples", type=int, default=3, metavar="N", help="examples per reason (default: 3)"
    )


def _examples(
    stream: Iterable[InferenceRecord | Reject],
    limit: int,
    examples: dict[str, list[Reject]],
    failed: Counter[str],
) -> str | None:
    """Count the rejects by reason, keeping ``limit`` examples of each; ``--strict``'s stop."""
    try:
        for item in stream:
            if isinstance(item, Reject):
                reason = str(item.reason)
                # a line-level reject stands for every inference in it, however many
                failed[reason] += 1
                shown = examples.setdefault(reason, [])
                if len(shown) < limit:
                    shown.append(item)
    except RejectedError as exc:
        return exc.message
    return None


def run(args: argparse.Namespace) -> int:
    """Run ``validate``; returns the exit status."""
    if args.schema is None:
        raise _common.UsageError("validate needs --schema MODEL.json")
    if args.examples < 0:
        raise _common.UsageError("--examples must not be negative")
    reader = _common.reader_of(args, _common.load_schema(args.schema))
    sources = _common.input_sources(args)
    examples: dict[str, list[Reject]] = {}
    inferences_failed: Counter[str] = Counter()
    with _progress.tracking("validate", args.files, sources) as bar:
        stream = reader.iter_records(*bar.sources(sources))
        ledger = stream.ledger
        stopped = _examples(stream, args.examples, examples, inferences_failed)
    if stopped is not None:
        _common.strict_stop(stopped)
        return _common.EXIT_REJECTS
    out = sys.stdout
    # the counts as every command words them, then each reason (most frequent first) with
    # its first examples
    print(_common.summary_line(ledger), file=out)
    for reason, count in sorted(inferences_failed.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"  {reason}: {count}", file=out)
        for reject in examples[reason]:
            where = f"{reject.source}:{reject.line_number}"
            print(f"    {where}: {reject.message}", file=out)
    return _common.EXIT_REJECTS if inferences_failed else _common.EXIT_OK
