"""Machine-readable outputs: downloads (CSV/JSON), Atom feeds, sitemap, robots.txt.

Written by streaming, sorted by unique keys, with no build-time timestamps: the feed's
``<updated>`` is the newest approval time among its entries. The measurements behind the choices
below are in docs/scaling.md, "Measurements behind the code".
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from array import array
from collections import deque
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from math import isfinite
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import blake3
import orjson

from . import cache
from .incremental import KEY_SIZE
from .ledger import HEAD_FILE, Head
from .markup import neutralise_cell
from .publication import PublishedRecord, make_record
from .schema import Kind
from .sitemodel import record_url
from .writers import write_new_file

EXTRA_COLUMNS = ("记录编号", "公示截止日期", "公示依据", "页面地址")


def download_columns(kind: Kind) -> list[str]:
    return [f.name for f in kind.public_fields] + list(EXTRA_COLUMNS)


def _row(kind: Kind, record: PublishedRecord, base: str) -> dict[str, Any]:
    fields = record.fields
    row = {f.name: fields.get(f.name, "") for f in kind.public_fields}
    row.update(
        {
            "记录编号": record.id,
            "公示截止日期": record.ends or "",
            "公示依据": record.basis,
            "页面地址": f"{base}/{record_url(kind.name, record.id)}",
        }
    )
    return row


_FORMULA_START = frozenset("=+-@\t\r")  # the first characters neutralise_cell guards against
_SORT_KEYS = orjson.OPT_SORT_KEYS


def _json_row(row: dict[str, Any]) -> bytes:
    """A row as a compact JSON object, keys sorted: orjson (several times faster than
    ``json``'s encoder, 10^6 rows a clean build). ``json`` writes a row orjson refuses (integers
    past 64 bits) or would write otherwise (NaN and infinities, which orjson makes ``null``)."""
    if not any(type(value) is float and not isfinite(value) for value in row.values()):
        try:
            return orjson.dumps(row, option=_SORT_KEYS)
        except TypeError:
            pass
    return json.dumps(row, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode(
        "utf-8"
    )


def _format_row(kind: Kind, record: PublishedRecord, base: str) -> tuple[list[str], bytes]:
    """A record's CSV cells (formula cells neutralised) and JSON object. The same as
    ``neutralise_cell`` on each cell of :func:`_row` and its JSON (:func:`_json_row`), with one Python call
    a row instead of one a cell: a full build formats every row of 10^6 records."""
    row = _row(kind, record, base)
    cells = [
        v if type(v) is str and v[:1] not in _FORMULA_START else neutralise_cell(v)
        for v in row.values()
    ]
    return cells, _json_row(row)


@cache.record_type  # kept in the build manifest
@dataclass
class RowIndex:
    """Where each record's rows sit in a kind's two download files, so that the next build copies
    the bytes of records whose key did not change instead of reading and formatting them again
    (formatting is what costs: one withdrawal would otherwise format every row of its kind)."""

    keys: bytes  # the records' input keys, KEY_SIZE bytes each, in file order
    csv: array  # byte offset of each record's CSV line, then the end of the file
    json_start: array  # byte span of each record's JSON object (separators excluded)
    json_end: array
    digests: tuple[str, str]  # sha256 of the CSV and JSON files the spans refer to
    # BLAKE3 of the CSV and JSON files as written: the live files are used only if theirs is the same.
    blake3: tuple[str, ...] = ()


def _blake3(path: Path) -> str:
    """A file's BLAKE3, on this thread: a multi-threaded hash starts a thread pool that a forked page
    worker inherits without its threads, and would wait for forever."""
    hasher = blake3.blake3()
    with path.open("rb") as fh:
        while chunk := fh.read(8 << 20):
            hasher.update(chunk)
    return hasher.hexdigest()


class DownloadRecords(Sequence):
    """A kind's records as its downloads need them, from the rows a page worker is sent: (id,
    ends, basis, batch file, offset, key). A record is made only for a row that is formatted:
    after a withdrawal at 10^6 all but one of 280,000 penalties' rows are copied from the live
    files, and making their records was on the build's longest path."""

    def __init__(self, kind_name: str, rows: list[tuple]):
        self.kind_name, self.rows = kind_name, rows

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> PublishedRecord:  # type: ignore[override]
        rid, ends, basis, path, offset, key = self.rows[index]
        return make_record(
            self.kind_name, rid, "", "", "", ends, basis, _NO_BRIEF, path, offset, 0, (), key, None
        )

    def keys(self) -> list[bytes]:
        return [row[5] for row in self.rows]


