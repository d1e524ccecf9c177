"""统计与监测: the numbers behind the monitoring pages, computed once per build with pandas.

Pure functions over the publication state (work plan 二(十八)(十九)). Everything counts only
what is published on ``today``, except 双公示 timeliness, which is about approvals: it counts
every approved penalty and licence, including records that have since expired or were taken
down (the page says so). Ties are broken by name, so the same input gives the same tables.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import cache
from .publication import State
from .schema import EVALUATION_GRADES, KINDS
from .settings import Config
from .sitemodel import Entity

OTHER_COUNTY = "市级或未识别"
STATS_CACHE_DIR = ".cache/stats"  # under the site root; safe to delete
COUNTS_PURPOSE = "stats-counts/2"  # the overview's parts per batch (2: data only, authenticated: generator.cache)
TIMELINESS_PURPOSE = "stats-timeliness/2"
_CODE_DIGEST = cache.code_digest("stats")  # this module's code and its imports', as imported


@dataclass
class Table:
    """Raw values (the CSV) and their display (the HTML table): rates as percentages."""

    columns: list[str]
    rows: list[list[Any]]

    def display(self) -> list[list[str]]:
        return [
            [_cell(column, value) for column, value in zip(self.columns, row)] for row in self.rows
        ]


def _cell(column: str, value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        if column.endswith("率"):
            return f"{value * 100:.1f}%"
        return str(int(value)) if value.is_integer() else f"{value:.1f}"
    return str(value)


@dataclass
class Section:
    """One chart (or none), its data table and CSV (``stats/<name>.csv``), and notes."""

    name: str
    title: str
    table: Table
    chart: str | None = None  # "hbar" | "vbar" | "line" | "grades"
    labels: list[str] = field(default_factory=list)
    values: list[Any] = field(default_factory=list)
    percent: bool = False
    alert: list[bool] | None = None
    threshold: float | None = None
    columns: list[str] = field(default_factory=list)  # a grid chart's column headings
    alt: str = ""
    notes: list[str] = field(default_factory=list)
    html: str = ""  # the chart (generator.charts), set when the page is written


@dataclass
class StatsPage:
    slug: str
    title: str
    intro: str
    sections: list[Section]


def months_back(today: dt.date, count: int) -> list[str]:
    """The ``count`` months ending with ``today``'s month, oldest first, as 'YYYY-MM'."""
    year, month = today.year, today.month
    result = []
    for _ in range(count):
        result.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return result[::-1]


def _ranked(counts: Counter) -> list[tuple[str, int]]:
    """Counts, most first, ties by name."""
    return sorted(((str(k), int(v)) for k, v in counts.items()), key=lambda kv: (-kv[1], kv[0]))


# -- the published set, counted -----------------------------------------------------------------
#
# One pass per kind over the in-memory briefs, counting the few distinct values (authorities,
# region codes, months, behaviours) first and interpreting each distinct value once: at 10^6
# records a pandas frame of every record and its string operations took most of the statistics.

PENALTY_TYPE_SEPARATORS = re.compile(r"[;；、,，]")


def county_finder(cfg: Config) -> Callable[[str, str], str]:
    """(authority, region code) → county: the county named in the authority (``盐城市滨海县…`` →
    滨海县, longest name first), else the county of the region code (positions 3–8 of the subject's
    credit code), else :data:`OTHER_COUNTY`."""
    names = sorted({name for name in cfg.COUNTIES.values() if name}, key=len, reverse=True)
    pattern = re.compile("|".join(map(re.escape, names))) if names else None

    def county(authority: str, region: str) -> str:
        found = pattern.search(authority) if pattern else None
        return found.group(0) if found else (cfg.COUNTIES.get(region) or OTHER_COUNTY)

    return county


@dataclass
class PublishedCounts:
    """What the overview shows, counted over every published record."""

    by_month_kind: Counter = field(default_factory=Counter)  # (YYYY-MM, kind) → records
    by_county: Counter = field(default_factory=Counter)
    behaviours: Counter = field(default_factory=Counter)  # penalties' 违法行为类型, filled ones
    # Penalties' 处罚类别, each of several counted
    penalty_types: Counter = field(default_factory=Counter)


