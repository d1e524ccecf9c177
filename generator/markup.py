"""Rendering of untrusted export text: Markdown through a maintained sanitiser, and display filters.

Every cell is hostile. Plain fields are autoescaped by Jinja; Markdown fields (判决全文,
承诺内容 …) go through Python-Markdown and then nh3 (Rust's ammonia), which keeps only an
allow-list of tags and attributes and only http/https/mailto links.
"""

from __future__ import annotations

import html
import re
from functools import lru_cache
from urllib.parse import unquote

import markdown as md
import nh3

from . import pii

# Fmt: skip
ALLOWED_TAGS = {
    "p",
    "br",
    "strong",
    "em",
    "b",
    "i",
    "u",
    "s",
    "ul",
    "ol",
    "li",
    "blockquote",
    "code",
    "pre",
    "h3",
    "h4",
    "h5",
    "h6",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "hr",
    "a",
    "sup",
    "sub",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "th": {"scope"}, "td": set()}
URL_SCHEMES = {"http", "https", "mailto"}
MARKDOWN_MEMO = 512  # distinct Markdown cells remembered per process (a few MB at most)


@lru_cache(maxsize=1)
def _markdown() -> md.Markdown:
    return md.Markdown(extensions=["extra", "sane_lists"], output_format="html")


_MD_SYNTAX = re.compile(r"[\\`*_\[\]<>&#!|~\n]|^\s*(?:[-+]\s|\d+[.)]\s|=|>)|\s{2,}$")


def render_markdown(text: str) -> str:
    """Untrusted Markdown → safe HTML (no script, iframe, event handler, style or javascript: URL).

    Text without any Markdown syntax (most export cells) takes a fast path that gives the same
    HTML as the full route: one escaped paragraph.
    """
    if not text:
        return ""
    if text.isprintable() and text == text.strip() and not _MD_SYNTAX.search(text):
        return "<p>" + html.escape(pii.mask(text), quote=False) + "</p>"
    return _full_route(text)


@lru_cache(maxsize=MARKDOWN_MEMO)
def _full_route(text: str) -> str:
    """Markdown with syntax: the slow route (Python-Markdown, then nh3), so remembered per process.
    The same text recurs across records (a department's standard 承诺内容, a court's boilerplate),
    and the result is a pure function of the text."""
    cleaned = sanitized_html(text)
    # Markup can split a number that ingest could not see whole ("3209021990**01014410**",
    # an HTML comment, a character reference). If the visible text shows one, show masked text.
    visible = visible_text(cleaned)
    # A link's address or title too
    if pii.find(visible) or pii.find(attribute_text(cleaned), lines_join=False):
        return "<p>" + html.escape(pii.mask(visible), quote=False) + "</p>"
    return cleaned


def sanitized_html(text: str) -> str:
    """Markdown → HTML → nh3 allow-list (the full route, without the fast path)."""
    converter = _markdown()
    converter.reset()
    return clean_html(converter.convert(str(text)))


# Guide pages may also have section headings with their anchors (Markdown's toc extension).
PAGE_TAGS = ALLOWED_TAGS | {"h1", "h2"}
PAGE_ATTRIBUTES = {
    **ALLOWED_ATTRIBUTES,
    **{h: {"id"} for h in ("h1", "h2", "h3", "h4", "h5", "h6")},
}


def clean_html(
    rendered: str,
    tags: set[str] = ALLOWED_TAGS,
    attributes: dict[str, set[str]] = ALLOWED_ATTRIBUTES,
) -> str:
    """HTML through an nh3 allow-list (by default a record's: :data:`ALLOWED_TAGS`, :data:`ALLOWED_ATTRIBUTES`)."""
    return nh3.clean(
        rendered,
        tags=tags,
        attributes=attributes,
        url_schemes=URL_SCHEMES,
        link_rel="nofollow noopener noreferrer",
        strip_comments=True,
    )


def visible_text(fragment: str) -> str:
    """The text a reader sees in an HTML fragment (tags dropped, character references decoded)."""
    return html.unescape(re.sub(r"<[^>]*>", "", fragment))


_SHOWN_ATTRIBUTE = re.compile(
    r"""\s(?:href|src|title|alt)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE
)


def attribute_text(fragment: str) -> str:
    """What a reader can also see of an HTML fragment: its links' addresses (in the status bar,
    percent-decoded) and titles (as tooltips), one per line, character references decoded."""
    values = [html.unescape("".join(m.groups(""))) for m in _SHOWN_ATTRIBUTE.finditer(fragment)]
    return "\n".join(v for value in values for v in (value, unquote(value)))


def format_amount(value: object) -> str:
    """0.2 → '0.2 万元（2,000 元）': both units, so a reader never misreads 万元."""
    try:
        wan = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(value)
    yuan = round(wan * 10000, 2)
    yuan_text = f"{yuan:,.2f}".rstrip("0").rstrip(".")
    wan_text = f"{wan:.6f}".rstrip("0").rstrip(".")
    return f"{wan_text} 万元（{yuan_text} 元）"


def format_score(value: object) -> str:
    """92.5 → '92.5', 90.0 → '90': a score as an evaluation publishes it."""
    if type(value) is float and value.is_integer():
        return str(int(value))
    return str(value)


def format_date(value: object, long_term: str = "2099-12-31") -> str:
    """2026-03-05 → 2026年3月5日 (the form Chinese readers expect); the long-term date → 长期."""
    text = str(value or "")
    if len(text) == 10 and text[4] == "-":
        if text == long_term:
            return "长期"
        y, m, d = text.split("-")
        return f"{int(y)}年{int(m)}月{int(d)}日"
    return text


def neutralise_cell(value: object) -> str:
    """A CSV cell Excel would run as a formula (= + - @, tab, CR) gets a leading apostrophe."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
