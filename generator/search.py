"""Client-side Chinese search: one tokenizer spec (here and in ``theme/static/js/tokenizer.js``),
term-range-partitioned lunr indexes built with lunr.py, and small display-field buckets.

Layout under ``search/`` (see docs/search.md for the design and its numbers):

- ``manifest.json``: the segments, the years, kinds and page size.
- ``s<k>/``: one *segment*: the published records whose approved version is among approved rows
  ``k*SEARCH_SEGMENT_RECORDS …`` in approval order. A new batch lands in the newest segment and a
  withdrawal changes the segment of its record, so an incremental build rewrites one or two
  segments, not the index. Each segment holds:

  - ``manifest.json``: first token of each shard, capped tokens, day boundaries, sizes;
  - ``shards/<n>.json``: a lunr 2.3.9 index holding the postings of a contiguous range of tokens;
  - ``docs/<b>.json``: display fields of the segment's records ``b*BUCKET … b*BUCKET+BUCKET-1`` (refs
    are sequence numbers in newest-first order within the segment, so a ref's date is a lookup).

- ``authorities.json``: a small lunr index of authority names, with their list pages.

A query downloads the manifests, the shard of each query token in each segment and the buckets of
the results it shows: never the whole index.
"""

from __future__ import annotations

import bisect
import json
from json.encoder import encode_basestring
import math
from array import array
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lunr.builder import Builder
from lunr.pipeline import Pipeline

from .publication import PublishedRecord
from .schema import KINDS
from .writers import write_new_file

TOKENIZER_VERSION = 1
FOLD_NAME = "xyycFold"
KIND_LETTERS = {"penalty": "p", "license": "l", "judgment": "j", "pledge": "c", "dishonesty": "d", "commendation": "r"}
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


def query_terms(text: str) -> list[dict[str, Any]]:
    """Query-time terms: the same tokens, plus which are prefixes (a lone Han character; an ASCII
    run of 8–17 characters, e.g. the start of a credit code). Duplicates removed, order kept."""
    terms: list[dict[str, Any]] = []
    seen: set[str] = set()
    for run in runs(text):
        han = bool(_HAN.match(run))
        pieces = [run[i : i + 2] for i in range(len(run) - 1)] if han and len(run) > 1 else [run]
        for token in pieces:
            if token in seen:
                continue
            seen.add(token)
            prefix = (han and len(run) == 1) or (not han and 8 <= len(run) < 18)
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