_NO_BRIEF: dict[str, Any] = {}  # never read: a download row is made from the record's fields


def write_downloads(
    out: Path,
    kind: Kind,
    records: Sequence[PublishedRecord],
    base: str,
    previous: tuple[Path, RowIndex] | None = None,
) -> tuple[list[dict[str, Any]], RowIndex, int]:
    """``downloads/<kind>.csv`` (UTF-8 with BOM, formula cells neutralised) and ``.json``; return
    their catalog entries, their :class:`RowIndex` and how many records' rows were copied.

    ``previous``: the folder holding the last build's files and their index. A record whose key
    (``record.key``) is there gets its rows copied from those files; the bytes are the same as
    formatting it again, and the files are used only if their sha256 is the one indexed."""
    # Why long: the CSV and JSON rows of up to 10^6 records are written in one loop with its state
    # in locals (docs/scaling.md).
    folder = out / "downloads"
    folder.mkdir(parents=True, exist_ok=True)
    columns = download_columns(kind)
    csv_path, json_path = folder / f"{kind.name}.csv", folder / f"{kind.name}.json"
    line = _Line()
    writer = csv.writer(line, lineterminator="\r\n")
    writer.writerow(columns)
    json_head = (
        f'{{"kind":{json.dumps(kind.name)},"label":{json.dumps(kind.label, ensure_ascii=False)},'
        f'"count":{len(records):d},"columns":{json.dumps(columns, ensure_ascii=False)},"records":['
    )
    keys = (
        records.keys()
        if isinstance(records, DownloadRecords)
        else [record.key for record in records]
    )
    copied = 0

    def formatted(record: PublishedRecord) -> tuple[bytes, bytes]:
        cells, json_bytes = _format_row(kind, record, base)
        writer.writerow(cells)
        return line.text.encode("utf-8"), json_bytes

    with (
        _LiveRows(previous, kind.name) as live,
        csv_path.open("wb") as csv_fh,
        json_path.open("wb") as json_fh,
    ):
        rows = _Rows(
            _Sink(csv_fh, ("\ufeff" + line.text).encode("utf-8")),
            _Sink(json_fh, json_head.encode("utf-8")),
        )
        try:
            # Records whose rows follow each other in the live files (all but the changed ones, as
            # a kind's order rarely changes) are copied a block at a time: one withdrawal among
            # 355,000 penalties copies two runs instead of 355,000 rows. ``run``: their indexes.
            run: list[int]
            spans_get, run, first = live.spans.get, [], 0

            def flush() -> int:
                done = live.copy(first, len(run), rows)
                for index in run[done:]:  # the live files were cut short: formatted instead
                    rows.add(*formatted(records[index]))
                return done

            for index, key in enumerate(keys):
                found = spans_get(key) if key else None
                if run and found == first + len(run):
                    run.append(index)
                    continue
                if run:
                    copied += flush()
                    if found is not None:
                        found = spans_get(key)  # none if the copy found the files cut short
                if found is None:
                    run = []
                    rows.add(*formatted(records[index]))
                else:
                    first, run = found, [index]
            if run:
                copied += flush()
            rows.csv_offsets.append(rows.csv.size)
            rows.json.write(b"\n]}\n")
        except BaseException:
            rows.csv.abandon()
            rows.json.abandon()
            raise
        digests = (rows.csv.hexdigest(), rows.json.hexdigest())  # the hashing threads, joined
    catalog = [
        _file_info(csv_path, out, kind, len(records), "CSV", digests[0]),
        _file_info(json_path, out, kind, len(records), "JSON", digests[1]),
    ]
    # Records built without keys: no index
    indexed = b"".join(keys) if all(len(k) == KEY_SIZE for k in keys) else b""
    return (
        catalog,
        RowIndex(
            indexed,
            rows.csv_offsets,
            rows.json_start,
            rows.json_end,
            digests,
            (_blake3(csv_path), _blake3(json_path)),
        ),
        copied,
    )


