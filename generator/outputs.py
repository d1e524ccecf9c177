"""Machine-readable outputs: downloads (CSV/JSON), Atom feeds, sitemap, robots.txt.

Written by streaming, sorted by unique keys, with no build-time timestamps: the feed's
``<updated>`` is the newest approval time among its entries.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import os
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable
from xml.sax.saxutils import escape, quoteattr

from .incremental import KEY_SIZE
from .markup import neutralise_cell
from .publication import PublishedRecord
from .schema import Kind
from .sitemodel import record_url

EXTRA_COLUMNS = ("记录编号", "公示截止日期", "公示依据", "页面地址")


def download_columns(kind: Kind) -> list[str]:
    return [f.name for f in kind.public_fields] + list(EXTRA_COLUMNS)


def _row(kind: Kind, record: PublishedRecord, base: str) -> dict[str, Any]:
    fields = record.fields
    row = {f.name: fields.get(f.name, "") for f in kind.public_fields}
    row.update({"记录编号": record.id, "公示截止日期": record.ends or "", "公示依据": record.basis,
                "页面地址": f"{base}/{record_url(kind.name, record.id)}"})
    return row


@dataclass
class RowIndex:
    """Where each record's rows sit in a kind's two download files, so that the next build copies
    the bytes of records whose key did not change instead of reading and formatting them again
    (~60 µs a record: 20 s for 350,000 penalties after one withdrawal)."""

    keys: bytes  # the records' input keys, KEY_SIZE bytes each, in file order
    csv: array  # byte offset of each record's CSV line, then the end of the file
    json_start: array  # byte span of each record's JSON object (separators excluded)
    json_end: array
    digests: tuple[str, str]  # sha256 of the CSV and JSON files the spans refer to


def write_downloads(out: Path, kind: Kind, records: list[PublishedRecord], base: str,
                    previous: tuple[Path, RowIndex] | None = None) -> tuple[list[dict[str, Any]], RowIndex, int]:
    """``downloads/<kind>.csv`` (UTF-8 with BOM, formula cells neutralised) and ``.json``; return
    their catalog entries, their :class:`RowIndex` and how many records' rows were copied.

    ``previous``: the folder holding the last build's files and their index. A record whose key
    (``record.key``) is there gets its rows copied from those files; the bytes are the same as
    formatting it again, and the files are used only if their sha256 is the one indexed."""
    folder = out / "downloads"
    folder.mkdir(parents=True, exist_ok=True)
    columns = download_columns(kind)
    csv_path, json_path = folder / f"{kind.name}.csv", folder / f"{kind.name}.json"
    old_csv = old_json = None
    reuse: dict[bytes, int] = {}
    try:
        if previous is not None:
            old_folder, index = previous
            old_csv = (old_folder / "downloads" / csv_path.name).open("rb")
            old_json = (old_folder / "downloads" / json_path.name).open("rb")
            if (hashlib.file_digest(old_csv, "sha256").hexdigest(), hashlib.file_digest(old_json, "sha256").hexdigest()) == index.digests:
                if len(index.keys) == KEY_SIZE * len(index.json_start):
                    reuse = {index.keys[i * KEY_SIZE : (i + 1) * KEY_SIZE]: i for i in range(len(index.json_start))}
    except OSError:
        reuse = {}
    line = _Line()
    writer = csv.writer(line, lineterminator="\r\n")
    writer.writerow(columns)
    head = ("\ufeff" + line.text).encode("utf-8")
    json_head = ('{"kind":%s,"label":%s,"count":%d,"columns":%s,"records":[' % (
        json.dumps(kind.name), json.dumps(kind.label, ensure_ascii=False), len(records),
        json.dumps(columns, ensure_ascii=False))).encode("utf-8")
    keys, csv_offsets, json_start, json_end = [], array("q"), array("q"), array("q")
    copied = 0
    csv_hash, json_hash = hashlib.sha256(head), hashlib.sha256(json_head)
    with contextlib.ExitStack() as stack, csv_path.open("wb") as csv_fh, json_path.open("wb") as json_fh:
        for handle in (old_csv, old_json):
            if handle is not None:
                stack.callback(handle.close)
        csv_fh.write(head)
        json_fh.write(json_head)
        csv_at, json_at = len(head), len(json_head)
        for number, record in enumerate(records):
            found = reuse.get(record.key) if record.key else None
            if found is not None:
                csv_size, json_size = index.csv[found + 1] - index.csv[found], index.json_end[found] - index.json_start[found]
                csv_bytes = os.pread(old_csv.fileno(), csv_size, index.csv[found])
                json_bytes = os.pread(old_json.fileno(), json_size, index.json_start[found])
                if len(csv_bytes) != csv_size or len(json_bytes) != json_size:
                    found = None  # a live file cut short since it was hashed: format the row instead
                else:
                    copied += 1
            if found is None:
                row = _row(kind, record, base)
                writer.writerow([neutralise_cell(row[c]) for c in columns])
                csv_bytes = line.text.encode("utf-8")
                json_bytes = json.dumps(row, ensure_ascii=False, sort_keys=True).encode("utf-8")
            separator = b",\n" if number else b"\n"
            keys.append(record.key)
            csv_offsets.append(csv_at)
            json_start.append(json_at + len(separator))
            json_end.append(json_at + len(separator) + len(json_bytes))
            csv_fh.write(csv_bytes)
            json_fh.write(separator + json_bytes)
            csv_hash.update(csv_bytes)
            json_hash.update(separator + json_bytes)
            csv_at += len(csv_bytes)
            json_at += len(separator) + len(json_bytes)
        csv_offsets.append(csv_at)
        json_fh.write(b"\n]}\n")
        json_hash.update(b"\n]}\n")

    digests = (csv_hash.hexdigest(), json_hash.hexdigest())
    catalog = [_file_info(csv_path, out, kind, len(records), "CSV", digests[0]), _file_info(json_path, out, kind, len(records), "JSON", digests[1])]
    indexed = b"".join(keys) if all(len(k) == KEY_SIZE for k in keys) else b""  # records built without keys: no index
    return catalog, RowIndex(indexed, csv_offsets, json_start, json_end, digests), copied


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


def _file_info(path: Path, out: Path, kind: Kind, count: int, fmt: str, digest: str) -> dict[str, Any]:
    return {"kind": kind.name, "label": kind.label, "format": fmt, "path": path.relative_to(out).as_posix(),
            "count": count, "size": path.stat().st_size, "sha256": digest}


def write_feed(path: Path, title: str, feed_url: str, site_url: str, entries: list[dict[str, Any]]) -> None:
    """An Atom 1.0 feed; ``entries`` carry id, url, title, summary, published (ISO datetime)."""
    updated = max((e["published"] for e in entries), default="2000-01-01T00:00:00+08:00")
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="zh-CN">\n',
        f"<title>{escape(title)}</title>\n<id>{escape(feed_url)}</id>\n",
        f"<link rel=\"self\" href={quoteattr(feed_url)}/>\n<link href={quoteattr(site_url + '/')}/>\n",
        f"<updated>{updated}</updated>\n",
    ]
    for e in entries:
        parts.append(
            f"<entry><title>{escape(e['title'])}</title><id>{escape(e['url'])}</id>"
            f"<link href={quoteattr(e['url'])}/><published>{e['published']}</published><updated>{e['published']}</updated>"
            f"<summary>{escape(e['summary'])}</summary></entry>\n"
        )
    parts.append("</feed>\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(parts), encoding="utf-8", newline="\n")


def write_sitemap(out: Path, base: str, urls: Iterable[tuple[str, str | None]], max_urls: int) -> list[str]:
    """``sitemap.xml``, or a sitemap index over ``sitemaps/sitemap-N.xml`` past ``max_urls``."""
    ordered = list(dict.fromkeys(urls))  # the generator's order is deterministic; sorting 1.8 million costs seconds
    chunks = [ordered[i : i + max_urls] for i in range(0, len(ordered), max_urls)] or [[]]

    prefix = escape(base + "/")  # escaping is per character, so the prefix is escaped once

    def urlset(items: list[tuple[str, str | None]]) -> str:
        # Record and archive paths are hex ids: escape only a path that needs it (10^6 calls).
        body = "".join([
            f"<url><loc>{prefix}{escape(u) if '&' in u or '<' in u or '>' in u else u}</loc><lastmod>{m}</lastmod></url>\n" if m
            else f"<url><loc>{prefix}{escape(u) if '&' in u or '<' in u or '>' in u else u}</loc></url>\n"
            for u, m in items
        ])
        return f'<?xml version="1.0" encoding="utf-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n{body}</urlset>\n'

    if len(chunks) == 1:
        (out / "sitemap.xml").write_text(urlset(chunks[0]), encoding="utf-8", newline="\n")
        return ["sitemap.xml"]
    (out / "sitemaps").mkdir(exist_ok=True)
    names = []
    for index, chunk in enumerate(chunks, start=1):
        name = f"sitemaps/sitemap-{index}.xml"
        (out / name).write_text(urlset(chunk), encoding="utf-8", newline="\n")
        names.append(name)
    index_body = "".join(f"<sitemap><loc>{escape(base + '/' + n)}</loc></sitemap>\n" for n in names)
    (out / "sitemap.xml").write_text(
        f'<?xml version="1.0" encoding="utf-8"?>\n<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n{index_body}</sitemapindex>\n',
        encoding="utf-8", newline="\n")
    return ["sitemap.xml", *names]


def write_robots(out: Path, base: str) -> None:
    (out / "robots.txt").write_text(f"User-agent: *\nAllow: /\nSitemap: {base}/sitemap.xml\n", encoding="utf-8", newline="\n")
