"""Publication periods: dated rule sets, severity, 公示截止期, month arithmetic (hand-computed)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from generator.publication import (
    PublishedRecord,
    add_months,
    penalty_severity,
    publication_end,
    rule_in_force,
    sort_newest_first,
)
from generator.schema import KINDS
from generator.settings import DEFAULT_PENALTY_SEVERITY, Config
from generator.workdays import working_days_between

cfg = Config()


# Fmt: skip
@pytest.mark.parametrize(
    "start, months, expected",
    [
        ("2026-01-31", 1, "2026-02-28"),
        ("2024-01-31", 1, "2024-02-29"),
        ("2026-03-15", 12, "2027-03-15"),
        ("2026-11-30", 3, "2027-02-28"),
        ("2026-05-01", 36, "2029-05-01"),
    ],
)
def test_add_months_clamps_to_month_end(start, months, expected):
    assert add_months(dt.date.fromisoformat(start), months).isoformat() == expected


def test_several_penalty_types_take_the_most_severe():
    assert penalty_severity("警告", DEFAULT_PENALTY_SEVERITY) == "轻微"
    assert penalty_severity("警告;罚款", DEFAULT_PENALTY_SEVERITY) == "一般"
    assert penalty_severity("罚款;吊销许可证件", DEFAULT_PENALTY_SEVERITY) == "严重"


def penalty(date: str, types: str, deadline: str | None = None) -> dict:
    fields = {"处罚决定日期": date, "处罚类别": types}
    if deadline:
        fields["公示截止期"] = deadline
    return fields


# Fmt: skip
@pytest.mark.parametrize(
    "date, types, end, basis",
    [
        # 国家发展改革委令第58号 (2023-05-01 → 2026-03-31): 轻微 3 months, 一般 1 year, 严重 3 years.
        ("2025-06-10", "警告", "2025-09-09", "第58号"),
        ("2025-06-10", "罚款", "2026-06-09", "第58号"),
        ("2025-06-10", "罚款;责令停产停业", "2028-06-09", "第58号"),
        # From 2026-04-01 (国办发〔2025〕22号): warnings are not published (end before the decision).
        ("2026-04-01", "警告", "2026-03-31", "22号"),
        ("2026-05-20", "罚款", "2027-05-19", "22号"),
        # 527号 (2019-07-09 → 2023-04-30).
        ("2020-01-15", "罚款", "2021-01-14", "527号"),
    ],
)
def test_the_rule_in_force_at_the_decision_date_applies(date, types, end, basis):
    ends, why = publication_end(KINDS["penalty"], penalty(date, types), cfg)
    assert ends.isoformat() == end
    assert basis in why


def test_a_given_deadline_wins_over_the_rules():
    ends, why = publication_end(
        KINDS["penalty"], penalty("2026-05-20", "吊销许可证件", "2026-08-31"), cfg
    )
    assert ends == dt.date(2026, 8, 31) and why == "公示截止期"


def test_licences_have_no_fixed_end_and_judgments_three_years():
    assert publication_end(KINDS["license"], {"许可决定日期": "2020-01-01"}, cfg)[0] is None
    assert publication_end(KINDS["judgment"], {"裁判日期": "2026-02-01"}, cfg)[0] == dt.date(
        2029, 1, 31
    )


def test_rule_sets_are_settings():
    custom = Config(
        PUBLICATION_RULES=[
            {
                "from": "2000-01-01",
                "basis": "测试规则",
                "months": {"penalty": {"轻微": 1, "一般": 1, "严重": 1}},
            }
        ]
    )
    ends, why = publication_end(KINDS["penalty"], penalty("2026-05-20", "罚款"), custom)
    assert ends == dt.date(2026, 6, 19) and why.startswith("测试规则")
    assert rule_in_force(custom.PUBLICATION_RULES, dt.date(2026, 1, 1))["basis"] == "测试规则"


def test_a_rule_set_without_a_kind_stops_the_build_instead_of_publishing_it_for_ever():
    """A site's own rule sets written before a kind existed (政务诚信评价) name no period for it:
    that is an error naming the rule and the kind, not a record shown with no end."""
    from generator.errors import UserError

    custom = Config(
        PUBLICATION_RULES=[
            {"from": "2000-01-01", "basis": "测试规则", "months": {"penalty": 12, "license": None}}
        ]
    )
    with pytest.raises(UserError, match="没有“政务诚信评价”（evaluation）的期限"):
        publication_end(KINDS["evaluation"], {KINDS["evaluation"].date: "2026-05-20"}, custom)
    assert publication_end(KINDS["license"], {"许可决定日期": "2020-01-01"}, custom)[0] is None


def test_working_days_skip_weekends_and_holidays_and_count_makeup_days():
    # 2026-09-30 (Wed) → 2026-10-12 (Mon): 10-01..10-07 holiday except weekends, 10-10 (Sat) make-up day.
    assert (
        working_days_between(
            dt.date(2026, 9, 30), dt.date(2026, 10, 12), cfg.HOLIDAYS, cfg.MAKEUP_WORKDAYS
        )
        == 4
    )
    assert working_days_between(dt.date(2026, 11, 20), dt.date(2026, 11, 27)) == 5


def _published(state) -> list[tuple]:
    return [
        (r.kind, r.id, r.ends, r.basis, r.source, r.seq, r.offset, r.brief)
        for rs in state.published.values()
        for r in rs
    ]


def test_the_state_cache_gives_the_same_state_and_never_hides_tampering(site, department_csv):
    from generator.batches import BatchStore
    from generator.errors import BuildError
    from generator.publication import CACHE_DIR, compute_state
    from generator.settings import load_config

    batch = site.stage_and_approve(department_csv, "penalty")
    config = load_config(site.path)
    day = dt.date(2026, 11, 28)
    fresh = compute_state(BatchStore(site.path, config), config, day)
    assert list((site.path / CACHE_DIR).glob(f"{batch}-*.msgpack"))
    cached = compute_state(BatchStore(site.path, config), config, day)
    assert _published(cached) == _published(fresh) and fresh.total > 0
    # Different period rules: the cache entry does not apply.
    shorter = dataclasses.replace(
        config, PENALTY_SEVERITY={k: "轻微" for k in config.PENALTY_SEVERITY}
    )
    assert [
        r.ends
        for r in compute_state(BatchStore(site.path, shorter), shorter, day).published["penalty"]
    ] != [r.ends for r in fresh.published["penalty"]]
    records = site.batches / batch / "records.jsonl"
    records.write_text(
        records.read_text(encoding="utf-8").replace("罚款人民币壹万元", "不予处罚"),
        encoding="utf-8",
    )
    with pytest.raises(BuildError, match=batch):
        compute_state(BatchStore(site.path, config), config, day)


def test_rows_parsed_in_packed_chunks_are_cached_and_read_back_as_one_pass(
    site, department_csv, monkeypatch
):
    """A clean build's workers send each chunk's rows packed as data, and the cache keeps those
    bytes as they are, one part after another: read back, they are the rows of one pass, type for
    type; a damaged cache is parsed again, not believed."""
    import shutil

    from generator import publication
    from generator.batches import BatchStore
    from generator.settings import load_config

    batch = site.stage_and_approve(department_csv, "penalty")
    config = load_config(site.path)
    day = dt.date(2026, 11, 28)
    cache = site.path / publication.CACHE_DIR
    shutil.rmtree(cache, ignore_errors=True)
    one_pass = _published(publication.compute_state(BatchStore(site.path, config), config, day))
    shutil.rmtree(cache)
    monkeypatch.setattr(publication, "PARSE_CHUNK_BYTES", 300)
    started = []

    def start_chunks(chunks):  # as the build's workers do: odd chunks packed, even ones as lists
        started.append(len(chunks))
        parts = [publication.parse_rows(config, *chunk) for chunk in chunks]
        return lambda: [
            publication.pack_rows(part) if i % 2 else part for i, part in enumerate(parts)
        ]

    assert (
        _published(
            publication.compute_state(
                BatchStore(site.path, config), config, day, start_chunks=start_chunks
            )
        )
        == one_pass
    )
    assert started and started[0] >= 3
    [cached] = cache.glob(f"{batch}-*.msgpack")
    again = _published(publication.compute_state(BatchStore(site.path, config), config, day))
    assert again == one_pass and [list(map(type, row)) for row in again] == [
        list(map(type, row)) for row in one_pass
    ]
    cached.write_bytes(cached.read_bytes()[:-7])  # cut short: parsed again
    assert (
        _published(publication.compute_state(BatchStore(site.path, config), config, day))
        == one_pass
    )
    cached.write_bytes(b"not rows")
    assert (
        _published(publication.compute_state(BatchStore(site.path, config), config, day))
        == one_pass
    )
    assert cached.read_bytes() != b"not rows"  # and written again


brief_values = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(), st.text(max_size=3)
)
row = st.tuples(
    st.integers(0, 2**40),
    st.text(max_size=4),
    st.dictionaries(st.sampled_from(["名称", "日期", "机关"]), brief_values, max_size=3),
    st.booleans(),
    st.text(max_size=2),
    st.text(max_size=2),
    st.one_of(st.none(), st.sampled_from(["2026-01-01", "2027-02-03"])),
    st.sampled_from(["", "规则（一般）"]),
    st.text(max_size=2),
    st.one_of(st.just(()), st.tuples(st.text(max_size=3), st.text(max_size=3))),
    st.binary(max_size=30),
    st.one_of(st.none(), st.integers(0, 2**96)),
)


@given(st.lists(row, max_size=6))
def test_packed_rows_read_back_value_for_value_and_type_for_type(rows):
    """The state's cache holds rows as data: whatever a brief holds (numbers past 64 bits, ``1``
    beside ``1.0`` and ``True``, NaN), they come back equal and of the same types, in order."""
    from generator.publication import pack_rows, unpack_rows

    again = unpack_rows(pack_rows(rows))
    assert repr(again) == repr(rows)
    assert [[type(v) for v in (*row[:2], *row[2].values(), *row[3:])] for row in again] == [
        [type(v) for v in (*row[:2], *row[2].values(), *row[3:])] for row in rows
    ]
    assert [list(row[2]) for row in again] == [list(row[2]) for row in rows]


def test_a_batch_parsed_in_chunks_gives_the_rows_of_one_pass(site, department_csv):
    """A clean build parses big batches in chunks across its workers; every line must land in
    exactly one chunk, at its own offset, whatever the chunk size and blank lines."""
    from hypothesis import settings

    from generator.batches import BatchStore
    from generator.publication import line_chunks, parse_rows
    from generator.settings import load_config

    batch_id = site.stage_and_approve(department_csv, "penalty")
    config = load_config(site.path)
    batch = BatchStore(site.path, config).get(batch_id)
    path = batch.records_path
    # A blank line inside (parsing only: not approved again)
    path.write_bytes(path.read_bytes().replace(b"\n", b"\n\n", 1))
    whole = parse_rows(config, str(path), "penalty", "来源", 0, None)
    size = path.stat().st_size
    assert len(whole) >= 3

    @settings(max_examples=60, deadline=None)
    @given(st.integers(min_value=1, max_value=size + 10))
    def check(chunk):
        spans = line_chunks(path, chunk)
        assert (
            spans[0][0] == 0
            and spans[-1][1] == size
            and all(a[1] == b[0] for a, b in zip(spans, spans[1:]))
        )
        assert [
            row
            for start, end in spans
            for row in parse_rows(config, str(path), "penalty", "来源", start, end)
        ] == whole

    check()


@given(
    st.lists(
        st.tuples(
            st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2099, 12, 31)),
            st.text(alphabet="0123456789abcdef", min_size=1, max_size=6),
        ),
        max_size=60,
        unique_by=lambda t: t[1],
    )
)
def test_lists_sort_newest_first_then_by_id(rows):
    date = KINDS["penalty"].date
    records = [
        PublishedRecord("penalty", rid, None, "b", "", "", None, "", brief={date: day.isoformat()})
        for day, rid in rows
    ]
    fast = list(records)
    sort_newest_first(fast)
    newest_first_then_id = sorted(records, key=lambda r: (-int(r.date.replace("-", "")), r.id))
    assert [r.id for r in fast] == [r.id for r in newest_first_then_id]


@given(
    st.lists(
        st.tuples(
            st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2099, 12, 31)),
            st.one_of(
                st.text(alphabet="0123456789abcdef", min_size=16, max_size=16),
                st.text(alphabet="0123456789abcdefxyz", min_size=1, max_size=17),
            ),
        ),
        max_size=60,
        unique_by=lambda t: t[1],
    )
)
def test_the_precomputed_order_sorts_like_newest_first(rows):
    """The state sorts by an integer made when a batch is parsed; an id that is not 16 hex digits
    has none, and its kind is then sorted the slow way: the same order either way."""
    from generator.publication import newest_first_order, sort_records

    date = KINDS["penalty"].date
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
            brief={date: day.isoformat()},
            order=newest_first_order(day.isoformat(), rid),
        )
        for day, rid in rows
    ]
    fast, slow = list(records), list(records)
    sort_records(fast)
    sort_newest_first(slow)
    assert [r.id for r in fast] == [r.id for r in slow]


@given(
    st.lists(st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2099, 12, 31)), max_size=80)
)
def test_the_years_found_by_binary_search_are_every_decision_year(days):
    """The search manifest's years come from one binary search per year over a kind's records in
    the state's order: the same set as a pass over every record."""
    from generator.publication import published_years

    date = KINDS["penalty"].date
    records = [
        PublishedRecord(
            "penalty", f"{i:016x}", None, "b", "", "", None, "", brief={date: day.isoformat()}
        )
        for i, day in enumerate(days)
    ]
    sort_newest_first(records)
    assert published_years(records) == {day.year for day in days}