COPY_ROWS = 8192  # live rows read and written at a time (~7 MB of penalties' CSV)


class _Rows:
    """The two download files being written, and where each record's rows are in them."""

    def __init__(self, csv_sink: _Sink, json_sink: _Sink):
        self.csv, self.json, self.count = csv_sink, json_sink, 0
        self.csv_offsets, self.json_start, self.json_end = array("q"), array("q"), array("q")

    def add(self, csv_bytes: bytes, json_bytes: bytes) -> None:
        """One record's CSV line and JSON object."""
        self.csv_offsets.append(self.csv.size)
        self.csv.write(csv_bytes)
        self.json.write(b",\n" if self.count else b"\n")
        self.json_start.append(self.json.size)
        self.json.write(json_bytes)
        self.json_end.append(self.json.size)
        self.count += 1

    def add_block(
        self, csv_bytes: bytes, csv_at: array, json_bytes: bytes, json_start: array, json_end: array
    ) -> None:
        """Consecutive records' rows as another file holds them (their JSON objects with the
        separators between them), with their offsets in that file."""
        shift = self.csv.size - csv_at[0]
        self.csv_offsets.extend(at + shift for at in csv_at)
        self.csv.write(csv_bytes)
        self.json.write(b",\n" if self.count else b"\n")
        shift = self.json.size - json_start[0]
        self.json_start.extend(at + shift for at in json_start)
        self.json_end.extend(at + shift for at in json_end)
        self.json.write(json_bytes)
        self.count += len(csv_at)


class _Sink:
    """A file being written, with its size so far and its sha256 (the catalog's, without reading
    the file back). The sha256 is computed on a thread of its own, a megabyte or a copied block
    at a time (hashlib lets go of the GIL): hashing the penalties' 644 MB of downloads is slow
    without SHA instructions in the CPU, and was on the longest path of a withdrawal build at
    10^6 records."""

    def __init__(self, handle: Any, head: bytes):
        self.handle, self.size, self.hash = handle, 0, hashlib.sha256()
        self._hasher = ThreadPoolExecutor(max_workers=1)  # one thread: the updates stay in order
        self._queued: deque[Future] = deque()
        self._pending: list[bytes] = []
        self._pending_size = 0
        self.write(head)

    def write(self, data: bytes) -> None:
        self.handle.write(data)
        self.size += len(data)
        self._pending.append(data)
        self._pending_size += len(data)
        if self._pending_size >= HASH_BATCH_BYTES:
            self._hash_pending()

    def _hash_pending(self) -> None:
        data = self._pending[0] if len(self._pending) == 1 else b"".join(self._pending)
        self._pending, self._pending_size = [], 0
        # The file is written faster than hashed: wait, not hold it all
        if len(self._queued) >= HASH_QUEUE:
            self._queued.popleft().result()
        self._queued.append(self._hasher.submit(self.hash.update, data))

    def hexdigest(self) -> str:
        """The sha256 of everything written (waits for the hashing thread, then stops it)."""
        if self._pending:
            self._hash_pending()
        self._hasher.shutdown(wait=True)
        return self.hash.hexdigest()

    def abandon(self) -> None:
        """Stop the hashing thread of a file that will not be finished (its build failed)."""
        self._hasher.shutdown(wait=True, cancel_futures=True)


HASH_BATCH_BYTES = 1 << 20  # bytes written between two updates of a file's sha256
HASH_QUEUE = 4  # updates waiting for the hashing thread at most (a copied block is ~7 MB)


