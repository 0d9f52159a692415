"""The history pages' templates (`templates/ui/`, found like the report's through
`importlib.resources.files("gate")`) and their stylesheet.

jinja2 with autoescape on for every template: a value from a request, a stored gate or an
evaluation is text wherever it lands, attribute or element; only the sanitised report
(gate/server/ui/report_html.py) is passed as `Markup`. StrictUndefined: a template that names
a value the view does not have fails in tests, not silently on a page.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jinja2 import Environment

__all__ = ["STYLESHEET", "render", "stylesheet", "ui_template_dir"]

STYLESHEET = "ui.css"
_MARKER = "base.html.j2"


def ui_template_dir() -> Path:
    """`templates/ui` of the installed `gate` package (a wheel holds it as files; a checkout
    reaches it through the committed link gate/templates -> ../templates)."""
    from importlib.resources import files  # noqa: PLC0415 - only when the pages are served

    folder = Path(str(files("gate"))) / "templates" / "ui"
    if not (folder / _MARKER).is_file():
        raise FileNotFoundError(
            f"eval-gate's page templates are missing (looked in {folder}); reinstall eval-gate"
        )
    return folder.resolve()


@functools.cache
def _environment() -> Environment:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined  # noqa: PLC0415

    return Environment(
        loader=FileSystemLoader(ui_template_dir()),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )


def render(name: str, **context: Any) -> str:
    """The page `name` (a template of templates/ui) with `context`."""
    return _environment().get_template(name).render(**context)


def markup(html: str) -> Any:
    """`html` (already sanitised) as jinja2 Markup, passed through autoescape unchanged."""
    from markupsafe import Markup  # noqa: PLC0415

    return Markup(html)  # noqa: S704 - sanitised by nh3 (gate/server/ui/report_html.py)


@functools.cache
def stylesheet() -> bytes:
    return (ui_template_dir() / STYLESHEET).read_bytes()
