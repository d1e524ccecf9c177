"""The 统计与监测 charts, as HTML written into the page at build time.

Every word and number of a chart is the page's own text: it is as large as the page's (never below
12 px on a 320 px phone), grows with 大字版, wraps instead of being cut, and a chart takes the
column's width on any screen. Only the shapes (bars, the line, grid and threshold) are drawn, in
inline SVG stretched to their box (``preserveAspectRatio="none"``, strokes that do not scale) and
hidden from screen readers: the labels and values beside them, the caption and the data table
say it all. Geometry is given as SVG attributes, never as inline styles, so the page's
``Content-Security-Policy: default-src 'self'`` holds. The same numbers give the same bytes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from markupsafe import Markup

BAR_SCALE = 1000  # an hbar's viewBox width: the bar's share of its track, in thousandths
PLOT_HEIGHT = 100  # a time chart's viewBox height
SLOT = 10  # a time chart's viewBox width per month
SHAPES = 'aria-hidden="true" focusable="false" preserveAspectRatio="none"'
# Before a flagged row's label: seen as ⚠, read as 预警
ALERT_MARK = Markup('<span aria-hidden="true">⚠ </span><span class="visually-hidden">预警：</span>')


def _fmt(value: float, percent: bool) -> str:
    return f"{value * 100:.1f}%" if percent else f"{int(value):,}"


def _num(value: float) -> str:
    """A coordinate, short and stable: at most two decimals, no trailing zeros."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _caption(alt: str) -> Markup:
    return Markup('<figcaption class="visually-hidden">{}</figcaption>').format(alt)


def hbar_html(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    alt: str = "",
    percent: bool = False,
    alert: Sequence[bool] | None = None,
    threshold: float | None = None,
) -> Markup:
    """Horizontal bars, one per label: the label on its own line (a long department name gets the
    full width), the bar below it with its value after it; flagged rows marked ⚠ and red."""
    top = 1.0 if percent else max([*values, threshold or 0, 1e-9])
    rows = []
    for i, (label, value) in enumerate(zip(labels, values)):
        flagged = bool(alert and alert[i])
        width = _num(BAR_SCALE * max(0.0, min(1.0, value / top)))
        line = ""
        if threshold is not None:
            x = _num(BAR_SCALE * threshold / top)
            line = f'<line class="threshold" x1="{x}" x2="{x}" y1="0" y2="10"/>'
        rows.append(
            Markup(
                '<li{cls}><span class="hbar-label">{mark}{label}</span><span class="hbar-row">'
                '<svg class="hbar-track" viewBox="0 0 {scale} 10" {shapes}>'
                '<rect class="bar" width="{width}" height="10"/>{line}</svg>'
                '<span class="hbar-value">{value}</span></span></li>'
            ).format(
                cls=Markup(' class="alert"') if flagged else "",
                mark=ALERT_MARK if flagged else "",
                label=label,
                scale=BAR_SCALE,
                shapes=Markup(SHAPES),
                width=width,
                line=Markup(line),
                value=_fmt(value, percent),
            )
        )
    return Markup('<figure class="chart chart-hbar">{}<ol class="hbars">{}</ol></figure>').format(
        _caption(alt), Markup("").join(rows)
    )


def nice_top(value: float) -> int:
    """The smallest of 2, 4, 6, 8 or 10 × 10^k at or above ``value``: a round top whose half, the
    middle grid line, is a whole round number too."""
    power = 10 ** max(0, math.floor(math.log10(max(value, 1))))
    return next(step * power for step in (2, 4, 6, 8, 10) if step * power >= value)


def _months_axis(labels: Sequence[str], every: int) -> Markup:
    """The month labels below a time chart: every ``every``-th month (the last always), each at
    the right end of its group of months (year over month: narrow enough for a phone)."""
    groups: list[Markup] = []
    end = len(labels)
    while end > 0:
        start = max(0, end - every)
        year, _, month = labels[end - 1].partition("-")
        text = Markup("{}<br>{}月").format(year, int(month)) if month.isdigit() else labels[end - 1]
        groups.append(Markup('<span class="months-{}">{}</span>').format(end - start, text))
        end = start
    return Markup('<div class="time-x" aria-hidden="true">{}</div>').format(
        Markup("").join(reversed(groups))
    )