def published_counts(
    state: State, cfg: Config, folder: Path | None = None, salt: str = ""
) -> PublishedCounts:
    """What the overview counts, summed over the approved batches' published records: each
    batch's part depends only on which of its records are published, so with ``folder`` a batch
    none of whose records came or went since the last build is not read again (at 10^6 records
    a pass over every brief is a pass over 10^6 objects, on every nightly build)."""
    counts = PublishedCounts()
    places: Counter = Counter()
    type_texts: Counter = Counter()
    for by_month_kind, part_places, behaviours, part_types in _batch_parts(state, folder, salt):
        counts.by_month_kind.update(by_month_kind)
        places.update(part_places)
        counts.behaviours.update(behaviours)
        type_texts.update(part_types)
    county = county_finder(cfg)
    for (authority, region), n in sorted(places.items()):
        counts.by_county[county(authority, region)] += n
    for text, n in sorted(type_texts.items()):  # each distinct 处罚类别 text split once
        for part in PENALTY_TYPE_SEPARATORS.split(text):
            if part.strip():
                counts.penalty_types[part.strip()] += n
    return counts


# (month, kind), (authority, region), 违法行为类型, 处罚类别 text → records
_Part = tuple[Counter, Counter, Counter, Counter]


def _part(name: str, records: list) -> _Part:
    """One pass over the briefs of one batch's (or kind's) published records: every brief is read
    once, into a tuple of the values counted."""
    kind = KINDS[name]
    date, authority, code = kind.date, kind.authority, kind.subject_code or ""
    if name == "penalty":
        seen = Counter(
            (
                b[date][:7],
                b.get(authority),
                str(b.get(code) or "")[2:8],
                b.get("违法行为类型"),
                b.get("处罚类别"),
            )
            for b in [r.brief for r in records]
        )
    else:
        seen = Counter(
            (b[date][:7], b.get(authority), str(b.get(code) or "")[2:8], None, None)
            for b in [r.brief for r in records]
        )
    by_month_kind: Counter = Counter()
    places: Counter = Counter()
    behaviours: Counter = Counter()
    type_texts: Counter = Counter()
    for (month, where, region, behaviour, types), n in seen.items():
        by_month_kind[month, name] += n
        places[str(where or ""), region] += n
        if behaviour:
            behaviours[str(behaviour)] += n
        if types:
            type_texts[str(types)] += n
    return by_month_kind, places, behaviours, type_texts


def _batch_parts(state: State, folder: Path | None, salt: str) -> list[_Part]:
    """:func:`_part` per approved batch, those of unchanged batches read from ``folder``."""
    found = counts_entry(folder, salt) if folder is not None else None
    known = _read_parts(found) if found is not None else {}
    used: dict[bytes, _Part]
    parts, used = [], {}
    for batch_id, name, records in state.by_source():
        h = hashlib.blake2b(repr((batch_id, name)).encode("utf-8"), digest_size=16)
        h.update("\n".join([r.id for r in records]).encode("utf-8"))
        key = h.digest()
        part = known.get(key)
        if part is None:
            part = _part(name, records)
        parts.append(used.setdefault(key, part))
    if found is not None and used.keys() != known.keys():
        _write_parts(found, used)
    elif found is not None:
        with contextlib.suppress(OSError):
            os.utime(found.path)
    return parts


def counts_entry(folder: Path, salt: str) -> cache.Entry:
    """Where the overview's parts are kept: one file per fingerprint (``salt``) and version of this code."""
    return cache.entry(folder, COUNTS_PURPOSE, salt, _CODE_DIGEST, prefix="counts-")


def _write_parts(found: cache.Entry, parts: dict[bytes, _Part]) -> None:
    cache.put(found, [[key, *map(_counted, part)] for key, part in parts.items()])


def _counted(counter: Counter) -> list[list]:
    """A part's counter as data: its keys (a tuple key as a list) and its counts."""
    return [[list(key) if type(key) is tuple else key for key in counter], list(counter.values())]