def search_settings(total: int, postings: int, cfg: Any) -> SearchSettings:
    """Sizes scale with the site. A one-term query reads the manifest (~8 bytes a shard) and one
    shard (~50 bytes a posting); with P postings and s postings a shard that is 8P/s + 50s bytes,
    least at s = √(0.16 P): ~60 KiB at 100k records, ~180 KiB at 1M."""
    shard = cfg.SEARCH_SHARD_POSTINGS or int(max(150, min(4_000, math.sqrt(0.16 * postings))))
    return SearchSettings(shard, cfg.SEARCH_TOKEN_CAP or max(1_000, total // 500), cfg.SEARCH_BUCKET_SIZE)


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


def record_tokens(record: PublishedRecord) -> list[str]:
    """Tokens of the subject name, the document number and the credit code. A document number also
    gives the tokens of its bracket-free form once (``盐市监罚20261234号`` finds ``盐市监罚〔2026〕1234号``)."""
    kind = KINDS[record.kind]
    docno = str(record.brief.get(kind.docno, ""))
    doc_tokens = tokenize(docno)
    joined = [t for t in dict.fromkeys(tokenize(_BRACKETS.sub("", docno))) if t not in set(doc_tokens)]
    tokens = tokenize(str(record.brief.get(kind.subject, ""))) + doc_tokens + joined
    code = record.brief.get(kind.subject_code or "")
    if code and code != "00000000000000000X":
        tokens.append(fold(str(code)))
    return tokens


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
    idf = {t: math.log(1 + abs((count - len(p) + 0.5) / (len(p) + 0.5))) for t, p in postings.items()}
    denominator = K1 * (1 - 0 + 0 * 1.0)  # b = 0
    enc = encode_basestring
    vectors = []
    for ref, tf in docs:
        pairs = sorted((term_index[t], round(idf[t] * ((K1 + 1) * n) / (denominator + n), 3)) for t, n in tf.items())
        vectors.append(f'[{enc("t/" + ref)},[{",".join(f"{i},{score!r}" for i, score in pairs)}]]')
    inverted = [f'[{enc(t)},{{"t":{{{",".join(enc(r) + ":{}" for r in postings[t])}}},"_index":{term_index[t]}}}]'
                for t in sorted(postings)]
    return (f'{{"version":"2.3.9","fields":["t"],"fieldVectors":[{",".join(vectors)}],'
            f'"invertedIndex":[{",".join(inverted)}],"pipeline":[{enc(FOLD_NAME)}]}}')


def _tf(tokens: list[str]) -> dict[str, int]:
    """Term frequencies, in first-occurrence order."""
    counts: dict[str, int] = {}
    for token in tokens:
        counts[token] = counts.get(token, 0) + 1
    return counts


def _write_text(path: Path, text: str) -> None:
    write_new_file(path, text.encode("utf-8"))


def _dump(path: Path, obj: Any) -> None:
    _write_text(path, json.dumps(obj, ensure_ascii=False, separators=(",", ":"), sort_keys=False))


def segments(records: list[PublishedRecord], cfg: Any) -> list[tuple[str, list[PublishedRecord]]]:
    """(folder name, records) per non-empty segment, in segment order; input order kept inside.

    A pure function of the records' approval sequence, so a clean build and an incremental one cut
    the same segments."""
    size = max(1, cfg.SEARCH_SEGMENT_RECORDS)
    grouped: dict[int, list[PublishedRecord]] = defaultdict(list)
    for record in records:
        grouped[record.seq // size].append(record)
    return [(f"s{number}", grouped[number]) for number in sorted(grouped)]


def build_search(out: Path, records: list[PublishedRecord], authorities: list[dict[str, Any]], cfg: Any) -> dict[str, Any]:
    """Write every search file under ``out/search``; return the top manifest.

    The site build does the same in two steps (segments in its worker processes, and
    :func:`write_search_top`), so that an incremental build writes only changed segments."""
    listed = []
    for name, members in segments(records, cfg):
        listed.append((name, members))
        write_segment(out / "search" / name, members, cfg)
    return write_search_top(out, listed, authorities, cfg)


def write_search_top(out: Path, listed: list[tuple[str, list[PublishedRecord]]], authorities: list[dict[str, Any]],
                     cfg: Any) -> dict[str, Any]:
    """The top manifest (segments, years, kinds) and the authorities' index; return the manifest."""
    folder = out / "search"
    folder.mkdir(parents=True, exist_ok=True)
    years = {int(r.date[:4]) for _name, members in listed for r in members}
    # Authorities: a small index of names → their list pages.
    auth_docs = [(str(i), _tf(tokenize(a["name"]))) for i, a in enumerate(authorities)]
    listing = json.dumps([[a["name"], a["kind"], a["count"], a["url"]] for a in authorities], ensure_ascii=False, separators=(",", ":"))
    _write_text(folder / "authorities.json", f'{{"index":{_lunr_index(auth_docs)},"list":{listing}}}')
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


def write_segment(folder: Path, records: list[PublishedRecord], cfg: Any) -> dict[str, Any]:
    """One segment's shards, display buckets and manifest; return the manifest."""
    (folder / "shards").mkdir(parents=True, exist_ok=True)
    (folder / "docs").mkdir(parents=True, exist_ok=True)
    ordered = sorted(records, key=lambda r: (-int(r.date.replace("-", "")), r.id))

    # Postings: token → array of seq·16 + tf, in seq order (newest first). Arrays, not tuples:
    # 20 million postings at 10^6 records take 160 MB instead of 1.5 GB.
    postings: dict[str, array] = {}
    refs: list[str] = []
    days: list[list[int]] = []
    for seq, record in enumerate(ordered):
        refs.append(ref_of(seq, record.kind))
        day = int(record.date.replace("-", ""))
        if not days or days[-1][0] != day:
            days.append([day, seq])
        counts: dict[str, int] = defaultdict(int)
        for token in record_tokens(record):
            counts[token] += 1
        for token, tf in counts.items():
            bucket = postings.get(token)
            if bucket is None:
                bucket = postings[token] = array("q")
            bucket.append(seq * 16 + min(tf, 15))

    sizes = search_settings(len(ordered), sum(len(p) for p in postings.values()), cfg)
    capped = {token: len(p) for token, p in postings.items() if len(p) > sizes.token_cap}
    for token in capped:
        postings[token] = postings[token][: sizes.token_cap]

    # Term-range shards: tokens in code-point order, packed up to the posting budget.
    shards: list[list[str]] = [[]]
    load = 0
    for token in sorted(postings):
        if shards[-1] and load + len(postings[token]) > sizes.shard_postings:
            shards.append([])
            load = 0
        shards[-1].append(token)
        load += len(postings[token])
    first_tokens = []
    for number, tokens in enumerate(shards):
        by_doc: dict[int, dict[str, int]] = defaultdict(dict)
        for token in tokens:
            for packed in postings[token]:
                by_doc[packed >> 4][token] = packed & 15
        _write_text(folder / "shards" / f"{number}.json", _lunr_index([(refs[seq], by_doc[seq]) for seq in sorted(by_doc)]))
        first_tokens.append(tokens[0] if tokens else "")

    # Display buckets.
    for start in range(0, len(ordered), sizes.bucket):
        rows = []
        for record in ordered[start : start + sizes.bucket]:
            kind = KINDS[record.kind]
            brief = record.brief
            rows.append([record.id, str(brief.get(kind.subject, "")), str(brief.get(kind.docno, "")),
                         str(brief.get(kind.authority, "") or ""), record.date, str(brief.get(kind.subject_code or "", "") or "")])
        _dump(folder / "docs" / f"{start // sizes.bucket}.json", rows)

    manifest = {
        "count": len(ordered),
        "bucket": sizes.bucket,
        "cap": sizes.token_cap,
        "days": days,
        "capped": dict(sorted(capped.items())),
        "shards": first_tokens,
    }
    _dump(folder / "manifest.json", manifest)
    return manifest


def shard_for(first_tokens: list[str], token: str) -> int:
    """Index of the shard whose token range holds ``token`` (the same lookup as search.js)."""
    return max(0, bisect.bisect_right(first_tokens, token) - 1)


def day_of(days: list[list[int]], seq: int) -> int:
    """The decision day (YYYYMMDD) of a segment's ref ``seq`` (the same lookup as search.js)."""
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
        manifest = manifests[number] = json.loads((folder / name / "manifest.json").read_text(encoding="utf-8"))
        usable = [t for t in terms if t["token"] not in manifest["capped"]] or terms
        result: dict[str, float] | None = None
        for term in usable:
            token = term["token"]
            lo = shard_for(manifest["shards"], token)
            hi = shard_for(manifest["shards"], token + "\uffff") if term["prefix"] else lo
            scores: dict[str, float] = defaultdict(float)
            for shard in range(lo, hi + 1):
                index = Index.load(json.loads((folder / name / "shards" / f"{shard}.json").read_text(encoding="utf-8")))
                for match in index.query(index.create_query().term(token, use_pipeline=False,
                                                                    wildcard=Query.WILDCARD_TRAILING if term["prefix"] else Query.WILDCARD_NONE)):
                    scores[match["ref"]] += match["score"]
            result = dict(scores) if result is None else {r: v + scores[r] for r, v in result.items() if r in scores}
        found.update({(number, int(ref[1:], 36)): score for ref, score in (result or {}).items()})
    ids = []
    for number, seq in sorted(found, key=lambda k: (-found[k], -day_of(manifests[k[0]]["days"], k[1]), k[0], k[1])):
        name, manifest = top["segments"][number][0], manifests[number]
        bucket = json.loads((folder / name / "docs" / f"{seq // manifest['bucket']}.json").read_text(encoding="utf-8"))
        ids.append(bucket[seq % manifest["bucket"]][0])
    return ids
