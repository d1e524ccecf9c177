"""Docs are a reference a maintainer can trust: no doc file over 30 KB, every relative link resolves
to a file (and heading) in the repository, nothing links outside it, and every test a doc names exists.

Fast: reads text only, builds nothing.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from urllib.parse import unquote

from .conftest import REPO

LIMIT = 30 * 1024
IMAGES = {".png", ".jpg", ".jpeg", ".gif", ".webp"}
# Files allowed over the limit for now, each with the reason. The test fails once a file is back
# under the limit, so that its entry is removed rather than left to excuse the next growth.
OVER_LIMIT: dict[str, str] = {}

LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"`[^`\n]*`")
HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$", re.MULTILINE)
TEST_REF = re.compile(r"`(tests/[\w/]+\.py)?::(test_\w+)`")


def doc_files() -> list[Path]:
    return sorted({*(REPO / "docs").rglob("*.md"), REPO / "README.md", REPO / "CHANGELOG.md"})


def prose(path: Path) -> str:
    """The Markdown without code blocks and code spans (a link shown as code is not a link)."""
    return CODE_SPAN.sub("", FENCE.sub("", path.read_text(encoding="utf-8")))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation but `-` and `_` dropped, spaces to `-`."""
    text = CODE_SPAN.sub(lambda m: m.group(0).strip("`"), heading).lower()
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)  # a link in a heading keeps its text
    kept = (c for c in text if c in " -_" or unicodedata.category(c)[0] in "LMN")
    return "".join(kept).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    found: set[str] = set()
    for heading in HEADING.findall(FENCE.sub("", path.read_text(encoding="utf-8"))):
        base, n = slug(heading), 0
        while (name := base if n == 0 else f"{base}-{n}") in found:
            n += 1
        found.add(name)
    return found


def links(path: Path) -> list[str]:
    return [target for target in LINK.findall(prose(path)) if target]


def test_no_doc_file_is_over_30_kb():
    over = {}
    for path in sorted((REPO / "docs").rglob("*")):
        name = path.relative_to(REPO).as_posix()
        if path.is_file() and path.suffix.lower() not in IMAGES and path.stat().st_size > LIMIT:
            over[name] = path.stat().st_size
    assert set(over) <= set(OVER_LIMIT), (
        f"over {LIMIT} bytes: {over}; split them (history goes to docs/history/)"
    )
    back_under = set(OVER_LIMIT) - set(over)
    assert not back_under, (
        f"{sorted(back_under)} are under the limit now: remove them from OVER_LIMIT"
    )


def test_every_relative_link_resolves_to_a_file_and_heading_in_the_repository():
    broken = []
    for doc in doc_files():
        for target in links(doc):
            if re.match(r"[a-z][a-z0-9+.-]*:", target, flags=re.IGNORECASE):  # http(s), mailto
                continue
            file_part, _, anchor = unquote(target).partition("#")
            # A pure #anchor points into the same document.
            resolved = (doc.parent / file_part).resolve() if file_part else doc.resolve()
            where = f"{doc.relative_to(REPO)}: {target}"
            if not resolved.is_relative_to(REPO.resolve()):
                broken.append(f"{where} (outside the repository)")
            elif not resolved.exists():
                broken.append(f"{where} (no such file)")
            elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
                broken.append(f"{where} (no such heading)")
    assert not broken, "\n".join(broken)


def test_no_doc_points_outside_the_repository():
    for doc in doc_files():
        text = doc.read_text(encoding="utf-8")
        assert "../shared" not in text, f"{doc.relative_to(REPO)} points outside the repository"
        for target in links(doc):
            assert not target.startswith("/"), (
                f"{doc.relative_to(REPO)}: {target} is an absolute path"
            )


def test_every_test_a_doc_names_exists():
    """`tests/x.py::test_name` (and `::test_other` after it, same file) must be a test in that file."""
    missing, named = [], 0
    for doc in doc_files():
        if "history" in doc.relative_to(REPO).parts:  # the archive quotes tests as they were
            continue
        current = None
        for file, name in TEST_REF.findall(doc.read_text(encoding="utf-8")):
            current = file or current
            if current is None:
                missing.append(f"{doc.relative_to(REPO)}: ::{name} names no file")
                continue
            source = REPO / current
            named += 1
            if not source.is_file() or not re.search(
                rf"^\s*(async )?def {name}\(", source.read_text(encoding="utf-8"), re.MULTILINE
            ):
                missing.append(f"{doc.relative_to(REPO)}: {current}::{name}")
    assert named, "no doc names a test: the pattern is wrong"
    assert not missing, "\n".join(missing)


def test_the_anchor_rule_is_githubs():
    assert slug("Search: first queries in Chromium") == "search-first-queries-in-chromium"
    assert (
        slug("Issue 25's targets at 10^6 (machine B, `dc5367e`)")
        == "issue-25s-targets-at-106-machine-b-dc5367e"
    )
    assert slug("`disclose build [--today DATE] [--full]`") == "disclose-build---today-date---full"
    assert slug("Caches hold data, never code") == "caches-hold-data-never-code"
