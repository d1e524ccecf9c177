"""Editors' keys, the trusted-editors list and the publication log's command-line contract."""

from __future__ import annotations

import json
import shutil
import stat
import subprocess

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generator import ledger as publog
from generator import signing

from .conftest import FIXTURES


def log_lines(site) -> list[bytes]:
    path = site.batches / "publication-log.jsonl"
    return path.read_bytes().splitlines() if path.exists() else []


def test_editor_init_makes_an_openssh_key_pair_and_prints_the_public_key_last(
    site, tmp_path, monkeypatch
):
    monkeypatch.setenv("DISCLOSE_KEY_DIR", str(tmp_path / "keys"))
    result = site.run("editor", "init", "编辑张三")
    assert result.exit_code == 0, result.stderr
    assert result.last_line.startswith("ssh-ed25519 AAAA") and result.last_line.endswith(
        " 编辑张三"
    )
    private = tmp_path / "keys" / "编辑张三"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert (tmp_path / "keys" / "编辑张三.pub").read_text(
        encoding="utf-8"
    ).strip() == result.last_line
    if shutil.which("ssh-keygen"):  # OpenSSH reads both halves
        shown = subprocess.run(
            ["ssh-keygen", "-y", "-f", str(private)], capture_output=True, text=True
        )
        assert shown.stdout.split()[:2] == result.last_line.split()[:2]
    again = site.run("editor", "init", "编辑张三")
    assert again.exit_code == 2 and "不会覆盖" in again.stderr and "Traceback" not in again.stderr
    assert not list(site.path.rglob("编辑张三"))  # nothing of the key inside the site


def test_names_that_cannot_be_file_names_or_hide_numbers_are_refused(site, tmp_path, monkeypatch):
    monkeypatch.setenv("DISCLOSE_KEY_DIR", str(tmp_path / "keys"))
    for name in ("../evil", ".hidden", "a b", "张三320902198503057774", ""):
        result = site.run("editor", "init", name)
        assert result.exit_code == 2 and "编辑名" in result.stderr, name
    assert not (tmp_path / "keys").exists() or not any((tmp_path / "keys").iterdir())


def test_trust_on_first_use_then_only_trusted_editors_change_the_list(site, tmp_path, monkeypatch):
    monkeypatch.setenv("DISCLOSE_KEY_DIR", str(tmp_path / "keys"))
    site.auto_trust = False
    pub = {name: site.run("editor", "init", name).last_line for name in ("甲", "乙", "丙")}
    first = site.run("editor", "trust", "甲", str(tmp_path / "keys" / "甲.pub"))
    assert first.exit_code == 0, first.stderr
    assert "首次信任" in first.stdout
    unsigned = site.run("editor", "trust", "乙", pub["乙"])
    assert unsigned.exit_code == 2 and "--by" in unsigned.stderr
    by_untrusted = site.run("editor", "trust", "乙", pub["乙"], "--by", "丙")
    assert by_untrusted.exit_code == 2 and "不是本站受信任的编辑" in by_untrusted.stderr
    assert len(log_lines(site)) == 1
    assert site.run("editor", "trust", "乙", pub["乙"], "--by", "甲").exit_code == 0
    listing = site.run("editor", "list")
    assert [line.split("\t")[0] for line in listing.stdout.splitlines()[1:]] == ["乙", "甲"]
    assert signing.fingerprint(pub["乙"]) in listing.stdout
    allowed = (site.path / "content" / "editors" / "allowed_signers").read_text(encoding="utf-8")
    assert f'乙 namespaces="{signing.NAMESPACE}" {" ".join(pub["乙"].split()[:2])}' in allowed
    same_key = site.run("editor", "trust", "丙", pub["乙"], "--by", "甲")
    assert same_key.exit_code == 2 and "已属于编辑" in same_key.stderr
    assert site.run("editor", "revoke", "乙", "--by", "甲").exit_code == 0
    last = site.run("editor", "revoke", "甲", "--by", "甲")
    assert last.exit_code == 2 and "最后一位" in last.stderr


def test_approve_refuses_a_missing_key_an_untrusted_editor_and_a_wrong_key(
    site, tmp_path, monkeypatch
):
    monkeypatch.setenv("DISCLOSE_KEY_DIR", str(tmp_path / "keys"))
    site.auto_trust = False
    batch = site.ingest(FIXTURES / "department-penalty-gb18030.csv", "penalty").batch_id
    site.run("editor", "init", "甲")
    assert site.run("editor", "trust", "甲", str(tmp_path / "keys" / "甲.pub")).exit_code == 0
    before = log_lines(site)
    missing = site.run("approve", batch, "--editor", "无钥匙")
    assert missing.exit_code == 2 and "找不到编辑 无钥匙 的私钥" in missing.stderr
    site.run("editor", "init", "未受信任")
    untrusted = site.run("approve", batch, "--editor", "未受信任")
    assert untrusted.exit_code == 2 and "不在本站受信任的编辑名单中" in untrusted.stderr
    signing.create_key("冒充", tmp_path / "other")
    wrong = site.run("approve", batch, "--editor", "甲", "--key", str(tmp_path / "other" / "冒充"))
    assert wrong.exit_code == 2 and "不是本站为编辑 甲 登记的公钥" in wrong.stderr
    garbage = tmp_path / "garbage"
    garbage.write_text("not a key", encoding="utf-8")
    unreadable = site.run("approve", batch, "--editor", "甲", "--key", str(garbage))
    assert unreadable.exit_code == 2 and "不是可用的" in unreadable.stderr
    for result in (missing, untrusted, wrong, unreadable):
        assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert log_lines(site) == before
    assert site.run("approve", batch, "--editor", "甲").exit_code == 0


