"""A gate's Markdown report as HTML a page can hold: rendered, then sanitised.

markdown-it-py renders it (CommonMark plus GitHub's tables and strikethrough, as the PR comment
shows them; raw HTML on, since the report folds long lists in `<details>` and writes its legend
in `<sub>`), then nh3 (the Rust sanitiser ammonia) keeps only an allowlist of tags and
attributes: no script, no event handler, no style, no image, no form, links only to http(s) and
mailto with `rel="noopener noreferrer nofollow"`. nh3 rather than bleach: bleach is deprecated
by its maintainers, and ammonia parses HTML with html5ever, a browser's algorithm, so what it
keeps is what a browser would see.

A table column's alignment, which markdown-it writes as an inline style (that the pages' CSP
would refuse, and log), is written as a class instead.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.rules_core import StateCore

__all__ = ["MAX_REPORT_CHARS", "report_html"]

MAX_REPORT_CHARS = 1_000_000  # a stored report is bounded when made; a page renders no more
ALLOWED_TAGS = frozenset(
    {
        "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "details", "div", "dl",
        "dt", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "kbd", "li", "ol", "p",
        "pre", "s", "span", "strong", "sub", "summary", "sup", "table", "tbody", "td", "th",
        "thead", "tr", "ul",
    }
)  # fmt: skip
ALIGN_CLASSES = frozenset({"align-left", "align-center", "align-right"})
_ALIGN = {"text-align:left": "align-left", "text-align:center": "align-center"}
_ALIGN["text-align:right"] = "align-right"


def _alignment_as_class(state: StateCore) -> None:
    for token in state.tokens:
        if token.type in ("th_open", "td_open"):
            style = token.attrs.pop("style", None)
            if isinstance(style, str) and style in _ALIGN:
                token.attrSet("class", _ALIGN[style])


@functools.cache
def _markdown() -> MarkdownIt:
    from markdown_it import MarkdownIt  # noqa: PLC0415 - the pages' import, not the service's

    md = MarkdownIt("commonmark", {"html": True, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.core.ruler.push("eval_gate_alignment", _alignment_as_class)
    return md


def report_html(markdown: str) -> tuple[str, bool]:
    """The report as sanitised HTML, and whether it was cut at `MAX_REPORT_CHARS`."""
    import nh3  # noqa: PLC0415 - the pages' import, not the service's

    cut = len(markdown) > MAX_REPORT_CHARS
    rendered = _markdown().render(markdown[:MAX_REPORT_CHARS] if cut else markdown)
    cleaned = nh3.clean(
        rendered,
        tags=set(ALLOWED_TAGS),
        clean_content_tags={"script", "style"},
        attributes={"a": {"href", "title"}, "abbr": {"title"}, "details": {"open"}},
        allowed_classes={"th": set(ALIGN_CLASSES), "td": set(ALIGN_CLASSES)},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
    return cleaned, cut
