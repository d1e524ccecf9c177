"""Shared fixtures: a fresh site root per test, the messy exports, and CLI runners.

Every test runs the real pipeline (real files, real Pelican, real Chromium); nothing of our
own is mocked.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
TODAY = "2026-11-28"
TODAY_DATE = dt.date(2026, 11, 28)
os.environ.setdefault("TZ", "Asia/Shanghai")


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def last_line(self) -> str:
        lines = [line for line in self.stdout.splitlines() if line.strip()]
        return lines[-1] if lines else ""

    @property
    def batch_id(self) -> str:
        assert self.last_line.startswith("batch: "), self.stdout + self.stderr
        return self.last_line.removeprefix("batch: ")


class SiteRoot:
    """A throwaway site root: our pelicanconf.py, theme and pages, and no batches."""

    def __init__(self, path: Path):
        self.path = path
        shutil.copy(REPO / "pelicanconf.py", path / "pelicanconf.py")
        shutil.copytree(REPO / "theme", path / "theme")
        shutil.copytree(REPO / "content" / "pages", path / "content" / "pages")
        (path / "content" / "batches").mkdir()

    def run(self, *args: str) -> Result:
        """Run ``disclose`` in-process (the real click command) from the site root."""
        from generator.cli import cli

        cwd = os.getcwd()
        os.chdir(self.path)
        try:
            result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
        finally:
            os.chdir(cwd)
        return Result(result.exit_code, result.stdout, result.stderr)

    def ingest(self, file: Path, kind: str, today: str = TODAY) -> Result:
        return self.run("ingest", file, "--kind", kind, "--today", today)

    def stage_and_approve(self, file: Path, kind: str, editor: str = "测试编辑甲") -> str:
        result = self.ingest(file, kind)
        assert result.exit_code == 0, result.stderr
        approved = self.run("approve", result.batch_id, "--editor", editor)
        assert approved.exit_code == 0, approved.stderr
        return result.batch_id

    def build(self, today: str = TODAY, output: str = "output") -> Result:
        return self.run("build", "--today", today, "--output", output)

    @property
    def batches(self) -> Path:
        return self.path / "content" / "batches"

    def batch_dirs(self) -> list[str]:
        return sorted(p.name for p in self.batches.iterdir())


@pytest.fixture
def site(tmp_path: Path) -> SiteRoot:
    root = tmp_path / "site"
    root.mkdir()
    return SiteRoot(root)


@pytest.fixture(scope="session")
def messy(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The demo's messy exports, with full (fictional) ID numbers, outside any site root."""
    from generator.demo import write_messy_exports

    return write_messy_exports(tmp_path_factory.mktemp("exports"), full_ids=True)


@pytest.fixture
def department_csv() -> Path:
    """A department export we did not generate: title row, GB18030, CRLF, a footer row, bad rows."""
    return FIXTURES / "department-penalty-gb18030.csv"


def run_console(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """The installed console script, as an editor or CI runs it."""
    exe = Path(sys.executable).parent / "disclose"
    return subprocess.run([str(exe), *args], cwd=cwd, capture_output=True, text=True, timeout=300)
