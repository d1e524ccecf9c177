"""The shape of the code a maintainer reads: no class over 300 lines, and no function over 60
lines without a comment saying why it is long (issue 27)."""

from __future__ import annotations

import ast

from .conftest import REPO

MAX_CLASS_LINES = 300
MAX_FUNCTION_LINES = 60
WHY = "# Why long:"


def definitions() -> list[tuple[str, ast.AST, list[str]]]:
    found = []
    for path in sorted((REPO / "generator").rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        lines = source.splitlines()
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                found.append((f"{path.relative_to(REPO)}:{node.lineno} {node.name}", node, lines))
    return found


def length(node: ast.AST) -> int:
    return node.end_lineno - node.lineno + 1  # type: ignore[attr-defined, operator]


def test_no_class_is_over_300_lines():
    long = [
        f"{name} ({length(node)} lines)"
        for name, node, _lines in definitions()
        if isinstance(node, ast.ClassDef) and length(node) > MAX_CLASS_LINES
    ]
    assert long == []


def test_a_function_over_60_lines_says_why():
    unexplained = []
    for name, node, lines in definitions():
        if isinstance(node, ast.ClassDef) or length(node) <= MAX_FUNCTION_LINES:
            continue
        body = lines[node.lineno - 1 : node.end_lineno]  # type: ignore[attr-defined]
        if not any(line.strip().startswith(WHY) for line in body):
            unexplained.append(f"{name} ({length(node)} lines)")
    assert unexplained == [], f"split these, or say why they are long with {WHY!r}"
