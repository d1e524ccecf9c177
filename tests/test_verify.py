"""`disclose verify`: passes on a clean build, names each planted fault in one line, exits 1."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generator import verify as verifier
from generator.checkdigits import rid_check_char
from generator.incremental import ApplyResult
from generator.verify import _site_path, _sitemap_targets

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


@pytest.mark.slow
def test_the_installed_command_passes_on_the_demo_content(built):
    result = run_console("verify", str(built["out"]), "--today", TODAY, cwd=built["site"].path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_full_id_number_planted_in_a_page_is_found_by_check_digit(built, copy_of_site):
    page = next((copy_of_site / "records" / "license").rglob("*.html"))
    page.write_text(
        page.read_text(encoding="utf-8").replace("<h1>", f"<h1>{full_id()} "), encoding="utf-8"
    )
    result = verify(built, copy_of_site)
    assert result.exit_code == 1
    lines = [line for line in result.stdout.splitlines() if line.startswith("完整身份证号码")]
    assert len(lines) == 1 and page.relative_to(copy_of_site).as_posix() in lines[0]
    assert full_id() not in result.stdout + result.stderr  # the report itself masks it
    assert "核验未通过" in result.stderr


def test_an_output_whose_build_was_killed_while_updating_it_is_not_passed(built, copy_of_site):
    from generator.journal import journal_path

    # Never rolled back
    journal_path(copy_of_site).write_text('{"format": 1, "kind": "apply"}', encoding="utf-8")
    result = verify(built, copy_of_site)
    assert (
        result.exit_code == 1
        and "构建未完成：.copy.disclose-journal：上次构建更新这个目录时中断" in result.stdout
    )


def test_a_number_with_a_wrong_check_digit_is_not_an_id(built, copy_of_site):
    wrong = full_id()[:17] + ("0" if full_id()[17] != "0" else "1")
    page = next((copy_of_site / "records" / "license").rglob("*.html"))
    page.write_text(
        page.read_text(encoding="utf-8").replace("<h1>", f"<h1>{wrong} "), encoding="utf-8"
    )
    result = verify(built, copy_of_site)
    findings = [line.split("：")[0] for line in result.stdout.splitlines()]
    assert findings == ["内容与已审核的批次不符"]  # an edit, but not an ID number


def test_a_full_width_id_number_in_a_download_is_found(built, copy_of_site):
    wide = full_id().translate({ord(c): 0xFF10 + int(c) for c in "0123456789"})
    path = copy_of_site / "downloads" / "pledge.json"
    path.write_text(
        path.read_text(encoding="utf-8").replace('"records"', f'"note":"{wide}","records"'),
        encoding="utf-8",
    )
    result = verify(built, copy_of_site)
    assert result.exit_code == 1
    assert any(
        line.startswith("完整身份证号码：downloads/pledge.json")
        for line in result.stdout.splitlines()
    )


@pytest.mark.parametrize(
    "where,spelled",
    [
        ("page", lambda n: f"{n[0]}<b></b>{n[1:]}"),
        ("page", lambda n: f"&#{ord(n[0])};{n[1:]}"),
        ("page", lambda n: f"{n[:9]}&shy;{n[9:]}"),
        ("page", lambda n: f"{n[:6]}\u034f{n[6:]}"),
        ("json", lambda n: f"\\u00{ord(n[0]):x}{n[1:9]}\\u200b{n[9:]}"),
        ("gz", lambda n: n),
    ],
)
def test_a_number_split_for_the_eye_is_found_as_a_reader_sees_it(
    built, copy_of_site, where, spelled
):
    """Issue 26: an ID split by a tag, a character reference, a soft hyphen, U+034F or a JSON
    escape reads as a plain number in a browser; verify decodes what a reader sees and reports it
    in one line that never shows it."""
    import gzip

    text = spelled(full_id())
    if where == "page":
        path = next((copy_of_site / "records" / "license").rglob("*.html"))
        path.write_text(
            path.read_text(encoding="utf-8").replace("<h1>", f"<h1>{text} "), encoding="utf-8"
        )
    elif where == "json":
        path = copy_of_site / "downloads" / "pledge.json"
        path.write_text(
            path.read_text(encoding="utf-8").replace('"records"', f'"note":"{text}","records"'),
            encoding="utf-8",
        )
    else:  # a file the build does not write is reported as extra; a full verify reads it too
        path = copy_of_site / "downloads" / "pledge.json.gz"
        path.write_bytes(gzip.compress(f'{{"note":"{text}"}}'.encode()))
    result = built["site"].run(
        "verify", str(copy_of_site), "--today", TODAY, *(["--full"] if where == "gz" else [])
    )
    assert result.exit_code == 1
    name = path.relative_to(copy_of_site).as_posix()
    assert (
        f"完整身份证号码：{name}：{full_id()[:4]}**********{full_id()[-4:]}"
        in result.stdout.splitlines()
    )
    assert full_id() not in result.stdout + result.stderr


@pytest.mark.slow
@pytest.mark.parametrize(
    "tag", ['<a href="https://a.example/?id={pct}">详见</a>', '<a href="/x" title="{ent}">详见</a>']
)
def test_a_number_in_a_links_address_or_title_is_found(built, copy_of_site, tag):
    """A reader sees a link's address in the status bar and its title as a tooltip (issue 26 review)."""
    number = full_id()
    tag = tag.format(
        pct="".join(f"%{ord(c):02X}" for c in number), ent="".join(f"&#{ord(c)};" for c in number)
    )
    page = next((copy_of_site / "records" / "license").rglob("*.html"))
    page.write_text(
        page.read_text(encoding="utf-8").replace("<h1>", f"<h1>{tag}"), encoding="utf-8"
    )
    result = verify(built, copy_of_site)
    name = page.relative_to(copy_of_site).as_posix()
    assert (
        f"完整身份证号码：{name}：{number[:4]}**********{number[-4:]}" in result.stdout.splitlines()
    )


