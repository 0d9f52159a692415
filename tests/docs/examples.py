"""The examples a reader copies from the docs: every fenced code block of README.md and the
pages under docs/, with the file its `title="..."` names, what kind of file that is, and its
text (a `--8<-- "path"` line, MkDocs' include of a repository file, replaced by that file)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from tests.paths import REPO

FENCE = re.compile(r"^(?P<indent> *)(?P<fence>```+|~~~+)(?P<info>.*)$")
TITLE = re.compile(r'title="([^"]*)"')
INCLUDE = re.compile(r'^--8<-- "([^"]+)"$')


@dataclass(frozen=True)
class Block:
    """One fenced code block: where it is (`docs/configuration.md:10`), its language, the file
    its title names ("" when none) and its text."""

    where: str
    language: str
    title: str
    text: str

    @property
    def kind(self) -> str | None:
        """What the titled file is: "workflow", "config", "pre-commit", "deployment" or None."""
        name = PurePosixPath(self.title).name
        if self.title.startswith(".github/workflows/") and name.endswith((".yml", ".yaml")):
            return "workflow"
        if re.fullmatch(r"eval-gate[\w.-]*\.ya?ml", name):
            return "config"
        return {".pre-commit-config.yaml": "pre-commit", "deployment.yaml": "deployment"}.get(name)


def documents() -> list[Path]:
    """README.md and every page of the docs site."""
    return [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]


def blocks(text: str, source: str) -> list[Block]:
    """The fenced code blocks of one Markdown document."""
    found: list[Block] = []
    lines = text.split("\n")
    number = 0
    while number < len(lines):
        opened = FENCE.match(lines[number])
        number += 1
        if opened is None:
            continue
        indent, fence, info = opened.group("indent", "fence", "info")
        start = number
        body: list[str] = []
        while number < len(lines) and lines[number].strip() != fence:
            line = lines[number].removeprefix(indent)
            include = INCLUDE.match(line)
            if include:
                line = (REPO / include.group(1)).read_text(encoding="utf-8").rstrip("\n")
            body.append(line)
            number += 1
        number += 1
        title = TITLE.search(info)
        found.append(
            Block(
                where=f"{source}:{start}",
                language=info.split(" ", 1)[0].strip(),
                title=title.group(1) if title else "",
                text="\n".join(body) + "\n",
            )
        )
    return found


def every_block() -> list[Block]:
    """Every fenced code block of the README and the docs."""
    return [
        block
        for document in documents()
        for block in blocks(
            document.read_text(encoding="utf-8"), document.relative_to(REPO).as_posix()
        )
    ]


def yaml_blocks() -> list[Block]:
    return [block for block in every_block() if block.language in ("yaml", "yml")]
