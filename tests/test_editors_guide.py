"""docs/编辑指南.md: its commands run as written, its error table quotes real messages, its images exist."""

from __future__ import annotations

import re
import shlex
import shutil

import pytest

from .conftest import REPO, SiteRoot

GUIDE = (REPO / "docs" / "编辑指南.md").read_text(encoding="utf-8")


def guide_commands() -> list[str]:
    """Every `disclose …` line of the guide's ```sh blocks, in order (```text blocks are not run)."""
    blocks = re.findall(r"```sh\n(.*?)```", GUIDE, flags=re.S)
    return [
        line.strip()
        for block in blocks
        for line in block.splitlines()
        if line.strip().startswith("disclose ")
    ]


@pytest.mark.slow
def test_every_command_in_the_guide_works_as_written(tmp_path, monkeypatch):
    """A new editor on a new site, as the guide tells it: own key, trust on first use, then the day."""
    root = tmp_path / "site"
    root.mkdir()
    site = SiteRoot(root)
    site.auto_trust = False  # the guide's own commands create and trust the key
    monkeypatch.setenv("DISCLOSE_KEY_DIR", str(tmp_path / "keys"))
    shutil.copytree(REPO / "content" / "exports", root / "content" / "exports")
    commands = guide_commands()
    assert [c.split()[1] for c in commands] == [
        "editor",
        "editor",
        "ingest",
        "review",
        "approve",
        "status",
        "withdraw",
        "approve",
        "build",
        "verify",
        "build",
        "verify",
    ]
    batch = None
    withdrawn_docno = None
    for command in commands:
        command = command.replace("~/.config/disclose/keys", str(tmp_path / "keys"))
        args = shlex.split(command.replace("<批次号>", batch or "<批次号>"))[1:]
        result = site.run(*args)
        assert result.exit_code == 0, f"{command}\n{result.stdout}\n{result.stderr}"
        if result.last_line.startswith("batch: "):
            batch = result.batch_id
        if args[0] == "withdraw":
            withdrawn_docno = args[1]
    # The report the editor opens
    assert [p.name for p in (root / "reports").glob("review-penalty-*.html")]
    # The withdrawn record is gone from the built site; the build report says why.
    text = "".join(
        p.read_text(encoding="utf-8", errors="replace")
        for p in (root / "output").rglob("*")
        if p.is_file()
    )
    assert withdrawn_docno and "盐税罚〔2026〕2号" not in text
    assert "盐市监罚〔2026〕4号" in text  # the rest of the batch is online
    first, second = sorted((root / "reports" / "build").glob("*.html"), key=lambda p: len(p.name))
    # The first build published the batch
    assert "新公示</th><td>0 条" not in first.read_text(encoding="utf-8")
    assert "新公示</th><td>0 条" in second.read_text(encoding="utf-8")  # the second changed nothing


def test_the_error_table_quotes_messages_the_program_really_prints():
    source = "".join(p.read_text(encoding="utf-8") for p in (REPO / "generator").rglob("*.py"))
    rows = re.findall(r"^\| `([^`]+)`", GUIDE, flags=re.M)
    quoted = [r for r in rows if not r.startswith(("penalty", "license", "judgment"))]
    assert len(quoted) >= 10
    for row in quoted:
        # … and N stand for what the program fills in
        for fragment in re.split(r"…|“|”|\bN\b| N ", row):
            fragment = fragment.strip("：: ")
            if len(fragment) >= 3:
                assert fragment in source, (
                    f"the guide quotes “{fragment}”, which no message contains"
                )


def test_the_guides_screenshots_exist():
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", GUIDE)
    assert len(images) >= 2
    for image in images:
        path = REPO / "docs" / image
        assert path.exists() and path.stat().st_size > 10_000, image
