"""The tamper suite: someone who can write files in the site, but holds no trusted key, tries to
publish, change or remove records. Every attempt must stop the build (exit 1, one Chinese line
naming the batch or the log entry, no traceback) with ``output/`` exactly as it was — or, where the
attempt cannot change what is published, leave the site as it was.

Each attack starts from a copy of one built site: two record batches approved, one record withdrawn,
one batch staged and not approved, and two trusted editors (甲 approves, 乙 is trusted and revoked).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from generator import ledger as publog
from generator import signing

from .conftest import FIXTURES, TODAY, SiteRoot, run_console
from .sitecheck import tree_digest

LOG = "publication-log.jsonl"


class Copy(SiteRoot):
    """An existing site root (no copying of the theme again)."""

    def __init__(self, path: Path):  # noqa: D107 - see SiteRoot
        self.path = path


@pytest.fixture(scope="module")
def base(tmp_path_factory, messy):
    root = tmp_path_factory.mktemp("tamper") / "site"
    root.mkdir()
    site = SiteRoot(root)
    penalty = site.stage_and_approve(messy["files"]["penalty"], "penalty", editor="甲")
    pledge = site.stage_and_approve(messy["files"]["pledge"], "pledge", editor="甲")
    withdrawal = site.withdraw(messy["marks"]["withdraw_docno"], "penalty", "信用修复", "乙")
    assert site.run("approve", withdrawal, "--editor", "甲").exit_code == 0
    site.editor("乙")
    assert site.run("editor", "revoke", "乙", "--by", "甲").exit_code == 0
    staged = site.ingest(FIXTURES / "department-penalty-gb18030.csv", "penalty").batch_id
    assert site.build().exit_code == 0
    return {
        "root": root,
        "penalty": penalty,
        "pledge": pledge,
        "withdrawal": withdrawal,
        "staged": staged,
        "marks": messy["marks"],
    }


@pytest.fixture
def attack(base, tmp_path):
    root = tmp_path / "site"
    shutil.copytree(base["root"], root, symlinks=True)
    site = Copy(root)
    site.auto_trust = False  # an attacker has no trusted key
    return {**base, "site": site, "root": root, "before": tree_digest(root / "output")}


def refused(attack, *needles: str, build_args: tuple[str, ...] = ()) -> str:
    """The build refuses: exit 1, one line naming what is wrong, output unchanged."""
    site = attack["site"]
    result = site.run("build", "--today", TODAY, *build_args)
    assert result.exit_code == 1, result.stdout + result.stderr
    message = result.stderr.strip()
    assert (
        len(message.splitlines()) == 1 and "Traceback" not in message and "内部错误" not in message
    ), message
    for needle in needles:
        assert needle in message, message
    assert "网站保持不变" in message
    assert tree_digest(attack["root"] / "output") == attack["before"]
    status = site.run("status")  # `disclose status` shows what the build refuses on
    assert (
        status.exit_code == 1
        and message.removeprefix("错误：").split("（另有")[0].split("；已停止构建")[0][:30]
        in status.stdout
    )
    return message


def entries(site) -> list[dict]:
    return [
        json.loads(line) for line in (site.batches / LOG).read_text(encoding="utf-8").splitlines()
    ]


def write_entries(site, items: list[dict]) -> None:
    text = "".join(
        json.dumps(e, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n"
        for e in items
    )
    (site.batches / LOG).write_text(text, encoding="utf-8")


def chained(items: list[dict]) -> list[dict]:
    """Renumber and re-chain entries (what an attacker can do without any key)."""
    out, prev = [], ""
    for n, entry in enumerate(items):
        entry = {**entry, "n": n, "prev": prev}
        out.append(entry)
        prev = hashlib.sha256(
            json.dumps(entry, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
        ).hexdigest()
    return out


def mallory(tmp_path) -> signing.Ed25519Signer:
    return signing.create_key("mallory", tmp_path / "mallory-keys")


# -- forged approvals --------------------------------------------------------------------------------


def test_an_approval_json_written_into_a_staged_batch_is_refused(attack):
    site, batch = attack["site"], attack["staged"]
    manifest = json.loads((site.batches / batch / "manifest.json").read_text(encoding="utf-8"))
    approval = {
        "batch_id": batch,
        "approvals": [
            {
                "editor": "甲",
                "approved_at": "2026-11-25T09:00:00+08:00",
                "records_blake3": manifest["records_blake3"],
            }
        ],
    }
    (site.batches / batch / "approval.json").write_text(json.dumps(approval), encoding="utf-8")
    refused(attack, batch, "approval.json")


def test_a_hand_made_batch_whose_digests_agree_is_never_published(attack):
    site = attack["site"]
    fake = site.batches / "penalty-0123456789ab"
    shutil.copytree(site.batches / attack["staged"], fake)
    records = (fake / "records.jsonl").read_bytes().replace("罚款".encode(), "警告".encode())
    (fake / "records.jsonl").write_bytes(records)
    import blake3

    manifest = json.loads((fake / "manifest.json").read_text(encoding="utf-8"))
    manifest.update(
        batch_id=fake.name,
        records_sha256=hashlib.sha256(records).hexdigest(),
        records_blake3=blake3.blake3(records).hexdigest(),
    )
    (fake / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    # Staged only: nothing is published from it.
    result = site.run("build", "--today", TODAY)
    assert result.exit_code == 0, result.stderr
    assert tree_digest(attack["root"] / "output") == attack["before"]
    # With an approval file: refused.
    (fake / "approval.json").write_text(
        json.dumps({"approvals": [{"editor": "甲", "approved_at": "2026-11-25T09:00:00+08:00"}]}),
        encoding="utf-8",
    )
    refused(attack, fake.name)


def test_an_approval_entry_signed_by_an_untrusted_key_is_refused(attack, tmp_path):
    site, key = attack["site"], mallory(tmp_path)
    items = entries(site)
    manifest = json.loads(
        (site.batches / attack["staged"] / "manifest.json").read_text(encoding="utf-8")
    )
    entry = {
        "n": len(items),
        "prev": hashlib.sha256((site.batches / LOG).read_bytes().splitlines()[-1]).hexdigest(),
        "action": "approve",
        "at": "2026-11-25T09:00:00+08:00",
        "by": "mallory",
        "key": signing.fingerprint(key.public_key()),
        "batch": attack["staged"],
        "kind": "penalty",
        "records_blake3": manifest["records_blake3"],
        "manifest_sha256": publog.manifest_digest(manifest),
    }
    entry["sig"] = key.sign(publog.signed_bytes(entry))
    write_entries(site, [*items, entry])
    refused(attack, f"第 {len(items) + 1} 条", "mallory", "不是此时受信任的编辑")


def test_an_entry_in_a_trusted_editors_name_signed_with_another_key_is_refused(attack, tmp_path):
    site, key = attack["site"], mallory(tmp_path)
    items = entries(site)
    manifest = json.loads(
        (site.batches / attack["staged"] / "manifest.json").read_text(encoding="utf-8")
    )
    entry = {
        "n": len(items),
        "prev": hashlib.sha256((site.batches / LOG).read_bytes().splitlines()[-1]).hexdigest(),
        "action": "approve",
        "at": "2026-11-25T09:00:00+08:00",
        "by": "甲",
        "key": items[0]["key"],
        "batch": attack["staged"],
        "kind": "penalty",
        "records_blake3": manifest["records_blake3"],
        "manifest_sha256": publog.manifest_digest(manifest),
    }
    entry["sig"] = key.sign(publog.signed_bytes(entry))
    write_entries(site, [*items, entry])
    refused(attack, "签名无效")


def test_a_trust_entry_for_the_attackers_own_key_is_refused(attack, tmp_path):
    site, key = attack["site"], mallory(tmp_path)
    items = entries(site)
    entry = {
        "n": len(items),
        "prev": hashlib.sha256((site.batches / LOG).read_bytes().splitlines()[-1]).hexdigest(),
        "action": "trust",
        "at": "2026-11-25T09:00:00+08:00",
        "by": "mallory",
        "key": signing.fingerprint(key.public_key()),
        "editor": "mallory",
        "public_key": key.public_key(),
    }
    entry["sig"] = key.sign(publog.signed_bytes(entry))
    write_entries(site, [*items, entry])
    refused(attack, "mallory")


def test_a_hand_edited_trusted_editors_list_is_refused(attack, tmp_path):
    site, key = attack["site"], mallory(tmp_path)
    allowed = site.path / "content" / "editors" / "allowed_signers"
    allowed.write_text(
        allowed.read_text(encoding="utf-8")
        + f'mallory namespaces="{signing.NAMESPACE}" {key.public_key()}\n',
        encoding="utf-8",
    )
    refused(attack, "allowed_signers", "手工修改")


def test_a_key_signs_nothing_after_it_was_revoked(attack):
    """乙 was trusted, then revoked: a well-formed, chained entry signed with 乙's real key is refused."""
    site = attack["site"]
    key = signing.load_signer("乙")
    items = entries(site)
    manifest = json.loads(
        (site.batches / attack["staged"] / "manifest.json").read_text(encoding="utf-8")
    )
    entry = {
        "n": len(items),
        "prev": hashlib.sha256((site.batches / LOG).read_bytes().splitlines()[-1]).hexdigest(),
        "action": "approve",
        "at": "2026-11-25T09:00:00+08:00",
        "by": "乙",
        "key": signing.fingerprint(key.public_key()),
        "batch": attack["staged"],
        "kind": "penalty",
        "records_blake3": manifest["records_blake3"],
        "manifest_sha256": publog.manifest_digest(manifest),
    }
    entry["sig"] = key.sign(publog.signed_bytes(entry))
    write_entries(site, [*items, entry])
    refused(attack, "乙", "未知或已撤销")
    write_entries(site, items)
    cli = site.run("approve", attack["staged"], "--editor", "乙")
    assert cli.exit_code == 2 and "不在本站受信任的编辑名单中" in cli.stderr