def _read_parts(found: cache.Entry) -> dict[bytes, _Part]:
    """The parts kept in ``found`` by batch key, or none when it is missing, not authentic or unreadable."""
    try:
        return {
            key: (
                Counter(dict(zip(map(tuple, by_month_kind[0]), by_month_kind[1], strict=True))),
                Counter(dict(zip(map(tuple, places[0]), places[1], strict=True))),
                Counter(dict(zip(*behaviours, strict=True))),
                Counter(dict(zip(*types, strict=True))),
            )
            for key, by_month_kind, places, behaviours, types in cache.get(found) or ()
        }
    except (TypeError, ValueError):
        return {}


# -- pages --------------------------------------------------------------------------------------


def overview(state: State, cfg: Config, folder: Path | None = None, salt: str = "") -> StatsPage:
    # Why long: the 概览 page's sections in the order the page shows them.
    counts = published_counts(state, cfg, folder, salt)
    labels = {name: kind.label for name, kind in KINDS.items()}
    by_kind = [(labels[name], len(state.published.get(name, []))) for name in KINDS]
    months = months_back(state.today, cfg.STATS_MONTHS)
    month_rows = [
        [
            m,
            *[counts.by_month_kind[m, k] for k in KINDS],
            sum(counts.by_month_kind[m, k] for k in KINDS),
        ]
        for m in months
    ]
    county = _ranked(counts.by_county)
    behaviours = _ranked(counts.behaviours)[: cfg.STATS_TOP_N]
    types = _ranked(counts.penalty_types)[: cfg.STATS_TOP_N]
    total = state.total
    return StatsPage(
        "index",
        "统计与监测",
        f"截至{state.today.year}年{state.today.month}月{state.today.day}日，本站公示信息共 {total} 条。"
        "以下统计只计入当天仍在公示期内、未撤下的信息，每晚随网站一同更新。",
        [
            Section(
                "by-kind",
                "各类信息公示数量",
                Table(["类别", "条数"], [list(x) for x in by_kind]),
                "hbar",
                [x[0] for x in by_kind],
                [x[1] for x in by_kind],
                alt=_alt("各类信息公示数量", by_kind),
            ),
            Section(
                "by-month",
                f"近 {cfg.STATS_MONTHS} 个月每月新增公示（按决定日期）",
                Table(["月份", *[labels[k] for k in KINDS], "合计"], month_rows),
                "vbar",
                months,
                [r[-1] for r in month_rows],
                alt=f"近 {cfg.STATS_MONTHS} 个月每月公示数量柱状图，最近一个月 {month_rows[-1][-1]} 条。",
                notes=["按决定（认定、授予）日期归入月份；只计入现仍公示的信息。"],
            ),
            Section(
                "by-county",
                "各县（市、区）公示数量",
                Table(["县（市、区）", "条数"], [list(x) for x in county]),
                "hbar",
                [x[0] for x in county],
                [x[1] for x in county],
                alt=_alt("各县（市、区）公示数量", county),
                notes=[
                    "按作出决定的机关名称中的县（市、区）归属；机关为市级的，"
                    "按主体统一社会信用代码第 3–8 位的登记管理机关行政区划码归属。"
                ],
            ),
            Section(
                "top-behaviours",
                f"行政处罚：违法行为类型前 {cfg.STATS_TOP_N} 位",
                Table(["违法行为类型", "条数"], [list(x) for x in behaviours]),
                "hbar",
                [x[0] for x in behaviours],
                [x[1] for x in behaviours],
                alt=_alt("违法行为类型", behaviours),
            ),
            Section(
                "top-penalty-types",
                f"行政处罚：处罚类别前 {cfg.STATS_TOP_N} 位",
                Table(["处罚类别", "条数"], [list(x) for x in types]),
                "hbar",
                [x[0] for x in types],
                [x[1] for x in types],
                alt=_alt("处罚类别", types),
                notes=["一项决定有多个处罚类别时，每个类别各计一次。"],
            ),
        ],
    )


