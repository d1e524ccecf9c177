"""Incremental builds: the same bytes as a clean build, and only changed files touched.

One site lives through a night's typical events: a new batch, a withdrawal, a correction and
the passing of time (records expiring). After each, ``disclose build`` updates the live output
in place and ``disclose build --full`` builds the same input into a fresh folder; the two must
be identical file for file, and every file whose bytes did not change must keep its mtime.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generator import directory, incremental
from generator.synthetic import synth_rows, write_export

from .conftest import TODAY, SiteRoot

SIZES = {
    "penalty": 60,
    "license": 30,
    "judgment": 8,
    "pledge": 8,
    "dishonesty": 8,
    "commendation": 8,
    "evaluation": 8,
}


def tree(folder: Path) -> dict[str, tuple[str, int]]:
    """Relative path → (sha256, mtime in ns) of every file."""
    found = {}
    for base, _dirs, names in os.walk(folder):
        for name in names:
            path = Path(base) / name
            found[path.relative_to(folder).as_posix()] = (
                hashlib.sha256(path.read_bytes()).hexdigest(),
                path.stat().st_mtime_ns,
            )
    return found


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SiteRoot]:
    # Small pages of the 主体名录 (an id starts one in ~8), so that its letter has several pages
    # that entries move between, and a landing page listing them, as on a big site.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(directory, "PAGE_MIN", 3)
        patch.setattr(directory, "PAGE_MAX", 12)
        patch.setattr(directory, "BOUNDARY_TAILS", frozenset(f"{n:03x}" for n in range(0, 4096, 8)))
        yield _live_site(tmp_path_factory)


def _live_site(tmp_path_factory: pytest.TempPathFactory) -> SiteRoot:
    root = tmp_path_factory.mktemp("incremental") / "site"
    root.mkdir()
    site = SiteRoot(root)
    conf = root / "pelicanconf.py"
    # Small pages, so that a kind's list is capped and months span several pages; small search segments.
    # A small sitemap limit, so that the sitemap is an index over parts, as on a big site.
    conf.write_text(
        conf.read_text(encoding="utf-8")
        + "\nLIST_PAGE_SIZE = 5\nLIST_MAX_PAGES = 3\nSEARCH_SEGMENT_RECORDS = 40\n"
        "SITEMAP_MAX_URLS = 40\nSEARCH_SHARD_POSTINGS = 8\n",
        encoding="utf-8",
    )
    for kind, count in SIZES.items():
        export = write_export(
            root.parent / f"{kind}.csv",
            kind,
            synth_rows(kind, count, seed=7, today=dt.date(2026, 11, 20)),
        )
        site.stage_and_approve(export, kind)
    result = site.build(output="live")
    assert result.exit_code == 0, result.stderr
    assert "全量" in result.stdout
    return site


def step(site: SiteRoot, name: str, today: str = TODAY) -> dict[str, object]:
    """Build ``live`` incrementally and ``clean-<name>`` from scratch; compare them."""
    before = tree(site.path / "live")
    # Left by a build interrupted while freeing old files
    stale = site.path / ".live.replaced-interrupted"
    (stale / "sub").mkdir(parents=True, exist_ok=True)
    (stale / "sub" / "1").write_text("old page", encoding="utf-8")
    (site.path / ".live.disclose-manifest.new-999999999").write_bytes(
        b"half a manifest of a killed build"
    )
    result = site.build(today=today, output="live")
    assert result.exit_code == 0, result.stderr
    assert "增量" in result.stdout, result.stdout
    # The replaced and removed files' old versions are freed before the command returns; older
    # trash (an interrupted build's) by a detached process, which the test waits for.
    assert not [p for p in site.path.glob(f".live.replaced-{os.getpid()}-*")]
    incremental.wait_detached()
    assert not list(site.path.glob(".live.replaced-*"))
    # The manifest, written beside the moves by a forked child, is in place, and nothing else.
    assert (site.path / ".live.disclose-manifest").is_file() and not list(
        site.path.glob(".live.disclose-manifest?*")
    )
    clean = site.run("build", "--today", today, "--output", f"clean-{name}", "--full")
    assert clean.exit_code == 0, clean.stderr
    after, fresh = tree(site.path / "live"), tree(site.path / f"clean-{name}")
    assert sorted(after) == sorted(fresh), (
        f"{name}: file lists differ: {sorted(set(after) ^ set(fresh))[:10]}"
    )
    differing = [path for path in after if after[path][0] != fresh[path][0]]
    assert not differing, (
        f"{name}: incremental output differs from a clean build in {differing[:10]}"
    )
    kept = [path for path in after if path in before and before[path][0] == after[path][0]]
    touched = [path for path in kept if before[path][1] != after[path][1]]
    assert not touched, f"{name}: unchanged files were rewritten: {touched[:10]}"
    changed = sorted(
        path for path in after if path not in before or before[path][0] != after[path][0]
    )
    removed = sorted(set(before) - set(after))
    return {
        "changed": changed,
        "removed": removed,
        "kept": len([path for path in kept if not path.endswith(".gz")]),  # search's gzip twins
        "stdout": result.stdout,
        "segments": sorted(
            {p.split("/")[1] for p in changed + removed if p.startswith("search/s")}
        ),
    }


def segments(site: SiteRoot) -> list[str]:
    return [
        name
        for name, _count in json.loads(
            (site.path / "live" / "search" / "manifest.json").read_text(encoding="utf-8")
        )["segments"]
    ]


@pytest.mark.slow
def test_a_rebuild_without_changes_rewrites_nothing(live: SiteRoot) -> None:
    outcome = step(live, "same")
    assert outcome["changed"] == [] and outcome["removed"] == []
    assert "新增或更新 0 个文件，删除 0 个" in outcome["stdout"]


@pytest.mark.slow
def test_a_new_batch_touches_its_pages_and_not_the_others(live: SiteRoot) -> None:
    export = write_export(
        live.path.parent / "penalty-new.csv",
        "penalty",
        synth_rows("penalty", 5, seed=8, today=dt.date(2026, 11, 25), start=5001, max_days=10),
    )
    live.stage_and_approve(export, "penalty")
    outcome = step(live, "batch")
    records = [p for p in outcome["changed"] if p.startswith("records/")]
    before = {p for p in tree(live.path / "clean-same") if p.startswith("records/")}
    added = {p for p in tree(live.path / "clean-batch") if p.startswith("records/")} - before
    assert (
        added and set(records) == added and all(p.startswith("records/penalty/") for p in records)
    )
    plain = [p for p in tree(live.path / "live") if not p.endswith(".gz")]
    assert len(before) > 50 and outcome["kept"] > 0.8 * len(plain)
    assert not any(
        p.startswith(("records/license/", "downloads/license", "kinds/license/"))
        for p in outcome["changed"]
    )
    assert "downloads/penalty.csv" in outcome["changed"]
    # Search: the newest segment only (the batch's own, merged with the small ones before it, see
    # search.segment_cuts); the files removed are those of the segments merged into it.
    names, touched = segments(live), sorted(outcome["segments"], key=lambda name: int(name[1:]))
    assert len(names) >= 2 and touched[0] == names[-1], (names, touched)
    assert all(int(name[1:]) > int(names[-1][1:]) for name in touched[1:])
    merged = tuple(f"search/{name}/" for name in touched[1:]) + tuple(
        f"sitemaps/records-{name}." for name in touched[1:]
    )
    # and 名录 pages named by a first entry that is no longer first (directory.py, "Pages that
    # stay put")
    assert all(p.startswith((*merged, "directory/")) for p in outcome["removed"]), outcome[
        "removed"
    ]


@pytest.mark.slow
def test_a_withdrawal_removes_the_page_everywhere(
    live: SiteRoot, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    from generator.batches import BatchStore
    from generator.settings import load_config

    store = BatchStore(live.path, load_config(live.path))
    penalty = next(b for b in store.all() if b.kind == "penalty")
    record = next(
        r
        for r in penalty.iter_records()
        if (live.path / "live" / f"records/penalty/{r['id'][:2]}/{r['id']}.html").exists()
    )
    docno = record["fields"]["行政处罚决定书文号"]
    held_in = search_files_of(live.path / "live", record)
    withdrawal = live.withdraw(docno, "penalty", "信用修复", "测试编辑乙")
    assert live.run("approve", withdrawal, "--editor", "测试编辑甲").exit_code == 0
    caplog.set_level(logging.DEBUG, logger="generator.tasks")
    outcome = step(live, "withdrawal")
    # The penalties' downloads copied every remaining row from the live files (the clean build: none).
    copies = [
        r.getMessage().split()
        for r in caplog.records
        if r.getMessage().startswith("downloads/penalty:")
    ]
    (_, live_copied, _, live_rows, *_), (_, clean_copied, *_) = copies
    assert int(live_copied) == int(live_rows) > 0 and int(clean_copied) == 0
    page = f"records/penalty/{record['id'][:2]}/{record['id']}.html"
    assert page in outcome["removed"]
    assert not (live.path / "live" / page).exists()
    assert "downloads/penalty.csv" in outcome["changed"]
    for path in ("downloads/penalty.csv", "downloads/penalty.json"):
        assert docno not in (live.path / "live" / path).read_text(encoding="utf-8-sig")
    assert len([p for p in outcome["changed"] if p.startswith("records/")]) == 0
    assert len(outcome["segments"]) == 1  # the segment that held the record, no other
    # In that segment: its manifest, its display bucket and exactly the shards of the record's tokens.
    folder = f"search/{outcome['segments'][0]}/"
    touched = {
        p.removeprefix(folder)
        for p in outcome["changed"] + outcome["removed"]
        if p.startswith(folder)
    }
    plain = {p for p in touched if not p.endswith(".gz")}
    assert touched - plain == {f"{p}.gz" for p in plain}  # each with its gzip twin
    touched = plain
    assert {p for p in touched if not p.startswith(("shards/", "codes/"))} == {
        "manifest.json",
        held_in[1],
    }
    assert {p for p in touched if p.startswith("shards/")} == held_in[2]
    assert {p for p in touched if p.startswith("codes/")} == held_in[3]
    # The sitemap: the part of the other pages, of the record's search segment and of its
    # archive's id, no other.
    archives = {
        p.split("/")[2][:1]
        for p in outcome["changed"] + outcome["removed"]
        if p.startswith("entities/")
    }
    assert sitemap_parts(outcome["changed"] + outcome["removed"]) <= {
        "pages",
        f"records-{outcome['segments'][0]}",
        *(f"entities-{c}" for c in archives),
    }
    assert f"records-{outcome['segments'][0]}" in sitemap_parts(outcome["changed"])


CODE = "行政相对人代码_1(统一社会信用代码)"


def search_files_of(out: Path, record: dict) -> tuple[str, str, set[str], set[str]]:
    """(segment, display bucket, shards, code-index files) of the search files that hold a
    published record."""
    from generator.search import brief_tokens, code_windows, shard_for

    for name, _count in json.loads((out / "search" / "manifest.json").read_text(encoding="utf-8"))[
        "segments"
    ]:
        manifest = json.loads((out / "search" / name / "manifest.json").read_text(encoding="utf-8"))
        for bucket in sorted((out / "search" / name / "docs").glob("*.json")):
            if any(
                row and row[0] == record["id"]
                for row in json.loads(bucket.read_text(encoding="utf-8"))
            ):
                shards = {
                    f"shards/{shard_for(manifest['shards'], t)}.json"
                    for t in brief_tokens("penalty", record["fields"])
                }
                codes = {
                    f"codes/{value % manifest['codes']}.json"
                    for value in code_windows(record["fields"].get(CODE, ""))
                }
                return name, f"docs/{bucket.name}", shards, codes
    raise AssertionError(f"{record['id']} is in no search bucket")


def sitemap_parts(paths: list[str]) -> set[str]:
    """'sitemaps/records-s2-1.xml' → 'records-s2', 'sitemaps/pages.xml' → 'pages'."""
    found = set()
    for path in paths:
        if path.startswith("sitemaps/"):
            words = path.removeprefix("sitemaps/").removesuffix(".xml").split("-")
            found.add("-".join(words[:2]) if words[0] in ("records", "entities") else words[0])
    return found


@pytest.mark.slow
def test_the_sitemap_lists_every_page_once(live: SiteRoot) -> None:
    import xml.etree.ElementTree as ET

    out = live.path / "live"
    index = ET.parse(out / "sitemap.xml").getroot()
    assert index.tag.endswith("sitemapindex") and len(index) > 3
    locs = []
    for part in index:
        path = part[0].text.split("/", 3)[3]
        urlset = ET.parse(out / path).getroot()
        assert 0 < len(urlset) <= 40
        locs += [url[0].text.split("/", 3)[3] for url in urlset]
    pages = sorted(p for p in tree(out) if p.endswith(".html") and p != "404.html")
    assert sorted(locs) == pages


@pytest.mark.slow
def test_a_correction_rewrites_the_record_page(live: SiteRoot) -> None:
    rows = list(synth_rows("license", SIZES["license"], seed=7, today=dt.date(2026, 11, 20)))
    corrected = dict(rows[3], 许可内容="准予从事相关经营活动（更正：经营范围以许可证为准）")
    live.stage_and_approve(
        write_export(live.path.parent / "license-fix.csv", "license", [corrected]), "license"
    )
    outcome = step(live, "correction")
    records = [p for p in outcome["changed"] if p.startswith("records/")]
    assert len(records) == 1 and records[0].startswith("records/license/")
    assert "经营范围以许可证为准" in (live.path / "live" / records[0]).read_text(encoding="utf-8")
    # The editors' build report names it as updated, with the batch it replaced.
    report = latest_report(live, "live")
    assert report["counts"] == {"new": 0, "updated": 1, "removed": 0}
    [updated] = report["changes"]["updated"]
    assert updated["kind"] == "license" and updated["previous_batch"] not in (
        "",
        None,
        updated["batch"],
    )


def latest_report(site: SiteRoot, output: str) -> dict[str, object]:
    """The newest build report written for ``output`` (``2026-11-28``, ``2026-11-28-2`` …)."""
    found = []
    for path in (site.path / "reports" / "build").glob("*.json"):
        report = json.loads(path.read_text(encoding="utf-8"))
        if Path(report["output"]).name == output:
            found.append(((path.stem[:10], int(path.stem[11:] or 1)), report))
    return max(found, key=lambda pair: pair[0])[1]


@pytest.mark.slow
def test_a_correction_that_changes_the_subject_moves_it_between_archives(live: SiteRoot) -> None:
    # An incremental build re-keys only the archives a changed record joins or leaves: the one it
    # left is known from the last build's manifest, not from the state.
    rows = list(synth_rows("license", SIZES["license"], seed=7, today=dt.date(2026, 11, 20)))
    name, code, docno = "行政相对人名称", "行政相对人代码_1(统一社会信用代码)", "行政许可决定文书号"
    second = dict(rows[4], **{docno: "盐审批许〔2026〕9001号"})  # the subject gets a second licence
    live.stage_and_approve(
        write_export(live.path.parent / "license-second.csv", "license", [second]), "license"
    )
    step(live, "second")
    archive = [
        p
        for p in sorted((live.path / "live" / "entities").rglob("*.html"))
        if rows[4][code] in p.read_text(encoding="utf-8")
    ]
    assert len(archive) == 1 and rows[4][docno] in archive[0].read_text(encoding="utf-8")
    # The first licence was another subject's
    moved = dict(rows[4], **{name: rows[5][name], code: rows[5][code]})
    live.stage_and_approve(
        write_export(live.path.parent / "license-move.csv", "license", [moved]), "license"
    )
    outcome = step(live, "moved")
    assert archive[0].relative_to(live.path / "live").as_posix() in outcome["changed"]
    left = archive[0].read_text(encoding="utf-8")
    assert rows[4][docno] not in left and second[docno] in left


@pytest.mark.slow
def test_a_namesake_that_comes_is_linked_from_the_archive_already_there(live: SiteRoot) -> None:
    """A new company with an existing company's name: the old archive, which no changed record
    touched, is written again with the link 另有同名主体 (as a clean build makes it: step)."""
    rows = list(synth_rows("license", SIZES["license"], seed=7, today=dt.date(2026, 11, 20)))
    name, code = "行政相对人名称", "行政相对人代码_1(统一社会信用代码)"
    first = next(r for r in rows[8:] if r["行政相对人类别"] == "法人及非法人组织")
    (fresh,) = synth_rows("license", 1, seed=31, today=dt.date(2026, 11, 20), start=7001)
    newcomer = dict(fresh, **{name: first[name], "行政相对人类别": "法人及非法人组织"})
    live.stage_and_approve(
        write_export(live.path.parent / "license-namesake.csv", "license", [newcomer]), "license"
    )
    outcome = step(live, "namesake")
    out = live.path / "live"
    old = archive_page(out, first[code])
    assert old.relative_to(out).as_posix() in outcome["changed"]
    text = old.read_text(encoding="utf-8")
    assert "另有同名主体" in text and newcomer[code] in text
    assert any(p.startswith("directory/") for p in outcome["changed"])


def archive_page(out: Path, credit_code: str) -> Path:
    """The one archive page of the subject with ``credit_code``."""
    (page,) = [
        p
        for p in (out / "entities").rglob("*.html")
        if f'<code class="uscc">{credit_code}</code></p>' in p.read_text(encoding="utf-8")
    ]
    return page


@pytest.mark.slow
def test_a_name_of_many_archives_lists_ten_and_links_the_directory(live: SiteRoot) -> None:
    """Twelve new companies with an existing company's name: the old archive lists the first 10
    of its 12 namesakes (directory.NAMESAKES_SHOWN) in the 名录's order, then says 2 more and
    links the 名录 page where the name's run starts; as a clean build makes it (step)."""
    rows = list(synth_rows("license", SIZES["license"], seed=7, today=dt.date(2026, 11, 20)))
    name, code, category = "行政相对人名称", "行政相对人代码_1(统一社会信用代码)", "行政相对人类别"
    first = next(r for r in rows[14:] if r[category] == "法人及非法人组织")
    fresh = [
        r
        for r in synth_rows("license", 60, seed=41, today=dt.date(2026, 11, 20), start=7101)
        if r[category] == "法人及非法人组织" and r[code]
    ][:12]
    assert len({r[code] for r in fresh} | {first[code]}) == 13
    newcomers = [dict(r, **{name: first[name]}) for r in fresh]
    live.stage_and_approve(
        write_export(live.path.parent / "license-crowd.csv", "license", newcomers), "license"
    )
    outcome = step(live, "crowd")
    out = live.path / "live"
    old = archive_page(out, first[code])
    assert old.relative_to(out).as_posix() in outcome["changed"]
    block = old.read_text(encoding="utf-8").split('class="namesakes"')[1].split("</section>")[0]
    listed = re.findall(r'<li><a href="\.\./\.\./(entities/[^"]+)">', block)
    assert len(listed) == 10  # of 12
    assert directory.NAMESAKES_SHOWN == 10
    more = re.search(r'另有 (\d+) 个同名主体未在此列出，见<a href="\.\./\.\./([^"]+)">', block)
    assert more and more.group(1) == "2"
    # The link leads to the 名录 page where the name's entries start: the first listed (or the
    # archive itself, when it comes first) is on it, and nothing of this name before it
    page = (out / more.group(2)).read_text(encoding="utf-8")
    items = re.findall(
        r'<li><a href="\.\./\.\./(entities/[^"]+)">([^<]+) <span', page.split("directory-list")[1]
    )
    names = [entry for _href, entry in items]
    assert names.count(first[name]) >= 1
    start = names.index(first[name])
    assert items[start][0] in (listed[0], old.relative_to(out).as_posix())
    if start == 0:  # the page before it (if any) ends with another name
        prev = re.search(r'<a href="\.\./\.\./([^"]+)" rel="prev">', page)
        if prev:
            before = (out / prev.group(1)).read_text(encoding="utf-8")
            assert re.findall(r'<li><a href="[^"]+">([^<]+) <span', before)[-1] != first[name]


