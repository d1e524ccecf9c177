"""`disclose build`: publishes exactly what is approved and in period, everywhere, safely."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generator import pii
from generator.demo import FORMULA, HOSTILE_IMG

from .conftest import KINDS, TODAY
from .sitecheck import all_files_text, approved_batches, crawl, parse, read_csv, tree_digest


def published_records(site) -> dict[str, list[dict]]:
    """Records that must be on the site, from the batch files and the rules, computed independently."""
    import datetime as dt

    from generator.publication import publication_end
    from generator.schema import KINDS as SCHEMAS

    today = dt.date.fromisoformat(TODAY)
    latest, withdrawn = {}, set()
    for batch_id, _at in approved_batches(site.batches):
        batch = site.batches / batch_id
        for line in (batch / "records.jsonl").read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            if batch.name.startswith("withdrawal-"):
                withdrawn.add(record["id"])
            else:
                latest[record["id"]] = (batch.name.split("-")[0], record)
    result: dict[str, list[dict]] = {k: [] for k in KINDS}
    for rid, (kind, record) in latest.items():
        ends, _ = publication_end(
            SCHEMAS[kind], record["fields"], __import__("generator.settings").settings.Config()
        )
        if rid not in withdrawn and record["public"] and (ends is None or ends >= today):
            result[kind].append(record)
    return result


def test_every_published_record_has_its_page_and_is_in_lists_and_downloads(built):
    out, site = built["out"], built["site"]
    expected = published_records(site)
    assert sum(len(v) for v in expected.values()) > 50
    for kind, records in expected.items():
        csv_ids = {row["记录编号"] for row in read_csv(out / "downloads" / f"{kind}.csv")}
        json_ids = {
            row["记录编号"]
            for row in json.loads((out / "downloads" / f"{kind}.json").read_text(encoding="utf-8"))[
                "records"
            ]
        }
        assert csv_ids == json_ids == {r["id"] for r in records}, kind
        list_text = "".join(
            p.read_text(encoding="utf-8") for p in (out / "kinds" / kind).glob("*.html")
        )
        for record in records:
            page = out / "records" / kind / record["id"][:2] / f"{record['id']}.html"
            assert page.exists(), (kind, record["id"])
            assert record["id"] in list_text
    record_pages = {p.stem for p in (out / "records").rglob("*.html")}
    assert record_pages == {r["id"] for rs in expected.values() for r in rs}


def test_nothing_that_must_not_be_published_appears_in_any_file(built):
    out, marks = built["out"], built["marks"]
    files = all_files_text(out)
    forbidden = {
        "unapproved batch": "待审示例",
        "withdrawn record": marks["withdraw_docno"],
        "expired by 公示截止期": "盐城市示例过期商贸有限公司",
        "容错纠错": "盐城市示例容错单位",
        "不可公开": "盐城市示例不公开承诺单位",
        **{
            f"rejected row {n}": f"盐市监罚〔2026〕{n}号"
            for n in (9101, 9102, 9103, 9104, 9105, 9106, 9201)
        },
    }
    for label, text in forbidden.items():
        hits = [name for name, content in files.items() if text in content]
        assert hits == [], f"{label} found in {hits[:5]}"
    # As a reader sees it
    assert [
        name
        for name, content in files.items()
        if pii.find_in_file(name.removesuffix(".gz"), content.encode("utf-8"))
    ] == []
    assert marks["person_id"] not in "".join(files.values())


def test_hostile_markup_never_reaches_html_unescaped(built):
    out = built["out"]
    pages = list(out.rglob("*.html"))
    escaped_seen = False
    for page in pages:
        parsed = parse(page)
        for tag, attributes in parsed.tags:
            assert tag not in ("iframe", "object", "embed"), page
            assert not any(name.startswith("on") for name in attributes), (page, tag, attributes)
            assert not any(
                str(v).strip().lower().startswith("javascript:") for v in attributes.values() if v
            ), (page, attributes)
            assert tag != "script" or attributes.get("src"), f"inline script in {page}"
            assert tag != "style" and "style" not in attributes, f"inline style in {page}"
            assert tag != "img", f"img from an export in {page}"  # the site shows none
        assert parsed.script_text == [], page
        escaped_seen |= "&lt;img src=x onerror=alert(1)&gt;" in page.read_text(encoding="utf-8")
    assert escaped_seen, "the hostile name is shown, escaped, as text"
    assert HOSTILE_IMG not in "".join(p.read_text(encoding="utf-8") for p in pages)


def test_downloads_neutralise_formula_cells(built):
    out = built["out"]
    for kind in KINDS:
        for row in read_csv(out / "downloads" / f"{kind}.csv"):
            for value in row.values():
                assert value[:1] not in ("=", "+", "-", "@"), (kind, value)
    rows = read_csv(out / "downloads" / "penalty.csv")
    assert any(row["违法行为类型"] == "'" + FORMULA for row in rows)
    assert "法定代表人证件号码" not in rows[0]


def test_a_download_row_is_each_cell_neutralised_and_the_row_as_json():
    """The one-call-a-row formatter gives what neutralise_cell on each cell gives, and the row as
    compact JSON with sorted keys (integers past 64 bits and infinities too, as ``json`` writes them)."""
    from hypothesis import settings

    from generator.markup import neutralise_cell
    from generator.outputs import _format_row, _row
    from generator.publication import PublishedRecord
    from generator.schema import KINDS as SCHEMAS

    kind = SCHEMAS["penalty"]
    names = [f.name for f in kind.fields]
    cell = st.one_of(
        st.none(),
        st.integers(),
        st.floats(allow_nan=False),
        st.text(max_size=6),
        st.sampled_from(["=1+1", "+86", "-3", "@SUM(A1)", "\tx", "\rx", "'=x", ""]),
    )

    @settings(max_examples=200, deadline=None)
    @given(
        st.dictionaries(st.sampled_from(names), cell), st.one_of(st.none(), st.just("2027-01-01"))
    )
    def check(fields, ends):
        record = PublishedRecord(
            "penalty", "p1", fields, "b1", "来源", "2026-11-20T08:00:00+08:00", ends, "=依据"
        )
        cells, json_bytes = _format_row(kind, record, "https://example.invalid")
        row = _row(kind, record, "https://example.invalid")
        assert cells == [
            neutralise_cell(row[c])
            for c in [f.name for f in kind.public_fields]
            + ["记录编号", "公示截止日期", "公示依据", "页面地址"]
        ]
        assert json.loads(json_bytes) == row and list(json.loads(json_bytes)) == sorted(row)

    check()
    from generator.outputs import _json_row

    # what orjson would write otherwise (null) or refuse: written as json writes it
    assert _json_row({"b": float("inf"), "a": -float("inf")}) == b'{"a":-Infinity,"b":Infinity}'
    assert _json_row({"a": 2**70}) == b'{"a":1180591620717411303424}'


def test_download_catalog_lists_count_size_and_sha256(built):
    import hashlib

    out = built["out"]
    page = (out / "downloads" / "index.html").read_text(encoding="utf-8")
    for path in (out / "downloads").glob("*.*"):
        if path.suffix in (".csv", ".json"):
            assert hashlib.sha256(path.read_bytes()).hexdigest() in page
            assert f'<td data-label="大小（字节）">{path.stat().st_size}</td>' in page


def test_downloads_from_worker_rows_hashed_a_piece_at_a_time_are_the_same_files(
    built, tmp_path, monkeypatch
):
    """A worker's downloads: records made from its rows only when formatted, the sha256 updated
    on a thread a few bytes at a time with a short queue; the files and their catalog sha256 are
    those of records formatted in one go."""
    import hashlib

    from generator import outputs
    from generator.schema import KINDS as SCHEMAS

    records = _penalties_with_keys(built)
    base = "https://example.invalid"
    catalog, index, _ = outputs.write_downloads(
        tmp_path / "plain", SCHEMAS["penalty"], records, base
    )
    monkeypatch.setattr(outputs, "HASH_BATCH_BYTES", 97)
    monkeypatch.setattr(outputs, "HASH_QUEUE", 1)
    rows = outputs.DownloadRecords(
        "penalty", [(r.id, r.ends, r.basis, r.path, r.offset, r.key) for r in records]
    )
    got, got_index, _ = outputs.write_downloads(tmp_path / "rows", SCHEMAS["penalty"], rows, base)
    for ext, entry in zip(("csv", "json"), got):
        data = (tmp_path / "rows" / "downloads" / f"penalty.{ext}").read_bytes()
        assert data == (tmp_path / "plain" / "downloads" / f"penalty.{ext}").read_bytes()
        assert hashlib.sha256(data).hexdigest() in repr(entry)
    assert [e for e in got] == [e for e in catalog] and got_index.keys == index.keys


def _penalties_with_keys(built) -> list:
    """The built site's published penalties, each with a record key (as the site build gives them)."""
    import datetime as dt

    from generator.batches import BatchStore
    from generator.incremental import digest
    from generator.publication import compute_state
    from generator.settings import load_config

    site = built["site"]
    config = load_config(site.path)
    records = compute_state(
        BatchStore(site.path, config), config, dt.date.fromisoformat(TODAY)
    ).published["penalty"]
    for r in records:
        r.key = digest(r.batch_id, r.offset, r.ends, r.basis)
    return records


