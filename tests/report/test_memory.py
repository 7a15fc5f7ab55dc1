"""``report`` on ~100 MB of generated captures: its statistics add nothing to the reader's memory.

The command runs in a subprocess (``python -m arthur_capture``) under a small launcher that
reads the child's own peak RSS (``os.wait4``; see ``tests/cli/test_memory.py``). The bound is
measured, not guessed: the fixed cost of the report (Python, altair and the V8 runtime that
``vl-convert`` starts to bundle Vega's scripts) is ``report`` on a 10-line capture; what the
reader itself holds for a big capture (its partner-ID ledger) is what ``convert`` grows by
from the small capture to the big one. ``report`` on the big capture must stay within their
sum plus 32 MiB: its own statistics are fixed-size (a 2,000-value sample per numeric
attribute, counters capped at 1,000 keys, three example rejects per reason), about 2 MiB for
the generator's 22 attributes, and the page (~1 MB) is written once. Nothing here is timed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from tests.conftest import FIXTURES, ROOT
from tests.helpers import run_cli_measured

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.slow

SCHEMA = ROOT / "benchmarks" / "generated.model.json"
SLACK_MIB = 32


def _peak(tmp_path: Path, *args: str) -> float:
    """Run the CLI; its peak RSS in MiB (it must exit 0)."""
    status, peak, _, err = run_cli_measured(tmp_path, *args)
    assert status == 0, err
    return peak


def test_report_of_100_mb_holds_no_more_than_the_reader(tmp_path: Path) -> None:
    pytest.importorskip("altair")
    pytest.importorskip("vl_convert")
    big = tmp_path / "big.jsonl"
    subprocess.run(  # noqa: S603
        [sys.executable, str(ROOT / "benchmarks" / "generate.py"), str(big), "--size-mb", "100"],
        check=True,
        capture_output=True,
    )
    small = FIXTURES / "demo" / "demo.jsonl"
    schema = ["--schema", str(SCHEMA)]
    page, summary = tmp_path / "big.html", tmp_path / "big.json"
    report_big = _peak(
        tmp_path, "report", str(big), *schema, "-o", str(page), "--summary", str(summary)
    )
    report_small = _peak(tmp_path, "report", str(small), "-o", str(tmp_path / "small.html"))
    convert_big = _peak(
        tmp_path, "convert", str(big), *schema, "--jobs", "1", "-o", str(tmp_path / "o.jsonl")
    )
    convert_small = _peak(tmp_path, "convert", str(small), "-o", str(tmp_path / "s.jsonl"))
    ledger = json.loads(summary.read_text(encoding="utf-8"))
    assert ledger["records"] > 400_000
    assert ledger["rejected_lines"] == ledger["rejected_inferences"] == 0
    html = page.read_text(encoding="utf-8")
    attributes = json.loads(SCHEMA.read_text(encoding="utf-8"))["attributes"]
    assert html.count('data-chart="attribute-') == len(attributes)  # one chart for each
    assert len(html.encode()) < 2_000_000  # the page does not grow with the capture
    bound = report_small + (convert_big - convert_small) + SLACK_MIB
    figures = (
        f"report 100 MB {report_big:.0f} MiB, report 10 lines {report_small:.0f} MiB, "
        f"convert 100 MB {convert_big:.0f} MiB, convert 10 lines {convert_small:.0f} MiB"
    )
    assert report_big <= bound, figures
    assert report_big < 320, figures  # measured 225 MiB (of which ~180 MiB fixed)
