"""README.md's generated tables, from the declarations in the code.

    python tools/readme_tables.py          rewrite the tables in README.md
    python tools/readme_tables.py --check  exit 1 if README.md differs from the declarations

Each table is the first Markdown table after its heading: the command line's options
(`gate.cli.settings.FLAGS`), what a verdict does under fail-on (`gate.core.decision.decide`),
the Action's inputs (`gate.action.inputs.INPUTS`), where each config key comes from on a pull
request (`Origin` in `gate.config.fields`), the service's settings
(`gate.server.settings.SETTINGS`) and the database's (`gate.store.settings.DATABASE_SETTINGS`).
tests/test_readme_tables.py runs the check.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def tables() -> dict[str, Callable[[], str]]:
    """Heading line -> the function that renders the table under it."""
    from gate.action.base_config import keys_table  # noqa: PLC0415
    from gate.action.inputs import inputs_table  # noqa: PLC0415
    from gate.cli.settings import flags_table  # noqa: PLC0415
    from gate.core.decision import decision_table  # noqa: PLC0415
    from gate.server.settings import settings_table  # noqa: PLC0415
    from gate.store.settings import database_table  # noqa: PLC0415

    return {
        "## Command line": flags_table,
        "### One decision for every output: verdict and fail-on": decision_table,
        "### Inputs": inputs_table,
        "#### Which keys come from where": keys_table,
        "### Settings": settings_table,
        "### Database": database_table,
    }


def table_span(lines: list[str], heading: str) -> tuple[int, int]:
    """[start, end) of the first table (lines starting with `|`) after the heading line."""
    start = lines.index(heading)
    while not lines[start].startswith("|"):
        start += 1
    end = start
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    return start, end


def regenerate(text: str) -> str:
    """`text` (the README) with every generated table rewritten."""
    lines = text.split("\n")
    for heading, render in tables().items():
        start, end = table_span(lines, heading)
        lines[start:end] = render().rstrip("\n").split("\n")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    text = README.read_text(encoding="utf-8")
    fresh = regenerate(text)
    if "--check" in argv:
        if fresh != text:
            sys.stderr.write(
                "README.md's tables differ from the code; run: python tools/readme_tables.py\n"
            )
            return 1
        return 0
    if fresh != text:
        README.write_text(fresh, encoding="utf-8")
        sys.stdout.write("README.md: tables rewritten\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
