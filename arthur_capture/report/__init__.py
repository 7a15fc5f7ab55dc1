"""A capture report: one self-contained HTML page of what was read, what was lost and why.

The ledger comes first, with its verdict (``nothing lost`` or ``N rejected``); then the rejects
by reason with example lines, inferences per hour by endpoint and variant, the content types
and encodings of each side, batch sizes, repeated partner IDs and, with a model schema, a
summary of every attribute's values and the attributes that failed mapping.

The statistics stream (:class:`CaptureStats`): they are gathered one call at a time in fixed
memory, so a capture of any size reports in the reader's own memory plus a constant. The
charts are Vega-Lite (altair), drawn by scripts inlined in the page: it opens with no network.
Needs the ``report`` extra (``pip install 'arthur-capture[report]'``)::

    from arthur_capture.report import build_report

    report = build_report("capture.jsonl", schema="model.json")
    report.write("report.html")
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Unpack

from arthur_capture.errors import RejectedError, SourceError
from arthur_capture.reading import CaptureReader, ReaderOptions
from arthur_capture.report._page import LEDGER_FIELDS, render_page, verdict
from arthur_capture.report._stats import CaptureStats

if TYPE_CHECKING:
    from collections.abc import Iterable

    from arthur_capture.arthur.schema import SchemaLike
    from arthur_capture.reading import Ledger, Source
    from arthur_capture.records import Call, Reject

__all__ = [
    "LEDGER_FIELDS",
    "CaptureStats",
    "Report",
    "build_report",
    "gather",
    "local_folders",
    "render_report",
    "verdict",
]

DEFAULT_TITLE = "Capture report"
"""The page's title unless one is given."""


@dataclass(frozen=True, slots=True)
class Report:
    """A rendered report: the page, and the ledger and statistics it shows."""

    html: str
    """The page, self-contained."""
    ledger: Ledger
    """The counts of the run (what ``--summary`` writes)."""
    stats: CaptureStats
    """What the page charts."""

    def write(self, path: str | os.PathLike[str]) -> None:
        """Write the page to ``path`` (UTF-8)."""
        with open(path, "w", encoding="utf-8", newline="\n") as handle:  # noqa: PTH123
            handle.write(self.html)


def render_report(
    stats: CaptureStats, ledger: Ledger, *, title: str = DEFAULT_TITLE, stopped: str | None = None
) -> str:
    """The page of statistics gathered already (``stopped``: why the run ended early, if it did).

    Raises:
        MissingDependencyError: The ``report`` extra (altair, vl-convert-python) is missing.
    """
    from arthur_capture.report._charts import javascript  # noqa: PLC0415

    return render_page(stats, ledger, title=title, script=javascript(), stopped=stopped)


def gather(calls: Iterable[Call | Reject], stats: CaptureStats) -> str | None:
    """Feed a reader's stream to ``stats``; in strict mode, the first reject's message ends it."""
    try:
        stats.add_all(calls)
    except RejectedError as exc:
        return exc.message
    return None


def local_folders(sources: Iterable[Source]) -> list[Source]:
    """The sources with each local folder replaced by its capture files (sorted, recursively).

    Raises:
        SourceError: A folder holds no capture file (``*.jsonl``, ``*.jsonl.gz``).
    """
    from arthur_capture.storage import CAPTURE_SUFFIXES  # noqa: PLC0415

    expanded: list[Source] = []
    for source in sources:
        if isinstance(source, (str, os.PathLike)) and os.path.isdir(source):  # noqa: PTH112
            found = sorted(
                str(path)
                for path in Path(source).rglob("*")
                if path.is_file() and path.name.endswith(CAPTURE_SUFFIXES)
            )
            if not found:
                msg = f"{os.fspath(source)}: no capture files (*.jsonl, *.jsonl.gz) under it"
                raise SourceError(msg)
            expanded.extend(found)
        else:
            expanded.append(source)
    return expanded


def build_report(
    *sources: Source,
    schema: SchemaLike | None = None,
    title: str = DEFAULT_TITLE,
    **reader_options: Unpack[ReaderOptions],
) -> Report:
    """Read the sources once and render their report.

    Args:
        sources: What :meth:`~arthur_capture.reading.CaptureReader.iter_calls` reads; a
            local folder stands for the capture files under it.
        schema: An Arthur model (or the path of its JSON): records are mapped onto it and
            each attribute is summarised.
        title: The page's title.
        reader_options: :class:`~arthur_capture.reading.CaptureReader` keywords.

    Raises:
        MissingDependencyError: The ``report`` extra is missing (checked before reading).
        InvalidSourceError: An argument is not a source.
        SourceError: A source cannot be read, or a folder holds no capture file.
        SchemaError: ``schema`` names no usable schema.
    """
    from arthur_capture.arthur.mapping import SchemaMapper  # noqa: PLC0415
    from arthur_capture.arthur.schema import ModelSchema  # noqa: PLC0415
    from arthur_capture.report._charts import javascript  # noqa: PLC0415

    script = javascript()  # the extra is there before anything is read
    model = ModelSchema.of(schema) if schema is not None else None
    if model is not None:
        reader_options["mapper"] = SchemaMapper(model)
    calls = CaptureReader(**reader_options).iter_calls(*local_folders(sources))
    stats = CaptureStats(model)
    stopped = gather(calls, stats)
    html = render_page(stats, calls.ledger, title=title, script=script, stopped=stopped)
    return Report(html, calls.ledger, stats)
