"""`disclose withdraw`: by record id or document number in any bracket style; ambiguity refused."""

from __future__ import annotations

import json

from generator.synthetic import synth_rows, write_export

from .conftest import TODAY_DATE


def test_withdraw_by_document_number_in_another_bracket_style(site, department_csv):
    site.stage_and_approve(department_csv, "penalty")
    result = site.run(
        "withdraw",
        "东市监罚（2026）101",
        "--kind",
        "penalty",
        "--reason",
        "信用修复",
        "--editor",
        "测试编辑乙",
    )
    assert result.exit_code == 0, result.stderr
    batch = result.batch_id
    assert batch.startswith("withdrawal-")
    entry = json.loads((site.batches / batch / "records.jsonl").read_text(encoding="utf-8"))
    assert entry["docno"] == "东市监罚〔2026〕101号" and entry["reason"] == "信用修复"
    # It is a batch like any other: staged until approved.
    assert "待审核" in [line for line in site.run("status").stdout.splitlines() if batch in line][0]


def test_withdraw_by_record_id(site, department_csv):
    batch = site.stage_and_approve(department_csv, "penalty")
    rid = json.loads(
        (site.batches / batch / "records.jsonl").read_text(encoding="utf-8").splitlines()[0]
    )["id"]
    result = site.run(
        "withdraw", rid, "--kind", "penalty", "--reason", "异议更正", "--editor", "乙"
    )
    assert result.exit_code == 0 and rid in result.stdout


def test_ambiguous_key_is_refused_with_candidates(site, tmp_path):
    rows = list(synth_rows("penalty", 2, seed=21, today=TODAY_DATE))
    rows[1]["行政处罚决定书文号"] = rows[0]["行政处罚决定书文号"]
    rows[1]["处罚机关统一社会信用代码"] = "11320900NGMQ2FAC1M"  # another authority, same number
    site.stage_and_approve(write_export(tmp_path / "p.csv", "penalty", rows), "penalty")
    result = site.run(
        "withdraw",
        rows[0]["行政处罚决定书文号"],
        "--kind",
        "penalty",
        "--reason",
        "决定撤销",
        "--editor",
        "乙",
    )
    assert result.exit_code == 2
    assert "对应 2 条记录" in result.stderr
    assert rows[0]["行政相对人名称"] in result.stderr and rows[1]["行政相对人名称"] in result.stderr


def test_unknown_key_unapproved_record_and_bad_reason_are_refused(site, department_csv):
    site.ingest(department_csv, "penalty")  # staged only: nothing to withdraw yet
    unknown = site.run(
        "withdraw",
        "东市监罚〔2026〕101号",
        "--kind",
        "penalty",
        "--reason",
        "信用修复",
        "--editor",
        "乙",
    )
    assert unknown.exit_code == 2 and "找不到" in unknown.stderr
    reason = site.run("withdraw", "x", "--kind", "penalty", "--reason", "看心情", "--editor", "乙")
    assert reason.exit_code == 2 and "撤下原因" in reason.stderr
    assert [d for d in site.batch_dirs() if d.startswith("withdrawal")] == []
