"""Page rendering shared by the main process and the page workers: templates, the header and
footer of each folder depth, stencils, list entries (cards), and the two pages the workers make
in bulk (record pages and archives).

A page's relative site root ('.', '..', …) depends only on its folder depth, so everything that
holds it (chrome, stencils, contexts) is made once per depth; the chrome once per depth and menu
section too (the header's menu marks the page's section: a kind's records are its section, so a
record page's shape already fixes it). Record pages and archives are filled
from stencils of their templates (:mod:`generator.stencils`), pinned to plain Jinja rendering by
``tests/test_stencils.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from markupsafe import Markup
from pelican.utils import get_relative_path, path_to_url

from .publication import PublishedRecord
from .schema import KINDS
from .sitemodel import (
    CARD_VALUES,
    ENTITY_PAGE_HEAD,
    Entity,
    EntityPage,
    entity_url,
    record_entity,
    record_page,
    record_page_values,
    record_url,
    summary,
)
from .stencils import Stencils

# The menu's guide pages (content/pages/<slug>.md), when the site has them: (slug, label).
NAV_GUIDES = (("repair", "信用修复"), ("objection", "异议申诉"))


def site_nav(kinds: dict[str, Any], guides: dict[str, str]) -> list[tuple[str, str, str]]:
    """The main menu: (section, url, label). ``guides``: the guide pages' urls by slug."""
    return [
        ("home", "index.html", "首页"),
        *((name, f"kinds/{name}/index.html", kind.label) for name, kind in kinds.items()),
        ("search", "search/index.html", "查询"),
        ("stats", "stats/index.html", "统计与监测"),
        ("downloads", "downloads/index.html", "数据下载"),
        *((slug, guides[slug], label) for slug, label in NAV_GUIDES if slug in guides),
    ]


def nav_place(name: str, nav: list[tuple[str, str, str]]) -> tuple[str, bool]:
    """The menu section of the page at ``name`` ('' when it has none) and whether the page is
    that section's own page (``aria-current="page"``, else ``"true"``). A kind's records and
    lists are its section; an archive belongs to none."""
    head, _, rest = name.partition("/")
    if head in ("kinds", "records"):
        section = rest.partition("/")[0]
    elif head == "pages":
        section = rest.removesuffix(".html")
    else:
        section = "home" if name == "index.html" else head
    urls = {key: url for key, url, _ in nav}
    if section not in urls:
        return "", False
    return section, urls[section] == name


ROOT_MARK = "\x00root\x00"  # cleaned out of every export cell at ingest (control characters)
HREF_MARK = f'href="{ROOT_MARK}'
PAGE_CONTEXT_KEYS = (
    "SITENAME",
    "SITEURL",
    "SITE",
    "KINDS",
    "NAV",
    "GUIDE_LINKS",
    "KIND_COUNTS",
    "TOTAL_RECORDS",
    "TODAY",
    "localsiteurl",
)