# -- the log rewritten -----------------------------------------------------------------------------


def test_re_dating_the_withdrawal_to_bring_the_record_back_is_refused(attack):
    site = attack["site"]
    items = entries(site)
    index = next(i for i, e in enumerate(items) if e.get("batch") == attack["withdrawal"])
    items[index]["at"] = "2026-11-01T09:00:00+08:00"
    write_entries(site, items)
    refused(attack, f"第 {index + 1} 条", "签名无效")


def test_moving_the_withdrawal_before_the_batch_it_withdraws_is_refused(attack):
    """Reordering is what re-dating did before the log: the order is the log's, and its chain holds it."""
    site = attack["site"]
    items = entries(site)
    w = next(i for i, e in enumerate(items) if e.get("batch") == attack["withdrawal"])
    p = next(i for i, e in enumerate(items) if e.get("batch") == attack["penalty"])
    items[w], items[p] = items[p], items[w]
    write_entries(site, items)
    refused(attack, f"第 {p + 1} 条")
    write_entries(site, chained(items))  # re-chained by hand: the signatures cover n and prev
    refused(attack, "签名无效")


@pytest.mark.parametrize("where", ["middle", "last"])
def test_deleting_an_entry_is_refused(attack, where):
    site = attack["site"]
    items = entries(site)
    index = 2 if where == "middle" else len(items) - 1
    write_entries(site, items[:index] + items[index + 1 :])
    if where == "middle":
        refused(attack, f"第 {index + 1} 条")
    else:  # the chain still holds (and the editors' list is made to match it), but the live site published a longer log
        paths = publog.LogPaths(site.path, "content/batches", "content/editors")
        paths.allowed_signers.write_text(publog.read(paths).allowed_signers(), encoding="utf-8")
        refused(attack, "没有延续上次发布的日志头")


