"""The generator package's import graph has no cycle, lazy (function-level) imports included.

A cycle hides which module builds on which: a lazy import that closes one (``publication`` asking
``sitemodel``, which builds on ``publication``) works until someone moves it to the top.
"""

from __future__ import annotations

import ast
from pathlib import Path

from generator import cache

PACKAGE = Path(__file__).resolve().parent.parent / "generator"


def module_names() -> dict[str, Path]:
    """Every module of the package by dotted name below it (``cli.build``; ``""`` is the package)."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports(name: str, path: Path, modules: dict[str, Path], top_only: bool = False) -> set[str]:
    """The package's modules ``name`` imports at run time, at any depth unless ``top_only`` (then
    not inside a function); ``if TYPE_CHECKING:`` blocks are skipped: they never run.
    ``from .x import y`` is an edge to ``x.y`` when that is a module, else to ``x``."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    if name == "":
        package = []
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if top_only and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            return
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
            elif (node.module or "").split(".")[0] == "generator":
                base, node = (
                    [],
                    ast.ImportFrom(node.module.partition(".")[2] or None, node.names, 1),
                )
            else:
                base = None
            if base is not None:
                target = base + (node.module.split(".") if node.module else [])
                for alias in node.names:
                    sub = ".".join([*target, alias.name])
                    found.add(sub if sub in modules else ".".join(target))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "generator":
                    found.add(alias.name.partition(".")[2])
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    found.discard(name)
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (as a path ``a → b → … → a``) per strongly connected component that has one."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    # Tarjan's algorithm (a package is small: recursion is fine)
    def strongconnect(
        node: str,
    ) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(graph.get(node, ())):
            if succ not in index:
                strongconnect(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            strongconnect(node)
    return [_path_in(graph, set(component)) for component in components]


def _path_in(graph: dict[str, set[str]], component: set[str]) -> list[str]:
    """A shortest cycle through the component's first module (breadth first)."""
    start = min(component)
    previous: dict[str, str] = {}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for succ in sorted(graph[node] & component):
            if succ == start:
                path = [node]
                while path[-1] != start:
                    path.append(previous[path[-1]])
                return [*reversed(path), start]
            if succ not in previous:
                previous[succ] = node
                queue.append(succ)
    raise AssertionError(f"no cycle through {start}")


def import_graph() -> dict[str, set[str]]:
    modules = module_names()
    return {name: imports(name, path, modules) for name, path in modules.items()}


def test_no_import_cycle_among_generator_modules():
    found = cycles(import_graph())
    assert not found, "import cycles in generator/:\n" + "\n".join(" → ".join(c) for c in found)


def test_the_cycle_check_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"e2"}, "e2": set()}
    assert cycles(graph) == [["a", "b", "c", "a"]]


def test_lazy_and_package_imports_are_edges():
    graph = import_graph()
    assert "entities" in graph["publication"]  # top level
    assert "charts" in graph["families"]  # inside a function
    assert "cli.approve" in graph["cli"]  # ``from . import approve`` in the package
    assert "pii" in graph["cli.common"]  # ``from .. import pii``


def test_the_code_digest_reads_the_top_level_imports_the_syntax_tree_has():
    """``cache.code_digest`` follows module-level imports found by a regular expression (a few ms
    for a module and all it imports, where parsing them took ~30 ms): they must be what Python runs."""
    modules = module_names()
    for name, path in modules.items():
        assert cache.module_imports(name) == imports(name, path, modules, top_only=True), name
