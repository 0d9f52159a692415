"""Escaping of untrusted text (class names, labels, messages) for GitHub-flavoured Markdown.

Everything that did not come from this package's own code goes through one of these before it
reaches a report: `md_text` for inline text and table cells, `md_code` for an inline code span,
`md_url` for the `(...)` part of a link (after `public_url` decided the URL may be shown at all).
"""

from __future__ import annotations

import re

# Markdown punctuation that can start or end an inline construct (emphasis, code, links, images,
# headings, strikethrough, math, table cells) or escape one: each gets a backslash.
_MD_SPECIALS = "\\`*_[]()#~!|$"
# Line breaks become a space: a cell or heading must stay on one line.
_LINE_BREAKS = "\r\n\t\v\f\x85\u2028\u2029"
# Bidirectional embedding/override/isolate controls: they can make text read as something else.
_BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


def _text_table() -> dict[int, str | None]:
    table: dict[int, str | None] = {}
    for code in (*range(0x20), *range(0x7F, 0xA0)):  # C0 and C1 control characters, DEL
        table[code] = None
    for code in range(0xD800, 0xE000):  # lone surrogates cannot be written as UTF-8
        table[code] = None
    for char in _BIDI_CONTROLS:
        table[ord(char)] = None
    for char in _LINE_BREAKS:
        table[ord(char)] = " "
    for char in _MD_SPECIALS:
        table[ord(char)] = "\\" + char
    table[ord("&")] = "&amp;"
    table[ord("<")] = "&lt;"
    table[ord(">")] = "&gt;"
    table[ord('"')] = "&quot;"
    return table


def _plain_table() -> dict[int, str | None]:
    """Control characters only: for code spans, where escapes are shown literally."""
    return {code: repl for code, repl in _text_table().items() if repl is None or repl == " "}


_TEXT = _text_table()
_PLAIN = _plain_table()
# An `@` GitHub could read as a mention: one not preceded by a letter or digit (`mAP@50` and
# `a@b.com` are not mentions). Escaped text ends each escape with punctuation, so looking at
# the escaped text gives the same answer as looking at the original.
_MENTION_AT = re.compile(r"(?<![A-Za-z0-9])@")
# The entity keeps `@` out of the raw text; the zero-width space after it is what stops GitHub
# from linking a mention (an entity alone is decoded before mentions are looked for).
_NO_MENTION = "&#64;&#8203;"


# What GitHub would turn into a link by itself: a URL (`https://`, `http://`, `ftp://`, `www.`)
# and an issue or pull request reference (`#123`, which also shows up in that issue's
# timeline). A zero-width space after the scheme, the `www` or the `#` stops it.
_AUTOLINK = re.compile(
    r"(?<![A-Za-z0-9])(?:https?|ftp)(?=:)|(?<![A-Za-z0-9])www(?=\.)", re.IGNORECASE
)
_ISSUE_REF = re.compile(r"\\#(?=[0-9])")
_ZWSP = "&#8203;"


def md_text(s: str) -> str:
    """Escape untrusted text for a Markdown inline context, a table cell, and HTML.

    Line breaks and tabs become spaces, other control characters are dropped, `& < > "` become
    HTML entities, Markdown punctuation (including `|`) is backslash-escaped, and an `@` that
    could start a mention, a URL GitHub would link by itself and an issue reference (`#12`) are
    broken with a zero-width space, so no one is pinged and nothing is linked. The text reads
    the same once rendered. In raw HTML (element text, double-quoted attributes) it is safe too,
    though any backslash escapes would show there.
    """
    out = s.translate(_TEXT)
    if "@" in out:
        out = _MENTION_AT.sub(_NO_MENTION, out)
    if ":" in out or "." in out:
        out = _AUTOLINK.sub(lambda m: m.group(0) + _ZWSP, out)
    if "\\#" in out:
        out = _ISSUE_REF.sub("\\\\#" + _ZWSP, out)
    return out


def md_code(s: str) -> str:
    """Untrusted text as an inline code span, e.g. `` `abc123` `` (not for use in a table cell).

    Inside a code span nothing is interpreted (no HTML, no mentions, no escapes), so only
    control characters are removed; the fence is made longer than any backtick run inside.
    """
    clean = s.translate(_PLAIN)
    longest = run = 0
    for char in clean:
        run = run + 1 if char == "`" else 0
        longest = max(longest, run)
    fence = "`" * (longest + 1)
    if not clean:
        clean = " "  # an empty code span does not exist; one of a single space does
    elif clean[0] in "` " or clean[-1] in "` ":
        clean = f" {clean} "  # one space each side is stripped when rendered
    return f"{fence}{clean}{fence}"


# Characters left as they are in a URL: unreserved and reserved ones, minus those that end a
# link destination or are special in Markdown/HTML (`( ) < > " \\ | space` and backtick).
_URL_SAFE = "-._~:/?#[]@!$&'*+,;="
_BARE_PERCENT = re.compile("%(?![0-9A-Fa-f]{2})")


def md_url(s: str) -> str:
    """Make a URL (or a URL component) safe inside the `(...)` of a Markdown link.

    Every character outside the URL-safe set is percent-encoded (UTF-8), an existing `%XX`
    escape is kept, and `&` becomes `&amp;` (Markdown decodes it back to `&` in the link).
    """
    from urllib.parse import quote  # noqa: PLC0415 - only needed when a URL is shown

    quoted = quote(s, safe=_URL_SAFE + "%", errors="replace")
    return _BARE_PERCENT.sub("%25", quoted).replace("&", "&amp;")


# Query parameters whose value would be a secret; a URL carrying one is never shown.
_SECRET_MARKERS = ("key", "token", "secret", "passw", "signature", "credential")
_SECRET_NAMES = frozenset({"sig", "auth", "code"})
_MAX_URL = 2048  # longer is not a link a person follows


def public_url(url: str | None) -> str | None:
    """`url` if it is an absolute http(s) URL that may be shown, else None.

    Refused: other schemes (`javascript:` ...), URLs with user info, URLs with a query
    parameter that looks like a credential (`api_key`, `token`, ...) and URLs longer than
    2,048 characters: fail closed, show no link.
    """
    if not url or len(url) > _MAX_URL:
        return None
    from urllib.parse import parse_qsl, urlsplit  # noqa: PLC0415 - only needed when a URL is shown

    try:
        parts = urlsplit(url.strip())
        has_userinfo = "@" in parts.netloc
        params = parse_qsl(parts.query, keep_blank_values=True) + parse_qsl(
            parts.fragment, keep_blank_values=True
        )
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or has_userinfo:
        return None
    for name, _ in params:
        lowered = name.lower()
        if lowered in _SECRET_NAMES or any(marker in lowered for marker in _SECRET_MARKERS):
            return None
    return url.strip()