def working_days(
    starts: np.ndarray, ends: np.ndarray, holidays: list[str], makeup: list[str]
) -> np.ndarray:
    """Working days after each start up to and including its end (0 when the end is not later):
    the vectorised form of :func:`generator.workdays.working_days_between`."""
    one = np.timedelta64(1, "D")
    weekday_holidays = [h for h in holidays if dt.date.fromisoformat(h).weekday() < 5]
    days = np.busday_count(
        starts + one, ends + one, holidays=np.array(weekday_holidays, dtype="datetime64[D]")
    )
    extra = np.array(sorted(makeup), dtype="datetime64[D]")
    days = (
        days
        + np.searchsorted(extra, ends, side="right")
        - np.searchsorted(extra, starts, side="right")
    )
    return np.where(ends > starts, days, 0)


def timeliness_frame(state: State, cfg: Config) -> pd.DataFrame:
    """Every approved penalty and licence (latest version): department, decision date, first approval."""
    names = {name: (kind.authority, kind.date) for name, kind in KINDS.items() if kind.timeliness}
    chosen = [latest for latest in state.latest.values() if latest.kind in names]
    rows: dict[str, list[Any]] = {
        "kind": [latest.kind for latest in chosen],
        "department": [
            str(latest.brief.get(names[latest.kind][0]) or "未填写") for latest in chosen
        ],
        "decided": [latest.brief[names[latest.kind][1]] for latest in chosen],
        "approved": [(latest.first_approved_at or latest.approved_at)[:10] for latest in chosen],
    }
    frame = pd.DataFrame({name: pd.Series(values, dtype=object) for name, values in rows.items()})
    decided = frame["decided"].to_numpy(dtype="datetime64[D]")
    approved = frame["approved"].to_numpy(dtype="datetime64[D]")
    frame["delay"] = (
        working_days(decided, approved, cfg.HOLIDAYS, cfg.MAKEUP_WORKDAYS) if len(frame) else []
    )
    frame["on_time"] = frame["delay"] <= cfg.TIMELINESS_WORKING_DAYS
    frame["month"] = frame["decided"].str[:7]
    return frame


@cache.record_type
@dataclass
class TimelinessNumbers:
    """What the 双公示 timeliness page shows, before today's window of months is cut from it."""

    # [department, records, on time, share (unrounded), median delay], by department
    departments: list[list[Any]]
    month_sizes: dict[str, int]  # decision month → records
    month_on_time: dict[str, int]
    overall: float
    count: int


def timeliness_numbers(state: State, cfg: Config) -> TimelinessNumbers:
    frame = timeliness_frame(state, cfg)
    departments = []
    for department, group in frame.groupby("department", sort=True):
        departments.append(
            [
                department,
                len(group),
                int(group["on_time"].sum()),
                float(group["on_time"].mean()),
                float(group["delay"].median()),
            ]
        )
    # One grouping, not one scan of every row per month. on_time / count is what Series.mean() gives
    # (an exact sum divided once), so the shares are the same to the last bit.
    by_month = frame.groupby("month", sort=False)["on_time"]
    sizes = {str(k): int(v) for k, v in by_month.size().to_dict().items()}
    sums = {str(k): int(v) for k, v in by_month.sum().to_dict().items()}
    return TimelinessNumbers(
        departments, sizes, sums, float(frame["on_time"].mean()) if len(frame) else 0.0, len(frame)
    )


def timeliness_entry(folder: Path, state: State, cfg: Config, salt: str) -> cache.Entry:
    """Where the timeliness numbers are kept, keyed by the approved record batches, the working-day
    settings, the fingerprint (``salt``) and this code."""
    return cache.entry(
        folder,
        TIMELINESS_PURPOSE,
        salt,
        _CODE_DIGEST,
        state.sources,
        cfg.HOLIDAYS,
        cfg.MAKEUP_WORKDAYS,
        cfg.TIMELINESS_WORKING_DAYS,
        prefix="timeliness-",
    )


def cached_timeliness_numbers(
    state: State, cfg: Config, folder: Path | None, salt: str = ""
) -> TimelinessNumbers:
    """:func:`timeliness_numbers`, kept under ``folder`` between builds. They depend only on the
    approved record batches (latest versions and first approvals, withdrawn and expired records
    included) and the working-day settings, not on the day or on withdrawals: a nightly build
    with no new batch reads them back instead of grouping every penalty and licence again."""
    if folder is None:
        return timeliness_numbers(state, cfg)
    found = timeliness_entry(folder, state, cfg, salt)
    numbers = cache.get(found)
    if not isinstance(numbers, TimelinessNumbers):
        numbers = timeliness_numbers(state, cfg)
        cache.put(found, numbers)
    cache.prune(folder, [found.path])
    return numbers


