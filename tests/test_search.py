"""Search: one tokenizer spec in Python and JavaScript, partitioned lunr indexes, and the search page
in real Chromium finding records by name fragment, credit code and document number."""

from __future__ import annotations

import gzip
import json
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generator import pii
from generator.search import (
    align,
    core_runs,
    core_terms,
    name_tokens,
    query_terms,
    search_records,
    tokenize,
)

from .conftest import KINDS, REPO

SPEC = json.loads((REPO / "tests" / "search_vectors.json").read_text(encoding="utf-8"))
VECTORS, ALIGN = SPEC["vectors"], SPEC["align"]
HAN = st.text(
    alphabet=st.sampled_from("盐城市亭湖区润利达茂恒昌示例食品有限公司某"), min_size=2, max_size=20
)


@pytest.mark.parametrize("vector", VECTORS, ids=[v["text"][:12] or "empty" for v in VECTORS])
def test_python_tokenizer_matches_the_shared_vectors(vector):
    assert tokenize(vector["text"]) == vector["tokens"]
    assert query_terms(vector["text"]) == vector["query"]
    assert core_terms(vector["text"]) == vector["core"]


@pytest.mark.parametrize("case", ALIGN, ids=[f"{c['query']}-{c['name']}" for c in ALIGN])
def test_python_in_order_alignment_matches_the_shared_vectors(case):
    found = align(case["query"], case["name"], case["maxMiss"])
    assert (list(found) if found else None) == case["expected"]


NAME = st.builds(
    lambda place, county, brand, trade, form: place + county + brand + trade + form,
    st.sampled_from(["", "盐城市", "盐城", "江苏省盐城市"]),
    st.sampled_from(["", "滨海县", "亭湖区", "东台市", "阜宁县"]),
    st.text(alphabet=st.sampled_from("金锦康润恒昌达茂利示例宏益"), min_size=2, max_size=6),
    st.sampled_from(["物流", "化工", "食品", "科技", "农业", ""]),
    st.sampled_from(["有限公司", "有限责任公司", "股份有限公司", "分公司", ""]),
)


@given(NAME, st.data())
def test_every_in_order_subsequence_of_a_names_core_finds_the_name(name, data):
    """A query made of any characters of the name's core, in order, with gaps (滨海金锦 for
    盐城市滨海县金锦示例物流有限公司): the in-order rule accepts it, and every one of its characters
    begins an index token of the name, so the client's last fallback (each character as a prefix
    term) retrieves the record. Administrative words the query adds never make it fail."""
    stripped = "".join(core_runs(name))
    picks = data.draw(
        st.lists(st.integers(0, len(stripped) - 1), min_size=2, max_size=len(stripped), unique=True)
    )
    query = "".join(stripped[i] for i in sorted(picks))
    padded = data.draw(st.sampled_from(["", "盐城", "盐城市"])) + query
    for asked in (query, padded):
        asked_core = "".join(core_runs(asked))
        assert align(asked_core, stripped) is not None, (asked, name)
        tokens = name_tokens(name)
        assert all(any(t.startswith(c) for t in tokens) for c in asked_core), (asked, name)


@given(NAME, st.data())
def test_a_substring_of_the_core_is_an_exact_in_order_match(name, data):
    stripped = "".join(core_runs(name))
    start = data.draw(st.integers(0, len(stripped) - 2))
    end = data.draw(st.integers(start + 2, len(stripped)))
    assert align(stripped[start:end], stripped)[:3] == (0, 0, 0)
    assert all(t["token"] in name_tokens(name) for t in core_terms(stripped[start:end]))


