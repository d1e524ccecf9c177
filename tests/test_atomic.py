"""Atomic output to the last file: a build killed at any point leaves the old site or the new one.

The apply of an incremental build is killed (``SIGKILL``, by ``DISCLOSE_FAULT_AFTER``) after each
of its file operations in turn, and so is the recovery itself; the next build's recovery must
leave the output byte for byte the old site (or the new one, once the apply committed), and the
build after it the new one, with no folder of the killed builds left. The clean build's swap is
killed between its renames, and killed ingests' staging folders are removed.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from generator import incremental, journal
from generator.errors import BuildError
from generator.incremental import Manifest
from generator.synthetic import synth_rows, write_export

from .conftest import TODAY, SiteRoot

KILLED = -signal.SIGKILL


def snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every file's bytes and every folder (None) under ``folder``, by relative path."""
    found: dict[str, bytes | None] = {}
    for base, dirs, names in os.walk(folder):
        rel = Path(base).relative_to(folder)
        found.update({(rel / name).as_posix() + "/": None for name in dirs})
        found.update({(rel / name).as_posix(): (Path(base) / name).read_bytes() for name in names})
    return found


def write_tree(folder: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text, encoding="utf-8")


def leftovers(parent: Path, name: str) -> list[str]:
    """What killed builds of output ``name`` may leave beside it."""
    return sorted(
        p.name
        for p in parent.iterdir()
        if p.name.startswith(f".{name}.") and p.name != f".{name}.disclose-manifest"
    )


# -- the apply, in-process: killed in a forked child at every one of its points -------------------

OLD = {
    "index.html": "old home",
    "sitemap.xml": "old map",
    "a/1.html": "one",
    "a/2.html": "two",
    "b/x.html": "withdrawn",
    "c/d/y.html": "expired",
    "c/z.html": "kept",
}
NEW = {
    "index.html": "new home",
    "sitemap.xml": "new map",
    "a/1.html": "one, corrected",
    "a/2.html": "two",
    "a/6.html": "six",
    "e/f/g.html": "in a new folder",
    "c/z.html": "kept",
}


class Apply:
    """A live folder holding OLD with its manifest, and a staging folder holding NEW."""

    def __init__(self, tmp: Path):
        self.live, self.staging = tmp / "live", tmp / "staging"
        write_tree(self.live, OLD)
        self.old, self.new = Manifest("fp", files=sorted(OLD)), Manifest("fp", files=sorted(NEW))
        incremental.save(self.old, self.live)
        self.old_tree, self.old_manifest = (
            snapshot(self.live),
            incremental.manifest_path(self.live).read_bytes(),
        )

    def run(self) -> incremental.ApplyResult:
        shutil.rmtree(self.staging, ignore_errors=True)
        write_tree(self.staging, NEW)
        return incremental.apply(self.staging, self.live, self.old, self.new, None, None)

    def killed(self, env: dict[str, str], call=None) -> int:  # noqa: ANN001
        """Run the apply (or ``call``) in a forked child with ``env``; its exit status."""
        if call is None:
            shutil.rmtree(self.staging, ignore_errors=True)
            write_tree(self.staging, NEW)
        pid = os.fork()
        if pid == 0:
            try:
                os.environ.update(env)
                journal._reached.clear()
                if call is None:
                    incremental.apply(self.staging, self.live, self.old, self.new, None, None)
                else:
                    call()
                os._exit(0)
            finally:
                os._exit(1)
        return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])

    def points(self, tmp: Path) -> list[list[str]]:
        """The apply's fault points in order, each ``[point, what]`` (from a child not killed)."""
        record = tmp / "points.log"
        assert self.killed({journal.FAULT_LOG_ENV: str(record)}) == 0
        assert snapshot(self.live) == snapshot_new()
        self.restore()
        return [line.split(" ", 1) for line in record.read_text(encoding="utf-8").splitlines()]

    def restore(self) -> None:
        """The old site and its manifest again."""
        shutil.rmtree(self.live)
        write_tree(self.live, OLD)
        incremental.manifest_path(self.live).write_bytes(self.old_manifest)
        assert snapshot(self.live) == self.old_tree