def test_replaying_an_approval_is_refused(attack):
    site = attack["site"]
    items = entries(site)
    replay = next(e for e in items if e["action"] == "approve")
    write_entries(site, [*items, replay])
    refused(attack, f"第 {len(items) + 1} 条", "序号")
    write_entries(site, chained([*items, replay]))
    refused(attack, "签名无效")


def test_inserting_an_entry_is_refused(attack):
    site = attack["site"]
    items = entries(site)
    write_entries(site, [*items[:2], items[1], *items[2:]])
    refused(attack, "第 3 条")


def test_a_truncated_log_line_is_refused(attack):
    site = attack["site"]
    path = site.batches / LOG
    path.write_bytes(path.read_bytes()[:-40])
    refused(attack, "发布日志")


def test_a_log_rolled_back_to_an_older_version_is_refused(attack, tmp_path):
    """The live site published head H; the repository's log is restored to a state before H (as a
    revert or a forced push would): refused against output/, and against --published-head on a fresh
    machine with no output at all."""
    site = attack["site"]
    old_log = (site.batches / LOG).read_bytes()
    batch = attack["staged"]
    site.auto_trust = True
    assert site.run("approve", batch, "--editor", "甲").exit_code == 0
    assert site.build().exit_code == 0
    head = tmp_path / "deployed-log-head.json"
    shutil.copy(site.path / "output" / "log-head.json", head)
    attack["before"] = tree_digest(attack["root"] / "output")
    (site.batches / LOG).write_bytes(old_log)
    refused(attack, "没有延续上次发布的日志头")
    shutil.rmtree(site.path / "output")
    shutil.rmtree(site.path / ".output.disclose-manifest", ignore_errors=True)
    Path(site.path / ".output.disclose-manifest").unlink(missing_ok=True)
    result = site.run("build", "--today", TODAY, "--published-head", str(head))
    assert result.exit_code == 1 and "没有延续上次发布的日志头" in result.stderr
    assert not (site.path / "output").exists()