def test_javascript_tokenizer_matches_the_shared_vectors():
    node = shutil.which("node")
    assert node, "node is required for the JavaScript tokenizer test (make test installs it)"
    result = subprocess.run(
        [node, "--test", str(REPO / "tests" / "js")], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "# fail 0" in result.stdout and "# pass" in result.stdout


@given(HAN, st.data())
def test_every_fragment_of_two_or_more_characters_is_covered_by_the_index_tokens(name, data):
    start = data.draw(st.integers(0, len(name) - 2))
    end = data.draw(st.integers(start + 2, len(name)))
    index_tokens = set(tokenize(name))
    assert all(term["token"] in index_tokens for term in query_terms(name[start:end]))


def test_bracket_styles_give_the_same_query_terms():
    styles = [
        "盐市监罚〔2026〕1234号",
        "盐市监罚[2026]1234号",
        "盐市监罚（2026）1234号",
        "盐市监罚【2026】1234号",
        "盐市监罚20261234号",
        "盐市监罚 2026 1234",
    ]
    expected = {t["token"] for t in query_terms(styles[0])} - {"号"}
    for text in styles:
        assert {t["token"] for t in query_terms(text)} - {"号"} >= expected - (
            {"2026", "1234"} if "20261234" in text else set()
        )


def test_no_index_token_reads_as_a_personal_number():
    """Ingest masks the text as written; a token is read folded and with a document number's
    brackets gone, so ``〔1381〕2345678`` would give the mobile number 13812345678 (the fuzz suite
    found it). Such tokens are left out; the rest of the document number is still found."""
    from generator.search import brief_tokens

    tokens = brief_tokens(
        "penalty",
        {"行政处罚决定书文号": "盐罚〔1381〕2345678号", "行政相对人名称": "某某店⑬⑧①②③④⑤⑥⑦⑧"},
    )
    assert "13812345678" not in tokens and not any(pii.find(t) for t in tokens)
    assert {"1381", "2345678", "盐罚"} <= set(tokens)


def test_the_code_index_holds_every_six_characters_of_a_code_that_reach_its_organisation_part():
    """A citizen may hold any stretch of a code (from a licence photo, a contract): the client looks
    a fragment up by its last six characters, so every window that reaches the ninth character is
    indexed; the first eight (authority, type, area: every subject of a county) give none."""
    from generator.search import code_windows, window_text

    code = "91320922MWW40Y37GW"
    assert [window_text(v) for v in code_windows(code)] == [
        code[i : i + 6].lower() for i in range(3, 13)
    ]
    assert code_windows("００000000000000000Ｘ") == code_windows("9132092") == []
    assert [window_text(v) for v in code_windows("320902198503******")] == []


def test_a_shard_boundary_never_reads_as_a_personal_number():
    """A boundary is the shortest start of a token that sorts after the last shard's; cut from a
    20-digit 承诺编码 it can be an 18-digit number that passes the ID check: then it is the whole token."""
    from generator.search import _boundary, _separator

    before, first = "320902198503057773", "32090219850305777412"
    assert pii.find(_separator(before, first))
    assert _boundary(before, first) == first and _boundary("1", "25") == "2"


# -- the built index (Python reference of the client's matching) --------------------------------


def demo_records(out: Path) -> list[dict]:
    rows = []
    for kind in KINDS:
        for row in json.loads((out / "downloads" / f"{kind}.json").read_text(encoding="utf-8"))[
            "records"
        ]:
            rows.append({"kind": kind, **row})
    return rows


@pytest.mark.slow
def test_index_finds_every_record_by_a_two_character_fragment_and_its_document_number(demo_site):
    folder = demo_site["out"] / "search"
    for record in demo_records(demo_site["out"])[:40]:
        name = next(
            record[k]
            for k in (
                "行政相对人名称",
                "当事人名称",
                "承诺人名称",
                "失信主体名称",
                "受表彰主体名称",
            )
            if k in record
        )
        docno = next(
            record[k]
            for k in (
                "行政处罚决定书文号",
                "行政许可决定文书号",
                "案号",
                "承诺编码",
                "认定文书号",
                "表彰文号",
            )
            if k in record
        )
        run = max(re.findall(r"[\u4e00-\u9fff]{2,}", name), key=len)
        fragment = run[len(run) // 2 - 1 : len(run) // 2 + 1]
        assert record["记录编号"] in search_records(folder, fragment), (name, fragment)
        assert record["记录编号"] in search_records(
            folder, docno.replace("〔", "[").replace("〕", "]")
        ), docno


def test_index_files_hold_nothing_unpublished(demo_site):
    text = "".join(
        p.read_text(encoding="utf-8") for p in (demo_site["out"] / "search").rglob("*.json")
    )
    assert demo_site["marks"]["withdraw_docno"] not in text
    for absent in (
        "待审示例",
        "盐城市示例过期商贸有限公司",
        "盐城市示例容错单位",
        "盐城市示例不公开承诺单位",
    ):
        assert absent not in text


# -- the search page in Chromium -----------------------------------------------------------------

pytestmark_browser = pytest.mark.browser


def search(page, base: str, query: str, **params) -> list[str]:
    extra = "".join(f"&{k}={quote(v)}" for k, v in params.items())
    page.goto(f"{base}/search/index.html?q={quote(query)}{extra}")
    page.wait_for_selector("body[data-search-done]", timeout=10_000)
    return page.locator("#results ol.results a.result-title").evaluate_all(
        "links => links.map(a => a.getAttribute('href'))"
    )


def record_href(row: dict) -> str:
    return f"../records/{row['kind']}/{row['记录编号'][:2]}/{row['记录编号']}.html"


@pytest.mark.browser
def test_search_page_finds_by_fragment_code_and_document_number_in_every_bracket_style(
    demo_site, page
):
    base = demo_site["base"]
    rows = [
        r
        for r in demo_records(demo_site["out"])
        if r["kind"] == "penalty"
        and r.get("行政相对人代码_1(统一社会信用代码)")
        and "<" not in r["行政相对人名称"]
    ]
    row = rows[0]
    name, code, docno = (
        row["行政相对人名称"],
        row["行政相对人代码_1(统一社会信用代码)"],
        row["行政处罚决定书文号"],
    )
    href = record_href(row)
    brand = name[name.index("县") + 1 : name.index("县") + 3] if "县" in name else name[5:7]
    assert href in search(page, base, brand)
    assert href in search(page, base, code)
    assert href in search(page, base, code[:10])
    for opening, closing in (("〔", "〕"), ("[", "]"), ("（", "）"), ("【", "】"), ("", "")):
        assert href in search(page, base, docno.replace("〔", opening).replace("〕", closing)), (
            opening,
            closing,
        )
    prefix, rest = docno.split("〔")
    year, number = rest.rstrip("号").split("〕")
    assert href in search(page, base, f"{prefix} {year} {number}")
    assert page.errors == []


@pytest.mark.browser
def test_withdrawn_records_are_not_found(demo_site, page):
    marks = demo_site["marks"]
    assert search(page, demo_site["base"], marks["withdraw_docno"]) == []
    assert "没有找到" in page.inner_text("#search-status")
    assert "请检查" in page.inner_text("#results")


@pytest.mark.browser
def test_single_character_gives_a_bounded_result(demo_site, page):
    hits = search(page, demo_site["base"], "润")
    assert 0 < len(hits) <= 20
    assert "请输入更多文字" in page.inner_text("#search-status")


@pytest.mark.browser
def test_hostile_markup_in_records_never_executes_on_the_results_page(demo_site, page):
    page.on("dialog", lambda d: (_ for _ in ()).throw(AssertionError("a dialog opened")))
    hits = search(page, demo_site["base"], "盐市监罚〔2026〕9003号")
    assert len(hits) == 1
    assert "<img src=x onerror=alert(1)>" in page.inner_text("#results")  # shown as text
    assert (
        page.evaluate(
            "document.querySelectorAll('#results img, #results script, #results iframe').length"
        )
        == 0
    )
    assert page.errors == []


@pytest.mark.browser
def test_results_are_linkable_filterable_and_the_back_button_works(demo_site, page):
    base = demo_site["base"]
    all_hits = search(page, base, "示例")
    licences = search(page, base, "示例", kind="license")
    assert licences and len(licences) <= len(all_hits)
    assert all("/records/license/" in h for h in licences)
    page.fill("#q", "盐市监罚")
    page.press("#q", "Enter")
    page.wait_for_function("() => location.search.includes('%E7%9B%90%E5%B8%82')")
    page.go_back()
    page.wait_for_function("() => document.getElementById('q').value === '示例'")
    dated = search(page, base, "示例", sort="date")
    times = page.locator("#results time").evaluate_all(
        "ts => ts.map(t => t.getAttribute('datetime'))"
    )
    assert dated and times == sorted(times, reverse=True)


@pytest.mark.browser
def test_results_from_every_search_segment_are_merged_newest_first_and_by_year(demo_site, page):
    out, base = demo_site["out"], demo_site["base"]
    top = json.loads((out / "search" / "manifest.json").read_text(encoding="utf-8"))
    assert len(top["segments"]) >= 2  # the fixture's SEARCH_SEGMENT_RECORDS = 30
    ids = search_records(out / "search", "示例")
    # Null: a row not published
    segment_of = {
        row[0]: name
        for name, _count in top["segments"]
        for bucket in (out / "search" / name / "docs").glob("*.json")
        for row in json.loads(bucket.read_text(encoding="utf-8"))
        if row
    }
    assert len({segment_of[i] for i in ids}) >= 2
    hrefs = search(page, base, "示例", sort="date")
    assert {h.rsplit("/", 1)[-1].removesuffix(".html") for h in hrefs} <= set(ids)
    for year in map(str, top["years"]):
        search(page, base, "示例", year=year)
        times = page.locator("#results time").evaluate_all(
            "ts => ts.map(t => t.getAttribute('datetime'))"
        )
        assert times and all(t.startswith(year) for t in times), (year, times)
    assert page.errors == []


@pytest.mark.browser
def test_typing_searches_as_you_type(demo_site, page):
    page.goto(f"{demo_site['base']}/search/index.html")
    page.locator("#q").press_sequentially("示例", delay=50)
    page.wait_for_selector("#results ol.results li", timeout=10_000)
    assert "q=" in page.url


@given(
    st.lists(
        st.tuples(
            st.text("0123456789abcdef", min_size=1, max_size=4),
            st.lists(
                st.sampled_from(["润利", "利达", "示例", "有限", "2026", "91320902ab", "号", "盐"]),
                min_size=1,
                max_size=12,
            ),
        ),
        min_size=1,
        max_size=30,
        unique_by=lambda d: d[0],
    )
)
def test_fast_index_serialisation_is_byte_identical_to_lunr_py(docs):
    from generator.search import _lunr_index, _tf, lunr_index_reference

    reference = json.dumps(lunr_index_reference(docs), ensure_ascii=False, separators=(",", ":"))
    assert _lunr_index([(ref, _tf(tokens)) for ref, tokens in docs]) == reference


_NAMES = [
    "盐城市示例润利商贸有限公司",
    "示例利达科技有限公司",
    "盐都区示例餐饮店",
    "滨海县某某示例建材厂",
    "示例物流有限公司",
]


@given(
    st.lists(
        st.tuples(st.sampled_from(_NAMES), st.integers(1, 28), st.integers(1, 3)),
        min_size=1,
        max_size=40,
    ),
    st.data(),
)
def test_rewriting_only_the_files_of_rows_that_came_or_went_gives_a_full_writes_bytes(
    universe_rows, data
):
    """An incremental build writes only the shards and buckets a changed row is in, over the live
    files (:func:`write_segment` with ``previous``): the result must be a full write's, byte for byte."""
    import tempfile
    from types import SimpleNamespace

    from generator.search import (
        _b36,
        brief_tokens,
        code_refs,
        code_windows,
        day_of,
        segment_layout,
        window_text,
        write_segment,
    )

    cfg = SimpleNamespace(
        SEARCH_SHARD_POSTINGS=7,
        SEARCH_TOKEN_CAP=3,
        SEARCH_BUCKET_SIZE=4,
        SEARCH_CODE_SHARD_WINDOWS=16,
    )
    rows = [
        (
            seq,
            "penalty",
            f"{seq:016x}",
            {
                "行政相对人名称": name,
                "行政处罚决定书文号": f"盐示罚〔2026〕{seq}号",
                "处罚决定日期": f"2026-0{month}-{day:02d}",
                # Codes that share windows (the capped case) and codes of their own
                "行政相对人代码_1(统一社会信用代码)": f"913209{seq % 3:02d}AB{seq // 2:04d}CD{seq:02d}",
            },
        )
        for seq, (name, day, month) in enumerate(universe_rows)
    ]
    capacity = len(rows) + 3
    layout = segment_layout(list(rows), capacity, cfg)
    before = sorted(data.draw(st.sets(st.integers(0, len(rows) - 1), min_size=1)))
    after = sorted(data.draw(st.sets(st.integers(0, len(rows) - 1), min_size=1)))
    with tempfile.TemporaryDirectory() as tmp:
        live, clean = Path(tmp) / "live", Path(tmp) / "clean"
        files = write_segment(live, layout, before, None, cfg)
        assert write_segment(live, layout, after, before, cfg) == files
        write_segment(clean, layout, after, None, cfg)
        assert {p: (live / p).read_bytes() for p in files} == {
            p: (clean / p).read_bytes() for p in files
        }
        for p in files:  # each file's gzip twin holds its bytes
            if p.endswith(".gz"):
                assert gzip.decompress((clean / p).read_bytes()) == (clean / p[:-3]).read_bytes()
        text = "".join(
            (clean / p).read_text(encoding="utf-8") for p in files if not p.endswith(".gz")
        )
        for seq in set(range(len(rows))) - set(after):  # nothing of a row not published
            assert f"盐示罚〔2026〕{seq}号" not in text
        # The code index lists a window's published rows, newest first, at most the cap.
        refs = {f"p{_b36(int(layout.positions[seq]))}": seq for seq in range(len(rows))}
        for seq in range(len(rows)):
            code = rows[seq][3]["行政相对人代码_1(统一社会信用代码)"]
            for value in code_windows(code):
                window = window_text(value)
                listed, count = code_refs(clean, window)
                having = sorted(
                    int(layout.positions[s])
                    for s in after
                    if window in rows[s][3]["行政相对人代码_1(统一社会信用代码)"].lower()
                )
                assert [int(r[1:], 36) for r in listed] == having[:3] and count == len(having)
                assert all(refs[r] in after for r in listed)
        # Shard boundaries come from published tokens: each is a prefix of one (or a sentinel).
        published = {t for seq in after for t in brief_tokens("penalty", rows[seq][3])}
        manifest = json.loads((clean / "manifest.json").read_text(encoding="utf-8"))
        assert all(
            b in ("", "\uffff") or any(t.startswith(b) for t in published)
            for b in manifest["shards"]
        )
        # The day table lists published rows' days only, and gives each published ref its own.
        days = {int(rows[seq][3]["处罚决定日期"].replace("-", "")) for seq in after}
        assert {day for day, _start in manifest["days"]} == days
        assert all(
            day_of(manifest["days"], int(layout.positions[seq]))
            == int(rows[seq][3]["处罚决定日期"].replace("-", ""))
            for seq in after
        )


def test_a_prefix_query_skips_empty_shards_instead_of_counting_them():
    from generator.search import term_shards

    # Shards 1, 2 and 4 hold only unpublished rows: each has the boundary of the shard after it.
    boundaries = ["", "示", "示", "示", "示百", "示百", "示真"]
    assert term_shards(boundaries, "示", True, 2) == [3, 5]
    assert term_shards(boundaries, "示百货", False, 2) == [5]


def _batches(sizes: list[int]) -> list[tuple[int, int]]:
    starts = [sum(sizes[:i]) for i in range(len(sizes))]
    return [(start, start + size) for start, size in zip(starts, sizes)]


@settings(deadline=None)  # up to ~15,000 cuts when the capacity is 1
@given(st.lists(st.integers(1, 250), min_size=1, max_size=60), st.integers(1, 100))
def test_segment_cuts_cover_every_row_once_and_a_new_batch_changes_only_the_last_segments(
    sizes, capacity
):
    """Segments tile the approved rows in approval order, none holds more than ``capacity``, a
    cut falls only between batches or every ``capacity`` rows inside a big one, and appending a
    batch keeps every segment before the ones it merges with: laid-out segments stay put."""
    from generator.search import segment_cuts

    batches = _batches(sizes)
    cuts = segment_cuts(batches, capacity)
    assert cuts[0][0] == 0 and cuts[-1][1] == batches[-1][1]
    assert all(a[1] == b[0] for a, b in zip(cuts, cuts[1:]))
    assert all(0 < stop - start <= capacity for start, stop in cuts)
    for start, _stop in cuts:
        first = max(f for f, _s in batches if f <= start)
        assert (start - first) % capacity == 0
    before = segment_cuts(batches[:-1], capacity)
    kept = set(before)
    changed = [cut for cut in cuts if cut not in kept]
    assert cuts[: len(cuts) - len(changed)] == [cut for cut in before if cut[1] <= changed[0][0]]
    assert changed == cuts[len(cuts) - len(changed) :]


def test_a_small_batch_after_a_nearly_full_segment_lays_out_its_own_rows_only():
    """The benchmark's night: 199,908 rows in the newest segment and 5,000 new ones. Cutting by
    sequence number alone rewrote the whole full segment for its last 92 rows; now the batch is a
    segment of its own, and small nightly batches merge like a binary counter."""
    from generator.search import segment_cuts

    cuts = segment_cuts(_batches([199_908, 5_000]), 200_000)
    assert cuts == [(0, 199_908), (199_908, 204_908)]
    nightly = segment_cuts(_batches([150_000] + [5_000] * 6), 200_000)
    assert [stop - start for start, stop in nightly] == [150_000, 25_000, 5_000]
    # A small site's batches, smaller and smaller: one segment, not one per batch.
    assert segment_cuts(_batches([44, 19, 11]), 200_000) == [(0, 74)]
    # Batches that shrink slowly (the worst case for merging only equal sizes) stay few segments.
    shrinking = [9_000 - 20 * night for night in range(365)]
    assert len(segment_cuts(_batches(shrinking), 200_000)) <= 1.5 * sum(shrinking) / 200_000 + 7


def test_every_kind_names_its_own_search_letter():
    """A kind's search letter is on its Kind: one lower-case ASCII letter, no two kinds the same
    (a document ref is the letter and a sequence number: a shared letter would mix two kinds)."""
    from generator.schema import KINDS
    from generator.search import KIND_LETTERS

    letters = [kind.search_letter for kind in KINDS.values()]
    assert all(len(x) == 1 and "a" <= x <= "z" for x in letters)
    assert len(set(letters)) == len(letters)
    assert KIND_LETTERS == {name: kind.search_letter for name, kind in KINDS.items()}
