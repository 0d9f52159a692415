"""Links from a docs page to the repository's files outside docs/ (an MkDocs hook, mkdocs.yml).

A page links to a file as GitHub renders it, relative to the page: docs/configuration.md
writes `[examples/eval-gate.yml](../examples/eval-gate.yml)`. MkDocs knows only the files under
docs/ and would call that link broken; this hook checks that the file or folder is in the
repository and points the link at it there (`repo_url` + `/blob/main/...`, `/tree/main/...`
for a folder), so the site's links work too. A link to a path the repository does not have is
a warning, which fails `mkdocs build --strict` like a broken link between pages. Links inside
fenced code blocks are text, and left alone.
"""

from __future__ import annotations

import logging
import posixpath
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

BRANCH = "main"
LINK = re.compile(r"(\]\()([^)\s]+)(\))")  # [text](target) and ![alt](target)
FENCE = re.compile(r"^ *(```|~~~)")
log = logging.getLogger("mkdocs.hooks.docs_repo_links")  # under "mkdocs": --strict counts it


def repo_target(target: str, page: str) -> str | None:
    """The repository path a link on `page` (a path under docs/, `action/forks.md`) points at
    when it leaves docs/; None for a link MkDocs handles (another page, an anchor, a URL)."""
    if target.startswith(("#", "/")) or re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target):
        return None
    path = target.split("#", 1)[0]
    if not path:
        return None
    resolved = posixpath.normpath(posixpath.join("docs", posixpath.dirname(page), path))
    if resolved == "docs" or resolved.startswith("docs/"):
        return None
    return resolved


def rewrite(
    markdown: str, page: str, *, kind: Callable[[str], str | None], repo_url: str
) -> tuple[str, list[str]]:
    """`markdown` with each link out of docs/ pointed into the repository, and the links whose
    target is not there. `kind` says what a repository path is: "file", "dir" or None."""
    problems: list[str] = []

    def point(match: re.Match[str]) -> str:
        target = match.group(2)
        path = repo_target(target, page)
        if path is None:
            return match.group(0)
        if path.startswith("../") or path == "..":
            problems.append(f"{target} leaves the repository")
            return match.group(0)
        if not repo_url:
            problems.append(f"{target}: set repo_url in mkdocs.yml to link into the repository")
            return match.group(0)
        what = kind(path)
        if what is None:
            problems.append(f"{target} points to {path}, which is not in the repository")
            return match.group(0)
        fragment = "#" + target.split("#", 1)[1] if "#" in target else ""
        where = "tree" if what == "dir" else "blob"
        url = repo_url.rstrip("/")
        if path != ".":
            url += f"/{where}/{BRANCH}/{path}"
        url += fragment
        return match.group(1) + url + match.group(3)

    out: list[str] = []
    fenced: str | None = None
    for line in markdown.split("\n"):
        opened = FENCE.match(line)
        if fenced is not None:
            if opened and opened.group(1) == fenced:
                fenced = None
            out.append(line)
        elif opened:
            fenced = opened.group(1)
            out.append(line)
        else:
            out.append(LINK.sub(point, line))
    return "\n".join(out), problems


def on_page_markdown(markdown: str, *, page: Any, config: Any, files: Any) -> str:
    """MkDocs' hook: each page's Markdown before it is rendered."""
    del files
    root = Path(config.config_file_path).resolve().parent

    def kind(path: str) -> str | None:
        where = root / path
        if where.is_dir():
            return "dir"
        return "file" if where.is_file() else None

    text, problems = rewrite(markdown, page.file.src_uri, kind=kind, repo_url=config.repo_url or "")
    for problem in problems:
        log.warning("Doc file '%s' links to a repository file: %s", page.file.src_uri, problem)
    return text
