"""政务诚信评价 (issue 29, item 7): the yearly government-integrity evaluation results of the work
plan's 二(十八), a record kind like the others: ingested, validated, approved, withdrawn, shown on
each evaluated body's 政务诚信档案, searched, downloaded, and monitored on 政务诚信监测."""

from __future__ import annotations

import html
import json
import re

import pytest

from generator.charts import grades_html
from generator.entities import entity_key
from generator.schema import EVALUATION_GRADES, KINDS
from generator.search import search_records
from generator.settings import Config
from generator.sitemodel import entity_url
from generator.stats import evaluation_section
from generator.synthetic import synth_rows, write_export

from .conftest import REPO, TODAY_DATE
from .sitecheck import read_csv
from .test_build import published_records
from .test_search import search

EVALUATION = KINDS["evaluation"]
SAMPLE = REPO / "content" / "exports" / "市信用办-政务诚信评价-2026.csv"
RANK = {grade: rank for rank, grade in enumerate(EVALUATION_GRADES)}


def records_of(site, batch_id: str) -> list[dict]:
    text = (site.batches / batch_id / "records.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


def test_the_demo_sample_is_ingested_approved_and_published_end_to_end(site):
    result = site.ingest(SAMPLE, "evaluation")
    assert result.exit_code == 0, result.stderr
    assert "政务诚信评价：共 31 行，接收 30 行，拒绝 1 行" in result.stdout
    assert (
        "市信用办-政务诚信评价-2026.csv 第 33 行「评价得分」：得分应在 0 到 100 之间：105"
        in result.stdout
    )
    records = records_of(site, result.batch_id)
    fields = [r["fields"] for r in records]
    assert len({(f["评价年度"], f["被评价单位统一社会信用代码"]) for f in fields}) == 30
    assert {f["评价年度"] for f in fields} == {"2023", "2024", "2025"}
    # As an office writes them: 2025年度, 92.9分, full-width digits, half-width brackets
    assert fields[0]["评价年度"] == "2025"
    assert all(type(f["评价得分"]) is float and 0 <= f["评价得分"] <= 100 for f in fields)
    assert fields[1]["被评价单位类别"] == "县（市、区）政府"
    assert {f["评价等级"] for f in fields} <= set(EVALUATION_GRADES)

    approved = site.run("approve", result.batch_id, "--editor", "测试编辑甲")
    assert approved.exit_code == 0, approved.stderr
    built = site.build()
    assert built.exit_code == 0, built.stderr
    out = site.path / "output"
    for record in records:
        page = out / "records" / "evaluation" / record["id"][:2] / f"{record['id']}.html"
        text = html.unescape(page.read_text(encoding="utf-8"))
        assert record["fields"]["评价等级"] in text and "结果发布日期" in text
        assert "依据：《盐城市加强政务诚信建设工作方案》" in text
    download = read_csv(out / "downloads" / "evaluation.csv")
    assert sorted(row["记录编号"] for row in download) == sorted(r["id"] for r in records)
    assert "政务诚信评价" in (out / "index.html").read_text(encoding="utf-8")


def test_numbers_from_a_workbook_are_a_year_and_a_score(site, tmp_path):
    rows = list(synth_rows("evaluation", 4, seed=2, today=TODAY_DATE))
    for row in rows:
        row["评价年度"] = int(row["评价年度"])  # number cells, as Excel keeps them
    rows[1]["评价得分"] = 90
    path = write_export(tmp_path / "评价.xlsx", "evaluation", rows, fmt="xlsx")
    result = site.ingest(path, "evaluation")
    assert result.exit_code == 0 and "接收 4 行" in result.stdout, result.stdout + result.stderr
    fields = [r["fields"] for r in records_of(site, result.batch_id)]
    assert [f["评价年度"] for f in fields] == [str(row["评价年度"]) for row in rows]
    assert [f["评价得分"] for f in fields] == [float(row["评价得分"]) for row in rows]
    assert EVALUATION.summary_line(fields[1]).endswith(" · 90分")


@pytest.mark.parametrize(
    "column, value, reason",
    [
        ("被评价单位统一社会信用代码", "11320900MA1XXXXXX0", "统一社会信用代码无效"),
        ("被评价单位统一社会信用代码", "", "必填项为空"),
        ("被评价单位统一社会信用代码", "00000000000000000X", "只适用于个体工商户"),
        (
            "被评价单位类别",
            "县级部门",
            "不在允许范围内（县（市、区）政府/开发区管委会/市级部门/乡镇（街道））",
        ),
        ("评价等级", "合格", "不在允许范围内（优秀/良好/一般/较差）"),
        ("评价得分", "101", "得分应在 0 到 100 之间"),
        ("评价得分", "九十分", "得分不是数字"),
        ("评价年度", "25", "年度应为4位数字"),
        ("评价年度", "2027", "年度 2027 晚于发布日期"),
        ("发布日期", "2027-01-01", "晚于今天"),
        ("评价文号", "", "必填项为空"),
    ],
)
def test_a_bad_cell_rejects_its_row_with_one_chinese_line(site, tmp_path, column, value, reason):
    rows = list(synth_rows("evaluation", 3, seed=1, today=TODAY_DATE))
    rows[1][column] = value
    result = site.ingest(write_export(tmp_path / "评价.csv", "evaluation", rows), "evaluation")
    assert result.exit_code == 0, result.stderr
    assert "接收 2 行，拒绝 1 行" in result.stdout
    line = next(line for line in result.stdout.splitlines() if "第 3 行" in line)
    assert line.strip().startswith("评价.csv 第 3 行") and f"「{column}」" in line, line
    assert reason in line, line


def test_a_file_of_nothing_but_bad_rows_is_refused_in_one_line(site, tmp_path):
    rows = list(synth_rows("evaluation", 2, seed=3, today=TODAY_DATE))
    for row in rows:
        row["评价等级"] = "合格"
    result = site.ingest(write_export(tmp_path / "评价.csv", "evaluation", rows), "evaluation")
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and result.stderr.startswith("错误：")


def test_a_later_result_for_the_same_body_and_year_corrects_it_and_a_withdrawal_removes_it(
    site, tmp_path
):
    rows = list(synth_rows("evaluation", 10, seed=4, today=TODAY_DATE))
    first = site.stage_and_approve(
        write_export(tmp_path / "a.csv", "evaluation", rows), "evaluation"
    )
    corrected = {**rows[0], "评价得分": 59.5, "评价等级": "较差", "评价文号": "盐信办〔2026〕99号"}
    second = site.stage_and_approve(
        write_export(tmp_path / "b.csv", "evaluation", [corrected]), "evaluation"
    )
    [old] = [
        r
        for r in records_of(site, first)
        if r["fields"]["被评价单位名称"] == rows[0]["被评价单位名称"]
    ]
    [new] = records_of(site, second)
    assert new["id"] == old["id"]  # the same (year, body): the same record
    assert site.build().exit_code == 0
    download = {
        row["记录编号"]: row
        for row in read_csv(site.path / "output" / "downloads" / "evaluation.csv")
    }
    assert len(download) == 10 and download[new["id"]]["评价等级"] == "较差"

    # One document number publishes every body's result: withdrawing by it names them all
    ambiguous = site.run(
        "withdraw",
        rows[1]["评价文号"],
        "--kind",
        "evaluation",
        "--reason",
        "异议更正",
        "--editor",
        "乙",
    )
    assert ambiguous.exit_code == 2 and "对应 9 条记录，请改用记录编号" in ambiguous.stderr
    withdrawal = site.withdraw(new["id"], "evaluation", "异议更正", "乙")
    assert site.run("approve", withdrawal, "--editor", "甲").exit_code == 0
    assert site.build().exit_code == 0
    download = read_csv(site.path / "output" / "downloads" / "evaluation.csv")
    assert new["id"] not in {row["记录编号"] for row in download} and len(download) == 9
    page = site.path / "output" / "records" / "evaluation" / new["id"][:2] / f"{new['id']}.html"
    assert not page.exists()


# -- on the built demo content ---------------------------------------------------------------------


def by_body(site) -> dict[str, dict]:
    """code → name, category of the latest result, year → (grade, score): from the batch files."""
    bodies: dict[str, dict] = {}
    for record in sorted(
        published_records(site)["evaluation"], key=lambda r: (r["fields"]["发布日期"], r["id"])
    ):
        f = record["fields"]
        body = bodies.setdefault(
            f["被评价单位统一社会信用代码"], {"name": f["被评价单位名称"], "years": {}}
        )
        body["category"] = f["被评价单位类别"]
        body["years"][f["评价年度"]] = (f["评价等级"], f["评价得分"])
    return bodies


def test_every_result_is_on_its_body_s_government_integrity_archive(built):
    records = published_records(built["site"])["evaluation"]
    assert len(records) == 30
    for record in records:
        eid, _ = entity_key(EVALUATION, record["fields"])
        text = html.unescape((built["out"] / entity_url(eid)).read_text(encoding="utf-8"))
        assert "政务诚信档案" in text and "政务诚信评价（3 条）" in text
        f = record["fields"]
        score = f"{f['评价得分']:g}"
        assert f"{f['评价年度']}年度 · {f['评价等级']} · {score}分" in text
        assert f"records/evaluation/{record['id'][:2]}/{record['id']}.html" in text


def test_the_grades_table_is_each_body_s_published_results_worst_latest_first(built):
    bodies = by_body(built["site"])
    years = sorted({year for body in bodies.values() for year in body["years"]})
    assert years == ["2023", "2024", "2025"]
    rows = read_csv(built["out"] / "stats" / "government-evaluations.csv")
    assert list(rows[0]) == [
        "单位",
        "统一社会信用代码",
        "单位类别",
        *[f"{y}年度{part}" for y in years for part in ("等级", "得分")],
        "较上年",
    ]

    def latest(code: str) -> tuple[str, float]:
        return bodies[code]["years"][max(bodies[code]["years"])]

    order = sorted(bodies, key=lambda c: (-RANK[latest(c)[0]], latest(c)[1], bodies[c]["name"], c))
    assert [row["统一社会信用代码"] for row in rows] == order
    for row in rows:
        body = bodies[row["统一社会信用代码"]]
        assert (row["单位"], row["单位类别"]) == (body["name"], body["category"])
        for year in years:
            grade, score = body["years"].get(year, ("", ""))
            assert (row[f"{year}年度等级"], row[f"{year}年度得分"]) == (grade, str(score))
        was, now = (body["years"].get(y) for y in years[-2:])
        step = RANK[now[0]] - RANK[was[0]] if was and now else None
        assert row["较上年"] == {None: "", 0: "持平"}.get(
            step, "下降" if (step or 0) > 0 else "上升"
        )
    assert {row["较上年"] for row in rows} >= {"下降", "持平", "上升"}


def grid_texts(markup: str) -> list[str]:
    """What the grades grid shows, in reading order: the year headings, then each body's name (⚠
    before a flagged one) and its grade a year ("—" where there is none)."""
    figure = re.search(r'<figure class="chart chart-grades">.*?</figure>', markup, re.S)
    assert figure, "no grades chart"
    text = figure.group(0)
    found = re.findall(r'<span class="grade-year">([^<]*)</span>', text)
    for item in re.findall(r"<li[^>]*>(.*?)</li>", text, re.S):
        label = re.search(r'<span class="hbar-label">(.*?)</span><span class="grade-row">', item)
        assert label
        name = re.sub(r'<span class="visually-hidden">[^<]*</span>|<[^>]+>', "", label.group(1))
        found.append(html.unescape(name))
        found += [
            html.unescape(g)
            for g in re.findall(
                r'<span class="grade [^"]*"><span class="visually-hidden">[^<]*</span>([^<]*)</span>',
                item,
            )
        ]
    return found


def test_the_grades_chart_draws_the_table_and_the_page_links_both(built):
    rows = read_csv(built["out"] / "stats" / "government-evaluations.csv")
    raw = (built["out"] / "stats" / "government.html").read_text(encoding="utf-8")
    expected = ["2023年度", "2024年度", "2025年度"]
    for row in rows:
        flagged = row["2025年度等级"] == "较差" or row["较上年"] == "下降"
        expected += [("⚠ " if flagged else "") + row["单位"]]
        expected += [row[f"{y}年度等级"] or "—" for y in ("2023", "2024", "2025")]
    assert grid_texts(raw) == expected
    page = html.unescape(raw)
    assert 'href="../stats/government-evaluations.csv"' in page
    latest = [row["2025年度等级"] for row in rows]
    counts = "、".join(f"{g} {latest.count(g)} 个" for g in EVALUATION_GRADES)
    assert f"2025年度{counts}" in page  # the chart's caption
    bodies = {
        row["单位"]: row["最近评价"]
        for row in read_csv(built["out"] / "stats" / "government-bodies.csv")
    }
    for row in rows:
        assert bodies[row["单位"]] == f"2025年度{row['2025年度等级']}"


def test_a_grid_chart_marks_a_missing_year_and_draws_the_same_bytes_again():
    labels, years = ["甲示例单位", "乙示例单位"], ["2024年度", "2025年度"]
    grades = [["良好", None], ["较差", "一般"]]
    chart = grades_html(labels, years, grades, alert=[False, True])
    assert grid_texts(chart) == [*years, "甲示例单位", "良好", "—", "⚠ 乙示例单位", "较差", "一般"]
    assert grades_html(labels, years, grades, alert=[False, True]) == chart


def test_without_any_result_the_section_is_an_empty_table_and_no_chart():
    section = evaluation_section([], Config())
    assert section.chart is None and section.table.rows == []
    assert section.table.columns == ["单位", "统一社会信用代码", "单位类别", "较上年"]
    assert section.alt == "政务诚信考核评价结果：暂无数据。"


def test_a_body_is_found_by_its_name_and_its_results_say_their_grade(built):
    records = [
        r
        for r in published_records(built["site"])["evaluation"]
        if r["fields"]["被评价单位名称"] == "盐城示例经济技术开发区管理委员会"
    ]
    assert len(records) == 3
    found = search_records(built["out"] / "search", "经济技术开发区")
    assert {r["id"] for r in records} <= set(found)


@pytest.mark.browser
def test_the_search_page_finds_a_body_s_results_by_name(demo_site, page):
    hits = search(page, demo_site["base"], "高新技术产业开发区")
    evaluations = [h for h in hits if h.startswith("../records/evaluation/")]
    assert len(evaluations) == 3
    text = page.inner_text("#results")
    assert "政务诚信评价" in text and re.search(
        r"20\d\d年度 · (优秀|良好|一般|较差) · [\d.]+分", text
    )
    assert page.errors == []