def test_a_lost_key_is_replaced_by_another_editor_and_the_old_key_signs_nothing(
    site, tmp_path, monkeypatch
):
    monkeypatch.setenv("DISCLOSE_KEY_DIR", str(tmp_path / "keys"))
    site.auto_trust = False
    for name in ("甲", "乙"):
        site.run("editor", "init", name)
    site.run("editor", "trust", "甲", str(tmp_path / "keys" / "甲.pub"))
    site.run("editor", "trust", "乙", str(tmp_path / "keys" / "乙.pub"), "--by", "甲")
    old_key = tmp_path / "old-甲"
    shutil.move(tmp_path / "keys" / "甲", old_key)
    (tmp_path / "keys" / "甲.pub").unlink()
    new_pub = site.run("editor", "init", "甲").last_line
    assert site.run("editor", "trust", "甲", new_pub, "--by", "乙").exit_code == 0
    batch = site.ingest(FIXTURES / "department-penalty-gb18030.csv", "penalty").batch_id
    old = site.run("approve", batch, "--editor", "甲", "--key", str(old_key))
    assert old.exit_code == 2 and "登记的公钥" in old.stderr
    assert site.run("approve", batch, "--editor", "甲").exit_code == 0
    assert site.build().exit_code == 0


@pytest.mark.skipif(not shutil.which("ssh-keygen"), reason="OpenSSH's ssh-keygen is not installed")
def test_every_signature_checks_with_openssh(site, tmp_path):
    site.stage_and_approve(FIXTURES / "department-penalty-gb18030.csv", "penalty")
    site.editor("测试编辑乙")
    result = site.run("log", "--ssh-keygen")
    assert result.exit_code == 0, result.stderr
    assert "全部 3 条签名有效" in result.stdout
    # By hand, as docs/cli.md shows: the signed bytes are the entry without `sig`, canonical JSON.
    entry = json.loads(log_lines(site)[-1])
    (tmp_path / "entry.sig").write_text(entry["sig"], encoding="utf-8")
    checked = subprocess.run(
        [
            "ssh-keygen",
            "-Y",
            "verify",
            "-f",
            str(site.path / "content" / "editors" / "allowed_signers"),
            "-I",
            entry["by"],
            "-n",
            signing.NAMESPACE,
            "-s",
            str(tmp_path / "entry.sig"),
        ],
        input=publog.signed_bytes(entry),
        capture_output=True,
    )
    assert checked.returncode == 0, checked.stderr
    assert b"Good" in checked.stdout + checked.stderr
    checked = subprocess.run(
        [
            "ssh-keygen",
            "-Y",
            "verify",
            "-f",
            str(site.path / "content" / "editors" / "allowed_signers"),
            "-I",
            entry["by"],
            "-n",
            signing.NAMESPACE,
            "-s",
            str(tmp_path / "entry.sig"),
        ],
        input=publog.signed_bytes({**entry, "at": "2026-01-01T00:00:00+08:00"}),
        capture_output=True,
    )
    assert checked.returncode != 0


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.one_of(
            st.binary(max_size=80),
            st.text(max_size=80).map(str.encode),
            st.dictionaries(
                st.sampled_from(
                    [
                        "n",
                        "prev",
                        "action",
                        "at",
                        "by",
                        "key",
                        "sig",
                        "batch",
                        "editor",
                        "public_key",
                        "kind",
                        "records_blake3",
                        "manifest_sha256",
                    ]
                ),
                st.one_of(st.integers(-2, 3), st.text(max_size=12), st.none()),
            ).map(lambda d: json.dumps(d, ensure_ascii=False).encode()),
        ),
        max_size=6,
    )
)
def test_any_log_file_reads_as_entries_or_problems_never_an_exception(tmp_path_factory, lines):
    root = tmp_path_factory.mktemp("log")
    paths = publog.LogPaths(root, "batches", "editors")
    paths.batches.mkdir()
    paths.log.write_bytes(b"\n".join(lines) + (b"\n" if lines else b""))
    ledger = publog.read(paths)
    assert ledger.entries == [] and (ledger.problems or not lines or lines == [b""])
    assert all("\n" not in problem for problem in ledger.problems)