def _time_chart(
    kind: str, shapes: str, ticks: Sequence[str], labels: Sequence[str], alt: str, every: int
) -> Markup:
    width = SLOT * max(1, len(labels))
    grid = "".join(
        f'<line class="grid" x1="0" x2="{width}" y1="{y}" y2="{y}"/>'
        for y in (0, PLOT_HEIGHT / 2, PLOT_HEIGHT)
    )
    return Markup(
        '<figure class="chart chart-time chart-{kind}">{caption}'
        '<div class="time-y" aria-hidden="true">{ticks}</div>'
        '<svg class="time-shapes" viewBox="0 0 {width} {height}" {attrs}>{grid}{shapes}</svg>'
        "{axis}</figure>"
    ).format(
        kind=kind,
        caption=_caption(alt),
        ticks=Markup("").join(Markup("<span>{}</span>").format(t) for t in reversed(ticks)),
        width=width,
        height=PLOT_HEIGHT,
        attrs=Markup(SHAPES),
        grid=Markup(grid),
        shapes=Markup(shapes),
        axis=_months_axis(labels, every),
    )


def _y(value: float, top: float) -> str:
    return _num(PLOT_HEIGHT * (1 - max(0.0, min(1.0, value / top))))


def vbar_html(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    alt: str = "",
    percent: bool = False,
    every: int = 6,
) -> Markup:
    """Vertical bars over time (months), a grid line at 0, half and the top."""
    top = 1.0 if percent else nice_top(max([*values, 0]))
    bars = "".join(
        f'<rect class="bar" x="{_num(SLOT * i + 1.5)}" y="{_y(v, top)}" width="7"'
        f' height="{_num(PLOT_HEIGHT - float(_y(v, top)))}"/>'
        for i, v in enumerate(values)
        if v
    )
    ticks = ["0%", "50%", "100%"] if percent else [_fmt(v, False) for v in (0, top / 2, top)]
    return _time_chart("vbar", bars, ticks, labels, alt, every)


def line_html(
    labels: Sequence[str],
    values: Sequence[float | None],
    *,
    alt: str = "",
    threshold: float | None = None,
    every: int = 6,
) -> Markup:
    """A share over time (0–1): a line with a dot per month, gaps where a month has no records;
    the threshold as a dashed line."""
    runs: list[list[str]] = [[]]
    dots = []
    for i, v in enumerate(values):
        if v is None:
            runs.append([])
            continue
        point = f"{_num(SLOT * i + SLOT / 2)},{_y(v, 1.0)}"
        runs[-1].append(point)
        dots.append(f"M{point}h0")
    shapes = "".join(
        f'<polyline class="line" points="{" ".join(run)}"/>' for run in runs if len(run) > 1
    )
    if dots:
        shapes += f'<path class="dots" d="{"".join(dots)}"/>'
    if threshold is not None:
        y = _y(threshold, 1.0)
        shapes += f'<line class="threshold" x1="0" x2="{SLOT * len(labels)}" y1="{y}" y2="{y}"/>'
    return _time_chart("line", shapes, ["0%", "50%", "100%"], labels, alt, every)


# 评价等级 → the class of its cell (colours in site.css); a missing year is "—"
GRADE_CLASSES = {"优秀": "grade-a", "良好": "grade-b", "一般": "grade-c", "较差": "grade-d"}


def grades_html(
    labels: Sequence[str],
    columns: Sequence[str],
    grades: Sequence[Sequence[str | None]],
    *,
    alt: str = "",
    alert: Sequence[bool] | None = None,
) -> Markup:
    """A grid of 评价等级: one row per body (its name on its own line, like :func:`hbar_html`),
    one cell per year headed by the year, each grade written in its cell on the grade's colour;
    flagged rows (a latest 较差 or a fall) marked ⚠."""
    heads = Markup("").join(Markup('<span class="grade-year">{}</span>').format(c) for c in columns)
    rows = []
    for i, (label, row) in enumerate(zip(labels, grades)):
        flagged = bool(alert and alert[i])
        cells = Markup("").join(
            Markup(
                '<span class="grade {}"><span class="visually-hidden">{}：</span>{}</span>'
            ).format(GRADE_CLASSES.get(grade or "", "grade-none"), column, grade or "—")
            for column, grade in zip(columns, row)
        )
        rows.append(
            Markup(
                '<li{cls}><span class="hbar-label">{mark}{label}</span>'
                '<span class="grade-row">{cells}</span></li>'
            ).format(
                cls=Markup(' class="alert"') if flagged else "",
                mark=ALERT_MARK if flagged else "",
                label=label,
                cells=cells,
            )
        )
    return Markup(
        '<figure class="chart chart-grades">{}<div class="grade-heads" aria-hidden="true">'
        '<span class="hbar-label"></span><span class="grade-row">{}</span></div>'
        '<ol class="grades">{}</ol></figure>'
    ).format(_caption(alt), heads, Markup("").join(rows))
