"""Machine-readable outputs: downloads (CSV/JSON), Atom feeds, sitemap, robots.txt.

Written by streaming, sorted by unique keys, with no build-time timestamps: the feed's
``<updated>`` is the newest approval time among its entries.
"""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path
from typing import Any, Iterable
from xml.sax.saxutils import escape, quoteattr

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


def write_downloads(out: Path, kind: Kind, records: list[PublishedRecord], base: str) -> list[dict[str, Any]]:
    """``downloads/<kind>.csv`` (UTF-8 with BOM, formula cells neutralised) and ``.json``."""
    folder = out / "downloads"
    folder.mkdir(parents=True, exist_ok=True)
    columns = download_columns(kind)
    csv_path = folder / f"{kind.name}.csv"
    json_path = folder / f"{kind.name}.json"
    # One pass, both files: each record's full fields are read from its batch file once.
    with csv_path.open("w", encoding="utf-8-sig", newline="") as csv_fh, json_path.open("w", encoding="utf-8", newline="\n") as json_fh:
        writer = csv.writer(csv_fh, lineterminator="\r\n")
        writer.writerow(columns)
        json_fh.write('{"kind":%s,"label":%s,"count":%d,"columns":%s,"records":[' % (
            json.dumps(kind.name), json.dumps(kind.label, ensure_ascii=False), len(records),
            json.dumps(columns, ensure_ascii=False)))
        for index, record in enumerate(records):
            row = _row(kind, record, base)
            writer.writerow([neutralise_cell(row[c]) for c in columns])
            json_fh.write(("," if index else "") + "\n" + json.dumps(row, ensure_ascii=False, sort_keys=True))
        json_fh.write("\n]}\n")
    return [_file_info(csv_path, out, kind, len(records), "CSV"), _file_info(json_path, out, kind, len(records), "JSON")]


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


def _file_info(path: Path, out: Path, kind: Kind, count: int, fmt: str) -> dict[str, Any]:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
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
