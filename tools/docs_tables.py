"""The docs' generated tables, from the declarations in the code.

    python tools/docs_tables.py          rewrite the tables in the docs' pages
    python tools/docs_tables.py --check  exit 1 if a page's table differs from the declarations

Each table is the first Markdown table after its heading, on its page under docs/: the command
line's options (`gate.cli.settings.FLAGS`; `submit`'s and `status`' in
`gate.cli.remote_flags`), what a verdict does under fail-on
(`gate.core.decision.decide`), the Action's inputs (`gate.action.inputs.INPUTS`), where each
config key comes from on a pull request (`Origin` in `gate.config.fields`), the service's
settings (`gate.server.settings.SETTINGS`) and the database's
(`gate.store.settings.DATABASE_SETTINGS`). A table's link to a heading (`(#which-keys-...)`) that
is on another page is pointed at that page (`(base-branch.md#which-keys-...)`).
tests/docs/test_docs_tables.py runs the check.
"""

from __future__ import annotations

import posixpath
import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
HEADING = re.compile(r"^#{1,6} (.*)$")
FENCE = re.compile(r"^ *(```|~~~)")
LINK = re.compile(r"\]\(#([^)\s]+)\)")


def tables() -> dict[tuple[str, str], Callable[[], str]]:
    """(page under docs/, heading line) -> the function that renders the table under it."""
    from gate.action.base_config import keys_table  # noqa: PLC0415
    from gate.action.inputs import inputs_table  # noqa: PLC0415
    from gate.cli.remote_flags import remote_flags_table  # noqa: PLC0415
    from gate.cli.settings import flags_table  # noqa: PLC0415
    from gate.core.decision import decision_table  # noqa: PLC0415
    from gate.server.settings import settings_table  # noqa: PLC0415
    from gate.store.settings import database_table  # noqa: PLC0415

    return {
        ("command-line.md", "## Options of `eval-gate check`"): flags_table,
        (
            "command-line.md",
            "## Durable gates: `eval-gate submit` and `status`",
        ): remote_flags_table,
        ("reports.md", "## One decision for every output: verdict and fail-on"): decision_table,
        ("action/inputs-outputs.md", "## Inputs"): inputs_table,
        ("action/base-branch.md", "## Which keys come from where"): keys_table,
        ("service/settings.md", "# Service settings"): settings_table,
        ("service/database.md", "# Database"): database_table,
    }


def read_pages() -> dict[str, str]:
    """Every page under docs/, by its path there (`action/forks.md`)."""
    return {
        page.relative_to(DOCS).as_posix(): page.read_text(encoding="utf-8")
        for page in sorted(DOCS.rglob("*.md"))
    }


def slug(heading: str) -> str:
    """The anchor MkDocs gives a heading (Python-Markdown's toc `slugify`, code marks dropped)."""
    from markdown.extensions.toc import slugify  # noqa: PLC0415

    return str(slugify(heading.replace("`", ""), "-"))


def anchors(text: str) -> set[str]:
    """The anchors of a page's headings (not of `#` lines inside fenced code)."""
    found: set[str] = set()
    fenced = False
    for line in text.split("\n"):
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced and (heading := HEADING.match(line)):
            found.add(slug(heading.group(1)))
    return found


def point_links(table: str, page: str, pages: Mapping[str, str]) -> str:
    """`table` with each link to an anchor of another page pointed at that page."""
    here = anchors(pages[page])

    def point(match: re.Match[str]) -> str:
        anchor = match.group(1)
        if anchor in here:
            return match.group(0)
        holders = sorted(name for name, text in pages.items() if anchor in anchors(text))
        if len(holders) != 1:
            where = ", ".join(holders) or "no page"
            raise SystemExit(f"docs/{page}: a generated table links to #{anchor}, on {where}")
        target = posixpath.relpath(holders[0], posixpath.dirname(page) or ".")
        return f"]({target}#{anchor})"

    return LINK.sub(point, table)


def table_span(lines: list[str], heading: str) -> tuple[int, int]:
    """[start, end) of the first table (lines starting with `|`) after the heading line."""
    start = lines.index(heading)
    while not lines[start].startswith("|"):
        start += 1
    end = start
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    return start, end


def expected_table(page: str, heading: str, pages: Mapping[str, str]) -> list[str]:
    """The lines of the table the declaration gives, as `page` shows it."""
    table = tables()[page, heading]().rstrip("\n")
    return point_links(table, page, pages).split("\n")


def regenerate(pages: Mapping[str, str]) -> dict[str, str]:
    """Every page, with every generated table rewritten."""
    fresh = dict(pages)
    for page, heading in tables():
        lines = fresh[page].split("\n")
        start, end = table_span(lines, heading)
        lines[start:end] = expected_table(page, heading, pages)
        fresh[page] = "\n".join(lines)
    return fresh


def main(argv: list[str]) -> int:
    pages = read_pages()
    fresh = regenerate(pages)
    changed = sorted(page for page in pages if fresh[page] != pages[page])
    if "--check" in argv:
        if changed:
            sys.stderr.write(
                f"docs/{', docs/'.join(changed)}: generated tables differ from the code; "
                "run: python tools/docs_tables.py\n"
            )
            return 1
        return 0
    for page in changed:
        (DOCS / page).write_text(fresh[page], encoding="utf-8")
        sys.stdout.write(f"docs/{page}: tables rewritten\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
