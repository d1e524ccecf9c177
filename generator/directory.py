"""主体名录: every archive's subject under the pinyin initial of its name, in pages to browse
without JavaScript, and which archives share a name (另有同名主体).

**Order.** Within a letter, subjects are sorted by the toneless pinyin of their name (syllables
joined by spaces, so 盐 ``yan`` comes before 杨 ``yang``), then by the name (half-width, without
spaces), then by the entry itself (name as written, credit code, archive id): a total order that
is a pure function of the entries, so an incremental build and a clean one agree.

**Readings, fast.** pypinyin's ``lazy_pinyin`` is far too slow for the ~770,000 subjects of a
10^6-record site (docs/scaling.md, "Measurements behind the code"). :func:`reading` gives what it
gives for a name from two tables: each Han character's first reading (pypinyin's
single-character dictionary, which ``lazy_pinyin`` also takes without context), and, only in a
name holding a character that some phrase reads otherwise, pypinyin's phrase dictionary by forward
maximum matching, as its default segmenter does (重庆 ``chong qing``, 银行 ``yin hang``).
``tests/test_directory.py`` pins it to ``lazy_pinyin`` on such names. The tables are cached as
data (:func:`load_tables`), so a nightly build does not import pypinyin's dictionaries.

**Pages that stay put.** At 10^6 records nine in ten synthetic subjects start with 盐城 (Y): fixed
pages of 100 would shift on every new subject, and a night's few hundred new subjects would
rewrite nearly every page of Y. So a page starts where the entry's archive id says so (its last
three hex digits in :data:`BOUNDARY_TAILS`: one entry in ~100, at least :data:`PAGE_MIN` after
the last start), or after :data:`PAGE_MAX` entries, and is named by the archive id of its first
entry (content-defined chunking, as rsync's and backup tools' chunks are cut). A subject that comes
or goes changes its own page and its neighbours' links at most, and rarely a few pages after it,
not every page after it; a letter's landing page lists its pages by their first and last names,
as a dictionary's guide words do.

**What is kept.** The build manifest keeps each letter's entries (one string a letter, entries
joined by :data:`RS`, each ``name US code US id``); an incremental build decodes only the letters
that an archive it touched was or is in, and computes readings only for the entries it places.

**Namesakes.** An archive lists the first :data:`NAMESAKES_SHOWN` other archives of its name in
this order, then how many more there are and a link to the 名录 page where the name's entries
start. The archives of a name share one :class:`Namesakes` (its first entries, its size, that page),
whose head is a slice of the letter's blob on a clean build: no list of the others per archive
(quadratic in a name's archives) and no string per entry kept beside the blob. An incremental build
keys again the archives whose page shows them otherwise: those of a name an entry joined or left,
and those of a long name whose first entry is now on another page (:func:`update`).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache as memoised
from functools import lru_cache
from pathlib import Path
from typing import Any

from . import cache
from .normalize import half_width

US, RS = "\x1f", "\x1e"  # cleaned out of every export cell at ingest (controls): never in a name
ID_SIZE = 16  # an archive id (entities.short_hash)
# An entry starts a page when its archive id ends in one of these: 41 of the 4,096 three-hex-digit
# endings, one entry in ~100 (ids are digests: uniform).
BOUNDARY_TAILS = frozenset(f"{n:03x}" for n in range(0, 4096, 100))
PAGE_MIN = 30  # entries: an id starts a page only this far from the last start
PAGE_MAX = 250  # entries: a page is cut here when no id has started one
OTHER = "other"  # names that start with neither a Han character nor a Latin letter
LETTERS = tuple("abcdefghijklmnopqrstuvwxyz") + (OTHER,)
# An archive's page lists this many of its namesakes (另有同名主体), the first in the 名录's order,
# then says how many more there are and links the 名录 page where they start
NAMESAKES_SHOWN = 10


def letter_label(letter: str) -> str:
    return "其他" if letter == OTHER else letter.upper()


# -- readings ------------------------------------------------------------------------------------


@dataclass
class _Tables:
    single: dict[str, str]  # character → " reading " (spaced: runs of other characters stay whole)
    phrases: dict[str, list[str]]  # phrase → toneless readings
    starts: frozenset[str]  # the first two characters of every phrase
    prefixes: frozenset[str]  # every proper prefix of a phrase
    # The characters that some phrase reads otherwise than their first reading: a name without
    # one reads the same with or without the phrases
    context: re.Pattern[str]


CACHE_DIR = ".cache/pinyin"  # under the site root; safe to delete
TABLES_PURPOSE = "pinyin-tables/1"
_CODE_DIGEST = cache.code_digest("directory", libraries=("pypinyin",))
_loaded: list[_Tables] = []  # the tables this process read from the cache (load_tables)


def load_tables(folder: Path) -> None:
    """Read the reading tables from the cache in ``folder``, else make them and cache them:
    making them imports pypinyin's dictionaries, several times slower than reading them back,
    which a nightly build that places a few subjects would pay in the main process every time."""
    if _loaded:
        return
    found = cache.entry(folder, TABLES_PURPOSE, _CODE_DIGEST)
    value = cache.get(found)
    try:
        single, phrases, starts, prefixes, context = value
        tables = _Tables(single, phrases, starts, prefixes, re.compile(context))
    except (TypeError, ValueError, re.error):
        tables = _make_tables()
        cache.put(
            found,
            (
                tables.single,
                tables.phrases,
                tables.starts,
                tables.prefixes,
                tables.context.pattern,
            ),
        )
    _loaded.append(tables)
    cache.prune(folder, [found.path])


def _tables() -> _Tables:
    return _loaded[0] if _loaded else _make_tables()


@lru_cache(maxsize=1)
def _make_tables() -> _Tables:
    # Lazily: only a build that places subjects loads pypinyin's dictionaries
    from pypinyin import Style
    from pypinyin.constants import PHRASES_DICT, PINYIN_DICT
    from pypinyin.style import convert

    @memoised
    def toneless(syllable: str) -> str:
        return str(convert(syllable, Style.NORMAL, strict=True))

    first = {chr(point): toneless(r.split(",")[0]) for point, r in PINYIN_DICT.items()}
    phrases = {
        phrase: [toneless(r[0]) for r in readings]
        for phrase, readings in PHRASES_DICT.items()
        if len(phrase) == len(readings) and len(phrase) > 1
    }
    context = sorted({c for p, rs in phrases.items() for c, r in zip(p, rs) if first.get(c) != r})
    return _Tables(
        single={c: f" {r} " for c, r in first.items()},
        phrases=phrases,
        starts=frozenset(p[:2] for p in phrases),
        prefixes=frozenset(p[:i] for p in phrases for i in range(2, len(p))),
        context=re.compile("[" + "".join(map(re.escape, context)) + "]"),
    )


def reading(name: str) -> str:
    """The toneless pinyin of ``name`` (normalised: :func:`normal_name`), syllables and runs of
    other characters (lower-cased) joined by single spaces: ``盐城ABC公司`` → ``yan cheng abc gong si``."""
    tables = _tables()
    text = name.lower()
    single = tables.single.get
    if not tables.context.search(text):
        return " ".join("".join(map(single, text, text)).split())
    # Forward maximum matching over the phrase dictionary (pypinyin's default segmenter)
    phrases, starts, prefixes = tables.phrases, tables.starts, tables.prefixes
    parts, at, end = [], 0, len(text)
    while at < end:
        if text[at : at + 2] in starts:
            stop, probe = 0, at + 2
            while probe <= end:
                word = text[at:probe]
                if word in phrases:
                    stop = probe
                if word not in prefixes:
                    break
                probe += 1
            if stop:
                parts.append(" " + " ".join(phrases[text[at:stop]]) + " ")
                at = stop
                continue
        parts.append(single(text[at], text[at]))
        at += 1
    return " ".join("".join(parts).split())


def normal_name(name: str) -> str:
    """What two names must share to be the same name: half-width, without spaces (as an archive
    keyed by name is: :func:`generator.entities.entity_key`)."""
    return half_width(name).replace(" ", "")


def letter_of(read: str) -> str:
    """The letter of a reading (or of a sort key, which starts with one)."""
    first = read[:1]
    return first if "a" <= first <= "z" else OTHER


# -- entries ---------------------------------------------------------------------------------------


def entry(name: str, code: str, eid: str) -> str:
    """A subject's entry: ``name US code US id`` (separators a cleaned name never holds)."""
    if US in name or RS in name:
        name = name.replace(US, " ").replace(RS, " ")
    return f"{name}{US}{code}{US}{eid}"


