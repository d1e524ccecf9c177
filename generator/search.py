"""Client-side Chinese search: one tokenizer spec (here and in ``theme/static/js/tokenizer.js``),
term-range-partitioned lunr indexes built with lunr.py, and small display-field buckets.

Layout under ``search/`` (see docs/search.md for the design and its numbers):

- ``manifest.json``: the segments, the years, kinds and page size.
- ``s<k>/``: one *segment*: the published records whose approved version is among one range of
  approved rows in approval order (:func:`segment_cuts`: a new batch starts a segment, small
  segments merge, none holds more than ``SEARCH_SEGMENT_RECORDS`` rows). A withdrawal changes the
  segment of its record, so an incremental build rewrites one or two segments, not the index.
  Each segment holds:

  - ``manifest.json``: first token of each shard, capped tokens, day boundaries, sizes;
  - ``shards/<n>.json``: a lunr 2.3.9 index holding the postings of a contiguous range of tokens;
  - ``docs/<b>.json``: display fields of the segment's records ``b*BUCKET … b*BUCKET+BUCKET-1`` (refs
    are sequence numbers in newest-first order within the segment, so a ref's date is a lookup).

- ``authorities.json``: a small lunr index of authority names, with their list pages.
- every file above also as ``<name>.gz`` (:func:`_write_text`), which the page fetches.
- ``homophones.json``: the published names' characters grouped by reading, for typo suggestions
  (loaded only when a query finds nothing).

A query downloads the manifests, the shard of each query token in each segment and the buckets of
the results it shows: never the whole index.
"""

from __future__ import annotations

import bisect
import gzip
import hashlib
import json
import math
import re
import unicodedata
from array import array
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import astuple, dataclass
from json.encoder import encode_basestring
from pathlib import Path
from typing import Any

from lunr.builder import Builder
from lunr.pipeline import Pipeline

from . import cache, pii
from .entities import entity_key
from .homophones import homophone_table
from .publication import PublishedRecord
from .schema import KINDS, Kind
from .writers import write_new_file