@pytest.mark.slow
def test_time_passing_expires_records_in_place(live: SiteRoot) -> None:
    later = (dt.date.fromisoformat(TODAY) + dt.timedelta(days=400)).isoformat()
    outcome = step(live, "later", today=later)
    assert any(p.startswith("records/penalty/") for p in outcome["removed"])


@pytest.mark.slow
def test_an_output_replaced_by_another_build_is_not_trusted(live: SiteRoot) -> None:
    import shutil

    later = (dt.date.fromisoformat(TODAY) + dt.timedelta(days=400)).isoformat()
    shutil.rmtree(live.path / "live")
    # An older site, e.g. restored from a backup
    shutil.copytree(live.path / "clean-same", live.path / "live")
    result = live.build(today=later, output="live")
    assert result.exit_code == 0 and "全量" in result.stdout
    assert tree(live.path / "live").keys() == tree(live.path / "clean-later").keys()


@pytest.mark.slow
def test_a_theme_change_means_a_clean_build(live: SiteRoot) -> None:
    css = live.path / "theme" / "templates" / "record.html"
    css.write_text(
        css.read_text(encoding="utf-8").replace(
            "{% block content %}", "{% block content %}<!-- v2 -->", 1
        ),
        encoding="utf-8",
    )
    # An interrupted apply's old files, its build long gone
    stale = live.path / ".live.replaced-999999999-x"
    stale.mkdir()
    (stale / "1").write_text("old page", encoding="utf-8")
    result = live.build(
        today=(dt.date.fromisoformat(TODAY) + dt.timedelta(days=400)).isoformat(), output="live"
    )
    assert result.exit_code == 0 and "全量" in result.stdout
    # The old site and the stale trash are freed by a detached process, after the swap.
    assert incremental._DETACHED
    incremental.wait_detached()
    assert not stale.exists() and not list(live.path.glob(".live.replaced-*"))
    page = next((live.path / "live" / "records" / "license").rglob("*.html"))
    assert "<!-- v2 -->" in page.read_text(encoding="utf-8")


