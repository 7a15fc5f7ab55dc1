"""The report as one self-contained HTML page: the ledger first, then what was seen.

Everything the page needs is in it: its style, the charting scripts (:func:`._charts.javascript`)
and each chart's Vega-Lite specification. A Content-Security-Policy forbids every request,
so the page opens, and stays, offline. Every text from the capture is HTML-escaped; the
specifications are JSON with ``<``, ``>`` and ``&`` escaped, inside ``application/json``
script elements.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from html import escape
from typing import TYPE_CHECKING, Any, Final

from arthur_capture.report import _charts

if TYPE_CHECKING:
    from collections.abc import Iterable

    from arthur_capture.reading import Ledger
    from arthur_capture.report._stats import AttributeStats, CaptureStats

__all__ = ["LEDGER_FIELDS", "render_page", "verdict"]

LEDGER_FIELDS: Final = (
    ("sources", "sources"),
    ("lines", "lines"),
    ("blank_lines", "blank"),
    ("events", "events"),
    ("records", "records"),
    ("rejected_lines", "rejected lines"),
    ("rejected_inferences", "rejected inferences"),
    ("non_finite_values", "non-finite values read as null"),
    ("duplicate_partner_ids", "repeated partner IDs"),
)
"""The ledger's counts the page shows (``data-ledger`` name, label), as ``--summary`` names them."""

_CSP: Final = (
    "default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; "
    "style-src 'unsafe-inline'; img-src data: blob:; font-src data:"
)
_STYLE: Final = """
:root { --ok: #1e7d32; --bad: #b3261e; --muted: #5f6368; --line: #e0e0e0; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0;
       color: #202124; background: #fafafa; }
main { max-width: 1080px; margin: 0 auto; padding: 24px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 16px 20px;
          margin: 16px 0; }
.muted { color: var(--muted); } .num { text-align: right; font-variant-numeric: tabular-nums; }
table { border-collapse: collapse; width: 100%; } th, td { padding: 4px 8px;
        border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
th { font-weight: 600; background: #f5f5f5; }
.verdict { font-size: 20px; font-weight: 700; padding: 10px 14px; border-radius: 6px;
           margin: 8px 0 14px; }
.verdict.ok { background: #e6f4ea; color: var(--ok); }
.verdict.bad { background: #fce8e6; color: var(--bad); }
.ledger { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 10px; }
.ledger div { border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; }
.ledger .n { font-size: 20px; font-weight: 700; display: block; }
code, pre { font: 12px/1.4 ui-monospace, SFMono-Regular, Menlo, monospace; }
pre { white-space: pre-wrap; word-break: break-all; margin: 2px 0; background: #f6f8fa;
      padding: 4px 6px; border-radius: 4px; }
.chart { min-height: 40px; }
"""
_LOADER: Final = """
(function () {
  const charts = document.querySelectorAll("[data-chart]");
  charts.forEach(function (el) {
    const spec = JSON.parse(document.getElementById("spec-" + el.dataset.chart).textContent);
    vegaEmbed(el, spec, {actions: false, renderer: "svg"})
      .then(function () { el.dataset.rendered = "true"; })
      .catch(function (error) { el.dataset.rendered = "error"; console.error(error); });
  });
})();
"""


def _json_for_script(value: Any) -> str:
    """JSON that cannot end its ``<script>`` element early (``<``, ``>``, ``&`` escaped)."""
    text = json.dumps(value, ensure_ascii=False, allow_nan=False, sort_keys=True)
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def _script_safe(code: str) -> str:
    """A script that cannot close its element early (``</script`` and ``<!--`` split)."""
    return re.sub(r"<(/script|!--)", r"<\\\1", code, flags=re.IGNORECASE)


