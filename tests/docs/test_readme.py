"""The README is the landing page: short, its Quickstart the commands CI runs, its workflow the
example file, and every link in it leads to a file or a heading that exists (GitHub renders it;
`mkdocs build --strict` checks only the pages under docs/)."""

from __future__ import annotations

import re

from tests.docs.examples import blocks
from tests.paths import REPO
from tools.docs_tables import anchors

README = REPO / "README.md"
LINK = re.compile(r"\]\(([^)\s]+)\)")
QUICKSTART = (
    "python3 -m venv .venv && .venv/bin/pip install . && .venv/bin/eval-gate check "
    "--config examples/eval-gate.yml --results examples/results/"
)


def readme() -> str:
    return README.read_text(encoding="utf-8")


def test_the_readme_stays_a_landing_page_of_at_most_20_kb():
    size = len(readme().encode("utf-8"))
    assert size <= 20 * 1024, f"README.md is {size:,} bytes: move reference text into docs/"


def test_the_quickstart_runs_the_example_and_the_test_command_ci_runs():
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8").split("\n")
    marker = ci.index("# The README's test command (Quickstart, second command), verbatim:")
    test_command = ci[marker + 1]
    shell = [b.text.strip() for b in blocks(readme(), "README.md") if b.language == "sh"]
    assert shell[:2] == [QUICKSTART, test_command]
    started = (REPO / "docs" / "getting-started.md").read_text(encoding="utf-8")
    assert [b.text.strip() for b in blocks(started, "getting-started.md")][:2] == shell[:2]


def test_the_readme_s_workflow_is_the_example_file():
    (workflow,) = [b for b in blocks(readme(), "README.md") if b.title.startswith(".github/work")]
    example = REPO / "examples" / "workflows" / "eval-gate.yml"
    assert workflow.text == example.read_text(encoding="utf-8")


def test_each_link_of_the_readme_leads_to_a_file_and_heading_that_exist():
    broken = []
    for target in LINK.findall(readme()):
        if re.match(r"^[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        where = REPO / path if path else README
        if not where.exists():
            broken.append(f"{target}: no {path}")
        elif anchor and anchor not in anchors(where.read_text(encoding="utf-8")):
            broken.append(f"{target}: no heading #{anchor} in {path or 'README.md'}")
    assert broken == []
    assert len(LINK.findall(readme())) >= 20