def timeliness(state: State, cfg: Config, folder: Path | None = None, salt: str = "") -> StatsPage:
    # Why long: the 双公示及时性 page's sections in the order the page shows them.
    numbers = cached_timeliness_numbers(state, cfg, folder, salt)
    limit, threshold = cfg.TIMELINESS_WORKING_DAYS, cfg.TIMELINESS_ALERT_SHARE
    rows = [
        [name, count, on_time, round(share, 4), delay, "预警" if share < threshold else ""]
        for name, count, on_time, share, delay in numbers.departments
    ]
    rows.sort(key=lambda r: (r[3], r[0]))
    months = months_back(state.today, cfg.STATS_MONTHS)
    trend = []
    for month in months:
        count, on_time = numbers.month_sizes.get(month, 0), numbers.month_on_time.get(month, 0)
        trend.append([month, count, on_time, round(on_time / count, 4) if count else None])
    overall = numbers.overall
    frame_size = numbers.count
    flagged = sum(1 for r in rows if r[5])
    shown = rows[: cfg.STATS_CHART_MAX_BARS]
    return StatsPage(
        "timeliness",
        "双公示及时性",
        (
            f"国家要求行政处罚、行政许可信息自作出决定之日起 {limit} 个工作日内公示。"
            "本页统计每条信息从决定日期到首次审核发布之间的工作日数"
            f"（节假日和调休按设置中的日历计算）。全市按时公示率 {overall * 100:.1f}%，共 {frame_size} 条；"
            f"按时率低于 {threshold * 100:.0f}% 的部门标为“预警”，现有 {flagged} 个。"
        ),
        [
            Section(
                "timeliness-departments",
                "各部门按时公示率",
                Table(
                    [
                        "部门",
                        "信息条数",
                        f"{limit}个工作日内公示",
                        "按时率",
                        "延迟中位数（工作日）",
                        "预警",
                    ],
                    rows,
                ),
                "hbar",
                [r[0] for r in shown],
                [r[3] for r in shown],
                percent=True,
                alert=[bool(r[5]) for r in shown],
                threshold=threshold,
                alt=f"各部门按时公示率条形图，按时率从低到高；{flagged} 个部门低于 {threshold * 100:.0f}%。",
                notes=[
                    f"图中列出按时率最低的 {len(shown)} 个部门，数据表和 CSV 含全部 {len(rows)} 个部门。"
                    if len(rows) > len(shown)
                    else "数据表和 CSV 含全部部门。",
                    "及时性关系的是审核发布的时间，因此包括此后已过公示期或已撤下的信息；更正过的信息按首次发布时间计算。",
                ],
            ),
            Section(
                "timeliness-trend",
                f"近 {cfg.STATS_MONTHS} 个月按时公示率（按决定月份）",
                Table(["月份", "信息条数", f"{limit}个工作日内公示", "按时率"], trend),
                "line",
                months,
                [t[3] for t in trend],
                percent=True,
                threshold=threshold,
                alt=f"近 {cfg.STATS_MONTHS} 个月按时公示率折线图，虚线为预警线 {threshold * 100:.0f}%。",
            ),
        ],
    )


def _fulfilment(statuses: list[str]) -> dict[str, int]:
    counts = {"全部履行": 0, "部分履行": 0, "全部未履行": 0, "未填写": 0}
    for status in statuses:
        counts[status if status in counts else "未填写"] += 1
    return counts