def test_the_few_ids_looked_up_agree_with_every_id_replayed(site, messy, monkeypatch):
    """A build asks ``find_latest`` and ``why_not_published`` about a few ids without making
    ``latest`` for every approved id: the answers are those of the full replay, for every id,
    with corrections (first approval kept), withdrawals, withheld and expired records, whether
    a lookup scans the rows (the first few) or reads the index made for the later ones."""
    from generator import publication
    from generator.batches import BatchStore
    from generator.publication import compute_state, why_not_published
    from generator.settings import load_config
    from generator.synthetic import synth_rows, write_export

    config = load_config(site.path)
    store = BatchStore(site.path, config)
    rows = list(synth_rows("license", 12, seed=11, today=dt.date(2026, 11, 20)))
    exports = [
        (messy["files"]["penalty"], "penalty"),
        (messy["files"]["pledge"], "pledge"),
        (write_export(site.path.parent / "license.csv", "license", rows), "license"),
        (
            write_export(
                site.path.parent / "fix.csv",
                "license",
                [dict(rows[3], 许可内容="更正后的许可内容")],
            ),
            "license",
        ),
    ]
    for hour, (export, kind) in enumerate(exports):
        store.approve(
            site.ingest(export, kind).batch_id,
            site.editor("测试编辑甲"),
            at=f"2026-11-2{hour}T09:00:00+08:00",
        )
    withdrawal = site.withdraw(messy["marks"]["withdraw_docno"], "penalty", "信用修复", "乙")
    store.approve(withdrawal, site.editor("测试编辑甲"), at="2026-11-27T09:00:00+08:00")
    for day in (dt.date(2026, 11, 28), dt.date(2031, 1, 1)):  # today, and after most periods ended
        full = compute_state(BatchStore(site.path, config), config, day)
        ids = sorted(full.latest) + ["0000000000000000"]
        # Every id looked up by scanning the rows, then by their index
        for scanned in (
            len(ids),
            0,
        ):
            monkeypatch.setattr(publication, "FIND_BY_SCAN", scanned)
            lazy = compute_state(BatchStore(site.path, config), config, day)
            assert [lazy.find_latest(rid) for rid in ids] == [full.latest.get(rid) for rid in ids]
            assert lazy._latest is None  # the lookups above did not make it
            assert (lazy._row_index is None) == bool(scanned)
        # A build report that will describe many records has the rows indexed before the first lookup.
        monkeypatch.setattr(publication, "FIND_BY_SCAN", 4)
        ahead = compute_state(BatchStore(site.path, config), config, day)
        ahead.expect_lookups(2)
        assert ahead._row_index is None
        ahead.expect_lookups(3)
        assert ahead._row_index is not None and [ahead.find_latest(rid) for rid in ids] == [
            full.latest.get(rid) for rid in ids
        ]
        corrected = [
            latest
            for latest in full.latest.values()
            if latest.first_approved_at != latest.approved_at
        ]
        assert [(c.first_approved_at, c.approved_at) for c in corrected] == [
            ("2026-11-22T09:00:00+08:00", "2026-11-23T09:00:00+08:00")
        ]
        shown = full.published_ids()
        reasons = {rid: why_not_published(lazy, rid) for rid in ids if rid not in shown}
        expected = {}
        for rid in reasons:  # the rules as they read with every id's latest version at hand
            if rid in full.withdrawn:
                expected[rid] = (
                    "已撤下",
                    str(full.withdrawn[rid].get("reason", "")),
                    str(full.withdrawn[rid].get("batch_id", "")),
                )
            elif rid in full.expired:
                expected[rid] = ("已过公示期", "", "")
            elif rid in full.withheld:
                expected[rid] = ("不予公开（容错纠错或不可公开）", "", full.latest[rid].batch.id)
            else:
                expected[rid] = ("不属于任何已审核的批次（或批次审核后被修改）", "", "")
        assert reasons == expected
        found = {reason for reason, _detail, _batch in reasons.values()}
        assert {
            "已撤下",
            "不予公开（容错纠错或不可公开）",
            "不属于任何已审核的批次（或批次审核后被修改）",
        } <= found
        if day.year == 2031:
            assert "已过公示期" in found and len(full.expired) > 0


