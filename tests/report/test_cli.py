"""``arthur-capture report``, in-process (``cli.main``)."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

import pytest

from arthur_capture.cli import main
from tests.conftest import FIXTURES
from tests.report.test_page import CHURN_SCHEMA, ENGINE_CAPTURES, Page

if TYPE_CHECKING:
    from pathlib import Path

pytest.importorskip("altair")
pytest.importorskip("vl_convert")

DEMO = FIXTURES / "demo" / "demo.jsonl"


def _summary(path: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads(path.read_text(encoding="utf-8"))
    return data


@pytest.mark.parametrize(
    ("inputs", "schema", "status"),
    [
        ([DEMO], None, 0),
        ([ENGINE_CAPTURES], CHURN_SCHEMA, 1),
        ([FIXTURES / "invalid", DEMO], None, 1),
    ],
    ids=["demo", "engine-schema", "invalid"],
)
def test_report_writes_the_page_and_the_same_summary_as_convert(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    inputs: list[Path],
    schema: Path | None,
    status: int,
) -> None:
    files = [str(p) for p in inputs]
    if inputs[0].is_dir():  # convert reads files: give it the folder's files in report's order
        files = sorted(
            str(p) for i in inputs for p in (sorted(i.rglob("*")) if i.is_dir() else [i])
            if p.is_file() and p.name.endswith((".jsonl", ".jsonl.gz"))
        )  # fmt: skip
    extra = ["--schema", str(schema)] if schema else []
    page, summary = tmp_path / "report.html", tmp_path / "summary.json"
    assert (
        main(["report", *map(str, inputs), *extra, "-o", str(page), "--summary", str(summary)])
        == status
    )
    err = capsys.readouterr().err
    assert main(["convert", *files, *extra, "-o", str(tmp_path / "out.jsonl"), "--summary",
                 str(tmp_path / "convert.json")]) == status  # fmt: skip
    converted = capsys.readouterr().err
    assert _summary(summary) == _summary(tmp_path / "convert.json")
    assert err.splitlines()[-1] == converted.splitlines()[-1]  # the same counts line
    shown = Page(page.read_text(encoding="utf-8")).find("data-ledger")
    ledger = _summary(summary)
    assert {k: int(str(v["data-value"])) for k, v in shown.items()} == {k: ledger[k] for k in shown}


def test_report_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(DEMO), "-o", "-"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("<!DOCTYPE html>")
    assert out.rstrip().endswith("</html>")


def test_strict_stops_at_the_first_reject_and_says_so_on_the_page(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "report.html"
    assert main(["report", str(FIXTURES / "invalid"), "--strict", "-o", str(page)]) == 1
    err = capsys.readouterr().err
    assert "stopped (--strict)" in err
    assert Page(page.read_text(encoding="utf-8")).find("data-stopped")


@pytest.mark.parametrize("module", ["altair", "vl_convert"])
def test_a_missing_report_extra_is_one_line_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, module: str
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # import raises ImportError
    page = tmp_path / "report.html"
    assert main(["report", str(DEMO), "-o", str(page)]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1, err
    assert err.startswith("arthur-capture: ")
    assert "pip install" in err
    assert "arthur-capture[report]" in err
    assert not page.exists()


def test_bad_inputs_and_outputs_are_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    page = tmp_path / "report.html"
    assert main(["report", str(empty), "-o", str(page)]) == 2
    assert "no capture files" in capsys.readouterr().err
    assert not page.exists()
    assert main(["report", str(DEMO), "-o", str(DEMO)]) == 2
    assert len(capsys.readouterr().err.splitlines()) == 1
    assert main(["report", str(DEMO)]) == 2  # -o is required
    assert "-o" in capsys.readouterr().err
    assert (
        main(["report", str(DEMO), "--schema", str(tmp_path / "missing.json"), "-o", str(page)])
        == 2
    )
    assert "missing.json" in capsys.readouterr().err
    assert not page.exists()