def snapshot_new() -> dict[str, bytes | None]:
    found: dict[str, bytes | None] = {}
    for rel, text in NEW.items():
        parts = rel.split("/")
        found.update({"/".join(parts[:i]) + "/": None for i in range(1, len(parts))})
        found[rel] = text.encode("utf-8")
    return found


def test_an_apply_killed_after_any_operation_is_rolled_back_by_the_next_run(tmp_path: Path) -> None:
    """Kill after each of the apply's points (journal, every link, move, folder made, delete, folder
    removed, manifest, commit): the recovery leaves the old site and its manifest byte for byte
    (the new site once committed), and the next apply gives the new one. Without the recovery the
    output stays half old, half new."""
    site = Apply(tmp_path)
    points = site.points(tmp_path)
    kinds = [what.split(" ", 1)[0] for _point, what in points]
    assert {"journal", "forget", "keep", "move", "mkdir", "delete", "rmdir", "manifest"} <= set(
        kinds
    ), points
    assert kinds[0] == "journal" and kinds[-1] == "commit" and len(points) >= 15
    for point, what in points:
        assert site.killed({journal.FAULT_ENV: point}) == KILLED, point
        assert journal.journal_path(site.live).exists() == (what != "commit")
        journal.recover(site.live)
        assert not journal.journal_path(site.live).exists()
        if what != "commit":
            assert snapshot(site.live) == site.old_tree, f"killed after {point} ({what})"
            assert incremental.manifest_path(site.live).read_bytes() == site.old_manifest
            # The next build is incremental
            assert incremental.load(site.live, "fp").files == site.old.files
        else:  # committed: the new site stands
            assert snapshot(site.live) == snapshot_new()
            site.restore()
    result = site.run()
    result.trash.wait()
    assert snapshot(site.live) == snapshot_new()
    assert incremental.load(site.live, "fp").files == site.new.files
    incremental.wait_detached()
    assert leftovers(tmp_path, "live") == []


def test_a_recovery_killed_after_any_step_is_finished_by_the_next(tmp_path: Path) -> None:
    """Killed once all the apply's files moved; each recovery killed after one step of its rollback."""
    site = Apply(tmp_path)
    points = site.points(tmp_path)
    # Everything done but the commit
    manifest = next(point for point, what in points if what == "manifest")
    assert site.killed({journal.FAULT_ENV: manifest}) == KILLED
    kills = 0  # each recovery is killed after its first step: the next one starts where it stopped
    while (
        site.killed({journal.FAULT_ENV: "recover:1"}, call=lambda: journal.recover(site.live))
        == KILLED
    ):
        kills += 1
        assert journal.journal_path(site.live).exists() and kills < 100
    assert kills == 7  # two new files removed, three replaced and two deleted ones put back
    assert snapshot(site.live) == site.old_tree
    assert incremental.manifest_path(site.live).read_bytes() == site.old_manifest


def test_a_failing_apply_puts_the_live_folder_back_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = Apply(tmp_path)
    original, calls = os.replace, []

    def failing(source, target):  # noqa: ANN001, ANN202
        calls.append(target)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        return original(source, target)

    monkeypatch.setattr(incremental.os, "replace", failing)
    with pytest.raises(OSError, match="No space"):
        site.run()
    assert snapshot(site.live) == site.old_tree and not journal.journal_path(site.live).exists()
    assert incremental.manifest_path(site.live).read_bytes() == site.old_manifest


def test_a_journal_of_a_running_build_is_left_alone(tmp_path: Path) -> None:
    """Another build of the same output is applying (it holds the journal's lock): no rollback."""
    site = Apply(tmp_path)
    ready_r, ready_w = os.pipe()
    done_r, done_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            held = journal.Journal.begin(site.live, {"kind": "swap", "old": "x", "new": "y"})
            os.write(ready_w, b"1")
            os.read(done_r, 1)
            held.commit()
            os._exit(0)
        finally:
            os._exit(1)
    os.read(ready_r, 1)
    try:
        with pytest.raises(BuildError, match="另一个构建正在更新 live"):
            journal.recover(site.live)
        assert journal.journal_path(site.live).exists()
    finally:
        os.write(done_w, b"1")
        assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
    assert not journal.journal_path(site.live).exists()
    assert journal.recover(site.live) == 0