TOKENIZER_VERSION = 2  # 2: names also give their core's tokens (administrative words removed)
FOLD_NAME = "xyycFold"
KIND_LETTERS = {name: kind.search_letter for name, kind in KINDS.items()}
_RUN = re.compile(r"[\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[a-z0-9]+")
_HAN = re.compile(r"[\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


# -- the tokenizer specification (v1) ---------------------------------------------------------


def fold(text: str) -> str:
    """NFKC (full-width → half-width, compatibility forms) then lower case."""
    return unicodedata.normalize("NFKC", text).lower()


def runs(text: str) -> list[str]:
    """Maximal runs of Han characters or of ASCII letters/digits; everything else separates."""
    return _RUN.findall(fold(text))


def tokenize(text: str) -> list[str]:
    """Index-time tokens: a Han run of one character is itself, longer runs give every bigram;
    an ASCII run is one token. Order kept, duplicates kept (term frequency)."""
    tokens: list[str] = []
    for run in runs(text):
        if _HAN.match(run) and len(run) > 1:
            tokens.extend(run[i : i + 2] for i in range(len(run) - 1))
        else:
            tokens.append(run)
    return tokens


# Words people drop or add around the distinctive part of a name (盐城市滨海县金锦物流有限公司 is
# asked for as 滨海金锦 or 金锦物流): longest first, as one alternation.
ADMIN_WORDS = (
    "有限责任公司",
    "股份有限公司",
    "有限公司",
    "分公司",
    "江苏省",
    "盐城市",
    "盐城",
    "股份",
    "省",
    "市",
    "县",
    "区",
)
_ADMIN = re.compile("|".join(ADMIN_WORDS))


def core(run: str) -> str:
    """A Han run without its administrative words; the run itself when fewer than two characters
    would be left (盐城市 stays 盐城市)."""
    stripped = _ADMIN.sub("", run)
    return stripped if len(stripped) >= 2 else run


def core_runs(text: str) -> list[str]:
    """:func:`runs` with each Han run replaced by its :func:`core`."""
    return [core(run) if _HAN.match(run) else run for run in runs(text)]


def name_tokens(text: str) -> list[str]:
    """Index-time tokens of a name: :func:`tokenize`, then, once each, the bigrams of each Han
    run's core that the run lacks (滨海县金锦 → 海金) and the core's last character (so that every
    character of the core begins a token: a lone character is a prefix query)."""
    tokens = tokenize(text)
    seen = set(tokens)
    for run in runs(text):
        if not _HAN.match(run) or len(run) < 2:
            continue
        stripped = core(run)
        for token in [stripped[i : i + 2] for i in range(len(stripped) - 1)] + [stripped[-1]]:
            if token not in seen:
                seen.add(token)
                tokens.append(token)
    return tokens


def core_terms(text: str) -> list[dict[str, Any]]:
    """Query terms of the query's :func:`core_runs`: what a query falls back to when its own
    terms find nothing (盐城康润 → 康润)."""
    return query_terms(" ".join(core_runs(text)))


def align(query: str, name: str, max_miss: int = 0) -> tuple[int, int, int, int, int] | None:
    """How the characters of ``query`` occur in ``name`` in order: (misses, gaps, gap length,
    start, end) of the best placement (fewest misses, then gaps, then gap length, then leftmost),
    or None when more than ``max_miss`` characters of the query cannot be placed or fewer than two
    can. ``name[start:end]`` is the stretch it covers (a suggestion's text). The ranking rule of
    the in-order search; tokenizer.js has the same function."""
    # state: last placed position → (misses, gaps, gap length, start)
    states: dict[tuple[int, int], tuple[int, int, int]] = {(-1, 0): (0, 0, -1)}
    where: dict[str, list[int]] = {}
    for position, char in enumerate(name):
        where.setdefault(char, []).append(position)
    for char in query:
        following: dict[tuple[int, int], tuple[int, int, int]] = {}
        for (last, misses), (gaps, length, start) in states.items():
            if misses < max_miss:
                _keep_best(following, (last, misses + 1), (gaps, length, start))
            for position in where.get(char, ()):
                if position > last:
                    gap = 0 if last < 0 else position - last - 1
                    _keep_best(
                        following,
                        (position, misses),
                        (gaps + (gap > 0), length + gap, position if start < 0 else start),
                    )
        states = following
    placed = [
        (misses, gaps, length, start, last + 1)
        for (last, misses), (gaps, length, start) in states.items()
        if last >= 0 and len(query) - misses >= 2
    ]
    return min(placed) if placed else None


def _keep_best(states: dict, key: tuple[int, int], value: tuple[int, int, int]) -> None:
    if key not in states or value < states[key]:
        states[key] = value


def query_terms(text: str) -> list[dict[str, Any]]:
    """Query-time terms: the same tokens, plus which are prefixes (a lone Han character; an ASCII
    run of 6–17 characters, e.g. the start of a credit code or of its 组织机构代码 part). Duplicates
    removed, order kept."""
    terms: list[dict[str, Any]] = []
    seen: set[str] = set()
    for run in runs(text):
        han = bool(_HAN.match(run))
        pieces = [run[i : i + 2] for i in range(len(run) - 1)] if han and len(run) > 1 else [run]
        for token in pieces:
            if token in seen:
                continue
            seen.add(token)
            prefix = (han and len(run) == 1) or (not han and 6 <= len(run) < 18)
            terms.append({"token": token, "prefix": prefix})
    return terms


def _fold_token(token, i, tokens):  # the pipeline function of the same name in tokenizer.js
    return token


Pipeline.register_function(_fold_token, FOLD_NAME)


# -- index building ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchSettings:
    shard_postings: int  # postings per shard (a single token may exceed it)
    token_cap: int  # postings kept for a very common token (newest first)
    bucket: int  # records per display bucket
    code_shard_windows: int  # credit-code windows per code-index file


def search_settings(total: int, postings: int, cfg: Any) -> SearchSettings:
    """Sizes scale with the site. A one-term query reads the manifest (~8 bytes a shard) and one
    shard (~50 bytes a posting); with P postings and s postings a shard that is 8P/s + 50s bytes,
    least at s = √(0.16 P): ~60 KiB at 100k records, ~180 KiB at 1M."""
    shard = cfg.SEARCH_SHARD_POSTINGS or int(max(150, min(4_000, math.sqrt(0.16 * postings))))
    return SearchSettings(
        shard,
        cfg.SEARCH_TOKEN_CAP or max(1_000, total // 500),
        cfg.SEARCH_BUCKET_SIZE,
        cfg.SEARCH_CODE_SHARD_WINDOWS,
    )


def ref_of(seq: int, kind: str) -> str:
    """Document ref: kind letter + sequence number in base 36 (newest record = 0)."""
    return KIND_LETTERS[kind] + _b36(seq)


def _b36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if not n:
            return out


_BRACKETS = re.compile(r"[〔〕\[\]()（）【】［］﹝﹞<>《》{}｛｝]")


# Where the six-character windows of an 18-character credit code start that the code index holds:
# every window that reaches the 组织机构代码 part (the ninth character on), so a fragment of six or
# more characters anywhere in a code is found by its last six. A window wholly within the first
# eight (registration authority, type and area code, 913209…) is shared by a county's subjects and
# identifies none of them.
CODE_WINDOWS = range(3, 13)
_WINDOW = re.compile(r"[0-9a-z]{6}")
_CODE = re.compile(r"[0-9a-z]{18}")


def code_windows(code: str) -> list[int]:
    """The code index's windows of a credit code (:data:`CODE_WINDOWS`), each as its base-36 value
    (six characters of 0-9a-z, folded: below 2^32); none for the all-zero placeholder or for a code
    that is not 18 such characters (a natural person's ID number, masked as published: its
    birth date is no handle to search people by)."""
    code = fold(code)
    if not _CODE.fullmatch(code) or code == "00000000000000000x":
        return []
    return [int(code[i : i + 6], 36) for i in CODE_WINDOWS]


def window_text(value: int) -> str:
    """The six characters of a window value (:func:`code_windows`)."""
    return _b36(value).rjust(6, "0")


SEARCH_FIELD_CHARS = 64  # of a kind's search_fields: a category or an identifier, not prose


def _searched_text(kind: Kind, brief: dict[str, Any]) -> str:
    """The kind's search fields that its summary line does not show (a licence number, a
    dishonesty record's 失信行为): a result shows what it was found by."""
    return " · ".join(
        str(brief[name])[:SEARCH_FIELD_CHARS]
        for name in kind.search_fields
        if name not in kind.summary_fields and brief.get(name)
    )


def brief_tokens(kind_name: str, brief: dict[str, Any]) -> list[str]:
    """Tokens of the subject name (:func:`name_tokens`), the document number, the credit code and
    the kind's ``search_fields``. A document number also gives the tokens of its bracket-free form
    once (``盐市监罚20261234号`` finds ``盐市监罚〔2026〕1234号``); an 18-character credit code also its
    组织机构代码 part (from the ninth character, read as a prefix) and its last six characters. Any
    other part of a code is found through the segment's code index (:func:`code_windows`)."""
    kind = KINDS[kind_name]
    docno = str(brief.get(kind.docno, ""))
    doc_tokens = tokenize(docno)
    seen = set(doc_tokens)
    joined = [t for t in dict.fromkeys(tokenize(_BRACKETS.sub("", docno))) if t not in seen]
    tokens = name_tokens(str(brief.get(kind.subject, ""))) + doc_tokens + joined
    code = brief.get(kind.subject_code or "")
    if code and code != "00000000000000000X":
        code = fold(str(code))
        tokens.append(code)
        if len(code) == 18:  # its 组织机构代码 part (a prefix query reads it) and its last six
            tokens += [code[8:], code[-6:]]
    for name in kind.search_fields:
        tokens += tokenize(str(brief.get(name, ""))[:SEARCH_FIELD_CHARS])
    # No token reads as a personal number: ingest masked the text as written, but a token is read
    # after folding and with the brackets gone (``盐罚〔1381〕2345678号`` gives ``13812345678``).
    return [t for t in tokens if len(t) < 11 or not pii.find(t)]


K1 = 1.2  # lunr's default BM25 k1


def lunr_index_reference(docs: list[tuple[str, list[str]]]) -> dict[str, Any]:
    """A lunr 2.3.9 index built by lunr.py's Builder over pre-tokenised documents; b = 0 so that
    scores do not depend on how a record's tokens are split across shards."""
    builder = Builder()
    builder.pipeline.add(_fold_token)
    builder.search_pipeline.add(_fold_token)
    builder.ref("ref")
    builder.field("t")
    builder.b(0)
    for ref, tokens in docs:
        builder.add({"ref": ref, "t": tokens})
    return builder.build().serialize()


def _lunr_index(docs: list[tuple[str, dict[str, int]]]) -> str:
    """The JSON text of :func:`lunr_index_reference` for the same documents, computed directly.

    ``docs`` are (ref, {token: term frequency}) with tokens in the order the reference would meet
    them. lunr.py's Builder also builds a token-set trie that serialisation never uses, and
    ``json.dumps`` of the nested dicts is the slowest step at a million records; this writes the
    same text (same term order, BM25 arithmetic in the same order, same rounding, same
    separators). A property test compares the two byte for byte.
    """
    term_index: dict[str, int] = {}
    postings: dict[str, list[str]] = {}
    for ref, tf in docs:
        for token in tf:
            if token not in term_index:
                term_index[token] = len(term_index)
                postings[token] = [ref]
            else:
                postings[token].append(ref)
    count = len(docs)
    idf = {
        t: math.log(1 + abs((count - len(p) + 0.5) / (len(p) + 0.5))) for t, p in postings.items()
    }
    denominator = K1 * (1 - 0 + 0 * 1.0)  # b = 0
    enc = encode_basestring
    vectors = []
    for ref, tf in docs:
        pairs = sorted(
            (term_index[t], round(idf[t] * ((K1 + 1) * n) / (denominator + n), 3))
            for t, n in tf.items()
        )
        vectors.append(f"[{enc('t/' + ref)},[{','.join(f'{i},{score!r}' for i, score in pairs)}]]")
    inverted = [
        f'[{enc(t)},{{"t":{{{",".join(enc(r) + ":{}" for r in postings[t])}}},"_index":{term_index[t]}}}]'
        for t in sorted(postings)
    ]
    return (
        f'{{"version":"2.3.9","fields":["t"],"fieldVectors":[{",".join(vectors)}],'
        f'"invertedIndex":[{",".join(inverted)}],"pipeline":[{enc(FOLD_NAME)}]}}'
    )


def _tf(tokens: list[str]) -> dict[str, int]:
    """Term frequencies, in first-occurrence order."""
    counts: dict[str, int] = {}
    for token in tokens:
        counts[token] = counts.get(token, 0) + 1
    return counts


GZIP_LEVEL = 6


def _write_text(path: Path, text: str) -> None:
    """A search file and its gzip twin ``<name>.gz`` (no name or time in its header: the same bytes
    on every build). The page fetches the twin and inflates it itself where the browser can
    (``DecompressionStream``), so a query transfers about a quarter of the bytes from any static
    server, compressing or not; other browsers fetch the file itself."""
    data = text.encode("utf-8")
    write_new_file(path, data)
    write_new_file(f"{path}.gz", gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0))


def _dump(path: Path, obj: Any) -> None:
    _write_text(path, json.dumps(obj, ensure_ascii=False, separators=(",", ":"), sort_keys=False))


def segment_capacity(cfg: Any) -> int:
    """Approval sequence numbers per segment."""
    return max(1, cfg.SEARCH_SEGMENT_RECORDS)


def segment_cuts(batches: Iterable[tuple[int, int]], capacity: int) -> list[tuple[int, int]]:
    """The search segments as [start, stop) ranges of approval sequence numbers, from each approved
    records batch's [first, stop) in approval order.

    Log-structured, as a search engine's segments are: a batch starts a new segment (one of more
    than ``capacity`` rows is cut into segments of that size), and the newest segment merges into
    the one before it while that one is at most :data:`MERGE_RATIO` times its size and the two fit
    in ``capacity`` (sizes below ``capacity`` / :data:`MERGE_FLOOR` count as that much, so small
    batches always merge). A night's batch then lays out its own rows and, on some nights, those of
    the small segments it merges with (as a binary counter does), instead of a whole segment for
    the few rows that land in it; the segments before stay put, and their number stays within
    about 1.5 × rows / ``capacity`` + log2(:data:`MERGE_FLOOR`). A pure function of the batches,
    so a clean build and an incremental one cut the same segments."""
    floor = capacity // MERGE_FLOOR
    stack: list[list[int]] = []
    for first, stop in batches:
        lo = first
        while lo < stop:
            hi = min(stop, lo + capacity)
            stack.append([lo, hi])
            lo = hi
            while (
                len(stack) > 1
                and hi - stack[-2][0] <= capacity
                and max(stack[-2][1] - stack[-2][0], floor)
                <= MERGE_RATIO * max(hi - stack[-1][0], floor)
            ):
                stack.pop()
                stack[-1][1] = hi
    return [(start, stop) for start, stop in stack]


MERGE_RATIO = 2  # a segment takes in the newer one after it once it is at most twice that size
MERGE_FLOOR = 64  # segments under capacity / 64 rows merge as if they were that big


def segments(records: list[PublishedRecord], cfg: Any) -> list[tuple[str, list[PublishedRecord]]]:
    """(folder name, records) per non-empty segment (:func:`segment_cuts`), in segment order; input
    order kept inside. The batches are the runs of equal ``batch_id`` in approval sequence order,
    each spanning its records' seqs (without the site's state, rows not published are not seen)."""
    ordered = sorted(records, key=lambda r: r.seq)
    batches: list[tuple[int, int]] = []
    for position, record in enumerate(ordered):
        if position and record.batch_id == ordered[position - 1].batch_id:
            batches[-1] = (batches[-1][0], record.seq + 1)
        else:
            batches.append((batches[-1][1] if batches else 0, record.seq + 1))
    spans = segment_cuts(batches, segment_capacity(cfg))
    grouped: dict[int, list[PublishedRecord]] = defaultdict(list)
    starts = [start for start, _stop in spans]
    for record in records:
        grouped[bisect.bisect_right(starts, record.seq) - 1].append(record)
    return [(f"s{number}", grouped[number]) for number in sorted(grouped)]


def build_search(
    out: Path, records: list[PublishedRecord], authorities: list[dict[str, Any]], cfg: Any
) -> dict[str, Any]:
    """Write every search file under ``out/search``; return the top manifest.

    Here a segment's universe (see :class:`SegmentLayout`) is its published records. The site
    build does the same in two steps (segments in its worker processes, from the universe of all
    public approved rows, and :func:`write_search_top`), so that an incremental build writes only
    changed files."""
    listed = []
    for name, members in segments(records, cfg):
        listed.append((name, members))
        layout = segment_layout(
            [(i, r.kind, r.id, r.brief) for i, r in enumerate(members)], len(members), cfg
        )
        write_segment(out / "search" / name, layout, range(len(members)), None, cfg)
    write_homophones(out, (str(r.brief.get(KINDS[r.kind].subject, "")) for r in records))
    return write_search_top(out, listed, authorities, cfg)


def write_search_top(
    out: Path,
    listed: list[tuple[str, list[PublishedRecord]]],
    authorities: list[dict[str, Any]],
    cfg: Any,
    years: Iterable[int] | None = None,
) -> dict[str, Any]:
    """The top manifest (segments, years, kinds) and the authorities' index; return the manifest.
    ``years``: the listed records' decision years, when the caller knows them without a pass over
    every record (the site build: :func:`generator.publication.published_years`)."""
    folder = out / "search"
    folder.mkdir(parents=True, exist_ok=True)
    if years is None:
        years = {int(r.date[:4]) for _name, members in listed for r in members}
    # Authorities: a small index of names → their list pages.
    auth_docs = [(str(i), _tf(tokenize(a["name"]))) for i, a in enumerate(authorities)]
    listing = json.dumps(
        [[a["name"], a["kind"], a["count"], a["url"]] for a in authorities],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    _write_text(
        folder / "authorities.json", f'{{"index":{_lunr_index(auth_docs)},"list":{listing}}}'
    )
    manifest = {
        "version": TOKENIZER_VERSION,
        "count": sum(len(members) for _name, members in listed),
        "page": cfg.SEARCH_PAGE_SIZE,
        "prefixMaxShards": cfg.SEARCH_PREFIX_MAX_SHARDS,
        "kinds": {letter: [name, KINDS[name].label] for name, letter in KIND_LETTERS.items()},
        "years": sorted(years, reverse=True),
        "segments": [[name, len(members)] for name, members in listed],
    }
    _dump(folder / "manifest.json", manifest)
    return manifest


def write_homophones(out: Path, names: Iterable[str]) -> None:
    """``search/homophones.json``: the homophone table of the published subjects' ``names``
    (:mod:`generator.homophones`), their characters counted in the names' cores (城 of 盐城 is not
    a likely brand)."""
    (out / "search").mkdir(parents=True, exist_ok=True)
    _dump(out / "search" / "homophones.json", homophone_table(_ADMIN.sub("", "".join(names))))


# -- a segment: its layout (from its universe) and its files (from what is published) ------------

UniverseRow = tuple  # (seq - the segment's first seq, kind name, record id, brief)


@dataclass
class SegmentLayout:
    """How a segment's files are cut, computed from its *universe*: every public row of an approved
    batch whose approval sequence falls in the segment, published today or not (superseded,
    withdrawn, expired, not yet in period).

    Approval order only appends and an approved batch never changes, so the universe of a segment
    never changes once later batches exist: refs, display buckets, the day table and the shards'
    token ranges stay put when a record is withdrawn, expires or comes back. Such a change then
    rewrites the shards holding its tokens, its display bucket and the segment's manifest, not the
    segment. What a segment *publishes* is another matter: shards and buckets hold published
    records only (a row not published is a ``null`` in its bucket), and the manifest's shard
    boundaries are computed from published tokens, so no file shows anything unpublished.

    Cached per universe under ``.cache/search`` by the site build (see :func:`load_layout`).
    """

    positions: Any  # numpy int32 array: seq - first seq → position (newest first), -1 for rows not in the universe
    letters: str  # kind letter per position
    rows: list[str]  # display row as JSON text per position
    days: Any  # numpy int32 array: decision day (YYYYMMDD) per position (the manifest lists published ones only)
    sizes: SearchSettings
    tokens: list[str]  # every universe token, sorted (code-point order, as the client compares)
    offsets: Any  # numpy int64 array, len(tokens) + 1: each token's postings in ``packed``
    # Numpy uint32 array: position << 4 | min(tf, 15), ascending position for each token
    packed: Any
    shard_starts: Any  # numpy int64 array: index in ``tokens`` where each shard starts
    # Numpy uint64 array, ascending: window value << 32 | position for each credit-code window
    # (:func:`code_windows`) of each row, the segment's code index before publication
    windows: Any

    @property
    def size(self) -> int:
        return len(self.letters)


def segment_layout(universe: list[UniverseRow], capacity: int, cfg: Any) -> SegmentLayout:
    """The layout of a segment of ``capacity`` approval sequence numbers from its universe rows.
    Consumes ``universe`` (it is emptied): in a worker, its unpickled rows are freed before the
    arrays are made."""
    # Why long: one pass from a segment's rows to its arrays; the tokens, postings and display rows
    # share the sort.
    import numpy as np

    date_of = {name: kind.date for name, kind in KINDS.items()}
    ordered = sorted(
        universe, key=lambda u: (-int(u[3][date_of[u[1]]].replace("-", "")), u[2], u[0])
    )
    universe.clear()
    positions = np.full(capacity, -1, dtype=np.int32)
    positions[np.fromiter((u[0] for u in ordered), dtype=np.int64, count=len(ordered))] = np.arange(
        len(ordered), dtype=np.int32
    )
    enc = encode_basestring  # what json.dumps(ensure_ascii=False) writes for a string
    letters, rows, days, windows = [], [], array("i"), array("Q")
    postings: dict[str, array] = {}
    for position, (_offset, kind_name, rid, brief) in enumerate(ordered):
        letters.append(KIND_LETTERS[kind_name])
        kind = KINDS[kind_name]
        date = brief[kind.date]
        rows.append(
            f"[{enc(rid)},{enc(str(brief.get(kind.subject, '')))},{enc(str(brief.get(kind.docno, '')))},"
            f"{enc(str(brief.get(kind.authority, '') or ''))},{enc(date)},"
            f"{enc(str(brief.get(kind.subject_code or '', '') or ''))},"
            f"{enc((entity_key(kind, brief) or ('',))[0])},{enc(kind.summary_line(brief))},"
            f"{enc(_searched_text(kind, brief))}]"
        )
        days.append(int(date.replace("-", "")))
        if kind.subject_code and (code := brief.get(kind.subject_code)):
            windows.extend(value << 32 | position for value in code_windows(str(code)))
        shifted = position << 4
        for token, tf in Counter(brief_tokens(kind_name, brief)).items():  # first-occurrence order
            bucket = postings.get(token)
            if bucket is None:
                bucket = postings[token] = array("I")
            bucket.append(shifted | (tf if tf < 15 else 15))
    count = len(ordered)
    del ordered  # a worker's copy of the rows: freed before the arrays are made
    tokens = sorted(postings)
    lengths = np.fromiter((len(postings[t]) for t in tokens), dtype=np.int64, count=len(tokens))
    offsets = np.zeros(len(tokens) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    packed = (
        np.concatenate([np.frombuffer(postings.pop(t), dtype=np.uint32) for t in tokens])
        if tokens
        else np.zeros(0, np.uint32)
    )
    sizes = search_settings(count, int(offsets[-1]), cfg)
    # Term-range shards over the universe's tokens, packed up to the posting budget (a capped
    # token counts its cap).
    starts = [0]
    load = 0
    for index, length in enumerate(np.minimum(lengths, sizes.token_cap).tolist()):
        if index > starts[-1] and load + length > sizes.shard_postings:
            starts.append(index)
            load = 0
        load += length
    return SegmentLayout(
        positions,
        "".join(letters),
        rows,
        np.array(days, dtype=np.int32),
        sizes,
        tokens,
        offsets,
        packed,
        np.array(starts, dtype=np.int64),
        np.sort(np.frombuffer(windows, dtype=np.uint64)),
    )


CACHE_DIR = ".cache/search"  # under the site root, beside the state's cache; safe to delete


def universe_key(sources: Sequence[tuple], start: int, end: int, salt: str) -> str:
    """The identity of a segment's universe: the approved batches (id, checked sha256, approval
    time) whose rows fall in sequence numbers ``start … end - 1``, and which of their rows;
    ``salt`` is what else the layout depends on (the build's fingerprint: code, settings).
    ``sources``: (first seq, end seq, batch id, sha256, approved at, kind) per approved records batch."""
    h = hashlib.blake2b(repr((salt, start, end)).encode("utf-8"), digest_size=12)
    for first, stop, *identity in sources:
        if first < end and stop > start:
            h.update(repr((*identity, max(first, start), min(stop, end))).encode("utf-8"))
    return h.hexdigest()


LAYOUT_PURPOSE = "search-layout/4"  # 4: the code index's windows
# What a layout is made by (this module and its imports), read when this module is imported
_CODE_DIGEST = cache.code_digest("search")
# The layout's arrays, each written as its raw bytes (8-byte items first: every part starts aligned).
_LAYOUT_ARRAYS = (
    ("offsets", "<i8"),
    ("shard_starts", "<i8"),
    ("windows", "<u8"),
    ("positions", "<i4"),
    ("days", "<i4"),
    ("packed", "<u4"),
)


def layout_entry(root: Path, universe: str) -> cache.Entry:
    """Where the layout of a universe (:func:`universe_key`) is cached under a site root, keyed by
    the universe (its batches, their digests and approval times, the build's fingerprint) and this code."""
    return cache.entry(root / CACHE_DIR, LAYOUT_PURPOSE, universe, _CODE_DIGEST)


def load_layout(found: cache.Entry) -> SegmentLayout | None:
    """A cached layout, or None when it is missing, not authentic or unreadable (the caller
    computes it again). Its arrays are read-only views of the file's bytes, not copies."""
    import numpy as np

    payload = cache.read(found)
    if payload is None:
        return None
    try:
        *parts, head = cache.split_parts(payload)
        letters, rows, sizes, tokens = cache.unpack(head)
        arrays = {
            name: np.frombuffer(part, dtype=dtype)
            for part, (name, dtype) in zip(parts, _LAYOUT_ARRAYS, strict=True)
        }
        layout = SegmentLayout(
            letters=letters, rows=rows, sizes=SearchSettings(*sizes), tokens=tokens, **arrays
        )
        if (
            type(letters) is not str
            or type(rows) is not list
            or type(tokens) is not list
            or not len(letters) == len(rows) == len(layout.days)
            or len(layout.offsets) != len(tokens) + 1
        ):
            return None
        return layout
    except Exception:  # noqa: BLE001 - authentic but not a layout (another version's): computed again
        return None


def save_layout(found: cache.Entry, layout: SegmentLayout) -> None:
    """Written as its arrays' bytes as they are (no copy of ~60 MB) and a MessagePack head."""
    import numpy as np

    parts = [
        np.ascontiguousarray(getattr(layout, name), dtype=dtype) for name, dtype in _LAYOUT_ARRAYS
    ]
    head = cache.pack(
        [layout.letters, list(layout.rows), astuple(layout.sizes), list(layout.tokens)]
    )
    cache.write(found, cache.join_parts([*parts, head]))


def _separator(before: str, first: str) -> str:
    """The shortest string ``s`` with ``before < s <= first``: a shard boundary shows no more of a
    token than it must."""
    common = 0
    while common < len(before) and common < len(first) and before[common] == first[common]:
        common += 1
    return first[: common + 1]


def _boundary(before: str, first: str) -> str:
    """:func:`_separator`, or the whole of ``first`` where the cut would read as a personal number
    (the 18-character start of a 20-digit 承诺编码 can pass the ID check)."""
    cut = _separator(before, first)
    return first if len(cut) >= 11 and pii.find(cut) else cut


def _day_table(layout: SegmentLayout, mask: Any) -> list[list[int]]:
    """[decision day, first published position of that day] for each day a published row has,
    newest first: the client finds a ref's day by binary search, and no unpublished row's day is shown."""
    import numpy as np

    published = np.flatnonzero(mask)
    days = layout.days[published]
    starts = np.flatnonzero(np.diff(days, prepend=-1) != 0)
    return [[int(days[i]), int(published[i])] for i in starts.tolist()]


def write_segment(
    folder: Path, layout: SegmentLayout, published: Any, previous: Any, cfg: Any
) -> list[str]:
    """Write a segment's files for the published rows (``published``: seq - first seq of each);
    return every file of the segment (relative to ``folder``).

    ``previous``: the rows published when the files now in ``folder``'s place were written with
    this layout (the live site, for an incremental build), or None. With it, only the shards
    holding a token of a row that came or went, those rows' display buckets and the manifest
    are written; every other file would come out the same."""
    # Why long: the shard loop of a segment (written in full, or only the shards whose rows came or
    # went) shares its arrays in locals.
    import numpy as np

    size = layout.size
    mask = np.zeros(size, dtype=bool)
    mask[layout.positions[np.asarray(published, dtype=np.int64)]] = True
    shard_count, bucket_size = len(layout.shard_starts), layout.sizes.bucket
    bucket_count = (size + bucket_size - 1) // bucket_size
    code_shards = _code_shard_count(layout)
    if previous is None:
        dirty_shards, dirty_buckets = range(shard_count), range(bucket_count)
        dirty_codes: Iterable[int] = range(code_shards)
    else:
        before = np.zeros(size, dtype=bool)
        before[layout.positions[np.asarray(previous, dtype=np.int64)]] = True
        flipped = np.flatnonzero(mask != before)
        hits = np.flatnonzero(np.isin(layout.packed >> 4, flipped))
        token_indexes = np.searchsorted(layout.offsets, hits, side="right") - 1
        dirty_shards = np.unique(
            np.searchsorted(layout.shard_starts, token_indexes, side="right") - 1
        ).tolist()
        dirty_buckets = np.unique(flipped // bucket_size).tolist()
        dirty_codes = _code_shards_of(layout, flipped, code_shards)

    # Published postings: the universe's, filtered by the mask, per token.
    keep = mask[layout.packed >> 4]
    kept = layout.packed[keep]
    kept_offsets = np.zeros(len(layout.tokens) + 1, dtype=np.int64)
    if len(layout.tokens):
        # No token is empty
        np.cumsum(np.add.reduceat(keep.astype(np.int64), layout.offsets[:-1]), out=kept_offsets[1:])
    counts = np.diff(kept_offsets)
    cap, tokens = layout.sizes.token_cap, layout.tokens
    (folder / "shards").mkdir(parents=True, exist_ok=True)
    (folder / "docs").mkdir(parents=True, exist_ok=True)
    starts = layout.shard_starts.tolist() + [len(tokens)]
    for number in dirty_shards:
        by_doc: dict[int, dict[str, int]] = defaultdict(dict)
        for index in range(starts[number], starts[number + 1]):
            token = tokens[index]
            for packed in kept[
                kept_offsets[index] : kept_offsets[index] + min(int(counts[index]), cap)
            ].tolist():
                by_doc[packed >> 4][token] = packed & 15
        letters = layout.letters
        _write_text(
            folder / "shards" / f"{number}.json",
            _lunr_index([(letters[p] + _b36(p), by_doc[p]) for p in sorted(by_doc)]),
        )
    for number in dirty_buckets:
        rows = layout.rows
        text = ",".join(
            rows[p] if mask[p] else "null"
            for p in range(number * bucket_size, min(size, (number + 1) * bucket_size))
        )
        _write_text(folder / "docs" / f"{number}.json", f"[{text}]")

    # Boundaries from published tokens only: the first of each shard's, shortened to what
    # separates it from the last of the shards before (a shard with none takes the next one's).
    present = np.flatnonzero(counts > 0)
    boundaries: list[str] = []
    last = ""
    for number in range(shard_count):
        lo = np.searchsorted(present, starts[number])
        hi = np.searchsorted(present, starts[number + 1])
        if lo == hi:
            boundaries.append(None)  # type: ignore[arg-type]
            continue
        first = tokens[present[lo]]
        boundaries.append("" if not number or not last else _boundary(last, first))
        last = tokens[present[hi - 1]]
    following = "\uffff"
    for number in range(shard_count - 1, -1, -1):
        if boundaries[number] is None:
            boundaries[number] = following
        following = boundaries[number]
    _write_code_shards(folder, layout, mask, dirty_codes, code_shards)
    capped = {tokens[i]: int(counts[i]) for i in np.flatnonzero(counts > cap).tolist()}
    manifest = {
        "count": int(mask.sum()),
        "bucket": bucket_size,
        "cap": cap,
        "days": _day_table(layout, mask),
        "capped": dict(sorted(capped.items())),
        "shards": boundaries,
        "codes": code_shards,
    }
    _dump(folder / "manifest.json", manifest)
    files = [
        "manifest.json",
        *(f"shards/{n}.json" for n in range(shard_count)),
        *(f"docs/{n}.json" for n in range(bucket_count)),
        *(f"codes/{n}.json" for n in range(code_shards)),
    ]
    return [name for file in files for name in (file, f"{file}.gz")]


# -- the code index: credit-code windows → refs -------------------------------------------------
#
# A window is looked up by value: file ``codes/<value % count>.json`` of each segment holds
# {"w": {window: [ref, …]}, "capped": {window: published rows}} for its published rows, refs newest
# first, at most the token cap a window. A window is not a lunr term: it names one subject (two
# at most), so a posting of ~10 bytes does what a lunr term and field vector did in ~50, and no
# score is needed (the rows are checked and ordered by date).


def _code_shard_count(layout: SegmentLayout) -> int:
    """Code-index files of a segment: from the universe's windows, so a withdrawal never moves one."""
    return -(-len(layout.windows) // layout.sizes.code_shard_windows)


def _code_shards_of(layout: SegmentLayout, flipped: Any, count: int) -> list[int]:
    """The code-index files holding a window of a row that came or went."""
    import numpy as np

    if not count:
        return []
    rows = np.isin(layout.windows & 0xFFFFFFFF, flipped)
    return np.unique((layout.windows[rows] >> 32) % count).astype(np.int64).tolist()


def _write_code_shards(
    folder: Path, layout: SegmentLayout, mask: Any, numbers: Iterable[int], count: int
) -> None:
    import numpy as np

    numbers = list(numbers)
    if not numbers:
        return
    (folder / "codes").mkdir(parents=True, exist_ok=True)
    windows = layout.windows[mask[(layout.windows & 0xFFFFFFFF).astype(np.int64)]]
    values, positions = (windows >> 32).astype(np.int64), (windows & 0xFFFFFFFF).astype(np.int64)
    shard_of = values % count
    order = np.argsort(shard_of, kind="stable")  # within a file: by window, then newest first
    bounds = np.searchsorted(shard_of[order], np.arange(count + 1))
    cap, letters, enc = layout.sizes.token_cap, layout.letters, encode_basestring
    for number in numbers:
        picked = order[bounds[number] : bounds[number + 1]]
        entries, capped = [], []
        shard_values, shard_positions = values[picked].tolist(), positions[picked].tolist()
        start = 0
        while start < len(shard_values):
            end = start
            while end < len(shard_values) and shard_values[end] == shard_values[start]:
                end += 1
            window = enc(window_text(shard_values[start]))
            refs = ",".join(
                f'"{letters[p]}{_b36(p)}"' for p in shard_positions[start : min(end, start + cap)]
            )
            entries.append(f"{window}:[{refs}]")
            if end - start > cap:
                capped.append(f"{window}:{end - start}")
            start = end
        _write_text(
            folder / "codes" / f"{number}.json",
            f'{{"capped":{{{",".join(capped)}}},"w":{{{",".join(entries)}}}}}',
        )


def code_refs(folder: Path, window: str) -> tuple[list[str], int]:
    """The refs a segment's code index lists for a window (six characters, folded) and how many
    published rows have it (the same lookup as search-engine.js)."""
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    if not manifest.get("codes") or not _WINDOW.fullmatch(window):
        return [], 0
    number = int(window, 36) % manifest["codes"]
    shard = json.loads((folder / "codes" / f"{number}.json").read_text(encoding="utf-8"))
    refs = shard["w"].get(window, [])
    return refs, shard["capped"].get(window, len(refs))


def shard_for(first_tokens: list[str], token: str) -> int:
    """Index of the shard whose token range holds ``token`` (the same lookup as search-engine.js)."""
    return max(0, bisect.bisect_right(first_tokens, token) - 1)


def term_shards(boundaries: list[str], token: str, prefix: bool, limit: int) -> list[int]:
    """The shards a query term reads (as search-engine.js chooses them): its token's shard, or for a
    prefix the shards its range spans, at most ``limit``. An empty shard (every row of its range
    unpublished) has the next shard's boundary and is skipped: it must not use up the limit."""
    lo = shard_for(boundaries, token)
    hi = shard_for(boundaries, token + "\uffff") if prefix else lo
    return [n for n in range(lo, hi + 1) if n == hi or boundaries[n] != boundaries[n + 1]][:limit]


def day_of(days: list[list[int]], seq: int) -> int:
    """The decision day (YYYYMMDD) of a segment's ref ``seq`` (the same lookup as search-engine.js)."""
    return days[max(0, bisect.bisect_right([start for _day, start in days], seq) - 1)][0]


def search_records(folder: Path, query: str) -> list[str]:
    """A Python reference of the client's matching (used by tests): record ids matching every term,
    by score, then newest first, then segment and position."""
    from lunr.index import Index
    from lunr.query import Query

    top = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    terms = query_terms(query)
    found: dict[tuple[int, int], float] = {}
    manifests = {}
    for number, (name, _count) in enumerate(top["segments"]):
        manifest = manifests[number] = json.loads(
            (folder / name / "manifest.json").read_text(encoding="utf-8")
        )
        usable = [t for t in terms if t["token"] not in manifest["capped"]] or terms
        result: dict[str, float] | None = None
        for term in usable:
            token = term["token"]
            scores: dict[str, float] = defaultdict(float)
            for shard in term_shards(
                manifest["shards"], token, term["prefix"], top["prefixMaxShards"]
            ):
                index = Index.load(
                    json.loads(
                        (folder / name / "shards" / f"{shard}.json").read_text(encoding="utf-8")
                    )
                )
                for match in index.query(
                    index.create_query().term(
                        token,
                        use_pipeline=False,
                        wildcard=Query.WILDCARD_TRAILING if term["prefix"] else Query.WILDCARD_NONE,
                    )
                ):
                    scores[match["ref"]] += match["score"]
            result = (
                dict(scores)
                if result is None
                else {r: v + scores[r] for r, v in result.items() if r in scores}
            )
        found.update({(number, int(ref[1:], 36)): score for ref, score in (result or {}).items()})
    ids = []
    for number, seq in sorted(
        found, key=lambda k: (-found[k], -day_of(manifests[k[0]]["days"], k[1]), k[0], k[1])
    ):
        name, manifest = top["segments"][number][0], manifests[number]
        bucket = json.loads(
            (folder / name / "docs" / f"{seq // manifest['bucket']}.json").read_text(
                encoding="utf-8"
            )
        )
        row = bucket[seq % manifest["bucket"]]
        if row is not None:  # as the client: a ref whose row is not published is never shown
            ids.append(row[0])
    return ids
