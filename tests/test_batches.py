"""Batches: approval pins the records' digest (BLAKE3; sha256 before it); a changed batch is
refused; status lists all; repin moves old batches to BLAKE3."""

from __future__ import annotations

import hashlib
import json

import blake3

from generator.batches import BatchStore
from generator.settings import load_config


def test_approve_records_editor_time_and_checksum(site, department_csv):
    batch = site.ingest(department_csv, "penalty").batch_id
    result = site.run("approve", batch, "--editor", "测试编辑甲")
    assert result.exit_code == 0 and "已审核通过" in result.stdout
    approval = json.loads((site.batches / batch / "approval.json").read_text(encoding="utf-8"))["approvals"][0]
    manifest = json.loads((site.batches / batch / "manifest.json").read_text(encoding="utf-8"))
    records = (site.batches / batch / "records.jsonl").read_bytes()
    assert approval["editor"] == "测试编辑甲"
    assert approval["records_blake3"] == manifest["records_blake3"] == blake3.blake3(records).hexdigest()
    assert manifest["records_sha256"] == hashlib.sha256(records).hexdigest()  # the batch id's source
    assert approval["approved_at"].endswith("+08:00")


def test_approve_refuses_an_unknown_batch(site):
    result = site.run("approve", "penalty-000000000000", "--editor", "甲")
    assert result.exit_code == 2 and "找不到批次" in result.stderr


def test_approve_refuses_a_batch_changed_since_staging(site, department_csv):
    batch = site.ingest(department_csv, "penalty").batch_id
    records = site.batches / batch / "records.jsonl"
    records.write_text(records.read_text(encoding="utf-8").replace("罚款人民币壹万元", "不予处罚"), encoding="utf-8")
    result = site.run("approve", batch, "--editor", "测试编辑甲")
    assert result.exit_code == 2
    assert "被修改过" in result.stderr
    assert not (site.batches / batch / "approval.json").exists()