def _n(value: int) -> str:
    return f"{value:,}"


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def verdict(ledger: Ledger) -> tuple[bool, str]:
    """Whether nothing was lost, and the verdict in words (``nothing lost`` / ``N rejected``)."""
    rejected = ledger.rejected_lines + ledger.rejected_inferences
    if not rejected:
        return True, "nothing lost"
    parts = []
    if ledger.rejected_lines:
        parts.append(f"{_n(ledger.rejected_lines)} line(s)")
    if ledger.rejected_inferences:
        parts.append(f"{_n(ledger.rejected_inferences)} inference(s)")
    return False, f"{_n(rejected)} rejected ({' and '.join(parts)})"


class _Charts:
    """The charts of a page: each a ``<div data-chart>`` and its specification."""

    def __init__(self) -> None:
        self.specs: dict[str, dict[str, Any]] = {}

    def div(self, name: str, spec: dict[str, Any] | None, empty: str = "") -> str:
        if spec is None:
            return f'<p class="muted">{_e(empty)}</p>' if empty else ""
        self.specs[name] = spec
        return f'<div class="chart" data-chart="{_e(name)}"></div>'

    def scripts(self) -> str:
        return "\n".join(
            f'<script type="application/json" id="spec-{_e(name)}">'
            f"{_json_for_script(spec)}</script>"
            for name, spec in self.specs.items()
        )