def test_downloads_copy_unchanged_rows_from_the_last_build_and_give_the_same_bytes(built, tmp_path):
    """An incremental build copies the rows of records whose key did not change from the live
    files (a withdrawal must not re-read 350,000 penalties); the bytes are those of a fresh write,
    and a live file changed by hand is not trusted."""

    from generator.incremental import digest
    from generator.outputs import write_downloads
    from generator.schema import KINDS as SCHEMAS

    records = _penalties_with_keys(built)
    assert len(records) >= 3
    base = "https://example.invalid"
    _catalog, index, copied = write_downloads(tmp_path / "live", SCHEMAS["penalty"], records, base)
    assert copied == 0
    # One record withdrawn, one whose publication end changed (a new key): the rest are copied.
    changed = records[1]
    changed.ends, changed.key = "2099-01-01", digest("changed")
    tonight = records[1:]
    _catalog, _index, copied = write_downloads(
        tmp_path / "next", SCHEMAS["penalty"], tonight, base, (tmp_path / "live", index)
    )
    assert copied == len(tonight) - 1
    write_downloads(tmp_path / "fresh", SCHEMAS["penalty"], tonight, base)
    for name in ("penalty.csv", "penalty.json"):
        assert (tmp_path / "next" / "downloads" / name).read_bytes() == (
            tmp_path / "fresh" / "downloads" / name
        ).read_bytes()
    assert "2099-01-01" in (tmp_path / "next" / "downloads" / "penalty.csv").read_text(
        encoding="utf-8-sig"
    )
    # A live file edited by hand: nothing is copied from it.
    live_csv = tmp_path / "live" / "downloads" / "penalty.csv"
    live_csv.write_bytes(live_csv.read_bytes().replace(b"\r\n", b"\r\n ", 2))
    _catalog, _index, copied = write_downloads(
        tmp_path / "again", SCHEMAS["penalty"], tonight, base, (tmp_path / "live", index)
    )
    assert copied == 0
    assert (tmp_path / "again" / "downloads" / "penalty.csv").read_bytes() == (
        tmp_path / "fresh" / "downloads" / "penalty.csv"
    ).read_bytes()


