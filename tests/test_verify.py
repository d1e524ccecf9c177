"""`disclose verify`: passes on a clean build, names each planted fault in one line, exits 1."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from generator.checkdigits import rid_check_char

from .conftest import TODAY, run_console


@pytest.fixture
def copy_of_site(built, tmp_path) -> Path:
    """A copy of the built output that a test may damage."""
    target = tmp_path / "copy"
    shutil.copytree(built["out"], target)
    return target


def verify(built, out: Path):
    return built["site"].run("verify", str(out), "--today", TODAY)


def full_id() -> str:
    first17 = "32090219750614301"  # fictional: region 320902, born 1975-06-14
    return first17 + rid_check_char(first17)


def test_a_clean_build_passes(built):
    result = verify(built, built["out"])
    assert result.exit_code == 0, result.stdout + result.stderr
    assert result.stdout.startswith("核验通过")


def test_the_installed_command_passes_on_the_demo_content(built):
    result = run_console("verify", str(built["out"]), "--today", TODAY, cwd=built["site"].path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_full_id_number_planted_in_a_page_is_found_by_check_digit(built, copy_of_site):
    page = next((copy_of_site / "records" / "license").rglob("*.html"))
    page.write_text(page.read_text(encoding="utf-8").replace("<h1>", f"<h1>{full_id()} "), encoding="utf-8")
    result = verify(built, copy_of_site)
    assert result.exit_code == 1
    lines = [line for line in result.stdout.splitlines() if line.startswith("完整身份证号码")]
    assert len(lines) == 1 and page.relative_to(copy_of_site).as_posix() in lines[0]
    assert full_id() not in result.stdout + result.stderr  # the report itself masks it
    assert "核验未通过" in result.stderr


def test_an_output_whose_build_was_killed_while_updating_it_is_not_passed(built, copy_of_site):
    from generator.journal import journal_path

    journal_path(copy_of_site).write_text('{"format": 1, "kind": "apply"}', encoding="utf-8")  # never rolled back
    result = verify(built, copy_of_site)
    assert result.exit_code == 1 and "构建未完成：.copy.disclose-journal：上次构建更新这个目录时中断" in result.stdout


def test_a_number_with_a_wrong_check_digit_is_not_an_id(built, copy_of_site):
    wrong = full_id()[:17] + ("0" if full_id()[17] != "0" else "1")
    page = next((copy_of_site / "records" / "license").rglob("*.html"))
    page.write_text(page.read_text(encoding="utf-8").replace("<h1>", f"<h1>{wrong} "), encoding="utf-8")
    assert verify(built, copy_of_site).exit_code == 0


def test_a_full_width_id_number_in_a_download_is_found(built, copy_of_site):
    wide = full_id().translate({ord(c): 0xFF10 + int(c) for c in "0123456789"})
    path = copy_of_site / "downloads" / "pledge.json"
    path.write_text(path.read_text(encoding="utf-8").replace('"records"', f'"note":"{wide}","records"'), encoding="utf-8")
    result = verify(built, copy_of_site)
    assert result.exit_code == 1
    assert any(line.startswith("完整身份证号码：downloads/pledge.json") for line in result.stdout.splitlines())


def test_a_withdrawn_records_page_left_behind_is_named_with_the_reason(built, copy_of_site):
    withdrawn = next(
        json.loads(line)["id"]
        for batch in sorted(built["site"].batches.glob("withdrawal-*"))
        for line in (batch / "records.jsonl").read_text(encoding="utf-8").splitlines()
    )
    stale = copy_of_site / "records" / "penalty" / withdrawn[:2] / f"{withdrawn}.html"
    stale.parent.mkdir(parents=True, exist_ok=True)
    stale.write_text("<!DOCTYPE html><title>旧页面</title>", encoding="utf-8")
    result = verify(built, copy_of_site)
    assert result.exit_code == 1
    assert f"不应公开的记录页：records/penalty/{withdrawn[:2]}/{withdrawn}.html（已撤下）" in result.stdout.splitlines()


def test_an_unapproved_batchs_record_in_the_search_index_is_found(built, copy_of_site):
    pending = built["site"].batches / built["pending"] / "records.jsonl"
    rid = json.loads(pending.read_text(encoding="utf-8").splitlines()[0])["id"]
    bucket = next((copy_of_site / "search").glob("s*/docs/0.json"))
    rows = json.loads(bucket.read_text(encoding="utf-8"))
    bucket.write_text(json.dumps(rows + [[rid, "示例", "", "", TODAY, ""]], ensure_ascii=False), encoding="utf-8")
    result = verify(built, copy_of_site)
    assert result.exit_code == 1
    assert any(line.startswith(f"检索中不应出现的记录：{rid}") for line in result.stdout.splitlines())


def test_a_broken_link_and_a_missing_page_are_found(built, copy_of_site):
    page = next((copy_of_site / "records" / "pledge").rglob("*.html"))
    page.write_text(page.read_text(encoding="utf-8").replace("/pages/repair.html", "/pages/no-such-guide.html"), encoding="utf-8")
    removed = next((copy_of_site / "records" / "judgment").rglob("*.html"))
    removed.unlink()
    result = verify(built, copy_of_site)
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert any(line.startswith(f"失效链接：{page.relative_to(copy_of_site).as_posix()} → ") and "no-such-guide" in line for line in lines)
    assert any(line.startswith(f"缺少记录页：{removed.relative_to(copy_of_site).as_posix()}") for line in lines)


def test_malformed_feed_and_changed_download_are_found(built, copy_of_site):
    (copy_of_site / "feeds" / "all.atom.xml").write_text("<feed><entry></feed>", encoding="utf-8")
    with (copy_of_site / "downloads" / "penalty.csv").open("a", encoding="utf-8") as fh:
        fh.write("extra\r\n")
    lines = verify(built, copy_of_site).stdout.splitlines()
    assert any(line.startswith("XML 格式错误：feeds/all.atom.xml") for line in lines)
    assert "下载文件校验值不符：downloads/penalty.csv（与下载目录页所列 sha256 不同）" in lines


def test_a_missing_output_folder_is_a_user_error(built, tmp_path):
    result = verify(built, tmp_path / "nothing-here")
    assert result.exit_code == 2
    assert result.stderr.startswith("错误：找不到要核验的网站目录")
