"""The README's tables of CLI options, Action inputs and service settings are generated from
the declarations in the code (tools/readme_tables.py): a drift fails here."""

from __future__ import annotations

import difflib

import pytest

from tools.readme_tables import README, regenerate, table_span, tables

FIX = "regenerate them with: python tools/readme_tables.py"


@pytest.mark.parametrize("heading", list(tables()))
def test_each_readme_table_is_the_one_the_declaration_gives(heading):
    lines = README.read_text(encoding="utf-8").split("\n")
    start, end = table_span(lines, heading)
    written = lines[start:end]
    expected = tables()[heading]().rstrip("\n").split("\n")
    diff = "\n".join(difflib.unified_diff(written, expected, "README.md", "code", lineterm=""))
    assert written == expected, f"README.md's table under {heading!r} drifted; {FIX}\n{diff}"


def test_regenerating_the_readme_changes_nothing():
    text = README.read_text(encoding="utf-8")
    assert regenerate(text) == text, f"README.md's generated tables drifted; {FIX}"


def test_regenerating_puts_a_drifted_table_back():
    text = README.read_text(encoding="utf-8")
    drifted = text.replace("| `--wait S` | 600 |", "| `--wait S` | 60 |")
    assert drifted != text
    assert regenerate(drifted) == text