class _LiveRows:
    """The last build's rows of one kind, by record key (see :class:`RowIndex`); none when there is
    no index or the live files are not the ones it describes.

    The live files are the indexed ones when their BLAKE3 is the one written (else their sha256,
    for a manifest from before the BLAKE3 digests). Their size, mtime and inode are not enough: a
    file rewritten in place with its mtime put back (``touch -r``) would pass, and its rows would be
    copied into the next build's downloads, and into verify's shadow copy, unseen. BLAKE3 reads
    the 644 MB of penalties' downloads at 10^6 records many times faster than sha256."""

    def __init__(self, previous: tuple[Path, RowIndex] | None, kind_name: str):
        self.spans: dict[bytes, int] = {}
        self.files: list[Any] = []
        if previous is None:
            return
        folder, self.index = previous
        try:
            for ext in ("csv", "json"):
                self.files.append((folder / "downloads" / f"{kind_name}.{ext}").open("rb"))
        except OSError:
            return  # no live files: every row is formatted (closed on exit)
        index = self.index
        if index.blake3:
            same = (
                # blake3's update() returns the hasher, where typeshed's protocol wants None
                tuple(hashlib.file_digest(f, blake3.blake3).hexdigest() for f in self.files)  # type: ignore[arg-type]
                == index.blake3
            )
        else:
            same = (
                tuple(hashlib.file_digest(f, "sha256").hexdigest() for f in self.files)
                == index.digests
            )
        if same and len(index.keys) == KEY_SIZE * len(index.json_start):
            self.spans = {
                index.keys[i * KEY_SIZE : (i + 1) * KEY_SIZE]: i
                for i in range(len(index.json_start))
            }

    def copy(self, first: int, count: int, rows: _Rows) -> int:
        """Append the rows of the live files' records ``first`` to ``first + count`` to ``rows``,
        :data:`COPY_ROWS` at a time; return how many were. Fewer than ``count`` only for files cut
        short since they were checked, and then none is copied again."""
        index, (csv_fd, json_fd), done = self.index, (f.fileno() for f in self.files), 0
        while done < count:
            lo = first + done
            hi = min(first + count, lo + COPY_ROWS)
            csv_span, json_span = (
                (index.csv[lo], index.csv[hi]),
                (index.json_start[lo], index.json_end[hi - 1]),
            )
            csv_bytes = os.pread(csv_fd, csv_span[1] - csv_span[0], csv_span[0])
            json_bytes = os.pread(json_fd, json_span[1] - json_span[0], json_span[0])
            if (
                len(csv_bytes) != csv_span[1] - csv_span[0]
                or len(json_bytes) != json_span[1] - json_span[0]
            ):
                self.spans.clear()
                break
            rows.add_block(
                csv_bytes,
                index.csv[lo:hi],
                json_bytes,
                index.json_start[lo:hi],
                index.json_end[lo:hi],
            )
            done = hi - first
        return done

    def close(self) -> None:
        for handle in self.files:
            handle.close()

    def __enter__(self) -> _LiveRows:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class _Line:
    """A file for ``csv.writer`` that keeps the last line it was given (one ``write`` a row)."""

    text = ""

    def write(self, text: str) -> None:
        self.text = text


def write_table_csv(path: Path, columns: list[str], rows: Iterable[list[Any]]) -> None:
    """A small CSV (UTF-8 with BOM for Excel), formula cells neutralised, None as empty."""
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([neutralise_cell("" if v is None else v) for v in row])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(("\ufeff" + buffer.getvalue()).encode("utf-8"))


def _file_info(
    path: Path, out: Path, kind: Kind, count: int, fmt: str, digest: str
) -> dict[str, Any]:
    return {
        "kind": kind.name,
        "label": kind.label,
        "format": fmt,
        "path": path.relative_to(out).as_posix(),
        "count": count,
        "size": path.stat().st_size,
        "sha256": digest,
    }