def entry_id(line: str) -> str:
    return line[-ID_SIZE:]


def entry_name(line: str) -> str:
    return line[: line.index(US)]


def entry_code(line: str) -> str:
    return line[line.index(US) + 1 : -ID_SIZE - 1]


def sort_key(line: str) -> str:
    """An entry's place: ``reading NUL normalised name NUL entry`` (one string: compared in C,
    where a tuple compares item by item; NUL sorts a shorter reading first)."""
    name = entry_name(line)
    normal = normal_name(name)
    return f"{reading(normal)}\0{normal}\0{line}"


def name_prefix(key: str) -> str:
    """The part of a sort key that namesakes share (reading and normalised name)."""
    return key[: key.index("\0", key.index("\0") + 1) + 1]


class Keys:
    """Sort keys of one build's entries, memoised (bisection asks for the same ones again)."""

    def __init__(self) -> None:
        self._memo: dict[str, str] = {}

    def __call__(self, line: str) -> str:
        found = self._memo.get(line)
        if found is None:
            found = self._memo[line] = sort_key(line)
        return found


def page_starts(lines: list[str]) -> list[int]:
    """Where the pages of a letter's sorted entries start (see the module's docstring)."""
    natural = [i for i, line in enumerate(lines) if line[-3:] in BOUNDARY_TAILS]
    starts, last = [0], 0
    for at in [*natural, len(lines)]:
        while at - last > PAGE_MAX:
            last += PAGE_MAX
            starts.append(last)
        if at - last >= PAGE_MIN and at < len(lines):
            starts.append(at)
            last = at
    return starts


