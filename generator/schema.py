"""One declarative schema per record kind: columns, aliases, rules, keys, roles.

Adding a kind is adding a :class:`Kind` to :data:`KINDS`; ingest, publication, pages, search
and downloads read everything they need from here (data-standard.md §2–§3).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from functools import cached_property
from typing import Any

from .checkdigits import USCC_PLACEHOLDER


class T(str, Enum):
    """Field types: each has one normaliser/validator in :mod:`generator.records`."""

    TEXT = "text"
    ENUM = "enum"
    MULTI_ENUM = "multi_enum"  # several enum values joined by ; 、 , (处罚类别)
    DATE = "date"
    AMOUNT = "amount"  # 万元, ≥ 0
    USCC = "uscc"  # 统一社会信用代码, check digit verified
    IDNO = "idno"  # personal ID number: validated when a 身份证, then masked at ingest
    DOCNO = "docno"  # document number: kept as written + normalised key
    CODE = "code"  # other codes: half-width, upper-case
    MARKDOWN = "markdown"  # free text rendered as sanitised Markdown
    URL = "url"  # http(s) only
    YEAR = "year"  # a year as four digits (评价年度); not after the year of the record's date
    SCORE = "score"  # a number from 0 to 100 (评价得分)


@dataclass(frozen=True)
class Field:
    """One column of an export."""

    name: str  # canonical column name (as in the national standard / our template)
    type: T = T.TEXT
    required: bool = False
    max_len: int | None = None
    enum: tuple[str, ...] = ()
    value_aliases: dict[str, str] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    public: bool = True  # False: kept (masked) in the batch, never published
    label: str | None = None  # short display label; defaults to ``name``
    pattern: str | None = None  # regex the normalised value must match
    pattern_hint: str = ""

    @property
    def display(self) -> str:
        return self.label or self.name


@dataclass(frozen=True)
class RequiredWhen:
    """``field`` is required when ``when`` holds one of ``values``."""

    field: str
    when: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class EmptyWhen:
    """``field`` must be empty when ``when`` holds one of ``values`` (e.g. 自然人 has no 法定代表人)."""

    field: str
    when: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Notice:
    """What every record page of a kind tells its reader about the kind (the 说明 box): what such a
    record is, the law that has it published, how long it stays public and why, and whether 信用修复
    applies (异议 always does). Contacts come from settings (OBJECTION_CONTACT, REPAIR_CONTACT)."""

    meaning: str  # 这是什么
    law: str  # 为什么公示: the provision that requires publication
    period: str  # 公示多久: the rule, the page's 公示截止 gives the day
    repair: bool = False  # 信用修复 ends publication early (penalties, dishonesty records)
    # Shown as a record's 公示依据 instead of the dated rule's (PUBLICATION_RULES), for kinds whose
    # period is not set by the credit-repair rules (a licence, a commendation)
    basis: str | None = None


@dataclass(frozen=True)
class Kind:
    """A record kind: its columns and the roles its columns play."""

    name: str  # penalty, license, …
    label: str  # 行政处罚
    # One lower-case letter naming the kind in the search's document refs (never reused)
    search_letter: str
    fields: tuple[Field, ...]
    natural_key: tuple[str, ...]
    subject: str
    subject_category: str | None
    subject_code: str | None
    docno: str
    date: str
    authority: str
    authority_label: str
    authority_code: str | None = None
    source: str | None = None
    deadline: str | None = "公示截止期"
    rules: tuple[RequiredWhen | EmptyWhen, ...] = ()
    # (field, values): a row whose field holds one of values is kept but never published.
    withhold_when: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # (field, values): a row whose field is filled and NOT one of values is withheld.
    publish_only_when: tuple[tuple[str, tuple[str, ...]], ...] = ()
    summary_fields: tuple[str, ...] = ()  # shown in lists and search results
    # Indexed for search besides the subject, document number and credit code: identifiers a
    # citizen may hold and short category fields (the first SEARCH_FIELD_CHARS characters).
    search_fields: tuple[str, ...] = ()
    uscc_placeholder_for: tuple[str, ...] = ()  # categories allowed the all-zero placeholder
    # 双公示: published within TIMELINESS_WORKING_DAYS working days of the decision (review, statistics).
    timeliness: bool = False
    notice: Notice | None = None  # the record pages' 说明 box

    def summary_line(self, fields: dict[str, Any]) -> str:
        """What a list row, feed entry or search result says besides the subject: the filled
        summary fields, 60 characters each, joined by " · " (罚款 · 虚假宣传); a year or a score
        with its unit (2025年度 · 良好 · 90分)."""
        return " · ".join(
            _summary_text(fields[name]) + unit
            for name, unit in self.summary_units
            if fields.get(name) not in (None, "")
        )

    @cached_property
    def summary_units(self) -> tuple[tuple[str, str], ...]:
        """(field, what its value is followed by in a summary line) of each summary field."""
        return tuple(
            (name, SUMMARY_UNITS.get(self.field(name).type, "")) for name in self.summary_fields
        )

    @cached_property
    def by_name(self) -> dict[str, Field]:
        return {f.name: f for f in self.fields}

    def field(self, name: str) -> Field:
        return self.by_name[name]

    @cached_property
    def required(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.required)

    @cached_property
    def year_fields(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.type is T.YEAR)

    @cached_property
    def unmaskable(self) -> frozenset[str]:
        """Fields personal data cannot be masked in, so a row with an ID, mobile or card number there is
        rejected: document numbers, links and the other parts of the natural key (masking would change
        the record's identity or the link's address). Credit codes keep their own rule (an all-digit
        one that is a valid ID number is masked)."""
        return frozenset(
            f.name
            for f in self.fields
            if f.type in (T.DOCNO, T.URL) or (f.name in self.natural_key and f.type is not T.USCC)
        )

    @cached_property
    def public_fields(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.public)

    @cached_property
    def display_fields(self) -> tuple[tuple[str, str, T], ...]:
        """(column, label, type) of each public field, in order: a record page's rows, worked out
        once per kind instead of once per page."""
        return tuple((f.name, f.display, f.type) for f in self.public_fields)


SUMMARY_UNITS = {T.YEAR: "年度", T.SCORE: "分"}


def _summary_text(value: Any) -> str:
    if type(value) is float and value.is_integer():
        return str(int(value))
    return str(value).replace(";", "、")[:60]


# Categories that are natural persons: no entity archive is built for them (data-standard §5).
PERSON_CATEGORIES = frozenset({"自然人", "公务员", "个人"})
ID_CARD_TYPES = frozenset({"身份证", "居民身份证", "中华人民共和国居民身份证", "01", "111"})

PARTY_CATEGORY = ("法人及非法人组织", "自然人", "个体工商户")
PARTY_CATEGORY_ALIASES = {
    "法人": "法人及非法人组织",
    "法人及其他组织": "法人及非法人组织",
    "非法人组织": "法人及非法人组织",
    "法人和非法人组织": "法人及非法人组织",
    "个人": "自然人",
    "个体户": "个体工商户",
}
# Fmt: skip
PENALTY_TYPES = (
    "警告",
    "通报批评",
    "罚款",
    "没收违法所得",
    "没收非法财物",
    "暂扣许可证件",
    "降低资质等级",
    "吊销许可证件",
    "限制开展生产经营活动",
    "责令停产停业",
    "责令关闭",
    "限制从业",
    "行政拘留",
    "暂扣或者吊销许可证",
    "暂扣或者吊销执照",
    "其他",
)
GOV_CATEGORY = ("政府机关", "事业单位", "公务员")
CODE1 = "行政相对人代码_1(统一社会信用代码)"
CODE2 = "行政相对人代码_2(工商注册号)"


def _party_fields() -> tuple[Field, ...]:
    """The 行政相对人 columns shared by 行政处罚 and 行政许可 (双公示 2.0)."""
    # Why long: a declaration: the 行政相对人 columns of the data standard, one Field each.
    return (
        Field(
            "行政相对人名称",
            required=True,
            max_len=200,
            aliases=("相对人名称", "CF_XDR_MC", "XK_XDR_MC"),
            label="行政相对人",
        ),
        Field(
            "行政相对人类别",
            T.ENUM,
            required=True,
            enum=PARTY_CATEGORY,
            value_aliases=PARTY_CATEGORY_ALIASES,
            aliases=("相对人类别",),
            label="相对人类别",
        ),
        Field(
            CODE1,
            T.USCC,
            max_len=18,
            aliases=(
                "统一社会信用代码",
                "行政相对人代码1",
                "社会信用代码",
                "CF_XDR_SHXYM",
                "XK_XDR_SHXYM",
            ),
            label="统一社会信用代码",
        ),
        Field(
            CODE2,
            T.CODE,
            max_len=50,
            aliases=("工商注册号", "行政相对人代码2", "CF_XDR_GSZC", "XK_XDR_GSZC"),
            label="工商注册号",
        ),
        Field(
            "行政相对人代码_3(组织机构代码)",
            T.CODE,
            max_len=9,
            aliases=("组织机构代码", "行政相对人代码3"),
            label="组织机构代码",
        ),
        Field(
            "行政相对人代码_4(税务登记号)",
            T.CODE,
            max_len=15,
            aliases=("税务登记号", "行政相对人代码4"),
            label="税务登记号",
        ),
        Field(
            "行政相对人代码_5(事业单位证书号)",
            T.CODE,
            max_len=12,
            aliases=("事业单位证书号", "行政相对人代码5"),
            label="事业单位证书号",
        ),
        Field(
            "行政相对人代码_6(社会组织登记证号)",
            T.CODE,
            max_len=50,
            aliases=("社会组织登记证号", "行政相对人代码6"),
            label="社会组织登记证号",
        ),
        Field("法定代表人", max_len=50, aliases=("法定代表人姓名", "CF_FR", "XK_FR")),
        Field("法定代表人证件类型", max_len=64, public=False),
        Field("法定代表人证件号码", T.IDNO, max_len=64, public=False),
        Field("证件类型", max_len=64, aliases=("相对人证件类型",)),
        Field("证件号码", T.IDNO, max_len=64, aliases=("相对人证件号码",)),
    )


def _party_rules() -> tuple[RequiredWhen | EmptyWhen, ...]:
    """Conditional rules from real 双公示 validators (data-standard §2)."""
    return (
        RequiredWhen(CODE1, "行政相对人类别", ("法人及非法人组织", "个体工商户")),
        RequiredWhen("法定代表人", "行政相对人类别", ("法人及非法人组织",)),
        RequiredWhen("证件类型", "行政相对人类别", ("自然人",)),
        RequiredWhen("证件号码", "行政相对人类别", ("自然人",)),
        EmptyWhen(CODE1, "行政相对人类别", ("自然人",)),
        EmptyWhen("法定代表人", "行政相对人类别", ("自然人",)),
        RequiredWhen(CODE2, CODE1, (USCC_PLACEHOLDER,)),
    )


def _source_fields() -> tuple[Field, ...]:
    return (
        Field("数据来源单位", required=True, max_len=200),
        Field("数据来源单位统一社会信用代码", T.USCC, required=True, max_len=18),
        Field("备注", max_len=512),
    )


PENALTY = Kind(
    name="penalty",
    label="行政处罚",
    search_letter="p",
    timeliness=True,
    fields=_party_fields()
    + (
        Field(
            "行政处罚决定书文号",
            T.DOCNO,
            required=True,
            max_len=128,
            aliases=("决定书文号", "处罚决定书文号", "CF_WSH"),
            label="决定书文号",
        ),
        Field("违法行为类型", required=True, max_len=2000, aliases=("CF_WFXW",)),
        Field("违法事实", T.MARKDOWN, required=True, max_len=2000, aliases=("CF_SY", "处罚事由")),
        Field("处罚依据", required=True, max_len=2048, aliases=("CF_YJ",)),
        Field(
            "处罚类别",
            T.MULTI_ENUM,
            required=True,
            max_len=255,
            enum=PENALTY_TYPES,
            aliases=("CF_CFLB1", "CF_CFLB", "处罚类别1"),
        ),
        Field("处罚内容", required=True, max_len=4000, aliases=("CF_JG", "处罚结果")),
        Field("罚款金额(万元)", T.AMOUNT, aliases=("罚款金额", "罚款金额（万元）")),
        Field(
            "没收违法所得、没收非法财物的金额(万元)",
            T.AMOUNT,
            aliases=("没收违法所得、没收非法财物的金额", "没收金额(万元)"),
            label="没收金额(万元)",
        ),
        Field("暂扣或吊销证照名称及编号", max_len=200),
        Field("处罚决定日期", T.DATE, required=True, aliases=("决定日期", "CF_JDRQ")),
        Field("处罚有效期", T.DATE, required=True),
        Field("公示截止期", T.DATE),
        Field("处罚机关", required=True, max_len=255, aliases=("CF_XZJG",)),
        Field("处罚机关统一社会信用代码", T.USCC, required=True, max_len=18),
    )
    + _source_fields(),
    natural_key=("处罚机关统一社会信用代码", "行政处罚决定书文号"),
    subject="行政相对人名称",
    subject_category="行政相对人类别",
    subject_code=CODE1,
    docno="行政处罚决定书文号",
    date="处罚决定日期",
    authority="处罚机关",
    authority_label="处罚机关",
    authority_code="处罚机关统一社会信用代码",
    source="数据来源单位",
    rules=_party_rules(),
    summary_fields=("处罚类别", "违法行为类型"),
    search_fields=("处罚类别", "违法行为类型"),
    uscc_placeholder_for=("个体工商户",),
    notice=Notice(
        meaning="行政机关依法对违反行政管理秩序的公民、法人或者其他组织作出的行政处罚决定。",
        law="《中华人民共和国行政处罚法》第四十八条：具有一定社会影响的行政处罚决定应当依法公开。",
        period="按处罚的严重程度确定公示期限（见本页“公示截止”），期满自动撤下；"
        "仅受警告、通报批评等轻微处罚的，原则上不公示。",
        repair=True,
    ),
)

LICENSE = Kind(
    name="license",
    label="行政许可",
    search_letter="l",
    timeliness=True,
    fields=_party_fields()
    + (
        Field("行政许可决定文书名称", required=True, max_len=64, label="决定文书名称"),
        Field(
            "行政许可决定文书号",
            T.DOCNO,
            required=True,
            max_len=64,
            aliases=("许可决定文书号", "XK_WSH"),
            label="决定文书号",
        ),
        Field(
            "许可类别", T.ENUM, required=True, enum=("普通", "特许", "认可", "核准", "登记", "其他")
        ),
        Field("许可证书名称", required=True, max_len=64),
        Field("许可编号", T.CODE, max_len=64),
        Field("许可内容", required=True, max_len=4000),
        Field("许可决定日期", T.DATE, required=True, aliases=("决定日期", "XK_JDRQ")),
        Field("有效期自", T.DATE),
        Field("有效期至", T.DATE),
        Field("公示截止期", T.DATE),
        Field("许可机关", required=True, max_len=200, aliases=("XK_XZJG",)),
        Field("许可机关统一社会信用代码", T.USCC, required=True, max_len=18),
        Field("当前状态", max_len=20),
    )
    + _source_fields(),
    natural_key=("许可机关统一社会信用代码", "行政许可决定文书号"),
    subject="行政相对人名称",
    subject_category="行政相对人类别",
    subject_code=CODE1,
    docno="行政许可决定文书号",
    date="许可决定日期",
    authority="许可机关",
    authority_label="许可机关",
    authority_code="许可机关统一社会信用代码",
    source="数据来源单位",
    rules=_party_rules(),
    summary_fields=("许可证书名称", "许可类别"),
    search_fields=("许可编号",),
    uscc_placeholder_for=("个体工商户",),
    notice=Notice(
        meaning="行政机关准予公民、法人或者其他组织从事特定活动的许可决定，是正面信息，不是失信记录。",
        law="《中华人民共和国行政许可法》第四十条：行政机关作出的准予行政许可决定，应当予以公开。",
        period="长期公示；许可被撤销、变更或注销的，随之更新或撤下。",
        basis="《中华人民共和国行政许可法》第四十条",
    ),
)

JUDGMENT = Kind(
    name="judgment",
    label="司法裁判",
    search_letter="j",
    fields=(
        Field("案号", T.DOCNO, required=True, max_len=128),
        Field("案件名称", max_len=255),
        Field("审理法院", required=True, max_len=200),
        Field("文书类型", T.ENUM, enum=("判决书", "裁定书", "决定书", "调解书")),
        Field("裁判日期", T.DATE, required=True),
        Field("案由", max_len=255),
        Field("当事人名称", required=True, max_len=200),
        Field("当事人类别", T.ENUM, enum=GOV_CATEGORY),
        Field("当事人统一社会信用代码", T.USCC, max_len=18),
        Field("裁判结果", required=True, max_len=4000),
        Field("全文", T.MARKDOWN, max_len=100_000),
        Field("原文链接", T.URL, max_len=500),
        Field("公示截止期", T.DATE),
        Field("备注", max_len=512),
    ),
    natural_key=("案号",),
    subject="当事人名称",
    subject_category="当事人类别",
    subject_code="当事人统一社会信用代码",
    docno="案号",
    date="裁判日期",
    authority="审理法院",
    authority_label="审理法院",
    summary_fields=("案由", "文书类型"),
    notice=Notice(
        meaning="人民法院对以政府机关为当事人的行政诉讼、合同纠纷等案件作出的裁判，反映政府机关依法行政、履约践诺的情况。",
        law="《盐城市加强政务诚信建设工作方案》：将政府机关涉诉、履约等信息纳入政务诚信记录并依法公开。",
        period="自裁判之日起按本站公示规则公示（见本页“公示截止”）。",
        basis="《盐城市加强政务诚信建设工作方案》",
    ),
)

PLEDGE = Kind(
    name="pledge",
    label="信用承诺",
    search_letter="c",
    fields=(
        Field(
            "承诺编码",
            T.DOCNO,
            required=True,
            max_len=20,
            pattern=r"^\d{6}(19|20)\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])\d{6}$",
            pattern_hint="承诺编码应为20位数字：6位地区码+8位日期+6位流水号",
        ),
        Field("承诺人名称", required=True, max_len=200),
        Field("承诺人类别", max_len=50),
        Field("承诺人代码", T.USCC, max_len=18, aliases=("承诺人统一社会信用代码",)),
        Field(
            "承诺类型",
            T.ENUM,
            enum=("审批替代", "容缺受理", "证明事项", "信用修复", "行业自律", "主动", "其他"),
            value_aliases={
                "审批替代型": "审批替代",
                "容缺受理型": "容缺受理",
                "证明事项型": "证明事项",
                "信用修复型": "信用修复",
                "行业自律型": "行业自律",
                "主动型": "主动",
            },
        ),
        Field("承诺事由", required=True, max_len=512),
        Field("承诺内容", T.MARKDOWN, required=True, max_len=4000),
        Field("违诺责任", T.MARKDOWN, max_len=4000),
        Field("承诺作出日期", T.DATE, required=True, aliases=("承诺日期",)),
        Field("承诺有效期", T.DATE),
        Field("履行状态", T.ENUM, enum=("全部履行", "部分履行", "全部未履行")),
        Field("受理单位", max_len=200),
        Field("受理单位统一社会信用代码", T.USCC, max_len=18),
        Field(
            "公开类型",
            T.ENUM,
            enum=("可向社会公开", "不可公开"),
            value_aliases={
                "社会公开": "可向社会公开",
                "公开": "可向社会公开",
                "不公开": "不可公开",
                "不予公开": "不可公开",
            },
        ),
        Field("公示截止期", T.DATE),
        Field("备注", max_len=512),
    ),
    natural_key=("承诺编码",),
    subject="承诺人名称",
    subject_category="承诺人类别",
    subject_code="承诺人代码",
    docno="承诺编码",
    date="承诺作出日期",
    authority="受理单位",
    authority_label="受理单位",
    authority_code="受理单位统一社会信用代码",
    withhold_when=(("公开类型", ("不可公开",)),),
    summary_fields=("承诺事由", "履行状态"),
    notice=Notice(
        meaning="采购人等主体在政府采购等活动前向社会公开作出的信用承诺，以及承诺的履行情况。",
        law="《盐城市加强政务诚信建设工作方案》：建立政府采购采购人信用承诺制度，承诺向社会公开。",
        period="长期公示；履行情况变化时随之更新。",
        basis="《盐城市加强政务诚信建设工作方案》",
    ),
)

DISHONESTY = Kind(
    name="dishonesty",
    label="政务失信",
    search_letter="d",
    fields=(
        Field("失信主体名称", required=True, max_len=200),
        Field("失信主体类别", T.ENUM, enum=GOV_CATEGORY),
        Field("统一社会信用代码", T.USCC, max_len=18),
        Field("所在单位", max_len=200),
        Field("失信行为", T.MARKDOWN, required=True, max_len=4000),
        Field("认定依据", required=True, max_len=2048),
        Field("认定单位", required=True, max_len=200),
        Field("认定单位统一社会信用代码", T.USCC, max_len=18),
        Field("认定日期", T.DATE, required=True),
        Field("认定文书号", T.DOCNO, required=True, max_len=128),
        Field("整改情况", max_len=4000),
        Field("容错纠错", T.ENUM, enum=("是", "否"), public=False),
        Field("公示截止期", T.DATE),
        Field("备注", max_len=512),
    ),
    natural_key=("认定单位", "认定文书号"),
    subject="失信主体名称",
    subject_category="失信主体类别",
    subject_code="统一社会信用代码",
    docno="认定文书号",
    date="认定日期",
    authority="认定单位",
    authority_label="认定单位",
    authority_code="认定单位统一社会信用代码",
    withhold_when=(("容错纠错", ("是",)),),
    summary_fields=("认定依据",),
    search_fields=("失信行为",),
    notice=Notice(
        meaning="经认定的政府机关失信行为，例如拖欠中小企业账款逾期未付、不履行生效裁判。",
        law="《盐城市加强政务诚信建设工作方案》：建立政务失信记录，依法依规公开。",
        period="按本站公示规则公示（见本页“公示截止”）；完成信用修复的，提前终止公示。",
        repair=True,
    ),
)

COMMENDATION = Kind(
    name="commendation",
    label="守信激励",
    search_letter="r",
    fields=(
        Field("受表彰主体名称", required=True, max_len=200),
        Field("主体类别", max_len=50),
        Field("统一社会信用代码", T.USCC, max_len=18),
        Field("表彰名称", required=True, max_len=255),
        Field("表彰文号", T.DOCNO, required=True, max_len=128),
        Field("表彰内容", T.MARKDOWN, max_len=4000),
        Field("授予单位", required=True, max_len=200),
        Field("授予日期", T.DATE, required=True),
        Field("有效期至", T.DATE),
        Field("公示截止期", T.DATE),
        Field("备注", max_len=512),
    ),
    # One 表彰文号 commends many bodies: the subject is part of the key.
    natural_key=("表彰文号", "受表彰主体名称"),
    subject="受表彰主体名称",
    subject_category="主体类别",
    subject_code="统一社会信用代码",
    docno="表彰文号",
    date="授予日期",
    authority="授予单位",
    authority_label="授予单位",
    summary_fields=("表彰名称",),
    search_fields=("表彰名称",),
    notice=Notice(
        meaning="对诚信经营、守信践诺表现突出的主体给予的表彰，是正面信息。",
        law="《国务院关于建立完善守信联合激励和失信联合惩戒制度加快推进社会诚信建设的指导意见》"
        "（国发〔2016〕33号）：建立守信联合激励机制，公开守信激励对象。",
        period="自授予之日起按本站公示规则公示（见本页“公示截止”）。",
        basis="国发〔2016〕33号",
    ),
)

# The bodies the work plan has evaluated (二(十八)): all of them government bodies.
EVALUATED_CATEGORIES = ("县（市、区）政府", "开发区管委会", "市级部门", "乡镇（街道）")
EVALUATION_GRADES = ("优秀", "良好", "一般", "较差")  # best first

EVALUATION = Kind(
    name="evaluation",
    label="政务诚信评价",
    search_letter="e",
    fields=(
        Field("评价年度", T.YEAR, required=True, aliases=("考核年度", "年度")),
        Field(
            "被评价单位名称",
            required=True,
            max_len=200,
            aliases=("被评价单位", "被考核单位名称", "被考核单位", "单位名称"),
            label="被评价单位",
        ),
        Field(
            "被评价单位统一社会信用代码",
            T.USCC,
            required=True,
            max_len=18,
            aliases=("统一社会信用代码", "被考核单位统一社会信用代码"),
            label="统一社会信用代码",
        ),
        Field(
            "被评价单位类别",
            T.ENUM,
            required=True,
            enum=EVALUATED_CATEGORIES,
            # Compared after NFKC, which makes full-width brackets half-width
            value_aliases={
                "县(市、区)政府": "县（市、区）政府",
                "县(市,区)政府": "县（市、区）政府",
                "县市区政府": "县（市、区）政府",
                "县级政府": "县（市、区）政府",
                "开发区": "开发区管委会",
                "开发区管理委员会": "开发区管委会",
                "市级机关": "市级部门",
                "市级单位": "市级部门",
                "市直部门": "市级部门",
                "乡镇(街道)": "乡镇（街道）",
                "乡镇": "乡镇（街道）",
                "街道": "乡镇（街道）",
                "乡镇街道": "乡镇（街道）",
            },
            aliases=("单位类别", "被考核单位类别"),
            label="单位类别",
        ),
        Field("评价机构", required=True, max_len=200, aliases=("考核单位", "评价单位")),
        Field("评价文号", T.DOCNO, required=True, max_len=128, aliases=("文号", "发布文号")),
        # Not "发布日期" on the page: that is when this site published the record
        Field(
            "发布日期",
            T.DATE,
            required=True,
            aliases=("公布日期", "发布时间"),
            label="结果发布日期",
        ),
        Field("评价得分", T.SCORE, required=True, aliases=("得分", "考核得分")),
        Field(
            "评价等级",
            T.ENUM,
            required=True,
            enum=EVALUATION_GRADES,
            aliases=("等级", "考核等次", "评价等次", "等次"),
        ),
        Field("主要扣分事项", max_len=2000, aliases=("扣分事项", "扣分情况")),
        Field("备注", max_len=512),
    ),
    # One result per body and year: a later batch with the same year and code is a correction.
    natural_key=("评价年度", "被评价单位统一社会信用代码"),
    subject="被评价单位名称",
    subject_category="被评价单位类别",
    subject_code="被评价单位统一社会信用代码",
    docno="评价文号",
    date="发布日期",
    authority="评价机构",
    authority_label="评价机构",
    deadline=None,
    summary_fields=("评价年度", "评价等级", "评价得分"),
    search_fields=("被评价单位类别", "评价等级"),
    notice=Notice(
        meaning="市信用办组织的年度政务诚信考核评价结果：对县（市、区）政府、开发区管委会、"
        "市级部门和乡镇（街道）的依法行政、政务公开、信用体系建设、守信践诺等情况评分定级"
        "（优秀、良好、一般、较差），并列明主要扣分事项。",
        law="《盐城市加强政务诚信建设工作方案》二（十八）：对县（市、区）政府、盐城经济技术开发区、"
        "盐南高新区管委会实施政务诚信考核评价，考评结果作为政府绩效考核的重要参考；二（十九）："
        "对各地区各部门政务诚信建设绩效开展综合评价评级，实施区域政务诚信大数据监测预警，加强社会监督。",
        period="自发布之日起按本站公示规则公示（见本页“公示截止”），便于对照近几个年度的结果；期满自动撤下。"
        "同一单位同一年度的结果更正后，以最新发布的为准。",
        basis="《盐城市加强政务诚信建设工作方案》",
    ),
)

KINDS: dict[str, Kind] = {
    k.name: k for k in (PENALTY, LICENSE, JUDGMENT, PLEDGE, DISHONESTY, COMMENDATION, EVALUATION)
}
KIND_NAMES: tuple[str, ...] = tuple(KINDS)


def get_kind(name: str) -> Kind:
    return KINDS[name]
