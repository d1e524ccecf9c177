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
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import settings

from generator.schema import KIND_NAMES

# Speed is measured by bench/, never by a test's clock: no Hypothesis deadline. On a shared VM the
# default 200 ms made examples that write files fail now and then as "flaky".
settings.register_profile("project", deadline=None)
settings.load_profile("project")

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
TODAY = "2026-11-28"
TODAY_DATE = dt.date(2026, 11, 28)
TRUSTED_AT = "2026-11-01T08:00:00+08:00"
os.environ.setdefault("TZ", "Asia/Shanghai")
# The editors' private keys of every test site: a folder of this test run, never ~/.config.
os.environ["DISCLOSE_KEY_DIR"] = tempfile.mkdtemp(prefix="disclose-test-keys-")


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

    auto_trust = True  # `approve --editor NAME` first gives NAME a key and trusts it (see editor)

    def editor(self, name: str):
        """NAME's signer, with a key in the test key folder and trusted on this site (by the first
        trusted editor, or on first use), as an editor who has been through docs/编辑指南.md would be."""
        from generator.editors import Editors
        from generator.settings import load_config
        from generator.signing import create_key, key_dir, load_signer

        if not (key_dir() / name).exists():
            create_key(name)
        signer = load_signer(name)
        editors = Editors(self.path, load_config(self.path))
        trusted, problems = editors.list()
        if not problems and name not in {e.name for e in trusted}:
            by = load_signer(trusted[0].name) if trusted else signer
            editors.trust(name, signer.public_key(), by, TRUSTED_AT)
        return signer

    def run(self, *args: str) -> Result:
        """Run ``disclose`` in-process (the real click command) from the site root."""
        from generator.cli import cli

        args = tuple(str(a) for a in args)
        if self.auto_trust and args[:1] == ("approve",) and "--editor" in args:
            self.editor(args[args.index("--editor") + 1])

        cwd = os.getcwd()
        os.chdir(self.path)
        try:
            result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
        finally:
            os.chdir(cwd)
        return Result(result.exit_code, result.stdout, result.stderr)

    def ingest(self, file: Path, kind: str, today: str = TODAY) -> Result:
        return self.run("ingest", file, "--kind", kind, "--today", today)

    def withdraw(self, key: str, kind: str, reason: str, editor: str) -> str:
        """``disclose withdraw KEY --kind KIND --reason REASON --editor EDITOR``: the staged batch's id."""
        return self.run(
            "withdraw", key, "--kind", kind, "--reason", reason, "--editor", editor
        ).batch_id

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


@pytest.fixture(scope="session", autouse=True)
def cache_key_home(tmp_path_factory: pytest.TempPathFactory):
    """Caches are authenticated with a per-user key (generator/cache.py): the tests keep theirs in
    a configuration folder of their own, never in the home of whoever runs them."""
    folder = tmp_path_factory.mktemp("config")
    saved = {name: os.environ.get(name) for name in ("XDG_CONFIG_HOME", "DISCLOSE_CACHE_KEY")}
    os.environ["XDG_CONFIG_HOME"] = str(folder)
    os.environ.pop("DISCLOSE_CACHE_KEY", None)
    yield folder
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


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


KINDS = KIND_NAMES  # every kind: the messy exports hold one file of each


@pytest.fixture(scope="session")
def built(tmp_path_factory, messy):
    """Messy exports ingested; all approved but the 'pending' one; one record withdrawn; built."""
    root = tmp_path_factory.mktemp("built") / "site"
    root.mkdir()
    site = SiteRoot(root)
    conf = root / "pelicanconf.py"
    conf.write_text(conf.read_text(encoding="utf-8") + "\nLIST_PAGE_SIZE = 10\n", encoding="utf-8")
    for kind in KINDS:
        site.stage_and_approve(messy["files"][kind], kind)
    pending = site.ingest(messy["files"]["pending"], "penalty").batch_id
    withdrawal = site.run(
        "withdraw",
        messy["marks"]["withdraw_docno"].replace("〔", "【").replace("〕", "】"),
        "--kind",
        "penalty",
        "--reason",
        "信用修复",
        "--editor",
        "测试编辑乙",
    ).batch_id
    assert site.run("approve", withdrawal, "--editor", "测试编辑甲").exit_code == 0
    result = site.build()
    assert result.exit_code == 0, result.stderr
    return {"site": site, "out": root / "output", "pending": pending, "marks": messy["marks"]}


def run_console(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """The installed console script, as an editor or CI runs it."""
    exe = Path(sys.executable).parent / "disclose"
    return subprocess.run([str(exe), *args], cwd=cwd, capture_output=True, text=True, timeout=300)


# -- browser fixtures: real headless Chromium (Debian package) driven by Playwright ---------------

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CSP = "default-src 'self'"


def serve_directory(directory: Path):
    """Serve ``directory`` on 127.0.0.1 with the CSP the production server sends; returns (server, base URL)."""
    import functools
    import threading

    from generator.cli.serve import PreviewHandler

    class Handler(PreviewHandler):
        def end_headers(self):
            self.send_header("Content-Security-Policy", CSP)
            super().end_headers()

    import http.server

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Handler, directory=str(directory))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is not installed: run `make test` (it installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture(scope="session")
def demo_site(tmp_path_factory, messy):
    """The messy exports, approved (one withdrawn), built and served over HTTP with a strict CSP."""
    root = tmp_path_factory.mktemp("demo") / "site"
    root.mkdir()
    site = SiteRoot(root)
    conf = root / "pelicanconf.py"
    # Small search segments, so that every browser search merges results across several.
    conf.write_text(
        conf.read_text(encoding="utf-8") + "\nSEARCH_SEGMENT_RECORDS = 30\n", encoding="utf-8"
    )
    for kind in KINDS:
        site.stage_and_approve(messy["files"][kind], kind)
    withdrawal = site.withdraw(messy["marks"]["withdraw_docno"], "penalty", "信用修复", "乙")
    site.run("approve", withdrawal, "--editor", "甲")
    assert site.build().exit_code == 0
    server, base = serve_directory(root / "output")
    yield {"site": site, "out": root / "output", "base": base, "marks": messy["marks"]}
    server.shutdown()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.errors = []  # type: ignore[attr-defined]
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    page.on("console", lambda msg: msg.type == "error" and page.errors.append(msg.text))
    yield page
    context.close()


@pytest.fixture(scope="session")
def repo_demo(tmp_path_factory):
    """The demo site a new user sees: the repository's own content/ (batches, editors, guide pages)
    and theme, built for 2026-11-20 and served over HTTP with the CSP."""
    yield from served_demo(tmp_path_factory.mktemp("repo-demo"))


def served_demo(root: Path, settings: str = ""):
    """Build the repository's demo content in ``root`` with ``settings`` appended to its
    pelicanconf.py, serve it, and yield {"base", "out"} until the server is shut down."""
    from click.testing import CliRunner

    from generator.cli import cli

    shutil.copy(REPO / "pelicanconf.py", root / "pelicanconf.py")
    with (root / "pelicanconf.py").open("a", encoding="utf-8") as conf:
        conf.write(settings)
    shutil.copytree(REPO / "theme", root / "theme")
    for part in ("batches", "editors", "pages"):
        shutil.copytree(REPO / "content" / part, root / "content" / part)
    cwd = os.getcwd()
    os.chdir(root)
    try:
        result = CliRunner().invoke(cli, ["build", "--today", "2026-11-20"])
    finally:
        os.chdir(cwd)
    assert result.exit_code == 0, result.output
    server, base = serve_directory(root / "output")
    yield {"base": base, "out": root / "output"}
    server.shutdown()
