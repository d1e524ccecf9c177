"""Record and archive pages rendered by string joins from their Jinja template, pre-rendered once
per page shape with placeholders in place of the page's values.

Why: at 10^6 records the build writes ~1.75 million record and archive pages, and Jinja spends
CPU on each for context copies, block and macro calls and one ``escape`` per value. Filling a
stencil costs one ``escape`` per value and one ``str.format`` (the figures are in docs/scaling.md,
"Measurements behind the code").

How, and why the bytes stay the same: the template stays the only description of the page. A page
is given as a *shape* (what decides the template's control flow: kind, folder depth, which
sections) and a tuple of *values* (what it prints). For a new shape the template is rendered once
with a placeholder (a private-use character pair around the slot number) for every truthy value
and the falsy values themselves, so every ``{% if %}`` on a value takes the branch the real page
takes; the output is split at the placeholders. The truthiness of each value is part of the
shape. Filling escapes each value exactly as Jinja's autoescape does (``markupsafe.escape``:
``Markup`` stays as it is).

The contract for a stencilled template: it prints its page values as they are (no filter, no
slicing, no comparison of one value with another) and branches only on their truthiness; anything
else belongs in the shape. The first page of every shape in a process is rendered both ways and
compared, and so is the second (which catches a context that leaks something of the first page
that is neither a value nor in the shape): if they differ, that shape goes through Jinja for the
rest of the build (logged), so a template that breaks the contract costs speed, not correctness.
``tests/test_stencils.py`` checks random records and archives both ways. Stencils escape every
value as autoescape does, so they are used only where the environment autoescapes.
"""

from __future__ import annotations

import enum
import logging
import re
from collections.abc import Callable, Hashable, Sequence
from typing import Any

from markupsafe import Markup, escape

log = logging.getLogger(__name__)

_SLOT = re.compile("\ue000([0-9]{1,6})\ue001")  # ASCII digits: \d also matches other scripts


class _Missing(enum.Enum):
    """The sentinel for a shape not seen yet (an enum member, so that mypy narrows ``is``)."""

    MISSING = enum.auto()


_MISSING = _Missing.MISSING


def placeholder(index: int) -> Markup:
    """The mark standing for value ``index`` in a pre-rendered page (Markup: never escaped)."""
    return Markup(f"\ue000{index}\ue001")


class Stencil:
    """A page's HTML with numbered holes, filled by ``str.format`` (C speed)."""

    __slots__ = ("_format", "slots")

    def __init__(self, html: str):
        pieces = _SLOT.split(html)
        texts = [text.replace("{", "{{").replace("}", "}}") for text in pieces[0::2]]
        order = pieces[1::2]
        self.slots = {int(i) for i in order}
        self._format = texts[0] + "".join(f"{{{i}}}{text}" for i, text in zip(order, texts[1:]))

    def fill(self, values: Sequence[Any]) -> str:
        return self._format.format(*escape_all(values))


def escape_all(values: Sequence[Any]) -> list[Any]:
    """``[markupsafe.escape(v) for v in values]`` with one call of its C escaper for all the plain
    values (a page has ~35; one call each was a sizeable share of a record page's CPU). A value
    holding the separator (hostile text can hold anything) takes the one-by-one way."""
    plain = [str(value) for value in values if not hasattr(value, "__html__")]
    joined = "\0".join(plain)
    if plain and joined.count("\0") == len(plain) - 1:
        # Str's split: Markup's makes a Markup of each piece
        escaped = iter(str.split(escape(joined), "\0"))
        return [escape(value) if hasattr(value, "__html__") else next(escaped) for value in values]
    return list(map(escape, values))


CHECKED_PAGES = 2  # pages of each shape rendered both ways and compared, per process


class Stencils:
    """One process's stencils, by shape; ``render(context)`` is the template's own rendering."""

    def __init__(self, render: Callable[[dict[str, Any]], str], enabled: bool = True):
        self._render = render
        self._stencils: dict[Hashable, Stencil | None] = {}
        self._unchecked: dict[Hashable, int] = {}
        self.enabled = enabled
        self.fallbacks = 0  # shapes that broke the contract (rendered by Jinja instead)

    def page(
        self,
        shape: Hashable,
        values: Sequence[Any],
        context_of: Callable[[Sequence[Any]], dict[str, Any]],
    ) -> str:
        """The page's HTML. ``context_of(values)`` builds the template's context from the values
        and nothing else (called with the real ones only for a shape's checked pages, for a
        shape that failed its check, or when stencils are off)."""
        if not self.enabled:
            return self._render(context_of(values))
        # A falsy value is rendered as itself, so the falsy values are part of the key, with their
        # type (0 == False == 0.0 as keys, but they print differently; [] is not hashable).
        key = (
            shape,
            len(values),
            tuple(True if value else (value.__class__, str(value)) for value in values),
        )
        stencil = self._stencils.get(key, _MISSING)
        if stencil is _MISSING:
            marks = [placeholder(i) if value else value for i, value in enumerate(values)]
            stencil = Stencil(self._render(context_of(marks)))
            if any(i >= len(values) for i in stencil.slots):
                # Placeholder-like text in the template's own text (a setting, a guide's title)
                # names a value that is not there: this shape is not stencilled.
                stencil = None
                self.fallbacks += 1
                log.warning("页面模板含有占位符样式的文字（形态 %r），该形态改用逐页渲染", shape)
            self._stencils[key] = stencil
            self._unchecked[key] = CHECKED_PAGES
        if stencil is None:
            return self._render(context_of(values))
        if self._unchecked.get(key):
            html = self._render(context_of(values))
            if stencil.fill(values) == html:
                self._unchecked[key] -= 1
            else:
                self._stencils[key] = None
                self.fallbacks += 1
                log.warning(
                    "页面模板的预渲染与逐页渲染不一致（形态 %r），该形态改用逐页渲染", shape
                )
            return html
        return stencil.fill(values)
