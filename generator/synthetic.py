"""Seeded, obviously fictional records for the demo, the tests and the benchmarks.

Names carry 示例 and are built from a small syllable pool, so no real company or person is
named; codes carry correct check digits so that they validate like real ones. ``write_export``
writes CSV (any encoding, optional title row), XLSX or legacy XLS like a department would.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .checkdigits import USCC_ALPHABET, rid_check_char, uscc_check_char
from .schema import CODE1, KINDS

COUNTIES = [
    ("320902", "亭湖区"),
    ("320903", "盐都区"),
    ("320904", "大丰区"),
    ("320921", "响水县"),
    ("320922", "滨海县"),
    ("320923", "阜宁县"),
    ("320924", "射阳县"),
    ("320925", "建湖县"),
    ("320981", "东台市"),
]
SYLLABLES = list("润利达茂恒昌瑞丰鑫源华宇金穗安泰永盛宏嘉禾兴隆益康晟辉锦程沃森")
INDUSTRIES = [
    "食品",
    "商贸",
    "建材",
    "科技",
    "物流",
    "餐饮",
    "化工",
    "纺织",
    "机械",
    "农业",
    "医药",
    "印务",
]
SURNAMES = list("王李张刘陈杨黄赵周吴徐孙朱马胡郭林何高罗")
AUTHORITIES = [
    ("盐城市示例市场监督管理局", "盐市监罚"),
    ("盐城市示例生态环境局", "盐环罚"),
    ("盐城市示例应急管理局", "盐应急罚"),
    ("盐城市示例交通运输局", "盐交罚"),
    ("盐城市示例城市管理局", "盐城管罚"),
    ("盐城市示例税务局", "盐税罚"),
]
LICENSERS = [
    ("盐城市示例行政审批局", "盐审批许"),
    ("盐城市示例卫生健康委员会", "盐卫许"),
    ("盐城市示例住房和城乡建设局", "盐住建许"),
]
COURTS = ["盐城市示例中级人民法院", "盐城市亭湖区示例人民法院", "东台市示例人民法院"]
GOV_BODIES = [
    "盐城市示例区人民政府",
    "盐城市示例镇人民政府",
    "盐城市示例街道办事处",
    "盐城市示例区教育局",
    "盐城市示例区水利局",
    "盐城市示例县财政局",
]
# Evaluated bodies (政务诚信评价): three of them also in GOV_BODIES, so their archives join up
# Evaluated bodies (政务诚信评价) and the score each is evaluated around; three of them also in
# GOV_BODIES, so that their archives join up
EVALUATED_UNITS = [
    ("盐城市示例区人民政府", "县（市、区）政府", 84),
    ("盐城市示例县人民政府", "县（市、区）政府", 91),
    ("盐城示例经济技术开发区管理委员会", "开发区管委会", 88),
    ("盐城示例高新技术产业开发区管理委员会", "开发区管委会", 94),
    ("盐城市示例市场监督管理局", "市级部门", 86),
    ("盐城市示例生态环境局", "市级部门", 79),
    ("盐城市示例住房和城乡建设局", "市级部门", 90),
    ("盐城市示例交通运输局", "市级部门", 82),
    ("盐城市示例镇人民政府", "乡镇（街道）", 66),
    ("盐城市示例街道办事处", "乡镇（街道）", 58),
]
EVALUATION_YEARS = 3  # each body is evaluated in the last three years before a unit comes next
DEDUCTIONS = [
    "政务公开不及时",
    "拖欠中小企业账款",
    "行政诉讼败诉",
    "信用承诺未全部履行",
    "“双公示”信息报送超期",
    "统计数据质量问题",
]
PENALTY_TYPES = [
    ("警告", 0.15),
    ("罚款", 0.55),
    ("罚款;没收违法所得", 0.15),
    ("通报批评", 0.05),
    ("吊销许可证件", 0.05),
    ("责令停产停业;罚款", 0.05),
]
BRACKETS = [("〔", "〕"), ("[", "]"), ("（", "）"), ("【", "】")]


def make_uscc(rng: random.Random, prefix: str = "91", region: str | None = None) -> str:
    region = region or rng.choice(COUNTIES)[0]
    body = prefix + region + "".join(rng.choice(USCC_ALPHABET) for _ in range(9))
    return body + uscc_check_char(body)


def make_rid(rng: random.Random, region: str | None = None, birth: dt.date | None = None) -> str:
    region = region or rng.choice(COUNTIES)[0]
    birth = birth or dt.date(1960, 1, 1) + dt.timedelta(days=rng.randrange(0, 40 * 365))
    body = region + birth.strftime("%Y%m%d") + f"{rng.randrange(0, 1000):03d}"
    return body + rid_check_char(body)


def company_name(rng: random.Random) -> tuple[str, str]:
    code, county = rng.choice(COUNTIES)
    brand = rng.choice(SYLLABLES) + rng.choice(SYLLABLES)
    return f"盐城市{county}{brand}示例{rng.choice(INDUSTRIES)}有限公司", code


def person_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "某" + rng.choice(["", "某"])


def _date(rng: random.Random, today: dt.date, max_days: int = 700) -> dt.date:
    return today - dt.timedelta(days=rng.randrange(1, max_days))


def _gov_uscc(rng: random.Random) -> str:
    return make_uscc(rng, "11", "320900")


def _party(rng: random.Random) -> dict[str, Any]:
    roll = rng.random()
    if roll < 0.8:
        name, region = company_name(rng)
        return {
            "行政相对人名称": name,
            "行政相对人类别": "法人及非法人组织",
            CODE1: make_uscc(rng, "91", region),
            "法定代表人": person_name(rng),
            "法定代表人证件类型": "身份证",
            "法定代表人证件号码": make_rid(rng, region),
        }
    if roll < 0.95:
        name, region = company_name(rng)
        return {
            "行政相对人名称": name.replace("有限公司", "经营部"),
            "行政相对人类别": "个体工商户",
            CODE1: make_uscc(rng, "92", region),
            "法定代表人": "",
            "法定代表人证件类型": "",
            "法定代表人证件号码": "",
        }
    return {
        "行政相对人名称": person_name(rng),
        "行政相对人类别": "自然人",
        CODE1: "",
        "法定代表人": "",
        "证件类型": "身份证",
        "证件号码": make_rid(rng),
    }


def _pick(rng: random.Random, weighted: list[tuple[str, float]]) -> str:
    return rng.choices([v for v, _ in weighted], [w for _, w in weighted])[0]


def synth_row(
    kind: str, rng: random.Random, serial: int, today: dt.date, max_days: int = 700
) -> dict[str, Any]:
    """One valid row of ``kind`` (canonical column names → text); decided within ``max_days``."""
    # Why long: one branch per kind of record, each a small table of fictional values.
    day = _date(rng, today, max_days)
    iso = day.isoformat()
    if kind == "penalty":
        authority, prefix = rng.choice(AUTHORITIES)
        types = _pick(rng, PENALTY_TYPES)
        row = _party(rng)
        fine = (
            round(rng.choice([0.05, 0.2, 0.5, 1, 2, 5, 10]) * rng.randint(1, 3), 2)
            if "罚款" in types
            else ""
        )
        row.update(
            {
                "行政处罚决定书文号": f"{prefix}〔{day.year}〕{serial}号",
                "违法行为类型": rng.choice(
                    [
                        "未按规定公示信息",
                        "销售过期食品",
                        "超标排放污染物",
                        "未取得许可从事经营",
                        "虚假宣传",
                    ]
                ),
                "违法事实": f"经查，当事人于{day.year}年{day.month}月存在违法行为，证据确凿。",
                "处罚依据": "《中华人民共和国行政处罚法》第二十八条",
                "处罚类别": types,
                "处罚内容": f"{types.replace(';', '、')}{f'，罚款{fine}万元' if fine else ''}",
                "罚款金额(万元)": fine,
                "处罚决定日期": iso,
                "处罚有效期": (day + dt.timedelta(days=365)).isoformat(),
                "处罚机关": authority,
                "处罚机关统一社会信用代码": _authority_code(authority),
                "数据来源单位": authority,
                "数据来源单位统一社会信用代码": _authority_code(authority),
            }
        )
        return row
    if kind == "license":
        authority, prefix = rng.choice(LICENSERS)
        row = _party(rng)
        row.update(
            {
                "行政许可决定文书名称": "准予行政许可决定书",
                "行政许可决定文书号": f"{prefix}〔{day.year}〕{serial}号",
                "许可类别": rng.choice(["普通", "认可", "核准", "登记"]),
                "许可证书名称": rng.choice(
                    ["食品经营许可证", "排污许可证", "道路运输经营许可证", "建筑施工许可证"]
                ),
                "许可编号": f"JY{serial:012d}",
                "许可内容": "准予从事相关经营活动",
                "许可决定日期": iso,
                "有效期自": iso,
                "有效期至": (day + dt.timedelta(days=5 * 365)).isoformat(),
                "许可机关": authority,
                "许可机关统一社会信用代码": _authority_code(authority),
                "当前状态": "有效",
                "数据来源单位": authority,
                "数据来源单位统一社会信用代码": _authority_code(authority),
            }
        )
        return row
    if kind == "judgment":
        body = rng.choice(GOV_BODIES)
        return {
            "案号": f"（{day.year}）苏09行初{serial}号",
            "案件名称": f"某公司诉{body}行政处理一案",
            "审理法院": rng.choice(COURTS),
            "文书类型": "判决书",
            "裁判日期": iso,
            "案由": "行政协议",
            "当事人名称": body,
            "当事人类别": "政府机关",
            "当事人统一社会信用代码": _authority_code(body),
            "裁判结果": "确认被告行政行为违法",
            "全文": "## 判决如下\n\n确认被告作出的行政行为**违法**。",
        }
    if kind == "pledge":
        body = rng.choice(GOV_BODIES)
        return {
            "承诺编码": f"320900{day.strftime('%Y%m%d')}{serial % 1_000_000:06d}",
            "承诺人名称": body,
            "承诺人类别": "政府机关",
            "承诺人代码": _authority_code(body),
            "承诺类型": "主动",
            "承诺事由": "政府采购活动采购人信用承诺",
            "承诺内容": "1. 依法履行采购合同\n2. 按时支付采购资金",
            "违诺责任": "自愿接受失信惩戒",
            "承诺作出日期": iso,
            "履行状态": _pick(rng, [("全部履行", 0.7), ("部分履行", 0.2), ("全部未履行", 0.1)]),
            "受理单位": "盐城市示例公共资源交易中心",
            "受理单位统一社会信用代码": _authority_code("盐城市示例公共资源交易中心"),
            "公开类型": "可向社会公开",
        }
    if kind == "dishonesty":
        body = rng.choice(GOV_BODIES)
        return {
            "失信主体名称": body,
            "失信主体类别": "政府机关",
            "统一社会信用代码": _authority_code(body),
            "失信行为": "拖欠中小企业账款逾期未付",
            "认定依据": "《保障中小企业款项支付条例》",
            "认定单位": "盐城市示例信用办",
            "认定日期": iso,
            "认定文书号": f"盐信认〔{day.year}〕{serial}号",
            "整改情况": "正在整改",
            "容错纠错": "否",
        }
    if kind == "commendation":
        name, region = company_name(rng)
        return {
            "受表彰主体名称": name,
            "主体类别": "企业",
            "统一社会信用代码": make_uscc(rng, "91", region),
            "表彰名称": "诚信示范企业",
            "表彰文号": f"盐信表〔{day.year}〕{serial % 97}号",
            "表彰内容": "在诚信经营方面表现突出",
            "授予单位": "盐城市示例信用办",
            "授予日期": iso,
        }
    if kind == "evaluation":
        return _evaluation(rng, serial, today)
    raise KeyError(kind)


def _evaluation(rng: random.Random, serial: int, today: dt.date) -> dict[str, Any]:
    """Serial 1, 2, … → the bodies of EVALUATED_UNITS in the last evaluated year, then the year
    before, …, then more bodies (townships named by number): every row its own (year, body). A
    year's results are published in March of the next year, under one document number."""
    n = len(EVALUATED_UNITS)
    k = serial - 1
    unit = k % n + n * (k // (n * EVALUATION_YEARS))
    name, category, level = (
        EVALUATED_UNITS[unit]
        if unit < n
        else (f"盐城市示例第{unit - n + 1}街道办事处", "乡镇（街道）", 60 + unit % 37)
    )
    latest = today.year - 1 if today >= dt.date(today.year, 4, 1) else today.year - 2
    year = latest - (k // n) % EVALUATION_YEARS
    score = round(min(99.5, level + rng.uniform(-5, 5)), 1)
    grade = "优秀" if score >= 90 else "良好" if score >= 80 else "一般" if score >= 60 else "较差"
    return {
        "评价年度": str(year),
        "被评价单位名称": name,
        "被评价单位统一社会信用代码": _authority_code(name),
        "被评价单位类别": category,
        "评价机构": "盐城市示例信用办",
        "评价文号": f"盐信办〔{year + 1}〕{year % 7 + 3}号",
        "发布日期": dt.date(year + 1, 3, 10 + year % 15).isoformat(),
        "评价得分": score,
        "评价等级": grade,
        "主要扣分事项": ""
        if grade == "优秀"
        else "；".join(rng.sample(DEDUCTIONS, 2 if score < 80 else 1)),
    }


def _authority_code(name: str) -> str:
    """A fixed, valid 11-prefixed code per fictional authority (seeded by its name)."""
    return make_uscc(random.Random(name), "11", "320900")


def synth_rows(
    kind: str,
    count: int,
    seed: int = 1,
    today: dt.date = dt.date(2026, 11, 1),
    start: int = 1,
    max_days: int = 700,
) -> Iterator[dict[str, Any]]:
    rng = random.Random(f"{kind}:{seed}")
    for serial in range(start, start + count):
        yield synth_row(kind, rng, serial, today, max_days)


def export_columns(kind: str) -> list[str]:
    return [f.name for f in KINDS[kind].fields]


def write_export(
    path: Path,
    kind: str,
    rows: list[dict[str, Any]] | Iterator[dict[str, Any]],
    *,
    fmt: str = "csv",
    encoding: str = "utf-8-sig",
    title: str | None = None,
    headers: list[str] | None = None,
    blank_rows: int = 0,
) -> Path:
    """Write rows as a department export; ``headers`` may rename columns (aliases, odd widths)."""
    columns = export_columns(kind)
    header = headers or columns
    lead: list[list[Any]] = ([[title]] if title else []) + [[] for _ in range(blank_rows)]
    body = ([row.get(c, "") for c in columns] for row in rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        with path.open("w", encoding=encoding, newline="") as fh:
            writer = csv.writer(fh)
            writer.writerows(lead)
            writer.writerow(header)
            writer.writerows(body)
    elif fmt == "xlsx":
        from openpyxl import Workbook

        wb = Workbook(write_only=True)
        # Reproducible bytes
        wb.properties.created = wb.properties.modified = dt.datetime(2026, 1, 1)
        ws = wb.create_sheet("数据")
        for r in lead:
            ws.append(r)
        ws.append(header)
        for r in body:
            ws.append([_excel_value(v) for v in r])
        wb.save(path)
        _pin_zip(path)
    elif fmt == "xls":
        import xlwt

        wb = xlwt.Workbook(encoding="utf-8")
        ws = wb.add_sheet("数据")
        date_style = xlwt.easyxf(num_format_str="yyyy-mm-dd")
        for i, r in enumerate([*lead, header, *body]):
            for j, v in enumerate(r):
                v = _excel_value(v)
                if isinstance(v, dt.date):
                    ws.write(i, j, v, date_style)
                else:
                    ws.write(i, j, v)
        wb.save(str(path))
    else:
        raise ValueError(fmt)
    return path


def _pin_zip(path: Path) -> None:
    """openpyxl stamps the save time into the zip and docProps/core.xml: pin both, so that the
    demo's sample export has the same bytes every time it is regenerated."""
    import re
    import zipfile

    with zipfile.ZipFile(path) as src:
        entries = [(info, src.read(info.filename)) for info in src.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info, data in entries:
            if info.filename == "docProps/core.xml":
                data = re.sub(
                    rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*",
                    rb"\g<1>2026-01-01T00:00:00Z",
                    data,
                )
            pinned = zipfile.ZipInfo(info.filename, date_time=(2026, 1, 1, 0, 0, 0))
            pinned.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(pinned, data)


def _excel_value(value: Any) -> Any:
    """ISO dates become real Excel date cells, like a department's spreadsheet."""
    if isinstance(value, str) and len(value) == 10 and value[4] == "-" and value[7] == "-":
        try:
            return dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    return value