@pytest.mark.slow
def test_workers_yield_the_cpu_only_in_an_incremental_build(tmp_path: Path) -> None:
    """Two page workers: equal priority while a full build's pages are the longest path, lowered by
    ``BUILD_WORKER_NICE`` once the manifest makes the build incremental. A parallel incremental
    build after a withdrawal still gives the bytes of a clean one."""
    from pelican import signals

    from generator.plugin import DisclosureGenerator

    root = tmp_path / "site"
    root.mkdir()
    site = SiteRoot(root)
    conf = root / "pelicanconf.py"
    conf.write_text(
        conf.read_text(encoding="utf-8")
        + "\nBUILD_WORKERS = 2\nBUILD_PARALLEL_MIN_RECORDS = 0\nBUILD_WORKER_NICE = 7\n"
        "SEARCH_SEGMENT_RECORDS = 40\n",
        encoding="utf-8",
    )
    export = write_export(
        tmp_path / "penalty.csv",
        "penalty",
        synth_rows("penalty", 50, seed=11, today=dt.date(2026, 11, 20)),
    )
    site.stage_and_approve(export, "penalty")
    seen: list[tuple[int, list[int]]] = []

    def priorities(generators: list) -> None:
        for generator in generators:
            if isinstance(generator, DisclosureGenerator) and generator.workers.parallel:
                pids = generator.workers.pids()
                seen.append(
                    (
                        os.getpriority(os.PRIO_PROCESS, 0),
                        [os.getpriority(os.PRIO_PROCESS, pid) for pid in pids],
                    )
                )

    signals.all_generators_finalized.connect(priorities)
    try:
        assert "全量" in site.build(output="live").stdout
        docno = next(iter(synth_rows("penalty", 50, seed=11, today=dt.date(2026, 11, 20))))[
            "行政处罚决定书文号"
        ]
        withdrawal = site.withdraw(docno, "penalty", "信用修复", "测试编辑乙")
        assert site.run("approve", withdrawal, "--editor", "测试编辑甲").exit_code == 0
        assert "增量" in site.build(output="live").stdout
        assert site.run("build", "--today", TODAY, "--output", "clean", "--full").exit_code == 0
    finally:
        signals.all_generators_finalized.disconnect(priorities)
    (
        (full_parent, full_workers),
        (nightly_parent, nightly_workers),
        (clean_parent, clean_workers),
    ) = seen
    assert len(full_workers) == 2 and set(full_workers) == {full_parent}
    assert set(nightly_workers) == {min(19, nightly_parent + 7)}
    assert set(clean_workers) == {clean_parent}
    live, clean = tree(root / "live"), tree(root / "clean")
    assert sorted(live) == sorted(clean)
    assert [p for p in live if live[p][0] != clean[p][0]] == []