def write_feed(
    path: Path, title: str, feed_url: str, site_url: str, entries: list[dict[str, Any]]
) -> None:
    """An Atom 1.0 feed; ``entries`` carry id, url, title, summary, published (ISO datetime)."""
    updated = max((e["published"] for e in entries), default="2000-01-01T00:00:00+08:00")
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="zh-CN">\n',
        f"<title>{escape(title)}</title>\n<id>{escape(feed_url)}</id>\n",
        f'<link rel="self" href={quoteattr(feed_url)}/>\n<link href={quoteattr(site_url + "/")}/>\n',
        f"<updated>{updated}</updated>\n",
    ]
    for e in entries:
        parts.append(
            f"<entry><title>{escape(e['title'])}</title><id>{escape(e['url'])}</id>"
            f"<link href={quoteattr(e['url'])}/><published>{e['published']}</published><updated>"
            f"{e['published']}</updated>"
            f"<summary>{escape(e['summary'])}</summary></entry>\n"
        )
    parts.append("</feed>\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(parts), encoding="utf-8", newline="\n")


def _urlset(base: str, items: Iterable[tuple[str, str | None]]) -> bytes:
    prefix = escape(base + "/")  # escaping is per character, so the prefix is escaped once
    # Record and archive paths are hex ids: escape only a path that needs it (10^6 calls).
    body = "".join(
        [
            f"<url><loc>{prefix}{escape(u) if '&' in u or '<' in u or '>' in u else u}</loc>"
            f"<lastmod>{m}</lastmod></url>\n"
            if m
            else f"<url><loc>{prefix}{escape(u) if '&' in u or '<' in u or '>' in u else u}</loc></url>\n"
            for u, m in items
        ]
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n{body}'
        "</urlset>\n"
    ).encode()


def sitemap_part_files(name: str, count: int, max_urls: int) -> tuple[str, ...]:
    """The files of a sitemap part of ``count`` URLs: ``sitemaps/<name>.xml``, or
    ``sitemaps/<name>-1.xml``, ``-2`` … when it holds more than ``max_urls``."""
    if count <= max_urls:
        return (f"sitemaps/{name}.xml",)
    return tuple(f"sitemaps/{name}-{n}.xml" for n in range(1, -(-count // max_urls) + 1))


def write_sitemap_part(
    out: Path, base: str, name: str, urls: Sequence[tuple[str, str | None]], max_urls: int
) -> tuple[str, ...]:
    """One part of a big site's sitemap (see :func:`sitemap_part_files`); its files."""
    files = sitemap_part_files(name, len(urls), max_urls)
    (out / "sitemaps").mkdir(exist_ok=True)
    for index, file in enumerate(files):
        write_new_file(out / file, _urlset(base, urls[index * max_urls : (index + 1) * max_urls]))
    return files


def write_sitemap_index(out: Path, base: str, files: Iterable[str]) -> None:
    """``sitemap.xml`` as an index over sitemap files."""
    body = "".join(f"<sitemap><loc>{escape(base + '/' + n)}</loc></sitemap>\n" for n in files)
    write_new_file(
        out / "sitemap.xml",
        (
            f'<?xml version="1.0" encoding="utf-8"?>\n'
            f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n{body}</sitemapindex>\n'
        ).encode(),
    )


def write_sitemap(
    out: Path, base: str, urls: Iterable[tuple[str, str | None]], max_urls: int
) -> list[str]:
    """``sitemap.xml``, or a sitemap index over ``sitemaps/sitemap-N.xml`` past ``max_urls``.
    (A big site's build writes its sitemap in parts that keep their bytes from night to night:
    :func:`write_sitemap_part`.)"""
    # The generator's order is deterministic, so 1.8 million URLs need no sort
    ordered = list(dict.fromkeys(urls))
    if len(ordered) <= max_urls:
        write_new_file(out / "sitemap.xml", _urlset(base, ordered))
        return ["sitemap.xml"]
    files = write_sitemap_part(out, base, "sitemap", ordered, max_urls)
    write_sitemap_index(out, base, files)
    return ["sitemap.xml", *files]


def write_log_head(out: Path, head: Head) -> None:
    """``log-head.json``: the publication-log head this site publishes. A later build whose log does
    not extend it is refused (rollback protection); CI can pass the deployed copy to the build."""
    (out / HEAD_FILE).write_text(
        json.dumps(head.as_json(), sort_keys=True) + "\n", encoding="utf-8", newline="\n"
    )


def write_robots(out: Path, base: str) -> None:
    (out / "robots.txt").write_text(
        f"User-agent: *\nAllow: /\nSitemap: {base}/sitemap.xml\n", encoding="utf-8", newline="\n"
    )
