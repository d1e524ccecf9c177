"""The shape of the code a maintainer reads: no class over 300 lines, no function over 60 lines
without a comment saying why it is long, and no measured timing in a comment or docstring: the
figures live in docs/scaling.md, "Measurements behind the code" (issue 27)."""

from __future__ import annotations

import ast
import io
import re
import tokenize

import pytest

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
        if not any(
            line.strip().startswith(WHY) and len(line.strip()) > len(WHY) + 10 for line in body
        ):
            unexplained.append(f"{name} ({length(node)} lines)")
    assert unexplained == [], f"split these, or say why they are long with {WHY!r}"


# A measured figure: a time with its unit (µs, ms, ns; s, minutes, hours after a number and a
# space, so that ``50s`` in a formula is not one), a rate, a factor or fraction of speed or time,
# a share of the build, a benchmark run's name or how a figure was sampled, or a time in words
# ("a fraction of a second", "costs seconds"). Sizes (MB, records, files) are not timings.
TIMING = re.compile(
    r"\d\s*(?:µs|ms|ns)\b"
    r"|\d\s(?:s|sec|seconds?|min|minutes?|h|hours?)\b"
    r"|\d\s?[KMGT]i?B/s\b|\b(?:files|rows|records|pages)/s\b"
    r"|\d\s?[×x]\s*(?:faster|slower|cheaper|dearer|quicker|as fast|the time)\b"
    r"|\b(?:twice|half|a third|two thirds|a quarter|a fifth|\d+ times)\b[^.;:]{0,40}?"
    r"\b(?:faster|slower|cheaper|as fast|the time|CPU|system time)\b"
    r"|\d\s?% (?:of|faster|slower)\b"
    r"|\bruns? [A-Z]{1,2}\d?(?:[–-][A-Z]{1,2}\d?)?\b"
    r"|\bmedian of \d|\bruns each\b"
    r"|\b(?:fraction of|under) a second\b|\b(?:costs?|took|takes?) (?:seconds|minutes|hours)\b"
)


def comments_and_docstrings() -> list[tuple[str, str]]:
    """(path:line, text) of every comment (a run of comment lines as one text, so that a figure
    broken across two lines is still found) and every string statement (docstrings) in generator/."""
    found = []
    for path in sorted((REPO / "generator").rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        name = path.relative_to(REPO)
        last = -1
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.COMMENT:
                line = token.start[0]
                if line == last + 1 and found[-1][0].startswith(f"{name}:"):
                    found[-1] = (found[-1][0], f"{found[-1][1]}\n{token.string.lstrip('#')}")
                else:
                    found.append((f"{name}:{line}", token.string))
                last = line
        for node in ast.walk(ast.parse(source)):
            if (
                isinstance(node, ast.Expr)
                and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)
            ):
                found.append((f"{name}:{node.lineno}", node.value.value))
    return found


@pytest.mark.parametrize(
    "text",
    [
        "orjson (6 µs a row against 25 µs for json)",
        "(~3 s at 10^6)",
        "took 3–4 s of each nightly build",
        "~1–10 ms here",
        "BLAKE3 reads ~2.3 GB/s a core",
        "two searches are ~4× faster than one",
        "a build then reads it ~10×\n        faster",
        "a third faster to match",
        "a third of the time of one sort",
        "twice as fast to read back",
        "one call each was a fifth of a record page's CPU",
        "20 % of the build",
        "(run TL1)",
        "runs O–AK",
        "(1,000 records, median of 20)",
        "20,000 files, three runs each",
        "in a fraction of a second",
        "sorting 1.8 million costs seconds",
    ],
)
def test_the_timing_pattern_finds_measured_figures(text):
    assert TIMING.search(text)


@pytest.mark.parametrize(
    "text",
    [
        "a copied block is ~7 MB",
        "cells per chunk: ~100 MB of Python objects at most",
        "10^6 records ≈ 1.8 million files",
        "a shard that is 8P/s + 50s bytes",
        "At most ``2 × workers`` chunks are in flight",
        "one kind at a time, as UTF-8 (half the memory of str)",
        "Reading 1.8 million files twice a night is the cost this avoids",
        "run Pelican into a temporary folder",
        "a line per 10 % in CI",
        "orjson is several times faster than the standard library",
    ],
)
def test_the_timing_pattern_leaves_sizes_and_reasons_alone(text):
    assert not TIMING.search(text)


