"""Untrusted text as one printable line, optionally cut short (pure).

`one_line` is the only place text is made one line and shortened; text that may hold a secret
goes through `gate.core.redact.redact_line`, which masks the secrets first and then calls it.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["ELLIPSIS", "one_line"]

ELLIPSIS = "…"
_INVISIBLE = frozenset({"Cc", "Cf", "Zl", "Zp"})


def one_line(text: str, *, limit: int | None = None) -> str:
    """Collapse `text` to a single printable line, optionally cut to `limit` characters.

    Control and format characters (newlines, escapes, bidi overrides) become spaces, so
    untrusted server text cannot forge extra log lines or reorder what a terminal shows.
    """
    cleaned = "".join(" " if unicodedata.category(ch) in _INVISIBLE else ch for ch in text)
    cleaned = re.sub(r"\s+", " ", cleaned).strip()
    if limit is not None and len(cleaned) > limit:
        cleaned = cleaned[: limit - 1].rstrip() + ELLIPSIS
    return cleaned
