"""The report page in a real browser: Debian's chromium, headless, with the network cut off.

Each page is opened from ``file://`` with every other request aborted; it must load with no
console error and no page error, show the same ledger as the run's ``--summary`` JSON, and
draw every chart (an ``svg`` of non-zero size). A screenshot goes to the test's folder.

Chromium comes from Debian (``apt-get install chromium``; ``.ci/run`` installs it in CI), never
from ``playwright install``. Without it the tests are skipped, except under ``CI=true``, where
they fail. ``ARTHUR_CAPTURE_UPDATE_SCREENSHOT=1`` also rewrites ``docs/images/report.png``.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from arthur_capture.cli import main
from tests.conftest import ROOT
from tests.report.captures import NAUGHTY, naughty_capture
from tests.report.test_page import CHURN_SCHEMA, ENGINE_CAPTURES

if TYPE_CHECKING:
    from collections.abc import Iterator

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DOCS_SCREENSHOT = ROOT / "docs" / "images" / "report.png"


def _unavailable(why: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{why}: CI must run the browser test (.ci/run installs Debian's chromium)")
    pytest.skip(why)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's chromium, headless, through playwright."""
    if not CHROMIUM.exists() and shutil.which("chromium") is None:
        _unavailable(f"{CHROMIUM} is not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (the dev extra)")
    pytest.importorskip("altair")
    executable = str(CHROMIUM) if CHROMIUM.exists() else str(shutil.which("chromium"))
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


class Visit:
    """One page opened offline, with what went wrong while it loaded."""

    def __init__(self, browser: Any, page_file: Path) -> None:
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        self.dialogs: list[str] = []
        self.blocked: list[str] = []
        self.page = browser.new_page(viewport={"width": 1200, "height": 900})
        self.page.on(
            "console",
            lambda m: self.console_errors.append(m.text) if m.type == "error" else None,
        )
        self.page.on("pageerror", lambda e: self.page_errors.append(str(e)))
        self.page.on("dialog", self._dialog)
        self.page.route("**/*", self._route)
        self.page.goto(page_file.as_uri())
        self.page.wait_for_function(
            "Array.from(document.querySelectorAll('[data-chart]')).every(e => e.dataset.rendered)",
            timeout=60_000,
        )

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def _route(self, route: Any) -> None:
        url = route.request.url
        if url.startswith("file:"):
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort()

    def ledger(self) -> dict[str, tuple[str, str]]:
        """``data-ledger`` name → (``data-value``, the text shown)."""
        shown: dict[str, tuple[str, str]] = self.page.eval_on_selector_all(
            "[data-ledger]",
            "els => Object.fromEntries(els.map(e => [e.dataset.ledger, [e.dataset.value, "
            "e.textContent]]))",
        )
        return shown

    def reasons(self) -> dict[str, str]:
        shown: dict[str, str] = self.page.eval_on_selector_all(
            "[data-reason]",
            "els => Object.fromEntries(els.map(e => [e.dataset.reason, e.textContent]))",
        )
        return shown

    def charts(self) -> dict[str, tuple[str, float, float]]:
        """Each chart: whether it rendered, and its svg's width and height."""
        found: dict[str, tuple[str, float, float]] = {}
        for element in self.page.query_selector_all("[data-chart]"):
            svg = element.query_selector("svg")
            box = svg.bounding_box() if svg is not None else None
            found[element.get_attribute("data-chart")] = (
                element.get_attribute("data-rendered"),
                box["width"] if box else 0.0,
                box["height"] if box else 0.0,
            )
        return found


def _report(tmp_path: Path, *args: str) -> tuple[int, Path, dict[str, Any]]:
    page, summary = tmp_path / "report.html", tmp_path / "summary.json"
    status = main(["report", *args, "-o", str(page), "--summary", str(summary)])
    return status, page, json.loads(summary.read_text(encoding="utf-8"))


def _check(visit: Visit, summary: dict[str, Any]) -> None:
    assert visit.console_errors == []
    assert visit.page_errors == []
    assert visit.dialogs == []
    assert visit.blocked == []
    ledger = visit.ledger()
    assert len(ledger) == 9
    for key, (value, text) in ledger.items():
        assert int(value) == summary[key], key
        assert int(text.replace(",", "")) == summary[key], key
    assert {k: int(v.replace(",", "")) for k, v in visit.reasons().items()} == summary[
        "rejects_by_reason"
    ]
    charts = visit.charts()
    assert {"hourly", "batches"} <= set(charts)
    for name, (rendered, width, height) in charts.items():
        assert rendered == "true", name
        assert width > 0, name
        assert height > 0, name


def test_report_of_the_engine_captures_renders_offline(
    browser: Any,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(ROOT)  # the page names the sources as given: relative, as in the docs
    status, page, summary = _report(
        tmp_path,
        str(ENGINE_CAPTURES.relative_to(ROOT)),
        "--schema",
        str(CHURN_SCHEMA.relative_to(ROOT)),
    )
    capsys.readouterr()
    assert status == 1  # one line of the fixture is cut off
    visit = Visit(browser, page)
    _check(visit, summary)
    charts = visit.charts()
    assert "rejects" in charts
    assert len([c for c in charts if c.startswith("attribute-")]) == 5
    verdict = visit.page.text_content("[data-verdict]")
    assert verdict == "1 rejected (1 line(s))"
    shot = tmp_path / "report.png"
    visit.page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    if os.environ.get("ARTHUR_CAPTURE_UPDATE_SCREENSHOT"):
        visit.page.screenshot(path=str(DOCS_SCREENSHOT), full_page=True)
    visit.page.close()


def test_hostile_text_runs_no_script_in_the_browser(
    browser: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capture, schema = naughty_capture(tmp_path / "captures")
    status, page, summary = _report(tmp_path, str(capture), "--schema", str(schema))
    capsys.readouterr()
    assert status == 1
    visit = Visit(browser, page)
    _check(visit, summary)  # no alert() ran: no dialog
    assert visit.page.query_selector_all("img") == []
    body = visit.page.inner_text("body")
    assert NAUGHTY[0] in body
    assert NAUGHTY[1] in body
    visit.page.screenshot(path=str(tmp_path / "hostile.png"), full_page=True)
    visit.page.close()


def test_a_clean_capture_says_nothing_lost(
    browser: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, page, summary = _report(tmp_path, str(ROOT / "fixtures" / "demo" / "demo.jsonl"))
    capsys.readouterr()
    assert status == 0
    visit = Visit(browser, page)
    _check(visit, summary)
    assert visit.page.text_content("[data-verdict]") == "nothing lost"
    visit.page.close()
