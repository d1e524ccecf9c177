"""Docs are checked: every command and option has help and is documented; every setting too."""

from __future__ import annotations

import re

import click

from generator.cli import cli
from generator.settings import Config

from .conftest import REPO


def test_every_command_and_option_has_help_and_is_documented():
    doc = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
    for name, command in cli.commands.items():
        assert command.help and len(command.help) > 20, name
        assert f"## `disclose {name}" in doc, f"docs/cli.md lacks a section for `{name}`"
        section = doc.split(f"## `disclose {name}", 1)[1].split("\n## ", 1)[0]
        for param in command.params:
            if isinstance(param, click.Option):
                assert param.help, f"{name} {param.opts} has no help text"
                assert any(opt in section for opt in param.opts), (
                    f"docs/cli.md: `{name}` lacks {param.opts}"
                )


def test_every_setting_is_documented():
    doc = (REPO / "docs" / "settings.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `([A-Z_]+)` \|", doc, flags=re.MULTILINE))
    assert documented == set(Config.docs())
    assert all(text.strip() for text in Config.docs().values())


def test_readme_holds_the_two_fresh_machine_commands_and_ci_runs_the_test_one():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "make demo" in readme and "make test" in readme
    assert "make test" in (REPO / ".ci" / "run").read_text(encoding="utf-8")
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    assert "exit 5" in makefile or "-eq 5" in makefile  # pytest's "no tests" never passes silently
    assert "chromium" in makefile


def test_dependencies_are_explained():
    doc = (REPO / "docs" / "dependencies.md").read_text(encoding="utf-8")
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    names = re.findall(r'^\s+"([a-zA-Z0-9_.-]+)[><=]', pyproject, flags=re.MULTILINE)
    assert names
    for name in names:
        assert f"`{name}`" in doc, f"docs/dependencies.md does not explain {name}"
