"""The report page: the ledger and its verdict, sections, escaping, and nothing fetched."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any

import pytest

from arthur_capture.report import LEDGER_FIELDS, build_report
from arthur_capture.report._page import _json_for_script, _script_safe
from tests.conftest import FIXTURES, ROOT
from tests.helpers import capture_line as event
from tests.report.captures import ENDPOINT, NAUGHTY, naughty_capture

if TYPE_CHECKING:
    from pathlib import Path

pytest.importorskip("altair")
pytest.importorskip("vl_convert")

ENGINE_CAPTURES = FIXTURES / "engine" / "captures"
CHURN_SCHEMA = FIXTURES / "arthur" / "churn_binary.model.json"
ALLOWED_TAGS = {
    "html", "head", "meta", "title", "style", "body", "main", "h1", "h2", "h3", "p", "div",
    "span", "section", "table", "thead", "tbody", "tr", "th", "td", "code", "pre", "br", "script",
}  # fmt: skip


class Page(HTMLParser):
    """What a browser's parser sees: tags, attributes, text, and each script's content."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self._script: dict[str, str | None] | None = None
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._script = dict(attrs)
            self.scripts.append((self._script, ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._script = None

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            attrs, text = self.scripts[-1]
            self.scripts[-1] = (attrs, text + data)
        else:
            self.text.append(data)

    def find(self, attribute: str) -> dict[str, dict[str, str | None]]:
        """The tags carrying ``attribute``, by its value."""
        return {
            str(attrs[attribute]): attrs
            for _, attrs in self.tags
            if attrs.get(attribute) is not None
        }

    def specs(self) -> dict[str, Any]:
        return {
            str(attrs["id"]).removeprefix("spec-"): json.loads(text)
            for attrs, text in self.scripts
            if attrs.get("type") == "application/json"
        }


def test_the_ledger_on_the_page_is_the_runs_ledger_with_a_verdict(tmp_path: Path) -> None:
    report = build_report(ENGINE_CAPTURES, schema=CHURN_SCHEMA)
    page = Page(report.html)
    summary = report.ledger.to_dict()
    shown = page.find("data-ledger")
    assert set(shown) == {key for key, _ in LEDGER_FIELDS}
    for key, attrs in shown.items():
        assert attrs["data-value"] == str(summary[key]), key
    assert summary["rejects_by_reason"] == {"invalid_json": 1}
    reasons = page.find("data-reason")
    assert {k: v["data-value"] for k, v in reasons.items()} == {"invalid_json": "1"}
    (verdict,) = page.find("data-verdict").values()
    assert verdict["data-verdict"] == "rejected"
    assert "1 rejected (1 line(s))" in "".join(page.text)
    clean = build_report(FIXTURES / "demo" / "demo.jsonl")
    assert clean.ledger.rejected_lines == clean.ledger.rejected_inferences == 0
    (verdict,) = Page(clean.html).find("data-verdict").values()
    assert verdict["data-verdict"] == "ok"
    assert "nothing lost" in "".join(Page(clean.html).text)


def test_the_page_has_every_section_and_a_chart_for_each(tmp_path: Path) -> None:
    report = build_report(ENGINE_CAPTURES, schema=CHURN_SCHEMA)
    page = Page(report.html)
    sections = {attrs.get("id") for tag, attrs in page.tags if tag == "section"}
    assert sections == {
        "ledger", "rejects", "volume", "content-types", "batches", "duplicates", "attributes",
        "mapping-failures",
    }  # fmt: skip
    charts = set(page.find("data-chart"))
    assert {"rejects", "hourly", "batches"} <= charts
    assert charts == set(page.specs())
    attribute_charts = {c for c in charts if c.startswith("attribute-")}
    assert len(attribute_charts) == 5  # churn_false_score (implicit) has no values
    hourly = page.specs()["hourly"]["data"]["values"]
    assert {row["series"] for row in hourly} == {"churn-a / AllTraffic", "churn-b / AllTraffic"}
    assert sum(row["inferences"] for row in hourly) == report.ledger.inferences == 16
    text = "".join(page.text)
    for shown in ("text/csv; charset=utf-8", "account_length", "intl_plan", "INTEGER"):
        assert shown in text
    # without a schema: no attribute sections
    plain = Page(build_report(ENGINE_CAPTURES).html)
    assert "attributes" not in {attrs.get("id") for tag, attrs in plain.tags if tag == "section"}


def test_the_page_fetches_nothing_and_carries_its_scripts() -> None:
    html = build_report(FIXTURES / "demo" / "demo.jsonl").html
    page = Page(html)
    assert all("src" not in attrs and "href" not in attrs for _, attrs in page.tags)
    assert {tag for tag, _ in page.tags} <= ALLOWED_TAGS
    (policy,) = [a for t, a in page.tags if t == "meta" and a.get("http-equiv")]
    assert str(policy["content"]).startswith("default-src 'none';")
    code = [text for attrs, text in page.scripts if not attrs]
    assert len(code) == 2  # the Vega bundle, the loader
    assert "vegaEmbed" in code[0]
    assert len(code[0]) > 500_000
    assert "cdn" not in html.lower().replace("cdnjs", "")  # no CDN named (vega's own strings aside)


def test_hostile_text_is_shown_as_text_never_as_markup(tmp_path: Path) -> None:
    capture, schema = naughty_capture(tmp_path)
    report = build_report(capture, schema=schema)
    ledger = report.ledger
    assert (ledger.lines, ledger.events, ledger.rejected_lines, ledger.rejected_inferences) == (
        9, 8, 1, 2,
    )  # fmt: skip
    assert ledger.duplicate_partner_ids == 1
    page = Page(report.html)
    # no markup got in: only the page's own tags and attributes
    assert {tag for tag, _ in page.tags} <= ALLOWED_TAGS
    assert all(not name.startswith("on") for _, attrs in page.tags for name in attrs)
    assert len(page.scripts) == 2 + len(page.specs())
    for attrs, _ in page.scripts:
        assert attrs in ({}, {"type": "application/json", "id": attrs.get("id")})
    text = "".join(page.text)
    for hostile in NAUGHTY:
        assert hostile.replace('"', "") in text.replace('"', "") or hostile in text
    assert f"{ENDPOINT}/v<1>&/2024/03/01/09/<capture>&.jsonl:9" in text  # a reject's place
    assert NAUGHTY[1] in text  # the repeated partner ID
    assert "'</script><script>alert(3)</script>'" in text  # an unknown attribute's name
    # the chart data keeps the text exactly (escaped in the script, whole once parsed)
    specs = page.specs()
    assert {row["series"] for row in specs["hourly"]["data"]["values"]} == {f"{ENDPOINT} / v<1>&"}
    (name_chart,) = [
        spec for key, spec in specs.items()
        if key.startswith("attribute-") and "value" in json.dumps(spec["encoding"])
        and any(row.get("value") == NAUGHTY[0] for row in spec["data"]["values"])
    ]  # fmt: skip
    assert name_chart
    failures = {name for name, _ in report.stats.failures}
    assert failures == {"amount", NAUGHTY[2]}


@pytest.mark.parametrize("text", [*NAUGHTY, "</SCRIPT >", "<!--<script>"])
def test_script_content_cannot_close_its_element(text: str) -> None:
    data = _json_for_script({"value": text})
    assert "<" not in data
    assert ">" not in data
    assert json.loads(data) == {"value": text}
    code = _script_safe(f"var s = '{text}';")
    assert "</script" not in code.lower()
    assert "<!--" not in code


def test_a_line_too_long_to_show_is_shortened(tmp_path: Path) -> None:
    capture = tmp_path / "long.jsonl"
    capture.write_bytes(b'{"x": "' + b"\xc3\xa9" * 5000 + b"\n" + event("1", "2"))
    report = build_report(capture)
    (example,) = report.stats.examples["invalid_json"]
    assert len(example.raw) == 240
    assert example.raw.endswith("…")
    assert example.raw_bytes == 10_007
    assert "10,007 bytes" in "".join(Page(report.html).text)


def test_report_write_puts_the_page_in_a_file(tmp_path: Path) -> None:
    report = build_report(FIXTURES / "demo" / "demo.jsonl", title="Demo <1>")
    target = tmp_path / "report.html"
    report.write(target)
    assert target.read_text(encoding="utf-8") == report.html
    assert "<title>Demo &lt;1&gt;</title>" in report.html


def test_the_docs_screenshot_is_a_small_png() -> None:
    """``docs/images/report.png`` (ARTHUR_CAPTURE_UPDATE_SCREENSHOT=1 pytest tests/report/)."""
    data = (ROOT / "docs" / "images" / "report.png").read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(data) < 300_000