class Renderer:
    """Renders the site's pages with the theme's templates (``get_template``: Pelican's, memoised).

    ``page_context`` holds only what our templates use: Pelican and Jinja copy the context for every
    page (three times), and Pelican's holds every setting. ``stencils``: fill record pages, archives
    and list entries from stencils (off when the theme's environment does not autoescape everything,
    as stencils escape every value)."""

    def __init__(
        self, get_template: Callable[[str], Any], page_context: dict[str, Any], stencils: bool
    ):
        self.get_template = get_template
        self.page_context = page_context
        self.stencils_on = stencils
        self._roots: dict[int, str] = {}
        self._chrome: dict[tuple[str, str, bool], dict[str, Markup]] = {}
        self._stencils: dict[str, Stencils] = {}
        self._card: Callable[[PublishedRecord], str] | None = None

    # -- what every page at one depth shares --------------------------------------------------------

    def root(self, name: str) -> str:
        """The relative site root of a page at ``name`` ('.', '..', '../..' …), once per depth."""
        depth = name.count("/")
        if depth not in self._roots:
            self._roots[depth] = path_to_url(get_relative_path(name))
        return self._roots[depth]

    def chrome(self, name: str, relative: bool, site_url: str = "") -> dict[str, Markup]:
        """Header and footer HTML for a page at ``name`` (at ``site_url`` when not ``relative``)."""
        return self.chrome_at(
            self.root(name) if relative else site_url,
            *nav_place(name, self.page_context.get("NAV") or []),
        )

    def chrome_at(self, root: str, section: str = "", exact: bool = False) -> dict[str, Markup]:
        """The header and footer at relative root ``root``, the menu marking ``section`` (once per
        root and section: a few dozen renderings however many pages)."""
        key = (root, section, exact)
        if key not in self._chrome:
            context = {
                **self.page_context,
                "SITEURL": root,
                "NAV_SECTION": section,
                "NAV_PAGE": exact,
            }
            self._chrome[key] = {
                part: Markup(self.get_template(f"_{part}").render(context))
                for part in ("header", "footer")
            }
        return self._chrome[key]

    def write(
        self,
        writer: Any,
        name: str,
        template: str,
        relative: bool = True,
        site_url: str = "",
        **kwargs: Any,
    ) -> None:
        """Render ``template`` to ``name`` with Pelican's writer (the pages the main process makes)."""
        writer.write_file(
            name,
            self.get_template(template.removesuffix(".html")),
            self.page_context,
            relative_urls=relative,
            CHROME=self.chrome(name, relative, site_url),
            **kwargs,
        )

    # -- list entries -----------------------------------------------------------------------------

    def card_maker(self) -> Callable[[PublishedRecord], str]:
        """A function record → its list entry's HTML (``result_item`` in ``_macros.html``), with
        :data:`ROOT_MARK` where the page's relative site root goes. A record appears in three lists
        and one archive: its entry is made once per process, filled from a stencil of the macro per kind."""
        if self._card is not None:
            return self._card
        macro = self.get_template("_macros").module.result_item
        stencils = Stencils(
            lambda context: str(macro(context["it"], ROOT_MARK, False)), enabled=self.stencils_on
        )
        contexts = {
            name: (
                lambda values, base={"kind": name, "kind_label": kind.label}: {
                    "it": {**base, **dict(zip(CARD_VALUES, values))}
                }
            )
            for name, kind in KINDS.items()
        }

        def card(record: PublishedRecord) -> str:
            it = summary(KINDS[record.kind], record)
            return stencils.page(
                record.kind, tuple(map(it.__getitem__, CARD_VALUES)), contexts[record.kind]
            )

        self._card = card
        return card

    def cards_html(self, cards: str, name: str) -> Markup:
        """Prerendered entries for the page at ``name``, the site root put in. The mark follows
        ``href="``, where escaped export text (``"`` becomes ``&#34;``) can never put it."""
        return Markup(cards.replace(HREF_MARK, f'href="{self.root(name)}'))

    # -- the pages made in bulk ---------------------------------------------------------------------

    def record_pages(
        self, writer: Any, kind_name: str, records: list[PublishedRecord], long_term: str
    ) -> int:
        kind, stencils = KINDS[kind_name], self.stencils("record")
        contexts: dict[Any, Callable] = {}
        for record in records:
            name, found = record_url(kind_name, record.id), record_entity(kind, record)
            values = record_page_values(
                kind, record, long_term, entity_url(found[0]) if found else ""
            )
            shape = (kind_name, self.root(name))
            context_of = contexts.get(shape) or contexts.setdefault(
                shape, self._record_context(shape[1], kind_name)
            )
            writer.write_html(name, stencils.page(shape, values, context_of))
        return len(records)

    def archive_pages(self, writer: Any, entities: list[Entity]) -> int:
        make_card, stencils = self.card_maker(), self.stencils("entity")
        contexts: dict[Any, Callable] = {}
        for entity in entities:
            name = entity.url
            shape = (tuple(k for k in KINDS if k in entity.records), self.root(name))
            values = [entity.name, entity.is_government, entity.code, entity.total]
            for k in shape[0]:
                values += (
                    len(entity.records[k]),
                    self.cards_html("".join(map(make_card, entity.records[k])), name),
                )
            context_of = contexts.get(shape) or contexts.setdefault(
                shape, self._entity_context(shape[1], shape[0])
            )
            writer.write_html(name, stencils.page(shape, values, context_of))
        return len(entities)

    def stencils(self, template: str) -> Stencils:
        """This process's stencils of a page template."""
        found = self._stencils.get(template)
        if found is None:
            found = self._stencils[template] = Stencils(
                self.get_template(template).render, enabled=self.stencils_on
            )
        return found

    def _page_base(self, root: str, section: str = "") -> dict[str, Any]:
        """What a stencilled page's context holds besides its values: the same for every page at
        relative root ``root`` in menu section ``section``."""
        return {
            **self.page_context,
            "SITEURL": root,
            "localsiteurl": root,
            "CHROME": self.chrome_at(root, section),
        }

    def _record_context(self, root: str, kind_name: str) -> Callable[[tuple], dict[str, Any]]:
        """``values → context`` of a record page at relative root ``root`` (for its stencil: the
        context holds nothing but what the shape fixes and what the values give). Its kind's
        menu entry is marked."""
        base = {**self._page_base(root, kind_name), "kind": KINDS[kind_name]}
        return lambda values: {**base, "page": record_page(values)}

    def _entity_context(
        self, root: str, kinds: tuple[str, ...]
    ) -> Callable[[list], dict[str, Any]]:
        """``values → context`` of an archive page with sections ``kinds``: (name,
        is_government, code, total), then each section's count and entries."""
        base, head = self._page_base(root), ENTITY_PAGE_HEAD
        return lambda values: {
            **base,
            "entity": EntityPage(*values[:head]),
            "sections": [
                (KINDS[k], *values[head + 2 * i : head + 2 * i + 2]) for i, k in enumerate(kinds)
            ],
        }