# -- approved batches changed --------------------------------------------------------------------------


def test_a_forged_source_in_an_approved_manifest_is_refused(attack):
    site, batch = attack["site"], attack["penalty"]
    path = site.batches / batch / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(
        json.dumps({**manifest, "source": "伪造的来源"}, ensure_ascii=False, indent=2),
        encoding="utf-8",
    )
    refused(attack, batch, "manifest.json", "信息来源")


def test_changed_records_of_an_approved_batch_are_refused(attack):
    site, batch = attack["site"], attack["penalty"]
    path = site.batches / batch / "records.jsonl"
    path.write_bytes(path.read_bytes().replace("罚款".encode(), "警告".encode(), 1))
    refused(attack, batch, "审核后被修改")


def test_deleting_an_approved_batch_is_refused_not_silently_unpublished(attack):
    site, batch = attack["site"], attack["pledge"]
    shutil.rmtree(site.batches / batch)
    refused(attack, batch, "不存在")


@pytest.mark.parametrize("what", ["folder", "records", "manifest"])
def test_an_approved_batch_or_its_file_replaced_by_a_symlink_is_refused(attack, tmp_path, what):
    site, batch = attack["site"], attack["penalty"]
    folder = site.batches / batch
    if what == "folder":
        shutil.move(folder, tmp_path / batch)
        folder.symlink_to(tmp_path / batch, target_is_directory=True)
    else:
        name = "records.jsonl" if what == "records" else "manifest.json"
        shutil.move(folder / name, tmp_path / name)
        (folder / name).symlink_to(tmp_path / name)
    refused(attack, batch, "符号链接")


def test_a_staged_batch_folder_that_is_a_symlink_is_refused(attack, tmp_path):
    site = attack["site"]
    shutil.move(site.batches / attack["staged"], tmp_path / "elsewhere")
    (site.batches / attack["staged"]).symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    refused(attack, attack["staged"], "符号链接")


