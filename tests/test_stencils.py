"""Record and archive pages filled from stencils are the bytes Jinja renders (generator/stencils.py)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jinja2 import Environment
from markupsafe import Markup, escape

from generator.stencils import Stencils, escape_all, placeholder
from generator.synthetic import synth_rows, write_export

from .conftest import KINDS, SiteRoot
from .sitecheck import tree_digest

HOSTILE = [
    "<script>alert(1)</script>",
    "{0}",
    "{{x}}",
    "\ue0000\ue001",
    "a\x00b",
    "\"'&",
    "",
    "罚款人民币壹万元",
]


@pytest.mark.slow
def test_a_site_is_the_same_bytes_with_and_without_stencils(
    tmp_path: Path, messy: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The messy exports (markup, full ID numbers, odd dates) and synthetic penalties give the
    same tree whether pages are filled from stencils (in this process, or by two page workers)
    or rendered by Jinja one by one; and the stencils were used, none fell back."""
    from generator import stencils as module

    made: list[Stencils] = []
    original = module.Stencils.__init__

    def spy(self, *args, **kwargs):
        original(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(module.Stencils, "__init__", spy)
    root = tmp_path / "site"
    root.mkdir()
    site = SiteRoot(root)
    for kind in KINDS:
        site.stage_and_approve(messy["files"][kind], kind)
    rows = synth_rows("penalty", 60, seed=5, today=dt.date(2026, 11, 20))
    site.stage_and_approve(write_export(tmp_path / "penalty.csv", "penalty", rows), "penalty")
    conf = root / "pelicanconf.py"
    trees = {}
    for name, extra in (
        ("in-process", ""),
        ("workers", "BUILD_WORKERS = 2\nBUILD_PARALLEL_MIN_RECORDS = 0\n"),
        ("jinja", "RENDER_STENCILS = False\n"),
    ):
        conf.write_text(conf.read_text(encoding="utf-8") + f"\n{extra}", encoding="utf-8")
        result = site.build(output=f"out-{name}")
        assert result.exit_code == 0, result.stderr
        trees[name] = tree_digest(root / f"out-{name}")
        if name == "in-process":
            # Record pages, archives, list entries, archive entries, pages of the 主体名录
            assert {s.enabled for s in made} == {True} and len(made) == 5
            assert sum(len(s._stencils) for s in made) >= 10 and sum(s.fallbacks for s in made) == 0
    assert sum(name.startswith(("records/", "entities/")) for name in trees["jinja"]) > 150
    assert any(name.startswith("directory/") for name in trees["jinja"])
    assert trees["in-process"] == trees["jinja"]
    assert trees["workers"] == trees["jinja"]


values_strategy = st.lists(
    st.one_of(st.text(), st.sampled_from(HOSTILE), st.integers(), st.none(), st.text().map(Markup)),
    max_size=12,
)


@settings(max_examples=300, deadline=None)
@given(values_strategy)
def test_escaping_all_values_at_once_is_escaping_each(values: list) -> None:
    assert escape_all(values) == [escape(v) for v in values]


PAGE = Environment(autoescape=True).from_string(
    '<title>{{ v[0] }} - {{ v[1] }}</title>{% if v[2] %}<a href="{{ v[2] }}">档案</a>{% else %}无{% endif %}'
    "<table>{% for label, value in rows %}<tr><th>{{ label }}</th><td>{{ value }}</td></tr>{% endfor %}</table>"
)


def _context(values: tuple) -> dict:
    return {"v": values, "rows": list(zip(values[3::2], values[4::2]))}


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            values_strategy.map(lambda v: tuple(v[:3]) + ("",) * (3 - len(v[:3]))),
            st.lists(
                st.tuples(
                    st.sampled_from(["决定书文号", "处罚内容"]),
                    st.one_of(st.text(), st.sampled_from(HOSTILE)),
                ),
                max_size=3,
            ),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_pages_filled_from_stencils_are_what_jinja_renders(pages: list) -> None:
    """Hostile text (braces, placeholders, markup, NUL), falsy values and varying row counts."""
    stencils = Stencils(PAGE.render)
    for head, rows in pages:
        values = head + tuple(x for row in rows for x in row)
        assert stencils.page("p", values, _context) == PAGE.render(_context(values))
    assert stencils.fallbacks == 0


def test_a_template_that_transforms_a_value_falls_back_to_jinja() -> None:
    """A filter on a value breaks the stencil contract: the first page shows it, the shape then
    goes through Jinja, and every page still has Jinja's bytes."""
    template = Environment(autoescape=True).from_string(
        "<h1>{{ v[0]|upper }}</h1><p>{{ v[1] }}</p>"
    )
    stencils = Stencils(template.render)
    for values in (("abc", "x"), ("def", "<y>"), ("ghi", "z")):
        assert stencils.page("h", values, lambda v: {"v": v}) == template.render(v=values)
    assert stencils.fallbacks == 1


def test_a_context_that_leaks_the_first_page_is_caught_on_the_second() -> None:
    """Anything in the context that is neither a value nor in the shape would be frozen into the
    stencil by the first page: the second page is checked too, and catches it."""
    template = Environment(autoescape=True).from_string("<h1>{{ v[0] }}</h1><p>{{ name }}</p>")
    names = iter(["a.html", "b.html", "c.html"])
    stencils = Stencils(template.render)
    pages = []
    for values in (("甲",), ("乙",), ("丙",)):
        name = next(names)
        pages.append(
            (stencils.page("h", values, lambda v, name=name: {"v": v, "name": name}), name)
        )
    assert [name in html for html, name in pages] == [True, True, True]
    assert stencils.fallbacks == 1


def test_a_placeholder_is_markup_that_escaping_keeps() -> None:
    mark = placeholder(7)
    assert escape(mark) == mark and "\ue000" in mark


def test_falsy_values_of_different_types_get_their_own_stencils() -> None:
    """0, False and 0.0 are equal as keys but print differently; an empty list is not hashable."""
    template = Environment(autoescape=True).from_string("<p>{{ v[0] }}</p><p>{{ v[1] }}</p>")
    stencils = Stencils(template.render)
    for values in ((0, "a"), (0, "b"), (0, "c"), (False, "d"), (0.0, "e"), ([], "f"), ("", "g")):
        assert stencils.page("p", values, lambda v: {"v": v}) == template.render(v=values)
    assert stencils.fallbacks == 0


def test_escaping_keeps_any_html_object_as_markupsafe_does() -> None:
    class Html:
        def __html__(self) -> str:
            return "<b>html</b>"

        def __str__(self) -> str:
            return "plain"

    values = [Html(), "x<", Markup("<i>y</i>")]
    assert escape_all(values) == [escape(v) for v in values]


def test_placeholder_like_text_in_the_template_itself_falls_back_instead_of_failing() -> None:
    """A setting or a guide title can hold anything, placeholders included: never an error,
    always Jinja's bytes."""
    for text in (
        "\ue0009\ue001",
        "\ue000\u0661\ue001",
        "\ue000" + "9" * 30 + "\ue001",
        "\ue0000\ue001",
    ):
        template = Environment(autoescape=True).from_string(f"<h1>{{{{ v[0] }}}}</h1><p>{text}</p>")
        stencils = Stencils(template.render)
        for values in (("甲",), ("乙",), ("丙",)):
            assert stencils.page("h", values, lambda v: {"v": v}) == template.render(v=values)