def test_a_removed_page_leaves_the_live_folder_even_if_the_trash_is_gone(tmp_path: Path) -> None:
    from generator.incremental import Trash, abandoned_trash

    live = tmp_path / "live"
    (live / "records").mkdir(parents=True)
    page = live / "records" / "a.html"
    page.write_text("withdrawn", encoding="utf-8")
    # Another build of this output, still at work
    running = tmp_path / f".live.replaced-{os.getppid()}-busy"
    running.mkdir()
    trash = Trash(live)
    assert running not in trash.folders and running not in abandoned_trash(live)
    trash.folder.rmdir()  # e.g. removed by a temp cleaner
    assert trash.take(page) and not page.exists()
    assert not trash.take(page)
    trash.empty()
    trash.wait()
    assert running.exists()


def _parallel_site(tmp_path: Path) -> tuple[SiteRoot, str]:
    """A site built by two page workers, and the 决定书文号 of one of its penalties."""
    root = tmp_path / "site"
    root.mkdir()
    site = SiteRoot(root)
    conf = root / "pelicanconf.py"
    conf.write_text(
        conf.read_text(encoding="utf-8") + "\nBUILD_WORKERS = 2\nBUILD_PARALLEL_MIN_RECORDS = 0\n",
        encoding="utf-8",
    )
    rows = list(synth_rows("penalty", 40, seed=12, today=dt.date(2026, 11, 20)))
    site.stage_and_approve(write_export(tmp_path / "penalty.csv", "penalty", rows), "penalty")
    site.stage_and_approve(
        write_export(
            tmp_path / "pledge.csv",
            "pledge",
            synth_rows("pledge", 20, seed=12, today=dt.date(2026, 11, 20)),
        ),
        "pledge",
    )
    assert "全量" in site.build(output="live").stdout
    shown = (site.path / "live" / "kinds" / "penalty" / "index.html").read_text(encoding="utf-8")
    return site, next(
        row["行政处罚决定书文号"] for row in rows if row["行政处罚决定书文号"] in shown
    )