def run_span(lines: list[str], keys: Keys, prefix: str) -> tuple[int, int]:
    """Where the entries of ``lines`` (sorted) whose sort keys start with ``prefix``
    (:func:`name_prefix`) are: adjacent, found by bisection (keys computed for ~20 entries and the
    run, not for all)."""
    at = bisect.bisect_left(lines, prefix, key=keys)
    end = at
    while end < len(lines) and keys(lines[end]).startswith(prefix):
        end += 1
    return at, end


class Namesakes:
    """What the archives of one name show of each other (另有同名主体): one for the whole run of
    entries of that name, shared by its archives (one tuple of every other entry per archive was
    quadratic in a run's length). An archive shows the first :data:`NAMESAKES_SHOWN` others of
    :attr:`head` (:meth:`shown`), then, when the run has more, how many and a link to the 名录
    page where the run starts.

    Its head is a slice of ``text``: on a clean build the letter's blob (what the manifest keeps
    anyway), so the ~770,000 entries of a 10^6-record site's runs are not kept as strings of their
    own (~135 MB) the whole build. Pickled (to a page worker), only the slice travels."""

    __slots__ = ("_text", "_start", "_stop", "size", "url")

    def __init__(self, text: str, size: int, url: str, start: int = 0, stop: int = -1):
        self._text, self._start = text, start
        self._stop = len(text) if stop < 0 else stop
        self.size = size  # the run's entries, the archive's own included
        self.url = url  # the 名录 page where the run starts: only for a run longer than shown

    @property
    def head(self) -> tuple[str, ...]:
        """The run's first ``NAMESAKES_SHOWN + 1`` entries, in the 名录's order."""
        return tuple(self._text[self._start : self._stop].split(RS))

    def shown(self, eid: str) -> tuple[tuple[str, ...], int, str]:
        """What archive ``eid`` of the run prints: the others it lists, how many more there are
        and the 名录 page that lists them all ("" when none are left out)."""
        others = tuple(line for line in self.head if line[-ID_SIZE:] != eid)[:NAMESAKES_SHOWN]
        more = self.size - 1 - len(others)
        return others, more, self.url if more else ""

    def __reduce__(self) -> tuple[Any, ...]:
        return (Namesakes, (self._text[self._start : self._stop], self.size, self.url))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Namesakes) and (self.head, self.size, self.url) == (
            other.head,
            other.size,
            other.url,
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Namesakes({self.head!r}, size={self.size}, url={self.url!r})"


NO_NAMESAKES: tuple[tuple[str, ...], int, str] = ((), 0, "")


def shown(found: Namesakes | None, eid: str) -> tuple[tuple[str, ...], int, str]:
    """:meth:`Namesakes.shown`, and nothing for an archive no other archive shares its name with."""
    return NO_NAMESAKES if found is None else found.shown(eid)


def _namesakes(run: list[str], url: str) -> Namesakes | None:
    """A run's :class:`Namesakes` (None for a run of one); ``url``: the 名录 page it starts on."""
    if len(run) < 2:
        return None
    longer = len(run) > NAMESAKES_SHOWN + 1
    return Namesakes(RS.join(run[: NAMESAKES_SHOWN + 1]), len(run), url if longer else "")


def _place(directory: Directory, letter: str, start: int, end: int, url: str) -> Namesakes | None:
    """Note the :class:`Namesakes` of the run of ``letter``'s entries ``start:end`` (a copy of its
    head: an incremental build's few runs)."""
    lines = directory.letters[letter].lines
    assert lines is not None
    namesakes = _namesakes(lines[start:end], url)
    if namesakes is not None:
        directory.runs.append((letter, start, end, namesakes))
    return namesakes


def _place_in_blob(
    directory: Directory, letter: Letter, runs: list[tuple[int, int]], pages: PageUrls
) -> None:
    """Note the :class:`Namesakes` of ``letter``'s runs (entries ``start:end``, in order), their
    heads slices of its blob (a clean build's every run)."""
    lines, blob = letter.lines, letter.blob  # blob: RS.join(lines)
    assert lines is not None
    at = offset = 0  # an entry and where it starts in the blob
    for start, end in runs:
        offset += sum(map(len, lines[at:start])) + start - at
        stop = min(end, start + NAMESAKES_SHOWN + 1)
        head = sum(map(len, lines[start:stop])) + stop - start - 1
        longer = end - start > NAMESAKES_SHOWN + 1
        found = Namesakes(
            blob, end - start, pages.at(start) if longer else "", offset, offset + head
        )
        directory.runs.append((letter.letter, start, end, found))
        at = start


@dataclass
class Letter:
    """One letter's entries in order (decoded this build), or kept as the last build left them."""

    letter: str
    lines: list[str] | None  # None: not decoded (unchanged), or let go (Directory.keep_data_only)
    # The entries as the manifest keeps them: "" when decoded and changed by an incremental build
    blob: str
    changed: bool = False

    @property
    def count(self) -> int:
        if self.lines is not None:
            return len(self.lines)
        return self.blob.count(RS) + 1 if self.blob else 0


@dataclass
class Directory:
    """Every letter of the 名录, and the namesakes of the archives whose letter was decoded."""

    letters: dict[str, Letter] = field(default_factory=dict)
    # The runs of a name's entries placed (letter, start, end in its lines, their Namesakes): every
    # run of two or more on a clean build. Not a dict by archive id: 770,000 id strings and their
    # table cost ~100 MB, kept the whole build, where the plan needs each once (namesakes()).
    runs: list[tuple[str, int, int, Namesakes]] = field(default_factory=list)
    # Archives no changed record touched whose namesakes changed: their pages change too
    renamed_around: set[str] = field(default_factory=set)

    def data(self) -> dict[str, str]:
        """What the manifest keeps: each letter's entries."""
        return {
            letter: (found.blob or RS.join(found.lines or []))
            for letter, found in sorted(self.letters.items())
            if found.count
        }

    @property
    def total(self) -> int:
        return sum(found.count for found in self.letters.values())

    def namesakes(self) -> Iterator[tuple[str, Namesakes]]:
        """(archive id, its run's :class:`Namesakes`) of every archive of the runs placed (while
        the letters' lines are here: :meth:`keep_data_only`)."""
        for letter, start, end, found in self.runs:
            lines = self.letters[letter].lines
            assert lines is not None
            for at in range(start, end):
                yield lines[at][-ID_SIZE:], found

    def keep_data_only(self, data: dict[str, str]) -> None:
        """Let go of the letters' lines once :meth:`data` made ``data`` (the manifest keeps it):
        the 名录's pages split a letter's blob again, one letter at a time (~150 MB of line
        strings at 10^6 records no longer kept beside their blob the whole build)."""
        for found in self.letters.values():
            if found.lines is not None:
                found.lines, found.blob = None, data.get(found.letter, "")
        self.runs = []


class PageUrls:
    """Where the 名录 pages of a letter's sorted entries start (:func:`page_starts`) and their
    addresses: the letter's landing page when they fit on one (as :func:`pages_of` is written)."""

    def __init__(self, letter: str, lines: list[str]):
        self.starts = page_starts(lines)
        self.urls = (
            [letter_url(letter)]
            if len(self.starts) == 1
            else [page_url(letter, lines[start][-ID_SIZE:]) for start in self.starts]
        )
        self.size = len(lines)

    def at(self, place: int) -> str:
        """The address of the page that entry ``place`` is on."""
        return self.urls[bisect.bisect_right(self.starts, place) - 1]

    def spans(self) -> dict[str, tuple[int, int]]:
        """Each page's address → its entries' slice."""
        ends = [*self.starts[1:], self.size]
        return dict(zip(self.urls, zip(self.starts, ends)))


def build(entries: Iterable[str]) -> Directory:
    """The whole directory from every archive's entry (a clean build): each entry's sort key
    computed once, and a letter's keys let go once it is sorted; namesakes are adjacent in the
    order."""
    by_letter: dict[str, list[str]] = {}
    for key in map(sort_key, entries):
        by_letter.setdefault(letter_of(key), []).append(key)
    directory = Directory()
    for letter in list(by_letter):
        lines = by_letter.pop(letter)
        lines.sort()
        # Each key gives way to its entry in place (never both lists whole: ~200 MB at 10^6)
        runs, start, last = [], 0, ""
        for at, key in enumerate(lines):
            prefix = name_prefix(key)
            if prefix != last:
                if at - start > 1:
                    runs.append((start, at))
                start, last = at, prefix
            lines[at] = key[key.rindex("\0") + 1 :]
        if len(lines) - start > 1:
            runs.append((start, len(lines)))
        found = directory.letters[letter] = Letter(letter, lines, RS.join(lines), changed=True)
        _place_in_blob(directory, found, runs, PageUrls(letter, lines))
    return directory


def update(kept: dict[str, str], touched: set[str], entries: dict[str, str]) -> Directory:
    """The directory after an incremental build's changes: ``kept``, the last build's letters
    (:meth:`Directory.data`); ``touched``, the archives a changed record joined or left;
    ``entries``, the entries of those that still exist. With nothing touched nothing is decoded;
    else every letter is (a touched archive's old letter is not known; splitting and filtering
    are C-speed passes), and sort keys are computed only for the entries placed, those that bisection
    compares them with and their neighbours (namesakes are adjacent).

    Archives no changed record touched are named in ``renamed_around`` when what their pages
    show of their namesakes changed: a name's run that an entry joined or left, and a long run
    (:data:`NAMESAKES_SHOWN`) whose first entry is now on another 名录 page."""
    keys = Keys()
    placed: dict[str, list[str]] = {}
    for line in entries.values():
        placed.setdefault(letter_of(keys(line)), []).append(line)
    directory = Directory()
    for letter in sorted(set(kept) | set(placed)):
        blob = kept.get(letter, "")
        if not touched:
            directory.letters[letter] = Letter(letter, None, blob)
            continue
        old = blob.split(RS) if blob else []
        lines: list[str] = []
        gone: list[int] = []  # their places in old
        for at, line in enumerate(old):
            if line[-ID_SIZE:] in touched:
                gone.append(at)
            else:
                lines.append(line)
        new = sorted(placed.get(letter, []), key=keys)
        lines, came = _merge(lines, new, keys)
        changed = lines != old
        directory.letters[letter] = Letter(letter, lines, "" if changed else blob, changed)
        # The names whose runs may have changed: those of the entries that came or went with a
        # namesake beside them, before or now
        prefixes = {
            prefix
            for found, places in ((old, gone), (lines, came))
            for at in places
            if _beside(found, at, prefix := name_prefix(keys(found[at])), keys)
        }
        if prefixes or changed:
            _place_changes(directory, letter, old, prefixes, touched, keys)
    return directory


def _place_changes(
    directory: Directory,
    letter: str,
    old: list[str],
    prefixes: set[str],
    touched: set[str],
    keys: Keys,
) -> None:
    """For :func:`update`: place the runs of ``letter`` whose archives may show their namesakes
    otherwise than in ``old`` (its entries before), and name those archives that do: the names
    ``prefixes`` (an entry came or went beside them) and the long runs whose first entry moved."""
    entries = directory.letters[letter]
    lines = entries.lines
    assert lines is not None
    before = PageUrls(letter, old)
    after = PageUrls(letter, lines) if entries.changed else before
    if after is not before:
        for start, end in _moved(old, before, lines, after, prefixes):
            _place(directory, letter, start, end, after.at(start))
            directory.renamed_around.update(line[-ID_SIZE:] for line in lines[start:end])
    for prefix in sorted(prefixes):
        was, now = run_span(old, keys, prefix), run_span(lines, keys, prefix)
        runs = old[was[0] : was[1]], lines[now[0] : now[1]]
        found = (
            _namesakes(runs[0], before.at(was[0])),
            _place(directory, letter, *now, after.at(now[0])),
        )
        if found[0] == found[1]:
            continue
        directory.renamed_around.update(
            eid
            for eid in {line[-ID_SIZE:] for run in runs for line in run} - touched
            if shown(found[0], eid) != shown(found[1], eid)
        )


def _moved(
    old: list[str], before: PageUrls, lines: list[str], after: PageUrls, known: set[str]
) -> list[tuple[int, int]]:
    """Where in ``lines`` the long runs (:data:`NAMESAKES_SHOWN`) are whose first entry is on
    another 名录 page than before (their archives link to that page), but for the names ``known``
    (prefixes: their runs changed, and are placed anyway). Such a run is the one it was, but for the
    link: no key is computed. Only an entry of a page that is not as it was can have moved, so only
    those are looked at."""
    spans, now = before.spans(), after.spans()
    kept = {
        url
        for url, (start, end) in now.items()
        if (was := spans.get(url)) and old[was[0] : was[1]] == lines[start:end]
    }
    was_on = {
        line[-ID_SIZE:]: url
        for url, (start, end) in spans.items()
        if url not in kept
        for line in old[start:end]
    }
    skip = {prefix.split("\0")[1] for prefix in known}
    reach = NAMESAKES_SHOWN + 1  # a run this much longer than one entry has a link

    def name(at: int) -> str:
        # Two entries share a prefix exactly when they share this (the reading is the name's),
        # at a fraction of a reading's cost: a heavy night moves ~100,000 entries to other pages
        return normal_name(entry_name(lines[at]))

    found: list[tuple[int, int]] = []
    for url, (start, end) in now.items():
        if url in kept:
            continue
        for at in range(start, end):
            line = lines[at]
            if was_on.get(line[-ID_SIZE:], url) == url:  # came (known), or on the same page
                continue
            first = name(at)
            if (
                at + reach < len(lines)
                and name(at + reach) == first
                and not (at and name(at - 1) == first)
                and first not in skip
            ):
                stop = at + reach + 1
                while stop < len(lines) and name(stop) == first:
                    stop += 1
                found.append((at, stop))
    return found


def _beside(lines: list[str], at: int, prefix: str, keys: Keys) -> bool:
    """Whether an entry next to ``lines[at]`` has the same name."""
    return (at > 0 and keys(lines[at - 1]).startswith(prefix)) or (
        at + 1 < len(lines) and keys(lines[at + 1]).startswith(prefix)
    )


def _merge(lines: list[str], new: list[str], keys: Keys) -> tuple[list[str], list[int]]:
    """``lines`` and ``new`` (both sorted) as one sorted list, and where the new entries are in
    it: each new entry's place found by bisection, the old entries copied in slices (linear;
    inserting one by one is quadratic)."""
    if not new:
        return lines, []
    merged: list[str] = []
    came: list[int] = []
    at = 0
    for line in new:
        place = bisect.bisect_left(lines, keys(line), at, key=keys)
        merged += lines[at:place]
        came.append(len(merged))
        merged.append(line)
        at = place
    merged += lines[at:]
    return merged, came


# -- pages ---------------------------------------------------------------------------------------


def letter_url(letter: str) -> str:
    return f"directory/{letter}/index.html"


def page_url(letter: str, page_id: str) -> str:
    return f"directory/{letter}/{page_id}.html"


@dataclass(slots=True)
class DirectoryPage:
    """What a page of a letter's subjects prints (``directory_page.html``, as ``page``), filled
    from a stencil: values printed as they are."""

    letter: str
    letter_label: str
    first: str  # the first and last names on it
    last: str
    count: int
    entries: Any  # Markup: the list items
    prev_url: str  # "" for none
    next_url: str
    landing: bool  # the letter's only page (at its index.html)


@dataclass
class Page:
    letter: str
    id: str  # the archive id of its first entry
    lines: list[str]

    @property
    def url(self) -> str:
        return page_url(self.letter, self.id)


def pages_of(letter: str, lines: list[str]) -> list[Page]:
    starts = page_starts(lines)
    return [
        Page(letter, lines[start][-ID_SIZE:], lines[start:end])
        for start, end in zip(starts, [*starts[1:], len(lines)])
    ]