def test_download_rows_copied_in_blocks_give_a_fresh_writes_bytes_and_index(
    built, tmp_path, monkeypatch
):
    """Rows that follow each other in the live files are copied a block at a time. Whatever came,
    went, moved or changed (seeded mixes, blocks of two rows), the files and their row index are
    those of a fresh write, and a live file cut short during the copy only means more rows formatted."""
    import random

    from generator import outputs
    from generator.incremental import digest
    from generator.schema import KINDS as SCHEMAS

    records = _penalties_with_keys(built)
    assert len(records) >= 6
    base, kind = "https://example.invalid", SCHEMAS["penalty"]
    _catalog, index, _copied = outputs.write_downloads(tmp_path / "live", kind, records, base)
    live_keys = {
        index.keys[i : i + outputs.KEY_SIZE] for i in range(0, len(index.keys), outputs.KEY_SIZE)
    }
    monkeypatch.setattr(outputs, "COPY_ROWS", 2)
    rng = random.Random(5)
    for case in range(25):
        tonight = [r for r in records if rng.random() > 0.2]  # some withdrawn or expired
        for _ in range(rng.randint(0, 2)):  # some moved (a corrected decision date)
            i, j = rng.randrange(len(tonight)), rng.randrange(len(tonight))
            tonight[i], tonight[j] = tonight[j], tonight[i]
        if case % 3 == 0:  # one changed: new key, so formatted again
            tonight[rng.randrange(len(tonight))].key = digest("changed", case)
        expected = sum(1 for r in tonight if r.key in live_keys)
        fresh = outputs.write_downloads(tmp_path / f"fresh{case}", kind, tonight, base)[1]
        _catalog, got, copied = outputs.write_downloads(
            tmp_path / f"next{case}", kind, tonight, base, (tmp_path / "live", index)
        )
        assert copied == expected
        for name in ("penalty.csv", "penalty.json"):
            assert (tmp_path / f"next{case}" / "downloads" / name).read_bytes() == (
                tmp_path / f"fresh{case}" / "downloads" / name
            ).read_bytes()
        assert (got.keys, list(got.csv), list(got.json_start), list(got.json_end), got.digests) == (
            fresh.keys,
            list(fresh.csv),
            list(fresh.json_start),
            list(fresh.json_end),
            fresh.digests,
        )
        for r in records:
            r.key = digest(r.batch_id, r.offset, r.ends, r.basis)
    # The live CSV cut short after it was checked: the second block's read comes back short.
    real_pread, calls = outputs.os.pread, []

    def short_pread(fd, size, offset):
        calls.append(size)
        data = real_pread(fd, size, offset)
        return data[:-1] if len(calls) == 3 else data

    monkeypatch.setattr(outputs.os, "pread", short_pread)
    # Two runs: the second is not copied from a file found cut short
    tonight = records[:3] + records[4:]
    _catalog, got, copied = outputs.write_downloads(
        tmp_path / "cut", kind, tonight, base, (tmp_path / "live", index)
    )
    monkeypatch.setattr(outputs.os, "pread", real_pread)
    assert copied == 2  # the first block only; every later row formatted, none copied
    fresh = outputs.write_downloads(tmp_path / "fresh", kind, tonight, base)[1]
    for name in ("penalty.csv", "penalty.json"):
        assert (tmp_path / "cut" / "downloads" / name).read_bytes() == (
            tmp_path / "fresh" / "downloads" / name
        ).read_bytes()
    assert (got.keys, list(got.csv), list(got.json_start), list(got.json_end), got.digests) == (
        fresh.keys,
        list(fresh.csv),
        list(fresh.json_start),
        list(fresh.json_end),
        fresh.digests,
    )


