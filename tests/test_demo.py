"""The shipped demo (content/): what a new user sees first is a believable, clearly fictional
city's site (issue 29). It is exactly what ``python -m generator.demo`` writes, it holds no test
trap a visitor would take for a broken site (markup, a spreadsheet formula: those live in the
tests' own exports), and every kind shows what the site is for."""

from __future__ import annotations

import filecmp
import html
import shutil

import pytest

from generator.demo import FORMULA, HOSTILE_IMG, HOSTILE_SCRIPT, build_demo
from generator.schema import KINDS

from .conftest import REPO

LOCKS = [".publication-log.lock"]  # made by any write to the log; not content (.gitignore)
TRAPS = (HOSTILE_IMG, HOSTILE_SCRIPT, FORMULA, "<iframe", "javascript:", "onclick=")


def test_the_demo_content_is_what_the_demo_generator_writes(tmp_path):
    shutil.copy(REPO / "pelicanconf.py", tmp_path / "pelicanconf.py")
    build_demo(tmp_path)
    for part in ("exports", "batches", "editors"):
        compared = filecmp.dircmp(
            REPO / "content" / part,
            tmp_path / "content" / part,
            ignore=[*filecmp.DEFAULT_IGNORES, *LOCKS],
        )
        assert not (compared.left_only or compared.right_only or compared.diff_files), part
        for sub in compared.subdirs.values():
            assert not (sub.left_only or sub.right_only or sub.diff_files), (part, sub.left)


@pytest.mark.parametrize("part", ["exports", "batches"])
def test_the_shipped_demo_carries_no_hostile_sample(part):
    """Batches hold every accepted and rejected cell as JSON text; the exports are read in the
    encodings a sample is written in (an .xlsx is compressed: its rows are in its batch)."""
    for path in sorted((REPO / "content" / part).rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            for encoding in ("utf-8", "gb18030", "utf-16-le"):
                text = data.decode(encoding, errors="ignore")
                assert not any(trap in text for trap in TRAPS), path


def test_the_demo_home_page_shows_every_kind_and_no_trap(repo_demo):
    home = html.unescape((repo_demo["out"] / "index.html").read_text(encoding="utf-8"))
    for kind in KINDS.values():
        assert kind.label in home
    assert not any(trap in home for trap in TRAPS)
    assert "示例" in home
