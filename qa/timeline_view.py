"""The Timeline tab's HTML: the series plot, the reports that differ, and the entries grouped by period.

The plot is an inline SVG drawn here rather than a Gradio plot component, because each
point must be a link to its entry's citation card (`#tl-<n>`), which Gradio's plots do
not offer; `static/ui.js` marks the card a point or a [n] leads to. Every text from an
article is escaped. Left out: building the timeline (`timelines.py`) and the page's layout (`ui.py`).
"""

from __future__ import annotations

import html
from datetime import date

from .answer_view import source_card
from .series import Reading
from .timelines import Timeline

PLOT_WIDTH, PLOT_HEIGHT, MARGIN = 640, 220, 48


def _x_date(reading: Reading) -> str:
    """Where a figure goes on the time axis: the end of its reference period, else its publication date."""
    return reading.period.end if reading.period else reading.published


def plotted(timeline: Timeline) -> list[Reading]:
    """The readings the plot shows: those in the unit most entries report, so one axis fits them."""
    units = [r.unit == "%" for r in timeline.series if not r.earlier]
    if not units:
        return []
    percent = units.count(True) > len(units) / 2
    return [r for r in timeline.series if (r.unit == "%") == percent]


def series_svg(timeline: Timeline) -> str:
    """The figures over time as an SVG whose points link to their entries; "" when no entry gives a figure."""
    readings = plotted(timeline)
    if not readings:
        return ""
    days = [date.fromisoformat(_x_date(r)).toordinal() for r in readings]
    values = [r.value for r in readings]
    low_day, high_day = min(days), max(days)
    low, high = min(values), max(values)
    spread_day, spread = (high_day - low_day) or 1, (high - low) or abs(high) or 1.0
    width, height = PLOT_WIDTH - 2 * MARGIN, PLOT_HEIGHT - 2 * MARGIN

    def x(day: int) -> float:
        return MARGIN + (day - low_day) / spread_day * width if high_day > low_day else MARGIN + width / 2

    def y(value: float) -> float:
        return MARGIN + height - (value - low) / spread * height if high > low else MARGIN + height / 2

    esc = html.escape
    main = sorted((d, v) for d, v, r in zip(days, values, readings, strict=True) if not r.earlier)
    line = " ".join(f"{x(d):.1f},{y(v):.1f}" for d, v in main)
    points = []
    for day, reading in zip(days, readings, strict=True):
        period = reading.period.label if reading.period else "no period stated"
        kind = "earlier-period figure in" if reading.earlier else "reported"
        tip = f"{reading.written} for {period}; {kind} [{reading.number}] of {reading.published}"
        points.append(
            f'<a href="#tl-{reading.number}" class="tl-point" data-entry="{reading.number}">'
            f'<circle cx="{x(day):.1f}" cy="{y(reading.value):.1f}" r="5" '
            f'class="{"tl-earlier" if reading.earlier else "tl-reported"}"><title>{esc(tip)}</title></circle></a>'
        )
    unit = esc(readings[0].unit)
    labels = (
        f'<text x="{MARGIN}" y="{PLOT_HEIGHT - 12}" class="tl-axis">{date.fromordinal(low_day).isoformat()}</text>'
        f'<text x="{PLOT_WIDTH - MARGIN}" y="{PLOT_HEIGHT - 12}" text-anchor="end" class="tl-axis">'
        f"{date.fromordinal(high_day).isoformat()}</text>"
        f'<text x="4" y="{MARGIN - 8}" class="tl-axis">{esc(_short(high))} {unit}</text>'
        f'<text x="4" y="{MARGIN + height + 14}" class="tl-axis">{esc(_short(low))} {unit}</text>'
    )
    return (
        f'<svg class="tl-plot" role="img" viewBox="0 0 {PLOT_WIDTH} {PLOT_HEIGHT}" width="100%" '
        f'aria-label="Figures over time for {esc(timeline.topic)}">'
        f'<polyline points="{line}" class="tl-line" fill="none"/>{"".join(points)}{labels}</svg>'
    )


def _short(value: float) -> str:
    for scale, suffix in ((1e12, " trillion"), (1e9, " billion"), (1e6, " million")):
        if abs(value) >= scale:
            return f"{value / scale:,.2f}{suffix}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def timeline_html(timeline: Timeline) -> str:
    """The whole tab's result: a summary line, the plot, the disagreements, and the entries by period."""
    esc = html.escape
    if not timeline.entries:
        return (f'<p class="tl-empty">No dated article states “{esc(timeline.topic)}” '
                f"(of {timeline.candidates} retrieved). Try other words or a wider date range.</p>")
    parts = [
        f'<p class="tl-summary">{len(timeline.entries)} reports on “{esc(timeline.topic)}”, '
        f"{esc(timeline.entries[0].date)} to {esc(timeline.entries[-1].date)}, grouped by {timeline.grain}; "
        f"each [n] and each point of the plot links to its source.</p>",
        series_svg(timeline),
    ]
    for disagreement in timeline.disagreements:
        items = "".join(
            f'<li><a href="#tl-{r.number}">[{r.number}]</a> {esc(r.written)}, reported {esc(r.published)}'
            f'{" — revision" if r in disagreement.revisions else ""}: “{esc(r.sentence)}”</li>'
            for r in disagreement.readings
        )
        parts.append(f'<div class="tl-conflict"><strong>Reports differ for {esc(disagreement.period.label)}</strong>'
                     f"<ul>{items}</ul></div>")
    group = None
    for entry in timeline.entries:
        if entry.group != group:
            if group is not None:
                parts.append("</section>")
            group = entry.group
            parts.append(f'<section class="tl-group"><h3>{esc(group)}</h3>')
        figure = ""
        if entry.reading:
            period = f" for {entry.reading.period.label}" if entry.reading.period else ""
            figure = f' <span class="tl-figure">{esc(entry.reading.written)}{esc(period)}</span>'
        copies = entry.citation.also_reported_by
        also = f'<div class="tl-also">Also: {esc(", ".join(copies))}</div>' if copies else ""
        parts.append(
            f'<div class="tl-entry"><p class="tl-line-text"><span class="tl-date">{esc(entry.date)}</span> '
            f'{esc(entry.sentence)} <a class="cite" href="#tl-{entry.citation.number}">[{entry.citation.number}]</a>'
            f"{figure}</p>"
            + source_card(entry.citation, anchor=f"tl-{entry.citation.number}", spans=[entry.citation.span])
            + f"{also}</div>"
        )
    parts.append("</section>")
    return f'<div class="tl-result">{"".join(parts)}</div>'
