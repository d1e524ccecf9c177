"""Nightly publishing: the workflow definitions, the deploy step, and the build report."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from .conftest import REPO, TODAY

README = (REPO / "README.md").read_text(encoding="utf-8")


def workflow() -> dict:
    return yaml.safe_load(
        (REPO / ".github" / "workflows" / "publish.yml").read_text(encoding="utf-8")
    )


def test_github_workflow_runs_nightly_at_two_shanghai_time_and_on_demand():
    data = workflow()
    triggers = data.get("on", data.get(True))  # YAML 1.1 reads a bare `on` as true
    assert triggers["schedule"] == [{"cron": "0 18 * * *"}]  # 18:00 UTC = 02:00 UTC+8
    assert "workflow_dispatch" in triggers
    assert data["concurrency"]["cancel-in-progress"] is False


def test_workflow_steps_are_the_readme_commands_in_a_safe_order():
    steps = [s.get("run", "") for s in workflow()["jobs"]["publish"]["steps"]]
    runs = [s for s in steps if s]
    order = ["make test", "disclose build", "disclose verify", ".ci/deploy output"]
    positions = [next(i for i, run in enumerate(runs) if command in run) for command in order]
    assert positions == sorted(positions), runs
    for command in order:  # each step is a command the README documents
        assert command in README, command
    gitlab = yaml.safe_load((REPO / ".gitlab-ci.yml").read_text(encoding="utf-8"))["publish"][
        "script"
    ]
    positions = [next(i for i, run in enumerate(gitlab) if command in run) for command in order]
    assert positions == sorted(positions), gitlab


def test_ci_keeps_the_last_build_so_the_nightly_build_is_incremental():
    steps = workflow()["jobs"]["publish"]["steps"]
    cache = next(s for s in steps if s.get("uses", "").startswith("actions/cache@"))
    assert steps.index(cache) < next(
        i for i, s in enumerate(steps) if "disclose build" in s.get("run", "")
    )
    assert cache["with"]["path"].split() == ["output", ".output.disclose-manifest", ".cache"]
    gitlab = yaml.safe_load((REPO / ".gitlab-ci.yml").read_text(encoding="utf-8"))["publish"][
        "cache"
    ]
    assert (
        gitlab["paths"] == ["output/", ".output.disclose-manifest", ".cache/"]
        and gitlab["when"] == "on_success"
    )


def test_no_credentials_in_the_repository():
    text = (REPO / ".github" / "workflows" / "publish.yml").read_text(encoding="utf-8")
    for name in (
        "DEPLOY_SSH_KEY",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "DISCLOSE_CACHE_KEY",
    ):
        assert f"{name}: ${{{{ secrets.{name} }}}}" in text
    assert "DISCLOSE_CACHE_KEY" in (REPO / ".gitlab-ci.yml").read_text(encoding="utf-8")


def deploy(site: Path, target: str) -> subprocess.CompletedProcess:
    """Run .ci/deploy; the work it leaves to a detached process (removing old releases, the next
    deploy's hard-link copy) is done before it exits (DEPLOY_WAIT)."""
    env = {**os.environ, "DEPLOY_TARGET": target, "DEPLOY_WAIT": "1"}
    return subprocess.run(
        [str(REPO / ".ci" / "deploy"), str(site)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_deploy_copies_changes_and_removes_what_disappeared(built, tmp_path):
    live = tmp_path / "live"
    live.mkdir()
    (live / "records").mkdir()
    (live / "records" / "withdrawn.html").write_text("旧页面", encoding="utf-8")
    result = deploy(built["out"], f"dir:{live}")
    assert result.returncode == 0, result.stderr
    assert (live / "index.html").read_bytes() == (built["out"] / "index.html").read_bytes()
    assert not (live / "records" / "withdrawn.html").exists()
    # A folder an older deploy made is switched to a release in one exchange
    assert live.is_symlink()


def versioned_site(folder: Path, version: str, names: range) -> dict[str, str]:
    """A site whose every file says which version it belongs to (pages 0–9 the same in both)."""
    files = {"index.html": f"home {version}"}
    files.update(
        {f"records/{n % 7}/{n}.html": f"record {n} " + (version if n >= 10 else "") for n in names}
    )
    for rel, text in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text, encoding="utf-8")
    return files


def test_deploy_to_a_folder_copies_only_changed_files_and_switches_in_one_rename(tmp_path):
    a = versioned_site(tmp_path / "a", "A", range(0, 300))
    # 10 unchanged pages, 140 changed, 150 withdrawn
    b = versioned_site(tmp_path / "b", "B", range(0, 300, 2))
    live = tmp_path / "www" / "xinyong"
    assert deploy(tmp_path / "a", f"dir:{live}").returncode == 0
    assert live.is_symlink() and not Path(os.readlink(live)).is_absolute()
    first = live.resolve()
    stats = {rel: (live / rel).stat() for rel in a}
    result = deploy(tmp_path / "b", f"dir:{live}")
    assert result.returncode == 0, result.stderr
    assert live.is_symlink() and live.resolve() != first
    assert {
        p.relative_to(live.resolve()).as_posix() for p in live.resolve().rglob("*") if p.is_file()
    } == set(b)
    for rel, text in b.items():
        assert (live / rel).read_text(encoding="utf-8") == text
        same = rel.startswith("records/") and int(rel.rsplit("/", 1)[1].split(".")[0]) < 10
        now = (live / rel).stat()
        # Unchanged files are the previous release's (hard links): not copied, same mtime.
        assert (
            (now.st_ino, now.st_mtime_ns) == (stats[rel].st_ino, stats[rel].st_mtime_ns)
        ) == same, rel
    # The previous release is kept as it was for readers still in it; the one before is removed.
    assert {
        p.relative_to(first).as_posix(): p.read_text(encoding="utf-8")
        for p in first.rglob("*")
        if p.is_file()
    } == a
    assert deploy(tmp_path / "a", f"dir:{live}").returncode == 0
    releases = tmp_path / "www" / ".xinyong.releases"
    assert (
        not first.exists()
        and len([p for p in releases.iterdir() if p.is_dir() and not p.name.startswith(".")]) == 2
    )


def test_a_folder_deploy_ships_what_changed_in_the_site_folder(tmp_path):
    """The nightly case: the same output folder, a few files rewritten by the build. The next deploy
    starts from the stand-by hard-link copy the last one left and copies what changed by its
    stamp; the rest stay links to the previous release's files."""
    site = tmp_path / "output"
    files = versioned_site(site, "A", range(0, 50))
    live = tmp_path / "www" / "xinyong"
    assert deploy(site, f"dir:{live}").returncode == 0
    releases = tmp_path / "www" / ".xinyong.releases"
    first = live.resolve()
    # The next deploy's start, made after the switch
    assert (releases / f".standby-{first.name}").is_dir()
    (site / "records/3/3.html").write_text("record 3 corrected", encoding="utf-8")
    (site / "records/4/4.html").unlink()
    (site / "records/5/new.html").write_text("new record", encoding="utf-8")
    result = deploy(site, f"dir:{live}")
    assert result.returncode == 0, result.stderr
    second = live.resolve()
    assert second != first and not (releases / f".standby-{first.name}").exists()
    assert (live / "records/3/3.html").read_text(encoding="utf-8") == "record 3 corrected"
    assert not (live / "records/4/4.html").exists() and (live / "records/5/new.html").exists()
    # The old release kept its bytes
    assert (first / "records/3/3.html").read_text(encoding="utf-8") == files["records/3/3.html"]
    assert (live / "records/6/6.html").stat().st_ino == (first / "records/6/6.html").stat().st_ino


def test_a_folder_deploy_without_a_stand_by_copy_or_stamps_compares_every_file(tmp_path):
    """A stand-by copy still being made (or removed), or stamps missing: the deploy links the
    current release itself, or compares every file by content; the result is the same site."""
    site = tmp_path / "output"
    versioned_site(site, "A", range(0, 30))
    live = tmp_path / "www" / "xinyong"
    assert deploy(site, f"dir:{live}").returncode == 0
    releases = tmp_path / "www" / ".xinyong.releases"
    shutil.rmtree(releases / f".standby-{live.resolve().name}")
    (site / "index.html").write_text("home B", encoding="utf-8")
    assert deploy(site, f"dir:{live}").returncode == 0
    assert (live / "index.html").read_text(encoding="utf-8") == "home B"
    (releases / f"{live.resolve().name}.stamps").unlink()
    (site / "index.html").write_text("home C", encoding="utf-8")
    assert deploy(site, f"dir:{live}").returncode == 0
    assert (live / "index.html").read_text(encoding="utf-8") == "home C"
    assert sorted(
        p.relative_to(live.resolve()).as_posix() for p in live.resolve().rglob("*") if p.is_file()
    ) == sorted(p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file())


@pytest.mark.slow
def test_a_reader_of_a_deployed_folder_never_sees_two_versions_at_once(tmp_path):
    """A reader opens the target folder (as a web server resolves a path) and reads every page
    through that handle while deploys alternate between two versions: every read is all one
    version, complete. Deploying into the folder in place (rsync --delay-updates) shows mixes."""
    import threading

    names = range(0, 1500)
    a = versioned_site(tmp_path / "a", "A", names)
    b = versioned_site(tmp_path / "b", "B", names[::3])
    live = tmp_path / "www" / "xinyong"
    assert deploy(tmp_path / "a", f"dir:{live}").returncode == 0
    seen: list[str] = []
    mixes: list[str] = []
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            fd = os.open(live, os.O_RDONLY | os.O_DIRECTORY)
            try:
                pages = {}
                for rel in a:
                    try:
                        with open(os.open(rel, os.O_RDONLY, dir_fd=fd), encoding="utf-8") as fh:
                            pages[rel] = fh.read()
                    except FileNotFoundError:
                        pass
                if os.fstat(fd).st_nlink == 0:
                    continue  # a release removed while read (two deploys later): not a mix
                version = "A" if pages == a else "B" if pages == b else f"mix of {len(pages)} pages"
                (mixes if version.startswith("mix") else seen).append(version)
            finally:
                os.close(fd)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for site in ("b", "a", "b", "a", "b"):
            assert deploy(tmp_path / site, f"dir:{live}").returncode == 0
    finally:
        done.set()
        reader.join()
    assert mixes == [] and {"A", "B"} <= set(seen), (mixes[:3], len(seen))


def test_deploy_refuses_without_a_target_or_a_built_site(built, tmp_path):
    result = deploy(built["out"], "")
    assert result.returncode == 1 and "DEPLOY_TARGET" in result.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    result = deploy(empty, f"dir:{tmp_path / 'live'}")
    assert result.returncode == 1 and "不是构建好的网站目录" in result.stderr
    assert not (tmp_path / "live").exists()


def test_build_writes_a_report_outside_the_output(site, department_csv):
    site.stage_and_approve(department_csv, "penalty")
    assert site.build().exit_code == 0
    report = json.loads(
        (site.path / "reports" / "build" / f"{TODAY}.json").read_text(encoding="utf-8")
    )
    assert report["today"] == TODAY and report["published"] == 4
    assert len(report["changes"]["new"]) == 4 and report["changes"]["removed"] == []
    withdrawal = site.withdraw("东市监罚[2026]101号", "penalty", "决定撤销", "乙")
    assert site.run("approve", withdrawal, "--editor", "甲").exit_code == 0
    assert site.build().exit_code == 0
    # The first one is kept
    report = json.loads(
        (site.path / "reports" / "build" / f"{TODAY}-2.json").read_text(encoding="utf-8")
    )
    assert report["published"] == 3 and report["changes"]["new"] == []
    [removed] = report["changes"]["removed"]
    assert removed["reason"] == "已撤下：决定撤销" and removed["batch"] == withdrawal
    page = (site.path / "reports" / "build" / f"{TODAY}-2.html").read_text(encoding="utf-8")
    assert "东市监罚〔2026〕101号" in page and "决定撤销" in page
    assert not list((site.path / "output").rglob("*build*"))  # never published


@pytest.mark.slow
def test_ci_gets_quiet_line_oriented_progress(site, department_csv):
    import sys

    site.stage_and_approve(department_csv, "penalty")
    env = {**os.environ, "CI": "true"}
    exe = Path(sys.executable).parent / "disclose"
    result = subprocess.run(
        [str(exe), "build", "--today", TODAY],
        cwd=site.path,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    # No bar, no escape codes
    assert lines and all(line.startswith("记录页与信用档案：") for line in lines), lines
    assert lines[-1].startswith("记录页与信用档案：100%")
    assert result.stdout.startswith("已构建 output")


def test_a_long_build_report_counts_everything_and_lists_the_first(
    site, department_csv, monkeypatch
):
    from generator import buildreport

    monkeypatch.setattr(buildreport, "REPORT_MAX_ITEMS", 3)
    site.stage_and_approve(department_csv, "penalty")
    assert site.build().exit_code == 0
    report = json.loads(
        (site.path / "reports" / "build" / f"{TODAY}.json").read_text(encoding="utf-8")
    )
    assert report["counts"]["new"] == 4 and report["truncated"] is True
    listed = [item["id"] for item in report["changes"]["new"]]
    assert len(listed) == 3 and listed == sorted(listed)


def test_a_report_after_an_upgrade_compares_with_the_old_text_list(site, department_csv):
    """Sites built before 2026-11-28 remember the last build as a TSV (id, kind, batch)."""
    from generator.buildreport import LAST, LEGACY_LAST

    batch = site.stage_and_approve(department_csv, "penalty")
    assert site.build().exit_code == 0
    folder = site.path / "reports" / "build"
    report = json.loads((folder / f"{TODAY}.json").read_text(encoding="utf-8"))
    ids = sorted(item["id"] for item in report["changes"]["new"])
    (folder / LAST).unlink()
    (folder / LEGACY_LAST).write_text(
        "".join(f"{rid}\tpenalty\t{batch}\n" for rid in ids[1:]) + f"gone\tpenalty\t{batch}\n",
        encoding="utf-8",
    )
    assert site.build().exit_code == 0
    report = json.loads((folder / f"{TODAY}-2.json").read_text(encoding="utf-8"))
    assert report["counts"] == {"new": 1, "updated": 0, "removed": 1}
    assert (
        report["changes"]["new"][0]["id"] == ids[0]
        and report["changes"]["removed"][0]["id"] == "gone"
    )
    assert (folder / LAST).exists() and not (folder / LEGACY_LAST).exists()


@pytest.mark.slow
def test_a_damaged_memory_of_the_last_build_only_makes_the_report_list_everything(
    site, department_csv
):
    from generator import cache
    from generator.buildreport import LAST, MEMORY_PURPOSE, PICKLED_LAST

    site.stage_and_approve(department_csv, "penalty")
    assert site.build().exit_code == 0
    folder = site.path / "reports" / "build"
    (folder / PICKLED_LAST).write_bytes(b"a memory pickled by an older build: never read, deleted")
    # Damaged; planted (well formed, without the key); authentic but not groups.
    planted = cache.MAGIC + bytes(32) + cache.pack([["penalty", "b", "x"]])
    for number, damage in enumerate((b"not a memory", planted, None), 2):
        if damage is None:
            cache.write(
                cache.Entry(folder / LAST, MEMORY_PURPOSE, b""),
                [cache.pack({("penalty", "b"): ["not ids"]})],
            )
        else:
            (folder / LAST).write_bytes(damage)
        assert site.build().exit_code == 0
        report = json.loads((folder / f"{TODAY}-{number}.json").read_text(encoding="utf-8"))
        assert report["counts"] == {"new": 4, "updated": 0, "removed": 0}
    assert not (folder / PICKLED_LAST).exists()


def test_the_report_of_a_state_made_without_its_batches_groups_records_by_their_batch():
    """A state built by hand (no approved batches listed) still groups its records by batch, so a
    report against it lists only what changed."""
    import datetime as dt

    from generator.buildreport import build_report, published_groups
    from generator.publication import PublishedRecord, State

    state = State(dt.date(2026, 11, 28))
    state.published = {
        "penalty": [
            PublishedRecord("penalty", rid, None, "b1", "", "", None, "", brief={}, seq=n)
            for n, rid in enumerate(["p2", "p1"])
        ]
    }
    groups = published_groups(state)
    assert groups == {("penalty", "b1"): "p2\np1"}
    report = build_report(state, {("penalty", "b1"): "p2\np1\np0"}, groups)
    assert report["counts"] == {"new": 0, "updated": 0, "removed": 1}
