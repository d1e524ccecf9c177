"""Batches: an approval is a signed entry of the publication log that pins the records' BLAKE3 and
the manifest; a changed batch is refused; status lists all; legacy approval.json sites migrate."""

from __future__ import annotations

import hashlib
import json

import blake3
import pytest

from generator.batches import BatchStore
from generator.settings import load_config


def log_entries(site) -> list[dict]:
    path = site.batches / "publication-log.jsonl"
    return (
        [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        if path.exists()
        else []
    )


def test_approve_signs_editor_time_records_and_manifest_into_the_log(site, department_csv):
    batch = site.ingest(department_csv, "penalty").batch_id
    result = site.run("approve", batch, "--editor", "测试编辑甲")
    assert result.exit_code == 0 and "已审核通过" in result.stdout
    approval = log_entries(site)[-1]
    manifest_text = (site.batches / batch / "manifest.json").read_text(encoding="utf-8")
    manifest = json.loads(manifest_text)
    records = (site.batches / batch / "records.jsonl").read_bytes()
    assert (approval["action"], approval["batch"], approval["by"], approval["kind"]) == (
        "approve",
        batch,
        "测试编辑甲",
        "penalty",
    )
    assert (
        approval["records_blake3"]
        == manifest["records_blake3"]
        == blake3.blake3(records).hexdigest()
    )
    canonical = json.dumps(manifest, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    assert approval["manifest_sha256"] == hashlib.sha256(canonical.encode()).hexdigest()
    # The batch id's source
    assert manifest["records_sha256"] == hashlib.sha256(records).hexdigest()
    assert approval["at"].endswith("+08:00") and approval["sig"].startswith(
        "-----BEGIN SSH SIGNATURE-----"
    )
    assert not (site.batches / batch / "approval.json").exists()


def test_approve_refuses_an_unknown_batch(site):
    result = site.run("approve", "penalty-000000000000", "--editor", "甲")
    assert result.exit_code == 2 and "找不到批次" in result.stderr


def test_approve_refuses_a_batch_changed_since_staging(site, department_csv):
    batch = site.ingest(department_csv, "penalty").batch_id
    records = site.batches / batch / "records.jsonl"
    records.write_text(
        records.read_text(encoding="utf-8").replace("罚款人民币壹万元", "不予处罚"),
        encoding="utf-8",
    )
    before = len(log_entries(site))
    result = site.run("approve", batch, "--editor", "测试编辑甲")
    assert result.exit_code == 2
    assert "被修改过" in result.stderr
    # The test editor's trust only
    assert [e["action"] for e in log_entries(site)[before:]] == ["trust"]


def test_a_batch_changed_after_approval_is_tampered(site, department_csv):
    batch = site.stage_and_approve(department_csv, "penalty")
    records = site.batches / batch / "records.jsonl"
    records.write_text(records.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    store = BatchStore(site.path, load_config(site.path))
    assert store.publication().states[batch] == "tampered"
    status = site.run("status")
    assert "已被篡改" in status.stdout and status.exit_code == 1 and batch in status.stdout


@pytest.mark.slow
def test_two_approvals_required_means_two_different_trusted_keys(site, department_csv):
    conf = site.path / "pelicanconf.py"
    conf.write_text(
        conf.read_text(encoding="utf-8").replace(
            "APPROVALS_REQUIRED = 1", "APPROVALS_REQUIRED = 2"
        ),
        encoding="utf-8",
    )
    batch = site.ingest(department_csv, "penalty").batch_id
    first = site.run("approve", batch, "--editor", "甲")
    assert "还需另外 1 位编辑" in first.stdout
    again = site.run("approve", batch, "--editor", "甲")
    assert "已由 甲 审核过" in again.stdout
    assert "审核中" in site.run("status").stdout
    assert site.build().exit_code == 0 and not list(
        (site.path / "output" / "records").glob("*/*/*.html")
    )
    second = site.run("approve", batch, "--editor", "乙")
    assert "已审核通过" in second.stdout
    assert "已审核" in site.run("status").stdout
    assert site.build().exit_code == 0 and list(
        (site.path / "output" / "records").glob("*/*/*.html")
    )


def test_status_lists_batches_with_state_source_rows_and_approver(site, department_csv, messy):
    approved = site.stage_and_approve(department_csv, "penalty", editor="测试编辑甲")
    staged = site.ingest(messy["files"]["pledge"], "pledge").batch_id
    lines = {
        line.split("\t")[0]: line.split("\t") for line in site.run("status").stdout.splitlines()[1:]
    }
    assert lines[approved][1:6] == [
        "行政处罚",
        "department-penalty-gb18030",
        "4",
        "已审核",
        "测试编辑甲",
    ]
    assert lines[staged][4] == "待审核"


def test_status_in_an_empty_site(site):
    result = site.run("status")
    assert result.exit_code == 0 and "还没有任何批次" in result.stdout


def test_a_batch_checksum_read_again_sees_a_change_made_in_the_same_build(tmp_path, monkeypatch):
    """The build checks each batch three times and remembers the digest between checks; a write
    in between (same size, mtime put back) must still be seen."""
    import os
    import time

    from generator import fileio

    monkeypatch.setattr(fileio, "_RACY_NS", 0)  # remember at once (normally: files older than 2 s)
    path = tmp_path / "records.jsonl"
    path.write_bytes(b'{"id": "a", "fields": {"x": 1}}\n')
    first = fileio.sha256_file(path)
    assert fileio.sha256_file(path) == first and (str(path), "sha256") in fileio._DIGESTS_SEEN
    stat = path.stat()
    time.sleep(0.05)  # past the file system's timestamp tick
    path.write_bytes(b'{"id": "a", "fields": {"x": 2}}\n')
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert fileio.sha256_file(path) != first


def test_each_build_reads_every_batch_again(site, department_csv):
    """The checksum memo spans one build: a digest remembered earlier in the same process (a
    long-lived server, a test run) is never trusted by the next build."""
    import os

    from generator import fileio

    batch = site.stage_and_approve(department_csv, "penalty")
    path = site.batches / batch / "records.jsonl"
    st = os.stat(path)
    stamp = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    fileio._DIGESTS_SEEN[(str(path), "blake3")] = (stamp, "0" * 64)  # what a stale memo would say
    result = site.build()
    assert result.exit_code == 0, result.output
    assert fileio._DIGESTS_SEEN.get((str(path), "blake3"), (None, ""))[1] != "0" * 64


def test_checksums_hashed_in_background_threads_are_the_files_and_see_later_changes(tmp_path):
    import hashlib
    import os
    import time

    from generator.fileio import (
        file_digest,
        forget_checksums,
        prefetch_checksums,
        sha256_file,
        wait_for_checksums,
    )

    files = []
    for number in range(5):
        path = tmp_path / f"records-{number}.jsonl"
        path.write_bytes(os.urandom(1 << 16) * (number + 1))
        old = time.time() - 60  # past the racy window, so the digests are remembered
        os.utime(path, (old, old))
        files.append(path)
    missing = tmp_path / "gone.jsonl"
    forget_checksums()
    prefetch_checksums(
        [(p, algorithm) for p in [*files, missing] for algorithm in ("sha256", "blake3")], threads=2
    )
    assert [sha256_file(p) for p in files] == [
        hashlib.sha256(p.read_bytes()).hexdigest() for p in files
    ]
    assert [file_digest(p, "blake3") for p in files] == [
        blake3.blake3(p.read_bytes()).hexdigest() for p in files
    ]
    try:
        sha256_file(missing)
    except FileNotFoundError:
        pass
    else:
        raise AssertionError("a missing file must raise, not come back from the memo")
    wait_for_checksums()  # the memo stays
    # Changed after it was hashed: the stat changed, so it is read again
    with files[0].open("ab") as fh:
        fh.write(b"tampered")
    assert sha256_file(files[0]) == hashlib.sha256(files[0].read_bytes()).hexdigest()
    assert file_digest(files[0], "blake3") == blake3.blake3(files[0].read_bytes()).hexdigest()


def _legacy_approval(
    site,
    batch: str,
    editor: str = "旧编辑",
    at: str = "2026-11-20T09:00:00+08:00",
    blake3_pin: bool = True,
) -> None:
    """Make a staged batch look approved the way sites were before the publication log: an unsigned
    approval.json (and, with ``blake3_pin`` False, a manifest from before BLAKE3)."""
    path = site.batches / batch / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    if not blake3_pin:
        manifest.pop("records_blake3")
        path.write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    pins = {k: manifest[k] for k in ("records_sha256", "records_blake3") if k in manifest}
    approval = {"batch_id": batch, "approvals": [{"editor": editor, "approved_at": at, **pins}]}
    (site.batches / batch / "approval.json").write_text(
        json.dumps(approval, ensure_ascii=False), encoding="utf-8"
    )


def test_a_legacy_approval_json_is_not_published_until_migrated(site, department_csv, messy):
    """The unsigned approval.json of sites made before the log: the build refuses it, naming the
    batch and the command; `disclose migrate` re-signs it (sha256-only batches get BLAKE3 on the way),
    keeping its approval time; then the site publishes it, and a second migrate has nothing to do."""
    old = site.ingest(department_csv, "penalty").batch_id
    older = site.ingest(messy["files"]["pledge"], "pledge").batch_id
    pending = site.ingest(messy["files"]["license"], "license").batch_id
    _legacy_approval(site, old, at="2026-11-21T09:00:00+08:00")
    _legacy_approval(site, older, at="2026-11-20T09:00:00+08:00", blake3_pin=False)
    refused = site.build()
    assert (
        refused.exit_code == 1
        and "disclose migrate" in refused.stderr
        and not (site.path / "output").exists()
    )
    site.editor("迁移编辑")
    result = site.run("migrate", "--editor", "迁移编辑")
    assert result.exit_code == 0, result.stderr
    approvals = [e for e in log_entries(site) if e["action"] == "approve"]
    assert [(e["batch"], e["at"], e["by"]) for e in approvals] == [
        (older, "2026-11-20T09:00:00+08:00", "迁移编辑"),
        (old, "2026-11-21T09:00:00+08:00", "迁移编辑"),
    ]
    assert approvals[0]["migrated"] == [
        {"editor": "旧编辑", "approved_at": "2026-11-20T09:00:00+08:00"}
    ]
    records = (site.batches / older / "records.jsonl").read_bytes()
    assert (
        json.loads((site.batches / older / "manifest.json").read_text(encoding="utf-8"))[
            "records_blake3"
        ]
        == blake3.blake3(records).hexdigest()
    )
    assert not list(site.batches.glob("*/approval.json"))
    assert "迁移完成：0 个批次" in site.run("migrate", "--editor", "迁移编辑").stdout
    assert site.build().exit_code == 0
    states = BatchStore(site.path, load_config(site.path)).publication().states
    assert (states[old], states[older], states[pending]) == ("approved", "approved", "staged")


def test_migrate_refuses_a_batch_changed_since_its_old_approval(site, department_csv):
    batch = site.ingest(department_csv, "penalty").batch_id
    _legacy_approval(site, batch)
    records = site.batches / batch / "records.jsonl"
    records.write_bytes(records.read_bytes().replace("罚款".encode(), "警告".encode(), 1))
    site.editor("迁移编辑")
    before = (site.batches / "publication-log.jsonl").read_bytes()
    result = site.run("migrate", "--editor", "迁移编辑")
    assert result.exit_code == 2 and batch in result.stderr and "Traceback" not in result.stderr
    assert (site.batches / "publication-log.jsonl").read_bytes() == before
    assert (site.batches / batch / "approval.json").exists()


def test_migrate_masks_an_id_number_in_an_old_approvals_editor_name(site, department_csv):
    """Issue 26: an old approval.json held the editor's name as typed, an ID number too; the log
    entry that migrates it keeps the name masked."""
    batch = site.ingest(department_csv, "penalty").batch_id
    _legacy_approval(site, batch, editor="旧编辑 320902198503057774")
    site.editor("迁移编辑")
    assert site.run("migrate", "--editor", "迁移编辑").exit_code == 0
    log = (site.batches / "publication-log.jsonl").read_text(encoding="utf-8")
    assert "320902198503057774" not in log
    assert [e["migrated"] for e in log_entries(site) if e["action"] == "approve"] == [
        [{"editor": "旧编辑 3209**********7774", "approved_at": "2026-11-20T09:00:00+08:00"}]
    ]


def test_repin_adds_blake3_to_a_staged_batch_from_before_it(site, department_csv):
    batch = site.ingest(department_csv, "penalty").batch_id
    path = site.batches / batch / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(
        json.dumps({k: v for k, v in manifest.items() if k != "records_blake3"}), encoding="utf-8"
    )
    refused = site.run("approve", batch, "--editor", "测试编辑甲")
    assert refused.exit_code == 2 and "disclose repin" in refused.stderr
    result = site.run("repin")
    assert result.exit_code == 0 and f"批次 {batch} 已加记 BLAKE3 校验值" in result.stdout
    assert (
        json.loads(path.read_text(encoding="utf-8"))["records_blake3"] == manifest["records_blake3"]
    )
    assert "所有批次都已有 BLAKE3 校验值" in site.run("repin").stdout
    assert site.run("approve", batch, "--editor", "测试编辑甲").exit_code == 0


def test_repin_refuses_a_tampered_batch_and_leaves_it_as_it_is(site, department_csv):
    batch = site.ingest(department_csv, "penalty").batch_id
    _legacy_approval(site, batch, blake3_pin=False)
    records = site.batches / batch / "records.jsonl"
    records.write_bytes(records.read_bytes() + b"\n")
    before = {p.name: p.read_bytes() for p in (site.batches / batch).iterdir()}
    result = site.run("repin")
    assert result.exit_code == 2
    assert (
        batch in result.stderr
        and "sha256 不符" in result.stderr
        and "Traceback" not in result.stderr
    )
    assert {p.name: p.read_bytes() for p in (site.batches / batch).iterdir()} == before
