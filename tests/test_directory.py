"""The 主体名录 (generator/directory.py): pypinyin's readings, fast; an order and pages that an
incremental build keeps exactly as a clean one makes them; namesakes found both ways."""

from __future__ import annotations

import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pypinyin import lazy_pinyin

from generator import directory
from generator.entities import short_hash


def test_readings_are_pypinyins_with_its_phrases() -> None:
    """Characters with several readings read as pypinyin reads them in context (重庆 chong,
    银行 hang, 长江 chang, 乐清 yue); runs of Latin letters and digits stay whole, lower-cased."""
    names = [
        "重庆银行盐城分行",
        "长江示例航运有限公司",
        "乐清市示例商行",
        "盐城市射阳县大丰示例食品有限公司",
        "盐城市盐都区示例单位",
        "朝阳示例重工有限公司",
        "ABC示例科技有限公司",
        "中国银行股份有限公司盐城分行",
        "盐城市示例音乐学校",
    ]
    for name in names:
        assert directory.reading(name) == " ".join(lazy_pinyin(name)).lower(), name
    assert directory.reading("盐城ABC公司") == "yan cheng abc gong si"


def test_subjects_are_sorted_by_pinyin_under_their_initial() -> None:
    lines = [
        directory.entry(name, code, short_hash(name + code))
        for name, code in [
            ("杨庄示例公司", ""),
            ("盐城示例公司", "91320900MA1XXXXX1A"),
            ("阿里示例公司", ""),
            ("重庆示例公司", ""),
            ("123示例公司", ""),
            ("Apple示例公司", ""),
        ]
    ]
    built = directory.build(lines)
    assert {letter: found.count for letter, found in built.letters.items()} == {
        "y": 2,
        "a": 2,
        "c": 1,
        directory.OTHER: 1,
    }
    assert [directory.entry_name(line) for line in built.letters["y"].lines or []] == [
        "盐城示例公司",  # yan < yang
        "杨庄示例公司",
    ]
    assert [directory.entry_name(line) for line in built.letters["a"].lines or []] == [
        "阿里示例公司",  # a li < apple
        "Apple示例公司",
    ]


def _pages(lines: list[str]) -> list[tuple[str, ...]]:
    return [tuple(page.lines) for page in directory.pages_of("y", lines)]


def test_pages_are_cut_by_their_entries_so_an_insertion_stays_local() -> None:
    """Pages hold PAGE_MIN–PAGE_MAX entries (the last one fewer); a subject that comes changes
    the page it joins and no page far from it."""
    lines = [directory.entry(f"盐城示例{n:05d}", "", short_hash(str(n))) for n in range(3000)]
    pages = _pages(lines)
    sizes = [len(page) for page in pages]
    assert sum(sizes) == 3000 and 10 < len(pages) < 100
    assert all(directory.PAGE_MIN <= size <= directory.PAGE_MAX for size in sizes[:-1])
    for at in (17, 1500, 2999):
        extra = directory.entry(f"盐城示例{at:05d}a", "", short_hash(f"extra{at}"))
        after = _pages(sorted([*lines, extra]))
        changed = set(after) - set(pages)
        assert 1 <= len(changed) <= 3, (at, len(changed))


NAMES = [
    "盐城示例公司",
    "盐城示例公司",
    "盐城示例（甲）公司",
    "盐城示例(甲)公司",
    "盐程示例公司",
    "杨庄示例公司",
    "重庆示例商行",
    "Ａ示例",
    "A示例",
    "盐城 示例公司",
]
CODES = ["", "91320900MA1XXXXX1A", "91320900MA1XXXXX2B", "91320900MA1XXXXX3C"]
subjects = st.sets(st.tuples(st.sampled_from(NAMES), st.sampled_from(CODES)), max_size=14)


def _entries(chosen: set[tuple[str, str]]) -> dict[str, str]:
    """Archive id → entry; one archive per (code, else name), as the site keys them."""
    found: dict[str, str] = {}
    for name, code in sorted(chosen):
        eid = short_hash(code or directory.normal_name(name))
        found.setdefault(eid, directory.entry(name, code, eid))
    return found


@settings(max_examples=300, deadline=None)
@given(subjects, subjects, st.sets(st.sampled_from(CODES + NAMES), max_size=3))
def test_an_incremental_directory_is_the_clean_one(before, after, also_touched) -> None:
    """From the last build's directory, the archives a changed record touched (those that came,
    went or changed, and some that did not) give the letters a clean build makes; the touched
    archives get the namesakes a clean build finds, and every other archive whose namesakes
    changed is named to be rendered again."""
    old, new = _entries(before), _entries(after)
    also = {short_hash(x if x in CODES else directory.normal_name(x)) for x in also_touched}
    _check_update(old, new, also)


