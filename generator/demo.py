"""The demo content: messy, obviously fictional exports of every kind, and their batches.

``python -m generator.demo`` rewrites ``content/exports/`` and ``content/batches/`` exactly
(seeded; fixed approval times), so the demo site builds on a fresh clone with no set-up. The
tests use :func:`write_messy_exports` too, with full ID numbers and the hostile samples (markup,
a spreadsheet formula) that the shipped demo leaves out: a new user's first screen is a city's
site, not a test bench.
"""

from __future__ import annotations

import datetime as dt
import random
import shutil
import sys
from pathlib import Path
from typing import Any

from .masking import mask_id
from .schema import CODE1
from .synthetic import export_columns, make_rid, make_uscc, synth_rows, write_export

DEMO_DAY = dt.date(2026, 11, 20)
HOSTILE_SCRIPT = '<script>alert("xss")</script>当事人拒不改正'
HOSTILE_IMG = "<img src=x onerror=alert(1)>"
FORMULA = '=HYPERLINK("http://evil.invalid","点我")'
HOSTILE_MARKDOWN = (
    '## 判决\n\n<iframe src="https://evil.invalid"></iframe>[原文](javascript:'
    'alert(1))\n\n<b onclick="alert(1)">驳回</b>'
)


def _penalty_rows(full_ids: bool, hostile: bool) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """30 good rows plus every trap; returns rows and named markers for the tests.

    With ``full_ids`` False (the shipped demo), ID numbers arrive pre-masked, so that no full
    ID number is ever stored under content/, not even in a sample export. With ``hostile``, a row
    of hostile markup and a formula (the tests' fixtures; never the shipped demo).
    """
    # Why long: a table of demo rows, each a trap the tests name; splitting it would scatter the
    # table.
    rows = list(synth_rows("penalty", 30, seed=11, today=DEMO_DAY))
    if not full_ids:
        rows = _premask(rows)
    rng = random.Random(5)
    marks: dict[str, str] = {}
    base = {
        **rows[0],
        "处罚决定日期": "2026-11-10",
        "处罚有效期": "2027-11-10",
        "处罚类别": "罚款",
        "罚款金额(万元)": "0.5",
        "处罚内容": "罚款0.5万元",
    }
    # Natural person with a full, valid ID number: must be masked.
    person_id = make_rid(rng, "320902", dt.date(1990, 1, 1))
    rows.append(
        {
            **base,
            "行政处罚决定书文号": "盐市监罚〔2026〕9001号",
            "行政相对人名称": "陈某某",
            "行政相对人类别": "自然人",
            CODE1: "",
            "法定代表人": "",
            "法定代表人证件号码": "",
            "证件类型": "身份证",
            "证件号码": person_id,
        }
    )
    marks["person_id"] = person_id
    if not full_ids:
        rows[-1]["证件号码"] = mask_id(person_id)
    # A full ID number hidden in free text.
    text_id = make_rid(rng, "320903", dt.date(1985, 5, 5))
    rows.append(
        {
            **base,
            "行政处罚决定书文号": "盐市监罚〔2026〕9002号",
            "违法事实": f"当事人负责人（身份证号{text_id}）未按规定履行义务。",
        }
    )
    marks["text_id"] = text_id
    if not full_ids:
        rows[-1]["违法事实"] = rows[-1]["违法事实"].replace(text_id, mask_id(text_id))
    # Hostile markup and a formula.
    hostile_code = make_uscc(rng)  # drawn either way: the rows after it keep their codes
    if hostile:
        rows.append(
            {
                **base,
                "行政处罚决定书文号": "盐市监罚〔2026〕9003号",
                "行政相对人名称": f"盐城市示例{HOSTILE_IMG}科技有限公司",
                CODE1: hostile_code,
                "违法事实": HOSTILE_SCRIPT,
                "违法行为类型": FORMULA,
            }
        )
    # 个体工商户 with the placeholder code and a 工商注册号.
    rows.append(
        {
            **base,
            "行政处罚决定书文号": "盐市监罚〔2026〕9004号",
            "行政相对人名称": "盐城市亭湖区示例小吃店",
            "行政相对人类别": "个体工商户",
            CODE1: "00000000000000000X",
            "行政相对人代码_2(工商注册号)": "320902600123456",
            "法定代表人": "",
        }
    )
    # Full-width digits in a code and a date written the Chinese way / as an Excel serial.
    code = make_uscc(rng)
    rows.append(
        {
            **base,
            "行政处罚决定书文号": "盐市监罚（2026）9005号",
            CODE1: code.translate(str.maketrans("0123456789", "０１２３４５６７８９")),
            "处罚决定日期": "2026年3月5日",
            "处罚有效期": "46452",
        }
    )
    marks["fullwidth_code"] = code
    # Expired by its own 公示截止期.
    rows.append(
        {
            **base,
            "行政处罚决定书文号": "盐市监罚〔2026〕9006号",
            "行政相对人名称": "盐城市示例过期商贸有限公司",
            "公示截止期": "2026-06-30",
            "处罚决定日期": "2026-01-05",
        }
    )
    # Bad rows: each must be rejected with its reason.
    # Bad check digit
    rows.append(
        {**base, "行政处罚决定书文号": "盐市监罚〔2026〕9101号", CODE1: "91320902MA1XXXXXX0"}
    )
    # Future
    rows.append(
        {**base, "行政处罚决定书文号": "盐市监罚〔2026〕9102号", "处罚决定日期": "2027-01-01"}
    )
    # Missing required
    rows.append({**base, "行政处罚决定书文号": "盐市监罚〔2026〕9103号", "处罚机关": ""})
    # Bad ID check digit
    rows.append(
        {
            **base,
            "行政处罚决定书文号": "盐市监罚〔2026〕9104号",
            "行政相对人类别": "自然人",
            CODE1: "",
            "法定代表人": "",
            "证件类型": "身份证",
            "证件号码": person_id[:-1] + ("0" if person_id[-1] != "0" else "1"),
        }
    )
    if not full_ids:
        rows[-1]["证件号码"] = "3209021990"  # too short to be an ID: rejected all the same
    # Wrong unit
    rows.append(
        {**base, "行政处罚决定书文号": "盐市监罚〔2026〕9105号", "罚款金额(万元)": "2000元"}
    )
    # No such day
    rows.append(
        {**base, "行政处罚决定书文号": "盐市监罚〔2026〕9106号", "处罚决定日期": "2026-02-30"}
    )
    # Exact duplicate (counts once) and a same-key clash (both rejected).
    rows.append(dict(rows[1]))
    rows.append({**base, "行政处罚决定书文号": "盐市监罚〔2026〕9201号", "处罚内容": "版本一"})
    rows.append({**base, "行政处罚决定书文号": "盐市监罚[2026]9201号", "处罚内容": "版本二"})
    marks["withdraw_docno"] = rows[2]["行政处罚决定书文号"]
    marks["withdraw_subject"] = rows[2]["行政相对人名称"]
    return rows, marks