def test_an_unreadable_journal_means_a_clean_build(tmp_path: Path) -> None:
    site = Apply(tmp_path)
    journal.journal_path(site.live).write_bytes(b'{"format": 1, "kind": "apply", "ops": [["R"')
    journal.recover(site.live)
    assert (
        not journal.journal_path(site.live).exists()
        and not incremental.manifest_path(site.live).exists()
    )
    assert snapshot(site.live) == site.old_tree


# -- real builds, killed through the console script -----------------------------------------------


def console(
    site: SiteRoot,
    *args: str,
    fault: str = "",
    record: Path | None = None,
    python: list[str] | None = None,
) -> subprocess.CompletedProcess:
    """``disclose ARGS`` in a subprocess, killed at ``fault`` (DISCLOSE_FAULT_AFTER)."""
    env = {
        k: v for k, v in os.environ.items() if k not in (journal.FAULT_ENV, journal.FAULT_LOG_ENV)
    }
    if fault:
        env[journal.FAULT_ENV] = fault
    if record is not None:
        env[journal.FAULT_LOG_ENV] = str(record)
    command = python or [str(Path(sys.executable).parent / "disclose")]
    return subprocess.run(
        [*command, *args], cwd=site.path, capture_output=True, text=True, env=env, timeout=300
    )


def small_site(root: Path) -> SiteRoot:
    root.mkdir()
    site = SiteRoot(root)
    conf = root / "pelicanconf.py"
    # Small pages and segments, so that a night's change touches lists, search and sitemap parts;
    # frees waited for, so that a finished build has no folder left beside the output.
    conf.write_text(
        conf.read_text(encoding="utf-8")
        + "\nLIST_PAGE_SIZE = 5\nLIST_MAX_PAGES = 3\nSEARCH_SEGMENT_RECORDS = 20\n"
        "SITEMAP_MAX_URLS = 40\nBUILD_FREE_DETACHED = False\n",
        encoding="utf-8",
    )
    for kind, count in (("penalty", 30), ("license", 10)):
        export = write_export(
            root.parent / f"{kind}.csv",
            kind,
            synth_rows(kind, count, seed=5, today=dt.date(2026, 11, 20)),
        )
        site.stage_and_approve(export, kind)
    return site


def a_night(site: SiteRoot) -> None:
    """A new batch of penalties and one withdrawal: files added (in new folders), replaced, deleted."""
    export = write_export(
        site.path.parent / "penalty-new.csv",
        "penalty",
        synth_rows("penalty", 6, seed=6, today=dt.date(2026, 11, 25), start=9001, max_days=10),
    )
    site.stage_and_approve(export, "penalty")
    shown = (site.path / "live" / "kinds" / "penalty" / "index.html").read_text(encoding="utf-8")
    # A published one
    docno = next(
        row["行政处罚决定书文号"]
        for row in synth_rows("penalty", 30, seed=5, today=dt.date(2026, 11, 20))
        if row["行政处罚决定书文号"] in shown
    )
    withdrawal = site.withdraw(docno, "penalty", "信用修复", "测试编辑乙")
    assert site.run("approve", withdrawal, "--editor", "测试编辑甲").exit_code == 0


def build(
    site: SiteRoot, output: str = "live", fault: str = "", **kwargs
) -> subprocess.CompletedProcess:  # noqa: ANN003
    return console(site, "build", "--today", TODAY, "--output", output, fault=fault, **kwargs)