@pytest.mark.slow
def test_a_side_process_writes_statistics_feeds_and_report_of_an_incremental_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An incremental build with workers forks a side process for the statistics, the feeds and the
    build report, at the workers' priority: the site is byte for byte a clean build's, and the
    report names the withdrawal."""
    from generator import families, parallel

    forks: list[int] = []

    class Spy(parallel.Forked):
        def __init__(self, fn, nice=0):  # noqa: ANN001
            super().__init__(fn, nice)
            forks.append(self.pid)

    original = families.generate_stats

    def generate_stats(out):  # noqa: ANN001, ANN202 - runs in the side process: note its priority
        (tmp_path / "side-nice").write_text(
            str(os.getpriority(os.PRIO_PROCESS, 0) - parent), encoding="utf-8"
        )
        return original(out)

    parent = os.getpriority(os.PRIO_PROCESS, 0)
    monkeypatch.setattr(parallel, "Forked", Spy)
    monkeypatch.setattr(families, "generate_stats", generate_stats)
    site, docno = _parallel_site(tmp_path)
    assert forks == []  # a clean build has no side process: its workers use both cores
    withdrawal = site.withdraw(docno, "penalty", "信用修复", "测试编辑乙")
    assert site.run("approve", withdrawal, "--editor", "测试编辑甲").exit_code == 0
    assert "增量" in site.build(output="live").stdout
    assert len(forks) == 1
    # BUILD_WORKER_NICE's default
    assert (tmp_path / "side-nice").read_text(encoding="utf-8") == str(min(19 - parent, 5))
    assert site.run("build", "--today", TODAY, "--output", "clean", "--full").exit_code == 0
    live, clean = tree(site.path / "live"), tree(site.path / "clean")
    assert sorted(live) == sorted(clean) and [p for p in live if live[p][0] != clean[p][0]] == []
    assert any(p.startswith("stats/") for p in live) and "feeds/penalty.atom.xml" in live
    # The side process groups the government bodies' archives itself: the same bodies as a clean build's.
    bodies = (
        (site.path / "live" / "stats" / "government-bodies.csv")
        .read_text(encoding="utf-8-sig")
        .splitlines()
    )
    assert len(bodies) > 2
    incremental_report = json.loads(
        (site.path / "reports" / "build" / f"{TODAY}-2.json").read_text(encoding="utf-8")
    )
    assert incremental_report["counts"] == {"new": 0, "updated": 0, "removed": 1}
    assert incremental_report["changes"]["removed"][0]["docno"] == docno


@pytest.mark.slow
def test_a_failing_side_process_fails_the_build_and_keeps_the_site(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from generator import families

    site, docno = _parallel_site(tmp_path)
    before = tree(site.path / "live")
    withdrawal = site.withdraw(docno, "penalty", "信用修复", "测试编辑乙")
    assert site.run("approve", withdrawal, "--editor", "测试编辑甲").exit_code == 0

    def broken(out):  # noqa: ANN001 - runs in the forked side process only
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(families, "generate_feeds", broken)
    result = site.build(output="live")
    assert result.exit_code == 1 and "No space left on device" in result.stderr
    assert tree(site.path / "live") == before
    assert not [p for p in site.path.iterdir() if p.name.startswith(".live.building-")]


@pytest.mark.slow
def test_a_manifest_writer_that_dies_only_makes_the_apply_save_it_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The files have moved when the forked manifest writer fails: the build saves the manifest
    itself and succeeds, and the next build is incremental."""
    from generator import incremental

    site, docno = _parallel_site(tmp_path)
    withdrawal = site.withdraw(docno, "penalty", "信用修复", "测试编辑乙")
    assert site.run("approve", withdrawal, "--editor", "测试编辑甲").exit_code == 0
    # The child cannot open it: it fails after the fork
    unwritable = tmp_path / "no-such-folder" / "manifest"
    monkeypatch.setattr(incremental, "_pending_manifest", lambda live: unwritable)
    result = site.build(output="live")
    assert result.exit_code == 0 and "增量" in result.stdout, result.stderr
    assert "增量" in site.build(output="live").stdout  # the manifest was saved
    assert site.run("build", "--today", TODAY, "--output", "clean", "--full").exit_code == 0
    live, clean = tree(site.path / "live"), tree(site.path / "clean")
    assert sorted(live) == sorted(clean) and [p for p in live if live[p][0] != clean[p][0]] == []


