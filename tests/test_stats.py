"""统计与监测: the published CSV figures equal the same statistics computed by hand from the batches."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections import Counter

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from generator.markup import neutralise_cell
from generator.schema import KINDS as SCHEMAS
from generator.settings import Config
from generator.stats import months_back, working_days
from generator.workdays import working_days_between

from .conftest import TODAY
from .sitecheck import approved_batches, read_csv
from .test_build import published_records

CFG = Config()


def approved_versions(site) -> dict[str, tuple[str, dict, str]]:
    """id → (kind, record, first approval date) over approved batches, in approval order."""
    batches = [
        (at, site.batches / batch_id)
        for batch_id, at in approved_batches(site.batches)
        if not batch_id.startswith("withdrawal-")
    ]
    result: dict[str, tuple[str, dict, str]] = {}
    for approved_at, batch in batches:  # in publication-log order
        for line in (batch / "records.jsonl").read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            first = result[record["id"]][2] if record["id"] in result else approved_at[:10]
            result[record["id"]] = (batch.name.split("-")[0], record, first)
    return result


def test_counts_by_kind_and_month_match_the_published_records(built):
    out, expected = built["out"], published_records(built["site"])
    by_kind = {row["类别"]: int(row["条数"]) for row in read_csv(out / "stats" / "by-kind.csv")}
    assert by_kind == {SCHEMAS[k].label: len(v) for k, v in expected.items()}
    months = months_back(dt.date.fromisoformat(TODAY), CFG.STATS_MONTHS)
    by_month = Counter(
        r["fields"][SCHEMAS[k].date][:7] for k, records in expected.items() for r in records
    )
    rows = read_csv(out / "stats" / "by-month.csv")
    assert [row["月份"] for row in rows] == months
    assert {row["月份"]: int(row["合计"]) for row in rows} == {
        m: by_month.get(m, 0) for m in months
    }
    penalty = {row["月份"]: int(row["行政处罚"]) for row in rows}
    assert penalty == {
        m: sum(1 for r in expected["penalty"] if r["fields"]["处罚决定日期"][:7] == m)
        for m in months
    }


def test_counts_by_county_and_behaviour_match_a_hand_count(built):
    """County: named in the authority (the longest county name found), else the region code in
    positions 3–8 of the subject's credit code, else 市级或未识别."""
    expected = published_records(built["site"])
    names = sorted(set(CFG.COUNTIES.values()), key=len, reverse=True)

    def county(fields: dict, schema) -> str:
        authority = str(fields.get(schema.authority) or "")
        named = [(authority.find(n), -len(n), n) for n in names if n in authority]
        if named:
            return min(named)[2]
        return (
            CFG.COUNTIES.get(str(fields.get(schema.subject_code or "") or "")[2:8])
            or "市级或未识别"
        )

    by_county = Counter(
        county(r["fields"], SCHEMAS[k]) for k, records in expected.items() for r in records
    )
    assert len(by_county) >= 3
    rows = read_csv(built["out"] / "stats" / "by-county.csv")
    assert [(row["县（市、区）"], int(row["条数"])) for row in rows] == sorted(
        by_county.items(), key=lambda kv: (-kv[1], kv[0])
    )
    behaviours = Counter(
        r["fields"]["违法行为类型"] for r in expected["penalty"] if r["fields"].get("违法行为类型")
    )
    rows = read_csv(built["out"] / "stats" / "top-behaviours.csv")
    top = sorted(behaviours.items(), key=lambda kv: (-kv[1], kv[0]))[: CFG.STATS_TOP_N]
    # As a CSV cell
    assert [(row["违法行为类型"], int(row["条数"])) for row in rows] == [
        (neutralise_cell(name), n) for name, n in top
    ]


def test_a_county_is_the_one_the_authority_names_else_the_one_of_the_credit_code():
    from dataclasses import replace

    from generator.stats import OTHER_COUNTY, county_finder

    county = county_finder(CFG)
    # The name wins over the code (东台市)
    assert county("盐城市滨海县市场监督管理局", "320981") == "滨海县"
    assert county("盐城市市场监督管理局", "320981") == "东台市"
    assert county("盐城市市场监督管理局", "") == county("", "110101") == OTHER_COUNTY
    assert county("盐城市亭湖区滨海县联合执法队", "") == "亭湖区"  # the first named
    wider = county_finder(replace(CFG, COUNTIES={"1": "滨海", "2": "滨海县"}))
    assert wider("滨海县市场监督管理局", "") == "滨海县"  # the longest name at that place
    blank = county_finder(replace(CFG, COUNTIES={"320981": "东台市", "000000": ""}))
    assert blank("盐城市市场监督管理局", "320981") == "东台市"  # a blank county name never matches