@pytest.mark.slow
def test_a_nightly_build_killed_anywhere_in_its_apply_leaves_the_old_site_or_the_new(
    tmp_path: Path,
) -> None:
    """The apply of a real incremental build is killed at its first points, in the middle of its
    moves, at its folders, deletes, manifest and commit. Right after the next build's recovery
    the output is the old site byte for byte (the new one once committed); the build after it
    gives the new site, incrementally, with nothing of the killed builds left beside it."""
    site = small_site(tmp_path / "site")
    assert build(site).returncode == 0
    old = snapshot(site.path / "live")
    a_night(site)
    # The same night applied to a copy of the output (with its manifest): the new site, and the
    # apply's points in order.
    shutil.copytree(site.path / "live", site.path / "ref")
    shutil.copy2(site.path / ".live.disclose-manifest", site.path / ".ref.disclose-manifest")
    record = tmp_path / "points.log"
    reference = build(site, "ref", record=record)
    assert reference.returncode == 0 and "增量" in reference.stdout, reference.stderr
    new = snapshot(site.path / "ref")
    assert new != old
    points = [
        line.split(" ", 1)
        for line in record.read_text(encoding="utf-8").splitlines()
        if line.startswith("apply:")
    ]
    kinds = [what.split(" ", 1)[0] for _point, what in points]
    assert {"journal", "keep", "move", "mkdir", "delete", "rmdir", "manifest", "commit"} <= set(
        kinds
    ), kinds
    moves = [i for i, kind in enumerate(kinds) if kind == "move"]
    chosen = {
        0,
        1,
        2,
        moves[0] - 1,
        moves[0],
        moves[len(moves) // 2],
        moves[-1],
        kinds.index("mkdir"),
        kinds.index("delete"),
        len(kinds) - 1 - kinds[::-1].index("delete"),
        kinds.index("rmdir"),
        kinds.index("manifest"),
        kinds.index("commit"),
    }
    chosen.update(range(0, len(kinds), max(1, len(kinds) // 8)))
    for index in sorted(chosen):
        point, what = points[index]
        killed = build(site, fault=point)
        assert killed.returncode == KILLED, (point, what, killed.stderr)
        recovered = build(site, fault="build:recovered")
        assert recovered.returncode == KILLED, recovered.stderr
        after = snapshot(site.path / "live")
        if kinds[index] == "commit":
            assert after == new, f"killed after {point} ({what})"
        else:
            assert after == old, f"killed after {point} ({what}): not the old site"
            assert "已撤回" in recovered.stderr
    finished = build(site)
    assert finished.returncode == 0 and "增量" in finished.stdout, finished.stdout + finished.stderr
    assert snapshot(site.path / "live") == new
    assert leftovers(site.path, "live") == []


@pytest.mark.slow
def test_a_clean_build_killed_in_its_swap_leaves_the_old_site_or_the_new(tmp_path: Path) -> None:
    """Killed right after the exchange: the new site is live and the old one, under the building
    folder's name, is freed by the next build. Killed between the two renames of the fallback
    (no RENAME_EXCHANGE): the next build puts the old site back first."""
    site = small_site(tmp_path / "site")
    assert build(site).returncode == 0
    old = snapshot(site.path / "live")
    a_night(site)
    assert build(site, "ref").returncode == 0
    new = snapshot(site.path / "ref")

    killed = console(
        site, "build", "--today", TODAY, "--output", "live", "--full", fault="swap:exchanged"
    )
    assert killed.returncode == KILLED and snapshot(site.path / "live") == new
    aside = [p for p in leftovers(site.path, "live") if p.startswith(".live.building-")]
    assert len(aside) == 1 and snapshot(site.path / aside[0]) == old  # the old site, whole
    assert build(site).returncode == 0 and snapshot(site.path / "live") == new
    assert leftovers(site.path, "live") == []

    shutil.rmtree(site.path / "live")
    shutil.copytree(site.path / "ref", site.path / "live")  # an older site for the full build below
    assert build(site, fault="build:recovered").returncode == KILLED
    before = snapshot(site.path / "live")
    no_exchange = [
        sys.executable,
        "-c",
        "import sys; from generator import build; build._exchange = lambda a, b: False; "
        "from generator.cli import cli; sys.argv[0] = 'disclose'; cli()",
    ]
    killed = console(
        site,
        "build",
        "--today",
        TODAY,
        "--output",
        "live",
        "--full",
        fault="swap:aside",
        python=no_exchange,
    )
    assert killed.returncode == KILLED and not (site.path / "live").exists()
    assert build(site, fault="build:recovered").returncode == KILLED
    assert snapshot(site.path / "live") == before
    assert build(site).returncode == 0 and snapshot(site.path / "live") == new
    assert leftovers(site.path, "live") == []


def staging_entries(site: SiteRoot) -> list[str]:
    return [name for name in site.batch_dirs() if name.startswith(".staging-")]


# A process that owns a staging folder (as a running ingest does) until its standard input closes.
_OWNER = """
import sys
from pathlib import Path
from generator.batches import BatchStore
from generator.settings import load_config
staging = BatchStore(Path.cwd(), load_config(Path.cwd())).new_staging_dir()
(staging / "records.jsonl.part").write_text("half a batch", encoding="utf-8")
print(staging.name, flush=True)
sys.stdin.read()
"""


@pytest.mark.slow
@pytest.mark.parametrize(
    "command",
    [["status"], ["review", "penalty-000000000000", "--today", TODAY], ["build", "--today", TODAY]],
)
def test_a_killed_ingests_staging_folder_is_removed_by_the_next_command_and_never_shows_in_git(
    site: SiteRoot, department_csv: Path, command: list[str]
) -> None:
    """`kill -9` during ingest left a .staging-* folder (and, before, only the next ingest or build
    removed it): now any command that opens the batch store does, and git ignores it meanwhile."""
    killed = console(
        site,
        "ingest",
        str(department_csv),
        "--kind",
        "penalty",
        "--today",
        TODAY,
        fault="ingest:staging",
    )
    assert killed.returncode == KILLED, killed.stderr
    left = staging_entries(site)
    assert (
        left
        and any(name.endswith(".lock") for name in left)
        and any(not name.endswith(".lock") for name in left)
    )
    git = subprocess.run(["git", "init", "-q", str(site.path)], capture_output=True)
    assert git.returncode == 0
    shutil.copy(Path(__file__).resolve().parent.parent / ".gitignore", site.path / ".gitignore")
    untracked = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all", "content/batches"],
        cwd=site.path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert ".staging-" not in untracked
    console(site, *command)
    assert staging_entries(site) == []


@pytest.mark.slow
def test_a_running_ingests_staging_folder_is_kept_until_its_process_dies(site: SiteRoot) -> None:
    """Only leftovers go: a folder whose owner still runs is kept by every other command, whatever
    its process id says; once the owner is killed (`kill -9`), the next command removes it."""
    owner = subprocess.Popen(
        [sys.executable, "-c", _OWNER],
        cwd=site.path,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        name = owner.stdout.readline().strip()
        assert name.startswith(".staging-")
        dead = subprocess.Popen(["true"])
        dead.wait()
        # Folders without a lock file (made before locks): leftovers, whatever process id they name.
        for leftover in (
            f".staging-{dead.pid}-x1",
            ".staging-ab12cd_e",
            f".staging-{os.getpid()}-busy",
        ):
            (site.batches / leftover).mkdir()
        assert console(site, "status").returncode == 0
        assert staging_entries(site) == [name, name + ".lock"]
        assert console(site, "build", "--today", TODAY).returncode == 0
        assert staging_entries(site) == [name, name + ".lock"]
    finally:
        owner.kill()
        owner.wait()
    assert console(site, "status").returncode == 0
    assert staging_entries(site) == []


def test_batch_files_are_0644_and_folders_0755_whatever_the_umask(
    site: SiteRoot, department_csv: Path
) -> None:
    """A batch folder was made by mkdtemp (0700) and its reports followed the umask."""
    run = [
        sys.executable,
        "-c",
        "import os, sys; os.umask(0o077); from generator.cli import cli; sys.argv[0] = 'disclose'; cli()",
    ]
    result = console(
        site, "ingest", str(department_csv), "--kind", "penalty", "--today", TODAY, python=run
    )
    assert result.returncode == 0, result.stderr
    batch = site.batches / result.stdout.strip().splitlines()[-1].removeprefix("batch: ")
    assert oct(batch.stat().st_mode & 0o777) == oct(0o755)
    files = {path.name: oct(path.stat().st_mode & 0o777) for path in batch.iterdir()}
    assert set(files) == {"records.jsonl", "manifest.json", "rejections.csv", "warnings.csv"}
    assert set(files.values()) == {oct(0o644)}, files
    assert staging_entries(site) == []
