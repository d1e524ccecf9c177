"""Typed configuration: every setting, its default and what it does, in one place.

Settings live in the site's ``pelicanconf.py`` (upper-case names, as in Pelican). Anything
not set there takes the default below. ``docs/settings.md`` documents each of them and a test
keeps that page in step with this module.
"""

from __future__ import annotations

import dataclasses
import runpy
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SETTINGS_FILE = "pelicanconf.py"


def _s(default: Any, doc: str) -> Any:
    """Declare a setting with its documentation (mutable defaults are copied per instance)."""
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: _copy(default), metadata={"doc": doc})
    return field(default=default, metadata={"doc": doc})


def _copy(value: Any) -> Any:
    import copy

    return copy.deepcopy(value)


# Severity of each 处罚类别 (行政处罚法 2021 第九条, plus names from the 2009 standard).
# A decision with several types takes the most severe. *Unconfirmed* mapping: a setting.
DEFAULT_PENALTY_SEVERITY = {
    "警告": "轻微",
    "通报批评": "轻微",
    "罚款": "一般",
    "没收违法所得": "一般",
    "没收非法财物": "一般",
    "暂扣许可证件": "一般",
    "降低资质等级": "严重",
    "吊销许可证件": "严重",
    "限制开展生产经营活动": "严重",
    "责令停产停业": "严重",
    "责令关闭": "严重",
    "限制从业": "严重",
    "行政拘留": "严重",
    "暂扣或者吊销许可证": "严重",
    "暂扣或者吊销执照": "严重",
    "其他": "一般",
}

# Dated rule sets for how long a record stays public (data-standard.md §6). The set whose
# ``from`` is the latest not after the decision date applies. Months per kind; for penalties
# months per severity. ``None``: no fixed period (until 公示截止期, if any). ``0``: not published.
# evaluation: three years, so that a body's last three yearly results are shown side by side (the
# Kind's notice says so).
DEFAULT_PUBLICATION_RULES = [
    {
        "from": "1900-01-01",
        "basis": "本站默认规则（2019年7月前作出的决定）",
        "months": {
            "penalty": {"轻微": 36, "一般": 36, "严重": 36},
            "license": None,
            "judgment": 36,
            "pledge": None,
            "dishonesty": 36,
            "commendation": 36,
            "evaluation": 36,
        },
    },
    {
        "from": "2019-07-09",
        "basis": "发改办财金〔2019〕527号",
        "months": {
            "penalty": {"轻微": 12, "一般": 12, "严重": 36},
            "license": None,
            "judgment": 36,
            "pledge": None,
            "dishonesty": 36,
            "commendation": 36,
            "evaluation": 36,
        },
    },
    {
        "from": "2023-05-01",
        "basis": "国家发展改革委令第58号",
        "months": {
            "penalty": {"轻微": 3, "一般": 12, "严重": 36},
            "license": None,
            "judgment": 36,
            "pledge": None,
            "dishonesty": 36,
            "commendation": 36,
            "evaluation": 36,
        },
    },
    {
        "from": "2026-04-01",
        "basis": "国办发〔2025〕22号、国家发展改革委令第36号《信用修复管理办法》",
        "months": {
            "penalty": {"轻微": 0, "一般": 12, "严重": 36},
            "license": None,
            "judgment": 36,
            "pledge": None,
            "dishonesty": 36,
            "commendation": 36,
            "evaluation": 36,
        },
    },
]

# 2026 national holidays and make-up working days (国务院办公厅 notice). Extend yearly.
# Fmt: skip
DEFAULT_HOLIDAYS = [
    "2026-01-01",
    "2026-01-02",
    "2026-02-16",
    "2026-02-17",
    "2026-02-18",
    "2026-02-19",
    "2026-02-20",
    "2026-02-23",
    "2026-04-06",
    "2026-05-01",
    "2026-05-04",
    "2026-05-05",
    "2026-06-19",
    "2026-09-25",
    "2026-10-01",
    "2026-10-02",
    "2026-10-05",
    "2026-10-06",
    "2026-10-07",
]
DEFAULT_MAKEUP_WORKDAYS = [
    "2026-01-04",
    "2026-02-14",
    "2026-02-28",
    "2026-05-09",
    "2026-09-20",
    "2026-10-10",
]