@given(st.lists(st.sampled_from("abcd"), max_size=12), st.sampled_from("abcde"))
def test_a_scanned_lookup_finds_the_last_row_of_an_id_as_the_index_does(ids, rid):
    """A batch holding an id twice: the later row wins, scanned or indexed."""
    from generator.publication import _last_index

    assert _last_index(ids, rid) == {row_id: i for i, row_id in enumerate(ids)}.get(rid)


_CELLS = st.one_of(
    st.text(),
    st.text(alphabet="0123456789", min_size=18, max_size=22),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.none(),
)


@given(
    st.dictionaries(
        st.text(), st.one_of(_CELLS, st.dictionaries(st.text(), _CELLS), st.lists(_CELLS))
    ),
    st.sampled_from([None, 2]),
)
def test_a_record_line_reads_back_as_the_standard_library_reads_it(record, indent):
    """Lines are written by ``json.dumps`` and read by orjson (``loads_line``): the two must agree
    on every value a record line can hold, including hostile text (controls, quotes, surrogate-free
    astral characters), integers past 64 bits (which orjson alone reads as floats) and infinities."""
    import json

    from generator.publication import loads_line

    line = json.dumps(record, ensure_ascii=False, indent=indent).encode("utf-8", "surrogatepass")
    try:
        expected = json.loads(line)
    except UnicodeDecodeError:  # a lone surrogate: no ingest writes one (UTF-8 cannot hold it)
        return
    assert loads_line(line) == expected


def test_a_record_line_orjson_refuses_is_read_by_the_standard_library():
    from generator.publication import loads_line

    assert loads_line(b'{"a": NaN, "b": 1e400}')["b"] == float("inf")
    # orjson alone would read these as floats, silently
    assert loads_line(b'{"a": 123456789012345678901, "b": -9223372036854775809}') == {
        "a": 123456789012345678901,
        "b": -9223372036854775809,
    }
    assert type(loads_line(b"[18446744073709551617]")[0]) is int
