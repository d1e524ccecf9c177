"""Static SVG charts for the 统计与监测 pages, drawn with matplotlib at build time.

Designed for a 320 px phone first: narrow figures whose labels sit above the bars (long Chinese
department names get the full width), 14 px text. Text stays text in the SVG (``svg.fonttype =
none``: small files, readable by the browser's CJK fonts). The same numbers give the same bytes:
no date in the metadata, a fixed id salt, and only the object-oriented API (no pyplot state).
Shown through ``<img>``, so no script ever runs and the page's CSP is untouched.
"""

from __future__ import annotations

import io
import logging
import warnings
from collections.abc import Sequence
from typing import Any

import matplotlib
import matplotlib.ticker
from matplotlib.figure import Figure

WIDTH_IN = 3.75  # 360 px at 96 px/in: a phone's width; scales up on a desktop
FONT_PT = 12  # 16 px: still ≥ 12 px when a 320 px phone scales the chart down
COLOR = "#1d4f91"
ALERT = "#b3261e"
GRID = "#d5dbe3"
TEXT = "#1f2933"

matplotlib.rcParams.update(
    {
        "svg.fonttype": "none",
        "svg.hashsalt": "xinyong-yancheng",
        "font.family": "sans-serif",
        "font.sans-serif": [
            "Noto Sans CJK SC",
            "Source Han Sans SC",
            "WenQuanYi Zen Hei",
            "Microsoft YaHei",
            "DejaVu Sans",
        ],
        "font.size": FONT_PT,
        "axes.edgecolor": GRID,
        "text.color": TEXT,
        "axes.labelcolor": TEXT,
        "xtick.color": TEXT,
        "ytick.color": TEXT,
    }
)
logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)


def _svg(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        # A build machine without CJK fonts: glyph warnings, same layout rules
        warnings.simplefilter("ignore")
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": "信用盐城"})
    return buffer.getvalue()


def _fmt(value: float, percent: bool) -> str:
    return f"{value * 100:.1f}%" if percent else f"{int(value):,}"


def _row_label(ax: Any, y: float, label: str, flagged: bool) -> None:
    """A row's label, written above its bar or cells at the left edge (the full width for a long
    name); a flagged one in the alert colour, after a ⚠."""
    ax.text(
        0,
        y + 0.27,
        ("⚠ " if flagged else "") + str(label),
        va="bottom",
        ha="left",
        fontsize=FONT_PT,
        color=ALERT if flagged else TEXT,
    )


def hbar_svg(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    percent: bool = False,
    alert: Sequence[bool] | None = None,
    threshold: float | None = None,
) -> bytes:
    """Horizontal bars, one per label, each label written above its bar and its value after it."""
    rows = max(1, len(labels))
    fig = Figure(figsize=(WIDTH_IN, 0.2 + 0.56 * rows))
    ax = fig.add_axes((0.02, 0.01, 0.78, 0.98))
    top = max([*values, threshold or 0, 1e-9]) if not percent else 1.0
    for i, (label, value) in enumerate(zip(labels, values)):
        y = rows - 1 - i
        flagged = bool(alert and alert[i])
        ax.barh(y, value, height=0.38, color=ALERT if flagged else COLOR)
        _row_label(ax, y, label, flagged)
        ax.text(
            value + top * 0.02, y, _fmt(value, percent), va="center", ha="left", fontsize=FONT_PT
        )
    if threshold is not None:
        ax.axvline(threshold, color=ALERT, linewidth=1, linestyle="--")
    ax.set_xlim(0, top)
    ax.set_ylim(-0.5, rows - 0.1)
    ax.axis("off")
    return _svg(fig)


def _time_axes() -> tuple[Figure, Any]:
    fig = Figure(figsize=(WIDTH_IN, 2.8))
    return fig, fig.add_axes((0.16, 0.16, 0.8, 0.78))


def _month_axis(ax: Any, labels: Sequence[str], every: int) -> None:
    """After plotting: every ``every``-th month written (the last always), light grid, open frame."""
    shown = [i for i in range(len(labels)) if i % every == (len(labels) - 1) % every]
    ax.set_xticks(shown, [labels[i] for i in shown], fontsize=FONT_PT - 2.5)
    ax.tick_params(axis="y", labelsize=FONT_PT - 2.5)
    ax.grid(axis="y", color=GRID, linewidth=0.6)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def vbar_svg(
    labels: Sequence[str], values: Sequence[float], *, percent: bool = False, every: int = 6
) -> bytes:
    """Vertical bars over time (months)."""
    fig, ax = _time_axes()
    ax.bar(range(len(labels)), values, color=COLOR, width=0.7)
    _month_axis(ax, labels, every)
    ax.set_axisbelow(True)
    if percent:
        ax.set_ylim(0, 1)
        ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0, decimals=0))
    else:
        ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{int(v):,}"))
    return _svg(fig)


def line_svg(
    labels: Sequence[str],
    values: Sequence[float | None],
    *,
    threshold: float | None = None,
    every: int = 6,
) -> bytes:
    """A share over time (0–1), gaps where a month has no records; the threshold as a dashed line."""
    fig, ax = _time_axes()
    ax.plot(
        range(len(labels)),
        [float("nan") if v is None else v for v in values],
        color=COLOR,
        marker="o",
        markersize=3,
        linewidth=1.6,
    )
    if threshold is not None:
        ax.axhline(threshold, color=ALERT, linewidth=1, linestyle="--")
    _month_axis(ax, labels, every)
    ax.set_ylim(0, 1.02)
    ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0, decimals=0))
    return _svg(fig)


# A grade's cell: background and text colour (text contrast ≥ 4.5:1); the grade is written in it,
# so colour is never the only cue
GRADE_COLORS = {
    "优秀": (COLOR, "#ffffff"),
    "良好": ("#cfe0f5", TEXT),
    "一般": ("#f6dd9a", TEXT),
    "较差": (ALERT, "#ffffff"),
}
MISSING = "#5f6b7a"


def grades_svg(
    labels: Sequence[str],
    columns: Sequence[str],
    grades: Sequence[Sequence[str | None]],
    *,
    alert: Sequence[bool] | None = None,
) -> bytes:
    """A grid: one row per label (written above its cells, like :func:`hbar_svg`), one column per
    heading (years), each cell its grade written on the grade's colour; "—" where there is none."""
    rows, cols = max(1, len(labels)), max(1, len(columns))
    fig = Figure(figsize=(WIDTH_IN, 0.45 + 0.62 * rows))
    ax = fig.add_axes((0.02, 0.01, 0.96, 0.98))
    for j, heading in enumerate(columns):
        ax.text(j + 0.5, rows + 0.05, str(heading), ha="center", va="bottom", fontsize=FONT_PT)
    for i, (label, row) in enumerate(zip(labels, grades)):
        y = rows - 1 - i
        _row_label(ax, y, label, bool(alert and alert[i]))
        for j, grade in enumerate(row):
            background, ink = GRADE_COLORS.get(grade or "", (None, MISSING))
            if background:
                ax.barh(y, 0.92, left=j + 0.04, height=0.42, color=background)
            ax.text(j + 0.5, y, grade or "—", ha="center", va="center", fontsize=FONT_PT, color=ink)
    ax.set_xlim(0, cols)
    ax.set_ylim(-0.5, rows + 0.6)
    ax.axis("off")
    return _svg(fig)
