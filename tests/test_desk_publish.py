"""The desk's 发布 step: an approval made on the editor's computer reaches the repository CI builds
from (git add, commit, pull --rebase, push), and a site root that is not a clone is told so."""

from __future__ import annotations

import subprocess
from pathlib import Path

from generator.desk import Desk
from generator.settings import load_config

from .conftest import TODAY_DATE, SiteRoot


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout


def test_an_approval_reaches_the_repository_the_nightly_build_reads(tmp_path, messy):
    remote = tmp_path / "site.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote))
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(remote), str(clone))
    site = SiteRoot(clone)
    for config in (("user.name", "示例编辑甲"), ("user.email", "editor@example.invalid")):
        git(clone, "config", *config)
    git(clone, "add", "-A")
    git(clone, "commit", "-q", "-m", "站点")
    git(clone, "push", "-q", "origin", "HEAD:main")
    batch = site.stage_and_approve(messy["files"]["penalty"], "penalty")

    done, said = Desk(clone, load_config(clone), TODAY_DATE).publish("编辑台：审核结果")
    assert done, said
    pushed = git(remote, "ls-tree", "-r", "--name-only", "main")
    assert f"content/batches/{batch}/records.jsonl" in pushed
    assert "content/batches/publication-log.jsonl" in pushed
    assert "编辑台：审核结果" in git(remote, "log", "-1", "--format=%s", "main")
    # Nothing new: nothing committed, still pushed (a no-op)
    assert Desk(clone, load_config(clone), TODAY_DATE).publish("again")[0]
    assert git(remote, "rev-list", "--count", "main").strip() == "2"


def test_a_site_root_that_is_not_a_clone_is_told_so(tmp_path):
    site = SiteRoot(tmp_path)
    done, said = Desk(site.path, load_config(site.path), TODAY_DATE).publish("x")
    assert not done and "不是 git 仓库" in said[-1]


def test_the_desks_desktop_shortcut_opens_this_sites_desk(tmp_path):
    """``disclose desk --shortcut DIR``: the launcher an administrator puts on an editor's desktop
    runs this installation's desk in this site root (here: asked for its help, not started)."""
    import shlex
    import sys

    (tmp_path / "site with space").mkdir()
    site = SiteRoot(tmp_path / "site with space")
    result = site.run("desk", "--shortcut", str(tmp_path / "桌面"))
    assert result.exit_code == 0, result.stderr
    launcher = next((tmp_path / "桌面").iterdir())
    text = launcher.read_text(encoding="utf-8")
    if sys.platform.startswith("linux"):
        exec_line = next(line for line in text.splitlines() if line.startswith("Exec="))
        argv = shlex.split(exec_line.removeprefix("Exec="))
        assert argv[:2] == ["sh", "-c"]
        ran = subprocess.run(
            ["sh", "-c", argv[2] + " --help"], capture_output=True, text=True, check=False
        )
        assert ran.returncode == 0, ran.stderr
        assert "editors' desk" in ran.stdout
        assert shlex.quote(str(site.path)) in argv[2]


def test_a_desk_folder_planted_as_a_link_is_refused_not_followed(tmp_path):
    """``.desk`` is git-ignored, but a link committed or planted there must not make the preview's
    log (or an upload) overwrite a file elsewhere, such as the trusted editors' list."""
    import pytest

    from generator.errors import UserError

    site = SiteRoot(tmp_path)
    victim = tmp_path / "content" / "victim.txt"
    victim.write_text("keep", encoding="utf-8")
    (tmp_path / ".desk").mkdir()
    (tmp_path / ".desk" / "preview.log").symlink_to(victim)
    desk = Desk(site.path, load_config(site.path), TODAY_DATE)
    with pytest.raises(OSError):
        desk.start_preview()
    assert victim.read_text(encoding="utf-8") == "keep"
    (tmp_path / ".desk" / "preview.log").unlink()
    (tmp_path / ".desk").rmdir()
    (tmp_path / ".desk").symlink_to(tmp_path / "content")
    with pytest.raises(UserError, match="不是普通文件夹"):
        desk.upload_path("a.csv")