@pytest.mark.slow
def test_the_untouched_copy_builds_and_verifies(attack):
    """The control: the copy every attack starts from is a good site."""
    result = attack["site"].run("build", "--today", TODAY)
    assert result.exit_code == 0, result.stderr
    assert tree_digest(attack["root"] / "output") == attack["before"]
    done = run_console("verify", "output", "--today", TODAY, cwd=attack["root"])
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    "ops",
    [[["R", "../pelicanconf.py"]], [["N", "/etc/hostname"]], [["N", "a/../../x"]], "not a list"],
)
def test_a_planted_build_journal_moves_nothing_outside_the_output(attack, ops):
    """A journal beside the output is a file anyone who can write there may plant: its paths are
    checked before anything is renamed or removed; a journal that fails is ignored (full build)."""
    site = attack["site"]
    victim = site.path / "content" / "exports-planted"
    victim.mkdir()
    (victim / "0").write_text("open('/tmp/pwned-by-journal', 'w')\n", encoding="utf-8")
    conf = (site.path / "pelicanconf.py").read_bytes()
    journal = {
        "format": 1,
        "pid": 1,
        "kind": "apply",
        "trash": "content/exports-planted",
        "manifest": ".none",
        "kept_manifest": False,
        "folders": [],
        "ops": ops,
    }
    (site.path / ".output.disclose-journal").write_text(json.dumps(journal), encoding="utf-8")
    result = site.run("build", "--today", TODAY)
    assert result.exit_code == 0, result.stderr
    assert (site.path / "pelicanconf.py").read_bytes() == conf and (victim / "0").exists()
    assert not Path("/tmp/pwned-by-journal").exists()
    assert tree_digest(attack["root"] / "output") == attack["before"]


def test_a_planted_guide_page_carries_no_markup_no_file_and_no_other_path(attack):
    """Guide pages are files nobody signs: a page with a script, a javascript: link, its own save_as
    and template is published as its text only, at its own path; a reStructuredText page that
    includes a file of the build machine is not read at all."""
    site = attack["site"]
    pages = site.path / "content" / "pages"
    (pages / "planted.md").write_text(
        "Title: 公告\nSave_as: index.html\nTemplate: record\n\n"
        '<script>alert(1)</script>正文 <a href="javascript:alert(1)">链接</a>\n',
        encoding="utf-8",
    )
    (pages / "leak.rst").write_text(
        "标题\n====\n\n.. include:: /etc/hostname\n   :literal:\n", encoding="utf-8"
    )
    result = site.run("build", "--today", TODAY)
    assert result.exit_code == 0, result.stderr
    out = attack["root"] / "output"
    page = (out / "pages" / "planted.html").read_text(encoding="utf-8")
    assert "正文" in page and "alert" not in page and "javascript:" not in page
    home = (out / "index.html").read_text(encoding="utf-8")
    # Still the home page
    assert "<script>alert" not in home and "正文 <a" not in home and "最新公示" in home
    assert not (out / "pages" / "leak.html").exists()
    hostname = Path("/etc/hostname").read_text(encoding="utf-8").strip()
    assert not hostname or not any(
        hostname in p.read_text(encoding="utf-8", errors="ignore")
        for p in (out / "pages").iterdir()
    )


def _append_signed_like(site, **fields) -> None:
    """A line chained onto the log as an attacker could write it (any fields, a junk signature)."""
    items = entries(site)
    prev = hashlib.sha256((site.batches / LOG).read_bytes().splitlines()[-1]).hexdigest()
    entry = {
        "n": len(items),
        "prev": prev,
        "action": "trust",
        "at": "2026-11-25T09:00:00+08:00",
        "by": "甲",
        "key": items[0]["key"],
        "public_key": items[0]["public_key"],
        "sig": "x",
        **fields,
    }
    with (site.batches / LOG).open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(entry, ensure_ascii=True) + "\n")


@pytest.mark.parametrize(
    "plant",
    [
        "lone surrogate",
        "deep nesting",
        "broken staged manifest",
        "head: infinity",
        "head: negative",
    ],
)
def test_hostile_files_get_a_one_line_refusal_never_a_traceback(attack, plant):
    site = attack["site"]
    if plant == "lone surrogate":
        _append_signed_like(site, editor="\ud800")
    elif plant == "deep nesting":
        with (site.batches / LOG).open("a", encoding="utf-8") as fh:
            fh.write("[" * 100_000 + "\n")
    elif plant == "broken staged manifest":
        (site.batches / attack["staged"] / "manifest.json").write_text("{", encoding="utf-8")
        result = site.run("build", "--today", TODAY)
        assert (
            result.exit_code == 0
            and "Traceback" not in result.stderr
            and "内部错误" not in result.stderr
        )
        approve = site.run("approve", attack["staged"], "--editor", "甲")
        assert approve.exit_code == 2 and "manifest.json" in approve.stderr
        return
    else:
        value = "Infinity" if plant == "head: infinity" else "-5"
        (attack["root"] / "output" / "log-head.json").write_text(
            f'{{"entries": {value}, "head": "x"}}', encoding="utf-8"
        )
        attack["before"] = tree_digest(attack["root"] / "output")
    result = site.run("build", "--today", TODAY)
    assert result.exit_code in (1, 2), result.stdout + result.stderr
    assert (
        len(result.stderr.strip().splitlines()) == 1
        and "Traceback" not in result.stderr
        and "内部错误" not in result.stderr
    )
    assert tree_digest(attack["root"] / "output") == attack["before"]