def test_a_number_in_a_search_term_list_is_found(built, copy_of_site):
    """The search's shards and manifests are files a reader can fetch: verify reads them too
    (before, they were skipped, so a token joined from a document number was never looked at)."""
    shard = sorted((copy_of_site / "search").glob("*/shards/0.json"))[0]
    shard.write_text(
        shard.read_text(encoding="utf-8").replace(
            '"invertedIndex":[', '"invertedIndex":[["13812345678",{}],', 1
        ),
        encoding="utf-8",
    )
    result = verify(built, copy_of_site)
    assert result.exit_code == 1
    assert (
        f"完整手机号码：{shard.relative_to(copy_of_site).as_posix()}：138****5678"
        in result.stdout.splitlines()
    )


def test_mobile_and_card_numbers_in_a_download_are_found(built, copy_of_site):
    path = copy_of_site / "downloads" / "penalty.csv"
    path.write_text(
        path.read_text(encoding="utf-8-sig")
        + "\n联系电话 138-1234-5678，银行卡号 6222 0212 3456 7890 128\n",
        encoding="utf-8-sig",
    )
    lines = verify(built, copy_of_site).stdout.splitlines()
    assert "完整手机号码：downloads/penalty.csv：138****5678" in lines
    assert "完整银行卡号：downloads/penalty.csv：***************0128" in lines


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
    assert (
        f"不应公开的记录页：records/penalty/{withdrawn[:2]}/{withdrawn}.html（已撤下）"
        in result.stdout.splitlines()
    )


def test_an_unapproved_batchs_record_in_the_search_index_is_found(built, copy_of_site):
    pending = built["site"].batches / built["pending"] / "records.jsonl"
    rid = json.loads(pending.read_text(encoding="utf-8").splitlines()[0])["id"]
    bucket = next((copy_of_site / "search").glob("s*/docs/0.json"))
    rows = json.loads(bucket.read_text(encoding="utf-8"))
    bucket.write_text(
        json.dumps(rows + [[rid, "示例", "", "", TODAY, ""]], ensure_ascii=False), encoding="utf-8"
    )
    result = verify(built, copy_of_site)
    assert result.exit_code == 1
    assert any(
        line.startswith(f"检索中不应出现的记录：{rid}") for line in result.stdout.splitlines()
    )