def _table(head: Iterable[str], rows: Iterable[Iterable[str]], numeric: Iterable[int] = ()) -> str:
    right = set(numeric)
    cells = "".join(
        f"<th{' class=num' if i in right else ''}>{_e(h)}</th>" for i, h in enumerate(head)
    )
    body = "".join(
        "<tr>"
        + "".join(f"<td{' class=num' if i in right else ''}>{c}</td>" for i, c in enumerate(row))
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>"


def _ledger_section(ledger: Ledger, stats: CaptureStats) -> str:
    ok, words = verdict(ledger)
    summary = ledger.to_dict()
    boxes = "".join(
        f'<div><span class="n" data-ledger="{key}" data-value="{summary[key]}">'
        f"{_n(summary[key])}</span>{_e(label)}</div>"
        for key, label in LEDGER_FIELDS
    )
    reasons = _table(
        ("reason", "rejects"),
        (
            (
                f"<code>{_e(reason)}</code>",
                f'<span data-reason="{_e(reason)}" data-value="{count}">{_n(count)}</span>',
            )
            for reason, count in summary["rejects_by_reason"].items()
        ),
        numeric=(1,),
    )
    balance = (
        "every line is accounted for: lines = blank + events + rejected lines"
        if ledger.balanced
        else "the ledger does not balance"
    )
    extra = ""
    if ledger.duplicate_partner_ids:
        extra = (
            f'<p class="muted">{_n(ledger.duplicate_partner_ids)} inference(s) repeat a partner '
            "ID read earlier: Arthur keeps one inference per ID (see below).</p>"
        )
    span = ""
    if stats.first_time is not None and stats.last_time is not None:
        span = (
            f'<p class="muted">inference times from {_e(stats.first_time.isoformat())} '
            f"to {_e(stats.last_time.isoformat())}; {_n(stats.calls)} calls, "
            f"{_n(stats.inferences)} inferences in event lines</p>"
        )
    return (
        '<section id="ledger"><h2>Ledger</h2>'
        f'<div class="verdict {"ok" if ok else "bad"}" data-verdict="{"ok" if ok else "rejected"}">'
        f"{_e(words)}</div>"
        f'<div class="ledger">{boxes}</div>'
        f'<p class="muted" data-balanced="{str(ledger.balanced).lower()}">{_e(balance)}; '
        "inferences = records + rejected inferences</p>"
        f"{span}{extra}"
        + (f"<h3>Rejects by reason</h3>{reasons}" if summary["rejects_by_reason"] else "")
        + "</section>"
    )


def _rejects_section(ledger: Ledger, stats: CaptureStats, charts: _Charts) -> str:
    if not ledger.rejects_by_reason:
        return '<section id="rejects"><h2>Rejects</h2><p>None: nothing was rejected.</p></section>'
    parts = [
        '<section id="rejects"><h2>Rejects</h2>',
        charts.div("rejects", _charts.rejects_chart(dict(ledger.rejects_by_reason))),
    ]
    for reason, count in sorted(ledger.rejects_by_reason.items()):
        examples = stats.examples.get(reason, [])
        parts.append(
            f'<h3 id="reason-{_e(reason)}"><code>{_e(reason)}</code> '
            f'<span class="muted">({_n(count)}; {len(examples)} example(s))</span></h3>'
        )
        rows = [
            (
                f"<code>{_e(example.source)}:{example.line_number}</code>"
                + ("" if example.index is None else f" <span class=muted>#{example.index}</span>"),
                _e(example.message),
                (
                    f"<pre>{_e(example.raw)}</pre>"
                    f"<span class=muted>{_n(example.raw_bytes)} bytes</span>"
                ),
            )
            for example in examples
        ]
        parts.append(_table(("where", "message", "line (shortened)"), rows))
    parts.append("</section>")
    return "".join(parts)


def _volume_section(stats: CaptureStats, charts: _Charts) -> str:
    unit = "day" if stats.per_day else "hour"
    return (
        f'<section id="volume"><h2>Inferences per {unit}, by endpoint and variant</h2>'
        '<p class="muted">Endpoint and variant come from each source\'s SageMaker key '
        "(<code>…/ENDPOINT/VARIANT/yyyy/mm/dd/hh/NAME.jsonl</code>); the time is the call's "
        "<code>inferenceTime</code> in UTC.</p>"
        + charts.div("hourly", _charts.hourly_chart(stats), "no event lines were read")
        + "</section>"
    )


def _content_section(stats: CaptureStats) -> str:
    parts = ['<section id="content-types"><h2>Content types and encodings</h2>']
    for side in ("request", "response"):
        rows = [
            (f"<code>{_e(content_type)}</code>", _e(encoding), _n(count))
            for (seen_side, content_type, encoding), count in stats.content_types.most_common()
            if seen_side == side
        ]
        parts.append(f"<h3>{side}</h3>")
        parts.append(
            _table(("observed content type", "encoding", "calls"), rows, numeric=(2,))
            if rows
            else '<p class="muted">not captured</p>'
        )
    if stats.content_types.overflow:
        parts.append(f'<p class="muted">{_n(stats.content_types.overflow)} more (other types)</p>')
    parts.append("</section>")
    return "".join(parts)


def _batch_section(stats: CaptureStats, charts: _Charts) -> str:
    text = ""
    if stats.calls:
        text = (
            f'<p class="muted">{_n(stats.calls)} calls; mean {stats.inferences / stats.calls:.2f} '
            f"inferences per call; largest {_n(stats.largest_batch)}</p>"
        )
    return (
        '<section id="batches"><h2>Batch sizes</h2>'
        + text
        + charts.div("batches", _charts.batch_chart(stats), "no event lines were read")
        + "</section>"
    )


def _duplicates_section(ledger: Ledger) -> str:
    if not ledger.duplicate_partner_ids:
        return (
            '<section id="duplicates"><h2>Repeated partner IDs</h2>'
            "<p>None: every partner inference ID is read once.</p></section>"
        )
    rows = [
        (
            f"<code>{_e(example['partner_inference_id'])}</code>",
            f"<code>{_e(example['first'])}</code>",
            f"<code>{_e(example['repeat'])}</code>",
        )
        for example in ledger.duplicate_examples
    ]
    return (
        '<section id="duplicates"><h2>Repeated partner IDs</h2>'
        f"<p>{_n(ledger.duplicate_partner_ids)} inference(s) repeat a partner inference ID read "
        "earlier in the run; the first are shown.</p>"
        + _table(("partner_inference_id", "first read at", "repeated at"), rows)
        + "</section>"
    )


def _value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _attribute_row(name: str, stats: AttributeStats, charts: _Charts, number: int) -> list[str]:
    attribute = stats.attribute
    if stats.count == stats.nulls:
        detail = '<span class="muted">no values</span>' if stats.count == 0 else ""
    elif stats.numeric or stats.low is not None:
        detail = f"min {_e(_value(stats.low))}<br>max {_e(_value(stats.high))}"
        if stats.mean is not None:
            detail += f"<br>mean {_e(_value(stats.mean))}"
    elif stats.trues or stats.falses:
        detail = f"true {_n(stats.trues)}<br>false {_n(stats.falses)}"
    else:
        top = stats.top.most_common(5)
        detail = "<br>".join(f"<code>{_e(v)}</code> {_n(c)}" for v, c in top)
        if stats.top.full:
            detail += f"<br><span class=muted>over {_n(stats.top.limit)} distinct values</span>"
    sampled = ""
    if stats.numeric and stats.seen > len(stats.sample):
        sampled = f'<br><span class="muted">from a sample of {_n(len(stats.sample))}</span>'
    chart = charts.div(f"attribute-{number}", _charts.attribute_chart(stats))
    return [
        f"<code>{_e(name)}</code>",
        f"{_e(attribute.stage)}"
        + ("" if attribute.position is None else f" #{attribute.position}")
        + (" <span class=muted>(categorical)</span>" if attribute.categorical else "")
        + (" <span class=muted>(implicit)</span>" if attribute.implicit else ""),
        _e(attribute.value_type),
        _n(stats.count),
        _n(stats.nulls),
        detail,
        chart + sampled,
    ]


def _attributes_section(stats: CaptureStats, charts: _Charts) -> str:
    if stats.schema is None:
        return ""
    rows = [
        _attribute_row(name, attribute, charts, number)
        for number, (name, attribute) in enumerate(stats.attributes.items())
    ]
    failures = [
        (
            f"<code>{_e(name)}</code>",
            f"<code>{_e(reason)}</code>",
            _n(failure.count),
            _e(failure.example),
        )
        for (name, reason), failure in sorted(
            stats.failures.items(), key=lambda kv: (-kv[1].count, kv[0])
        )
    ]
    model = stats.schema.model_id or "the model"
    return (
        '<section id="attributes"><h2>Attributes</h2>'
        f'<p class="muted">Values of the records as mapped onto {_e(model)} (after coercion); '
        "histograms show each bin's share of the values.</p>"
        + _table(
            ("attribute", "stage", "type", "values", "nulls", "range / top values", "distribution"),
            rows,
            numeric=(3, 4),
        )
        + '</section><section id="mapping-failures"><h2>Attributes that failed mapping</h2>'
        + (
            _table(
                ("attribute or value", "reason", "inferences", "example"), failures, numeric=(2,)
            )
            if failures
            else "<p>None: every inference fit the model.</p>"
        )
        + "</section>"
    )


def render_page(
    stats: CaptureStats, ledger: Ledger, *, title: str, script: str, stopped: str | None = None
) -> str:
    """The report page: ``script`` is the charting bundle (:func:`._charts.javascript`)."""
    charts = _Charts()
    sources = ", ".join(stats.sources[:5]) + (" …" if len(stats.sources) > 5 else "")
    note = (
        f'<p class="verdict bad" data-stopped="true">stopped early: {_e(stopped)}</p>'
        if stopped
        else ""
    )
    body = "".join(
        (
            _ledger_section(ledger, stats),
            _rejects_section(ledger, stats, charts),
            _volume_section(stats, charts),
            _content_section(stats),
            _batch_section(stats, charts),
            _duplicates_section(ledger),
            _attributes_section(stats, charts),
        )
    )
    made = datetime.now(UTC).replace(microsecond=0).isoformat()
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_STYLE}</style></head><body><main>"
        f"<h1>{_e(title)}</h1>"
        f'<p class="muted">{_n(ledger.sources)} source(s): {_e(sources)}. Made {made} by '
        "arthur-capture report.</p>"
        f"{note}{body}</main>\n"
        f"<script>{_script_safe(script)}</script>\n"
        f"{charts.scripts()}\n"
        f"<script>{_LOADER}</script>\n"
        "</body></html>\n"
    )