def test_live_downloads_are_copied_from_only_when_their_blake3_is_the_one_written(built, tmp_path):
    """The next build copies unchanged rows from the live download files only when they hold the
    bytes written (their BLAKE3): a touched file with the same bytes is still used; a file edited
    in place with its size, inode and mtime put back is not, and every row is formatted again."""
    import os

    from generator import outputs
    from generator.schema import KINDS as SCHEMAS

    records = _penalties_with_keys(built)
    base = "https://example.invalid"
    _catalog, index, _copied = outputs.write_downloads(
        tmp_path / "staging", SCHEMAS["penalty"], records, base
    )
    (tmp_path / "live" / "downloads").mkdir(parents=True)
    for name in ("penalty.csv", "penalty.json"):
        os.replace(
            tmp_path / "staging" / "downloads" / name, tmp_path / "live" / "downloads" / name
        )
    _catalog, _index, copied = outputs.write_downloads(
        tmp_path / "next", SCHEMAS["penalty"], records[1:], base, (tmp_path / "live", index)
    )
    assert copied == len(records) - 1
    live_csv = tmp_path / "live" / "downloads" / "penalty.csv"
    st = live_csv.stat()
    # Touched, same bytes: still the file written
    os.utime(live_csv, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    _catalog, _index, copied = outputs.write_downloads(
        tmp_path / "again", SCHEMAS["penalty"], records[1:], base, (tmp_path / "live", index)
    )
    assert copied == len(records) - 1
    st = live_csv.stat()
    data = live_csv.read_bytes()
    at = data.index(b"\n") + 5
    # One byte of a row changed in place; size, inode and mtime kept
    with live_csv.open("r+b") as fh:
        fh.seek(at)
        fh.write(b"#" if data[at : at + 1] != b"#" else b"$")
    os.utime(live_csv, ns=(st.st_atime_ns, st.st_mtime_ns))
    _catalog, _index, copied = outputs.write_downloads(
        tmp_path / "third", SCHEMAS["penalty"], records[1:], base, (tmp_path / "live", index)
    )
    assert copied == 0
    assert (tmp_path / "third" / "downloads" / "penalty.csv").read_bytes() == (
        tmp_path / "next" / "downloads" / "penalty.csv"
    ).read_bytes()


def test_every_record_is_reachable_by_plain_links_and_no_link_is_broken(built):
    out = built["out"]
    reached, broken = crawl(out)
    assert broken == []
    records = {p.resolve() for p in (out / "records").rglob("*.html")}
    assert records and records <= reached
    entities = {p.resolve() for p in (out / "entities").rglob("*.html")}
    assert entities and entities <= reached


def test_lists_paginate_newest_first(built):
    out = built["out"]
    first = (out / "kinds" / "license" / "index.html").read_text(encoding="utf-8")
    assert "page-2.html" in first
    dates = [
        tag[1]["datetime"]
        for tag in parse(out / "kinds" / "license" / "index.html").tags
        if tag[0] == "time"
    ]
    assert len(dates) == 10 and dates == sorted(dates, reverse=True)
    assert (out / "kinds" / "penalty" / "authorities" / "index.html").exists()
    assert list((out / "kinds" / "penalty" / "months").glob("2026-*/index.html"))


def test_entity_archives_group_records_and_skip_natural_persons(built):
    out = built["out"]
    pages = {p: p.read_text(encoding="utf-8") for p in (out / "entities").rglob("*.html")}
    assert any("政务诚信档案" in text and "信用承诺" in text for text in pages.values())
    assert not any("<h1>陈某某</h1>" in text for text in pages.values())  # 自然人: no archive page


def test_record_page_shows_masked_id_deadline_source_and_objection_box(built):
    out = built["out"]
    page = next(
        p
        for p in (out / "records" / "penalty").rglob("*.html")
        if "陈某某" in p.read_text(encoding="utf-8")
    )
    text = page.read_text(encoding="utf-8")
    assert "3209**********" in text
    assert "公示截止" in text and "信息来源" in text
    assert "对该信息有异议？" in text and "pages/objection.html" in text


def test_home_page_shows_the_newest_records_newest_first(built):
    from generator.schema import KINDS as SCHEMAS
    from generator.settings import Config

    expected = [
        (record["fields"][SCHEMAS[kind].date], record["id"])
        for kind, records in published_records(built["site"]).items()
        for record in records
    ]
    newest = [rid for _date, rid in sorted(expected, reverse=True)[: Config().HOME_NEWEST]]
    section = (
        (built["out"] / "index.html")
        .read_text(encoding="utf-8")
        .split('id="newest-title"')[1]
        .split("</section>")[0]
    )
    shown = re.findall(r"records/[a-z]+/[0-9a-z]{2}/([0-9a-z]+)\.html", section)
    assert shown == newest


@given(
    st.lists(
        st.tuples(st.integers(0, 6), st.text(alphabet="0123456789abcdef", min_size=1, max_size=4)),
        max_size=40,
        unique_by=lambda t: t[1],
    ),
    st.integers(0, 12),
)
def test_each_kinds_newest_days_hold_its_newest_records(rows, count):
    import datetime as dt

    from generator.families import newest_days as _newest_days
    from generator.publication import PublishedRecord, sort_newest_first
    from generator.schema import KINDS as SCHEMAS

    date = SCHEMAS["penalty"].date
    records = [
        PublishedRecord(
            "penalty",
            rid,
            None,
            "b",
            "",
            "",
            None,
            "",
            brief={date: (dt.date(2026, 1, 1) + dt.timedelta(days=day)).isoformat()},
        )
        for day, rid in rows
    ]
    sort_newest_first(records)

    def by_date_then_id(r):
        return (r.date, r.id)

    head = _newest_days(records, count)
    assert head == records[: len(head)]  # a prefix of the state's order
    assert (
        sorted(head, key=by_date_then_id, reverse=True)[:count]
        == sorted(records, key=by_date_then_id, reverse=True)[:count]
    )


def test_feeds_and_sitemap_are_well_formed(built):
    out = built["out"]
    ns = {"a": "http://www.w3.org/2005/Atom", "s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    feed = ET.parse(out / "feeds" / "all.atom.xml").getroot()
    entries = feed.findall("a:entry", ns)
    assert entries and feed.find("a:updated", ns).text == max(
        e.find("a:published", ns).text for e in entries
    )
    for kind in KINDS:
        ET.parse(out / "feeds" / f"{kind}.atom.xml")
    sitemap = ET.parse(out / "sitemap.xml").getroot()
    locs = [u.find("s:loc", ns).text for u in sitemap.findall("s:url", ns)]
    assert any("/records/" in loc for loc in locs) and any(
        loc.endswith("pages/policy.html") for loc in locs
    )
    # The statistics pages are listed by their fixed names (stats.STATS_PAGES): exactly those written.
    listed = sorted(loc.split("/stats/", 1)[1] for loc in locs if "/stats/" in loc)
    assert listed == sorted(p.name for p in (out / "stats").glob("*.html")) and len(listed) == 3
    assert "Sitemap:" in (out / "robots.txt").read_text(encoding="utf-8")


def test_guide_pages_and_the_work_plan_are_published(built):
    out = built["out"]
    for slug in ("about", "objection", "repair", "policy", "data-download", "accessibility"):
        assert (out / "pages" / f"{slug}.html").exists()
    assert "盐城市加强政务诚信建设工作方案" in (out / "pages" / "policy.html").read_text(
        encoding="utf-8"
    )


def test_two_builds_are_byte_identical(built, tmp_path):
    site = built["site"]
    assert site.build(output=str(tmp_path / "again")).exit_code == 0
    assert tree_digest(tmp_path / "again") == tree_digest(built["out"])


@pytest.mark.slow
def test_pelican_cli_builds_the_same_site(built, tmp_path):
    site = built["site"]
    pelican = Path(sys.executable).parent / "pelican"
    env = {**os.environ, "TZ": "Asia/Shanghai"}
    result = subprocess.run(
        [
            str(pelican),
            "content",
            "-s",
            "pelicanconf.py",
            "-o",
            str(tmp_path / "p"),
            "-e",
            f'DISCLOSE_TODAY="{TODAY}"',
        ],
        cwd=site.path,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert tree_digest(tmp_path / "p") == tree_digest(built["out"])


def test_a_tampered_batch_stops_the_build_and_leaves_the_output_untouched(site, department_csv):
    batch = site.stage_and_approve(department_csv, "penalty")
    assert site.build().exit_code == 0
    before = tree_digest(site.path / "output")
    records = site.batches / batch / "records.jsonl"
    records.write_text(
        records.read_text(encoding="utf-8").replace("罚款人民币壹万元", "不予处罚"),
        encoding="utf-8",
    )
    result = site.build()
    assert result.exit_code == 1
    assert batch in result.stderr and "被修改" in result.stderr
    assert tree_digest(site.path / "output") == before
    leftovers = [p.name for p in site.path.iterdir() if p.name.startswith(".output")]
    # The last good build's page keys; no temporary folder
    assert leftovers == [".output.disclose-manifest"]


def test_a_batch_garbled_after_approval_is_reported_as_tampered_not_as_a_crash(
    site, department_csv
):
    """The state is replayed while the batches are still being hashed: a file that no longer
    parses must still give the tampering message, not the parser's error."""
    batch = site.stage_and_approve(department_csv, "penalty")
    (site.batches / batch / "records.jsonl").write_bytes(b'{"id": "0123456789abcdef", "fields": \n')
    result = site.build()
    assert result.exit_code == 1
    assert batch in result.stderr and "被修改" in result.stderr and "Traceback" not in result.stderr
    assert not (site.path / "output").exists()


@pytest.mark.slow
def test_a_withdrawal_takes_effect_everywhere_on_the_next_build(site, department_csv):
    site.stage_and_approve(department_csv, "penalty")
    assert site.build().exit_code == 0
    out = site.path / "output"
    assert "东市监罚〔2026〕101号" in "".join(all_files_text(out).values())
    batch = site.withdraw("东市监罚[2026]101号", "penalty", "决定撤销", "乙")
    assert site.build().exit_code == 0  # staged only: still published
    assert "东市监罚〔2026〕101号" in "".join(all_files_text(out).values())
    site.run("approve", batch, "--editor", "甲")
    assert site.build().exit_code == 0
    assert "东市监罚〔2026〕101号" not in "".join(all_files_text(out).values())


def test_records_leave_the_site_when_their_period_ends(site, department_csv):
    site.stage_and_approve(department_csv, "penalty")
    assert site.build(today="2026-11-28").exit_code == 0
    assert len(list((site.path / "output" / "records").rglob("*.html"))) == 4
    # 一般 penalties decided 2026-10 stay 12 months under the 2026 rules: gone by 2027-11.
    assert site.build(today="2027-11-01").exit_code == 0
    assert not (site.path / "output" / "records").exists() or not list(
        (site.path / "output" / "records").rglob("*.html")
    )


def test_markdown_fast_path_gives_the_same_html_as_the_full_route():
    from hypothesis import settings

    from generator import markup

    @settings(max_examples=300)
    @given(
        st.text(
            alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r"),
            max_size=60,
        )
    )
    def check(text):
        fast = markup.render_markdown(text)
        converter = markup._markdown()
        converter.reset()
        full = (
            markup.nh3.clean(
                converter.convert(text),
                tags=markup.ALLOWED_TAGS,
                attributes=markup.ALLOWED_ATTRIBUTES,
                url_schemes=markup.URL_SCHEMES,
                link_rel="nofollow noopener noreferrer",
                strip_comments=True,
            )
            if text
            else ""
        )
        assert fast == full, (text, fast, full)

    check()


def test_a_repeated_markdown_cell_is_rendered_once_and_stays_sanitised():
    from generator import markup

    text = "1. 依法履行合同\n2. <script>alert(1)</script>[链接](javascript:alert(1))"
    markup._full_route.cache_clear()
    first = markup.render_markdown(text)
    second = markup.render_markdown(text)
    assert first == second == markup._full_route.__wrapped__(text)
    assert "<script" not in second and "javascript:" not in second and "<ol>" in second
    assert markup._full_route.cache_info().hits == 1


@pytest.mark.slow
def test_parallel_rendering_is_byte_identical_to_a_single_process_build(
    built, tmp_path, monkeypatch
):
    from generator import publication

    site = built["site"]
    conf = site.path / "pelicanconf.py"
    original = conf.read_text(encoding="utf-8")
    try:
        conf.write_text(original + "\nBUILD_WORKERS = 1\n", encoding="utf-8")
        assert site.build(output=str(tmp_path / "single")).exit_code == 0
        conf.write_text(
            original + "\nBUILD_WORKERS = 2\nBUILD_PARALLEL_MIN_RECORDS = 0\n", encoding="utf-8"
        )
        # The batches parsed again, in chunks of a few lines across the workers (no state cache).
        shutil.rmtree(site.path / publication.CACHE_DIR)
        monkeypatch.setattr(publication, "PARSE_CHUNK_BYTES", 2_000)
        assert site.build(output=str(tmp_path / "parallel")).exit_code == 0
        assert list((site.path / publication.CACHE_DIR).glob("*.msgpack"))
    finally:
        conf.write_text(original, encoding="utf-8")
    assert (
        tree_digest(tmp_path / "parallel")
        == tree_digest(tmp_path / "single")
        == tree_digest(built["out"])
    )


def test_sitemap_urls_read_back_exactly_whatever_their_characters(tmp_path_factory):
    from hypothesis import settings

    from generator.outputs import write_sitemap

    @settings(max_examples=50, deadline=None)
    @given(
        st.lists(
            st.text(
                alphabet=st.characters(
                    min_codepoint=33, max_codepoint=0x9FFF, blacklist_categories=("Cs",)
                ),
                min_size=1,
                max_size=12,
            ),
            min_size=1,
            max_size=5,
            unique=True,
        ),
        st.sampled_from(["https://a.invalid", "https://b.invalid/x?a=1&b=<2>"]),
    )
    def check(paths, base):
        out = tmp_path_factory.mktemp("sitemap")
        write_sitemap(
            out,
            base,
            [(p, "2026-11-20" if i % 2 else None) for i, p in enumerate(paths)],
            max_urls=100,
        )
        urls = [
            (u.find("{*}loc").text, getattr(u.find("{*}lastmod"), "text", None))
            for u in ET.parse(out / "sitemap.xml").getroot()
        ]
        assert urls == [
            (f"{base}/{p}", "2026-11-20" if i % 2 else None) for i, p in enumerate(paths)
        ]

    check()


def test_sitemap_becomes_an_index_past_the_url_limit(tmp_path):
    from generator.outputs import write_sitemap

    names = write_sitemap(
        tmp_path,
        "https://example.invalid",
        [(f"records/p/{i}.html", "2026-11-20") for i in range(5)],
        max_urls=2,
    )
    assert names == [
        "sitemap.xml",
        "sitemaps/sitemap-1.xml",
        "sitemaps/sitemap-2.xml",
        "sitemaps/sitemap-3.xml",
    ]
    root = ET.parse(tmp_path / "sitemap.xml").getroot()
    assert root.tag.endswith("sitemapindex") and len(root) == 3
    assert sum(len(ET.parse(tmp_path / n).getroot()) for n in names[1:]) == 5


@settings(deadline=None)  # the first example imports the plugin
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["penalty", "license"]),
            st.integers(0, 3),
            st.lists(st.integers(0, 9), max_size=5),
        ),
        max_size=8,
    ),
    st.integers(0, 6),
)
def test_the_feeds_newest_records_are_found_among_the_newest_batches(batches, count):
    """The feeds take each kind's newest by (approval time, decision date, id) from its latest
    batches only: the same records as a pass over every published record."""
    import datetime as dt
    import heapq

    from generator.families import newest_batches as _newest_batches
    from generator.publication import PublishedRecord, State

    state, seq = State(dt.date(2026, 11, 28)), 0
    approved = sorted(
        (f"2026-11-1{day}T08:00:00+08:00", f"b{i}", kind, days)
        for i, (kind, day, days) in enumerate(batches)
    )
    for approved_at, batch_id, kind, days in approved:
        date = "处罚决定日期" if kind == "penalty" else "许可决定日期"
        records = [
            PublishedRecord(
                kind,
                f"{batch_id}-{n}",
                None,
                batch_id,
                "",
                approved_at,
                None,
                "",
                brief={date: f"2026-10-1{d}"},
                seq=seq + n,
            )
            for n, d in enumerate(days)
        ]
        state.sources.append((seq, seq + len(records), batch_id, "", approved_at, kind))
        state.in_order += records
        state.published.setdefault(kind, []).extend(records)
        seq += len(records)
    key = lambda r: (r.approved_at, r.date, r.id)  # noqa: E731 - the feeds' order
    found = _newest_batches(state, count)
    for kind in ("penalty", "license"):
        assert heapq.nlargest(count, found[kind], key=key) == heapq.nlargest(
            count, state.published.get(kind, []), key=key
        )


