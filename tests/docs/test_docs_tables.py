"""The docs' tables of CLI options, Action inputs, service and database settings, the decision
and where each config key comes from are generated from the declarations in the code
(tools/docs_tables.py): a drift fails here."""

from __future__ import annotations

import difflib

import pytest

from tools.docs_tables import expected_table, main, read_pages, regenerate, table_span, tables

FIX = "regenerate them with: python tools/docs_tables.py"


@pytest.mark.parametrize(("page", "heading"), list(tables()))
def test_each_docs_table_is_the_one_the_declaration_gives(page, heading):
    pages = read_pages()
    lines = pages[page].split("\n")
    start, end = table_span(lines, heading)
    written = lines[start:end]
    expected = expected_table(page, heading, pages)
    diff = "\n".join(difflib.unified_diff(written, expected, f"docs/{page}", "code", lineterm=""))
    assert written == expected, f"docs/{page}'s table under {heading!r} drifted; {FIX}\n{diff}"


def test_regenerating_the_docs_changes_nothing():
    pages = read_pages()
    assert regenerate(pages) == pages, f"the docs' generated tables drifted; {FIX}"
    assert main(["--check"]) == 0


def test_regenerating_puts_a_drifted_table_back():
    pages = read_pages()
    drifted = dict(pages)
    drifted["command-line.md"] = pages["command-line.md"].replace(
        "| `--wait S` | 600 |", "| `--wait S` | 60 |"
    )
    assert drifted != pages
    assert regenerate(drifted) == pages


def test_a_link_to_a_heading_on_another_page_points_at_that_page():
    """The inputs table (gate/action/inputs.py) links to #which-keys-come-from-where, a heading
    of the base-branch page: on the inputs page the link names that page."""
    pages = read_pages()
    generated = tables()["action/inputs-outputs.md", "## Inputs"]()
    assert "](#which-keys-come-from-where)" in generated
    shown = "\n".join(expected_table("action/inputs-outputs.md", "## Inputs", pages))
    assert "](base-branch.md#which-keys-come-from-where)" in shown
    assert "](#which-keys-come-from-where)" not in shown