def test_a_broken_link_and_a_missing_page_are_found(built, copy_of_site):
    page = next((copy_of_site / "records" / "pledge").rglob("*.html"))
    page.write_text(
        page.read_text(encoding="utf-8").replace("/pages/repair.html", "/pages/no-such-guide.html"),
        encoding="utf-8",
    )
    removed = next((copy_of_site / "records" / "judgment").rglob("*.html"))
    removed.unlink()
    result = verify(built, copy_of_site)
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert any(
        line.startswith(f"失效链接：{page.relative_to(copy_of_site).as_posix()} → ")
        and "no-such-guide" in line
        for line in lines
    )
    assert any(
        line.startswith(f"缺少记录页：{removed.relative_to(copy_of_site).as_posix()}")
        for line in lines
    )


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


# -- the content proof: any one-character edit, in any kind of file ------------------------------------

EDITS = {  # what a reader or a machine reads, and one character of it changed
    "record page": ("records/penalty/*/*.html", "罚款"),
    "archive": ("entities/*/*.html", "行政处罚"),
    "list page": ("kinds/penalty/index.html", "盐"),
    "home page": ("index.html", "信用"),
    "download CSV row": ("downloads/penalty.csv", "盐"),
    "download JSON row": ("downloads/license.json", "许可"),
    "search shard": ("search/*/shards/*.json", '"'),
    "search display entry": ("search/*/docs/*.json", "盐"),
    "feed entry": ("feeds/*.xml", "盐"),
    "statistics figure": ("stats/*.html", "条"),
    "statistics CSV": ("stats/*.csv", "1"),
    "sitemap": ("sitemap.xml", "records"),
}