@pytest.mark.parametrize(
    "where, name",
    [("plan", "BuildPlan.record_tasks"), ("families", "generate_lists")],
    ids=["planning", "a page family"],
)
def test_a_build_failing_beside_its_side_process_stops_it_and_keeps_the_site(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str, name: str
) -> None:
    """The side process starts as soon as the state exists; a failure in the main process after
    that (while it plans, or writes a page family with the workers running) kills it (no process
    left writing into a folder being removed) and keeps the site."""
    import importlib

    from generator import parallel

    site, docno = _parallel_site(tmp_path)
    before = tree(site.path / "live")
    withdrawal = site.withdraw(docno, "penalty", "信用修复", "测试编辑乙")
    assert site.run("approve", withdrawal, "--editor", "测试编辑甲").exit_code == 0
    started: list[int] = []

    class Spy(parallel.Forked):
        def __init__(self, fn, nice=0):  # noqa: ANN001
            super().__init__(fn, nice)
            started.append(self.pid)

    def broken(*args):  # noqa: ANN002, ANN202 - the main process, after the side process was forked
        raise OSError(28, "No space left on device")

    owner = importlib.import_module(f"generator.{where}")
    *path, attribute = name.split(".")
    for part in path:
        owner = getattr(owner, part)
    monkeypatch.setattr(parallel, "Forked", Spy)
    monkeypatch.setattr(owner, attribute, broken)
    result = site.build(output="live")
    assert result.exit_code == 1 and "No space left on device" in result.stderr
    assert len(started) == 1
    with pytest.raises(ProcessLookupError):  # killed and reaped
        os.kill(started[0], 0)
    assert tree(site.path / "live") == before
    assert not [p for p in site.path.iterdir() if p.name.startswith(".live.building-")]


