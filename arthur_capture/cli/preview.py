"""``arthur-capture preview``: the first records as a table, the ledger and the first rejects."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Final

from arthur_capture.cli import _common
from arthur_capture.errors import RejectedError
from arthur_capture.records import InferenceRecord, Reject

if TYPE_CHECKING:
    import argparse

__all__ = ["HELP", "configure", "run"]


HELP: Final = "print the first records as a table and the ledger"
"""The one-line help of ``preview``."""

_REJECTS_SHOWN: Final = 5
"""How many rejects ``preview`` describes; the others are only counted."""


def configure(parser: argparse.ArgumentParser) -> None:
    """``preview`` shows ``--limit`` records."""
    parser.add_argument(
        "-n", "--limit", type=int, default=10, help="records to show (default: %(default)s)"
    )


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


def run(args: argparse.Namespace) -> int:
    """Run ``preview``; returns the exit status."""
    if args.limit < 0:
        raise _common.UsageError("--limit must not be negative")
    reader = _common.reader_of(args, _common.load_schema(args.schema))
    stream = reader.iter_records(*_common.input_sources(args))
    ledger = stream.ledger
    shown: list[InferenceRecord] = []
    first_rejects: list[str] = []  # what is shown of the first rejects, never their bytes
    rejected = 0
    try:
        for item in stream:
            if isinstance(item, Reject):
                rejected += 1
                if len(first_rejects) < _REJECTS_SHOWN:
                    first_rejects.append(
                        f"  rejected {item.source}:{item.line_number} {item.reason}: {item.message}"
                    )
            elif len(shown) < args.limit:
                shown.append(item)
    except RejectedError as exc:
        _common.strict_stop(exc.message)
        return _common.EXIT_REJECTS
    out = sys.stdout
    if shown:
        for line in _table(shown):
            print(line, file=out)
        if ledger.records > len(shown):
            print(f"… {ledger.records - len(shown)} more record(s)", file=out)
    else:
        print("(no records)", file=out)
    print(file=out)
    print(_common.summary_line(ledger), file=out)
    for line in first_rejects:
        print(line, file=out)
    if rejected > len(first_rejects):
        print(f"  … {rejected - len(first_rejects)} more reject(s)", file=out)
    return _common.EXIT_REJECTS if rejected else _common.EXIT_OK
