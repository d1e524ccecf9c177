"""Normalise, validate and mask one export row against its kind's schema (pure functions).

A row either becomes a record (normalised fields, masked IDs, stable id) or is rejected with
every problem named (column + Chinese reason). Nothing is fixed silently.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from . import pii
from .checkdigits import USCC_PLACEHOLDER, is_valid_rid, is_valid_uscc, rid_problem
from .markup import attribute_text, sanitized_html, visible_text
from .masking import mask_id
from .normalize import (
    CellError,
    clean_text,
    half_width,
    normalize_code,
    normalize_docno,
    parse_amount_wan,
    parse_date,
    parse_score,
    parse_year,
)
from .schema import ID_CARD_TYPES, EmptyWhen, Field, Kind, RequiredWhen, T
from .settings import Config

_MULTI_SPLIT = re.compile(r"[;；、,，/|]+")
_URL = re.compile(r"^https?://[^\s<>\"'`]+$", re.IGNORECASE)
_ISSUE_ID_TYPE = {"证件号码": "证件类型", "法定代表人证件号码": "法定代表人证件类型"}


@dataclass
class RowResult:
    """Outcome of one row: ``fields`` when valid, else ``errors``; ``warnings`` never reject."""

    row: int
    fields: dict[str, Any] = field(default_factory=dict)
    errors: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def cell_text(value: Any) -> str:
    """A raw cell (text, number, date from Excel) → text; integral floats lose their ``.0``."""
    if value is None:
        return ""
    if type(value) is str:
        return clean_text(value)
    if isinstance(value, float):
        if value != value:  # NaN from pandas
            return ""
        if value.is_integer() and abs(value) < 2**53:
            return str(int(value))
        return repr(value)
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return clean_text(str(value))


def record_id(kind: Kind, fields: Mapping[str, Any]) -> str:
    """Stable 16-hex id from the kind's natural key: the record's permanent URL and identity."""
    parts = []
    for name in kind.natural_key:
        value = str(fields.get(name, ""))
        if kind.field(name).type is T.DOCNO:
            value = normalize_docno(value)
        else:
            value = half_width(value).replace(" ", "").upper()
        parts.append(value)
    digest = hashlib.sha256("\x1f".join([kind.name, *parts]).encode("utf-8")).hexdigest()
    return digest[:16]


def _is_numeric_cell(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _date(f: Field, raw: Any, row: Mapping[str, Any], cfg: Config) -> str:
    return parse_date(raw).isoformat()


def _amount(f: Field, raw: Any, row: Mapping[str, Any], cfg: Config) -> float:
    return parse_amount_wan(raw)


def _year(f: Field, raw: Any, row: Mapping[str, Any], cfg: Config) -> str:
    return parse_year(raw)


def _score(f: Field, raw: Any, row: Mapping[str, Any], cfg: Config) -> float:
    return parse_score(raw)


def _idno(f: Field, raw: Any, row: Mapping[str, Any], cfg: Config) -> str:
    """Validate when it is a 身份证 number, then mask: personal data never enters content/ (§5)."""
    if (
        isinstance(raw, float)
        and not raw.is_integer()
        or (_is_numeric_cell(raw) and abs(raw) >= 2**53)
    ):
        raise CellError("证件号码被 Excel 存为数字，已丢失精度；请把该列设为文本后重新导出")
    text = normalize_code(cell_text(raw))
    id_type = half_width(cell_text(row.get(_ISSUE_ID_TYPE.get(f.name, ""), ""))).replace(" ", "")
    looks_like_id = bool(_ID_SHAPE.fullmatch(text))
    if "*" not in text and (id_type in ID_CARD_TYPES or (not id_type and looks_like_id)):
        problem = rid_problem(text)
        if problem:
            raise CellError(problem)
    _check_length(f, text)
    return mask_id(text, cfg.ID_MASK_KEEP_START, cfg.ID_MASK_KEEP_END, cfg.ID_MASK_CHAR)


def _masked(text: str, cfg: Config) -> str:
    """``text`` with every ID, mobile and card number masked by the site's rules (most cells hold none);
    CellError when a number shows only in the compatibility form (``3⑳902…``: not maskable in place)."""
    masked = pii.mask(text, pii.MaskRules.from_config(cfg)) if pii.find(text) else text
    folded = pii.find_folded(masked)
    if folded:
        raise CellError(f"含有以⑳、⑴、⒈等特殊数字字符写出的完整{folded[0].label}，请脱敏后重新报送")
    return masked


def _check_length(f: Field, text: str) -> None:
    if f.max_len and len(text) > f.max_len:
        raise CellError(f"长度超过 {f.max_len} 个字符（实为 {len(text)} 个）")


def _refuse_long_number(raw: Any) -> None:
    """A number cell of 16 digits or more in a text or code column is an ID or card number that
    Excel stored as a number: it kept 15 digits and shows 16 (``3.209021985030578e+17``)."""
    if _is_numeric_cell(raw) and abs(raw) >= 1e15:
        raise CellError(
            "超过 15 位的数字被 Excel 存为数字，已丢失精度（可能是证件号码或卡号）；请把该列设为文本后重新导出"
        )


def _text(f: Field, raw: Any, row: Mapping[str, Any], cfg: Config) -> str:
    _refuse_long_number(raw)
    text = cell_text(raw)
    _check_length(f, text)
    text = _masked(text, cfg)
    if f.type is T.MARKDOWN and _MARKUP_HINT.search(text):
        # A number split by markup is invisible here but whole on the page: refuse the cell. So
        # is one in a link's address or title (``[详见](https://a/?id=&#51;… "…")``).
        rendered = sanitized_html(text)
        found = pii.find(visible_text(rendered)) or pii.find(
            attribute_text(rendered), lines_join=False
        )
        if found:
            raise CellError(f"含有被标记拆开的完整{found[0].label}，请脱敏后重新报送")
    if f.pattern and not re.match(f.pattern, text):
        raise CellError(f.pattern_hint or "格式不正确")
    return text


def _code(f: Field, raw: Any, row: Mapping[str, Any], cfg: Config) -> str:
    _refuse_long_number(raw)
    text = normalize_code(cell_text(raw))
    _check_length(f, text)
    if f.type is T.USCC:
        if text != USCC_PLACEHOLDER and not is_valid_uscc(text):
            raise CellError(f"统一社会信用代码无效（校验位或格式错误）：{pii.mask(text)}")
        # A valid credit code names an organisation; only an all-digit one can also be an ID number.
        return (
            mask_id(text, cfg.ID_MASK_KEEP_START, cfg.ID_MASK_KEEP_END, cfg.ID_MASK_CHAR)
            if text[:17].isdigit() and is_valid_rid(text)
            else text
        )
    # A 个体工商户's 税务登记号 or 注册号 is often the owner's ID number: it is personal data.
    return _masked(text, cfg)


def _docno(f: Field, raw: Any, row: Mapping[str, Any], cfg: Config) -> str:
    text = cell_text(raw)  # kept as written for display; records carry the normalised key too
    _check_length(f, text)
    if f.pattern and not re.match(f.pattern, normalize_code(text)):
        raise CellError(f.pattern_hint or "格式不正确")
    return text


def _enum(f: Field, raw: Any, row: Mapping[str, Any], cfg: Config) -> str:
    text = cell_text(raw)
    value = half_width(text).replace(" ", "")
    value = f.value_aliases.get(value, value)
    if value not in f.enum:
        raise CellError(f"取值“{pii.mask(text)}”不在允许范围内（{'/'.join(f.enum)}）")
    return value


def _multi_enum(f: Field, raw: Any, row: Mapping[str, Any], cfg: Config) -> str:
    text = cell_text(raw)
    _check_length(f, text)
    parts = [p.strip() for p in _MULTI_SPLIT.split(half_width(text)) if p.strip()]
    unknown = [p for p in parts if p not in f.enum]
    if unknown or not parts:
        raise CellError(
            f"取值“{pii.mask('、'.join(unknown) or text)}”不在允许范围内（{'/'.join(f.enum)}）"
        )
    return ";".join(dict.fromkeys(parts))


def _url(f: Field, raw: Any, row: Mapping[str, Any], cfg: Config) -> str:
    text = cell_text(raw)
    _check_length(f, text)
    if not _URL.match(text):
        raise CellError("链接应以 http:// 或 https:// 开头")
    return text


# One normaliser per field type: a cell → its normalised value, or CellError with the reason.
HANDLERS: dict[T, Callable[..., Any]] = {
    T.TEXT: _text,
    T.MARKDOWN: _text,
    T.DATE: _date,
    T.AMOUNT: _amount,
    T.IDNO: _idno,
    T.USCC: _code,
    T.CODE: _code,
    T.DOCNO: _docno,
    T.ENUM: _enum,
    T.MULTI_ENUM: _multi_enum,
    T.URL: _url,
    T.YEAR: _year,
    T.SCORE: _score,
}
_MARKUP_HINT = re.compile(r"[<&*_`\\\[]")  # only such text can render differently from how it reads
_ID_SHAPE = re.compile(r"\d{17}[\dX]|\d{15}")


def _refuse_personal_data(f: Field, raw: Any, cfg: Config) -> None:
    """A document number, 案号 or other part of a record's key, or a link, cannot be masked: the
    record would become another record, the link another address. A number there rejects the row."""
    text = raw if type(raw) is str else cell_text(raw)  # already cleaned
    found = (
        pii.find(text)
        or pii.find_folded(text)
        or (pii.find(unquote(text)) if f.type is T.URL else [])
    )
    if found:
        shown = f"{found[0].label}（{pii.MaskRules.from_config(cfg).masked(found[0])}）"
        if f.type is T.URL:
            raise CellError(f"含有完整的{shown}：链接不能脱敏，请删去个人信息后重新报送")
        raise CellError(f"含有完整的{shown}：该列是记录的标识，不能脱敏，请删去个人信息后重新报送")


def _is_empty(raw: Any) -> bool:
    return cell_text(raw) == ""


def normalize_row(
    kind: Kind,
    raw: Mapping[str, Any],
    row: int,
    today: dt.date,
    cfg: Config,
    cache: dict[tuple[str, Any], tuple[bool, Any]] | None = None,
) -> RowResult:
    """Validate and normalise one row (``raw``: canonical column name → cell).

    ``cache`` memoises cell results per (column, value) across the rows of a chunk: columns such
    as 处罚机关 or 处罚依据 repeat on nearly every row. ID columns depend on their row and are not cached.
    """
    # Why long: the per-row rules of a kind's schema, in the order the data standard lists them;
    # called once per row of an export.
    result = RowResult(row)
    fields: dict[str, Any] = {}
    # Clean every text cell once; numbers and dates from Excel stay typed for their parsers.
    raw = {k: (clean_text(v) if isinstance(v, str) else v) for k, v in raw.items()}
    memo = cache if cache is not None else {}  # without a cache every key is None: never used
    for f in kind.fields:
        value = raw.get(f.name)
        if value is None or value == "" or (not isinstance(value, str) and _is_empty(value)):
            if f.required:
                result.errors.append((f.name, "必填项为空"))
            continue
        key = (
            (f.name, value)
            if cache is not None and f.type is not T.IDNO and type(value) is str
            else None
        )
        hit: tuple[bool, Any] | None = memo.get(key) if key is not None else None
        if hit is None:
            try:
                if f.name in kind.unmaskable:
                    _refuse_personal_data(f, value, cfg)
                hit = (True, HANDLERS[f.type](f, value, raw, cfg))
            except CellError as exc:
                hit = (False, str(exc))
            if key is not None and len(memo) < 200_000:
                memo[key] = hit
        if hit[0]:
            fields[f.name] = hit[1]
        else:
            result.errors.append((f.name, hit[1]))

    for rule in kind.rules:
        condition = fields.get(rule.when)
        if condition is None or condition not in rule.values:
            continue
        if (
            isinstance(rule, RequiredWhen)
            and rule.field not in fields
            and not any(c == rule.field for c, _ in result.errors)
        ):
            result.errors.append((rule.field, f"“{rule.when}”为“{condition}”时必须填写"))
        elif isinstance(rule, EmptyWhen) and rule.field in fields:
            result.errors.append((rule.field, f"“{rule.when}”为“{condition}”时应为空"))

    if kind.subject_code and fields.get(kind.subject_code) == USCC_PLACEHOLDER:
        category = fields.get(kind.subject_category or "", "")
        if category not in kind.uscc_placeholder_for:
            result.errors.append(
                (kind.subject_code, f"占位代码 {USCC_PLACEHOLDER} 只适用于个体工商户")
            )

    decided = fields.get(kind.date)
    if decided and decided > today.isoformat():
        result.errors.append((kind.date, f"日期 {decided} 晚于今天 {today.isoformat()}"))
    for name in kind.year_fields:  # a year still to come when the record was made: a typo
        if decided and fields.get(name) and fields[name] > decided[:4]:
            result.errors.append((name, f"年度 {fields[name]} 晚于{kind.date} {decided}"))
    deadline_field = kind.deadline or ""
    deadline = fields.get(deadline_field)
    if decided and deadline and deadline < decided:
        result.errors.append((deadline_field, f"公示截止期 {deadline} 早于决定日期 {decided}"))
    if (
        fields.get("有效期自")
        and fields.get("有效期至")
        and fields["有效期至"] < fields["有效期自"]
    ):
        result.errors.append(("有效期至", "有效期至早于有效期自"))

    _category_warnings(kind, fields, result)
    result.fields = fields
    return result


_PREFIX_FOR = {
    "个体工商户": ("92",),
    "法人及非法人组织": ("91", "93", "11", "12", "13", "19", "51", "52", "53", "59", "Y1"),
}


def _category_warnings(kind: Kind, fields: Mapping[str, Any], result: RowResult) -> None:
    """Credit-code prefix vs category mismatch: worth a warning, not a rejection (§2)."""
    if not kind.subject_code or not kind.subject_category:
        return
    code = fields.get(kind.subject_code)
    expected = _PREFIX_FOR.get(fields.get(kind.subject_category, ""))
    if code and expected and code != USCC_PLACEHOLDER and code[:2] not in expected:
        result.warnings.append(
            (
                kind.subject_code,
                f"代码前两位 {code[:2]} 与类别“{fields[kind.subject_category]}”不一致，请核实",
            )
        )


def withheld_reason(kind: Kind, fields: Mapping[str, Any], cfg: Config) -> str:
    """Why a valid record is kept but never published ('' when it may be published)."""
    for name, values in kind.withhold_when:
        if fields.get(name) in values:
            return f"{name}：{fields[name]}"
    remark = str(fields.get("备注", ""))
    for word in cfg.WITHHOLD_KEYWORDS:
        if word in remark:
            return f"备注含“{word}”"
    return ""