@pytest.mark.slow
def test_a_side_process_that_cannot_be_forked_only_makes_the_build_slower(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from generator import forked, parallel

    def no_fork(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202 - what os.fork raises without memory
        raise OSError(12, "Cannot allocate memory")

    site, docno = _parallel_site(tmp_path)
    withdrawal = site.withdraw(docno, "penalty", "信用修复", "测试编辑乙")
    assert site.run("approve", withdrawal, "--editor", "测试编辑甲").exit_code == 0
    monkeypatch.setattr(parallel, "Forked", no_fork)
    # The manifest, then, is saved after the files move
    monkeypatch.setattr(forked, "Forked", no_fork)
    assert "增量" in site.build(output="live").stdout
    assert "增量" in site.build(output="live").stdout  # the manifest was saved
    assert site.run("build", "--today", TODAY, "--output", "clean", "--full").exit_code == 0
    live, clean = tree(site.path / "live"), tree(site.path / "clean")
    assert sorted(live) == sorted(clean) and [p for p in live if live[p][0] != clean[p][0]] == []


_IDS = st.text(alphabet="0123456789abcdef", min_size=16, max_size=16)
_KEYS = st.tuples(
    st.binary(min_size=12, max_size=12), st.sampled_from(["", "e1", "e2f3a4b5c6d7e8f9"])
)


@settings(max_examples=60, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["b1", "b2", "b3"]), st.dictionaries(_IDS, _KEYS, max_size=6), max_size=3
    ),
    st.dictionaries(
        st.sampled_from(["b1", "b2", "b3"]), st.dictionaries(_IDS, _KEYS, max_size=6), max_size=3
    ),
)
def test_per_batch_entries_find_exactly_the_records_that_came_went_or_changed(old, new):
    """The manifest keeps each batch's published records as one entry (ids, keys, key lengths);
    comparing entries batch by batch finds the same changed and removed records as comparing
    every record's key. A record id is published from one batch at a time, as in the state."""
    from generator.incremental import batch_entry, entry_keys, record_changes
    from generator.publication import PublishedRecord

    def entries(batches: dict) -> tuple[dict, dict]:
        seen, made, flat = set(), {}, {}
        for batch_id in sorted(batches):
            records = [
                PublishedRecord(
                    "penalty",
                    rid,
                    None,
                    batch_id,
                    "",
                    "",
                    None,
                    "",
                    brief={},
                    key=key + eid.encode(),
                )
                for rid, (key, eid) in sorted(batches[batch_id].items())
                if rid not in seen
            ]
            seen.update(r.id for r in records)
            made[batch_id] = batch_entry("penalty", records)
            assert entry_keys(made[batch_id]) == {r.id: r.key for r in records}
            flat.update((r.id, r.key) for r in records)
        return made, flat

    (old_entries, old_flat), (new_entries, new_flat) = entries(old), entries(new)
    before, now = record_changes(old_entries, new_entries)
    before, now = before.get("penalty", {}), now.get("penalty", {})
    assert {rid for rid, key in now.items() if before.get(rid) != key} == {
        rid for rid, key in new_flat.items() if old_flat.get(rid) != key
    }
    assert before.keys() - now.keys() == old_flat.keys() - new_flat.keys()


