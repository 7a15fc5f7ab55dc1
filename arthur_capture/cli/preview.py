"""``arthur-capture preview``: the first records as a table, the ledger and the first rejects.

The table is drawn by rich to the width :func:`._console.width_of` gives (``COLUMNS``, else the
terminal's, else 80: piped output is the same everywhere), with the ID, the timestamp and as
many value columns as fit (the outputs first), or those ``--columns`` names. Cells never wrap:
a value longer than its column ends in ``…``.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Final

from arthur_capture.cli import _common, _console
from arthur_capture.errors import RejectedError
from arthur_capture.records import InferenceRecord, Reject

if TYPE_CHECKING:
    import argparse

__all__ = ["HELP", "configure", "run"]


HELP: Final = "print the first records as a table and the ledger"
"""The one-line help of ``preview``."""

_REJECTS_SHOWN: Final = 5
"""How many rejects ``preview`` describes; the others are only counted."""


_FIXED_WIDTH: Final = 40
"""The widest the partner inference ID and the timestamp are drawn."""
_VALUE_WIDTH: Final = 18
"""The widest a value column is drawn (longer values end in ``…``)."""
_FIXED: Final = ("partner_inference_id", "inference_timestamp")


def configure(parser: argparse.ArgumentParser) -> None:
    """``preview`` shows ``--limit`` records, with the value columns that fit or ``--columns``."""
    parser.add_argument(
        "-n", "--limit", type=int, default=10, help="records to show (default: %(default)s)"
    )
    parser.add_argument(
        "--columns",
        metavar="A,B,C",
        help="the value columns to show, in this order (default: as many as fit the width: "
        "the outputs first, then the inputs; the width is $COLUMNS, else the terminal's, "
        "else 80)",
    )


def _columns(text: str | None) -> list[str] | None:
    """The names ``--columns`` gives, in order, each once (``None`` without the option).

    Raises:
        UsageError: It names nothing.
    """
    if text is None:
        return None
    names = list(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    if not names:
        raise _common.UsageError("--columns needs at least one column name, e.g. --columns a,b")
    return names


def _escaped(text: str) -> str:
    """``text`` with control characters as escapes (``\\n``, ``\\x1b``): no terminal codes."""
    if text.isprintable():
        return text
    out = []
    for char in text:
        if char.isprintable() or char == " ":
            out.append(char)
        elif char in "\n\r\t":
            out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t"}[char])
        else:
            out.append(f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}")
    return "".join(out)


def _value_names(records: list[InferenceRecord]) -> tuple[list[str], list[str]]:
    """The input and the output names of the records, in the order first seen."""
    inputs: dict[str, None] = {}
    outputs: dict[str, None] = {}
    for record in records:
        inputs.update(dict.fromkeys(record.inputs))
        outputs.update(dict.fromkeys(record.outputs))
    return [n for n in inputs if n not in outputs], list(outputs)


def _check_columns(chosen: list[str], records: list[InferenceRecord]) -> list[str]:
    """The value columns ``--columns`` names (the ID and the timestamp are always shown).

    Raises:
        UsageError: A name is not a value column of the records shown, naming those that are.
    """
    inputs, outputs = _value_names(records)
    known = inputs + outputs
    unknown = [n for n in chosen if n not in known and n not in _FIXED]
    if unknown:
        listed = ", ".join(known) if known else "(none)"
        raise _common.UsageError(
            f"--columns: no value column {', '.join(map(repr, unknown))} in the records shown; "
            f"known: {listed}"
        )
    return [n for n in chosen if n not in _FIXED]


def _texts(records: list[InferenceRecord], names: list[str]) -> list[list[str]]:
    """The cells of each record: ID, timestamp, then the named values."""
    return [
        [
            _escaped(r.partner_inference_id),
            r.inference_timestamp.isoformat(),
            *[
                _escaped("" if (v := r.inputs.get(n, r.outputs.get(n))) is None else str(v))
                for n in names
            ],
        ]
        for r in records
    ]


def _fitting(
    records: list[InferenceRecord], inputs: list[str], outputs: list[str], width: int
) -> list[str]:
    """As many value columns as fit ``width`` next to the ID and timestamp: outputs first.

    Columns are taken in turn (the outputs, then the inputs) until the next one would not fit;
    they are shown in the records' order (the inputs, then the outputs).
    """
    from rich.cells import cell_len  # noqa: PLC0415

    names = [*_FIXED, *inputs, *outputs]
    rows = _texts(records, names[len(_FIXED) :])

    def drawn(index: int) -> int:
        cap = _FIXED_WIDTH if index < len(_FIXED) else _VALUE_WIDTH
        return min(
            cap, max(cell_len(c) for c in [_escaped(names[index])] + [r[index] for r in rows])
        )

    used = sum(drawn(i) for i in range(len(_FIXED))) + len(_FIXED) - 1
    fits: set[str] = set()
    for name in outputs + inputs:
        need = 1 + drawn(names.index(name))
        if used + need > width:
            break
        used += need
        fits.add(name)
    return [n for n in inputs + outputs if n in fits]


def _table(
    records: list[InferenceRecord], width: int, chosen: list[str] | None
) -> tuple[object, list[str]]:
    """The rich table of the records, and the value columns left out."""
    from rich import box  # noqa: PLC0415
    from rich.table import Table  # noqa: PLC0415
    from rich.text import Text  # noqa: PLC0415

    inputs, outputs = _value_names(records)
    shown = chosen if chosen is not None else _fitting(records, inputs, outputs, width)
    hidden = [n for n in inputs + outputs if n not in shown]
    # a space between columns and a line of dashes under the header: plain text that reads
    # (and splits) the same on a terminal and in a file
    lines = box.Box("    \n    \n -  \n    \n    \n    \n    \n    \n", ascii=True)
    table = Table(
        box=lines,
        show_edge=False,
        pad_edge=False,
        padding=(0, 0),
        header_style="bold",
        expand=False,
    )
    for i, name in enumerate([*_FIXED, *shown]):
        table.add_column(
            _escaped(name),
            no_wrap=True,
            overflow="ellipsis",
            max_width=_FIXED_WIDTH if i < len(_FIXED) else _VALUE_WIDTH,
        )
    for row in _texts(records, shown):
        table.add_row(*(Text(cell) for cell in row))
    return table, hidden


def _hidden_line(hidden: list[str], width: int) -> str:
    """``(N more value columns: a, b, …; choose with --columns)``, cut to ``width``."""
    count = f"{len(hidden)} more value column{'' if len(hidden) == 1 else 's'}"
    end = "; choose with --columns)"
    names: list[str] = []
    for index, name in enumerate(hidden):
        more = ", …" if index < len(hidden) - 1 else ""
        if len(f"({count}: {', '.join([*names, _escaped(name)])}{more}{end}") > width:
            return f"({count}: {', '.join(names)}, …{end}" if names else f"({count}{end}"
        names.append(_escaped(name))
    return f"({count}: {', '.join(names)}{end}"


def _print_table(records: list[InferenceRecord], chosen: list[str] | None) -> None:
    """Draw the table to stdout, as wide as :func:`._console.width_of` says."""
    out = sys.stdout
    width = _console.width_of(out)
    table, hidden = _table(records, width, chosen)
    console = _console.console_for(out, width=width)
    with console.capture() as captured:
        console.print(table)
    text = captured.get()
    if not _console.is_terminal(out):  # plain text: no spaces at the ends of lines
        text = "".join(line.rstrip() + "\n" for line in text.splitlines())
    out.write(text)
    if hidden:
        print(_hidden_line(hidden, width), file=out)


def run(args: argparse.Namespace) -> int:
    """Run ``preview``; returns the exit status."""
    if args.limit < 0:
        raise _common.UsageError("--limit must not be negative")
    chosen = _columns(args.columns)
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
                if chosen is not None and len(shown) == args.limit:  # a typo stops now
                    chosen = _check_columns(chosen, shown)
    except RejectedError as exc:
        _common.strict_stop(exc.message)
        return _common.EXIT_REJECTS
    out = sys.stdout
    if shown:
        if chosen is not None:
            chosen = _check_columns(chosen, shown)
        _print_table(shown, chosen)
        if ledger.records > len(shown):
            print(f"… {_common.counted(ledger.records - len(shown), 'more record')}", file=out)
    else:
        print("(no records)", file=out)
    print(file=out)
    print(_common.summary_line(ledger), file=out)
    for line in first_rejects:
        print(line, file=out)
    if rejected > len(first_rejects):
        print(f"  … {_common.counted(rejected - len(first_rejects), 'more reject')}", file=out)
    return _common.EXIT_REJECTS if rejected else _common.EXIT_OK