def government(state: State, entities: dict[str, Entity], cfg: Config) -> StatsPage:
    """Per government body: its 政务诚信档案 in numbers (work plan 二(十八))."""
    # Why long: the 政务诚信 page: one row per government body, then its sections in page order.
    keywords = tuple(cfg.JUDGMENT_LOST_KEYWORDS)
    rows: list[list[Any]] = []
    all_statuses: list[str] = []
    bodies = sorted((e for e in entities.values() if e.is_government), key=lambda e: (e.name, e.id))
    evaluated = evaluated_bodies(bodies)
    latest = {body.code: (max(body.years), body.latest[0]) for body in evaluated}
    for entity in bodies:
        records = entity.records
        judgments = records.get("judgment", [])
        # Read from the batch file once per record
        results = [str(r.fields.get("裁判结果", "")) for r in judgments]
        lost = sum(1 for text in results if any(word in text for word in keywords))
        statuses = [str(r.brief.get("履行状态") or "") for r in records.get("pledge", [])]
        all_statuses += statuses
        counts = _fulfilment(statuses)
        known = len(statuses) - counts["未填写"]
        rate = round(counts["全部履行"] / known, 4) if known else None
        rows.append(
            [
                entity.name,
                entity.code,
                len(records.get("dishonesty", [])),
                len(judgments),
                lost,
                len(statuses),
                counts["全部履行"],
                counts["部分履行"],
                counts["全部未履行"],
                rate,
                len(records.get("commendation", [])),
                "{}年度{}".format(*latest[entity.code]) if entity.code in latest else None,
            ]
        )
    overall = _fulfilment(all_statuses)
    known = len(all_statuses) - overall["未填写"]
    overall_rate = overall["全部履行"] / known if known else 0.0
    ranked = sorted((r for r in rows if r[2] + r[4]), key=lambda r: (-(r[2] + r[4]), r[0]))[
        : cfg.STATS_CHART_MAX_BARS
    ]
    status_rows: list[list[Any]] = [[k, v] for k, v in overall.items()]
    return StatsPage(
        "government",
        "政务诚信监测",
        (
            f"按政府机关、事业单位汇总本站现公示的政务诚信考核评价结果、政务失信记录、涉及的司法裁判、"
            f"信用承诺及其履行状态和守信激励。共 {len(rows)} 个单位，其中有评价结果的 {len(evaluated)} 个；"
            f"已填写履行状态的承诺 {known} 项，全部履行率 {overall_rate * 100:.1f}%。"
        ),
        [
            evaluation_section(evaluated, cfg),
            Section(
                "government-fulfilment",
                "信用承诺履行状态（全部单位）",
                Table(["履行状态", "承诺数"], status_rows),
                "hbar",
                [r[0] for r in status_rows],
                [r[1] for r in status_rows],
                alt=_alt("信用承诺履行状态", status_rows),
            ),
            Section(
                "government-bodies",
                "各单位政务诚信情况",
                Table(
                    [
                        "单位",
                        "统一社会信用代码",
                        "政务失信记录",
                        "司法裁判",
                        "其中败诉或被确认违法",
                        "信用承诺",
                        "全部履行",
                        "部分履行",
                        "全部未履行",
                        "履行率",
                        "守信激励",
                        "最近评价",
                    ],
                    rows,
                ),
                "hbar",
                [r[0] for r in ranked],
                [r[2] + r[4] for r in ranked],
                alt=f"政务失信记录与败诉裁判合计最多的 {len(ranked)} 个单位条形图。",
                notes=[
                    "图中按“政务失信记录 + 败诉或被确认违法的裁判”从多到少列出；数据表和 CSV 含全部单位。",
                    f"“败诉或被确认违法”按裁判结果中的关键词认定：{'、'.join(keywords)}（可在设置中调整）。",
                    "履行率 = 全部履行 ÷ 已填写履行状态的承诺数。",
                ],
            ),
        ],
    )


# -- 政务诚信评价: each body's grade over the years -------------------------------------------------

EVALUATION_CHART_YEARS = 5  # the chart's latest years; the table and CSV hold every published year
_RANK = {grade: rank for rank, grade in enumerate(EVALUATION_GRADES)}  # 0: the best


@dataclass
class Evaluated:
    """A government body's published evaluations: year → (grade, score), and its latest category."""

    name: str
    code: str
    category: str
    years: dict[str, tuple[str, float]]

    @property
    def latest(self) -> tuple[str, float]:
        return self.years[max(self.years)]