def _one_character_edit(path: Path, needle: str) -> None:
    text = path.read_text(encoding="utf-8-sig" if path.suffix == ".csv" else "utf-8")
    at = (
        text.index(needle, len(text) // 3)
        if needle in text[len(text) // 3 :]
        else text.index(needle)
    )
    replacement = (
        "9"
        if needle[0] == "1"
        else ("'" if needle[0] == '"' else "监" if needle[0] != "监" else "盐")
    )
    edited = text[:at] + replacement + text[at + 1 :]
    path.write_bytes(
        edited.encode(
            "utf-8-sig" if path.suffix == ".csv" and text.startswith("\ufeff") else "utf-8"
        )
    )


@pytest.mark.slow
@pytest.mark.parametrize("what", sorted(EDITS))
def test_verify_reports_a_one_character_edit_in_every_kind_of_file(built, copy_of_site, what):
    pattern, needle = EDITS[what]
    candidates = sorted(
        p
        for p in copy_of_site.glob(pattern)
        if needle in p.read_text(encoding="utf-8", errors="ignore")
    )
    assert candidates, pattern
    page = candidates[0]
    _one_character_edit(page, needle)
    result = verify(built, copy_of_site)
    assert result.exit_code == 1
    name = page.relative_to(copy_of_site).as_posix()
    assert f"内容与已审核的批次不符：{name}" in result.stdout, result.stdout


@pytest.mark.slow
def test_a_hand_edit_survives_no_nightly_verify(site, messy):
    """The attack: a record page edited by hand is kept by the next incremental build, and a
    verify with a warm index (which reads only what changed) still reports it; the edit that was
    made after a verify proved the file is seen by its ctime."""
    site.stage_and_approve(messy["files"]["penalty"], "penalty")
    assert site.build().exit_code == 0
    first = site.run("verify", "output", "--today", TODAY)
    assert first.exit_code == 0, first.stdout + first.stderr
    page = next(
        p
        for p in sorted((site.path / "output" / "records" / "penalty").rglob("*.html"))
        if "罚款" in p.read_text(encoding="utf-8")
    )
    page.write_text(page.read_text(encoding="utf-8").replace("罚款", "罚没", 1), encoding="utf-8")
    assert site.build().exit_code == 0  # incremental: the page's inputs did not change
    result = site.run("verify", "output", "--today", TODAY)
    assert result.exit_code == 1 and page.name in result.stdout
    assert site.run("build", "--today", TODAY, "--full").exit_code == 0
    assert site.run("verify", "output", "--today", TODAY).exit_code == 0


def _shadow_file(shadow: Path) -> Path:
    """A page the shadow holds as a file (a list page): record and archive pages equal to the
    site's are only digests there."""
    return next(
        p.relative_to(shadow)
        for p in sorted(shadow.rglob("*.html"))
        if p.relative_to(shadow).parts[0] not in ("records", "entities")
    )


@pytest.mark.slow
def test_a_shadow_copy_edited_like_the_site_is_not_trusted(site, messy):
    """Editing the same page in output/ and in verify's own shadow copy: the shadow file changed
    although no verify wrote it, so verify builds the shadow again from the batches."""
    site.stage_and_approve(messy["files"]["penalty"], "penalty")
    assert site.build().exit_code == 0
    assert site.run("verify", "output", "--today", TODAY).exit_code == 0
    shadow = site.path / ".verify" / "shadow"
    name = _shadow_file(shadow)
    for tree in (site.path / "output", shadow):
        path = tree / name
        path.write_text(
            path.read_text(encoding="utf-8").replace("<h1>", "<h1>伪造", 1), encoding="utf-8"
        )
    result = site.run("verify", "output", "--today", TODAY)
    assert result.exit_code == 1 and name.as_posix() in result.stdout


@pytest.mark.slow
def test_a_cold_verify_keeps_equal_pages_as_digests_and_still_catches_an_edit(site, messy):
    """The cold verify proves each record and archive page against the live file as it renders it
    and keeps only its digest (no second copy of a million pages on disk); a one-character edit
    made after it is caught by that digest, one made before it by the comparison."""
    site.stage_and_approve(messy["files"]["penalty"], "penalty")
    assert site.build().exit_code == 0
    out, shadow = site.path / "output", site.path / ".verify" / "shadow"
    pages = sorted(p.relative_to(out) for p in (out / "records").rglob("*.html"))
    first, second = out / pages[0], out / pages[1]
    second.write_text(second.read_text(encoding="utf-8").replace("<h1>", "<h1>伪", 1), "utf-8")
    result = site.run("verify", "output", "--today", TODAY, "--full")
    assert result.exit_code == 1 and pages[1].as_posix() in result.stdout
    assert pages[0].as_posix() not in result.stdout
    assert not (shadow / pages[0]).exists()  # proved, kept as a digest
    assert (shadow / pages[1]).exists()  # differed: written, to show where
    assert site.run("build", "--today", TODAY, "--full").exit_code == 0
    assert site.run("verify", "output", "--today", TODAY).exit_code == 0
    first.write_text(first.read_text(encoding="utf-8").replace("<h1>", "<h1>伪", 1), "utf-8")
    result = site.run("verify", "output", "--today", TODAY)
    assert (
        result.exit_code == 1
        and f"{pages[0].as_posix()}（与按批次生成的页面不同）" in result.stdout
    )


@pytest.mark.slow
def test_a_shadow_built_anew_for_any_reason_proves_pages_instead_of_copying_them(site, messy):
    """Not only ``--full``: a shadow build that starts from scratch because its manifest is gone (a
    code, theme or settings change does the same) proves the pages against the site too."""
    site.stage_and_approve(messy["files"]["penalty"], "penalty")
    assert site.build().exit_code == 0
    assert site.run("verify", "output", "--today", TODAY).exit_code == 0
    shadow = site.path / ".verify" / "shadow"
    (site.path / ".verify" / ".shadow.disclose-manifest").unlink()
    assert site.run("verify", "output", "--today", TODAY).exit_code == 0
    assert (shadow / "index.html").exists()
    assert not list((shadow / "records").rglob("*.html"))
    assert not list((shadow / "entities").rglob("*.html"))


def test_a_nightly_verify_reads_only_what_changed(site, messy, monkeypatch):
    import datetime as dt

    from generator import proof
    from generator.settings import load_config
    from generator.verify import verify_site

    site.stage_and_approve(messy["files"]["penalty"], "penalty")
    assert site.build().exit_code == 0
    cfg, day, out = load_config(site.path), dt.date.fromisoformat(TODAY), site.path / "output"
    monkeypatch.setattr(proof, "_RACY_NS", 0)  # the files were all written in the last seconds
    assert verify_site(site.path, cfg, out, day).ok
    index = proof.load_index(site.path, out)
    assert index and len(index) == len(proof.walk(out).files)  # every file proved and remembered
    live, walked = proof.walk(out), []
    monkeypatch.setattr(
        proof, "walk", lambda folder, walk=proof.walk: walked.append(folder) or walk(folder)
    )
    nothing = ApplyResult()  # a shadow update that changed nothing
    planned = proof.plan(site.path, live, 0, index, nothing)
    assert planned.todo == [] and not planned.untrusted
    assert walked == []  # the shadow's files are the index's: it is not walked
    page = next(iter(sorted((out / "records").rglob("*.html"))))
    page.write_bytes(page.read_bytes())  # same bytes, new ctime: read again, found equal
    assert proof.plan(site.path, proof.walk(out), 0, index, nothing).todo == [
        page.relative_to(out).as_posix()
    ]


@pytest.mark.slow
def test_a_shadow_file_changed_behind_verify_is_found_when_its_live_twin_is_compared(
    site, messy, monkeypatch
):
    """The shadow is not walked on a nightly verify, so a shadow file edited by someone else is
    looked at when its live twin changed: its stamp is not the recorded one and the plan says the
    shadow is untrusted (verify then builds it anew). An edit to the shadow alone changes nothing."""
    from generator import proof

    site.stage_and_approve(messy["files"]["penalty"], "penalty")
    assert site.build().exit_code == 0
    out = site.path / "output"
    monkeypatch.setattr(proof, "_RACY_NS", 0)  # the files were all written in the last seconds
    assert site.run("verify", "output", "--today", TODAY).exit_code == 0
    index = proof.load_index(site.path, out)
    name = _shadow_file(proof.shadow_path(site.path)).as_posix()
    shadow_page = proof.shadow_path(site.path) / name
    shadow_page.write_bytes(shadow_page.read_bytes())
    assert proof.plan(site.path, proof.walk(out), 0, index, ApplyResult()).untrusted == []
    (out / name).write_bytes((out / name).read_bytes())
    assert proof.plan(site.path, proof.walk(out), 0, index, ApplyResult()).untrusted == [name]
    # The shadow built anew, the page equal
    assert site.run("verify", "output", "--today", TODAY).exit_code == 0


@pytest.mark.slow
def test_a_planted_verify_index_is_not_trusted(site, messy):
    """An index written without the cache key (here: a forged one claiming every file proved, with
    the stamps the files have now) is ignored: verify is a cold one and reports the edit."""
    from generator import proof

    site.stage_and_approve(messy["files"]["penalty"], "penalty")
    assert site.build().exit_code == 0
    assert site.run("verify", "output", "--today", TODAY).exit_code == 0
    out = site.path / "output"
    page = next(iter(sorted((out / "records").rglob("*.html"))))
    page.write_text(
        page.read_text(encoding="utf-8").replace("<h1>", "<h1>伪造", 1), encoding="utf-8"
    )
    live, shadow = proof.walk(out), proof.walk(proof.shadow_path(site.path))
    body = "".join(
        f"{p}\t{live.files[p]}\t{shadow.files.get(p, '=')}\n" for p in sorted(live.files)
    )
    (site.path / ".verify" / "index").write_bytes(b"disclose-verify-index 1\n" + body.encode())
    result = site.run("verify", "output", "--today", TODAY)
    assert result.exit_code == 1 and page.name in result.stdout


def test_a_file_read_again_for_any_reason_does_not_make_the_shadow_untrusted(site, messy):
    """Files proved in the last seconds (or still wrong) are read again next time, but the shadow
    files they were compared with stay trusted: no second, cold shadow build for them."""
    from generator import proof

    site.stage_and_approve(messy["files"]["penalty"], "penalty")
    assert site.build().exit_code == 0
    out = site.path / "output"
    # Files just written: racy, read again
    assert site.run("verify", "output", "--today", TODAY).exit_code == 0
    index = proof.load_index(site.path, out)
    import time

    # As the next run sees it
    planned = proof.plan(site.path, proof.walk(out), time.time_ns(), index, ApplyResult())
    assert planned.todo and not planned.untrusted
    assert all(shadow for _live, shadow in index.values())


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["https://", "http://", "HTTPS://", "", "ftp://"]),
    st.sampled_from(["h.example", "h.example:8000", ""]),
    st.lists(
        st.sampled_from(["/", "a", "记录", "%E8%AE%B0", "?q=1", "#x", ".html", "\\", " ", "//"]),
        max_size=8,
    ),
)
def test_a_sitemaps_paths_cut_at_once_are_the_ones_found_url_by_url(scheme, host, parts):
    url = scheme + host + "".join(parts)
    locs = [url.encode(), (scheme + host + "/x.html").encode()]
    slow = {(loc.decode(), _site_path(loc.decode())) for loc in locs}
    assert set(_sitemap_targets(locs)) == slow


