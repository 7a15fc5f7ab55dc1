"""The report's charts: Vega-Lite specifications built with altair, and the scripts that draw them.

Each function returns a Vega-Lite specification as a ``dict`` (the data inlined: a few hundred
rows at most, never the capture's values). :func:`javascript` is Vega, Vega-Lite and
Vega-Embed bundled into one script by ``vl-convert`` (no CDN): the page draws every chart
with it, offline.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from arthur_capture.dependencies import require

if TYPE_CHECKING:
    from types import ModuleType

    from arthur_capture.report._stats import AttributeStats, CaptureStats

__all__ = [
    "attribute_chart",
    "batch_chart",
    "hourly_chart",
    "javascript",
    "rejects_chart",
]

_PURPOSE: Final = "the capture report's charts"
WIDE: Final = 680
"""The width of the page's main charts, in pixels."""
_SMALL_WIDTH: Final = 180
_SMALL_HEIGHT: Final = 48


def _altair() -> ModuleType:
    return require("altair", _PURPOSE)


def _counts(alt: ModuleType, largest: int) -> Any:
    """An axis of whole counts up to ``largest``: no ticks between whole numbers."""
    return alt.Axis(tickMinStep=1, tickCount=max(1, min(largest, 8)), format=",d")


def javascript() -> str:
    """Vega, Vega-Lite and Vega-Embed in one script that sets ``window.vegaEmbed``.

    The Vega-Lite version is the one altair writes its specifications for.

    Raises:
        MissingDependencyError: altair or vl-convert-python is not installed.
    """
    _altair()
    vl_convert = require("vl_convert", _PURPOSE)
    from altair.utils._importers import vl_version_for_vl_convert  # noqa: PLC0415

    script: str = vl_convert.javascript_bundle(vl_version=vl_version_for_vl_convert())
    return script


def _spec(chart: Any) -> dict[str, Any]:
    spec: dict[str, Any] = chart.to_dict()
    return spec


def hourly_chart(stats: CaptureStats) -> dict[str, Any] | None:
    """Inferences per hour (or per day), stacked by endpoint and variant."""
    alt = _altair()
    rows: list[dict[str, Any]] = [
        {
            "time": bucket.isoformat(),
            "series": f"{endpoint} / {variant}",
            "inferences": count,
        }
        for (bucket, endpoint, variant), count in sorted(
            stats.hourly.counts.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2])
        )
    ]
    if not rows:
        return None
    totals: dict[str, int] = {}
    for row in rows:
        totals[row["time"]] = totals.get(row["time"], 0) + row["inferences"]
    tallest = max(totals.values())
    unit = "utcyearmonthdate" if stats.per_day else "utcyearmonthdatehours"
    label = "day (UTC)" if stats.per_day else "hour (UTC)"
    chart = (
        alt.Chart(alt.Data(values=rows))
        .mark_bar()
        .encode(
            x=alt.X(f"{unit}(time):T", title=label),
            y=alt.Y("sum(inferences):Q", title="inferences", axis=_counts(alt, tallest)),
            color=alt.Color("series:N", title="endpoint / variant"),
            tooltip=[
                alt.Tooltip(f"{unit}(time):T", title=label),
                alt.Tooltip("series:N", title="endpoint / variant"),
                alt.Tooltip("sum(inferences):Q", title="inferences"),
            ],
        )
        .properties(width=WIDE, height=220)
    )
    return _spec(chart)


def batch_chart(stats: CaptureStats) -> dict[str, Any] | None:
    """Calls by batch size (inferences per call): 1 to 10, then powers of two."""
    alt = _altair()
    rows = [
        {"size": str(low) if low == high else f"{low}-{high}", "order": low, "calls": count}
        for (low, high), count in sorted(stats.batches.items())
    ]
    if not rows:
        return None
    chart = (
        alt.Chart(alt.Data(values=rows))
        .mark_bar()
        .encode(
            x=alt.X(
                "size:O",
                sort=alt.EncodingSortField("order"),
                title="inferences per call",
                axis=alt.Axis(labelAngle=0),
            ),
            y=alt.Y("calls:Q", title="calls", axis=_counts(alt, max(stats.batches.values()))),
            tooltip=["size:O", "calls:Q"],
        )
        .properties(width=WIDE, height=180)
    )
    return _spec(chart)


def rejects_chart(by_reason: dict[str, int]) -> dict[str, Any] | None:
    """Rejects (lines and inferences) by reason code."""
    alt = _altair()
    rows = [{"reason": reason, "rejects": count} for reason, count in sorted(by_reason.items())]
    if not rows:
        return None
    chart = (
        alt.Chart(alt.Data(values=rows))
        .mark_bar(color="#c0392b")
        .encode(
            y=alt.Y("reason:N", sort="-x", title=None),
            x=alt.X("rejects:Q", title="rejects", axis=_counts(alt, max(by_reason.values()))),
            tooltip=["reason:N", "rejects:Q"],
        )
        .properties(width=WIDE - 180, height=alt.Step(22))
    )
    return _spec(chart)


def attribute_chart(stats: AttributeStats) -> dict[str, Any] | None:
    """A small histogram (numbers, from the sample) or top-categories chart of one attribute."""
    alt = _altair()
    if stats.numeric:
        bins = stats.histogram()
        if not bins:
            return None
        chart = (
            alt.Chart(alt.Data(values=bins))
            .mark_bar(color="#4c78a8")
            .encode(
                x=alt.X("start:Q", bin="binned", title=None, axis=alt.Axis(labelFontSize=9)),
                x2="end:Q",
                y=alt.Y("share:Q", title=None, axis=None),
                tooltip=[
                    alt.Tooltip("start:Q", format=".4~g"),
                    alt.Tooltip("end:Q", format=".4~g"),
                    alt.Tooltip("share:Q", format=".1%"),
                ],
            )
        )
    else:
        rows = [{"value": str(v), "count": c} for v, c in stats.top.most_common(5)]
        if stats.trues or stats.falses:
            rows = [
                {"value": "true", "count": stats.trues},
                {"value": "false", "count": stats.falses},
            ]
        if not rows:
            return None
        chart = (
            alt.Chart(alt.Data(values=rows))
            .mark_bar(color="#72b7b2")
            .encode(
                y=alt.Y("value:N", sort="-x", title=None, axis=alt.Axis(labelLimit=80)),
                x=alt.X("count:Q", title=None, axis=None),
                tooltip=["value:N", "count:Q"],
            )
        )
    return _spec(chart.properties(width=_SMALL_WIDTH, height=_SMALL_HEIGHT))