@pytest.mark.slow
def test_downloads_edited_in_place_with_their_mtime_put_back_are_never_copied_forward(attack):
    """The next build copies the rows of unchanged records from the live downloads: only if the
    files are the ones it wrote (their BLAKE3), never by size, mtime and inode, which an edit in
    place with ``touch -r`` keeps. Else the forged row would pass into the new files (and into
    verify's shadow copy, edited alike), with a matching catalog checksum."""
    import os

    site = attack["site"]
    out = attack["root"] / "output"
    # Files written here: the stamps are this copy's
    assert site.run("build", "--today", TODAY, "--full").exit_code == 0
    for tree in (out, attack["root"] / ".verify" / "shadow"):
        if not tree.exists():
            continue
        for name in ("penalty.csv", "penalty.json"):
            path = tree / "downloads" / name
            st = path.stat()
            data = path.read_bytes()
            # A row, not the header
            at = data.index(
                "罚款".encode(), data.index(b"\n" if name.endswith(".csv") else b'"records"') + 10
            )
            with path.open("r+b") as fh:  # same size, same inode
                fh.seek(at)
                fh.write("警告".encode())
            os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    site.auto_trust = True
    # New penalties: the downloads are rebuilt
    assert site.run("approve", attack["staged"], "--editor", "甲").exit_code == 0
    built = site.run("build", "--today", TODAY)
    # Rows of unchanged records copied
    assert built.exit_code == 0 and "增量" in built.stdout, built.stdout
    fresh = attack["root"] / "fresh"
    shutil.copytree(
        attack["root"],
        fresh,
        symlinks=True,
        ignore=shutil.ignore_patterns("output", ".output.*", ".verify", ".cache"),
    )
    assert Copy(fresh).run("build", "--today", TODAY, "--full").exit_code == 0
    for name in ("penalty.csv", "penalty.json"):
        assert (out / "downloads" / name).read_bytes() == (
            fresh / "output" / "downloads" / name
        ).read_bytes()


def test_the_publish_workflows_cannot_skip_the_live_sites_log_head(attack, tmp_path):
    """`.ci/published-head`: without the live site's address it stops the job (unless FIRST_DEPLOY=1);
    with it, the build gets the deployed log-head.json and refuses a log that does not extend it."""
    import os
    import subprocess

    from .conftest import REPO, serve_directory

    script = str(REPO / ".ci" / "published-head")
    env = {k: v for k, v in os.environ.items() if k not in ("SITE_URL", "FIRST_DEPLOY")}
    refused = subprocess.run([script], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert refused.returncode == 1 and "SITE_URL" in refused.stderr
    first = subprocess.run(
        [script], cwd=tmp_path, env={**env, "FIRST_DEPLOY": "1"}, capture_output=True, text=True
    )
    assert first.returncode == 0 and first.stdout == ""
    server, base = serve_directory(attack["root"] / "output")
    try:
        done = subprocess.run(
            [script], cwd=tmp_path, env={**env, "SITE_URL": base}, capture_output=True, text=True
        )
        assert done.returncode == 0 and done.stdout.split() == [
            "--published-head",
            ".deployed-log-head.json",
        ]
        assert json.loads((tmp_path / ".deployed-log-head.json").read_text())["entries"] == len(
            entries(attack["site"])
        )
        missing = subprocess.run(
            [script],
            cwd=tmp_path,
            env={**env, "SITE_URL": base + "/nowhere"},
            capture_output=True,
            text=True,
        )
        assert missing.returncode == 1
    finally:
        server.shutdown()