def _check_update(old: dict[str, str], new: dict[str, str], also: set[str]) -> None:
    """Directory.update from ``old``'s clean directory to ``new`` with the archives that changed
    and ``also`` touched gives what a clean build of ``new`` gives, and names every other archive
    whose page shows its namesakes otherwise (:func:`directory.shown`), and only those."""
    touched = {eid for eid in old.keys() | new.keys() if old.get(eid) != new.get(eid)} | also
    clean_before, clean = directory.build(old.values()), directory.build(new.values())
    updated = directory.update(
        clean_before.data(), touched, {eid: new[eid] for eid in touched if eid in new}
    )
    assert updated.data() == clean.data()
    assert updated.total == clean.total == len(new)
    placed, now, then = (dict(d.namesakes()) for d in (updated, clean, clean_before))
    for eid in (touched & new.keys()) | updated.renamed_around:
        assert placed.get(eid) == now.get(eid), eid
    for eid in new.keys() - touched:
        if directory.shown(then.get(eid), eid) != directory.shown(now.get(eid), eid):
            assert eid in updated.renamed_around
    assert updated.renamed_around <= new.keys() - touched


# Many companies of a few names, on small pages, with a short list of namesakes: long runs whose
# first entry moves from page to page as entries come and go
FEW_NAMES = ["盐城示例公司", "盐城示例商行", "杨庄示例公司", "盐城 示例公司"]
crowd = st.sets(st.tuples(st.sampled_from(FEW_NAMES), st.integers(0, 30)), max_size=50)


@settings(max_examples=300, deadline=None)
@given(crowd, st.sets(st.tuples(st.sampled_from(FEW_NAMES), st.integers(0, 30)), max_size=3))
def test_an_incremental_directory_links_long_runs_as_the_clean_one(before, toggled) -> None:
    """As above with runs longer than an archive shows, a few companies coming or going: every
    archive whose link to the 名录 page where its name's run starts changed, because the run or
    only the pages around it changed, is named to be rendered again."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(directory, "NAMESAKES_SHOWN", 2)
        patch.setattr(directory, "PAGE_MIN", 2)
        patch.setattr(directory, "PAGE_MAX", 6)
        patch.setattr(directory, "BOUNDARY_TAILS", frozenset(f"{n:03x}" for n in range(0, 4096, 4)))
        old, new = (
            {
                short_hash(code := f"91320900MA{n:08d}"): directory.entry(
                    name, code, short_hash(code)
                )
                for name, n in sorted(chosen)
            }
            for chosen in (before, before ^ toggled)
        )
        _check_update(old, new, set())


def test_an_archive_shows_ten_namesakes_and_links_the_page_where_they_start() -> None:
    """A name with 13 archives: each page lists the first 10 others in the 名录's order (an archive
    among them skips itself), says 2 more, and links the 名录 page that holds the name's first
    entry; a name of 11 lists all 10 others and links nothing."""
    lines = [directory.entry(f"盐城示例{n:05d}", "", short_hash(str(n))) for n in range(2000)]
    long = [
        directory.entry("盐城示例01000", f"91320900MA{n:08d}", short_hash(f"c{n}"))
        for n in range(12)
    ]
    short = [
        directory.entry("盐城示例01500", f"91320900MA{n:08d}", short_hash(f"d{n}"))
        for n in range(10)
    ]
    built = directory.build([*lines, *long, *short])
    namesakes = dict(built.namesakes())
    ordered = built.letters["y"].lines or []
    run = [line for line in ordered if directory.entry_name(line) == "盐城示例01000"]
    assert len(run) == 13
    (page,) = [page for page in directory.pages_of("y", ordered) if run[0] in page.lines]
    for line in run:
        eid = directory.entry_id(line)
        others, more, url = directory.shown(namesakes[eid], eid)
        assert others == tuple(other for other in run if other != line)[: directory.NAMESAKES_SHOWN]
        assert (more, url) == (2, page.url)
        # What travels to the page worker: the head, not the letter's blob it is a slice of
        travels = pickle.dumps(namesakes[eid])
        assert len(travels) < 2_000 and pickle.loads(travels).shown(eid) == (others, more, url)
    for line in (line for line in ordered if directory.entry_name(line) == "盐城示例01500"):
        eid = directory.entry_id(line)
        others, more, url = directory.shown(namesakes[eid], eid)
        assert len(others) == 10 and (more, url) == (0, "")
    # Shared: one for the run, not a tuple of the others per archive
    assert len({id(namesakes[directory.entry_id(line)]) for line in run}) == 1


def test_nothing_touched_decodes_nothing() -> None:
    built = directory.build(_entries({("盐城示例公司", ""), ("杨庄示例公司", "")}).values())
    kept = directory.update(built.data(), set(), {})
    assert kept.data() == built.data()
    assert all(found.lines is None and not found.changed for found in kept.letters.values())


def test_reading_tables_come_back_from_the_cache_or_are_made_again(tmp_path, monkeypatch) -> None:
    """The tables are cached as data (generator/cache.py); a damaged file is made again."""
    made = directory._make_tables()
    for damage in (False, True):
        monkeypatch.setattr(directory, "_loaded", [])
        if damage:
            (cached,) = tmp_path.iterdir()
            cached.write_bytes(cached.read_bytes()[:-10] + b"0123456789")
        directory.load_tables(tmp_path)
        (loaded,) = directory._loaded
        assert (loaded.single, loaded.phrases, loaded.starts, loaded.prefixes) == (
            made.single,
            made.phrases,
            made.starts,
            made.prefixes,
        )
        assert loaded.context.pattern == made.context.pattern
        assert directory.reading("重庆银行盐城分行") == "chong qing yin hang yan cheng fen hang"
    assert len(list(tmp_path.iterdir())) == 1