def test_a_manifest_compares_its_batches_once_and_does_not_save_that_memo():
    """The plugin and the apply both ask which records changed since the last manifest: computed
    once a build (about 1 s at 10^6 records), never saved into the next build's manifest."""
    from generator import cache
    from generator.incremental import Manifest, batch_entry
    from generator.publication import PublishedRecord

    def entry(*ids: str) -> tuple:
        return batch_entry(
            "penalty",
            [
                PublishedRecord(
                    "penalty", rid, None, "b1", "", "", None, "", brief={}, key=rid.encode() * 12
                )
                for rid in ids
            ],
        )

    old, new = (
        Manifest("fp", batches={"b1": entry("a", "b")}),
        Manifest("fp", batches={"b1": entry("a", "c")}),
    )
    first = new.record_changes(old)
    assert first == (
        {"penalty": {"a": b"a" * 12, "b": b"b" * 12}},
        {"penalty": {"a": b"a" * 12, "c": b"c" * 12}},
    )
    # The memo, not computed again
    assert new.record_changes(old) is not None and new.__dict__["changes"][2] is first[0]
    again = Manifest.of_data(cache.unpack(cache.pack(new.as_data())))
    assert "changes" not in again.__dict__ and again == Manifest("fp", batches=new.batches)
    new.batches = {"b1": entry("a")}  # set again: compared again
    assert new.record_changes(old)[1] == {"penalty": {"a": b"a" * 12}}


@given(st.dictionaries(st.text(max_size=6), st.binary(min_size=11, max_size=13), max_size=8))
def test_a_manifest_keeps_its_archive_keys_through_its_file(keys):
    """The archives' keys are saved flat (ids newline-joined, keys concatenated) when every key
    has the usual size and no id holds a newline, else as the dict: read back, the same dict in
    the same order either way."""
    from generator import cache
    from generator.incremental import Manifest

    again = Manifest.of_data(
        cache.unpack(cache.pack(Manifest("fp", entities=dict(keys)).as_data()))
    )
    assert again.entities == keys and list(again.entities) == list(keys)
    assert all(type(key) is bytes for key in again.entities.values())
    flat = not any("\n" in eid for eid in keys) and all(len(key) == 12 for key in keys.values())
    assert isinstance(Manifest("fp", entities=dict(keys)).as_data()["entities"], tuple) == flat


def test_a_manifest_with_damaged_archive_keys_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keys cut short in a manifest: it is unreadable (the next build is a clean one), not an
    internal error and not a manifest with fewer archives."""
    from generator.incremental import Manifest

    output = tmp_path / "output"
    output.mkdir()
    manifest = Manifest("fp", entities={"a": b"k" * 12, "b": b"l" * 12})
    incremental.save(manifest, output)
    # As written, it is read back
    assert incremental.load(output, "fp").entities == manifest.entities
    state = manifest.as_data()
    tag, ids, blob = state["entities"]
    for damaged in (
        (tag, ids, blob[:12]),
        (tag, ids, blob[:-1]),
        ("keys/0", ids, blob),
        (tag, ids),
    ):
        with monkeypatch.context() as patch:  # written with the key: authentic, but not keys
            patch.setattr(Manifest, "as_data", lambda self, d=damaged: {**state, "entities": d})
            incremental.save(manifest, output)
        assert incremental.load(output, "fp") is None, damaged


def test_a_clean_build_swaps_in_beside_a_trash_folder_of_its_own_process_id(tmp_path: Path) -> None:
    """A detached free of an earlier build with the same process id (a container's entrypoint,
    this test process) may still hold its folder: the swap takes a fresh name, and both go."""
    from generator.build import swap_in

    out, new = tmp_path / "out", tmp_path / "new"
    for folder, text in ((out, "old"), (new, "new")):
        folder.mkdir()
        (folder / "index.html").write_text(text, encoding="utf-8")
    busy = tmp_path / f".out.replaced-{os.getpid()}-full"
    (busy / "x").mkdir(parents=True)
    (busy / "x" / "f").write_text("held", encoding="utf-8")
    swap_in(new, out)
    assert (out / "index.html").read_text(encoding="utf-8") == "new" and not new.exists()
    incremental.wait_detached()
    assert not list(tmp_path.glob(".out.replaced-*"))


def test_a_build_can_wait_for_the_old_site_to_be_freed(
    site: SiteRoot, department_csv: Path
) -> None:
    """BUILD_FREE_DETACHED = False, for a container whose entrypoint is the build: the old site is
    gone when the command returns."""
    conf = site.path / "pelicanconf.py"
    conf.write_text(
        conf.read_text(encoding="utf-8") + "\nBUILD_FREE_DETACHED = False\n", encoding="utf-8"
    )
    site.stage_and_approve(department_csv, "penalty")
    assert site.build().exit_code == 0
    result = site.run("build", "--today", TODAY, "--full")
    assert result.exit_code == 0 and "全量" in result.stdout, result.stdout
    assert not incremental._DETACHED  # waited for, not left running
    assert not list(site.path.glob(".output.replaced-*"))
    assert (site.path / "output" / "index.html").is_file()