def test_top_penalty_types_split_multiple_types(built):
    expected = Counter()
    for record in published_records(built["site"])["penalty"]:
        for name in record["fields"]["处罚类别"].replace("；", ";").split(";"):
            expected[name.strip()] += 1
    rows = read_csv(built["out"] / "stats" / "top-penalty-types.csv")
    assert {row["处罚类别"]: int(row["条数"]) for row in rows} == dict(
        sorted(expected.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
    )


def test_timeliness_per_department_matches_a_hand_count(built):
    per_department: dict[str, list[int]] = {}
    for kind, record, first_approved in approved_versions(built["site"]).values():
        if kind not in ("penalty", "license"):
            continue
        schema = SCHEMAS[kind]
        decided = dt.date.fromisoformat(record["fields"][schema.date])
        delay = working_days_between(
            decided, dt.date.fromisoformat(first_approved), CFG.HOLIDAYS, CFG.MAKEUP_WORKDAYS
        )
        per_department.setdefault(record["fields"][schema.authority], []).append(delay)
    rows = {
        row["部门"]: row for row in read_csv(built["out"] / "stats" / "timeliness-departments.csv")
    }
    assert set(rows) == set(per_department)
    for department, delays in per_department.items():
        row = rows[department]
        on_time = sum(1 for d in delays if d <= CFG.TIMELINESS_WORKING_DAYS)
        assert int(row["信息条数"]) == len(delays)
        assert int(row[f"{CFG.TIMELINESS_WORKING_DAYS}个工作日内公示"]) == on_time
        assert float(row["按时率"]) == round(on_time / len(delays), 4)
        assert float(row["延迟中位数（工作日）"]) == float(np.median(delays))
        assert (row["预警"] == "预警") == (on_time / len(delays) < CFG.TIMELINESS_ALERT_SHARE)


def test_timeliness_trend_matches_a_hand_count(built):
    per_month: dict[str, list[int]] = {}
    for kind, record, first_approved in approved_versions(built["site"]).values():
        if kind not in ("penalty", "license"):
            continue
        decided = dt.date.fromisoformat(record["fields"][SCHEMAS[kind].date])
        delay = working_days_between(
            decided, dt.date.fromisoformat(first_approved), CFG.HOLIDAYS, CFG.MAKEUP_WORKDAYS
        )
        per_month.setdefault(decided.isoformat()[:7], []).append(delay)
    rows = read_csv(built["out"] / "stats" / "timeliness-trend.csv")
    assert len(rows) == CFG.STATS_MONTHS and any(int(row["信息条数"]) for row in rows)
    for row in rows:
        delays = per_month.get(row["月份"], [])
        on_time = sum(1 for d in delays if d <= CFG.TIMELINESS_WORKING_DAYS)
        assert (int(row["信息条数"]), int(row[f"{CFG.TIMELINESS_WORKING_DAYS}个工作日内公示"])) == (
            len(delays),
            on_time,
        )
        assert (
            (float(row["按时率"]) == round(on_time / len(delays), 4))
            if delays
            else row["按时率"] == ""
        )


def test_government_page_counts_only_published_records_of_government_bodies(built):
    expected = published_records(built["site"])
    dishonesty = Counter(
        r["fields"]["失信主体名称"]
        for r in expected["dishonesty"]
        if r["fields"].get("失信主体类别") in ("政府机关", "事业单位")
        or r["fields"].get("统一社会信用代码", "")[:1] == "1"
    )
    rows = read_csv(built["out"] / "stats" / "government-bodies.csv")
    published = {row["单位"]: int(row["政务失信记录"]) for row in rows if int(row["政务失信记录"])}
    assert published == dict(dishonesty)
    fulfilment = {
        row["履行状态"]: int(row["承诺数"])
        for row in read_csv(built["out"] / "stats" / "government-fulfilment.csv")
    }
    assert sum(fulfilment.values()) == sum(int(row["信用承诺"]) for row in rows)


def test_statistics_pages_link_each_chart_its_table_and_csv(built):
    out = built["out"]
    for slug in ("index", "timeliness", "government"):
        html = (out / "stats" / f"{slug}.html").read_text(encoding="utf-8")
        sections = re.findall(r'<section class="stats-section" aria-labelledby="h-([\w-]+)">', html)
        assert len(sections) >= 2
        for name in sections:
            assert f"stats/{name}.csv" in html
        # Every chart is in the page, captioned; its shapes are SVG attributes, never inline
        # styles (the CSP forbids them), and there is no script.
        charts = re.findall(r'<figure class="chart .*?</figure>', html, re.S)
        assert len(charts) == len(sections)
        for chart in charts:
            assert '<figcaption class="visually-hidden">' in chart
            assert "style=" not in chart and "<script" not in chart
        assert html.count('<details class="chart-data">') == len(sections)
    assert "包括此后已过公示期或已撤下的信息" in (out / "stats" / "timeliness.html").read_text(
        encoding="utf-8"
    )


days = st.dates(min_value=dt.date(2025, 1, 1), max_value=dt.date(2027, 12, 31))


@given(st.lists(st.tuples(days, days), min_size=1, max_size=30))
def test_vectorised_working_days_equal_the_reference(pairs):
    starts = np.array([a.isoformat() for a, _ in pairs], dtype="datetime64[D]")
    ends = np.array([b.isoformat() for _, b in pairs], dtype="datetime64[D]")
    got = working_days(starts, ends, CFG.HOLIDAYS, CFG.MAKEUP_WORKDAYS).tolist()
    assert got == [working_days_between(a, b, CFG.HOLIDAYS, CFG.MAKEUP_WORKDAYS) for a, b in pairs]


def test_timeliness_numbers_are_kept_until_the_approved_record_batches_change(built, tmp_path):
    """They do not depend on the day or on withdrawals, so a nightly build reads them back; a new
    (or removed) record batch means they are computed again."""
    import dataclasses

    from generator import cache as kept_files
    from generator.batches import BatchStore
    from generator.publication import compute_state
    from generator.settings import load_config
    from generator.stats import cached_timeliness_numbers, timeliness_entry, timeliness_numbers

    root = built["site"].path
    cfg = load_config(root)
    state = compute_state(BatchStore(root, cfg), cfg, dt.date.fromisoformat(TODAY))
    cache = tmp_path / "stats-cache"
    numbers = cached_timeliness_numbers(state, cfg, cache)
    assert numbers == timeliness_numbers(state, cfg)
    [kept] = cache.iterdir()
    assert kept == timeliness_entry(cache, state, cfg, "").path
    # A mark: proves that the kept file is what is read
    marked = dataclasses.replace(numbers, count=-1)
    kept_files.put(timeliness_entry(cache, state, cfg, ""), marked)
    later = compute_state(
        BatchStore(root, cfg), cfg, dt.date.fromisoformat(TODAY) + dt.timedelta(days=30)
    )
    assert cached_timeliness_numbers(later, cfg, cache).count == -1
    later.sources = later.sources[:-1]  # as if the last records batch were not approved
    assert (
        cached_timeliness_numbers(later, cfg, cache) == numbers and len(list(cache.iterdir())) == 2
    )
    # A file no build has used for a day is deleted (another output's is kept until then).
    os.utime(kept, (0, 0))
    assert cached_timeliness_numbers(later, cfg, cache) == numbers and not kept.exists()


def test_the_overview_counts_are_summed_from_parts_kept_per_batch(built, tmp_path):
    """Each approved batch's part of the overview is kept until its published records change: a
    night with one record withdrawn (or expired) counts that batch again and reads the others."""
    from generator.batches import BatchStore
    from generator.publication import compute_state
    from generator.settings import load_config
    from generator.stats import _read_parts, _write_parts, counts_entry, published_counts

    root = built["site"].path
    cfg = load_config(root)
    state = compute_state(BatchStore(root, cfg), cfg, dt.date.fromisoformat(TODAY))
    cache = tmp_path / "stats-cache"
    cache.mkdir()
    fresh = published_counts(state, cfg)
    assert published_counts(state, cfg, cache) == fresh
    [kept] = cache.iterdir()
    assert kept == counts_entry(cache, "").path
    parts = _read_parts(counts_entry(cache, ""))
    assert len(parts) == len(state.sources)
    # Mark every kept part: what is read back is the kept file, not a new count.
    for part in parts.values():
        part[2]["标记"] = 1
    _write_parts(counts_entry(cache, ""), parts)
    assert published_counts(state, cfg, cache).behaviours["标记"] == len(parts)
    # 800 days later some records have left: their batches are counted again, the others read back.
    later = compute_state(
        BatchStore(root, cfg), cfg, dt.date.fromisoformat(TODAY) + dt.timedelta(days=800)
    )
    assert later.total < state.total
    changed = sum(
        1
        for (_b, _k, now), (_b2, _k2, before) in zip(later.by_source(), state.by_source())
        if len(now) != len(before)
    )
    counted = published_counts(later, cfg, cache)
    assert 0 < changed and counted.behaviours["标记"] == len(parts) - changed
    counted.behaviours.pop("标记")
    assert counted == published_counts(later, cfg)


def test_charts_escape_their_labels_and_give_the_same_bytes():
    from generator.charts import hbar_html, line_html, nice_top, vbar_html

    hostile = "<script>alert(1)</script>&"
    html = hbar_html([hostile, "乙"], [0.5, 1.0], percent=True, alert=[True, False], threshold=0.9)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert html.count('class="bar" width="500"') == 1 and html.count('width="1000"') == 1
    assert html.count("预警") == 1 and html.count('class="threshold" x1="900"') == 2
    assert html == hbar_html(
        [hostile, "乙"], [0.5, 1.0], percent=True, alert=[True, False], threshold=0.9
    )
    months = [f"2026-{m:02d}" for m in range(1, 13)]
    line = line_html(months, [None, 0.5, 0.25, None, *[1.0] * 8], alt="趋势", threshold=0.9)
    assert line.count("<polyline") == 2  # a gap where a month has no records
    assert "2026<br>12月" in line and "2026<br>6月" in line and "2026<br>5月" not in line
    assert [nice_top(v) for v in (0, 1, 3, 9, 11, 25, 7_000)] == [2, 2, 4, 10, 20, 40, 8_000]
    bars = vbar_html(months, [0, 3, *[1] * 10])
    assert bars.count('class="bar"') == 11 and "<span>4</span><span>2</span><span>0</span>" in bars
