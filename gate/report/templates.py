"""The report's jinja2 templates: where they are, compiled once, and laying out a view.

The templates (`templates/report.md.j2` and its blocks) are Markdown: they only lay out a
`ReportView`, whose strings are already escaped, so autoescaping is off and any undefined name
is an error. jinja2 is imported on first use: `warm_up()` pays for it early (e.g. in a thread
while the network waits).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

from gate.core.errors import GateError

if TYPE_CHECKING:
    from jinja2 import Template
    from jinja2.sandbox import SandboxedEnvironment

    from gate.report.view import ReportView

__all__ = [
    "TEMPLATE_NAME",
    "TemplatesNotFoundError",
    "find_template_dir",
    "lay_out",
    "package_dir",
    "warm_up",
]

TEMPLATE_NAME = "report.md.j2"


class TemplatesNotFoundError(GateError):
    """The report templates are not where an installed or checked-out eval-gate keeps them."""


def package_dir() -> Path:
    """The installed `gate` package's folder; its data folders (`templates/`, `schema/`) are
    found in it the one way, `importlib.resources.files("gate") / name`. In a checkout (and an
    editable install) `gate/templates` and `gate/schema` are committed links to the top-level
    `templates/` and `schema/`; a wheel (hatch follows the links) holds them as files."""
    from importlib.resources import files  # noqa: PLC0415 - only when rendering

    return Path(str(files("gate")))


def find_template_dir(package: Path) -> Path:
    """`package/templates`, holding the report template (the real folder, links resolved)."""
    candidate = package / "templates"
    if (candidate / TEMPLATE_NAME).is_file():
        return candidate.resolve()
    raise TemplatesNotFoundError(
        f"eval-gate's report templates are missing (looked in {candidate}); reinstall eval-gate"
    )


@functools.cache
def _environment() -> SandboxedEnvironment:
    from jinja2 import FileSystemLoader, StrictUndefined  # noqa: PLC0415 - deferred: import cost
    from jinja2.sandbox import SandboxedEnvironment  # noqa: PLC0415 - deferred: import cost

    return SandboxedEnvironment(
        loader=FileSystemLoader(find_template_dir(package_dir())),
        autoescape=False,  # Markdown, not HTML: the view is escaped when it is built
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,
    )


@functools.cache
def _template() -> Template:
    return _environment().get_template(TEMPLATE_NAME)


def warm_up() -> None:
    """Import jinja2 and compile the templates now (e.g. in a thread while the network waits)."""
    _template()


def lay_out(view: ReportView) -> str:
    """The view as Markdown, laid out by the templates."""
    return _template().render(report=view)