def test_comments_and_docstrings_carry_no_measured_timings():
    found = [
        f"{where}: {match.group(0)!r}"
        for where, text in comments_and_docstrings()
        for match in TIMING.finditer(text)
    ]
    assert found == [], (
        "move the figure to docs/scaling.md, 'Measurements behind the code', and keep the reason "
        "in words"
    )


def test_no_module_keeps_build_state_in_a_global():
    """A build's results travel in its BuildResult, never in module globals: no ``global``
    statement anywhere in generator/ (per-process memos such as ``functools.lru_cache`` and the
    cache key are not build state)."""
    found = []
    for path in sorted((REPO / "generator").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        found += [
            f"{path.relative_to(REPO)}:{node.lineno}"
            for node in ast.walk(tree)
            if isinstance(node, ast.Global)
        ]
    assert found == []


MUTATORS = {
    "append",
    "extend",
    "add",
    "update",
    "clear",
    "pop",
    "setdefault",
    "remove",
    "discard",
    "insert",
    "popitem",
}
# Module-level containers that functions change, each with why it is not a build's result. A new
# one fails the test below: put the state in the object that owns it (BuildResult, the plan, …).
MODULE_MEMOS = {
    "generator/batches.py": {"_HELD": "this process's staging-folder locks (open descriptors)"},
    "generator/cache.py": {
        "_KEY": "the cache key, read once per process",
        "_IMPORTS": "module imports for code digests, per process",
        "_PATHS": "module paths for code digests, per process",
        "_SOURCES": "module sources for code digests, per process",
    },
    "generator/directory.py": {
        "_loaded": "the pinyin reading tables read from the cache, once per process"
    },
    "generator/fileio.py": {
        "_DIGESTS_SEEN": "batch digests hashed ahead on every core before Pelican starts; cleared when a build starts",
        "_PENDING": "the same prefetch's digests still being computed; cleared when a build starts",
    },
    "generator/journal.py": {
        "_reached": "fault-injection counters (tests kill a build at its N-th step)",
        "_DETACHED": "detached rm processes this process started, waited for before it exits",
    },
    "generator/pii.py": {"_RULES_OF": "mask rules made from a config, memoised per process"},
    "generator/publication.py": {
        "_HANDLES": "open batch files per process, for reading records' lines"
    },
}


def mutated_module_names(source: str) -> set[str]:
    """Module-level names that a function changes in place (a mutating call or an item assignment)."""
    tree = ast.parse(source)
    names = set()
    for node in tree.body:
        targets = (
            node.targets
            if isinstance(node, ast.Assign)
            else [node.target]
            if isinstance(node, ast.AnnAssign)
            else []
        )
        names.update(t.id for t in targets if isinstance(t, ast.Name))
    found = set()
    for fn in ast.walk(tree):
        if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        local = {a.arg for a in fn.args.args + fn.args.kwonlyargs}
        for n in ast.walk(fn):
            if (
                isinstance(n, ast.Call)
                and isinstance(n.func, ast.Attribute)
                and isinstance(n.func.value, ast.Name)
            ):
                if n.func.attr in MUTATORS and n.func.value.id in names - local:
                    found.add(n.func.value.id)
            targets = (
                n.targets
                if isinstance(n, ast.Assign)
                else [n.target]
                if isinstance(n, ast.AugAssign)
                else []
            )
            for t in targets:
                if (
                    isinstance(t, ast.Subscript)
                    and isinstance(t.value, ast.Name)
                    and t.value.id in names - local
                ):
                    found.add(t.value.id)
    return found


def test_module_level_state_is_only_the_listed_per_process_memos():
    unlisted = []
    for path in sorted((REPO / "generator").rglob("*.py")):
        rel = str(path.relative_to(REPO))
        for name in sorted(
            mutated_module_names(path.read_text(encoding="utf-8"))
            - MODULE_MEMOS.get(rel, {}).keys()
        ):
            unlisted.append(f"{rel}: {name}")
    assert unlisted == []


def test_the_module_state_check_finds_a_module_level_list_a_function_appends_to():
    assert mutated_module_names("SEEN = []\n\ndef f(x):\n    SEEN.append(x)\n") == {"SEEN"}
    assert mutated_module_names("SEEN = {}\n\ndef f(x):\n    SEEN[x] = 1\n") == {"SEEN"}
    assert mutated_module_names("SEEN = []\n\ndef f(SEEN):\n    SEEN.append(1)\n") == set()
