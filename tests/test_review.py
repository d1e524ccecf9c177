"""`disclose review`: an HTML report outside output/ with counts, rejections, changes, lateness."""

from __future__ import annotations

from generator.synthetic import synth_rows, write_export

from .conftest import TODAY_DATE


def test_review_report_shows_what_an_editor_must_check(site, messy):
    batch = site.ingest(messy["files"]["penalty"], "penalty").batch_id
    result = site.run("review", batch, "--today", "2026-11-28")
    assert result.exit_code == 0, result.stderr
    report = site.path / "reports" / f"review-{batch}.html"
    assert report.exists() and not (site.path / "output").exists()
    html = report.read_text(encoding="utf-8")
    assert "共 45 行：接收 36，拒绝 8，重复 1" in html
    assert "校验位错误" in html and "必填项为空" in html
    assert "新增 36 条" in html
    assert "超过 7 个工作日的记录" in html
    assert "网站显示样例" in html
    assert "<script>alert" not in html  # hostile cells are escaped here too
    assert "disclose approve " + batch in html


def test_review_shows_corrections_against_what_is_approved(site, tmp_path):
    rows = list(synth_rows("license", 3, seed=31, today=TODAY_DATE))
    site.stage_and_approve(write_export(tmp_path / "a.csv", "license", rows), "license")
    rows[0]["许可内容"] = "更正后的许可内容"
    batch = site.ingest(write_export(tmp_path / "b.csv", "license", rows), "license").batch_id
    site.run("review", batch, "--today", "2026-11-28")
    html = (site.path / "reports" / f"review-{batch}.html").read_text(encoding="utf-8")
    assert "新增 0 条，修改（更正） 1 条，与已审核数据相同 2 条" in html
    assert "许可内容" in html


def test_review_of_a_withdrawal_names_the_record(site, department_csv):
    site.stage_and_approve(department_csv, "penalty")
    batch = site.withdraw("东市监罚〔2026〕102号", "penalty", "信用修复", "乙")
    assert site.run("review", batch, "--today", "2026-11-28").exit_code == 0
    html = (site.path / "reports" / f"review-{batch}.html").read_text(encoding="utf-8")
    assert "盐城市示例县青禾示例餐饮店" in html and "信用修复" in html


def test_review_warns_when_a_batch_would_republish_a_withdrawn_record(
    site, department_csv, tmp_path
):
    import shutil

    site.stage_and_approve(department_csv, "penalty")
    withdrawal = site.withdraw("东市监罚〔2026〕101号", "penalty", "信用修复", "乙")
    site.run("approve", withdrawal, "--editor", "甲")
    # The department sends the same decisions again, with one change
    again = tmp_path / "resent.csv"
    shutil.copy(department_csv, again)
    raw = again.read_bytes().decode("gb18030").replace("罚款人民币壹万元", "罚款人民币壹万元整")
    again.write_bytes(raw.encode("gb18030"))
    batch = site.ingest(again, "penalty").batch_id
    assert site.run("review", batch, "--today", "2026-11-28").exit_code == 0
    html = (site.path / "reports" / f"review-{batch}.html").read_text(encoding="utf-8")
    assert "会重新公示已撤下的记录（1）" in html and "信用修复" in html