@settings(deadline=None)  # the first example imports the writer
@given(st.lists(st.text(alphabet="abcXYZ019_.-/", min_size=1, max_size=12), min_size=1, max_size=4))
def test_a_page_name_joined_without_pelicans_check_is_the_path_pelican_would_write(parts):
    """The writer's fast path: a name it joins itself is one Pelican's sanitised_join would return
    unchanged; every other name (``..``, empty or hidden parts) still goes through Pelican's."""
    from pelican.utils import sanitised_join

    from generator.writers import _PLAIN_NAME, DisclosureWriter

    name = "/".join(parts)
    writer = DisclosureWriter("/srv/site/../site/output", settings={})
    if _PLAIN_NAME.fullmatch(name):
        assert writer._base + name == sanitised_join("/srv/site/../site/output", name)
        assert not any(part in ("", ".", "..") for part in name.split("/"))


def test_records_and_archives_sent_to_the_workers_arrive_whole():
    """Records and archives travel to the page workers pickled (by their own ``__reduce__``)."""
    import pickle

    from generator.publication import PublishedRecord, make_record
    from generator.sitemodel import Entity

    stored = make_record(
        "penalty",
        "r1",
        "b1",
        "测试局",
        "2026-11-20T09:00:00",
        None,
        "行政处罚",
        {"x": "甲"},
        "/b/records.jsonl",
        120,
        7,
        ("e1", "code:1"),
        b"k" * 8,
        3,
    )
    full = PublishedRecord(
        "license",
        "r2",
        {"y": "乙"},
        "b2",
        "测试局",
        "2026-11-21T09:00:00",
        "2027-11-21",
        "行政许可",
    )
    entity = Entity("e1", "code:1", "测试公司", "1", "法人", {"penalty": [stored]})
    for record in (stored, full):
        copy = pickle.loads(pickle.dumps(record, protocol=5))
        assert {s: getattr(copy, s) for s in PublishedRecord.__slots__} == {
            s: getattr(record, s) for s in PublishedRecord.__slots__
        }
    assert full.fields == pickle.loads(pickle.dumps(full)).fields == {"y": "乙"}
    arrived = pickle.loads(pickle.dumps(entity, protocol=5))
    assert (arrived.id, arrived.key, arrived.name, arrived.code, arrived.category) == (
        "e1",
        "code:1",
        "测试公司",
        "1",
        "法人",
    )
    assert [(r.id, r.seq, r.brief) for r in arrived.records["penalty"]] == [("r1", 7, {"x": "甲"})]


def test_a_download_that_fails_leaves_no_file_hashing_behind(built, tmp_path, monkeypatch):
    """A row that cannot be formatted fails the downloads with its own error, and the files'
    hashing threads are stopped (a failed build leaves nothing running)."""
    import threading

    from generator import outputs
    from generator.schema import KINDS as SCHEMAS

    records = _penalties_with_keys(built)
    calls = []

    def broken(kind, record, base):
        calls.append(record.id)
        if len(calls) == 3:
            raise RuntimeError("第 3 行无法生成")
        return real(kind, record, base)

    real = outputs._format_row
    monkeypatch.setattr(outputs, "_format_row", broken)
    monkeypatch.setattr(outputs, "HASH_BATCH_BYTES", 1)
    before = set(threading.enumerate())
    with pytest.raises(RuntimeError, match="第 3 行"):
        outputs.write_downloads(tmp_path, SCHEMAS["penalty"], records, "https://example.invalid")
    assert not [t for t in set(threading.enumerate()) - before if t.is_alive()]