def evaluated_bodies(entities: list[Entity]) -> list[Evaluated]:
    """The bodies with a published evaluation, from the records' briefs (no batch file is read).
    A year holds one result per body (the natural key); should two meet, the later published wins."""
    found = []
    for entity in entities:
        records = sorted(entity.records.get("evaluation", []), key=lambda r: (r.date, r.id))
        if not records:
            continue
        years = {}
        for r in records:
            years[str(r.brief["评价年度"])] = (str(r.brief["评价等级"]), float(r.brief["评价得分"]))
        category = str(records[-1].brief.get("被评价单位类别") or "")
        found.append(Evaluated(entity.name, entity.code, category, years))
    return found


def _change(before: tuple[str, float] | None, after: tuple[str, float] | None) -> str | None:
    if before is None or after is None:
        return None
    rank = _RANK[after[0]] - _RANK[before[0]]
    return "下降" if rank > 0 else "上升" if rank < 0 else "持平"


def evaluation_section(bodies: list[Evaluated], cfg: Config) -> Section:
    """Each body's grade and score per year, the change from the year before the latest, worst
    latest grade first (then lower score, name): the bodies that need attention lead the chart."""
    years = sorted({year for body in bodies for year in body.years})
    last, before = (years[-1] if years else None), (years[-2] if len(years) > 1 else None)
    ordered = sorted(bodies, key=lambda b: (-_RANK[b.latest[0]], b.latest[1], b.name, b.code))
    rows: list[list[Any]] = []
    for body in ordered:
        cells: list[Any] = []
        for year in years:
            grade, score = body.years.get(year, (None, None))
            cells += [grade, score]
        change = _change(body.years.get(before or ""), body.years.get(last or ""))
        rows.append([body.name, body.code, body.category, *cells, change])
    shown = ordered[: cfg.STATS_CHART_MAX_BARS]
    chart_years = years[-EVALUATION_CHART_YEARS:]
    latest = Counter(body.years[last][0] for body in bodies if last in body.years)
    falling = sum(1 for row in rows if row[-1] == "下降")
    counts = "、".join(f"{grade} {latest[grade]} 个" for grade in EVALUATION_GRADES)
    return Section(
        "government-evaluations",
        "政务诚信考核评价结果（历年等级）",
        Table(
            [
                "单位",
                "统一社会信用代码",
                "单位类别",
                *[f"{year}年度{part}" for year in years for part in ("等级", "得分")],
                "较上年",
            ],
            rows,
        ),
        "grades" if bodies else None,
        [body.name for body in shown],
        [[body.years.get(year, (None,))[0] for year in chart_years] for body in shown],
        alert=[body.latest[0] == "较差" or row[-1] == "下降" for body, row in zip(shown, rows)],
        columns=[f"{year}年度" for year in chart_years],
        alt=(
            f"各单位历年政务诚信评价等级图，{last}年度{counts}；{falling} 个单位等级较上年下降。"
            if bodies
            else "政务诚信考核评价结果：暂无数据。"
        ),
        notes=[
            "按最近一次评价的等级从低到高排列（较差在前），同等级按得分从低到高；"
            "图中标“⚠”的单位最近一次评价为较差，或等级较上年下降。"
            + (
                f"图中列出前 {len(shown)} 个单位，数据表和 CSV 含全部 {len(rows)} 个单位。"
                if len(rows) > len(shown)
                else ""
            ),
            "“较上年”比较最近两个评价年度的等级；任一年度没有结果的为“—”。"
            "评价结果以评价机构发布的为准。",
        ],
    )


def _alt(title: str, pairs: list) -> str:
    top = "；".join(f"{name} {value}" for name, value in pairs[:5])
    return (
        f"{title}条形图：{top}{'等' if len(pairs) > 5 else ''}。"
        if pairs
        else f"{title}：暂无数据。"
    )


# The slugs of all_pages(), in order (the sitemap lists them first)
STATS_PAGES = (
    "index",
    "timeliness",
    "government",
)


def all_pages(
    state: State,
    entities: dict[str, Entity],
    cfg: Config,
    folder: Path | None = None,
    salt: str = "",
) -> list[StatsPage]:
    """``folder``: where what can be kept between builds is cached (:func:`cached_timeliness_numbers`),
    ``salt``: what else it depends on (the build's fingerprint: code, library versions, settings)."""
    return [
        overview(state, cfg, folder, salt),
        timeliness(state, cfg, folder, salt),
        government(state, entities, cfg),
    ]