def _premask(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """ID numbers as a department that masks before sending would write them."""
    for row in rows:
        for col in ("证件号码", "法定代表人证件号码"):
            if row.get(col):
                row[col] = mask_id(row[col])
    return rows


FULL_WIDTH_DIGITS = str.maketrans("0123456789.", "０１２３４５６７８９．")
EVALUATION_HEADERS = {"被评价单位名称": "被评价单位", "评价等级": "评价等次"}


def _write_evaluations(folder: Path) -> Path:
    """Ten bodies × three years, written as an office would (2025年度, 92.5分, half-width brackets,
    full-width digits, other column names), and one row whose score is out of range (rejected)."""
    rows = list(synth_rows("evaluation", 30, seed=18, today=DEMO_DAY))
    rows[0]["评价年度"] += "年度"
    rows[1]["评价得分"] = f"{rows[1]['评价得分']}分"
    rows[1]["被评价单位类别"] = rows[1]["被评价单位类别"].replace("（", "(").replace("）", ")")
    rows[2]["评价得分"] = str(rows[2]["评价得分"]).translate(FULL_WIDTH_DIGITS)
    rows.append({**rows[3], "评价年度": "2022", "评价得分": "105", "发布日期": "2023-03-16"})
    return write_export(
        folder / "市信用办-政务诚信评价-2026.csv",
        "evaluation",
        rows,
        encoding="utf-8-sig",
        title="盐城市示例政务诚信考核评价结果（2023—2025年度）",
        headers=[EVALUATION_HEADERS.get(c, c) for c in export_columns("evaluation")],
    )


MESSY_HEADERS = {
    CODE1: "行政相对人代码_1（统一社会信用代码）",
    "行政处罚决定书文号": "决定书文号",
    "处罚机关": " 处罚机关 ",
    "罚款金额(万元)": "罚款金额（万元）",
}


def write_messy_exports(
    folder: Path, full_ids: bool = True, hostile: bool = True
) -> dict[str, Any]:
    """Write one export per kind, each with a different real-world format trap (and, with
    ``hostile``, hostile markup in a penalty and a judgment)."""
    folder.mkdir(parents=True, exist_ok=True)
    penalty, marks = _penalty_rows(full_ids, hostile)
    prep = (lambda rows: rows) if full_ids else _premask
    headers = [MESSY_HEADERS.get(c, c) for c in export_columns("penalty")]
    files = {
        "penalty": write_export(
            folder / "市场监管局-行政处罚-2026年11月.csv",
            "penalty",
            penalty,
            encoding="gb18030",
            title="盐城市示例市场监督管理局行政处罚信息报送表（2026年11月）",
            headers=headers,
            blank_rows=1,
        ),
        "license": write_export(
            folder / "行政审批局-行政许可-2026年11月.xlsx",
            "license",
            prep(list(synth_rows("license", 25, seed=12, today=DEMO_DAY))),
            fmt="xlsx",
            title="行政许可信息",
        ),
    }
    judgments = list(synth_rows("judgment", 6, seed=13, today=DEMO_DAY))
    judgments[0]["全文"] = HOSTILE_MARKDOWN if hostile else judgments[0]["全文"]
    files["judgment"] = write_export(
        folder / "市法院-司法裁判.xls", "judgment", judgments, fmt="xls", blank_rows=2
    )
    pledges = list(synth_rows("pledge", 12, seed=14, today=DEMO_DAY))
    pledges[0]["公开类型"] = "不可公开"
    pledges[0]["承诺人名称"] = "盐城市示例不公开承诺单位"
    files["pledge"] = write_export(
        folder / "公共资源交易中心-信用承诺.csv", "pledge", pledges, encoding="utf-8-sig"
    )
    dishonesty = list(synth_rows("dishonesty", 6, seed=15, today=DEMO_DAY))
    dishonesty[0]["容错纠错"] = "是"
    dishonesty[0]["失信主体名称"] = "盐城市示例容错单位"
    files["dishonesty"] = write_export(
        folder / "市信用办-政务失信.csv", "dishonesty", dishonesty, encoding="utf-8"
    )
    files["commendation"] = write_export(
        folder / "市信用办-守信激励.csv",
        "commendation",
        list(synth_rows("commendation", 8, seed=16, today=DEMO_DAY)),
        encoding="gb18030",
    )
    files["evaluation"] = _write_evaluations(folder)
    pending = prep(list(synth_rows("penalty", 5, seed=17, today=DEMO_DAY, start=500)))
    for row in pending:
        row["行政相对人名称"] = row["行政相对人名称"].replace("示例", "待审示例")
    files["pending"] = write_export(
        folder / "生态环境局-行政处罚-待审核.csv", "penalty", pending, encoding="gb18030"
    )
    return {"files": files, "marks": marks}


# The demo's signing key: DEMO ONLY, its private half is in the repository (tests/demo-keys/README.md).
DEMO_KEY = Path(__file__).resolve().parent.parent / "tests" / "demo-keys" / "示例编辑甲"


def demo_signer() -> Any:
    from .signing import load_signer

    return load_signer("示例编辑甲", DEMO_KEY)


def build_demo(root: Path) -> None:
    """Rewrite the demo's exports and batches under ``root/content`` (deterministic)."""
    from .batches import BatchStore
    from .editors import Editors
    from .ingest import ingest
    from .schema import KINDS
    from .settings import load_config
    from .withdrawals import stage_withdrawal

    cfg = load_config(root)
    exports = root / "content" / "exports"
    shutil.rmtree(exports, ignore_errors=True)
    shutil.rmtree(root / cfg.BATCHES_DIR, ignore_errors=True)
    shutil.rmtree(root / cfg.EDITORS_DIR, ignore_errors=True)
    info = write_messy_exports(exports, full_ids=False, hostile=False)
    store = BatchStore(root, cfg)
    editor = demo_signer()
    Editors(root, cfg).trust(
        editor.name, editor.public_key(), editor, at="2026-11-20T08:00:00+08:00"
    )
    minute = 0
    for kind, path in info["files"].items():
        result = ingest(
            path,
            KINDS["penalty" if kind == "pending" else kind],
            None,
            cfg,
            root,
            DEMO_DAY,
            staged_at="2026-11-20T17:00:00+08:00",
        )
        if kind != "pending":
            minute += 1
            store.approve(result.batch_id, editor, at=f"2026-11-21T09:{minute:02d}:00+08:00")
    withdrawal, _, _ = stage_withdrawal(
        store,
        KINDS["penalty"],
        info["marks"]["withdraw_docno"],
        "信用修复",
        "示例编辑乙",
        cfg,
        DEMO_DAY,
        staged_at="2026-11-22T09:30:00+08:00",
    )
    store.approve(withdrawal, editor, at="2026-11-22T10:00:00+08:00")


if __name__ == "__main__":
    build_demo(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("."))