@pytest.mark.slow
def test_a_rule_check_runs_again_when_the_published_records_change_though_no_file_did(
    site, messy, monkeypatch
):
    """The downloads, search and sitemap checks are skipped when nothing they read changed since
    they passed — the published ids included. A generator that forgot to rewrite a download (here:
    the state the shadow was built from loses a record, the files stay) is still caught."""
    import datetime as dt

    from generator import proof
    from generator.settings import load_config
    from generator.verify import verify_site

    site.stage_and_approve(messy["files"]["penalty"], "penalty")
    assert site.build().exit_code == 0
    cfg, day, out = load_config(site.path), dt.date.fromisoformat(TODAY), site.path / "output"
    monkeypatch.setattr(proof, "_RACY_NS", 0)  # the files were all written in the last seconds
    assert verify_site(site.path, cfg, out, day).ok
    assert verify_site(site.path, cfg, out, day).ok  # nothing changed: the checks are remembered
    real = proof.build_shadow

    def losing_one(*args, **kwargs):
        state, applied, pages = real(*args, **kwargs)
        state.published["penalty"] = state.published["penalty"][1:]
        return state, applied, pages

    monkeypatch.setattr(proof, "build_shadow", losing_one)
    report = verify_site(site.path, cfg, out, day)
    assert (
        "下载文件中不应出现的记录" in report.findings and "检索中不应出现的记录" in report.findings
    )