def test_a_batch_changed_after_approval_is_tampered(site, department_csv):
    batch = site.stage_and_approve(department_csv, "penalty")
    records = site.batches / batch / "records.jsonl"
    records.write_text(records.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    store = BatchStore(site.path, load_config(site.path))
    assert store.get(batch).approval_state(store.cfg)[0] == "tampered"
    assert "已被篡改" in site.run("status").stdout


def test_two_approvals_required_means_two_different_editors(site, department_csv):
    conf = site.path / "pelicanconf.py"
    conf.write_text(conf.read_text(encoding="utf-8").replace("APPROVALS_REQUIRED = 1", "APPROVALS_REQUIRED = 2"), encoding="utf-8")
    batch = site.ingest(department_csv, "penalty").batch_id
    first = site.run("approve", batch, "--editor", "甲")
    assert "还需另外 1 位编辑" in first.stdout
    again = site.run("approve", batch, "--editor", "甲")
    assert "已由 甲 审核过" in again.stdout
    assert "待审核" in site.run("status").stdout
    second = site.run("approve", batch, "--editor", "乙")
    assert "已审核通过" in second.stdout
    assert "已审核" in site.run("status").stdout


def test_status_lists_batches_with_state_source_rows_and_approver(site, department_csv, messy):
    approved = site.stage_and_approve(department_csv, "penalty", editor="测试编辑甲")
    staged = site.ingest(messy["files"]["pledge"], "pledge").batch_id
    lines = {line.split("\t")[0]: line.split("\t") for line in site.run("status").stdout.splitlines()[1:]}
    assert lines[approved][1:6] == ["行政处罚", "department-penalty-gb18030", "4", "已审核", "测试编辑甲"]
    assert lines[staged][4] == "待审核"


def test_status_in_an_empty_site(site):
    result = site.run("status")
    assert result.exit_code == 0 and "还没有任何批次" in result.stdout


def test_a_batch_checksum_read_again_sees_a_change_made_in_the_same_build(tmp_path, monkeypatch):
    """The build checks each batch three times and remembers the digest between checks; a write
    in between (same size, mtime put back) must still be seen."""
    import os
    import time

    from generator import batches

    monkeypatch.setattr(batches, "_RACY_NS", 0)  # remember at once (normally: files older than 2 s)
    path = tmp_path / "records.jsonl"
    path.write_bytes(b'{"id": "a", "fields": {"x": 1}}\n')
    first = batches.sha256_file(path)
    assert batches.sha256_file(path) == first and (str(path), "sha256") in batches._DIGESTS_SEEN
    stat = path.stat()
    time.sleep(0.05)  # past the file system's timestamp tick
    path.write_bytes(b'{"id": "a", "fields": {"x": 2}}\n')
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert batches.sha256_file(path) != first


def test_each_build_reads_every_batch_again(site, department_csv):
    """The checksum memo spans one build: a digest remembered earlier in the same process (a
    long-lived server, a test run) is never trusted by the next build."""
    import os

    from generator import batches

    batch = site.stage_and_approve(department_csv, "penalty")
    path = site.batches / batch / "records.jsonl"
    st = os.stat(path)
    stamp = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    batches._DIGESTS_SEEN[(str(path), "blake3")] = (stamp, "0" * 64)  # what a stale memo would say
    result = site.build()
    assert result.exit_code == 0, result.output
    assert batches._DIGESTS_SEEN.get((str(path), "blake3"), (None, ""))[1] != "0" * 64


def test_checksums_hashed_in_background_threads_are_the_files_and_see_later_changes(tmp_path):
    import hashlib
    import os
    import time

    from generator.batches import file_digest, forget_checksums, prefetch_checksums, sha256_file, wait_for_checksums

    files = []
    for number in range(5):
        path = tmp_path / f"records-{number}.jsonl"
        path.write_bytes(os.urandom(1 << 16) * (number + 1))
        old = time.time() - 60  # past the racy window, so the digests are remembered
        os.utime(path, (old, old))
        files.append(path)
    missing = tmp_path / "gone.jsonl"
    forget_checksums()
    prefetch_checksums([(p, algorithm) for p in [*files, missing] for algorithm in ("sha256", "blake3")], threads=2)
    assert [sha256_file(p) for p in files] == [hashlib.sha256(p.read_bytes()).hexdigest() for p in files]
    assert [file_digest(p, "blake3") for p in files] == [blake3.blake3(p.read_bytes()).hexdigest() for p in files]
    try:
        sha256_file(missing)
    except FileNotFoundError:
        pass
    else:
        raise AssertionError("a missing file must raise, not come back from the memo")
    wait_for_checksums()  # the memo stays
    with files[0].open("ab") as fh:  # changed after it was hashed: the stat changed, so it is read again
        fh.write(b"tampered")
    assert sha256_file(files[0]) == hashlib.sha256(files[0].read_bytes()).hexdigest()
    assert file_digest(files[0], "blake3") == blake3.blake3(files[0].read_bytes()).hexdigest()


def _edit_pins(batch_dir, **pins: str | None) -> None:
    """Set (or, with None, remove) these fields in a batch's manifest and in each of its approvals."""
    for name, key in (("manifest.json", None), ("approval.json", "approvals")):
        path = batch_dir / name
        if not path.exists():
            continue
        data = json.loads(path.read_text(encoding="utf-8"))
        for entry in (data[key] if key else [data]):
            for field, value in pins.items():
                if value is None:
                    entry.pop(field, None)
                else:
                    entry[field] = value
        path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def _as_before_blake3(batch_dir) -> None:
    """Make a batch look staged and approved before BLAKE3: its manifest and approvals pin sha256 only."""
    sha256 = json.loads((batch_dir / "manifest.json").read_text(encoding="utf-8"))["records_sha256"]
    _edit_pins(batch_dir, records_blake3=None, records_sha256=sha256)


def test_a_batch_pinned_by_sha256_only_still_publishes_and_is_still_checked(site, department_csv):
    batch = site.stage_and_approve(department_csv, "penalty")
    _as_before_blake3(site.batches / batch)
    store = BatchStore(site.path, load_config(site.path))
    assert store.get(batch).approval_state(store.cfg)[0] == "approved"
    assert site.build().exit_code == 0
    records = site.batches / batch / "records.jsonl"
    records.write_bytes(records.read_bytes().replace("罚款".encode(), "警告".encode(), 1))
    assert store.get(batch).approval_state(store.cfg)[0] == "tampered"
    result = site.build()
    assert result.exit_code != 0 and batch in result.stderr


def test_repin_adds_blake3_to_old_batches_and_builds_then_check_it(site, department_csv, messy):
    approved = site.stage_and_approve(department_csv, "penalty")
    staged = site.ingest(messy["files"]["pledge"], "pledge").batch_id
    for batch in (approved, staged):
        _as_before_blake3(site.batches / batch)
    first = site.build()
    assert first.exit_code == 0, first.stderr
    page = (site.path / "output" / "index.html").read_bytes()

    result = site.run("repin")
    assert result.exit_code == 0, result.stderr
    assert f"批次 {approved} 已加记 BLAKE3 校验值" in result.stdout and staged in result.stdout
    records = (site.batches / approved / "records.jsonl").read_bytes()
    manifest = json.loads((site.batches / approved / "manifest.json").read_text(encoding="utf-8"))
    approval = json.loads((site.batches / approved / "approval.json").read_text(encoding="utf-8"))["approvals"][0]
    assert manifest["records_blake3"] == approval["records_blake3"] == blake3.blake3(records).hexdigest()
    assert approval["records_sha256"] == manifest["records_sha256"]  # what the editor approved stays
    assert "所有批次都已有 BLAKE3 校验值" in site.run("repin").stdout  # again: nothing to do
    assert site.build().exit_code == 0
    assert (site.path / "output" / "index.html").read_bytes() == page

    # Dropping the BLAKE3 digest from the manifest falls back to sha256, which must still match.
    (site.batches / approved / "records.jsonl").write_bytes(records + b"\n")
    assert "已被篡改" in site.run("status").stdout
    (site.batches / approved / "records.jsonl").write_bytes(records)
    (site.batches / approved / "manifest.json").write_text(json.dumps({**manifest, "records_blake3": ""}), encoding="utf-8")
    assert "已被篡改" not in site.run("status").stdout
    assert site.build().exit_code == 0
    (site.batches / approved / "records.jsonl").write_bytes(records.replace("罚款".encode(), "警告".encode(), 1))
    assert "已被篡改" in site.run("status").stdout
    result = site.build()
    assert result.exit_code != 0 and approved in result.stderr


def test_an_approved_batch_whose_records_are_gone_is_tampered(site, department_csv):
    batch = site.stage_and_approve(department_csv, "penalty")
    _edit_pins(site.batches / batch, records_blake3=None, records_sha256="")  # every pin emptied, as a hand edit could
    (site.batches / batch / "records.jsonl").unlink()
    assert "已被篡改" in site.run("status").stdout
    result = site.build()
    assert result.exit_code != 0 and batch in result.stderr and "Traceback" not in result.stderr


def test_a_new_batch_without_its_blake3_in_the_manifest_is_tampered(site, department_csv):
    """Its approvals pin only BLAKE3: removing that from the manifest cannot turn the check off."""
    batch = site.stage_and_approve(department_csv, "penalty")
    path = site.batches / batch / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps({k: v for k, v in manifest.items() if k != "records_blake3"}), encoding="utf-8")
    assert "已被篡改" in site.run("status").stdout
    result = site.build()
    assert result.exit_code != 0 and batch in result.stderr


def test_repin_refuses_a_tampered_batch_and_leaves_it_as_it_is(site, department_csv):
    batch = site.stage_and_approve(department_csv, "penalty")
    _as_before_blake3(site.batches / batch)
    records = site.batches / batch / "records.jsonl"
    records.write_bytes(records.read_bytes() + b"\n")
    before = {p.name: p.read_bytes() for p in (site.batches / batch).iterdir()}
    result = site.run("repin")
    assert result.exit_code == 2
    assert batch in result.stderr and "sha256 不符" in result.stderr and "Traceback" not in result.stderr
    assert {p.name: p.read_bytes() for p in (site.batches / batch).iterdir()} == before
