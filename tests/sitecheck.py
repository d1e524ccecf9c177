"""Helpers that read a built site the way a user or a crawler would (no knowledge of our code)."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlsplit


class LinkParser(HTMLParser):
    """Collects links, tags and attributes of one HTML page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.script_text: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        for name in ("href", "src"):
            if attributes.get(name):
                self.links.append(attributes[name])
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.script_text.append(data)


def parse(path: Path) -> LinkParser:
    parser = LinkParser()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def resolve(page: Path, link: str, root: Path) -> Path | None:
    """The file an internal link points to, or None for an external link."""
    url, _ = urldefrag(link)
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or not parts.path:
        return None
    target = (
        (root / parts.path.lstrip("/"))
        if parts.path.startswith("/")
        else (page.parent / unquote(parts.path))
    )
    target = Path(str(target.resolve()))
    if target.is_dir():
        target = target / "index.html"
    return target


def crawl(root: Path, start: str = "index.html") -> tuple[set[Path], list[tuple[Path, str]]]:
    """Every HTML page reachable from ``start`` by plain links, and every broken internal link."""
    root = root.resolve()
    seen: set[Path] = set()
    broken: list[tuple[Path, str]] = []
    todo = [root / start]
    while todo:
        page = todo.pop()
        if page in seen:
            continue
        seen.add(page)
        for link in parse(page).links:
            target = resolve(page, link, root)
            if target is None:
                continue
            if not target.exists():
                broken.append((page, link))
            elif target.suffix == ".html" and target not in seen:
                todo.append(target)
    return seen, broken


def tree_digest(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def approved_batches(batches: Path) -> list[tuple[str, str]]:
    """(batch id, approval time) of every batch the publication log approves, in log order, read as
    plain JSON lines without our code (the tests' sites need one approval a batch)."""
    log = batches / "publication-log.jsonl"
    found: dict[str, str] = {}
    for line in log.read_text(encoding="utf-8").splitlines() if log.exists() else []:
        entry = json.loads(line)
        if entry["action"] == "approve":
            found.setdefault(entry["batch"], entry["at"])
    return list(found.items())


def read_csv(path: Path) -> list[dict[str, str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "CSV must start with a UTF-8 BOM so Excel opens it"
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))


def all_files_text(root: Path) -> dict[str, str]:
    """Every file's text, a ``.gz`` file's inflated (search's gzip twins say what their files say,
    and a planted ``.gz`` must be read too)."""
    return {
        p.relative_to(root).as_posix(): (
            gzip.decompress(p.read_bytes()) if p.suffix == ".gz" else p.read_bytes()
        ).decode("utf-8", errors="replace")
        for p in root.rglob("*")
        if p.is_file()
    }
