"""Shortening Markdown that was not built to fit (an error, a report with notes appended, text
a job summary already holds): cut at a line boundary, the blocks left open closed, a note
added. The report itself is never cut this way: `gate.report.render` folds it to fit.

Also the one wording of where the full report is, for the notes of shortened reports
(`full_report_hint`) and of a cut job summary (`summary_note`).
"""

from __future__ import annotations

import re

from gate.report.markdown import md_code
from gate.report.render import SUMMARY_MAX_BYTES

__all__ = ["full_report_hint", "shorten_markdown", "summary_note"]

_FULL_REPORT_IN = "the full report is in"


def full_report_hint(where: str) -> str:
    """The sentence a shortened report's note ends with: `where` (trusted Markdown: a link, a
    code span) holds the full report."""
    return f"{_FULL_REPORT_IN.capitalize()} {where}."


def summary_note(full_report_path: str | None) -> str:
    """The note that ends a job summary `shorten_markdown` cut: where the full report is."""
    if full_report_path:
        return f"\n…summary truncated: {_FULL_REPORT_IN} {md_code(full_report_path)}\n"
    limit = f"{SUMMARY_MAX_BYTES // 2**20} MiB"
    return f"\n…summary truncated: the full report did not fit in the {limit} job summary\n"


_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
_HTML_TAG = re.compile(
    r"<(/?)(details|table|div|pre|blockquote|ul|ol|dl)\b[^>]*?(/?)>", re.IGNORECASE
)


class _Blocks:
    """Which fenced code block, HTML comment and HTML blocks are open after each line."""

    __slots__ = ("comment", "fence", "html")

    def __init__(self) -> None:
        self.fence: str | None = None  # the opening fence, e.g. "```"
        self.comment = False
        self.html: list[str] = []

    def feed(self, line: str) -> None:
        if self.fence is not None:
            found = _FENCE.match(line.rstrip("\r\n"))
            if found is not None:
                marker, rest = found.groups()
                closes = marker[0] == self.fence[0] and len(marker) >= len(self.fence)
                if closes and not rest.strip():
                    self.fence = None
            return
        if self.comment:
            if "-->" not in line:
                return
            self.comment = False
            line = line.split("-->", 1)[1]
        else:
            found = _FENCE.match(line.rstrip("\r\n"))
            if found is not None and not (found[1][0] == "`" and "`" in found[2]):
                self.fence = found[1]
                return
        while "<!--" in line:
            before, _, after = line.partition("<!--")
            self._tags(before)
            if "-->" not in after:
                self.comment = True
                return
            line = after.split("-->", 1)[1]
        self._tags(line)

    def _tags(self, text: str) -> None:
        for found in _HTML_TAG.finditer(text):
            closing, tag, self_closing = found[1], found[2].lower(), found[3]
            if self_closing:
                continue
            if not closing:
                self.html.append(tag)
            elif tag in self.html:
                while self.html.pop() != tag:
                    pass

    def closers(self) -> str:
        """Text that closes whatever is open, innermost first ("" when nothing is)."""
        text = ""
        if self.fence is not None:
            text += self.fence + "\n"
        if self.comment:
            text += "-->\n"
        if self.html:
            text += "\n" + "".join(f"</{tag}>\n" for tag in reversed(self.html))
        return text


def _lines(text: str) -> list[str]:
    """`text` split after each LF only (what Markdown calls a line), ends kept."""
    lines = text.split("\n")
    last = lines.pop()
    return [line + "\n" for line in lines] + ([last] if last else [])


def shorten_markdown(markdown: str, max_bytes: int, note: str) -> str | None:
    """`markdown` cut at a line boundary, plus `note`, in at most `max_bytes` UTF-8 bytes.

    The cut is made where no fenced code block, HTML comment or HTML block is open, unless
    that keeps less than half of what a plain line cut would; then the open blocks are
    closed before the note. None when not even the note fits. Lines are never cut.
    """
    note_size = len(note.encode("utf-8"))
    budget = max_bytes - note_size
    if budget < 0:
        return None
    blocks = _Blocks()
    used = chars = 0
    safe = 0  # characters kept by the last cut outside every block
    plain, plain_closers = 0, ""  # the last cut that fits with its closers
    safe_bytes = plain_bytes = 0
    for line in _lines(markdown):
        size = len(line.encode("utf-8"))
        if used + size > budget or not line.endswith("\n"):
            break
        used += size
        chars += len(line)
        blocks.feed(line)
        closers = blocks.closers()
        if not closers:
            safe, safe_bytes = chars, used
        if used + len(closers.encode("utf-8")) <= budget:
            plain, plain_closers, plain_bytes = chars, closers, used
    if safe_bytes * 2 >= plain_bytes:
        return markdown[:safe] + note
    return markdown[:plain] + plain_closers + note