# Yancheng's county-level divisions by administrative code (GB/T 2260): positions 3–8 of a
# 统一社会信用代码 are the registering authority's code. Extend when divisions change.
# Fmt: skip
DEFAULT_COUNTIES = {
    "320902": "亭湖区",
    "320903": "盐都区",
    "320904": "大丰区",
    "320921": "响水县",
    "320922": "滨海县",
    "320923": "阜宁县",
    "320924": "射阳县",
    "320925": "建湖县",
    "320981": "东台市",
}


@dataclass(frozen=True)
class Config:
    """All settings of the generator. Build one with :func:`load_config`."""

    SITENAME: str = _s("信用盐城", "Site name shown in the header, titles and feeds.")
    SITE_SUBTITLE: str = _s("盐城市社会信用信息公示", "Subtitle under the site name.")
    SITEURL: str = _s(
        "",
        "Absolute base URL of the published site, used in feeds and sitemap. Empty: relative "
        "links, and sitemap/feeds use `SITEURL_FALLBACK`.",
    )
    SITEURL_FALLBACK: str = _s(
        "https://xyyc.example.invalid",
        "Base URL written into sitemap.xml and feeds when `SITEURL` is empty (demo builds).",
    )
    TIMEZONE: str = _s(
        "Asia/Shanghai", "Time zone of the clock (`--today` default, approval times)."
    )
    BATCHES_DIR: str = _s(
        "content/batches",
        "Where batches and the publication log are stored, relative to the site root.",
    )
    EDITORS_DIR: str = _s(
        "content/editors",
        "Where the trusted editors' list (`allowed_signers`) is kept, relative to the site root.",
    )
    REPORTS_DIR: str = _s(
        "reports", "Where review and build reports go (never published), relative to the site root."
    )
    HEADER_SCAN_ROWS: int = _s(
        30, "How many rows at the top of an export are searched for the header row."
    )
    CSV_CHUNK_ROWS: int = _s(50_000, "Rows read per chunk when streaming a CSV export.")
    ID_MASK_KEEP_START: int = _s(
        4,
        "Characters kept at the start of a masked ID number (data-standard §5: *unconfirmed*, so a setting).",
    )
    ID_MASK_KEEP_END: int = _s(
        4,
        "Characters kept at the end of a masked ID number (18 or 15 digits); with `ID_MASK_KEEP_START` fewer than 15.",
    )
    ID_MASK_CHAR: str = _s(
        "*",
        "Character that replaces the hidden part of an ID, mobile or bank card number (not a "
        "digit, separator or invisible character).",
    )
    MOBILE_MASK_KEEP_START: int = _s(
        3,
        "Digits kept at the start of a masked mobile number (`138****5678`); with "
        "`MOBILE_MASK_KEEP_END` fewer than 11.",
    )
    MOBILE_MASK_KEEP_END: int = _s(4, "Digits kept at the end of a masked mobile number.")
    CARD_MASK_KEEP_START: int = _s(
        0,
        "Digits kept at the start of a masked bank card number (`***************0128`); with "
        "`CARD_MASK_KEEP_END` fewer than 16.",
    )
    CARD_MASK_KEEP_END: int = _s(4, "Digits kept at the end of a masked bank card number.")
    WITHHOLD_KEYWORDS: list = _s(
        ["未成年", "国家秘密", "商业秘密", "不予公开"],
        "A record whose 备注 contains one of these is kept in its batch but never published (minors, secrets).",
    )
    WITHDRAW_REASONS: list = _s(
        ["信用修复", "异议更正", "决定撤销", "决定变更", "公示期满", "重复公示", "其他"],
        "Reasons accepted by `disclose withdraw --reason`.",
    )
    APPROVALS_REQUIRED: int = _s(
        1,
        "How many different trusted editors' keys must sign a batch's approval before it is published.",
    )
    PUBLICATION_RULES: list = _s(
        DEFAULT_PUBLICATION_RULES,
        "Dated rule sets for publication periods (see data-standard §6); the rule in force at "
        "the decision date applies.",
    )
    PENALTY_SEVERITY: dict = _s(
        DEFAULT_PENALTY_SEVERITY,
        "Severity (轻微/一般/严重) of each 处罚类别; a decision takes its most severe type.",
    )
    LONG_TERM_DATE: str = _s(
        "2099-12-31",
        "A date exports use for “long term” (处罚有效期, 有效期至); shown as 长期 (data-standard §2: *unconfirmed*).",
    )
    TIMELINESS_WORKING_DAYS: int = _s(
        7, "双公示 rule: working days allowed between decision and publication."
    )
    HOLIDAYS: list = _s(DEFAULT_HOLIDAYS, "Public holidays (ISO dates) that are not working days.")
    MAKEUP_WORKDAYS: list = _s(
        DEFAULT_MAKEUP_WORKDAYS, "Weekend days that are working days (调休)."
    )
    TIMELINESS_ALERT_SHARE: float = _s(
        0.9,
        "统计与监测: a department whose share of records published within "
        "`TIMELINESS_WORKING_DAYS` is below this is flagged 预警.",
    )
    COUNTIES: dict = _s(
        DEFAULT_COUNTIES,
        "统计与监测: county-level division by administrative code, used to place a record in a "
        "county (authority name first, else the credit code's positions 3–8).",
    )
    JUDGMENT_LOST_KEYWORDS: list = _s(
        ["败诉", "确认违法", "确认被告行政行为违法", "撤销被告", "责令被告", "赔偿"],
        "统计与监测: a judgment whose 裁判结果 contains one of these counts as lost by the "
        "government body (*unconfirmed* wording, so a setting).",
    )
    STATS_MONTHS: int = _s(24, "统计与监测: months shown in the by-month charts and tables.")
    STATS_TOP_N: int = _s(10, "统计与监测: entries in the top-N tables (违法行为类型, 处罚类别).")
    STATS_CHART_MAX_BARS: int = _s(
        20, "统计与监测: most bars in one chart (the data table and CSV keep every row)."
    )
    LIST_PAGE_SIZE: int = _s(50, "Records per list page.")
    LIST_MAX_PAGES: int = _s(
        20,
        "Pages of a kind's list and of an authority's list (newest first); older records are "
        "listed by month, where every record has its page. 0 = no limit. Deep pages nobody reads "
        "would otherwise all change with every new record.",
    )
    HOME_NEWEST: int = _s(10, "How many newest disclosures the home page shows.")
    FEED_SIZE: int = _s(50, "Entries per Atom feed.")
    SITEMAP_MAX_URLS: int = _s(
        50_000,
        "URLs per sitemap file. Past this, `sitemap.xml` is an index over parts that keep their "
        "bytes from night to night: the lists and other pages, the records by search segment, "
        "the archives by the first character of their id; a part bigger than this is cut into "
        "files of this many URLs.",
    )
    SITE_SPONSOR: str = _s("盐城市社会信用体系建设领导小组办公室（示例）", "主办单位 (footer).")
    SITE_ORGANIZER: str = _s("盐城市信用信息中心（示例）", "承办单位 (footer).")
    SITE_CODE: str = _s("0000000000", "网站标识码 (footer).")
    SITE_ICP: str = _s("苏ICP备00000000号-0（示例）", "ICP备案号 (footer).")
    SITE_PSB: str = _s("苏公网安备 00000000000000号（示例）", "公安备案号 (footer).")
    SITE_CONTACT: str = _s("联系电话：0515-00000000（示例）", "Contact line (footer).")
    OBJECTION_CONTACT: str = _s(
        "市信用办（示例）信用信息异议受理窗口，电话 0515-00000000（示例），工作日 9:00–17:00",
        "Where an objection (异议) to a record goes: every record page's 说明 box.",
    )
    REPAIR_CONTACT: str = _s(
        "“信用中国”网站信用修复栏目，或市信用办（示例）信用修复窗口，电话 0515-00000000（示例）",
        "Where 信用修复 is applied for: the 说明 box of the kinds it applies to.",
    )
    SEARCH_SHARD_POSTINGS: int = _s(
        0,
        "Postings per search shard; 0 = scale with the site (200–2,000). Smaller shards: fewer "
        "bytes per query, more files.",
    )
    SEARCH_TOKEN_CAP: int = _s(
        0,
        "Postings kept for a very common search token (newest records first); 0 = max(1,000, records/500).",
    )
    SEARCH_SEGMENT_RECORDS: int = _s(
        200_000,
        "Most approved rows in a search segment (in approval order; see search.segment_cuts: a "
        "new batch starts a segment, small segments merge). A new batch rewrites its own segment "
        "(and those it merges with) and a withdrawal only its record's; a query fetches one "
        "shard per segment, so fewer, larger segments mean fewer requests and bigger rewrites.",
    )
    SEARCH_CODE_SHARD_WINDOWS: int = _s(
        2_048,
        "Credit-code windows (six characters of a code, see search.CODE_WINDOWS) per file of a "
        "segment's code index, which a query for part of a code reads one file of.",
    )
    SEARCH_BUCKET_SIZE: int = _s(
        16, "Records per display bucket the search page fetches for its results."
    )
    SEARCH_PAGE_SIZE: int = _s(20, "Search results per page.")
    SEARCH_PREFIX_MAX_SHARDS: int = _s(
        2,
        "Shards a prefix query (one Han character, a partial credit code) may fetch: keeps broad queries bounded.",
    )
    BUILD_WORKERS: int = _s(
        0,
        "Worker processes for ingest validation and for rendering record and archive pages; 0 = one per CPU core.",
    )
    RENDER_STENCILS: bool = _s(
        True,
        "Fill record and archive pages from their template pre-rendered once per page shape "
        "(generator/stencils.py) instead of calling Jinja for each: the same bytes (the first "
        "two pages of every shape are rendered both ways and compared; a shape that differs "
        "falls back to Jinja), about a third of the CPU per page. Off: every page through Jinja "
        "(to check a theme change, or to compare).",
    )
    BUILD_PARALLEL_MIN_RECORDS: int = _s(
        3_000,
        "Below this many published records pages are rendered in-process (forking costs more than it saves).",
    )
    BUILD_WORKER_NICE: int = _s(
        5,
        "In an incremental build (the last build's manifest is there and still applies), how "
        "much the page workers yield the CPU to the main process (added niceness, 0–19), set "
        "once the manifest is accepted: its lists, statistics and sitemap are then the build's "
        "longest path and the workers' few pages can wait. A full build, forced or because the "
        "theme, code or settings changed, keeps equal priority (its longest path is the workers' "
        "pages).",
    )
    BUILD_FREE_DETACHED: bool = _s(
        True,
        "After a clean build's swap, free the old site (and trash an interrupted build left) in "
        "a detached rm -r that the build does not wait for: the new site is live at the swap, "
        "and deleting 10^6 records' pages takes minutes. False: wait for it before returning, "
        "where a detached process would not outlive the build (a container whose entrypoint is "
        "the build kills it at exit; the next build then frees the folder again).",
    )
    BUILD_SIDE_PROCESS: bool = _s(
        True,
        "In an incremental build with page workers, write the statistics and the feeds in a "
        "forked side process, beside the main process's lists, sitemap and build report, at the "
        "workers' priority (BUILD_WORKER_NICE): it takes the core the main process leaves to the "
        "workers, and both once the main process is done. The output is the same bytes either "
        "way; the side process shares the records with the main process until it touches them "
        "(copy-on-write), so a nightly build's peak memory grows by what it reads (about 1 GB at "
        "10^6 records).",
    )

    @classmethod
    def docs(cls) -> dict[str, str]:
        """Name → documentation of every setting."""
        return {f.name: f.metadata["doc"] for f in dataclasses.fields(cls)}

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> Config:
        """Take the known upper-case settings from ``values``; ignore the rest (Pelican's own)."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in names})


DEFAULTS: dict[str, Any] = {f.name: getattr(Config(), f.name) for f in dataclasses.fields(Config)}


def load_config(site_root: Path | str = ".", overrides: Mapping[str, Any] | None = None) -> Config:
    """Read ``pelicanconf.py`` in ``site_root`` (if any) over the defaults."""
    root = Path(site_root)
    values: dict[str, Any] = {}
    conf = root / SETTINGS_FILE
    if conf.exists():
        values = {k: v for k, v in runpy.run_path(str(conf)).items() if k.isupper()}
    if overrides:
        values.update(overrides)
    return Config.from_mapping(values)