def test_the_forked_scan_finds_what_the_scan_in_this_process_finds(
    built, copy_of_site, monkeypatch
):
    """The fast path (children taking chunks one at a time, the costliest first) is pinned to the
    reference (every chunk in this process): the same findings, the same files proved clean."""
    page = sorted(copy_of_site.glob("records/*/*/*.html"))[0]
    page.write_text(page.read_text(encoding="utf-8") + f"<p>{full_id()}</p>", encoding="utf-8")
    (copy_of_site / "index.html").write_text('<a href="nowhere.html">x</a>', encoding="utf-8")
    files = verifier._list_files(copy_of_site)
    names = sorted(files)
    sizes = {name: (copy_of_site / name).stat().st_size for name in names}
    monkeypatch.setattr(verifier, "SCAN_CHUNK", 7)
    monkeypatch.setattr(verifier, "SCAN_ALONE", 20_000)  # some files alone
    assert any(len(chunk) == 1 for chunk in verifier.scan_chunks(names, sizes))

    def scanned(workers: int) -> tuple[list[str], list[str]]:
        report = verifier.Report()
        scan = verifier.start_scan(copy_of_site, names, files, workers, built["out"], sizes)
        assert bool(scan.children) == (workers > 1)
        equal = scan.finish(report)
        return report.lines(limit=10_000), equal

    monkeypatch.setattr(verifier, "SCAN_FORK_FROM", 0)
    forked = scanned(2)
    alone = scanned(1)
    assert forked == alone
    found = "\n".join(alone[0])
    assert "完整身份证号" in found and "失效链接：index.html" in found
    assert f"内容与已审核的批次不符：{page.relative_to(copy_of_site).as_posix()}" in found
    assert len(alone[1]) == len(names) - 2
